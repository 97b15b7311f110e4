//! Anchoring (docs/anchoring.md): every few blocks of a chain, the log publishes its
//! latest published checkpoint in a data output of a chain transaction, paid by a
//! wallet, and records where it landed in `/anchors`, a list signed by the log key.
//!
//! One thread does it, apart from the sequencer and the HTTP handlers, which it
//! never waits for and which never wait for it: it reads the published checkpoint,
//! asks the chain node its height over JSON-RPC, has the `wallet` binary pay for the
//! transaction (ADR 0031), finds the transaction in a block with `listdataoutputs`,
//! then writes the signed list durably and serves it. A node that is down, a wallet
//! out of funds or a transaction that does not confirm delays anchoring and says so
//! once through [`AnchoringConfig::notify`]; nothing else changes.

mod chain;

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::anchor::{
    ANCHOR_MAGIC, ANCHOR_VERSION, Anchor, AnchorList, AnchorRecord, MAX_ANCHOR_RECORDS,
};
use crate::error::AnchoringError;
use crate::log::Published;
use crate::note::NoteSigner;
use crate::storage::{DataDir, write_atomic};

use chain::{Chain, Wallet};

/// The file (and URL path) of the signed anchor list.
pub const ANCHORS_FILE: &str = "anchors";

/// What the anchoring thread reports.
pub type Notify = Arc<dyn Fn(&AnchorEvent) + Send + Sync>;

/// How the log anchors its checkpoints.
#[derive(Clone)]
pub struct AnchoringConfig {
    /// The chain node's JSON-RPC URL.
    pub rpc_url: String,
    /// The chain node's cookie file.
    pub cookie: PathBuf,
    /// The wallet directory that pays.
    pub wallet_dir: PathBuf,
    /// The `wallet` binary.
    pub wallet_bin: PathBuf,
    /// Anchor at most once every this many blocks (at least 1).
    pub every: u64,
    /// How often the chain is asked for its height.
    pub poll: Duration,
    /// The longest one JSON-RPC call may take.
    pub request_timeout: Duration,
    /// Blocks after which a transaction not yet in a block is given up and the
    /// checkpoint anchored again.
    pub resend_after: u64,
    /// Told of every anchor sent and recorded, and of each new reason for a delay.
    pub notify: Notify,
}

impl fmt::Debug for AnchoringConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnchoringConfig")
            .field("rpc_url", &self.rpc_url)
            .field("wallet_dir", &self.wallet_dir)
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

impl AnchoringConfig {
    /// The defaults: a poll every 2 s, 10 s per call, a resend after 6 blocks
    /// without confirmation, notices dropped.
    pub fn new(
        rpc_url: &str,
        cookie: PathBuf,
        wallet_dir: PathBuf,
        wallet_bin: PathBuf,
        every: u64,
    ) -> Self {
        AnchoringConfig {
            rpc_url: rpc_url.to_owned(),
            cookie,
            wallet_dir,
            wallet_bin,
            every,
            poll: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            resend_after: 6,
            notify: Arc::new(|_| {}),
        }
    }

    /// Checks what can be checked before the log starts.
    ///
    /// # Errors
    /// [`AnchoringError`] saying which option to fix.
    pub fn check(&self) -> Result<(), AnchoringError> {
        if self.every == 0 {
            return Err(AnchoringError::Every);
        }
        if !(self.rpc_url.starts_with("http://") || self.rpc_url.starts_with("https://")) {
            return Err(AnchoringError::Url {
                url: self.rpc_url.clone(),
            });
        }
        if !self.wallet_bin.is_file() {
            return Err(AnchoringError::WalletBinary {
                path: self.wallet_bin.clone(),
            });
        }
        Ok(())
    }
}

