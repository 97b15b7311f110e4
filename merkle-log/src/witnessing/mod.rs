//! The log's side of witnessing: every checkpoint the log signs is sent to the
//! witnesses of its policy, and published (at `/checkpoint` and in `/add`
//! receipts) only once the cosignatures that came back meet the policy's quorum.
//!
//! One task owns this state. The sequencer hands it each new signed checkpoint
//! with the replies of the entries it covers ([`Batch`]); the task asks every
//! witness that has not cosigned the latest signed checkpoint, with a consistency
//! proof from the size that witness last cosigned (learnt from its 409 answers),
//! retries witnesses that fail with a growing pause, and publishes the largest
//! checkpoint whose cosignatures meet the quorum: it writes the cosigned note to
//! `checkpoint.witnessed` durably, then serves it, then answers the entries it
//! covers with receipts. An entry still uncovered after
//! [`WitnessingConfig::receipt_wait`] is answered "durable, receipt pending"
//! (202): it is in the log, and submitting it again returns its receipt once a
//! cosigned checkpoint covers it. A witness that is down delays publication; it
//! never lets an uncosigned checkpoint out, and never loses an entry.

pub(crate) mod client;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::error::{LogError, QuorumError, WitnessingError};
use crate::log::Published;
use crate::note::VerifierKey;
use crate::policy::{Member, Policy};
use crate::server::{Added, ApiError, Reply};
use crate::storage::{DataDir, write_atomic};
use crate::tile_store::TileNodeStore;
use crate::tlog_witness::{parse_size, take_cosignature};
use crate::tree::Tree;

/// How the log works with its witnesses.
#[derive(Clone, Debug)]
pub struct WitnessingConfig {
    /// The witnesses (with their submission URLs) and the quorum.
    pub policy: Policy,
    /// The longest one request to a witness may take.
    pub request_timeout: Duration,
    /// The first pause before asking a failed witness again; it doubles on each
    /// failure up to `retry_max`.
    pub retry_min: Duration,
    /// The longest pause before asking a failed witness again.
    pub retry_max: Duration,
    /// How long `POST /add` waits for a cosigned checkpoint covering its entry
    /// before answering 202 (durable, receipt pending).
    pub receipt_wait: Duration,
}

impl WitnessingConfig {
    /// The defaults for `policy`: 10 s per request, retries from 1 s to 30 s,
    /// receipts awaited for 10 s.
    pub fn new(policy: Policy) -> Self {
        WitnessingConfig {
            policy,
            request_timeout: Duration::from_secs(10),
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
            receipt_wait: Duration::from_secs(10),
        }
    }

    /// Checks that a log with key `log_key` can meet this policy: the policy lists
    /// that key if it lists logs, every witness URL is `http://` or `https://`,
    /// and the witnesses that have one can meet the quorum.
    ///
    /// # Errors
    /// [`WitnessingError`] saying what to fix in the policy.
    pub fn check(&self, log_key: &VerifierKey) -> Result<(), WitnessingError> {
        let logs = self.policy.logs();
        if !logs.is_empty() && !logs.iter().any(|l| l.key == *log_key) {
            return Err(WitnessingError::NotInPolicy {
                key: log_key.to_string(),
            });
        }
        for w in self.policy.witnesses() {
            if let Some(url) = &w.url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(WitnessingError::Url {
                    witness: w.name.clone(),
                    url: url.clone(),
                });
            }
        }
        let witnesses = self.policy.witnesses();
        if !self
            .policy
            .quorum_met(|i| witnesses.get(i).is_some_and(|w| w.url.is_some()))
        {
            return Err(WitnessingError::Unreachable {
                quorum: self.policy.quorum_name().to_owned(),
            });
        }
        Ok(())
    }

    /// Whether the quorum needs any cosignature at all (not `quorum none`).
    pub fn needs_witnesses(&self) -> bool {
        self.policy.quorum() != Member::None
    }
}

/// A checkpoint the sequencer signed, and the entries it covers that wait for
/// their receipts.
pub(crate) struct Batch {
    pub(crate) signed: Published,
    pub(crate) waiting: Vec<(u64, Reply)>,
}

/// The sequencer's end of the witnessing task.
#[derive(Clone, Debug)]
pub(crate) struct Handle(mpsc::UnboundedSender<Batch>);

impl Handle {
    /// Hands a batch over; never waits. (The channel is unbounded, but each batch
    /// holds replies of requests in flight, which the submission queue bounds.)
    pub(crate) fn send(&self, batch: Batch) {
        if let Err(mpsc::error::SendError(batch)) = self.0.send(batch) {
            for (index, reply) in batch.waiting {
                let _ = reply.send(Ok(Added::Pending { index }));
            }
        }
    }
}

