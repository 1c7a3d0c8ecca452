//! The client's transport to `desk-server` over HTTP (JSON for now).

use crate::{PullReply, PushReply, SyncError, Transport};
use desk_core::Change;
use serde::Deserialize;
use std::time::Duration;

pub struct Http {
    base: String,
    client: reqwest::blocking::Client,
}

#[derive(Deserialize)]
struct Acked {
    acked: i64,
}

#[derive(Deserialize)]
struct Page {
    changes: Vec<Change>,
    cursor: i64,
    more: bool,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

impl Http {
    /// `base`: the server's address, e.g. `http://127.0.0.1:8730`.
    pub fn new(base: &str) -> Result<Http, SyncError> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        Ok(Http {
            base: base.trim_end_matches('/').to_string(),
            client,
        })
    }

    fn answer<T: for<'de> Deserialize<'de>>(
        &self,
        r: reqwest::blocking::Response,
    ) -> Result<T, SyncError> {
        let status = r.status();
        let bytes = r.bytes().map_err(|e| SyncError::Network(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                SyncError::Network(format!("unreadable answer from the server: {e}"))
            });
        }
        let detail = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|b| format!("{} ({})", b.error.message, b.error.code))
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
        if status.is_client_error() {
            Err(SyncError::Refused {
                device: String::new(),
                dev_seq: 0,
                message: format!("HTTP {status}: {detail}"),
            })
        } else {
            Err(SyncError::Network(format!("HTTP {status}: {detail}")))
        }
    }
}

impl Transport for Http {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        let r = self
            .client
            .post(format!("{}/v1/push", self.base))
            .json(&serde_json::json!({"device": device, "changes": batch}))
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        let a: Acked = self.answer(r)?;
        Ok(PushReply { acked: a.acked })
    }

    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        let r = self
            .client
            .get(format!("{}/v1/pull?after={after}&limit={limit}", self.base))
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        let p: Page = self.answer(r)?;
        Ok(PullReply {
            changes: p.changes,
            cursor: p.cursor,
            more: p.more,
        })
    }
}