/// What the anchoring thread did, or why it waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnchorEvent {
    /// A transaction carrying the anchor was broadcast.
    Sent {
        /// Its txid.
        txid: String,
        /// The anchored size.
        size: u64,
        /// The chain's height when it was sent.
        height: u64,
    },
    /// The anchor is in a block and recorded in `/anchors`.
    Anchored(AnchorRecord),
    /// A transaction did not reach a block in time; the checkpoint is anchored again.
    Resending {
        /// The transaction given up.
        txid: String,
        /// Blocks waited.
        blocks: u64,
    },
    /// Anchoring waits; the log serves and appends as ever.
    Delayed {
        /// Why, and what to do.
        reason: String,
    },
}

impl fmt::Display for AnchorEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnchorEvent::Sent { txid, size, height } => write!(
                f,
                "sent the anchor of size {size} in transaction {txid} at chain height {height}"
            ),
            AnchorEvent::Anchored(r) => write!(
                f,
                "anchored size {} root {} in block {} (height {}), transaction {}",
                r.size,
                r.root.to_base64(),
                r.block,
                r.height,
                r.txid
            ),
            AnchorEvent::Resending { txid, blocks } => write!(
                f,
                "transaction {txid} is not in a block after {blocks} blocks; anchoring again"
            ),
            AnchorEvent::Delayed { reason } => {
                write!(f, "delayed: {reason}; appends and publication go on")
            }
        }
    }
}

/// The serving side's view of the signed list (`None` until the first anchor).
pub(crate) type Served = Arc<RwLock<Option<String>>>;

/// A transaction broadcast and not yet seen in a block.
struct Pending {
    txid: String,
    sent_at: u64,
    size: u64,
    root: crate::hash::Hash,
}

/// The thread's state.
struct Anchoring {
    config: AnchoringConfig,
    chain: Chain,
    wallet: Wallet,
    signer: NoteSigner,
    dir: Arc<DataDir>,
    published: Arc<RwLock<Option<Published>>>,
    served: Served,
    list: AnchorList,
    pending: Option<Pending>,
    /// No new transaction before this height (after a wallet failure).
    not_before: u64,
    /// The last delay reported, so that a lasting cause is said once.
    said: Option<String>,
}

