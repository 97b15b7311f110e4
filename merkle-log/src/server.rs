//! The HTTP face of the log: C2SP tlog-tiles reads, RFC 6962-shaped JSON proofs,
//! and `POST /add` through a single sequencer thread that batches submissions.
//!
//! One thread owns the [`Log`]: handlers send it submissions over a channel with
//! a oneshot reply each; it takes everything queued (up to a batch limit),
//! integrates it durably, signs, publishes, and only then answers. Readers never
//! touch the sequencer: they read the published checkpoint and the immutable
//! tile files.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension, Path as UrlPath, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

pub use crate::anchoring::AnchoringConfig;
pub use crate::background::ServerHandle;
use crate::background::spawn_server;
use crate::checkpoint::parse_decimal;
use crate::error::{LogError, ServerError};
use crate::hash::Hash;
use crate::http::{BodyError, HttpServer, Limits, Reserved, ResponseBudget, read_body};
use crate::log::{Log, Published, Sequenced, find_committed};
use crate::storage::DataDir;
use crate::tile_store::TileNodeStore;
use crate::tiles::{self, TileId, TileRequest};
use crate::tree::Tree;
use crate::witnessing::WitnessingConfig;

/// Largest entry accepted by `POST /add`: what a u16 length prefix can carry.
pub const MAX_ENTRY: usize = tiles::MAX_ENTRY_LEN;
/// What `/add` takes, for its refusals.
const ENTRY_SIZES: &str = "send 1 to 65535 bytes";
/// Bytes of submissions waiting for the sequencer before `/add` answers 503.
pub const MAX_QUEUED_BYTES: usize = 64 << 20;
/// Most entries returned by one `get-entries` call.
pub const MAX_GET_ENTRIES: u64 = 256;

/// Most bytes of entries (before base64) in one `get-entries` answer; a range
/// beyond is answered with a prefix, as RFC 6962 allows, and always with at least
/// one entry.
pub const MAX_GET_ENTRIES_BYTES: usize = 1 << 20;

/// Tuning of the server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Most submissions integrated in one batch.
    pub max_batch: usize,
    /// Submissions waiting for the sequencer before `/add` answers 503.
    pub queue: usize,
    /// Connection, deadline and response-budget limits ([`crate::http`]).
    pub http: Limits,
    /// Publish only checkpoints cosigned by a quorum of witnesses
    /// ([`crate::witnessing`]); `None` publishes each checkpoint as it is signed.
    pub witnessing: Option<WitnessingConfig>,
    /// Anchor the published checkpoint in a chain ([`crate::anchoring`]).
    pub anchoring: Option<AnchoringConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_batch: 4096,
            queue: 65_536,
            http: Limits::default(),
            witnessing: None,
            anchoring: None,
        }
    }
}

/// What `POST /add` answers for an accepted entry.
#[derive(Debug)]
pub(crate) enum Added {
    /// Its receipt (200).
    Receipt(String),
    /// It is durable at this index, but no published checkpoint covers it yet
    /// (202): submitting it again later returns its receipt.
    Pending {
        /// The entry's index.
        index: u64,
    },
}

pub(crate) type Reply = oneshot::Sender<Result<Added, ApiError>>;

struct Shared {
    dir: Arc<DataDir>,
    dedup: Arc<RwLock<crate::dedup::DedupIndex>>,
    // `None` until a checkpoint meets the witness quorum.
    published: Arc<RwLock<Option<Published>>>,
    submit: mpsc::Sender<(Vec<u8>, Reply)>,
    // Bytes of entries sent to the sequencer and not yet answered.
    queued: Arc<AtomicUsize>,
    // The signed anchor list, once there is one.
    anchors: crate::anchoring::Served,
}

type AppState = Arc<Shared>;

/// An error answer: a status and a one-line reason.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    reason: String,
    /// A 503 worth retrying soon (sent with `Retry-After: 1`).
    retry: bool,
}

