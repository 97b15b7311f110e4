//! Bounded HTTP/1.1 serving, shared by every server of the workspace (feature `http`).
//!
//! [`HttpServer::serve`] runs an axum [`Router`] over hyper's HTTP/1.1 connections, one
//! task per connection, within [`Limits`] that no client can stretch:
//!
//! - **Deadlines.** A connection must deliver a complete request head within
//!   [`Limits::header_timeout`] of opening or of its previous response (any byte it
//!   drips does not extend this), and the request body within
//!   [`Limits::body_timeout`] of the head. A response must be written within
//!   [`Limits::write_timeout`] plus its length at [`Limits::min_send_rate`], and a
//!   write that makes no progress for [`Limits::write_timeout`] fails: a client that
//!   stops reading loses its connection.
//! - **A connection cap that sheds.** At [`Limits::max_connections`], a new
//!   connection is admitted and an old one closed in its place: the one that has
//!   used the largest share of the time its phase allows (waiting for a head, new
//!   or idle between requests; sending a body; reading a response), which among
//!   idle connections is the oldest, and among all is the slowest. A connection
//!   that just opened goes last, so a crowd of slow ones cannot push out a fresh
//!   client. A connection whose request the server is working on is never shed;
//!   only when every connection is one does the server stop accepting until one
//!   ends.
//! - **A byte budget for responses.** A response body larger than
//!   [`Limits::unbudgeted_response`] reserves its length from
//!   [`Limits::response_budget`] (shared by all connections) before it is sent, and
//!   returns it once the connection has taken the last byte or closed. When the
//!   budget is spent, it waits up to [`Limits::budget_wait`], then is answered 503.
//!   Bodies are handed to the connection in copied chunks of [`SEND_CHUNK`] bytes,
//!   so a returned reservation pins no memory. Smaller bodies hold at most
//!   `max_connections` x `unbudgeted_response` bytes. A handler that must load
//!   large data to build its answer reserves it first through the
//!   [`ResponseBudget`] in the request's extensions and attaches the [`Reserved`]
//!   bytes to its response, so that the data is never in memory unbudgeted.
//!
//! Body size limits stay with the application (axum's `DefaultBodyLimit`, or a check
//! of `Content-Length` before reading). The connection table works for any
//! request-response protocol: its phases are those of HTTP/1.1, and a peer protocol
//! could reuse it.

mod body;
mod conn;
mod io;
pub mod probe;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse as _;
use http_body::Body as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

pub use crate::error::{BodyError, BudgetSpent, ServeError};
use body::{Budget, RequestBody, Reservation, ResponseBody};
use conn::{Closed, Conn, ConnTable};

/// Default of [`Limits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default of [`Limits::header_timeout`].
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`Limits::body_timeout`].
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of [`Limits::write_timeout`].
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`Limits::min_send_rate`]: 64 KiB/s.
pub const DEFAULT_MIN_SEND_RATE: u64 = 64 << 10;
/// Default of [`Limits::response_budget`]: 64 MiB.
pub const DEFAULT_RESPONSE_BUDGET: usize = 64 << 20;
/// Default of [`Limits::unbudgeted_response`]: 64 KiB.
pub const DEFAULT_UNBUDGETED_RESPONSE: usize = 64 << 10;
/// Default of [`Limits::budget_wait`].
pub const DEFAULT_BUDGET_WAIT: Duration = Duration::from_secs(2);
/// Default of [`Limits::max_header_bytes`]: 16 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 << 10;
/// Default of [`Limits::shutdown_grace`].
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Bytes of a response body handed to a connection at a time.
pub const SEND_CHUNK: usize = 32 << 10;
/// Most bytes hyper buffers per connection for reading, and for writing beyond the
/// chunk it is sending.
pub const CONNECTION_BUFFER: usize = 64 << 10;

/// Pause before the next `accept` after a transient failure (out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// How often a full table of busy connections is checked again for room.
const ADMIT_RETRY: Duration = Duration::from_millis(50);

