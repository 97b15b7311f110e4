//! JSON-RPC 2.0 over HTTP POST with cookie authentication, as bitcoind serves it.
//!
//! The server binds where it is told (the binary refuses non-loopback addresses unless
//! asked), writes `DIR/.cookie` (`__cookie__:<64 hex>`, mode 0600) at every start and
//! removes it on a clean stop, and answers 401 to missing or wrong credentials, read
//! from the request head before any byte of the body. It runs on the workspace's
//! bounded HTTP stack (`merkle_log::http`: deadlines, a connection cap that sheds
//! idle and slow clients, a response budget) on a tokio runtime of its own; calls
//! run on that runtime's blocking pool, bounded to [`RpcConfig::threads`] threads,
//! because the node is synchronous and mining takes long. The JSON-RPC envelope
//! (batches, notifications) lives in `envelope.rs`, method dispatch in `methods.rs`
//! ([`dispatch`]); this module only speaks HTTP.

mod envelope;
mod methods;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use merkle_log::http::{BodyError, HttpServer, Limits, Monitor, ServeError, Stats, read_body};
use serde_json::Value;
use subtle::ConstantTimeEq;
use tokio::sync::watch;

pub use envelope::MAX_BATCH;
pub use methods::{
    Call, MAX_ADDRESSES, MAX_GENERATE_BLOCKS, MAX_TEST_TRANSACTIONS, RpcError, dispatch, parse_call,
};

use crate::node::Node;

/// Largest request body accepted, in bytes (a maximal block in hex is 2 MB).
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// The user name in the cookie file.
pub const COOKIE_USER: &str = "__cookie__";
/// Default of [`RpcConfig::threads`] (`--rpc-threads`).
pub const DEFAULT_RPC_THREADS: usize = 4;
/// After a stop, how long calls still running (a block being connected) may take
/// before the runtime is torn down without them.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// How often the server looks whether the node stopped by itself.
const NODE_STOP_POLL: Duration = Duration::from_millis(100);

/// Why the RPC server could not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcStartError {
    /// Writing the cookie file failed.
    #[error("cannot write the cookie file {path}")]
    Cookie {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The runtime or its thread could not start.
    #[error("cannot start the RPC runtime")]
    Runtime(#[source] std::io::Error),
    /// No random bytes for the cookie.
    #[error("no randomness for the cookie: {0}")]
    Random(String),
}

/// Why the RPC server stopped other than by a request.
#[derive(Debug, thiserror::Error)]
pub enum RpcServeError {
    /// The HTTP layer failed.
    #[error("the RPC server failed")]
    Serve(#[from] ServeError),
    /// The server thread panicked.
    #[error("the RPC server thread panicked")]
    Panicked,
}

/// How the RPC server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcConfig {
    /// Threads running calls at once; more calls wait for one.
    pub threads: usize,
    /// Connection, deadline and response-budget limits of the HTTP layer.
    pub http: Limits,
    /// Stop as a `stop` call would at Ctrl-C (SIGINT) or SIGTERM: for the binary,
    /// so that an interrupted node flushes and removes its cookie.
    pub stop_on_signals: bool,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            threads: DEFAULT_RPC_THREADS,
            http: Limits::default(),
            stop_on_signals: false,
        }
    }
}

/// A running RPC server.
pub struct RpcServer {
    addr: SocketAddr,
    cookie_path: PathBuf,
    monitor: Monitor,
    stop: Arc<watch::Sender<bool>>,
    thread: JoinHandle<Result<(), ServeError>>,
}

/// Writes a fresh cookie file readable only by the owner; returns the password.
///
/// # Errors
/// I/O errors or missing randomness.
pub fn write_cookie(path: &Path) -> Result<String, RpcStartError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| RpcStartError::Random(e.to_string()))?;
    let password = hex::encode(secret);
    let err = |source| RpcStartError::Cookie {
        path: path.to_owned(),
        source,
    };
    // Replace atomically: write a private temporary file, then rename over the old one.
    let tmp = path.with_extension("tmp");
    // A leftover from a crash; if it cannot be removed, creating it below says why.
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(err)?;
    file.write_all(format!("{COOKIE_USER}:{password}").as_bytes())
        .map_err(err)?;
    file.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(password)
}

impl std::fmt::Debug for RpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcServer")
            .field("addr", &self.addr)
            .field("cookie_path", &self.cookie_path)
            .finish_non_exhaustive()
    }
}

impl RpcServer {
    /// Writes `DIR/.cookie` and serves JSON-RPC on `listen` with `threads` call
    /// threads and the default HTTP limits.
    ///
    /// # Errors
    /// [`RpcStartError`].
    pub fn start(
        node: Arc<Node>,
        listen: SocketAddr,
        threads: usize,
    ) -> Result<Self, RpcStartError> {
        Self::start_with(
            node,
            listen,
            RpcConfig {
                threads,
                ..RpcConfig::default()
            },
        )
    }