impl ApiError {
    fn bad(reason: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            reason: reason.into(),
            retry: false,
        }
    }

    fn not_found(reason: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            reason: reason.into(),
            retry: false,
        }
    }

    /// 503 for a full queue or a spent budget: retry soon.
    fn busy(reason: impl Into<String>) -> Self {
        ApiError {
            retry: true,
            ..Self::unavailable(reason)
        }
    }

    fn unavailable(reason: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            reason: reason.into(),
            retry: false,
        }
    }

    pub(crate) fn internal(e: impl std::error::Error) -> Self {
        let mut reason = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            reason.push_str(": ");
            reason.push_str(&s.to_string());
            source = s.source();
        }
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            reason,
            retry: false,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, format!("{}\n", self.reason)).into_response();
        if self.retry {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

/// Starts the server on its own runtime in a background thread, listening on
/// `listen` (use port 0 for an ephemeral port).
///
/// # Errors
/// [`ServerError::Start`] when the address cannot be bound or the runtime or the
/// thread cannot start.
pub fn start(
    log: Log,
    listen: SocketAddr,
    config: ServerConfig,
) -> Result<ServerHandle, ServerError> {
    spawn_server(
        listen,
        config.http,
        "merkle-log-http",
        move |listener, http, shutdown| Box::pin(serve(log, listener, http, config, shutdown)),
    )
}

/// Serves until `shutdown` resolves.
///
/// # Errors
/// [`ServerError`]: the sequencer could not start, halted on a failed batch or
/// panicked, or serving failed.
pub async fn run(
    log: Log,
    listener: tokio::net::TcpListener,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve(
        log,
        listener,
        HttpServer::new(config.http),
        config,
        shutdown,
    )
    .await
}

async fn serve(
    log: Log,
    listener: tokio::net::TcpListener,
    http: HttpServer,
    config: ServerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServerError> {
    let (submit, queue) = mpsc::channel(config.queue.max(1));
    let published = Arc::new(RwLock::new(Some(log.published().clone())));
    let publisher = match config.witnessing.filter(WitnessingConfig::needs_witnesses) {
        Some(w) => Some(
            crate::witnessing::start(
                w,
                Arc::clone(log.dir()),
                log.signer().verifier().clone(),
                log.published().clone(),
                Arc::clone(&published),
            )
            .await
            .map_err(|source| ServerError::Witnessed { source })?,
        ),
        None => None,
    };
    let (handle, witnessing) = publisher.unzip();
    let anchors: crate::anchoring::Served = Arc::new(RwLock::new(None));
    let anchoring = match config.anchoring {
        Some(a) => Some(
            crate::anchoring::start(
                a,
                Arc::clone(log.dir()),
                log.signer().clone(),
                Arc::clone(&published),
                Arc::clone(&anchors),
            )
            .map_err(|source| ServerError::Start {
                what: "spawning the anchoring thread",
                source,
            })?,
        ),
        None => None,
    };
    let shared = Arc::new(Shared {
        dir: Arc::clone(log.dir()),
        dedup: Arc::clone(log.dedup()),
        published,
        submit,
        queued: Arc::new(AtomicUsize::new(0)),
        anchors,
    });
    // The sequencer holds no sender: when the server stops, the channel closes.
    let seq_published = Arc::clone(&shared.published);
    let seq_queued = Arc::clone(&shared.queued);
    let max_batch = config.max_batch.max(1);
    let sequencer = std::thread::Builder::new()
        .name("merkle-log-sequencer".into())
        .spawn(move || {
            sequence(
                log,
                queue,
                &seq_published,
                handle.as_ref(),
                &seq_queued,
                max_batch,
            )
        })
        .map_err(|source| ServerError::Start {
            what: "spawning the sequencer thread",
            source,
        })?;
    let app = router(Arc::clone(&shared));
    let served = http.serve(listener, app, shutdown).await;
    // Dropping the last sender ends the sequencer after its current batch.
    drop(shared);
    let sequenced = tokio::task::spawn_blocking(move || sequencer.join())
        .await
        .map_err(|_| ServerError::SequencerPanicked)?
        .map_err(|_| ServerError::SequencerPanicked)?;
    // The sequencer held the last handle: the witnessing task answers what waits.
    if let Some(task) = witnessing {
        let _ = task.await;
    }
    if let Some(running) = anchoring {
        let _ = tokio::task::spawn_blocking(move || running.stop()).await;
    }
    // A halted log matters more than a failed listener: report it first.
    sequenced.map_err(|source| ServerError::Halted { source })?;
    served.map_err(ServerError::from)
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/add", post(add).layer(DefaultBodyLimit::max(MAX_ENTRY)))
        .route("/checkpoint", get(checkpoint))
        .route("/anchors", get(anchors))
        .route("/tile/{*path}", get(tile))
        .route("/ct/v1/get-proof-by-hash", get(proof_by_hash))
        .route("/ct/v1/get-sth-consistency", get(sth_consistency))
        .route("/ct/v1/get-entries", get(get_entries))
        .route("/ct/v1/get-entry-and-proof", get(entry_and_proof))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(DefaultBodyLimit::max(MAX_ENTRY))
        .with_state(state)
}

/// The sequencer loop: owns the log until the channel closes or the log fails.
fn sequence(
    mut log: Log,
    mut queue: mpsc::Receiver<(Vec<u8>, Reply)>,
    published: &RwLock<Option<Published>>,
    publisher: Option<&crate::witnessing::Handle>,
    queued: &AtomicUsize,
    max_batch: usize,
) -> Result<(), LogError> {
    let mut failed: Option<(String, LogError)> = None;
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(s) => batch.push(s),
                Err(_) => break,
            }
        }
        let bytes: usize = batch.iter().map(|(e, _)| e.len()).sum();
        queued.fetch_sub(bytes, Ordering::Relaxed);
        if let Some((reason, _)) = &failed {
            for (_, reply) in batch {
                let _ = reply.send(Err(ApiError::unavailable(reason.clone())));
            }
            continue;
        }
        let (entries, replies): (Vec<Vec<u8>>, Vec<Reply>) = batch.into_iter().unzip();
        match log.integrate(&entries) {
            Ok(outcomes) => {
                let indices: Vec<u64> = outcomes.iter().map(|o: &Sequenced| o.index()).collect();
                if let Some(publisher) = publisher {
                    // Published once witnessed: the publisher answers.
                    publisher.send(crate::witnessing::Batch {
                        signed: log.published().clone(),
                        waiting: indices.into_iter().zip(replies).collect(),
                    });
                    continue;
                }
                if let Ok(mut p) = published.write() {
                    *p = Some(log.published().clone());
                }
                let receipts = log.receipts(&indices);
                for (reply, receipt) in replies.into_iter().zip(receipts) {
                    let _ = reply.send(
                        receipt
                            .map(|r| Added::Receipt(r.encode()))
                            .map_err(ApiError::internal),
                    );
                }
            }
            Err(e) => {
                // The log's memory may now be ahead of the disk: stop sequencing.
                let reason = format!(
                    "log halted: {e}; this entry was not acknowledged (after a restart, \
                     submit it again: a duplicate gets its first index)"
                );
                for reply in replies {
                    let _ = reply.send(Err(ApiError::unavailable(reason.clone())));
                }
                failed = Some((reason, e));
            }
        }
    }
    failed.map_or(Ok(()), |(_, e)| Err(e))
}