/// What one server allows each connection and all of them together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most connections open at once; a new one beyond sheds an old one.
    pub max_connections: usize,
    /// Time to deliver a complete request head, from the connection's start or the
    /// end of its previous response.
    pub header_timeout: Duration,
    /// Time to deliver the request body, from the end of its head.
    pub body_timeout: Duration,
    /// Time a write may wait for the client to take bytes; also the fixed part of
    /// the time allowed to send a response.
    pub write_timeout: Duration,
    /// Bytes per second a response must be taken at, on average, beyond
    /// `write_timeout`.
    pub min_send_rate: u64,
    /// Bytes of response bodies held at once across all connections.
    pub response_budget: usize,
    /// Response bodies up to this size are sent without a reservation.
    pub unbudgeted_response: usize,
    /// How long a response waits for budget before it is answered 503.
    pub budget_wait: Duration,
    /// Largest request head (request line and headers).
    pub max_header_bytes: usize,
    /// On shutdown, how long requests in progress may take to finish.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            min_send_rate: DEFAULT_MIN_SEND_RATE,
            response_budget: DEFAULT_RESPONSE_BUDGET,
            unbudgeted_response: DEFAULT_UNBUDGETED_RESPONSE,
            budget_wait: DEFAULT_BUDGET_WAIT,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

impl Limits {
    /// The time allowed to send a response of `len` bytes.
    fn send_time(&self, len: u64) -> Duration {
        let rate = self.min_send_rate.max(1);
        self.write_timeout
            .saturating_add(Duration::from_millis(len.saturating_mul(1000) / rate))
    }
}

/// The server's response budget, in the extensions of every request (axum:
/// `Extension<ResponseBudget>`), for handlers that load large data.
#[derive(Clone, Debug)]
pub struct ResponseBudget {
    shared: Arc<Shared>,
}

/// Bytes reserved by a handler; held until every clone is dropped, or, once
/// attached to a response, until the response has been sent.
#[derive(Clone, Debug)]
pub struct Reserved(Arc<Reservation>);

impl ResponseBudget {
    /// Reserves `bytes`, waiting at most [`Limits::budget_wait`] for other
    /// responses to return theirs.
    ///
    /// # Errors
    /// [`BudgetSpent`] when `bytes` did not fit in time (answer 503) or can never
    /// fit.
    pub async fn reserve(&self, bytes: usize) -> Result<Reserved, BudgetSpent> {
        match self
            .shared
            .budget
            .reserve(bytes, self.shared.limits.budget_wait)
            .await
        {
            Some(r) => Ok(Reserved(Arc::new(r))),
            None => {
                self.shared.refused.fetch_add(1, Ordering::Relaxed);
                Err(BudgetSpent { bytes })
            }
        }
    }
}

impl Reserved {
    /// The bytes reserved.
    pub fn bytes(&self) -> usize {
        self.0.bytes()
    }

    /// Hands the reservation to `response`: its body is sent under it (and under
    /// a further reservation only for what it has beyond).
    pub fn attach<B>(self, response: &mut Response<B>) {
        response.extensions_mut().insert(self);
    }
}

/// Counters of one server since it started, and what it holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections open now.
    pub open: usize,
    /// Connections accepted.
    pub accepted: u64,
    /// Connections closed to make room for newer ones.
    pub shed: u64,
    /// Connections closed because a phase outlived its deadline or a write stalled.
    pub timed_out: u64,
    /// Bytes reserved from the response budget now, including those gathered so
    /// far by a response still waiting for the rest of its reservation.
    pub response_bytes_held: usize,
    /// Responses answered 503 because the budget stayed spent.
    pub responses_refused: u64,
}

#[derive(Debug)]
struct Shared {
    limits: Limits,
    table: ConnTable,
    budget: Budget,
    accepted: AtomicU64,
    shed: AtomicU64,
    timed_out: AtomicU64,
    refused: AtomicU64,
}

/// A server under [`Limits`]; see the module documentation.
#[derive(Debug)]
pub struct HttpServer {
    shared: Arc<Shared>,
}

/// Reads a running server's [`Stats`].
#[derive(Clone, Debug)]
pub struct Monitor(Arc<Shared>);

impl Monitor {
    /// The counters now.
    pub fn stats(&self) -> Stats {
        let s = &self.0;
        Stats {
            open: s.table.len(),
            accepted: s.accepted.load(Ordering::Relaxed),
            shed: s.shed.load(Ordering::Relaxed),
            timed_out: s.timed_out.load(Ordering::Relaxed),
            response_bytes_held: s.budget.held(),
            responses_refused: s.refused.load(Ordering::Relaxed),
        }
    }

    /// The limits the server runs under.
    pub fn limits(&self) -> Limits {
        self.0.limits
    }
}