/// The running thread: stopped and joined by [`Running::stop`].
pub(crate) struct Running {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Running {
    /// Stops the thread after its current step.
    pub(crate) fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Reads the signed list in `dir` (an unreadable one is reported and replaced by
/// the next anchor) and starts the thread.
pub(crate) fn start(
    config: AnchoringConfig,
    dir: Arc<DataDir>,
    signer: NoteSigner,
    published: Arc<RwLock<Option<Published>>>,
    served: Served,
) -> std::io::Result<Running> {
    let path = dir.file(ANCHORS_FILE);
    let mut list = AnchorList {
        origin: signer.name().as_str().to_owned(),
        records: Vec::new(),
    };
    match std::fs::read_to_string(&path) {
        Ok(note) => match AnchorList::from_signed_note(&note, signer.verifier()) {
            Ok(l) => {
                list = l;
                if let Ok(mut s) = served.write() {
                    *s = Some(note);
                }
            }
            Err(e) => (config.notify)(&AnchorEvent::Delayed {
                reason: format!(
                    "{} cannot be read ({e}); the next anchor starts a new list",
                    path.display()
                ),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => (config.notify)(&AnchorEvent::Delayed {
            reason: format!("{}: {e}; the next anchor starts a new list", path.display()),
        }),
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let mut state = Anchoring {
        chain: Chain::new(&config.rpc_url, &config.cookie, config.request_timeout),
        wallet: Wallet {
            binary: config.wallet_bin.clone(),
            dir: config.wallet_dir.clone(),
        },
        config,
        signer,
        dir,
        published,
        served,
        list,
        pending: None,
        not_before: 0,
        said: None,
    };
    let thread = std::thread::Builder::new()
        .name("merkle-log-anchoring".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                state.step();
                let until = Instant::now() + state.config.poll;
                while Instant::now() < until && !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        })?;
    Ok(Running { stop, thread })
}

impl Anchoring {
    fn tell(&self, event: &AnchorEvent) {
        (self.config.notify)(event);
    }

    /// Reports a delay once per cause.
    fn delay(&mut self, reason: String) {
        if self.said.as_ref() != Some(&reason) {
            self.tell(&AnchorEvent::Delayed {
                reason: reason.clone(),
            });
            self.said = Some(reason);
        }
    }

    /// The prefix of this log's version-1 anchors.
    fn prefix(&self) -> Vec<u8> {
        let mut p = ANCHOR_MAGIC.to_vec();
        p.push(ANCHOR_VERSION);
        p.extend_from_slice(&self.signer.verifier().id().0);
        p
    }

    /// One look at the chain: record a pending anchor that landed, or send one
    /// when it is due.
    fn step(&mut self) {
        let height = match self.chain.height() {
            Ok(h) => h,
            Err(e) => return self.delay(e),
        };
        if let Some(p) = &self.pending {
            match self.chain.find(&self.prefix(), &p.txid, p.sent_at) {
                Ok(Some(landed)) => {
                    let record = AnchorRecord {
                        height: landed.height,
                        block: landed.block,
                        txid: p.txid.clone(),
                        size: p.size,
                        root: p.root,
                    };
                    if let Err(e) = self.record(record.clone()) {
                        return self.delay(e);
                    }
                    self.pending = None;
                    self.said = None;
                    self.tell(&AnchorEvent::Anchored(record));
                }
                Ok(None) if height >= p.sent_at.saturating_add(self.config.resend_after) => {
                    self.tell(&AnchorEvent::Resending {
                        txid: p.txid.clone(),
                        blocks: height - p.sent_at,
                    });
                    self.pending = None;
                }
                Ok(None) => {}
                Err(e) => self.delay(e),
            }
            return;
        }
        let last = self.list.records.last();
        // A chain lower than the last anchor's block is not the chain the list was
        // made on (or it reorganised): anchor now rather than wait for that height.
        let due = last.is_none_or(|r| {
            height >= r.height.saturating_add(self.config.every) || height < r.height
        });
        if !due || height < self.not_before {
            return;
        }
        let Some(published) = self.published.read().ok().and_then(|p| p.clone()) else {
            return;
        };
        let cp = &published.checkpoint;
        if cp.size() == 0 || last.is_some_and(|r| r.size == cp.size() && r.root == cp.root()) {
            return;
        }
        let anchor = match Anchor::from_signed_checkpoint(&published.note, self.signer.verifier()) {
            Ok(a) => a,
            Err(e) => {
                return self.delay(format!("the published checkpoint cannot be anchored: {e}"));
            }
        };
        let network = match self.chain.network() {
            Ok(n) => n,
            Err(e) => return self.delay(e),
        };
        match self.wallet.publish(
            &anchor.encode(),
            &network,
            &self.config.rpc_url,
            &self.config.cookie,
        ) {
            Ok(txid) => {
                self.said = None;
                self.tell(&AnchorEvent::Sent {
                    txid: txid.clone(),
                    size: anchor.size,
                    height,
                });
                self.pending = Some(Pending {
                    txid,
                    sent_at: height,
                    size: anchor.size,
                    root: anchor.root,
                });
            }
            Err(e) => {
                self.not_before = height.saturating_add(1);
                self.delay(format!(
                    "the wallet {} could not pay for the anchor: {e}; trying again at the next block",
                    self.config.wallet_dir.display()
                ));
            }
        }
    }

    /// Adds `record` to the list, signs it, writes it durably, then serves it.
    fn record(&mut self, record: AnchorRecord) -> Result<(), String> {
        let mut list = self.list.clone();
        list.records.push(record);
        if list.records.len() > MAX_ANCHOR_RECORDS {
            list.records.remove(0);
        }
        let text = list.to_text().map_err(|e| e.to_string())?;
        let note = self.signer.sign(&text).map_err(|e| e.to_string())?;
        let path = self.dir.file(ANCHORS_FILE);
        write_atomic(&path, note.as_bytes())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        if let Ok(mut s) = self.served.write() {
            *s = Some(note);
        }
        self.list = list;
        Ok(())
    }
}
