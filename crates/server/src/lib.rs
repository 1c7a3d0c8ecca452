//! The sync server (`desk-server`): the [`Hub`] (the exactly-once relay, snapshots,
//! visibility and push validation), accounts ([`auth`]), documents' files ([`hubfiles`]), the
//! SQLite and PostgreSQL stores with their migrations ([`store`]), and HTTP (axum on tokio):
//! the routes, their errors, and the store's key. `main.rs` is the command line around it;
//! tests and the desktop app's tests start it in-process with [`serve`] (or [`serve_with`] and
//! its [`Limits`]).
//!
//! What it is not: no client loop and no UI (that is `desk-sync` and the front ends; the
//! server's tests use `desk-sync` as a client, nothing else does). It depends on `desk-core`
//! for its merged copy and validation and on `desk-protocol` for the wire.
//!
//! What a client cannot do to it: a request's token is checked before its body is read; bodies
//! are read up to a limit (a sign-in's to 8 KB); a binary push inflates to at most
//! [`wire::MAX_INFLATED`]; connections are limited in number, in how long a request head may
//! take and in how long an answer may wait to be read; one device holds at most a few waiting
//! pulls; failed sign-ins are throttled per user name and per client address.

pub mod access;
pub mod auth;
pub mod bundles;
mod conn;
mod error;
mod guard;
pub mod hub;
pub mod hubfiles;
pub mod store;
#[doc(hidden)]
pub mod testing;
mod throttle;

pub use access::{Principal, Role};
pub use auth::{Denied, Session};
pub use error::HubError;
pub use hub::{Hub, MIN_CLIENT_SCHEMA};
pub use throttle::LoginLimits;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Extension, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use conn::Peer;
use desk_core::{Change, Key};
use desk_protocol::v1::{
    AuditAnswer, AuditRequest, AuthorsAnswer, AuthorsRequest, Checksum, DeviceKeyRequest,
    ErrorBody, ErrorDetail, LoginAnswer, LoginRequest, Policy, PullPage, PushAnswer, PushRequest,
    SCHEMA_HEADER, SNAPSHOT_HEADER,
};
use desk_protocol::wire;
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use throttle::{Attempt, Throttle};

/// What the server lets one client do; [`Limits::default`] is what `desk-server` runs with
/// unless its config file says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once; past it a new one is answered 503 ("busy") and closed. Keep it
    /// well below the process's open-file limit (systemd `LimitNOFILE`).
    pub max_connections: usize,
    /// The time a client has to send a request head, counted from when the connection opens
    /// or its previous answer was sent (so also how long an idle kept-alive connection stays).
    pub header_timeout: Duration,
    /// How long a request body may pause, or an answer wait to be read, before the request or
    /// connection is dropped.
    pub idle_timeout: Duration,
    /// Waiting pulls (long-polls) one device may hold at once; past it 429 "too_many_waits".
    pub waits_per_device: usize,
    /// Failed sign-ins.
    pub login: LoginLimits,
    /// Take a sign-in's client address from the last `X-Forwarded-For` entry (only behind a
    /// reverse proxy that sets it, with the server reachable through the proxy alone).
    pub trust_forwarded_for: bool,
    /// Documents' files: the largest, each user's quota, how long an unfinished upload stays.
    pub files: hubfiles::FileLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            waits_per_device: 4,
            login: LoginLimits::default(),
            trust_forwarded_for: false,
            files: hubfiles::FileLimits::default(),
        }
    }
}

/// The hub, and the newest server sequence for long-polls to wait on.
#[derive(Clone)]
struct Shared {
    hub: Arc<Mutex<Hub>>,
    head: Arc<tokio::sync::watch::Sender<i64>>,
    /// Set when the server is shutting down: long-polls answer at once.
    closing: tokio::sync::watch::Receiver<bool>,
    limits: Arc<Limits>,
    throttle: Arc<Throttle>,
    waits: Arc<Waits>,
    /// Pushes decoded and applied at once (each may hold up to a batch's inflated size).
    pushing: Arc<tokio::sync::Semaphore>,
}