    /// Writes `DIR/.cookie` and serves JSON-RPC on `listen` as `config` says.
    ///
    /// # Errors
    /// [`RpcStartError`].
    pub fn start_with(
        node: Arc<Node>,
        listen: SocketAddr,
        config: RpcConfig,
    ) -> Result<Self, RpcStartError> {
        let bind = |source| RpcStartError::Bind {
            addr: listen,
            source,
        };
        let listener = std::net::TcpListener::bind(listen).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(config.threads.max(1))
            .thread_name("chain-node-rpc")
            .enable_all()
            .build()
            .map_err(RpcStartError::Runtime)?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(bind)?
        };
        let cookie_path = node.config().data_dir.join(".cookie");
        let password = write_cookie(&cookie_path)?;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{COOKIE_USER}:{password}"))
        );
        let (stop, mut stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        let state = RpcState {
            node,
            expected_auth: expected.into(),
            stop: Arc::clone(&stop),
        };
        let signalled = Arc::clone(&state.node);
        let watched = Arc::clone(&state.node);
        let app = Router::new().fallback(serve_call).with_state(state);
        let http = HttpServer::new(config.http);
        let monitor = http.monitor();
        // Registered before `start` returns, so that a signal sent as soon as the node
        // says it is listening stops it cleanly instead of killing it.
        let signals = if config.stop_on_signals {
            let _entered = runtime.enter();
            Some(Signals::register())
        } else {
            None
        };
        let shutdown = async move {
            let terminated = async {
                match signals {
                    Some(mut s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                // A closed channel means the handle is gone: stop as well.
                _ = stopped.wait_for(|stop| *stop) => {}
                // The node stopped by itself (a storage failure): the server ends with it.
                () = node_stopped(&watched) => {}
                () = terminated => {
                    signalled.shutdown();
                }
            }
        };
        let thread = std::thread::Builder::new()
            .name("chain-node-rpc".into())
            .spawn(move || {
                let served = runtime.block_on(http.serve(listener, app, shutdown));
                runtime.shutdown_timeout(STOP_GRACE);
                served
            });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                // Nothing will serve: take the cookie back.
                let _ = std::fs::remove_file(&cookie_path);
                return Err(RpcStartError::Runtime(e));
            }
        };
        Ok(RpcServer {
            addr,
            cookie_path,
            monitor,
            stop,
            thread,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The cookie file.
    pub fn cookie_path(&self) -> &Path {
        &self.cookie_path
    }

    /// The HTTP layer's counters now.
    pub fn http_stats(&self) -> Stats {
        self.monitor.stats()
    }

    /// Waits until a `stop` request ends the server, then removes the cookie.
    ///
    /// # Errors
    /// [`RpcServeError`] when the server failed instead (the cookie is removed all
    /// the same).
    pub fn wait(self) -> Result<(), RpcServeError> {
        let joined = self.thread.join();
        // Gone already, or never written: either way no stale credentials remain.
        let _ = std::fs::remove_file(&self.cookie_path);
        joined.map_err(|_| RpcServeError::Panicked)??;
        Ok(())
    }

    /// Stops the server without a request: asks the node to stop its long work
    /// (mining), lets calls in progress answer, and removes the cookie.
    ///
    /// # Errors
    /// As [`RpcServer::wait`].
    pub fn stop(self, node: &Node) -> Result<(), RpcServeError> {
        node.shutdown();
        self.stop.send_replace(true);
        self.wait()
    }
}

#[derive(Clone)]
struct RpcState {
    node: Arc<Node>,
    expected_auth: Arc<str>,
    stop: Arc<watch::Sender<bool>>,
}

/// SIGINT and SIGTERM, listened to from the moment they are registered.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Registers the handlers now (inside a runtime context).
    fn register() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .ok();
            Signals { streams }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next SIGINT or SIGTERM (Ctrl-C where there are no Unix signals, or where
    /// registering them failed).
    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.streams {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        merkle_log::http::termination().await;
    }
}

/// Resolves once the node is shutting down, whatever asked it to.
async fn node_stopped(node: &Node) {
    while !node.is_shutting_down() {
        tokio::time::sleep(NODE_STOP_POLL).await;
    }
}

/// Every request, whatever its path, as bitcoind.
async fn serve_call(State(state): State<RpcState>, request: Request) -> Response {
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .is_some_and(|v| bool::from(v.as_bytes().ct_eq(state.expected_auth.as_bytes())));
    if !authorized {
        // The body is never read: close rather than drain it.
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        let h = r.headers_mut();
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"jsonrpc\""),
        );
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
    if request.method() != Method::POST {
        return json(
            StatusCode::METHOD_NOT_ALLOWED,
            envelope::error_body(Value::Null, &RpcError::invalid_request("use HTTP POST")),
        );
    }
    let body = match read_body(request, MAX_BODY).await {
        Ok(body) => body,
        Err(e) => {
            let status = match e {
                BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                BodyError::Unreadable { .. } => StatusCode::BAD_REQUEST,
            };
            let mut r = json(
                status,
                envelope::error_body(Value::Null, &RpcError::invalid_request(e.to_string())),
            );
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    let node = Arc::clone(&state.node);
    let answered = tokio::task::spawn_blocking(move || envelope::answer(&node, &body)).await;
    let answer = match answered {
        Ok(a) => a,
        Err(e) => {
            return json(
                StatusCode::INTERNAL_SERVER_ERROR,
                envelope::error_body(
                    Value::Null,
                    &RpcError::internal(format!("the call failed: {e}")),
                ),
            );
        }
    };
    if answer.stop {
        state.node.shutdown();
        state.stop.send_replace(true);
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    json(status, answer.body)
}

fn json(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
