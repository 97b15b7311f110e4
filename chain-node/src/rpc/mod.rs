//! JSON-RPC over HTTP POST with cookie authentication, as bitcoind serves it.
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
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use merkle_log::http::{
    BodyError, HttpServer, Limits, Monitor, ServeError, Stats, Termination, Terminations, read_body,
};
use subtle::ConstantTimeEq;
use tokio::sync::watch;

pub use envelope::MAX_BATCH;
pub use methods::{
    Call, MAX_ADDRESSES, MAX_GENERATE_BLOCKS, MAX_LIST_BLOCKS, MAX_LIST_BYTES, MAX_LIST_NAMES,
    MAX_LIST_OUTPUTS, MAX_TEST_TRANSACTIONS, RpcError, dispatch, dispatch_with, parse_call,
};
pub(crate) use methods::{
    NameView, name_status, namespace_status, owner_text, parse_name_text, read_name,
};

use crate::node::Node;
use crate::p2p::P2p;

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

/// Why the RPC server stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A `stop` call.
    Request,
    /// SIGINT or SIGTERM (with [`RpcConfig::stop_on_signals`]).
    Signal(Termination),
    /// Standard input reached its end (with [`RpcConfig::stop_on_stdin_close`]).
    InputClosed,
    /// The node stopped by itself (a storage failure).
    NodeStopped,
    /// [`RpcServer::stop`] was called, or the handle went away.
    Handle,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Request => f.write_str("stop request"),
            StopReason::Signal(s) => f.write_str(s.name()),
            StopReason::InputClosed => f.write_str("standard input closed"),
            StopReason::NodeStopped => f.write_str("the node stopped"),
            StopReason::Handle => f.write_str("stopped by its owner"),
        }
    }
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
    /// Stop as at SIGTERM once standard input reaches its end: for a node supervised
    /// through a pipe, which then stops when its supervisor dies however it dies.
    pub stop_on_stdin_close: bool,
}

impl Default for RpcConfig {
    fn default() -> Self {
        RpcConfig {
            threads: DEFAULT_RPC_THREADS,
            http: Limits::default(),
            stop_on_signals: false,
            stop_on_stdin_close: false,
        }
    }
}

/// A running RPC server.
pub struct RpcServer {
    addr: SocketAddr,
    cookie_path: PathBuf,
    monitor: Monitor,
    stop: Arc<watch::Sender<bool>>,
    reason: Arc<OnceLock<StopReason>>,
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
    pub fn start(node: Node, listen: SocketAddr, threads: usize) -> Result<Self, RpcStartError> {
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
        node: Node,
        listen: SocketAddr,
        config: RpcConfig,
    ) -> Result<Self, RpcStartError> {
        let listener = Self::bind(listen)?;
        Self::start_on(node, listener, config)
    }

    /// Binds `listen` for [`RpcServer::start_on`], so that a binary can find a busy
    /// port before it opens or writes anything.
    ///
    /// # Errors
    /// [`RpcStartError::Bind`].
    pub fn bind(listen: SocketAddr) -> Result<std::net::TcpListener, RpcStartError> {
        std::net::TcpListener::bind(listen).map_err(|source| RpcStartError::Bind {
            addr: listen,
            source,
        })
    }

    /// Writes `DIR/.cookie` and serves JSON-RPC on a bound `listener` as `config`
    /// says. The cookie is written last, once everything else has started.
    ///
    /// # Errors
    /// [`RpcStartError`].
    pub fn start_on(
        node: Node,
        listener: std::net::TcpListener,
        config: RpcConfig,
    ) -> Result<Self, RpcStartError> {
        Self::start_on_network(node, None, listener, config)
    }