/// Request bodies larger than this are refused (413); a declared length is refused before
/// anything is read.
const MAX_BODY: usize = wire::MAX_BODY;
/// A sign-in's body (a user name, a password and a device id).
const MAX_LOGIN_BODY: usize = 8 * 1024;
/// No user name is longer (see [`auth`]): longer ones are refused before anything.
const MAX_USER_NAME: usize = 64;
const MAX_DEVICE: usize = 100;
pub(crate) const MAX_PULL: usize = 2_000;
/// Pushes decoded at once.
const PUSHING: usize = 2;

struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds, for a `Retry-After` header.
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: String) -> ApiError {
        ApiError {
            status,
            code,
            message,
            retry_after: None,
        }
    }

    fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs.max(1));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut r = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

impl From<HubError> for ApiError {
    fn from(e: HubError) -> ApiError {
        let msg = e.to_string();
        match e {
            HubError::Refused { .. } => ApiError::new(StatusCode::FORBIDDEN, "refused", msg),
            HubError::Denied(d, _) => ApiError::new(StatusCode::UNAUTHORIZED, d.code(), msg),
            HubError::OutOfScope(_) => ApiError::new(StatusCode::FORBIDDEN, "out_of_scope", msg),
            HubError::NotPermitted(_) => ApiError::new(StatusCode::FORBIDDEN, "not_permitted", msg),
            HubError::Rescope => ApiError::new(StatusCode::CONFLICT, "rescope", msg),
            HubError::Conflict(code, _) => ApiError::new(StatusCode::CONFLICT, code, msg),
            HubError::UpgradeRequired(_) => {
                ApiError::new(StatusCode::UPGRADE_REQUIRED, "upgrade_required", msg)
            }
            HubError::Invalid(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", msg),
            HubError::BadChange(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_change", msg)
            }
            HubError::DeviceTaken(_) => ApiError::new(StatusCode::FORBIDDEN, "device_taken", msg),
            HubError::Limit(code, _) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, code, msg),
            HubError::Replica(desk_core::Error::Validation { .. })
            | HubError::Replica(desk_core::Error::BadChange { .. }) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_change", msg)
            }
            HubError::Replica(desk_core::Error::UnknownEntity(_)) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_entity", msg)
            }
            HubError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", msg),
            HubError::Replica(desk_core::Error::NotFound { .. }) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", msg)
            }
            HubError::Replica(_) | HubError::Store(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", msg)
            }
        }
    }
}

#[derive(Deserialize)]
struct PullQuery {
    #[serde(default)]
    after: i64,
    limit: Option<usize>,
    /// Seconds to wait for news when there is none (long-poll).
    wait: Option<u64>,
    /// An initial sync's snapshot sequence, as the first page's `x-desk-snapshot` gave it.
    #[serde(default)]
    snapshot: i64,
}

fn lock(hub: &Arc<Mutex<Hub>>) -> Result<std::sync::MutexGuard<'_, Hub>, ApiError> {
    hub.lock().map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the store failed earlier; restart the server".into(),
        )
    })
}

/// "32 MB", "8 KB".
fn size_text(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{} MB", n / (1024 * 1024))
    } else {
        format!("{} KB", n / 1024)
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "the request body is larger than the {} limit",
            size_text(limit)
        ),
    )
}

/// Reads a request body of at most `limit` bytes (only once the request may send one: after its
/// token was checked). A declared length past it is refused without reading; a body that
/// pauses longer than `stall` is dropped (408).
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    stall: Duration,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let mut body = body;
    let start = declared
        .map_or(0, |n| n as usize)
        .min(limit)
        .min(1024 * 1024);
    let mut buf = Vec::with_capacity(start);
    loop {
        let frame = match tokio::time::timeout(stall, body.frame()).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "timeout",
                    format!(
                        "the request body stopped arriving for {} s",
                        stall.as_secs()
                    ),
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                let t = e.to_string();
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("the request body could not be read: {t}"),
                ));
            }
            Ok(Some(Ok(f))) => f,
        };
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(too_large(limit));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// The waiting pulls each device holds.
struct Waits {
    limit: usize,
    held: Mutex<HashMap<String, usize>>,
}