/// Reads the last published checkpoint of the data directory, checks it, serves
/// it, and starts the task that witnesses what the log signs from then on.
///
/// # Errors
/// [`LogError::Damaged`] when `checkpoint.witnessed` is not a checkpoint of this
/// log's tree. One that no longer meets the policy (the policy changed) is not
/// served: publication waits for the witnesses.
pub(crate) async fn start(
    config: WitnessingConfig,
    dir: Arc<DataDir>,
    log_key: VerifierKey,
    signed: Published,
    published: Arc<RwLock<Option<Published>>>,
) -> Result<(Handle, tokio::task::JoinHandle<()>), LogError> {
    let loaded = {
        let (dir, policy, key, signed) = (
            Arc::clone(&dir),
            config.policy.clone(),
            log_key.clone(),
            signed.clone(),
        );
        tokio::task::spawn_blocking(move || load_published(&dir, &policy, &key, &signed))
            .await
            .map_err(|_| LogError::Internal("loading the witnessed checkpoint panicked"))??
    };
    let published_size = loaded.as_ref().map(|p| p.checkpoint.size());
    if let Ok(mut p) = published.write() {
        *p = loaded;
    }
    let witnesses = config
        .policy
        .witnesses()
        .iter()
        .enumerate()
        .filter_map(|(index, w)| {
            Some(Peer {
                index,
                key: w.key.clone(),
                url: w.url.clone()?,
                known: None,
                busy: false,
                retry_at: Instant::now(),
                backoff: config.retry_min,
                conflicts: 0,
            })
        })
        .collect();
    let (tx, rx) = mpsc::unbounded_channel();
    let task = Task {
        client: client::Client::new(config.request_timeout),
        config,
        dir,
        log_key,
        signed,
        published,
        published_size,
        witnesses,
        targets: BTreeMap::new(),
        waiting: Vec::new(),
    };
    Ok((Handle(tx), tokio::spawn(task.run(rx))))
}

/// The published checkpoint stored in the data directory, if it still meets the
/// policy.
fn load_published(
    dir: &DataDir,
    policy: &Policy,
    log_key: &VerifierKey,
    signed: &Published,
) -> Result<Option<Published>, LogError> {
    let path = dir.witnessed_checkpoint_path();
    let note = match std::fs::read_to_string(&path) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(crate::error::StorageError::io(&path, e).into()),
    };
    let damaged = |what: String| LogError::Damaged {
        path: path.clone(),
        what,
    };
    let witnessed = match policy.verify_checkpoint(&note, std::slice::from_ref(log_key)) {
        Ok(w) => w,
        Err(QuorumError::TooFewCosignatures { .. }) => return Ok(None),
        Err(e) => return Err(damaged(e.to_string())),
    };
    let (size, signed_size) = (witnessed.checkpoint.size(), signed.checkpoint.size());
    if size > signed_size {
        return Err(damaged(format!(
            "size {size} is beyond the log's signed size {signed_size}"
        )));
    }
    let tree = Tree::open(
        signed_size,
        TileNodeStore::new(signed_size, dir.tiles(signed_size)),
    )
    .map_err(|e| damaged(format!("{e:#}")))?;
    let root = tree.root_at(size).map_err(|e| damaged(format!("{e:#}")))?;
    if !root.ct_eq(&witnessed.checkpoint.root()) {
        return Err(damaged(format!(
            "its root is not the root of the log's tree at size {size}"
        )));
    }
    Ok(Some(Published {
        checkpoint: witnessed.checkpoint,
        note,
    }))
}

/// One witness the log can reach.
struct Peer {
    /// Its index in the policy.
    index: usize,
    key: VerifierKey,
    url: String,
    /// The size it last cosigned, as far as the log knows.
    known: Option<u64>,
    busy: bool,
    retry_at: Instant,
    backoff: Duration,
    /// 409 answers in a row.
    conflicts: u32,
}

/// A signed checkpoint and the cosignature lines gathered for it, by peer.
struct Target {
    text: String,
    note: String,
    lines: BTreeMap<usize, String>,
}

struct Waiting {
    index: u64,
    reply: Reply,
    deadline: Instant,
}

/// What one request to a witness came back with: the peer, the target size, the
/// old size sent, and the answer.
type Outcome = (usize, u64, u64, Result<client::Answer, String>);

/// Targets kept beyond the published checkpoint (the smallest go first).
const MAX_TARGETS: usize = 16;
/// 409 answers in a row a witness gets an immediate retry for.
const MAX_QUICK_RETRIES: u32 = 2;

struct Task {
    config: WitnessingConfig,
    dir: Arc<DataDir>,
    log_key: VerifierKey,
    client: client::Client,
    signed: Published,
    published: Arc<RwLock<Option<Published>>>,
    published_size: Option<u64>,
    witnesses: Vec<Peer>,
    targets: BTreeMap<u64, Target>,
    waiting: Vec<Waiting>,
}

