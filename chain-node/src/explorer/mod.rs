//! A read-only block explorer in the browser, served by the node itself.
//!
//! [`Explorer::start`] serves HTML pages at Esplora's paths (`/`, `/block/HASH`,
//! `/block-height/N`, `/tx/TXID`, `/address/ADDR`, `/mempool`, `/tips`, `/peers`,
//! `/name/NAME`, `/search?q=...`) on the workspace's bounded HTTP stack
//! (`merkle_log::http`: deadlines, a connection cap that sheds idle and slow clients,
//! a response budget), on a tokio runtime of its own. It asks for no credentials and
//! changes nothing: every page is a read of the node ([`Node::read`], on a blocking
//! pool of [`ExplorerConfig::threads`] threads), bounded by the constants of
//! `query.rs`. Each client address has a token bucket ([`Rate`]), so one client's
//! flood is answered 429 while others are served. The latest blocks update live over
//! server-sent events (`/events`, at most [`ExplorerConfig::max_streams`] at once),
//! fed from the node's bounded event subscription by one thread, which also samples
//! the mempool's size into a ring buffer for the charts. The stylesheet and the
//! script are compiled into the binary; pages load nothing from elsewhere
//! (`Content-Security-Policy: default-src 'self'`).

mod charts;
mod limit;
mod live;
mod pages;
mod query;
mod search;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use merkle_log::http::{HttpServer, Limits, Monitor, ServeError, Stats};
use tokio::sync::{Semaphore, watch};

pub use limit::Rate;
pub use live::MAX_REORGS;
pub use query::{
    CHART_BLOCKS, HISTORY_BLOCKS, LATEST_BLOCKS, MAX_COIN_ROWS, MAX_HISTORY_ROWS, MAX_MEMPOOL_ROWS,
    MAX_ZONE_FILE_SHOWN, TX_SCAN_BLOCKS,
};
pub use search::{MAX_NAME, MAX_QUERY};

use crate::address::Address;
use crate::error::NodeError;
use crate::hash::{BlockHash, TxId};
use crate::node::Node;
use crate::p2p::P2p;
use crate::units::Height;
use live::{EventStream, Live};
use pages::Site;
use search::Query;

/// After a stop, how long pages being built may take.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Longest path the explorer looks at, in bytes.
const MAX_PATH: usize = 256;
/// The page work one request pays for; a page that takes longer costs its client one
/// more request of its allowance for each further share.
const WORK_PER_REQUEST: Duration = Duration::from_millis(20);

/// How the explorer runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExplorerConfig {
    /// Connection, deadline and response-budget limits of the HTTP layer.
    pub http: Limits,
    /// Each client address's request rate.
    pub rate: Rate,
    /// Client addresses whose rate is tracked at once.
    pub max_clients: usize,
    /// Threads building pages at once (each reads the node).
    pub threads: usize,
    /// Live-update streams open at once; more are answered 503.
    pub max_streams: usize,
    /// A comment on an idle stream this often, so that a dead client is noticed.
    pub stream_keepalive: Duration,
    /// A stream ends after this long (the browser reconnects), so that none is
    /// held for ever.
    pub stream_lifetime: Duration,
    /// The mempool's size is sampled this often for its chart.
    pub sample_interval: Duration,
    /// Samples kept (a ring buffer).
    pub samples: usize,
}

impl Default for ExplorerConfig {
    fn default() -> Self {
        ExplorerConfig {
            http: Limits {
                max_connections: 256,
                ..Limits::default()
            },
            rate: Rate {
                per_second: 20.0,
                burst: 60.0,
            },
            max_clients: 4096,
            threads: 4,
            max_streams: 64,
            stream_keepalive: Duration::from_secs(15),
            stream_lifetime: Duration::from_secs(300),
            sample_interval: Duration::from_secs(10),
            samples: 360,
        }
    }
}