/// One waiting pull; the device's count goes down when it ends (however it ends).
struct WaitSlot {
    waits: Arc<Waits>,
    device: String,
}

impl Waits {
    fn enter(self: &Arc<Self>, device: &str) -> Result<WaitSlot, ApiError> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(device.to_string()).or_insert(0);
        if *n >= self.limit {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_waits",
                format!(
                    "this device already has {} waiting pulls open; one is enough",
                    self.limit
                ),
            )
            .retry_after(10));
        }
        *n += 1;
        Ok(WaitSlot {
            waits: self.clone(),
            device: device.to_string(),
        })
    }
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        let mut held = self.waits.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.device) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.device);
            }
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", r.body_text())
    }
}

/// Runs store work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
}

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                Denied::Unknown.code(),
                "no bearer token: sign in with `desk login`".into(),
            )
        })
}

fn session(hub: &Hub, headers: &HeaderMap) -> Result<Session, ApiError> {
    let schema = headers
        .get(SCHEMA_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(v) = schema.filter(|v| *v < MIN_CLIENT_SCHEMA) {
        return Err(HubError::UpgradeRequired(format!(
            "this app speaks schema {v}; the server needs {} or newer: update the app \
             (your unsent changes are kept until then)",
            MIN_CLIENT_SCHEMA
        ))
        .into());
    }
    Ok(hub.authenticate(&bearer(headers)?)?)
}

/// The address a sign-in is throttled by: the TCP peer, or (when configured, behind a proxy)
/// the last `X-Forwarded-For` entry, the one the proxy added.
fn client_addr(peer: SocketAddr, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    let forwarded = || {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    };
    trust_forwarded_for
        .then(forwarded)
        .flatten()
        .unwrap_or(peer.ip())
}

fn json_error(e: serde_json::Error) -> ApiError {
    let status = if e.is_data() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::BAD_REQUEST
    };
    ApiError::new(status, "bad_request", format!("the JSON body: {e}"))
}

async fn login(
    State(sh): State<Shared>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<LoginAnswer>, ApiError> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    if !json_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "expected a JSON body (Content-Type: application/json)".into(),
        ));
    }
    let bytes = read_body(body, &headers, MAX_LOGIN_BODY, sh.limits.idle_timeout).await?;
    let body: LoginRequest = serde_json::from_slice(&bytes).map_err(json_error)?;
    // (Counted in characters, as the OpenAPI document says; no control characters, which
    // no name has and PostgreSQL refuses in text.)
    let fits = |s: &str, max: usize| {
        !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
    };
    if !fits(&body.user, MAX_USER_NAME) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("user must be 1–{MAX_USER_NAME} characters, none of them control characters"),
        ));
    }
    if body.device.trim().is_empty() || !fits(&body.device, MAX_DEVICE) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("device must be 1–{MAX_DEVICE} characters, none of them control characters"),
        ));
    }
    let client = client_addr(peer, &headers, sh.limits.trust_forwarded_for);
    if let Attempt::Wait(wait) = sh.throttle.attempt(&body.user, client) {
        // Nothing is checked: the answer says nothing about the password.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("too many failed sign-ins for this user or from this address: try again in {secs} s"),
        )
        .retry_after(secs));
    }
    let hub = sh.hub.clone();
    let user = body.user.clone();
    let (l, verified) = blocking(move || {
        // The password check is slow on purpose: it runs without holding the store.
        let c = auth::credentials(lock(&hub)?.store(), &body.user)?;
        let ok = auth::verify(c.as_ref(), &body.password);
        let mut hub = lock(&hub)?;
        let l = auth::issue(hub.store_mut(), &body.user, c, ok, &body.device);
        Ok((l, ok))
    })
    .await?;
    if verified {
        sh.throttle.success(&user, client);
    } else {
        sh.throttle.failed(client);
    }
    let l = l?;
    Ok(Json(LoginAnswer {
        token: l.token,
        role: l.role.as_string(),
        expires: l.expires,
    }))
}