fn published(state: &Shared) -> Result<Published, ApiError> {
    state
        .published
        .read()
        .map_err(|_| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            reason: "published state poisoned".into(),
            retry: false,
        })?
        .clone()
        .ok_or_else(|| {
            ApiError::busy("no checkpoint has been cosigned by the witness quorum yet; retry later")
        })
}

async fn add(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let body = read_body(request, MAX_ENTRY).await.map_err(|e| match e {
        BodyError::TooLarge { limit } => ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            reason: format!("entry too long: more than {limit} bytes; {ENTRY_SIZES}"),
            retry: false,
        },
        BodyError::Unreadable { .. } => ApiError::bad(e.to_string()),
    })?;
    if body.is_empty() {
        return Err(ApiError::bad(format!("empty entry: {ENTRY_SIZES}")));
    }
    let len = body.len();
    if state.queued.fetch_add(len, Ordering::Relaxed) + len > MAX_QUEUED_BYTES {
        state.queued.fetch_sub(len, Ordering::Relaxed);
        return Err(ApiError::busy("too many submissions waiting; retry later"));
    }
    let (tx, rx) = oneshot::channel();
    if state.submit.try_send((body.to_vec(), tx)).is_err() {
        state.queued.fetch_sub(len, Ordering::Relaxed);
        return Err(ApiError::busy(
            "sequencer queue is full or stopped; retry later",
        ));
    }
    let added = rx
        .await
        .map_err(|_| ApiError::unavailable("the sequencer stopped"))??;
    let text = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    Ok(match added {
        Added::Receipt(receipt) => (text, receipt).into_response(),
        Added::Pending { index } => {
            let mut r = (
                StatusCode::ACCEPTED,
                text,
                format!(
                    "index {index}\nthe entry is durable at index {index}, but no checkpoint \
                     cosigned by the witness quorum covers it yet; submit it again later for \
                     its receipt\n"
                ),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    })
}

async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let p = published(&state)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        p.note,
    )
        .into_response())
}

