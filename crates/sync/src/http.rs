//! The client's transport to `desk-server` over HTTP (JSON; see `docs/openapi.yaml`).

use crate::auth::Denied;
use crate::{PullReply, PushReply, Role, SyncError, Transport};
use desk_core::{Change, RecordRef};
use serde::Deserialize;
use std::time::Duration;

pub struct Http {
    base: String,
    token: Option<String>,
    client: reqwest::blocking::Client,
}

#[derive(Deserialize)]
struct Acked {
    acked: i64,
    #[serde(default)]
    quarantined: usize,
    #[serde(default)]
    restamped: usize,
}

#[derive(Deserialize)]
struct Page {
    changes: Vec<Change>,
    #[serde(default)]
    purged: Vec<RecordRef>,
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

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
    role: String,
    expires: i64,
}

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub role: Role,
    /// Unix seconds.
    pub expires: i64,
}

impl Http {
    /// `base`: the server's address, e.g. `http://127.0.0.1:8730`; `token` from [`Http::login`].
    pub fn new(base: &str, token: Option<&str>) -> Result<Http, SyncError> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        Ok(Http {
            base: base.trim_end_matches('/').to_string(),
            token: token.map(str::to_string),
            client,
        })
    }

    /// Signs this device in; the token is for the caller to keep (the OS keychain).
    pub fn login(&self, user: &str, password: &str, device: &str) -> Result<SignedIn, SyncError> {
        let r = self
            .client
            .post(format!("{}/v1/login", self.base))
            .json(&serde_json::json!({"user": user, "password": password, "device": device}))
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        let a: LoginAnswer = self.answer(r)?;
        Ok(SignedIn {
            token: a.token,
            role: Role::parse(&a.role).map_err(SyncError::Invalid)?,
            expires: a.expires,
        })
    }

    fn request(&self, r: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
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
        let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(&bytes) else {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            return Err(if status.is_client_error() {
                SyncError::Invalid(format!("HTTP {status}: {text}"))
            } else {
                SyncError::Network(format!("HTTP {status}: {text}"))
            });
        };
        Err(match error.code.as_str() {
            "unauthenticated" => SyncError::Denied(Denied::Unknown, error.message),
            "expired" => SyncError::Denied(Denied::Expired, error.message),
            "revoked" => SyncError::Denied(Denied::Revoked, error.message),
            "out_of_scope" => SyncError::OutOfScope(error.message),
            "not_permitted" | "read_only" => SyncError::NotPermitted(error.message),
            "rescope" => SyncError::Rescope,
            "refused" => SyncError::Refused {
                device: String::new(),
                dev_seq: 0,
                message: error.message,
            },
            _ if status.is_client_error() => {
                SyncError::Invalid(format!("{} ({})", error.message, error.code))
            }
            _ => SyncError::Network(format!("HTTP {status}: {} ({})", error.message, error.code)),
        })
    }
}

impl Transport for Http {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        let r = self
            .request(self.client.post(format!("{}/v1/push", self.base)))
            .json(&serde_json::json!({"device": device, "changes": batch}))
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        let a: Acked = self.answer(r)?;
        Ok(PushReply {
            acked: a.acked,
            quarantined: a.quarantined,
            restamped: a.restamped,
        })
    }

    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        let r = self
            .request(
                self.client
                    .get(format!("{}/v1/pull?after={after}&limit={limit}", self.base)),
            )
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        let p: Page = self.answer(r)?;
        Ok(PullReply {
            changes: p.changes,
            purged: p.purged,
            cursor: p.cursor,
            more: p.more,
        })
    }
}
