//! A server on a runtime of its own, in a background thread: how the log and the
//! witness run inside another program (tests, benchmarks), and the handle that
//! stops them.

use std::net::SocketAddr;

use tokio::sync::oneshot;

use crate::error::ServerError;
use crate::http::{HttpServer, Limits, Monitor, Stats};

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    /// The bound address.
    pub addr: SocketAddr,
    monitor: Monitor,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServerError>>>,
}

impl ServerHandle {
    /// Stops accepting, lets the sequencer finish, and waits.
    ///
    /// # Errors
    /// Why the server failed: the sequencer halted on a failed batch or panicked,
    /// or serving failed.
    pub fn stop(mut self) -> Result<(), ServerError> {
        self.stop_inner()
    }

    /// The HTTP layer's counters now.
    pub fn http_stats(&self) -> Stats {
        self.monitor.stats()
    }

    fn stop_inner(&mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.shutdown.take() {
            // The server may have stopped already; joining says why.
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| ServerError::ServerPanicked)?,
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // A handle dropped without `stop` has no one to report to.
        let _ = self.stop_inner();
    }
}

/// The future a background server stops at.
pub(crate) type Stop = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
/// A background server's work, until it stops.
pub(crate) type Served =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ServerError>> + Send>>;

/// Binds `listen` and runs `serving` on a runtime of its own in a thread named
/// `name`, until the handle stops it.
pub(crate) fn spawn_server(
    listen: SocketAddr,
    limits: Limits,
    name: &str,
    serving: impl FnOnce(tokio::net::TcpListener, HttpServer, Stop) -> Served + Send + 'static,
) -> Result<ServerHandle, ServerError> {
    let start = |what| move |source| ServerError::Start { what, source };
    let listener = std::net::TcpListener::bind(listen).map_err(start("binding the address"))?;
    listener
        .set_nonblocking(true)
        .map_err(start("configuring the listener"))?;
    let addr = listener
        .local_addr()
        .map_err(start("reading the bound address"))?;
    let (tx, rx) = oneshot::channel::<()>();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(start("building the runtime"))?;
    let http = HttpServer::new(limits);
    let monitor = http.monitor();
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .map_err(start("registering the listener"))?;
                serving(
                    listener,
                    http,
                    Box::pin(async {
                        // A dropped handle also stops the server.
                        let _ = rx.await;
                    }),
                )
                .await
            })
        })
        .map_err(start("spawning the server thread"))?;
    Ok(ServerHandle {
        addr,
        monitor,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}