/// The signed list of the log's anchors in a chain (404 before the first).
async fn anchors(State(state): State<AppState>) -> Result<Response, ApiError> {
    let note = state
        .anchors
        .read()
        .map_err(|_| ApiError::unavailable("anchor list poisoned"))?
        .clone()
        .ok_or_else(|| {
            ApiError::not_found("no checkpoint of this log is anchored in a chain yet")
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        note,
    )
        .into_response())
}

/// Runs blocking reads off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

fn immutable(bytes: Vec<u8>) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    r
}

/// Bytes that reading entry bundle `index` for a tree of `size` leaves holds in
/// memory: the file it reads (its partial bundle, or the full one that replaced
/// it), and, for a partial bundle, the copy of its entries cut from the full one.
/// 0 when no file exists.
fn bundle_read_bytes(dir: &DataDir, index: u64, size: u64) -> usize {
    let Some(stored) = TileId::at_size(0, index, size) else {
        return 0;
    };
    let full_size = index.saturating_add(1).saturating_mul(tiles::TILE_WIDTH);
    let file = [Some(stored), TileId::at_size(0, index, full_size)]
        .into_iter()
        .flatten()
        .filter_map(|t| std::fs::metadata(dir.file(&t.entries_path())).ok())
        .map(|m| usize::try_from(m.len()).unwrap_or(usize::MAX))
        .max()
        .unwrap_or(0);
    let copies = if u64::from(stored.width) < tiles::TILE_WIDTH {
        2
    } else {
        1
    };
    file.saturating_mul(copies)
}

/// Reserves room for reading entry bundles `bundles` and `extra` bytes more (an
/// answer built from them), before any is read.
async fn reserve_bundles(
    budget: &ResponseBudget,
    dir: &DataDir,
    bundles: std::ops::RangeInclusive<u64>,
    size: u64,
    extra: usize,
) -> Result<Reserved, ApiError> {
    let read: usize = bundles
        .map(|b| bundle_read_bytes(dir, b, size))
        .fold(0, usize::saturating_add);
    budget
        .reserve(read.saturating_add(extra))
        .await
        .map_err(|e| ApiError::busy(e.to_string()))
}

async fn tile(
    State(state): State<AppState>,
    Extension(budget): Extension<ResponseBudget>,
    UrlPath(path): UrlPath<String>,
) -> Result<Response, ApiError> {
    let request = tiles::parse_tile_path(&path).map_err(|_| {
        ApiError::bad("not a tile path: expected tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]")
    })?;
    let size = published(&state)?.checkpoint.size();
    // Hash tiles are at most 8 KiB; an entry bundle can be 16 MiB, and a partial
    // one asked of a fuller bundle is cut into a copy.
    let reserved = match request {
        TileRequest::Entries { index, width } => {
            let cut = if u64::from(width) < tiles::TILE_WIDTH {
                bundle_read_bytes(&state.dir, index, size)
            } else {
                0
            };
            Some(reserve_bundles(&budget, &state.dir, index..=index, size, cut).await?)
        }
        TileRequest::Hashes(_) => None,
    };
    let mut response = blocking(move || {
        let beyond =
            || ApiError::not_found(format!("tile/{path} is beyond the tree of size {size}"));
        match request {
            TileRequest::Hashes(tile) => {
                let hashes = state.dir.read_hash_tile(tile, size).map_err(|e| match e {
                    crate::StorageError::NotYetInLog { .. } => beyond(),
                    e => ApiError::internal(e),
                })?;
                Ok(immutable(tiles::encode_hash_tile(&hashes)))
            }
            TileRequest::Entries { index, width } => {
                let (bytes, stored) = state.dir.read_bundle(index, size).map_err(|e| match e {
                    crate::StorageError::NotYetInLog { .. } => beyond(),
                    e => ApiError::internal(e),
                })?;
                if width > stored {
                    return Err(beyond());
                }
                if width == stored {
                    return Ok(immutable(bytes));
                }
                let entries = tiles::decode_bundle(&bytes, stored).map_err(ApiError::internal)?;
                let mut out = Vec::new();
                for e in entries.iter().take(usize::from(width)) {
                    tiles::push_bundle_entry(&mut out, e).map_err(ApiError::internal)?;
                }
                Ok(immutable(out))
            }
        }
    })
    .await?;
    if let Some(r) = reserved {
        r.attach(&mut response);
    }
    Ok(response)
}

