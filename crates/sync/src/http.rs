//! The client's transport to `desk-server` over HTTP: the compact binary format of [`wire`]
//! by default, JSON on request (see `docs/openapi.yaml`).

use crate::{wire, Denied, PullReply, PushReply, Role, SyncError, Transport};
use desk_core::Change;
use desk_protocol::v1::{
    AuditAnswer, AuditRequest, AuthorsAnswer, AuthorsRequest, ErrorBody, LoginAnswer, LoginRequest,
    PushRequest,
};
use serde::Deserialize;
use std::time::Duration;

pub use desk_protocol::v1::{SCHEMA_HEADER, SNAPSHOT_HEADER};

pub struct Http {
    base: String,
    token: Option<String>,
    client: reqwest::blocking::Client,
    /// Send and ask for the binary format (default) rather than JSON.
    pub binary: bool,
    /// Bytes sent and received in request and answer bodies so far.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Pushes sent so far (a batch too large for one request goes as several).
    pub pushes_sent: u64,
    /// A push whose body would pass this, or whose batch would inflate past `max_inflated`, is
    /// sent in parts (the server's limits: [`wire::MAX_BODY`], [`wire::MAX_INFLATED`]).
    pub max_body: usize,
    pub max_inflated: usize,
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
    /// One pull request (see [`Transport::pull_wait`], [`Transport::pull_snapshot`]).
    fn get_page(
        &mut self,
        after: i64,
        limit: usize,
        wait_secs: u32,
        snapshot: i64,
    ) -> Result<PullReply, SyncError> {
        let mut url = format!(
            "{}/v1/pull?after={after}&limit={limit}&wait={wait_secs}",
            self.base
        );
        if snapshot != 0 {
            url.push_str(&format!("&snapshot={snapshot}"));
        }
        let mut req = self.request(self.client.get(url));
        if self.binary {
            req = req.header(reqwest::header::ACCEPT, wire::CONTENT_TYPE);
        }
        if wait_secs > 0 {
            req = req.timeout(Duration::from_secs(u64::from(wait_secs) + 30));
        }
        let r = req.send().map_err(|e| SyncError::Network(e.to_string()))?;
        let snapshot = r
            .headers()
            .get(SNAPSHOT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let (binary, bytes) = self.body(r)?;
        self.bytes_received += bytes.len() as u64;
        let mut page: PullReply = if binary {
            wire::decode_page(&bytes)?
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                SyncError::Network(format!("unreadable answer from the server: {e}"))
            })?
        };
        page.snapshot = snapshot;
        Ok(page)
    }

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
            binary: true,
            bytes_sent: 0,
            bytes_received: 0,
            pushes_sent: 0,
            max_body: wire::MAX_BODY,
            max_inflated: wire::MAX_INFLATED,
        })
    }

    /// Signs this device in; the token is for the caller to keep (the OS keychain).
    pub fn login(&self, user: &str, password: &str, device: &str) -> Result<SignedIn, SyncError> {
        let r = self
            .client
            .post(format!("{}/v1/login", self.base))
            .json(&LoginRequest {
                user: user.to_string(),
                password: password.to_string(),
                device: device.to_string(),
            })
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        let a: LoginAnswer = self.answer(r)?;
        Ok(SignedIn {
            token: a.token,
            role: Role::parse(&a.role).map_err(SyncError::Invalid)?,
            expires: a.expires,
        })
    }

    /// Signs this device out on the server: its token stops working there (the device stays
    /// registered and may sign in again). The caller forgets the token locally either way.
    pub fn logout(&self) -> Result<(), SyncError> {
        self.post_token("/v1/logout")
    }

    /// Tells the server this (revoked) device has removed its replica, files and keys.
    pub fn confirm_wipe(&self) -> Result<(), SyncError> {
        self.post_token("/v1/wiped")
    }

    /// A POST of `body` as JSON, answered in JSON.
    fn post_json<B: serde::Serialize, T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, SyncError> {
        let body = serde_json::to_vec(body).map_err(|e| SyncError::Invalid(e.to_string()))?;
        let r = self
            .request(self.client.post(format!("{}{path}", self.base)))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        self.answer(r)
    }

    /// A POST that carries only the token (sign out, confirm a wipe).
    fn post_token(&self, path: &str) -> Result<(), SyncError> {
        let r = self
            .request(self.client.post(format!("{}{path}", self.base)))
            .timeout(Duration::from_secs(10))
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        self.body(r).map(|_| ())
    }

    fn request(&self, r: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
        // The server refuses a client too old for it (426) before it changes anything.
        let r = r.header(SCHEMA_HEADER, desk_core::SCHEMA_VERSION.to_string());
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    fn answer<T: for<'de> Deserialize<'de>>(
        &self,
        r: reqwest::blocking::Response,
    ) -> Result<T, SyncError> {
        let (_, bytes) = self.body(r)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| SyncError::Network(format!("unreadable answer from the server: {e}")))
    }

    /// The body of a successful answer and whether it is the binary format; errors decoded.
    fn body(&self, r: reqwest::blocking::Response) -> Result<(bool, Vec<u8>), SyncError> {
        let status = r.status();
        let binary = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(wire::CONTENT_TYPE));
        let bytes = r.bytes().map_err(|e| SyncError::Network(e.to_string()))?;
        if status.is_success() {
            return Ok((binary, bytes.to_vec()));
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
            "invalid_change" => SyncError::BadChange(error.message),
            "device_taken" => SyncError::DeviceTaken(error.message),
            "too_large" if status.as_u16() == 413 => SyncError::Limit("too_large", error.message),
            "quota_exceeded" => SyncError::Limit("quota_exceeded", error.message),
            "not_found" => SyncError::NotFound(error.message),
            "upgrade_required" => SyncError::UpgradeRequired(error.message),
            // Too many waiting pulls for this device (an earlier one still held): passing, so
            // a background loop backs off and tries again rather than stopping.
            "too_many_waits" => SyncError::Network(error.message),
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
    fn detached_wait(&self, after: i64, wait_secs: u32) -> Option<crate::DetachedWait> {
        // The same client (its connections are shared and thread-safe), counting on its own.
        let mut apart = Http {
            base: self.base.clone(),
            token: self.token.clone(),
            client: self.client.clone(),
            binary: self.binary,
            bytes_sent: 0,
            bytes_received: 0,
            pushes_sent: 0,
            max_body: self.max_body,
            max_inflated: self.max_inflated,
        };
        Some(Box::new(move || apart.get_page(after, 1, wait_secs, 0)))
    }

    fn blob_status(&mut self, sha: &str) -> Result<desk_core::BlobStatus, SyncError> {
        let r = self
            .request(
                self.client
                    .get(format!("{}/v1/blobs/{sha}/status", self.base)),
            )
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        self.answer(r)
    }

    fn blob_put(
        &mut self,
        sha: &str,
        size: u64,
        offset: u64,
        data: &[u8],
    ) -> Result<desk_core::BlobStatus, SyncError> {
        self.bytes_sent += data.len() as u64;
        let r = self
            .request(self.client.put(format!(
                "{}/v1/blobs/{sha}?size={size}&offset={offset}",
                self.base
            )))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(data.to_vec())
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        self.answer(r)
    }

    fn blob_get(&mut self, sha: &str, offset: u64, len: usize) -> Result<Vec<u8>, SyncError> {
        let r = self
            .request(self.client.get(format!(
                "{}/v1/blobs/{sha}?offset={offset}&limit={len}",
                self.base
            )))
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        let (_, bytes) = self.body(r)?;
        self.bytes_received += bytes.len() as u64;
        Ok(bytes)
    }

    fn checksum(&mut self) -> Result<crate::Checksum, SyncError> {
        let r = self
            .request(self.client.get(format!("{}/v1/checksum", self.base)))
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        self.answer(r)
    }

    fn audit(
        &mut self,
        events: &[desk_protocol::v1::AuditEvent],
    ) -> Result<Option<i64>, SyncError> {
        let body = AuditRequest {
            events: events.to_vec(),
        };
        let answer: AuditAnswer = self.post_json("/v1/audit", &body)?;
        Ok(Some(answer.acked))
    }

    fn policy(&mut self) -> Result<Option<desk_protocol::v1::Policy>, SyncError> {
        let r = self
            .request(self.client.get(format!("{}/v1/policy", self.base)))
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        Ok(Some(self.answer(r)?))
    }

    fn device_key(&mut self, public_key: &str) -> Result<Option<()>, SyncError> {
        let body = serde_json::to_vec(&desk_protocol::v1::DeviceKeyRequest {
            public_key: public_key.to_string(),
        })
        .map_err(|e| SyncError::Invalid(e.to_string()))?;
        let r = self
            .request(self.client.post(format!("{}/v1/device-key", self.base)))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        self.body(r).map(|_| Some(()))
    }

    fn authors(&mut self, devices: &[String]) -> Result<Option<Vec<(String, String)>>, SyncError> {
        let body = AuthorsRequest {
            devices: devices.to_vec(),
        };
        let answer: AuthorsAnswer = self.post_json("/v1/authors", &body)?;
        Ok(Some(answer.authors))
    }

    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        let (body, inflated) = if self.binary {
            wire::encode_push_sized(device, batch)?
        } else {
            let body = serde_json::to_vec(&PushRequest {
                device: device.to_string(),
                changes: batch.to_vec(),
            })
            .map_err(|e| SyncError::Invalid(e.to_string()))?;
            let n = body.len();
            (body, n)
        };
        if batch.len() > 1 && (body.len() > self.max_body || inflated > self.max_inflated) {
            // Too large for one request (a batch of long texts): in two halves, in order. If
            // the second fails after the first was stored, the first's acknowledgement is
            // returned and the rest is sent again (and fails again) on the next push.
            let (first, rest) = batch.split_at(batch.len() / 2);
            let a = self.push(device, first)?;
            return Ok(match self.push(device, rest) {
                Ok(b) => PushReply {
                    acked: a.acked.max(b.acked),
                    quarantined: a.quarantined + b.quarantined,
                    restamped: a.restamped + b.restamped,
                },
                Err(_) => a,
            });
        }
        let req = self.request(self.client.post(format!("{}/v1/push", self.base)));
        self.bytes_sent += body.len() as u64;
        self.pushes_sent += 1;
        let kind = if self.binary {
            wire::CONTENT_TYPE
        } else {
            "application/json"
        };
        let r = req
            .header(reqwest::header::CONTENT_TYPE, kind)
            .body(body)
            .send()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        self.answer(r)
    }

    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        self.pull_wait(after, limit, 0)
    }

    fn pull_wait(
        &mut self,
        after: i64,
        limit: usize,
        wait_secs: u32,
    ) -> Result<PullReply, SyncError> {
        self.get_page(after, limit, wait_secs, 0)
    }

    fn pull_snapshot(
        &mut self,
        after: i64,
        snapshot: i64,
        limit: usize,
    ) -> Result<PullReply, SyncError> {
        self.get_page(after, limit, 0, snapshot)
    }
}