    /// [`RpcServer::start_on`] for a node on the network: the network methods
    /// (`getpeerinfo`, `addnode`, `setnetworkactive`...) act on `p2p`.
    ///
    /// # Errors
    /// [`RpcStartError`].
    pub fn start_on_network(
        node: Node,
        p2p: Option<P2p>,
        listener: std::net::TcpListener,
        config: RpcConfig,
    ) -> Result<Self, RpcStartError> {
        let listen = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let bind = |source| RpcStartError::Bind {
            addr: listen,
            source,
        };
        listener.set_nonblocking(true).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(config.threads.max(1))
            .thread_name("chain-node-rpc")
            .enable_all()
            .build()
            .map_err(RpcStartError::Runtime)?;
        let (listener, signals) = {
            let _entered = runtime.enter();
            // Watched from now on, before the binary says it serves: a Ctrl-C that
            // comes at once still stops the node cleanly.
            let signals = config.stop_on_signals.then(Terminations::watch);
            let input = config.stop_on_stdin_close.then(stdin_closed).flatten();
            (
                tokio::net::TcpListener::from_std(listener).map_err(bind)?,
                (signals, input),
            )
        };
        let (mut signals, input) = signals;
        let cookie_path = node.config().data_dir.join(".cookie");
        let password = write_cookie(&cookie_path)?;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{COOKIE_USER}:{password}"))
        );
        let (stop, mut stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        let reason = Arc::new(OnceLock::new());
        let state = RpcState {
            node,
            p2p,
            expected_auth: expected.into(),
            stop: Arc::clone(&stop),
            reason: Arc::clone(&reason),
        };
        let why = Arc::clone(&reason);
        let signalled = state.node.clone();
        let watched = state.node.clone();
        let app = Router::new().fallback(serve_call).with_state(state);
        let http = HttpServer::new(config.http);
        let monitor = http.monitor();
        let shutdown = async move {
            tokio::select! {
                // A closed channel means the handle is gone: stop as well.
                _ = stopped.wait_for(|stop| *stop) => {
                    let _ = why.set(StopReason::Handle);
                }
                // The node stopped by itself (a storage failure): the server ends with it.
                () = node_stopped(&watched) => {
                    let _ = why.set(StopReason::NodeStopped);
                }
                () = input_closed(input) => {
                    let _ = why.set(StopReason::InputClosed);
                    let node = signalled.clone();
                    std::thread::spawn(move || node.shutdown());
                }
                signal = next_signal(signals.as_mut()) => {
                    let _ = why.set(StopReason::Signal(signal));
                    // On a thread of its own, not the call pool that mining calls may
                    // fill: the flag stops them at once, the owner flushes and exits, and
                    // whoever shuts down next waits for it.
                    std::thread::spawn(move || signalled.shutdown());
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
            reason,
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
        self.wait_reason().map(|_| ())
    }

    /// As [`RpcServer::wait`], and says why the server stopped.
    ///
    /// # Errors
    /// As [`RpcServer::wait`].
    pub fn wait_reason(self) -> Result<StopReason, RpcServeError> {
        let joined = self.thread.join();
        // Gone already, or never written: either way no stale credentials remain.
        let _ = std::fs::remove_file(&self.cookie_path);
        joined.map_err(|_| RpcServeError::Panicked)??;
        Ok(self.reason.get().copied().unwrap_or(StopReason::Handle))
    }

    /// Stops the server without a request: shuts the node down (mining calls stop,
    /// the owner writes the coins cache and exits), lets calls in progress answer, and
    /// removes the cookie.
    ///
    /// # Errors
    /// As [`RpcServer::wait`].
    pub fn stop(self, node: &Node) -> Result<(), RpcServeError> {
        let _ = self.reason.set(StopReason::Handle);
        let _ = node.shutdown();
        self.stop.send_replace(true);
        self.wait()
    }
}

#[derive(Clone)]
struct RpcState {
    node: Node,
    p2p: Option<P2p>,
    expected_auth: Arc<str>,
    stop: Arc<watch::Sender<bool>>,
    reason: Arc<OnceLock<StopReason>>,
}

/// A receiver told when standard input reaches its end (or fails), read to its end by
/// a thread of its own; `None` if that thread cannot start.
fn stdin_closed() -> Option<tokio::sync::oneshot::Receiver<()>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("chain-node-stdin".into())
        .spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            let _ = tx.send(());
        })
        .ok()?;
    Some(rx)
}

/// Resolves once standard input has closed, if it is watched; otherwise never.
async fn input_closed(input: Option<tokio::sync::oneshot::Receiver<()>>) {
    match input {
        Some(rx) => {
            let _ = rx.await;
        }
        None => std::future::pending().await,
    }
}

/// The next termination signal, if signals are watched; otherwise never.
async fn next_signal(signals: Option<&mut Terminations>) -> Termination {
    match signals {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// Resolves once the node is shutting down, whatever asked it to.
pub(crate) async fn node_stopped(node: &Node) {
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
        return json(envelope::error_answer(
            &RpcError::invalid_request("JSONRPC server handles only POST requests"),
            Some(405),
        ));
    }
    let body = match read_body(request, MAX_BODY).await {
        Ok(body) => body,
        Err(e) => {
            let status = match e {
                BodyError::TooLarge { .. } => 413,
                BodyError::Unreadable { .. } => 400,
            };
            let mut r = json(envelope::error_answer(
                &RpcError::invalid_request(e.to_string()),
                Some(status),
            ));
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    let node = state.node.clone();
    let p2p = state.p2p.clone();
    let answered = tokio::task::spawn_blocking(move || {
        envelope::answer(&body, |method, params| {
            dispatch_with(&node, p2p.as_ref(), method, params)
        })
    })
    .await;
    let answer = match answered {
        Ok(a) => a,
        Err(e) => {
            return json(envelope::error_answer(
                &RpcError::internal(format!("the call failed: {e}")),
                None,
            ));
        }
    };
    if answer.stop {
        // The reason first, so that the watch on the node does not claim the stop.
        let _ = state.reason.set(StopReason::Request);
        // The owner writes the coins cache and exits before the answer goes out; on a
        // thread of its own, as the call pool may be full of mining calls that only
        // the shutdown stops. A failed write is the binary's to report (the failure).
        let node = state.node.clone();
        let (done, flushed) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = node.shutdown();
            let _ = done.send(());
        });
        let _ = flushed.await;
        state.stop.send_replace(true);
    }
    json(answer)
}

/// The HTTP response of an answer; JSON unless it has no body.
fn json(answer: envelope::Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    if answer.body.is_empty() {
        return status.into_response();
    }
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        answer.body,
    )
        .into_response()
}
