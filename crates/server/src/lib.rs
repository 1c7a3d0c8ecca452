//! The sync hub over HTTP (axum on tokio): the routes, their errors, and the store's key.
//! `main.rs` is the command line around it; tests and the desktop app's tests start it
//! in-process with [`serve`].

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use desk_core::{Change, Key, RecordRef};
use desk_sync::{auth, Denied, Hub, Session, SyncError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The hub, and the newest server sequence for long-polls to wait on.
#[derive(Clone)]
struct Shared {
    hub: Arc<Mutex<Hub>>,
    head: Arc<tokio::sync::watch::Sender<i64>>,
    /// Set when the server is shutting down: long-polls answer at once.
    closing: tokio::sync::watch::Receiver<bool>,
}

/// Requests larger than this are refused (413) before they are read.
const MAX_BODY: usize = 32 * 1024 * 1024;
const MAX_PULL: usize = 2_000;

struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(json!({"error": {"code": self.1, "message": self.2}})),
        )
            .into_response()
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> ApiError {
        let msg = e.to_string();
        match e {
            SyncError::Refused { .. } => ApiError(StatusCode::FORBIDDEN, "refused", msg),
            SyncError::Denied(d, _) => ApiError(StatusCode::UNAUTHORIZED, d.code(), msg),
            SyncError::OutOfScope(_) => ApiError(StatusCode::FORBIDDEN, "out_of_scope", msg),
            SyncError::NotPermitted(_) => ApiError(StatusCode::FORBIDDEN, "not_permitted", msg),
            SyncError::Rescope => ApiError(StatusCode::CONFLICT, "rescope", msg),
            SyncError::UpgradeRequired(_) => {
                ApiError(StatusCode::UPGRADE_REQUIRED, "upgrade_required", msg)
            }
            SyncError::Invalid(_) => ApiError(StatusCode::UNPROCESSABLE_ENTITY, "invalid", msg),
            SyncError::Replica(desk_core::Error::Validation { .. })
            | SyncError::Replica(desk_core::Error::BadChange { .. }) => {
                ApiError(StatusCode::UNPROCESSABLE_ENTITY, "invalid_change", msg)
            }
            SyncError::Replica(desk_core::Error::UnknownEntity(_)) => {
                ApiError(StatusCode::UNPROCESSABLE_ENTITY, "unknown_entity", msg)
            }
            SyncError::NotFound(_) => ApiError(StatusCode::NOT_FOUND, "not_found", msg),
            SyncError::Replica(desk_core::Error::NotFound { .. }) => {
                ApiError(StatusCode::NOT_FOUND, "not_found", msg)
            }
            SyncError::Network(_) | SyncError::Replica(_) | SyncError::Store(_) => {
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", msg)
            }
        }
    }
}

#[derive(Deserialize)]
struct LoginBody {
    user: String,
    password: String,
    device: String,
}

#[derive(Serialize)]
struct LoginAnswer {
    token: String,
    role: String,
    expires: i64,
}

#[derive(Deserialize)]
struct PushBody {
    device: String,
    changes: Vec<Change>,
}

#[derive(Serialize)]
struct PushAnswer {
    acked: i64,
    quarantined: usize,
    restamped: usize,
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

#[derive(Serialize)]
struct PullAnswer {
    changes: Vec<Change>,
    purged: Vec<RecordRef>,
    cursor: i64,
    more: bool,
}

fn lock(hub: &Arc<Mutex<Hub>>) -> Result<std::sync::MutexGuard<'_, Hub>, ApiError> {
    hub.lock().map_err(|_| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the store failed earlier; restart the server".into(),
        )
    })
}

/// A body axum could not take: too large (413), or unreadable (400).
fn rejected(status: StatusCode, text: String) -> ApiError {
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "too_large"
    } else {
        "bad_request"
    };
    ApiError(status, code, text)
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        rejected(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, "bad_request", r.body_text())
    }
}

/// Runs store work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
}

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError(
                StatusCode::UNAUTHORIZED,
                Denied::Unknown.code(),
                "no bearer token: sign in with `desk login`".into(),
            )
        })
}

fn session(hub: &Hub, headers: &HeaderMap) -> Result<Session, ApiError> {
    let schema = headers
        .get(desk_sync::http::SCHEMA_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(v) = schema.filter(|v| *v < desk_sync::MIN_CLIENT_SCHEMA) {
        return Err(SyncError::UpgradeRequired(format!(
            "this app speaks schema {v}; the server needs {} or newer: update the app \
             (your unsent changes are kept until then)",
            desk_sync::MIN_CLIENT_SCHEMA
        ))
        .into());
    }
    Ok(hub.authenticate(&bearer(headers)?)?)
}

async fn login(
    State(Shared { hub, .. }): State<Shared>,
    body: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Json<LoginAnswer>, ApiError> {
    let Json(body) = body?;
    if body.device.trim().is_empty() || body.device.len() > 100 {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "device must be 1–100 characters".into(),
        ));
    }
    let l = blocking(move || {
        // The password check is slow on purpose: it runs without holding the store.
        let c = auth::credentials(lock(&hub)?.store(), &body.user)?;
        let ok = auth::verify(c.as_ref(), &body.password);
        let mut hub = lock(&hub)?;
        Ok(auth::issue(
            hub.store_mut(),
            &body.user,
            c,
            ok,
            &body.device,
        )?)
    })
    .await?;
    Ok(Json(LoginAnswer {
        token: l.token,
        role: l.role.as_string(),
        expires: l.expires,
    }))
}