/// Signs the presented token's device out: the token stops working (the device may sign in
/// again).
async fn logout(
    State(Shared { hub, .. }): State<Shared>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    with_token(hub, &headers, |store, token| {
        auth::logout(store, token).map(|_| ())
    })
    .await
}

/// A revoked device confirms its wipe (its token works for this alone).
async fn wiped(
    State(Shared { hub, .. }): State<Shared>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    with_token(hub, &headers, |store, token| {
        auth::confirm_wipe(store, token).map(|_| ())
    })
    .await
}

/// The most bytes of a `POST /v1/audit` body (200 events of 1,000 characters of up to 4 bytes).
const MAX_AUDIT_BODY: usize = 1 << 20;
/// The most bytes of a `POST /v1/authors` body (500 ids of ~40 bytes).
const MAX_AUTHORS_BODY: usize = 64 << 10;

/// A device reports what it did for the audit log (packs made, key changes).
async fn audit_events(
    State(sh): State<Shared>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<AuditAnswer>, ApiError> {
    json_call(
        sh,
        headers,
        body,
        MAX_AUDIT_BODY,
        |hub, s, req: AuditRequest| {
            let acked = auth::device_audit(hub.store_mut(), &s, &req.events)?;
            Ok(AuditAnswer { acked })
        },
    )
    .await
}

/// The users of devices named in a replica's change log.
async fn authors(
    State(sh): State<Shared>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<AuthorsAnswer>, ApiError> {
    json_call(
        sh,
        headers,
        body,
        MAX_AUTHORS_BODY,
        |hub, _, req: AuthorsRequest| {
            let authors = auth::device_users(hub.store(), &req.devices)?;
            Ok(AuthorsAnswer { authors })
        },
    )
    .await
}

/// A device gives the public half of its bundle-signing key.
async fn device_key(
    State(sh): State<Shared>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let Json(()) = json_call(sh, headers, body, 4096, |hub, s, req: DeviceKeyRequest| {
        auth::set_device_key(hub.store_mut(), &s, &req.public_key)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A small JSON request of a signed-in device: the token checked before the body is read (at
/// most `max` bytes), then `f` given the hub, the session and the request, off the async
/// threads.
async fn json_call<Req, Ans>(
    sh: Shared,
    headers: HeaderMap,
    body: Body,
    max: usize,
    f: impl FnOnce(&mut Hub, Session, Req) -> Result<Ans, ApiError> + Send + 'static,
) -> Result<Json<Ans>, ApiError>
where
    Req: for<'de> Deserialize<'de>,
    Ans: Send + 'static,
{
    authenticated(&sh.hub, &headers).await?;
    let body = read_body(body, &headers, max, sh.limits.idle_timeout).await?;
    let hub = sh.hub.clone();
    let answer = blocking(move || {
        let req: Req = serde_json::from_slice(&body).map_err(json_error)?;
        let mut hub = lock(&hub)?;
        let s = session(&hub, &headers)?;
        f(&mut hub, s, req)
    })
    .await?;
    Ok(Json(answer))
}

/// A request that is its token and nothing else (sign out, confirm a wipe): `f` is given the
/// store and the token, off the async threads; 204 when it succeeds.
async fn with_token(
    hub: Arc<Mutex<Hub>>,
    headers: &HeaderMap,
    f: impl FnOnce(&mut dyn store::Tables, &str) -> Result<(), HubError> + Send + 'static,
) -> Result<StatusCode, ApiError> {
    let token = bearer(headers)?;
    blocking(move || {
        let mut hub = lock(&hub)?;
        f(hub.store_mut(), &token)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A push body, binary (`application/x-desk-sync`) or JSON.
fn push_body(binary: bool, body: &[u8]) -> Result<(String, Vec<Change>), ApiError> {
    if binary {
        return wire::read_push(body, wire::MAX_INFLATED).map_err(|e| {
            let status = match e {
                wire::WireError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                wire::WireError::Invalid(_) => StatusCode::BAD_REQUEST,
            };
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "too_large"
            } else {
                "bad_request"
            };
            ApiError::new(status, code, e.to_string())
        });
    }
    let b: PushRequest = serde_json::from_slice(body).map_err(json_error)?;
    Ok((b.device, b.changes))
}

/// Whether a header names the binary sync format.
fn wants(headers: &HeaderMap, name: axum::http::header::HeaderName) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(wire::CONTENT_TYPE))
}

/// Checks the request's token (off the async threads), before anything else is read.
async fn authenticated(hub: &Arc<Mutex<Hub>>, headers: &HeaderMap) -> Result<Session, ApiError> {
    bearer(headers)?;
    let (hub, headers) = (hub.clone(), headers.clone());
    blocking(move || session(&*lock(&hub)?, &headers)).await
}

async fn push(
    State(sh): State<Shared>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PushAnswer>, ApiError> {
    authenticated(&sh.hub, &headers).await?;
    let body = read_body(body, &headers, MAX_BODY, sh.limits.idle_timeout).await?;
    let binary = wants(&headers, header::CONTENT_TYPE);
    let pushing =
        sh.pushing.clone().acquire_owned().await.map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })?;
    let hub = sh.hub.clone();
    let (reply, newest) = blocking(move || {
        let _pushing = pushing;
        let (device, changes) = push_body(binary, &body)?;
        drop(body);
        let mut hub = lock(&hub)?;
        let s = session(&hub, &headers)?;
        if device != s.device {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "refused",
                format!("this token belongs to device {}, not {device}", s.device),
            ));
        }
        let reply = hub.push(&s.who, &s.device, &changes)?;
        Ok((reply, hub.head()))
    })
    .await?;
    sh.head.send_if_modified(|h| {
        let moved = newest > *h;
        *h = (*h).max(newest);
        moved
    });
    Ok(Json(reply))
}

/// The longest a pull may wait for news.
const MAX_WAIT_SECS: u64 = 60;

async fn pull(
    State(Shared {
        hub,
        head,
        mut closing,
        waits,
        ..
    }): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(500).clamp(1, MAX_PULL);
    let binary = wants(&headers, axum::http::header::ACCEPT);
    let wait = q.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("wait is at most {MAX_WAIT_SECS} seconds"),
        ));
    }
    if wait > 0 {
        // Long-poll: check the token first, then wait (off any lock) until something newer
        // than `after` is held, or the time is up; an idle client costs the server nothing.
        let s = authenticated(&hub, &headers).await?;
        let _slot = waits.enter(&s.device)?;
        let mut rx = head.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(wait)) => {}
            _ = rx.wait_for(|newest| *newest > q.after) => {}
            _ = closing.wait_for(|c| *c) => {}
        }
    }
    let reply = blocking(move || {
        let mut hub = lock(&hub)?;
        let s = session(&hub, &headers)?;
        hub.begin_pull(&s, q.after)?;
        Ok(hub.pull_snapshot(&s.who, q.after, q.snapshot, limit)?)
    })
    .await?;
    let snapshot = [(SNAPSHOT_HEADER, reply.snapshot.to_string())];
    if binary {
        let bytes = wire::encode_page(&reply).map_err(HubError::from)?;
        return Ok((
            snapshot,
            [(axum::http::header::CONTENT_TYPE, wire::CONTENT_TYPE)],
            bytes,
        )
            .into_response());
    }
    // (The page's `snapshot` is in the header, not the body.)
    Ok((snapshot, Json::<PullPage>(reply)).into_response())
}

