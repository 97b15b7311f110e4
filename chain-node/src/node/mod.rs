//! The node: a cheap, cloneable [`Node`] handle to one owner thread that holds the chain
//! state and the mempool, mining, and a bounded event stream.
//!
//! Every request (a block, a transaction, `invalidateblock`, a template, a flush, a
//! read) goes to the owner over a bounded channel and comes back over a reply channel
//! of its own; the owner runs them one at a time, so no caller ever holds the state.
//! Reads run a caller's closure on the owner against a [`NodeView`], which offers read
//! methods only. Nonce searches run on the caller's threads, never on the owner: the
//! owner builds the template, the caller searches until it finds a header or the tip
//! changes, and submits the block as a request.
//!
//! A network layer feeds the node with [`Node::submit_block`] and
//! [`Node::submit_transaction`] and learns about new blocks and transactions from
//! [`Node::subscribe`], whose buffer is bounded (a subscriber that falls behind is told
//! so, see [`Subscription`]). After [`Node::shutdown`], or once the last handle is
//! dropped, the owner writes the coins cache and exits; later requests fail with
//! [`NodeError::ShuttingDown`].

mod events;
mod owner;

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

pub use events::{DEFAULT_EVENT_BUFFER, NodeEvent, Subscription};
pub use owner::NodeView;

use crate::address::Address;
use crate::block::{Block, Header};
use crate::chain::{Activation, CacheConfig, ChainState, HeadersOutcome, PendingHeaders};
use crate::error::{ChainError, NodeError, ZoneFileError};
use crate::hash::{BlockHash, TxId};
use crate::mempool::{Mempool, MempoolConfig};
use crate::miner::{SearchResult, Template, search_nonce};
use crate::params::{Network, Params};
use crate::signature::SigMode;
use crate::transaction::Transaction;
use crate::units::{Amount, Height};
use owner::{Owner, Request, Shared};

/// Requests that may wait for the owner at once; more callers wait to send.
pub const REQUEST_QUEUE: usize = 256;

/// Node settings.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Consensus parameters (normally `network.params()`; tests may use others).
    pub params: Params,
    /// Data directory; the chain state lives in `DIR/chain`.
    pub data_dir: PathBuf,
    /// Nonce-search threads.
    pub mining_threads: usize,
    /// Mempool limits.
    pub mempool: MempoolConfig,
    /// How signatures are checked.
    pub sig_mode: SigMode,
    /// When the coins cache is written to disk.
    pub cache: CacheConfig,
    /// Events each subscriber may leave unread before the oldest are dropped.
    pub event_buffer: usize,
    /// Blocks a stored zone file stays after nothing references it
    /// ([`crate::zonefile::default_grace`]).
    pub zone_file_grace: u32,
}