/// A push body, binary (`application/x-desk-sync`) or JSON.
fn push_body(headers: &HeaderMap, body: &[u8]) -> Result<(String, Vec<Change>), ApiError> {
    if wants(headers, axum::http::header::CONTENT_TYPE) {
        return desk_sync::wire::decode_push(body)
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, "bad_request", e.to_string()));
    }
    let b: PushBody = serde_json::from_slice(body).map_err(|e| {
        let status = if e.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError(status, "bad_request", format!("the JSON body: {e}"))
    })?;
    Ok((b.device, b.changes))
}

/// Whether a header names the binary sync format.
fn wants(headers: &HeaderMap, name: axum::http::header::HeaderName) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(desk_sync::wire::CONTENT_TYPE))
}

async fn push(
    State(Shared { hub, head, .. }): State<Shared>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<PushAnswer>, ApiError> {
    bearer(&headers)?;
    let body = body.map_err(|r| rejected(r.status(), r.body_text()))?;
    let (device, changes) = push_body(&headers, &body)?;
    let (reply, newest) = blocking(move || {
        let mut hub = lock(&hub)?;
        let s = session(&hub, &headers)?;
        if device != s.device {
            return Err(ApiError(
                StatusCode::FORBIDDEN,
                "refused",
                format!("this token belongs to device {}, not {device}", s.device),
            ));
        }
        let reply = hub.push(&s.who, &s.device, &changes)?;
        Ok((reply, hub.head()))
    })
    .await?;
    head.send_if_modified(|h| {
        let moved = newest > *h;
        *h = (*h).max(newest);
        moved
    });
    Ok(Json(PushAnswer {
        acked: reply.acked,
        quarantined: reply.quarantined,
        restamped: reply.restamped,
    }))
}

/// The longest a pull may wait for news.
const MAX_WAIT_SECS: u64 = 60;

async fn pull(
    State(Shared {
        hub,
        head,
        mut closing,
    }): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(500).clamp(1, MAX_PULL);
    let binary = wants(&headers, axum::http::header::ACCEPT);
    let wait = q.wait.unwrap_or(0).min(MAX_WAIT_SECS);
    if wait > 0 {
        // Long-poll: check the token first, then wait (off any lock) until something newer
        // than `after` is held, or the time is up; an idle client costs the server nothing.
        let h = hub.clone();
        let hd = headers.clone();
        blocking(move || session(&*lock(&h)?, &hd).map(|_| ())).await?;
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
    let snapshot = [(desk_sync::http::SNAPSHOT_HEADER, reply.snapshot.to_string())];
    if binary {
        let bytes = desk_sync::wire::encode_page(&reply)?;
        return Ok((
            snapshot,
            [(
                axum::http::header::CONTENT_TYPE,
                desk_sync::wire::CONTENT_TYPE,
            )],
            bytes,
        )
            .into_response());
    }
    Ok((
        snapshot,
        Json(PullAnswer {
            changes: reply.changes,
            purged: reply.purged,
            cursor: reply.cursor,
            more: reply.more,
        }),
    )
        .into_response())
}

async fn checksum(
    State(Shared { hub, .. }): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<desk_sync::Checksum>, ApiError> {
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
    State(Shared { hub, .. }): State<Shared>,
    headers: HeaderMap,
    axum::extract::Path(sha): axum::extract::Path<String>,
    q: Result<Query<BlobQuery>, QueryRejection>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<desk_core::BlobStatus>, ApiError> {
    let Query(q) = q?;
    let body = body.map_err(|r| ApiError(r.status(), "bad_request", r.body_text()))?;
    let size = q.size.ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "size (the whole file's length) is required".into(),
        )
    })?;
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
    ApiError(
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
            ApiError(
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
    std::fs::write(&tmp, raw)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(Key::Raw(raw))
}

/// Serves `hub` on `listener` until `shutdown` completes (in-flight requests finish first).
pub async fn serve(
    listener: tokio::net::TcpListener,
    hub: Hub,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (head, _) = tokio::sync::watch::channel(hub.head());
    let (close, closing) = tokio::sync::watch::channel(false);
    let hub = Arc::new(Mutex::new(hub));
    let shared = Shared {
        hub: hub.clone(),
        head: Arc::new(head),
        closing,
    };
    let served = axum::serve(listener, app(shared))
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Waiting long-polls answer now instead of holding the shutdown up.
            let _ = close.send(true);
        })
        .await;
    // The store may hold a blocking client (PostgreSQL's runs its own small runtime): it is
    // closed off the async threads.
    let _ = tokio::task::spawn_blocking(move || drop(hub)).await;
    served
}

#[cfg(test)]
mod tests {
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