/// What the server asks of its devices (the offline lease).
async fn policy(
    State(Shared { hub, .. }): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<Policy>, ApiError> {
    let lease_days = blocking(move || {
        let hub = lock(&hub)?;
        session(&hub, &headers)?;
        Ok(auth::lease_days(hub.store())?)
    })
    .await?;
    Ok(Json(Policy { lease_days }))
}

async fn checksum(
    State(Shared { hub, .. }): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<Checksum>, ApiError> {
    let c = blocking(move || {
        let hub = lock(&hub)?;
        let s = session(&hub, &headers)?;
        Ok(hub.checksum(&s.who)?)
    })
    .await?;
    Ok(Json(c))
}

#[derive(Deserialize)]
struct BlobQuery {
    #[serde(default)]
    offset: u64,
    size: Option<u64>,
    limit: Option<usize>,
}

async fn blob_status(
    State(Shared { hub, .. }): State<Shared>,
    headers: HeaderMap,
    axum::extract::Path(sha): axum::extract::Path<String>,
) -> Result<Json<desk_core::BlobStatus>, ApiError> {
    let st = blocking(move || {
        let hub = lock(&hub)?;
        let s = session(&hub, &headers)?;
        Ok(hub.blob_status(&s.who, &sha)?)
    })
    .await?;
    Ok(Json(st))
}

async fn blob_get(
    State(Shared { hub, .. }): State<Shared>,
    headers: HeaderMap,
    axum::extract::Path(sha): axum::extract::Path<String>,
    q: Result<Query<BlobQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let bytes = blocking(move || {
        let hub = lock(&hub)?;
        let s = session(&hub, &headers)?;
        let limit = q.limit.unwrap_or(desk_core::blobs::CHUNK);
        Ok(hub.blob_get(&s.who, &sha, q.offset, limit)?)
    })
    .await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
        bytes,
    )
        .into_response())
}