impl NodeConfig {
    /// Defaults for `network` in `data_dir`: all cores for mining and signatures.
    pub fn new(network: Network, data_dir: PathBuf) -> Self {
        NodeConfig {
            params: network.params(),
            data_dir,
            mining_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mempool: MempoolConfig::default(),
            sig_mode: SigMode::default(),
            cache: CacheConfig::default(),
            event_buffer: DEFAULT_EVENT_BUFFER,
            zone_file_grace: crate::zonefile::default_grace(network),
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A handle to a running node. Clones are cheap and share the one owner thread; the
/// owner stops at [`Node::shutdown`] or when the last handle is dropped.
///
/// ```
/// use chain_node::{Address, Height, Network, Node, NodeConfig, NodeEvent};
///
/// let dir = tempfile::tempdir()?;
/// let mut config = NodeConfig::new(Network::Regtest, dir.path().to_owned());
/// config.mining_threads = 1;
/// let node = Node::open(config)?;
/// let mut events = node.subscribe();
/// let mined = node.clone().generate(1, Address([7; 32]))?;
/// assert_eq!(node.read(|view| view.chain().tip())?, (Height(1), mined[0]));
/// assert_eq!(
///     events.try_recv(),
///     Ok(NodeEvent::BlockConnected { hash: mined[0], height: Height(1) })
/// );
/// assert_eq!(node.shutdown()?, (Height(1), mined[0]));
/// assert!(node.tip().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Node {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    requests: SyncSender<Request>,
    shared: Arc<Shared>,
    /// The owner thread, until it is joined.
    owner: Mutex<Option<JoinHandle<()>>>,
    config: NodeConfig,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: let the owner write the cache and close the store
        // before this returns, so that the directory can be opened again at once.
        let _ = stop_owner(&self.requests, &self.shared, &self.owner);
    }
}

/// Asks the owner to flush and exit, and waits until it has. Concurrent callers all
/// wait for the same exit (the lock is held while joining); later ones return at once.
fn stop_owner(
    requests: &SyncSender<Request>,
    shared: &Shared,
    owner: &Mutex<Option<JoinHandle<()>>>,
) -> Result<(Height, BlockHash), NodeError> {
    shared.raise_shutdown();
    let mut owner = owner.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(thread) = owner.take() {
        if thread.thread().id() == std::thread::current().id() {
            // Dropped by a job on the owner itself: it exits after that job.
            let _ = requests.try_send(Request::Shutdown(sync_channel(1).0));
            return Err(NodeError::ShuttingDown);
        }
        let (reply, answer) = sync_channel(1);
        let flushed = match requests.send(Request::Shutdown(reply)) {
            Ok(()) => answer.recv().unwrap_or(Err(NodeError::ShuttingDown)),
            // The owner is gone already (it exited with every request channel closed).
            Err(_) => Ok(()),
        };
        if thread.join().is_err() {
            shared.fail("the node's owner thread panicked".to_owned());
        }
        flushed?;
    }
    shared.closed_at().ok_or(NodeError::ShuttingDown)
}

impl Node {
    /// Opens the chain state in `DIR/chain`, rebuilds the mempool (the saved
    /// transactions, and those of blocks that opening the store disconnected: an
    /// interrupted reorg resumed, invalid blocks rewound, re-validated against the tip)
    /// and starts the owner thread. Nothing listens yet, so the changes made while
    /// opening are not announced.
    ///
    /// # Errors
    /// [`NodeError::Chain`] from opening the store or from saving the rebuilt mempool;
    /// [`NodeError::Spawn`] if the owner thread cannot be started.
    pub fn open(config: NodeConfig) -> Result<Node, NodeError> {
        let params = config.params.clone();
        let mut chain =
            ChainState::open_with(&config.data_dir.join("chain"), params.clone(), config.cache)?;
        chain.set_sig_mode(config.sig_mode);
        // Nothing listens yet; the transactions of blocks disconnected while opening are
        // among the saved ones (a disconnect saves them in its own batch).
        chain.take_activation();
        let txs = chain.saved_mempool()?;
        let saved: HashSet<TxId> = txs.iter().map(Transaction::txid).collect();
        let mut mempool = Mempool::new(config.mempool);
        // Refused transactions are an outcome: they no longer fit the chain.
        let ((), error) = chain.with_next_block(config.sig_mode, unix_now(), |ctx| {
            mempool.restore(txs, ctx);
        });
        if let Some(e) = error {
            return Err(e.into());
        }
        let shared = Arc::new(Shared::new(config.event_buffer));
        let owner = Owner::new(chain, mempool, saved, Arc::clone(&shared), config.sig_mode)?;
        let (requests, inbox) = sync_channel(REQUEST_QUEUE);
        let thread = std::thread::Builder::new()
            .name("chain-node-owner".into())
            .spawn(move || owner.run(inbox))
            .map_err(NodeError::Spawn)?;
        Ok(Node {
            inner: Arc::new(Inner {
                requests,
                shared,
                owner: Mutex::new(Some(thread)),
                config,
            }),
        })
    }

    /// The network parameters.
    pub fn params(&self) -> &Params {
        &self.inner.config.params
    }

