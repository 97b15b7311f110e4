//! The witness's HTTP face: `POST /add-checkpoint` of C2SP tlog-witness on the
//! bounded stack [`crate::http`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::Witness;
use crate::background::{ServerHandle, spawn_server};
use crate::error::{AddCheckpointError, ServerError};
use crate::http::{BodyError, HttpServer, Limits, read_body};
use crate::tlog_witness::{MAX_ADD_CHECKPOINT_LEN, TLOG_SIZE_CONTENT_TYPE, encode_size};

/// The witness's routes: `POST /add-checkpoint`; anything else is 404 (405 for
/// another method on that path).
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .fallback(|| async { text(StatusCode::NOT_FOUND, "no such endpoint".to_owned()) })
        .layer(DefaultBodyLimit::max(MAX_ADD_CHECKPOINT_LEN))
        .with_state(witness)
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn add_checkpoint(
    State(witness): State<Arc<Witness>>,
    request: axum::extract::Request,
) -> Response {
    let body = match read_body(request, MAX_ADD_CHECKPOINT_LEN).await {
        Ok(b) => b,
        Err(e @ BodyError::TooLarge { .. }) => {
            return text(StatusCode::PAYLOAD_TOO_LARGE, format!("{e}\n"));
        }
        Err(e @ BodyError::Unreadable { .. }) => {
            return text(StatusCode::BAD_REQUEST, format!("{e}\n"));
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Verifying and the fsync of a new head block: off the async workers.
    let outcome = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now)).await;
    match outcome {
        Ok(Ok(line)) => text(StatusCode::OK, line),
        Ok(Err(AddCheckpointError::Conflict { size })) => {
            let mut r = (StatusCode::CONFLICT, encode_size(size)).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(TLOG_SIZE_CONTENT_TYPE),
            );
            r
        }
        Ok(Err(e)) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                reason.push_str(": ");
                reason.push_str(&s.to_string());
                source = s.source();
            }
            text(status, format!("{reason}\n"))
        }
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request handler panicked\n".to_owned(),
        ),
    }
}

/// Serves the witness on `listener` until `shutdown` resolves.
///
/// # Errors
/// [`ServerError::Serve`] when the listener fails for good.
pub async fn run(
    witness: Arc<Witness>,
    listener: tokio::net::TcpListener,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServerError> {
    HttpServer::new(limits)
        .serve(listener, router(witness), shutdown)
        .await
        .map_err(ServerError::from)
}

/// Starts the witness on its own runtime in a background thread, listening on
/// `listen` (port 0 for an ephemeral port).
///
/// # Errors
/// [`ServerError::Start`] when the address cannot be bound or the runtime or the
/// thread cannot start.
pub fn start(
    witness: Arc<Witness>,
    listen: std::net::SocketAddr,
    limits: Limits,
) -> Result<ServerHandle, ServerError> {
    spawn_server(
        listen,
        limits,
        "merkle-log-witness",
        move |listener, http, shutdown| {
            Box::pin(async move {
                http.serve(listener, router(witness), shutdown)
                    .await
                    .map_err(ServerError::from)
            })
        },
    )
}