impl HttpServer {
    /// A server that will run under `limits`.
    pub fn new(limits: Limits) -> Self {
        HttpServer {
            shared: Arc::new(Shared {
                limits,
                table: ConnTable::new(limits.max_connections),
                budget: Budget::new(limits.response_budget),
                accepted: AtomicU64::new(0),
                shed: AtomicU64::new(0),
                timed_out: AtomicU64::new(0),
                refused: AtomicU64::new(0),
            }),
        }
    }

    /// A handle that reads the server's [`Stats`] while it runs.
    pub fn monitor(&self) -> Monitor {
        Monitor(Arc::clone(&self.shared))
    }

    /// Serves `app` on `listener` until `shutdown` resolves, then lets requests in
    /// progress finish for up to [`Limits::shutdown_grace`] and closes the rest.
    ///
    /// # Errors
    /// [`ServeError::Accept`] when the listener fails for a reason other than a
    /// transient one (out of descriptors or memory, a connection reset in the
    /// backlog), which are retried.
    pub async fn serve(
        self,
        listener: TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServeError> {
        let shared = self.shared;
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        let result = loop {
            while tasks.try_join_next().is_some() {}
            if !shared.table.can_admit() {
                tokio::select! {
                    () = &mut shutdown => break Ok(()),
                    () = shared.table.freed.notified() => {}
                    () = tokio::time::sleep(ADMIT_RETRY) => {}
                }
                continue;
            }
            let accepted = tokio::select! {
                () = &mut shutdown => break Ok(()),
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let (conn, shed) = shared
                        .table
                        .admit(Instant::now() + shared.limits.header_timeout);
                    shared.accepted.fetch_add(1, Ordering::Relaxed);
                    if shed {
                        shared.shed.fetch_add(1, Ordering::Relaxed);
                    }
                    tasks.spawn(serve_connection(
                        stream,
                        peer,
                        conn,
                        Arc::clone(&shared),
                        app.clone(),
                        stop_rx.clone(),
                    ));
                }
                Err(e) if is_transient(&e) => tokio::time::sleep(ACCEPT_BACKOFF).await,
                Err(source) => break Err(ServeError::Accept { source }),
            }
        };
        // Every connection task holds a receiver, so this reaches all of them; with
        // none left there is no one to tell.
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(shared.limits.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            // Past the grace period: close what is left.
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        result
    }
}

/// Accept failures that say nothing about the listener itself.
fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionAborted
            | K::ConnectionReset
            | K::Interrupted
            | K::WouldBlock
            | K::OutOfMemory
            | K::QuotaExceeded
    ) || matches!(
        e.raw_os_error(),
        // EMFILE, ENFILE, ENOBUFS, ENOMEM, EPROTO, EPERM (a firewall), on Linux.
        Some(24 | 23 | 105 | 12 | 71 | 1)
    )
}