type Params = Query<HashMap<String, String>>;

/// A required decimal query parameter.
fn param(q: &HashMap<String, String>, name: &str) -> Result<u64, ApiError> {
    let v = q
        .get(name)
        .ok_or_else(|| ApiError::bad(format!("missing query parameter {name}")))?;
    parse_decimal(v).ok_or_else(|| {
        ApiError::bad(format!(
            "{name} must be a non-negative decimal integer without leading zeros, got {v:?}"
        ))
    })
}

/// Two required decimal parameters, the first not larger than the second.
fn ordered_params(q: &HashMap<String, String>, lo: &str, hi: &str) -> Result<(u64, u64), ApiError> {
    let (a, b) = (param(q, lo)?, param(q, hi)?);
    if a > b {
        return Err(ApiError::bad(format!(
            "{lo} ({a}) is larger than {hi} ({b})"
        )));
    }
    Ok((a, b))
}

fn check_tree_size(tree_size: u64, published: u64) -> Result<(), ApiError> {
    if tree_size > published {
        return Err(ApiError::bad(format!(
            "tree_size {tree_size} is beyond the published size {published}"
        )));
    }
    Ok(())
}

/// The tree of the published checkpoint, over the tile files.
fn with_tree<T>(
    state: &Shared,
    size: u64,
    f: impl FnOnce(&Tree<TileNodeStore<crate::storage::DiskTiles<'_>>>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let tree = Tree::open(size, TileNodeStore::new(size, state.dir.tiles(size)))
        .map_err(ApiError::internal)?;
    f(&tree)
}

fn b64_list(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_base64).collect()
}

#[derive(Serialize)]
struct ProofByHash {
    leaf_index: u64,
    audit_path: Vec<String>,
}

async fn proof_by_hash(
    State(state): State<AppState>,
    Query(q): Params,
) -> Result<axum::Json<ProofByHash>, ApiError> {
    let raw = q
        .get("hash")
        .ok_or_else(|| ApiError::bad("missing query parameter hash"))?;
    // A '+' left unescaped in a query string arrives as a space.
    let hash: Hash = raw
        .replace(' ', "+")
        .parse()
        .map_err(|e| ApiError::bad(format!("hash: {e}")))?;
    let tree_size = param(&q, "tree_size")?;
    let published = published(&state)?.checkpoint.size();
    check_tree_size(tree_size, published)?;
    blocking(move || {
        let index = find_committed(&state.dedup, &state.dir, published, &hash)
            .map_err(ApiError::internal)?
            .filter(|&i| i < tree_size)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no leaf with this hash in the tree of size {tree_size}"
                ))
            })?;
        let proof = with_tree(&state, published, |t| {
            t.inclusion_proof(index, tree_size)
                .map_err(ApiError::internal)
        })?;
        Ok(axum::Json(ProofByHash {
            leaf_index: index,
            audit_path: b64_list(&proof),
        }))
    })
    .await
}

#[derive(Serialize)]
struct Consistency {
    consistency: Vec<String>,
}