/// Why the explorer could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr} for the explorer")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The runtime or a thread could not start.
    #[error("cannot start the explorer's runtime")]
    Runtime(#[source] std::io::Error),
    /// The node could not be read at start.
    #[error("cannot read the node for the explorer")]
    Node(#[from] NodeError),
    /// The HTTP layer failed.
    #[error("the explorer's server failed")]
    Serve(#[from] ServeError),
    /// The server thread panicked.
    #[error("the explorer's server thread panicked")]
    Panicked,
}

/// A running explorer.
pub struct Explorer {
    addr: SocketAddr,
    monitor: Monitor,
    stop: Arc<watch::Sender<bool>>,
    live: Arc<Live>,
    thread: JoinHandle<Result<(), ServeError>>,
    follower: JoinHandle<()>,
}

impl std::fmt::Debug for Explorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Explorer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct AppState {
    node: Node,
    p2p: Option<P2p>,
    site: Site,
    live: Arc<Live>,
    limiter: Arc<limit::Limiter>,
    streams: Arc<Semaphore>,
    stopped: watch::Receiver<bool>,
    config: ExplorerConfig,
}

impl Explorer {
    /// Binds `listen`, so that a binary can find a busy port before it writes
    /// anything.
    ///
    /// # Errors
    /// [`ExplorerError::Bind`].
    pub fn bind(listen: SocketAddr) -> Result<std::net::TcpListener, ExplorerError> {
        std::net::TcpListener::bind(listen).map_err(|source| ExplorerError::Bind {
            addr: listen,
            source,
        })
    }

    /// Serves the explorer of `node` (and of its network, `p2p`) on a bound
    /// `listener` until [`Explorer::stop`] or until the node shuts down.
    ///
    /// # Errors
    /// [`ExplorerError`] when the socket, the runtime or the node fails.
    pub fn start(
        node: Node,
        p2p: Option<P2p>,
        listener: std::net::TcpListener,
        config: ExplorerConfig,
    ) -> Result<Explorer, ExplorerError> {
        let listen = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let bind = |source| ExplorerError::Bind {
            addr: listen,
            source,
        };
        listener.set_nonblocking(true).map_err(bind)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(config.threads.max(1))
            .thread_name("chain-node-explorer")
            .enable_all()
            .build()
            .map_err(ExplorerError::Runtime)?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(bind)?
        };
        let live = Live::new(node.tip()?, config.samples);
        let follower =
            live::spawn_follower(node.clone(), Arc::clone(&live), config.sample_interval)
                .map_err(ExplorerError::Runtime)?;
        let (stop, stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        let state = AppState {
            site: Site {
                network: node.params().network,
            },
            node: node.clone(),
            p2p,
            live: Arc::clone(&live),
            limiter: Arc::new(limit::Limiter::new(config.rate, config.max_clients)),
            streams: Arc::new(Semaphore::new(config.max_streams)),
            stopped: stopped.clone(),
            config,
        };
        let app = Router::new().fallback(serve_page).with_state(state);
        let http = HttpServer::new(config.http);
        let monitor = http.monitor();
        let mut until = stopped;
        let shutdown = async move {
            tokio::select! {
                _ = until.wait_for(|s| *s) => {}
                () = crate::rpc::node_stopped(&node) => {}
            }
        };
        let stop_streams = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("chain-node-explorer".into())
            .spawn(move || {
                let served = runtime.block_on(async move {
                    let served = http.serve(listener, app, shutdown).await;
                    // Streams end with the server.
                    stop_streams.send_replace(true);
                    served
                });
                runtime.shutdown_timeout(STOP_GRACE);
                served
            })
            .map_err(|e| {
                live.stop();
                ExplorerError::Runtime(e)
            })?;
        Ok(Explorer {
            addr: listen,
            monitor,
            stop,
            live,
            thread,
            follower,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The front page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The HTTP layer's counters now.
    pub fn http_stats(&self) -> Stats {
        self.monitor.stats()
    }

    /// Stops serving: open streams end, pages being built may finish, and the
    /// thread following the node exits.
    ///
    /// # Errors
    /// [`ExplorerError::Serve`] or [`ExplorerError::Panicked`] when the server had
    /// failed.
    pub fn stop(self) -> Result<(), ExplorerError> {
        self.stop.send_replace(true);
        self.wait()
    }

    /// Waits until the server ends (after [`Explorer::stop`] or the node's
    /// shutdown).
    ///
    /// # Errors
    /// As [`Explorer::stop`].
    pub fn wait(self) -> Result<(), ExplorerError> {
        let joined = self.thread.join();
        self.live.stop();
        let _ = self.follower.join();
        joined.map_err(|_| ExplorerError::Panicked)??;
        Ok(())
    }
}

/// What a request is answered with.
enum Answer {
    Html(StatusCode, String),
    Redirect(String),
    Asset(&'static str, &'static str),
    TooMany(Duration),
}

impl Answer {
    fn page(status: StatusCode, markup: maud::Markup) -> Answer {
        Answer::Html(status, markup.into_string())
    }
}

/// Headers on every answer: nothing but this origin may be loaded, nothing sniffed,
/// no referrer leaked.
fn guard(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut r = match self {
            Answer::Html(status, body) => (
                status,
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response(),
            Answer::Redirect(to) => match HeaderValue::from_str(&to) {
                Ok(v) => {
                    let mut r = StatusCode::SEE_OTHER.into_response();
                    r.headers_mut().insert(header::LOCATION, v);
                    r
                }
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            },
            Answer::Asset(kind, body) => (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, kind),
                    (header::CACHE_CONTROL, "max-age=300"),
                ],
                body,
            )
                .into_response(),
            Answer::TooMany(wait) => {
                let secs = wait.as_secs().max(1).to_string();
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    format!("too many requests from this address; try again in {secs} s\n"),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&secs) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
        };
        guard(&mut r);
        r
    }
}

/// Every request: method, rate, then the page its path names.
async fn serve_page(State(state): State<AppState>, request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut r = Answer::page(
            StatusCode::METHOD_NOT_ALLOWED,
            pages::problem(
                state.site,
                "Method not allowed",
                "the explorer is read-only: it answers GET and HEAD",
            ),
        )
        .into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    if let Err(wait) = state.limiter.take(client, Instant::now()) {
        return Answer::TooMany(wait).into_response();
    }
    let uri = request.uri().clone();
    let path = uri.path();
    if path.len() > MAX_PATH {
        return Answer::page(
            StatusCode::URI_TOO_LONG,
            pages::problem(
                state.site,
                "Address too long",
                &format!("paths longer than {MAX_PATH} bytes name nothing here"),
            ),
        )
        .into_response();
    }
    match path {
        "/static/style.css" => {
            return Answer::Asset("text/css; charset=utf-8", include_str!("assets/style.css"))
                .into_response();
        }
        "/static/live.js" => {
            return Answer::Asset(
                "text/javascript; charset=utf-8",
                include_str!("assets/live.js"),
            )
            .into_response();
        }
        "/events" => return events(&state),
        _ => {}
    }
    let path = path.to_owned();
    let params = query_params(uri.query());
    let site = state.site;
    let limiter = Arc::clone(&state.limiter);
    let started = Instant::now();
    let answered = tokio::task::spawn_blocking(move || route(&state, &path, &params)).await;
    // A page that took longer than a request's share of work (a scan for a txid or an
    // address's history) is charged for the rest, so that expensive pages cannot keep
    // the node's reads busy at the cheap pages' rate.
    let spent = started.elapsed();
    limiter.charge(
        client,
        spent.as_secs_f64() / WORK_PER_REQUEST.as_secs_f64() - 1.0,
        Instant::now(),
    );
    match answered {
        Ok(a) => a.into_response(),
        Err(e) => Answer::page(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::problem(site, "Error", &format!("the page failed: {e}")),
        )
        .into_response(),
    }
}

/// The query string's parameters; `None` for one that does not decode.
fn query_params(query: Option<&str>) -> Option<Vec<(String, String)>> {
    match query {
        None => Some(Vec::new()),
        Some(q) => decode_query(q),
    }
}

/// Decodes `a=b&c=d` (percent-encoding and `+` for space); `None` for bytes that
/// are not UTF-8 once decoded.
fn decode_query(q: &str) -> Option<Vec<(String, String)>> {
    let decode = |s: &str| -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes.get(i + 1..i + 3)?;
                    let s = std::str::from_utf8(hex).ok()?;
                    out.push(u8::from_str_radix(s, 16).ok()?);
                    i += 2;
                }
                _ => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A server-sent events stream of tip changes.
fn events(state: &AppState) -> Response {
    let Ok(permit) = Arc::clone(&state.streams).try_acquire_owned() else {
        let mut r = Answer::page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::problem(
                state.site,
                "Busy",
                &format!(
                    "{} live-update streams are open, the most this node serves; reload later",
                    state.config.max_streams
                ),
            ),
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return r;
    };
    let stream = EventStream::start(
        state.live.tip.subscribe(),
        state.stopped.clone(),
        permit,
        state.config.stream_keepalive,
        state.config.stream_lifetime,
    );
    let mut r = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::new(stream),
    )
        .into_response();
    guard(&mut r);
    r
}

/// A node error as a page.
fn node_failed(site: Site, e: &NodeError) -> Answer {
    match e {
        NodeError::ShuttingDown => Answer::page(
            StatusCode::SERVICE_UNAVAILABLE,
            pages::problem(site, "Stopping", "the node is shutting down"),
        ),
        e => Answer::page(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::problem(site, "Error", &format!("the node could not answer: {e}")),
        ),
    }
}

fn bad(site: Site, title: &str, message: &str) -> Answer {
    Answer::page(
        StatusCode::BAD_REQUEST,
        pages::problem(site, title, message),
    )
}

fn not_found(site: Site, message: &str) -> Answer {
    Answer::page(
        StatusCode::NOT_FOUND,
        pages::problem(site, "Not found", message),
    )
}

/// The page at `path`, built on the blocking pool.
fn route(state: &AppState, path: &str, params: &Option<Vec<(String, String)>>) -> Answer {
    let site = state.site;
    let Some(params) = params else {
        return bad(
            site,
            "Bad query",
            "the query string does not decode (percent-encoded UTF-8 expected)",
        );
    };
    let built = match path.trim_end_matches('/').split_once('/').map(|(_, r)| r) {
        Some("") | None => home(state),
        Some("fragment/latest") => state
            .node
            .read(|v| query::latest_blocks(v, LATEST_BLOCKS))
            .map(|rows| Answer::page(StatusCode::OK, pages::latest_table(&rows))),
        Some("mempool") => query::mempool_page(&state.node).map(|m| {
            let samples: Vec<_> = state.live.state().samples.iter().copied().collect();
            Answer::page(StatusCode::OK, pages::mempool(site, &m, &samples))
        }),
        Some("tips") => query::chain_tips(&state.node).map(|tips| {
            let (reorgs, missed) = {
                let s = state.live.state();
                (s.reorgs.iter().copied().collect::<Vec<_>>(), s.missed)
            };
            Answer::page(StatusCode::OK, pages::tips(site, &tips, &reorgs, missed))
        }),
        Some("peers") => Ok(peers(state)),
        Some("search") => search(state, param(params, "q").unwrap_or("")),
        Some(rest) => match rest.split_once('/') {
            Some(("block", hex)) => block(state, hex),
            Some(("block-height", n)) => match n.parse::<u32>() {
                Ok(h) => query::hash_at(&state.node, Height(h)).map(|hash| match hash {
                    Some(hash) => Answer::Redirect(format!("/block/{}", hash.to_hex())),
                    None => not_found(site, &format!("no block at height {h} in the active chain")),
                }),
                Err(_) => Ok(bad(
                    site,
                    "Bad height",
                    &format!("{n:?} is not a block height"),
                )),
            },
            Some(("tx", hex)) => tx(state, hex, param(params, "block")),
            Some(("address", a)) => address(state, a),
            Some(("name", text)) => name(state, text),
            _ => Ok(not_found(site, "this page does not exist")),
        },
    };
    built.unwrap_or_else(|e| node_failed(site, &e))
}

fn home(state: &AppState) -> Result<Answer, NodeError> {
    let summary = state.node.read(query::summary)?;
    let samples: Vec<_> = state.live.state().samples.iter().copied().collect();
    Ok(Answer::page(
        StatusCode::OK,
        pages::home(state.site, &summary, &samples),
    ))
}

fn peers(state: &AppState) -> Answer {
    match &state.p2p {
        None => Answer::page(StatusCode::OK, pages::peers(state.site, None)),
        Some(p2p) => match p2p.peers() {
            Ok(list) => Answer::page(StatusCode::OK, pages::peers(state.site, Some(&list))),
            Err(e) => Answer::page(
                StatusCode::SERVICE_UNAVAILABLE,
                pages::problem(
                    state.site,
                    "Peers",
                    &format!("the network cannot answer: {e}"),
                ),
            ),
        },
    }
}

/// Parses a 64-hex-digit hash or explains why not.
fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    (hex.len() == 64)
        .then(|| hex::decode_to_slice(hex.to_ascii_lowercase(), &mut out).ok())
        .flatten()
        .map(|()| out)
}

fn block(state: &AppState, hex: &str) -> Result<Answer, NodeError> {
    let site = state.site;
    let Some(bytes) = parse_hash(hex) else {
        return Ok(bad(
            site,
            "Bad block hash",
            "a block hash is 64 hexadecimal digits",
        ));
    };
    Ok(match query::block_page(&state.node, BlockHash(bytes))? {
        Some(b) => Answer::page(StatusCode::OK, pages::block(site, &b)),
        None => not_found(
            site,
            &format!("this node knows no block {}", hex::encode(bytes)),
        ),
    })
}

fn tx(state: &AppState, hex: &str, hint: Option<&str>) -> Result<Answer, NodeError> {
    let site = state.site;
    let Some(bytes) = parse_hash(hex) else {
        return Ok(bad(site, "Bad txid", "a txid is 64 hexadecimal digits"));
    };
    let hint = match hint.map(parse_hash) {
        None => None,
        Some(Some(h)) => Some(BlockHash(h)),
        Some(None) => {
            return Ok(bad(
                site,
                "Bad block hash",
                "the block parameter is 64 hexadecimal digits",
            ));
        }
    };
    Ok(match query::tx_page(&state.node, TxId(bytes), hint)? {
        Some(t) => Answer::page(StatusCode::OK, pages::transaction(site, &t)),
        None => not_found(
            site,
            &format!(
                "no transaction {} in the mempool, by an unspent output, or in the last {TX_SCAN_BLOCKS} blocks (this node keeps no transaction index)",
                hex::encode(bytes)
            ),
        ),
    })
}

fn address(state: &AppState, text: &str) -> Result<Answer, NodeError> {
    let site = state.site;
    match Address::parse(text, site.network) {
        Ok(a) => query::address_page(&state.node, a)
            .map(|page| Answer::page(StatusCode::OK, pages::address(site, &page))),
        Err(e) => Ok(bad(
            site,
            "Bad address",
            &format!("not a {} address: {e}", site.network.name()),
        )),
    }
}

fn search(state: &AppState, q: &str) -> Result<Answer, NodeError> {
    let site = state.site;
    let query = match search::parse(q, site.network) {
        Ok(query) => query,
        Err(e @ search::QueryError::Unrecognised) => {
            return Ok(not_found(site, &format!("nothing matches: {e}")));
        }
        Err(e) => return Ok(bad(site, "Bad search", &e.to_string())),
    };
    Ok(match query {
        Query::Height(h) => match query::hash_at(&state.node, h)? {
            Some(hash) => Answer::Redirect(format!("/block/{}", hash.to_hex())),
            None => not_found(
                site,
                &format!("no block at height {} in the active chain", h.0),
            ),
        },
        Query::Hash(hash) => {
            if query::knows_block(&state.node, hash)? {
                Answer::Redirect(format!("/block/{}", hash.to_hex()))
            } else {
                match query::tx_page(&state.node, TxId(hash.0), None)? {
                    Some(t) => Answer::Redirect(match t.place {
                        query::Place::Block { hash: b, .. } => {
                            format!("/tx/{}?block={}", t.txid.to_hex(), b.to_hex())
                        }
                        query::Place::Mempool => format!("/tx/{}", t.txid.to_hex()),
                    }),
                    None => Answer::page(
                        StatusCode::NOT_FOUND,
                        pages::not_found_hash(site, &hash.to_hex()),
                    ),
                }
            }
        }
        Query::Address(a) => Answer::Redirect(format!("/address/{}", a.encode(site.network))),
        Query::Name(text) => match crate::rpc::parse_name_text(&text) {
            Err(reason) => bad(site, "Bad name", &reason),
            Ok(n) => {
                if query::knows_name(&state.node, n.clone())? {
                    Answer::Redirect(format!("/name/{n}"))
                } else {
                    no_such_name(site, &n)
                }
            }
        },
    })
}

fn no_such_name(site: Site, name: &naming::Name) -> Answer {
    not_found(site, &format!("no such name: {name}"))
}

/// `/name/NAME`: parsed by the `naming` crate's rules (400 with the rule broken),
/// then read from the name index (404 when it holds no such name).
fn name(state: &AppState, text: &str) -> Result<Answer, NodeError> {
    let site = state.site;
    let parsed = match crate::rpc::parse_name_text(text) {
        Ok(n) => n,
        Err(reason) => return Ok(bad(site, "Bad name", &reason)),
    };
    Ok(match query::name_page(&state.node, parsed.clone())? {
        Some(page) => Answer::page(StatusCode::OK, pages::name(site, &page)),
        None => no_such_name(site, &parsed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_or_are_refused() {
        assert_eq!(
            decode_query("q=a+b%21&x="),
            Some(vec![
                ("q".into(), "a b!".into()),
                ("x".into(), String::new())
            ])
        );
        assert_eq!(decode_query("q=%ff"), None);
        assert_eq!(decode_query("q=%4"), None);
        assert_eq!(decode_query(""), Some(vec![]));
    }

    #[test]
    fn hashes_are_exactly_64_hex_digits() {
        assert_eq!(parse_hash(&"Ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(parse_hash(&"ab".repeat(31)), None);
        assert_eq!(parse_hash(&"zz".repeat(32)), None);
        assert_eq!(parse_hash("é"), None);
    }
}