impl Task {
    async fn run(mut self, mut batches: mpsc::UnboundedReceiver<Batch>) {
        let mut inflight: JoinSet<Outcome> = JoinSet::new();
        loop {
            self.dispatch(&mut inflight);
            let wake = self.next_wake();
            let sleep = async move {
                match wake {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                batch = batches.recv() => match batch {
                    Some(b) => self.on_batch(b).await,
                    None => break,
                },
                Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                    if let Ok(outcome) = done {
                        self.on_answer(outcome).await;
                    }
                }
                () = sleep => self.expire(),
            }
        }
        inflight.abort_all();
        // The server is stopping; entries still waiting are durable.
        for w in self.waiting.drain(..) {
            let _ = w.reply.send(Ok(Added::Pending { index: w.index }));
        }
    }

    fn target_size(&self) -> u64 {
        self.signed.checkpoint.size()
    }

    /// Whether the latest signed checkpoint is still to be published.
    fn behind(&self) -> bool {
        self.published_size.is_none_or(|p| p < self.target_size())
    }

    /// Whether peer `i` should be asked to cosign the latest signed checkpoint.
    fn needs(&self, i: usize) -> bool {
        let Some(peer) = self.witnesses.get(i) else {
            return false;
        };
        self.behind()
            && !peer.busy
            && self
                .targets
                .get(&self.target_size())
                .is_none_or(|t| !t.lines.contains_key(&i))
    }

    /// Asks every witness that should be asked and whose pause is over.
    fn dispatch(&mut self, inflight: &mut JoinSet<Outcome>) {
        if !self.behind() {
            return;
        }
        let size = self.target_size();
        let now = Instant::now();
        if !self.targets.contains_key(&size) {
            self.targets.insert(
                size,
                Target {
                    text: self.signed.checkpoint.to_text(),
                    note: self.signed.note.clone(),
                    lines: BTreeMap::new(),
                },
            );
            while self.targets.len() > MAX_TARGETS {
                self.targets.pop_first();
            }
        }
        for i in 0..self.witnesses.len() {
            if !self.needs(i) {
                continue;
            }
            let Some(peer) = self.witnesses.get_mut(i) else {
                continue;
            };
            if peer.retry_at > now {
                continue;
            }
            let old = peer.known.unwrap_or(0);
            if old > size {
                // The witness has seen a larger tree than this log signed: it
                // cannot cosign until the log passes that size.
                peer.retry_at = now + self.config.retry_max;
                continue;
            }
            peer.busy = true;
            let (dir, client, url, note) = (
                Arc::clone(&self.dir),
                self.client.clone(),
                peer.url.clone(),
                self.signed.note.clone(),
            );
            inflight.spawn(async move {
                let asked = tokio::task::spawn_blocking(move || {
                    let body =
                        client::request_body(&dir, old, size, &note).map_err(|e| e.to_string())?;
                    client.add_checkpoint(&url, &body)
                })
                .await
                .unwrap_or_else(|e| Err(format!("the request failed: {e}")));
                (i, size, old, asked)
            });
        }
    }

    /// The next time something is due: a waiting entry's deadline, or the end of
    /// a pause of a witness that should be asked.
    fn next_wake(&self) -> Option<Instant> {
        let retries = (0..self.witnesses.len())
            .filter(|&i| self.needs(i))
            .filter_map(|i| self.witnesses.get(i).map(|p| p.retry_at));
        self.waiting.iter().map(|w| w.deadline).chain(retries).min()
    }

    async fn on_batch(&mut self, batch: Batch) {
        if batch.signed.checkpoint.size() > self.target_size() {
            self.signed = batch.signed;
        }
        let deadline = Instant::now() + self.config.receipt_wait;
        let mut ready = Vec::new();
        for (index, reply) in batch.waiting {
            if self.published_size.is_some_and(|p| index < p) {
                ready.push((index, reply));
            } else {
                self.waiting.push(Waiting {
                    index,
                    reply,
                    deadline,
                });
            }
        }
        self.answer(ready).await;
    }