async fn sth_consistency(
    State(state): State<AppState>,
    Query(q): Params,
) -> Result<axum::Json<Consistency>, ApiError> {
    let (first, second) = ordered_params(&q, "first", "second")?;
    let published = published(&state)?.checkpoint.size();
    check_tree_size(second, published)?;
    blocking(move || {
        let proof = with_tree(&state, published, |t| {
            t.consistency_proof(first, second)
                .map_err(ApiError::internal)
        })?;
        Ok(axum::Json(Consistency {
            consistency: b64_list(&proof),
        }))
    })
    .await
}

#[derive(Serialize)]
struct Entry {
    leaf_input: String,
    extra_data: String,
}

#[derive(Serialize)]
struct Entries {
    entries: Vec<Entry>,
}

async fn get_entries(
    State(state): State<AppState>,
    Extension(budget): Extension<ResponseBudget>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let (start, end) = ordered_params(&q, "start", "end")?;
    let size = published(&state)?.checkpoint.size();
    if end >= size {
        return Err(ApiError::bad(format!(
            "end {end} is not below the published size {size}"
        )));
    }
    // Like RFC 6962 logs, answer a prefix of a long range.
    let end = end.min(start + MAX_GET_ENTRIES - 1);
    // The answer: base64 of at most the byte cap plus one entry, and JSON around
    // each entry.
    let answer = (MAX_GET_ENTRIES_BYTES + MAX_ENTRY) / 3 * 4 + 64 * MAX_GET_ENTRIES as usize;
    let first_bundle = start / tiles::TILE_WIDTH;
    let last_bundle = end / tiles::TILE_WIDTH;
    let reserved = reserve_bundles(
        &budget,
        &state.dir,
        first_bundle..=last_bundle,
        size,
        answer,
    )
    .await?;
    let mut response = blocking(move || {
        let mut entries = Vec::new();
        let mut bytes_out = 0usize;
        let mut at = start;
        while at <= end && bytes_out < MAX_GET_ENTRIES_BYTES {
            let bundle = at / tiles::TILE_WIDTH;
            let (bytes, width) = state
                .dir
                .read_bundle(bundle, size)
                .map_err(ApiError::internal)?;
            let list = tiles::decode_bundle(&bytes, width).map_err(ApiError::internal)?;
            let first = bundle * tiles::TILE_WIDTH;
            for (k, e) in list.iter().enumerate() {
                let i = first + k as u64;
                if (at..=end).contains(&i) {
                    if bytes_out >= MAX_GET_ENTRIES_BYTES {
                        break;
                    }
                    bytes_out += e.len().max(1);
                    entries.push(Entry {
                        leaf_input: BASE64.encode(e),
                        extra_data: String::new(),
                    });
                }
            }
            at = first + tiles::TILE_WIDTH;
        }
        Ok(axum::Json(Entries { entries }).into_response())
    })
    .await?;
    reserved.attach(&mut response);
    Ok(response)
}

#[derive(Serialize)]
struct EntryAndProof {
    leaf_input: String,
    extra_data: String,
    audit_path: Vec<String>,
}

async fn entry_and_proof(
    State(state): State<AppState>,
    Extension(budget): Extension<ResponseBudget>,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let index = param(&q, "leaf_index")?;
    let tree_size = param(&q, "tree_size")?;
    if index >= tree_size {
        return Err(ApiError::bad(format!(
            "leaf_index {index} is not below tree_size {tree_size}"
        )));
    }
    let published = published(&state)?.checkpoint.size();
    check_tree_size(tree_size, published)?;
    let bundle = index / tiles::TILE_WIDTH;
    let answer = MAX_ENTRY / 3 * 4 + 4096;
    let reserved = reserve_bundles(&budget, &state.dir, bundle..=bundle, published, answer).await?;
    let mut response = blocking(move || {
        let entry = state
            .dir
            .read_entry(index, published)
            .map_err(ApiError::internal)?;
        let proof = with_tree(&state, published, |t| {
            t.inclusion_proof(index, tree_size)
                .map_err(ApiError::internal)
        })?;
        Ok(axum::Json(EntryAndProof {
            leaf_input: BASE64.encode(entry),
            extra_data: String::new(),
            audit_path: b64_list(&proof),
        })
        .into_response())
    })
    .await?;
    reserved.attach(&mut response);
    Ok(response)
}