    /// The settings.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// Runs `job` on the owner thread and returns what it returns.
    fn call<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Owner) -> R + Send + 'static,
    ) -> Result<R, NodeError> {
        let (reply, answer) = sync_channel(1);
        let job = Box::new(move |owner: &mut Owner| {
            // The caller may have given up waiting; the work is done all the same.
            let _ = reply.send(job(owner));
        });
        self.inner
            .requests
            .send(Request::Run(job))
            .map_err(|_| NodeError::ShuttingDown)?;
        // A closed reply channel: the owner exited first, or the job panicked (which
        // the owner recorded as the node's failure).
        answer.recv().map_err(|_| match self.failure() {
            Some(reason) if !self.is_closed() => NodeError::Chain(ChainError::Poisoned { reason }),
            _ => NodeError::ShuttingDown,
        })
    }

    /// Runs `read` on the owner thread against the chain state and mempool, between two
    /// changes, and returns its result. Keep it short: every other request waits.
    ///
    /// # Errors
    /// [`NodeError::ShuttingDown`] when the owner is gone.
    ///
    /// # Panics
    /// When `read` panics: the panic is raised again on the caller's thread (the owner
    /// carries on, since a read changes nothing).
    pub fn read<R, F>(&self, read: F) -> Result<R, NodeError>
    where
        F: FnOnce(&NodeView) -> R + Send + 'static,
        R: Send + 'static,
    {
        match self.call(move |owner| catch_unwind(AssertUnwindSafe(|| read(owner.view()))))? {
            Ok(r) => Ok(r),
            Err(panic) => resume_unwind(panic),
        }
    }

    /// The active tip: its height and hash.
    ///
    /// # Errors
    /// [`NodeError::ShuttingDown`] when the owner is gone.
    pub fn tip(&self) -> Result<(Height, BlockHash), NodeError> {
        self.read(NodeView::tip)
    }

    /// A subscription to future [`NodeEvent`]s, over a buffer of
    /// [`NodeConfig::event_buffer`] events.
    pub fn subscribe(&self) -> Subscription {
        self.inner.shared.events.subscribe()
    }

    /// A flag raised at the next change of the active chain or at shutdown: a nonce
    /// search on a template from the current tip polls it to stop in time. Take it before
    /// reading the tip, so that no change can come in between unseen.
    pub fn tip_change_flag(&self) -> Arc<AtomicBool> {
        self.inner.shared.tip_change_flag()
    }

    /// Stops the node: raises the shutdown flag (running nonce searches stop), lets the
    /// owner finish the request it runs, write the coins cache and close the store, and
    /// waits until it has. Every later request fails with [`NodeError::ShuttingDown`];
    /// subscribers read what is buffered, then [`crate::error::EventError::Closed`].
    ///
    /// Returns the tip the store was closed at.
    ///
    /// # Errors
    /// [`NodeError::Chain`] when the final write of the coins cache failed (the next
    /// start connects its blocks again; only the first call reports it, later ones see
    /// [`Node::failure`]); [`NodeError::ShuttingDown`] if the owner never closed the
    /// store (it panicked).
    pub fn shutdown(&self) -> Result<(Height, BlockHash), NodeError> {
        let inner = &self.inner;
        stop_owner(&inner.requests, &inner.shared, &inner.owner)
    }

    /// Whether the owner has closed the store.
    fn is_closed(&self) -> bool {
        self.inner.shared.closed_at().is_some()
    }

    /// Whether the node is stopping: [`Node::shutdown`] was called or a failure
    /// stopped it.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shared.is_shutting_down()
    }

    /// The failure that stopped the node, if one did. The node then refuses every
    /// change and raises the shutdown flag (reads still work); restarting it reloads
    /// the state from disk.
    pub fn failure(&self) -> Option<String> {
        self.inner.shared.failure()
    }

    /// Validates and stores a block, moving to the best chain. Changes of the active
    /// chain are announced and followed even when the block then fails.
    ///
    /// # Errors
    /// [`NodeError::Chain`] as for [`ChainState::submit_block`] (a storage failure
    /// stops the node, see [`Node::failure`]); [`NodeError::ShuttingDown`].
    pub fn submit_block(&self, block: &Block) -> Result<Activation, NodeError> {
        let block = block.clone();
        Ok(self.call(move |o| o.submit_block(&block))??)
    }

    /// Submits the blocks of one download answer with one flush for all, as
    /// [`ChainState::submit_downloaded_blocks`]: the outcome of each, in order. Changes of
    /// the active chain are announced after the flush.
    ///
    /// # Errors
    /// A storage failure (which stops the node, see [`Node::failure`]);
    /// [`NodeError::ShuttingDown`].
    pub fn submit_downloaded_blocks(
        &self,
        blocks: Vec<Block>,
    ) -> Result<Vec<Result<(), ChainError>>, NodeError> {
        Ok(self.call(move |o| o.submit_downloaded_blocks(&blocks))??)
    }

    /// Submits a block nobody asked for (a peer's announcement): stored only if its
    /// chain has at least the tip's work (see [`ChainState::submit_unrequested_block`]).
    ///
    /// # Errors
    /// [`NodeError::Chain`] as for [`ChainState::submit_unrequested_block`];
    /// [`NodeError::ShuttingDown`].
    pub fn submit_unrequested_block(&self, block: &Block) -> Result<Activation, NodeError> {
        let block = block.clone();
        Ok(self.call(move |o| o.submit_unrequested_block(&block))??)
    }

    /// Accepts a peer's batch of headers into the index through that peer's
    /// `pending` low-work chain (see [`ChainState::accept_peer_headers`]); returns the
    /// buffer with the outcome.
    ///
    /// # Errors
    /// [`NodeError::ShuttingDown`]; the chain state's refusal is in the outcome.
    pub fn accept_peer_headers(
        &self,
        mut pending: PendingHeaders,
        headers: Vec<Header>,
    ) -> Result<(PendingHeaders, Result<HeadersOutcome, ChainError>), NodeError> {
        self.call(move |o| {
            let outcome = o.accept_peer_headers(&mut pending, &headers);
            (pending, outcome)
        })
    }

    /// Height and hash of the best header (see [`ChainState::best_header`]).
    ///
    /// # Errors
    /// [`NodeError::ShuttingDown`].
    pub fn best_header(&self) -> Result<(Height, BlockHash), NodeError> {
        self.read(|v| v.chain().best_header())
    }

    /// The block locator of the best header, for a `getheaders` request.
    ///
    /// # Errors
    /// [`NodeError::ShuttingDown`].
    pub fn best_header_locator(&self) -> Result<Vec<BlockHash>, NodeError> {
        self.read(|v| {
            let (_, best) = v.chain().best_header();
            v.chain()
                .locator_from(&best)
                .unwrap_or_else(|| v.chain().locator())
        })
    }

    /// The answer to a peer's `getheaders` (see [`ChainState::headers_after`]).
    ///
    /// # Errors
    /// [`NodeError::Chain`] for a locator that is too long; [`NodeError::ShuttingDown`].
    pub fn headers_after(
        &self,
        locator: Vec<BlockHash>,
        stop: Option<BlockHash>,
        max: usize,
    ) -> Result<Vec<Header>, NodeError> {
        Ok(self.read(move |v| v.chain().headers_after(&locator, stop.as_ref(), max))??)
    }

    /// The blocks to download next (see [`ChainState::blocks_to_download`]).
    ///
    /// # Errors
    /// [`NodeError::ShuttingDown`].
    pub fn blocks_to_download(&self, window: usize) -> Result<Vec<BlockHash>, NodeError> {
        self.read(move |v| v.chain().blocks_to_download(window))
    }

    /// Validates a transaction against the tip and the mempool and adds it; answers only
    /// once the pool, evictions included, is saved.
    ///
    /// # Errors
    /// [`NodeError::Mempool`] ([`crate::error::MempoolError::NotSaved`] after a storage
    /// failure, which also stops the node); [`NodeError::ShuttingDown`].
    pub fn submit_transaction(&self, tx: Transaction) -> Result<TxId, NodeError> {
        Ok(self.call(move |o| o.submit_transaction(tx))??)
    }

    /// Validates a transaction without adding it (`testmempoolaccept`); returns its fee.
    ///
    /// # Errors
    /// [`NodeError::Mempool`]; [`NodeError::ShuttingDown`].
    pub fn test_transaction(&self, tx: &Transaction) -> Result<Amount, NodeError> {
        let tx = tx.clone();
        Ok(self.call(move |o| o.test_transaction(&tx))??)
    }

    /// Stores a zone file (`putzonefile`, or one fetched from a peer) if it is at most
    /// [`crate::zonefile::MAX_ZONE_FILE_BYTES`] and a name record of the active tip or
    /// a name operation in the mempool holds its hash; answers its hash once it is on
    /// disk. A refused file is not stored.
    ///
    /// # Errors
    /// [`ZoneFileError::TooLarge`], [`ZoneFileError::Unreferenced`];
    /// [`ZoneFileError::Node`] for storage errors or a node that is stopping.
    pub fn put_zone_file(&self, file: Vec<u8>) -> Result<naming::ZoneFileHash, ZoneFileError> {
        use crate::zonefile::{MAX_ZONE_FILE_BYTES, pending, zone_file_hash};
        if file.len() > MAX_ZONE_FILE_BYTES {
            return Err(ZoneFileError::TooLarge {
                size: file.len(),
                max: MAX_ZONE_FILE_BYTES,
            });
        }
        self.call(move |o| {
            let v = o.view();
            let hash = zone_file_hash(&file);
            let chain = v.chain();
            if chain.has_zone_file(&hash).map_err(NodeError::from)? {
                return Ok(hash);
            }
            let on_chain = chain.zone_file_referenced(&hash).map_err(NodeError::from)?;
            if !on_chain && !pending(v.mempool(), &hash) {
                return Err(ZoneFileError::Unreferenced {
                    hash: hex::encode(hash.as_bytes()),
                });
            }
            chain.put_zone_file(&file).map_err(NodeError::from)?;
            Ok(hash)
        })?
    }

    /// One step of the removal of zone files that nothing has referenced for
    /// [`NodeConfig::zone_file_grace`] blocks: looks at the next
    /// [`crate::zonefile::SWEEP_PAGE`] stored files; returns how many it removed. The
    /// binary runs it once a second.
    ///
    /// # Errors
    /// [`NodeError::Chain`] from reading or removing (a failed removal stops the node);
    /// [`NodeError::ShuttingDown`].
    pub fn sweep_zone_files(&self) -> Result<usize, NodeError> {
        let grace = self.inner.config.zone_file_grace;
        Ok(self.call(move |o| o.sweep_zone_files(grace))??)
    }

    /// Flushes the chain state's coins cache if a bound of its configuration is reached
    /// (see [`ChainState::flush_if_due`]); a failure stops the node.
    ///
    /// # Errors
    /// [`NodeError::Chain`] from the flush; [`NodeError::ShuttingDown`].
    pub fn flush_if_due(&self) -> Result<bool, NodeError> {
        Ok(self.call(Owner::flush_if_due)??)
    }

    /// Writes the chain state's coins cache to disk; a failure stops the node.
    ///
    /// # Errors
    /// [`NodeError::Chain`] from the flush; [`NodeError::ShuttingDown`].
    pub fn flush(&self) -> Result<(), NodeError> {
        Ok(self.call(Owner::flush)??)
    }

    /// `invalidateblock`.
    ///
    /// # Errors
    /// [`NodeError::Chain`]; [`NodeError::ShuttingDown`].
    pub fn invalidate_block(&self, hash: &BlockHash) -> Result<(), NodeError> {
        let hash = *hash;
        Ok(self.call(move |o| o.invalidate_block(&hash))??)
    }

    /// `reconsiderblock`.
    ///
    /// # Errors
    /// [`NodeError::Chain`]; [`NodeError::ShuttingDown`].
    pub fn reconsider_block(&self, hash: &BlockHash) -> Result<(), NodeError> {
        let hash = *hash;
        Ok(self.call(move |o| o.reconsider_block(&hash))??)
    }

    /// Storage fault injection for tests: after `flushes` more successful flushes, every
    /// flush of the chain state fails (see [`ChainState::fail_flushes_after`]).
    ///
    /// # Errors
    /// [`NodeError::ShuttingDown`].
    #[doc(hidden)]
    pub fn fail_flushes_after(&self, flushes: u32) -> Result<(), NodeError> {
        self.call(move |o| o.fail_flushes_after(flushes))
    }

    /// A block template on the current tip paying `payout`, built by the owner.
    ///
    /// # Errors
    /// [`NodeError::Chain`] if the tip's context cannot be read,
    /// [`NodeError::Template`] if the reward cannot be paid, [`NodeError::ShuttingDown`].
    pub fn block_template(
        &self,
        payout: Address,
        extra: Vec<u8>,
    ) -> Result<(Template, BlockHash), NodeError> {
        self.call(move |o| o.block_template(payout, extra))?
    }

    /// Mines `n` blocks paying `payout` (`generatetoaddress`), returning their hashes.
    /// The owner builds each template; the nonce search runs on this thread (and
    /// [`NodeConfig::mining_threads`] helpers) and restarts on a new template when the
    /// tip changes underneath it; each block found is submitted as a request.
    ///
    /// # Errors
    /// [`NodeError::ShuttingDown`], or [`NodeError::Chain`] if a mined block is refused.
    pub fn generate(&self, n: u32, payout: Address) -> Result<Vec<BlockHash>, NodeError> {
        // Grown as blocks are found: `n` comes from a request.
        let mut hashes = Vec::new();
        let mut extra_nonce: u64 = 0;
        while hashes.len() < n as usize {
            // Take the stop flag before reading the tip, so that a tip change or a
            // shutdown after this point always reaches the search.
            let stop = self.tip_change_flag();
            if self.is_shutting_down() {
                return Err(NodeError::ShuttingDown);
            }
            let (template, _) = self.block_template(payout, extra_nonce.to_le_bytes().to_vec())?;
            let threads = self.inner.config.mining_threads;
            match search_nonce(&template.block.header, threads, &stop) {
                SearchResult::Found(header) => {
                    let block = Block {
                        header,
                        txs: template.block.txs,
                    };
                    match self.submit_block(&block) {
                        Ok(_) => hashes.push(block.hash()),
                        // The same block is already known: someone else extended the
                        // tip first (the next template is on the new tip), or it is a
                        // block that was invalidated, which the same template would
                        // make again until the clock passes its time (blocks mined
                        // faster than the clock run ahead of it): another coinbase.
                        Err(NodeError::Chain(ChainError::Duplicate { .. })) => extra_nonce += 1,
                        Err(e) => return Err(e),
                    }
                }
                SearchResult::Exhausted => extra_nonce += 1,
                SearchResult::Stopped => {}
            }
        }
        Ok(hashes)
    }
}