async fn blob_put(
    State(sh): State<Shared>,
    headers: HeaderMap,
    axum::extract::Path(sha): axum::extract::Path<String>,
    q: Result<Query<BlobQuery>, QueryRejection>,
    body: Body,
) -> Result<Json<desk_core::BlobStatus>, ApiError> {
    let Query(q) = q?;
    let size = q.size.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "size (the whole file's length) is required".into(),
        )
    })?;
    authenticated(&sh.hub, &headers).await?;
    let body = read_body(body, &headers, MAX_BODY, sh.limits.idle_timeout).await?;
    let hub = sh.hub.clone();
    let st = blocking(move || {
        let mut hub = lock(&hub)?;
        let s = session(&hub, &headers)?;
        Ok(hub.blob_put(&s.who, &sha, size, q.offset, &body)?)
    })
    .await?;
    Ok(Json(st))
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({"ok": true, "version": env!("CARGO_PKG_VERSION")}))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint".into(),
    )
}

/// Every request must finish within this long (a stuck client cannot hold a worker).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

async fn timeout(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<Response, ApiError> {
    tokio::time::timeout(REQUEST_TIMEOUT, next.run(req))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!(
                    "the request took longer than {} s",
                    REQUEST_TIMEOUT.as_secs()
                ),
            )
        })
}

fn app(hub: Shared) -> Router {
    Router::new()
        .route("/v1/login", post(login))
        .route("/v1/logout", post(logout))
        .route("/v1/wiped", post(wiped))
        .route("/v1/audit", post(audit_events))
        .route("/v1/authors", post(authors))
        .route("/v1/policy", get(policy))
        .route("/v1/device-key", post(device_key))
        .route("/v1/push", post(push))
        .route("/v1/pull", get(pull))
        .route("/v1/health", get(health))
        .route("/v1/checksum", get(checksum))
        .route("/v1/blobs/{sha}", get(blob_get).put(blob_put))
        .route("/v1/blobs/{sha}/status", get(blob_status))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(timeout))
        .with_state(hub)
}

