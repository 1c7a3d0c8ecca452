//! `desk-server`: the sync hub over HTTP.
//!
//! ```text
//! desk-server [--db FILE] [--listen ADDR]     (defaults: ./desk-server.db, 127.0.0.1:8730)
//! ```
//!
//! With no flags it just runs: the store (an encrypted replica) is created on first start with
//! a random key in `FILE.key` beside it (mode 0600). It prints `listening on http://ADDR` once
//! it accepts connections (`--listen 127.0.0.1:0` picks a free port).
//!
//! API (JSON; every error is `{"error": {"code", "message"}}` with a 4xx/5xx status):
//! - `POST /v1/push` `{"device", "changes": [...]}` → `{"acked": N}`: the device's changes are
//!   stored exactly once, in order; everything up to `acked` is durable.
//! - `GET /v1/pull?after=N&limit=M` → `{"changes", "cursor", "more"}`.
//! - `GET /v1/health` → `{"ok": true, "version"}`.
//!
//! Not yet (the sync issue): device sign-in and tokens, roles and scope, schema-version checks,
//! the compact binary format, long-poll, attachments.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use desk_core::{Change, Key};
use desk_sync::{Hub, SyncError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

type Shared = Arc<Mutex<Hub>>;

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
        match e {
            SyncError::Refused { .. } => ApiError(StatusCode::FORBIDDEN, "refused", e.to_string()),
            SyncError::Replica(desk_core::Error::Validation { .. }) => ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_change",
                e.to_string(),
            ),
            SyncError::Replica(desk_core::Error::BadChange { .. }) => ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_change",
                e.to_string(),
            ),
            SyncError::Replica(desk_core::Error::UnknownEntity(_)) => ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_entity",
                e.to_string(),
            ),
            other => ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                other.to_string(),
            ),
        }
    }
}

#[derive(Deserialize)]
struct PushBody {
    device: String,
    changes: Vec<Change>,
}

#[derive(Serialize)]
struct PushAnswer {
    acked: i64,
}

#[derive(Deserialize)]
struct PullQuery {
    #[serde(default)]
    after: i64,
    limit: Option<usize>,
}

#[derive(Serialize)]
struct PullAnswer {
    changes: Vec<Change>,
    cursor: i64,
    more: bool,
}

fn lock(hub: &Shared) -> Result<std::sync::MutexGuard<'_, Hub>, ApiError> {
    hub.lock().map_err(|_| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the store failed earlier; restart the server".into(),
        )
    })
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        let status = r.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "bad_request"
        };
        ApiError(status, code, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, "bad_request", r.body_text())
    }
}

async fn push(
    State(hub): State<Shared>,
    body: Result<Json<PushBody>, JsonRejection>,
) -> Result<Json<PushAnswer>, ApiError> {
    let Json(body) = body?;
    if body.device.trim().is_empty() {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "device is empty".into(),
        ));
    }
    let reply = tokio::task::spawn_blocking(move || {
        lock(&hub)?
            .push(&body.device, &body.changes)
            .map_err(ApiError::from)
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    Ok(Json(PushAnswer { acked: reply.acked }))
}

async fn pull(
    State(hub): State<Shared>,
    q: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Json<PullAnswer>, ApiError> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(500).clamp(1, MAX_PULL);
    let reply = tokio::task::spawn_blocking(move || {
        lock(&hub)?.pull(q.after, limit).map_err(ApiError::from)
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    Ok(Json(PullAnswer {
        changes: reply.changes,
        cursor: reply.cursor,
        more: reply.more,
    }))
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

fn app(hub: Shared) -> Router {
    Router::new()
        .route("/v1/push", post(push))
        .route("/v1/pull", get(pull))
        .route("/v1/health", get(health))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(hub)
}

/// The store's key: 32 random bytes in `DB.key`, made on first start, readable by the owner only.
fn store_key(db: &Path) -> anyhow::Result<Key> {
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

fn args() -> anyhow::Result<(PathBuf, String)> {
    let mut db = PathBuf::from("desk-server.db");
    let mut listen = "127.0.0.1:8730".to_string();
    let mut it = std::env::args();
    it.next(); // the program name
    while let Some(a) = it.next() {
        match a.as_str() {
            "--db" => {
                db = PathBuf::from(
                    it.next()
                        .ok_or_else(|| anyhow::anyhow!("--db needs a file"))?,
                )
            }
            "--listen" => {
                listen = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--listen needs an address"))?
            }
            "-h" | "--help" => {
                println!("desk-server [--db FILE] [--listen ADDR]   (defaults: desk-server.db, 127.0.0.1:8730)");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other} (try --help)"),
        }
    }
    Ok((db, listen))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (db, listen) = args()?;
    let key = store_key(&db)?;
    let hub = Hub::open(&db, &key)
        .map_err(|e| anyhow::anyhow!("cannot open the store {}: {e}", db.display()))?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(Arc::new(Mutex::new(hub))))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