    async fn on_answer(&mut self, (i, size, old, asked): Outcome) {
        let now = Instant::now();
        let retry_min = self.config.retry_min;
        let Some(peer) = self.witnesses.get_mut(i) else {
            return;
        };
        peer.busy = false;
        let cosigned = match &asked {
            Ok(a) if a.status == 200 => {
                let answer = String::from_utf8_lossy(&a.body);
                self.targets
                    .get(&size)
                    .map(|t| take_cosignature(&t.text, &answer, &peer.key))
            }
            _ => None,
        };
        match (asked, cosigned) {
            (Ok(_), Some(Ok(cosignature))) => {
                peer.known = Some(size);
                peer.backoff = retry_min;
                peer.conflicts = 0;
                if let Some(t) = self.targets.get_mut(&size) {
                    t.lines.insert(i, cosignature.line);
                }
                self.try_publish(size).await;
            }
            // Cosigned a checkpoint since published past.
            (Ok(a), None) if a.status == 200 => {
                peer.known = Some(size);
                peer.backoff = retry_min;
            }
            (Ok(a), _) if a.status == 409 && a.size_typed => match parse_size(&a.body) {
                // Another root at the size it holds (a fork), or a size it keeps
                // changing: pause.
                Ok(s) if s == old || peer.conflicts >= MAX_QUICK_RETRIES => {
                    peer.known = Some(s);
                    self.failed(i, now);
                }
                Ok(s) => {
                    peer.known = Some(s);
                    peer.conflicts += 1;
                    peer.retry_at = now;
                }
                Err(_) => self.failed(i, now),
            },
            _ => self.failed(i, now),
        }
    }

    /// A witness failed: ask again after its pause, which doubles.
    fn failed(&mut self, i: usize, now: Instant) {
        let max = self.config.retry_max;
        if let Some(peer) = self.witnesses.get_mut(i) {
            peer.retry_at = now + peer.backoff;
            peer.backoff = (peer.backoff * 2).min(max);
            peer.conflicts = 0;
        }
    }

    /// Publishes the target of `size` if its cosignatures meet the quorum.
    async fn try_publish(&mut self, size: u64) {
        if self.published_size.is_some_and(|p| p >= size) {
            return;
        }
        let Some(target) = self.targets.get(&size) else {
            return;
        };
        let by_policy: Vec<usize> = target
            .lines
            .keys()
            .filter_map(|&i| self.witnesses.get(i).map(|p| p.index))
            .collect();
        if !self.config.policy.quorum_met(|w| by_policy.contains(&w)) {
            return;
        }
        let mut note = target.note.clone();
        for line in target.lines.values() {
            note.push_str(line);
        }
        // What is served must verify under the policy, as an auditor checks it.
        let Ok(witnessed) = self
            .config
            .policy
            .verify_checkpoint(&note, std::slice::from_ref(&self.log_key))
        else {
            self.targets.remove(&size);
            return;
        };
        let path = self.dir.witnessed_checkpoint_path();
        let bytes = note.clone().into_bytes();
        let written = tokio::task::spawn_blocking(move || write_atomic(&path, &bytes)).await;
        if !matches!(written, Ok(Ok(()))) {
            // Not durable, so not served: ask the witnesses again (they answer
            // 200 again for the size they hold).
            self.targets.remove(&size);
            return;
        }
        if let Ok(mut p) = self.published.write() {
            *p = Some(Published {
                checkpoint: witnessed.checkpoint,
                note,
            });
        }
        self.published_size = Some(size);
        self.targets.retain(|&s, _| s > size);
        let (ready, waiting): (Vec<Waiting>, Vec<Waiting>) =
            self.waiting.drain(..).partition(|w| w.index < size);
        self.waiting = waiting;
        self.answer(ready.into_iter().map(|w| (w.index, w.reply)).collect())
            .await;
    }

    /// Answers entries covered by the published checkpoint with their receipts.
    async fn answer(&mut self, ready: Vec<(u64, Reply)>) {
        if ready.is_empty() {
            return;
        }
        let published = self.published.read().ok().and_then(|p| p.clone());
        let Some(published) = published else {
            return;
        };
        let indices: Vec<u64> = ready.iter().map(|(i, _)| *i).collect();
        let dir = Arc::clone(&self.dir);
        let size = published.checkpoint.size();
        let receipts = tokio::task::spawn_blocking(move || {
            client::receipts(&dir, size, &published.note, &indices)
        })
        .await
        .unwrap_or_default();
        let mut receipts = receipts.into_iter();
        for (_, reply) in ready {
            let answer = match receipts.next() {
                Some(Ok(r)) => Ok(Added::Receipt(r)),
                Some(Err(e)) => Err(ApiError::internal(e)),
                None => Err(ApiError::internal(WitnessingError::Proof(
                    "building receipts failed".to_owned(),
                ))),
            };
            let _ = reply.send(answer);
        }
    }

    /// Answers entries whose wait is over: durable, receipt pending.
    fn expire(&mut self) {
        let now = Instant::now();
        let (due, waiting): (Vec<Waiting>, Vec<Waiting>) =
            self.waiting.drain(..).partition(|w| w.deadline <= now);
        self.waiting = waiting;
        for w in due {
            let _ = w.reply.send(Ok(Added::Pending { index: w.index }));
        }
    }
}