/// The store's key: 32 random bytes in `DB.key`, made on first start, readable by the owner only.
pub fn store_key(db: &Path) -> anyhow::Result<Key> {
    let path = PathBuf::from(format!("{}.key", db.display()));
    if let Ok(bytes) = std::fs::read(&path) {
        let raw: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| anyhow::anyhow!("{} is not a 32-byte key", path.display()))?;
        return Ok(Key::Raw(raw));
    }
    if db.exists() {
        anyhow::bail!(
            "{} exists but its key {} is missing",
            db.display(),
            path.display()
        );
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let tmp = PathBuf::from(format!("{}.partial", path.display()));
    // A leftover from a start that failed half-way (it was never the key).
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(anyhow::anyhow!("cannot remove {}: {e}", tmp.display())),
    }
    // Created owner-only (never readable by others, not even for a moment) and new (not a file
    // or link someone put there).
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    {
        use std::io::Write;
        let mut f = options
            .open(&tmp)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", tmp.display()))?;
        f.write_all(&raw)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(Key::Raw(raw))
}

/// Serves `hub` on `listener` until `shutdown` completes (in-flight requests finish first;
/// waiting pulls answer at once), with the default [`Limits`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    hub: Hub,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, hub, Limits::default(), shutdown).await
}

/// [`serve`] with these limits.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    hub: Hub,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (head, _) = tokio::sync::watch::channel(hub.head());
    let (close, closing) = tokio::sync::watch::channel(false);
    let hub = Arc::new(Mutex::new(hub));
    let settings = conn::Settings {
        max_connections: limits.max_connections,
        header_timeout: limits.header_timeout,
        idle_timeout: limits.idle_timeout,
    };
    let shared = Shared {
        hub: hub.clone(),
        head: Arc::new(head),
        closing,
        throttle: Arc::new(Throttle::new(limits.login.clone())),
        waits: Arc::new(Waits {
            limit: limits.waits_per_device.max(1),
            held: Mutex::new(HashMap::new()),
        }),
        pushing: Arc::new(tokio::sync::Semaphore::new(PUSHING)),
        limits: Arc::new(limits),
    };
    conn::run(listener, app(shared), settings, shutdown, move || {
        // Waiting long-polls answer now instead of holding the shutdown up.
        let _ = close.send(true);
    })
    .await;
    // The store may hold a blocking client (PostgreSQL's runs its own small runtime): it is
    // closed off the async threads.
    let _ = tokio::task::spawn_blocking(move || drop(hub)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn the_key_file_is_made_owner_only_even_over_a_leftover() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("hub.db");
        // A half-made key from an earlier start, readable by all: never used, replaced.
        let partial = dir.path().join("hub.db.key.partial");
        std::fs::write(&partial, b"junk").expect("write");
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let key = super::store_key(&db).expect("key");
        let path = dir.path().join("hub.db.key");
        let mode = std::fs::metadata(&path)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!partial.exists());
        assert_eq!(std::fs::read(&path).expect("read").len(), 32);
        // Read back as it was made.
        let again = super::store_key(&db).expect("again");
        assert!(matches!((key, again), (desk_core::Key::Raw(a), desk_core::Key::Raw(b)) if a == b));
    }

    #[test]
    fn every_route_is_in_the_openapi_document() {
        let doc = include_str!("../../../docs/openapi.yaml");
        let src = include_str!("lib.rs");
        // Each route's path: what follows the call's opening quote (the first piece is the
        // code before the first route).
        let pieces: Vec<&str> = src.split(".route(\"").collect();
        let routes: Vec<&str> = pieces[1..]
            .iter()
            .filter_map(|s| s.split('"').next())
            .collect();
        assert!(routes.len() >= 5, "{routes:?}");
        for r in routes {
            assert!(
                doc.contains(&format!("\n  {r}:\n")),
                "{r} is not in docs/openapi.yaml"
            );
        }
    }
}