async fn serve_connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    conn: Arc<Conn>,
    shared: Arc<Shared>,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let limits = shared.limits;
    // Small requests and answers go out without waiting for more; failure to set it
    // only costs latency.
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(io::StallGuard::new(
        stream,
        limits.write_timeout,
        Arc::clone(&conn),
    ));
    let service = {
        let conn = Arc::clone(&conn);
        let shared = Arc::clone(&shared);
        hyper::service::service_fn(move |request| {
            handle(
                request,
                peer,
                Arc::clone(&conn),
                Arc::clone(&shared),
                app.clone(),
            )
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The connection's watchdog enforces (and counts) the head deadline, across
    // keep-alive requests as well; hyper's own timer would race it.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(CONNECTION_BUFFER.max(limits.max_header_bytes))
        .keep_alive(true);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut draining = *stop.borrow();
    if draining {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            // Closed by the client, an HTTP error of the client's making (a bad
            // head, a reset), or a stalled write.
            _ = connection.as_mut() => {
                if conn.was_stalled() {
                    shared.timed_out.fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
            closed = conn.must_close() => {
                if let Closed::Deadline(_) = closed {
                    shared.timed_out.fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
            _ = stop.changed(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
    shared.table.remove(&conn);
}

/// One request: track its phases, run the application, reserve the response's bytes.
/// The client's address is in the request's extensions as axum's `ConnectInfo`.
async fn handle(
    request: Request<Incoming>,
    peer: std::net::SocketAddr,
    conn: Arc<Conn>,
    shared: Arc<Shared>,
    mut app: Router,
) -> Result<Response<ResponseBody>, Infallible> {
    let limits = shared.limits;
    let body_deadline =
        (!request.body().is_end_stream()).then(|| Instant::now() + limits.body_timeout);
    let number = conn.request_started(body_deadline);
    let mut request = request.map(|b| RequestBody::new(b, Arc::clone(&conn), number));
    request.extensions_mut().insert(ResponseBudget {
        shared: Arc::clone(&shared),
    });
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    let mut response = match tower_service::Service::call(&mut app, request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    // What the handler reserved, then what the body needs beyond it.
    let mut held: Vec<Arc<Reservation>> = Vec::new();
    let mut covered = 0usize;
    if let Some(Reserved(r)) = response.extensions_mut().remove::<Reserved>() {
        covered = r.bytes();
        held.push(r);
    }
    let len = response.body().size_hint().exact();
    let response = match len {
        Some(n) if n > limits.unbudgeted_response as u64 && n > covered as u64 => {
            let more = usize::try_from(n)
                .unwrap_or(usize::MAX)
                .saturating_sub(covered);
            match shared.budget.reserve(more, limits.budget_wait).await {
                Some(r) => {
                    held.push(Arc::new(r));
                    response
                }
                None => {
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                    held.clear();
                    BudgetSpent { bytes: more }.into_response()
                }
            }
        }
        _ => response,
    };
    let deadline = response
        .body()
        .size_hint()
        .exact()
        .map(|n| Instant::now() + limits.send_time(n));
    conn.sending(number, deadline);
    let (parts, body) = response.into_parts();
    Ok(Response::from_parts(
        parts,
        ResponseBody::new(body, SEND_CHUNK, conn, number, limits.header_timeout, held),
    ))
}

/// A signal that asks a server run by a binary to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Termination {
    /// The signal's name, `SIGINT` or `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Termination::Interrupt => "SIGINT",
            Termination::Terminate => "SIGTERM",
        }
    }
}

/// Resolves at Ctrl-C (SIGINT) or SIGTERM: the shutdown signal of a server run by
/// a binary. Where SIGTERM cannot be watched, Ctrl-C alone; where neither can,
/// never.
pub async fn termination() {
    termination_signal().await;
}

/// As [`termination`], and says which signal came.
pub async fn termination_signal() -> Termination {
    Terminations::watch().next().await
}

/// SIGINT and SIGTERM, watched from the moment this value exists: a signal that
/// comes before anyone waits for it is kept for [`Terminations::next`] (and does not
/// end the process). A binary creates it before it says it is serving.
#[derive(Debug)]
pub struct Terminations {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Terminations {
    /// Starts watching. A signal that cannot be watched is never reported.
    ///
    /// # Panics
    /// Outside a tokio runtime (as tokio's signal functions do).
    pub fn watch() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Terminations {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Terminations {}
        }
    }

    /// Resolves at the next SIGINT or SIGTERM; where neither can be watched, never.
    pub async fn next(&mut self) -> Termination {
        #[cfg(unix)]
        {
            async fn recv(s: Option<&mut tokio::signal::unix::Signal>) {
                if let Some(s) = s
                    && s.recv().await.is_some()
                {
                    return;
                }
                std::future::pending().await
            }
            tokio::select! {
                () = recv(self.interrupt.as_mut()) => Termination::Interrupt,
                () = recv(self.terminate.as_mut()) => Termination::Terminate,
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            Termination::Interrupt
        }
    }
}

/// Reads a request body of at most `max` bytes. A declared `Content-Length` above
/// `max` is refused before any byte of the body is read; a body that turns out
/// longer is refused as soon as it passes `max`. Memory grows with the bytes
/// received, never with a length the client claims.
///
/// # Errors
/// [`BodyError::TooLarge`], or [`BodyError::Unreadable`] when the client sent a
/// malformed body or went away.
pub async fn read_body(request: axum::extract::Request, max: usize) -> Result<Bytes, BodyError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge { limit: max });
    }
    let mut body = request.into_body();
    let mut out = Vec::new();
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|e| BodyError::Unreadable {
            reason: e.to_string(),
        })?;
        if let Ok(data) = frame.into_data() {
            if out.len().saturating_add(data.len()) > max {
                return Err(BodyError::TooLarge { limit: max });
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

impl axum::response::IntoResponse for BudgetSpent {
    /// 503 with `Retry-After: 1` and the reason.
    fn into_response(self) -> axum::response::Response {
        let mut r = (StatusCode::SERVICE_UNAVAILABLE, format!("{self}\n")).into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    }
}
