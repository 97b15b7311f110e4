//! The owner thread: the only holder of the chain state and the mempool. It runs the
//! requests of every [`super::Node`] handle one at a time, and after every change of the
//! active chain it stops nonce searches, resyncs the mempool and publishes events.
//!
//! Every change of the active chain is followed whatever the call that caused it
//! returns: the chain state journals each change as it happens and the owner takes the
//! journal after every call. A storage failure is fatal: the owner records it, refuses
//! further changes and raises the shutdown flag, so that a restart reloads the state
//! from disk; reads keep working.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::address::Address;
use crate::block::{Block, Header};
use crate::chain::{Activation, ChainEvent, ChainState, HeadersOutcome, PendingHeaders};
use crate::error::{ChainError, MempoolError, NodeError};
use crate::hash::{BlockHash, TxId};
use crate::mempool::Mempool;
use crate::miner::{Template, TemplateContext, build_template, template_tx_budget};
use crate::params::Params;
use crate::signature::SigMode;
use crate::transaction::Transaction;
use crate::units::{Amount, Height};

use super::events::{Hub, NodeEvent};
use super::unix_now;

/// Work for the owner: runs against its state and sends its own reply.
pub(super) type Job = Box<dyn FnOnce(&mut Owner) + Send>;

/// What a handle sends to the owner.
pub(super) enum Request {
    /// Run a job.
    Run(Job),
    /// Write the coins cache, answer with the outcome, and exit.
    Shutdown(SyncSender<Result<(), NodeError>>),
}

/// What the owner and every handle share: flags read without a round trip.
#[derive(Debug)]
pub(super) struct Shared {
    /// Stop flags of running nonce searches, raised when the tip changes.
    searches: Mutex<Vec<Arc<AtomicBool>>>,
    shutdown: AtomicBool,
    /// The failure that stopped the node.
    failure: Mutex<Option<String>>,
    /// The tip the owner closed the store at, once it has.
    closed_at: Mutex<Option<(Height, BlockHash)>>,
    pub(super) events: Hub,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every value behind these locks is consistent between two statements.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(super) fn new(event_buffer: usize) -> Self {
        Shared {
            searches: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
            failure: Mutex::new(None),
            closed_at: Mutex::new(None),
            events: Hub::new(event_buffer),
        }
    }

    pub(super) fn tip_change_flag(&self) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        let mut searches = lock(&self.searches);
        // Forget flags whose searches ended.
        searches.retain(|f| Arc::strong_count(f) > 1);
        searches.push(flag.clone());
        if self.is_shutting_down() {
            flag.store(true, Ordering::Relaxed);
        }
        flag
    }

    fn stop_searches(&self) {
        for flag in lock(&self.searches).drain(..) {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Raises the shutdown flag and stops nonce searches.
    pub(super) fn raise_shutdown(&self) {
        self.shutdown.store(true, Ordering::Relaxed);
        self.stop_searches();
    }

    pub(super) fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    pub(super) fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }

    /// Records a fatal failure (the first one wins) and raises the shutdown flag.
    pub(super) fn fail(&self, reason: String) {
        lock(&self.failure).get_or_insert(reason);
        self.raise_shutdown();
    }

    pub(super) fn closed_at(&self) -> Option<(Height, BlockHash)> {
        *lock(&self.closed_at)
    }

    fn check_alive(&self) -> Result<(), ChainError> {
        match self.failure() {
            Some(reason) => Err(ChainError::Poisoned { reason }),
            None => Ok(()),
        }
    }
}

/// Chain state and mempool as a read request sees them: reads only, so that no change
/// can escape the owner's events and mempool resync.
#[derive(Debug)]
pub struct NodeView {
    chain: ChainState,
    mempool: Mempool,
}

impl NodeView {
    /// The chain state, for its read methods.
    pub fn chain(&self) -> &ChainState {
        &self.chain
    }

    /// The mempool, for its read methods.
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// The active tip: its height and hash.
    pub fn tip(&self) -> (Height, BlockHash) {
        self.chain.tip()
    }

    /// The height a transaction admitted now would be confirmed at.
    pub fn next_height(&self) -> Height {
        next_height(&self.chain)
    }
}

/// The state the owner thread holds.
pub(super) struct Owner {
    view: NodeView,
    /// Txids of the mempool as last saved to disk.
    saved: HashSet<TxId>,
    shared: Arc<Shared>,
    params: Params,
    sig_mode: SigMode,
    /// The removal of unreferenced zone files.
    zone_sweep: crate::zonefile::Sweep,
}

impl Owner {
    /// Takes an opened chain state and a restored mempool; saves the mempool.
    ///
    /// # Errors
    /// [`ChainError`] from saving the mempool.
    pub(super) fn new(
        chain: ChainState,
        mempool: Mempool,
        saved: HashSet<TxId>,
        shared: Arc<Shared>,
        sig_mode: SigMode,
    ) -> Result<Self, ChainError> {
        let params = chain.params().clone();
        let mut owner = Owner {
            view: NodeView { chain, mempool },
            saved,
            shared,
            params,
            sig_mode,
            zone_sweep: crate::zonefile::Sweep::default(),
        };
        owner.save_mempool()?;
        Ok(owner)
    }

    /// Runs requests until a shutdown request or until every handle is gone; then
    /// writes the coins cache and closes the event stream.
    pub(super) fn run(mut self, requests: Receiver<Request>) {
        let reply = loop {
            match requests.recv() {
                Ok(Request::Run(job)) => {
                    // A job that panics may have left a change half done: record it as
                    // a failure, as a storage failure is, and keep serving reads.
                    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| job(&mut self))) {
                        self.shared.fail(format!(
                            "a request panicked on the node's owner thread: {}",
                            panic_message(panic.as_ref())
                        ));
                    }
                }
                Ok(Request::Shutdown(reply)) => break Some(reply),
                Err(_) => break None,
            }
        };
        let shared = Arc::clone(&self.shared);
        shared.raise_shutdown();
        // Requests still queued are dropped with their reply channels: their callers
        // hear that the node is shutting down.
        drop(requests);
        let flushed = self.flush().map_err(NodeError::from);
        let tip = self.view.tip();
        // The store closes here, before anyone hears that the node stopped.
        drop(self);
        *lock(&shared.closed_at) = Some(tip);
        shared.events.close();
        if let Some(reply) = reply {
            let _ = reply.send(flushed);
        }
    }

    pub(super) fn view(&self) -> &NodeView {
        &self.view
    }

    /// Saves the difference between the mempool and its last saved state (one batch and
    /// a flush, nothing when unchanged), so that an accepted transaction survives a crash.
    fn save_mempool(&mut self) -> Result<(), ChainError> {
        let current: HashSet<TxId> = self.view.mempool.txids().into_iter().collect();
        let add: Vec<&Transaction> = current
            .difference(&self.saved)
            .filter_map(|id| self.view.mempool.get(id).map(|e| &e.tx))
            .collect();
        let remove: Vec<TxId> = self.saved.difference(&current).copied().collect();
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        self.view.chain.save_mempool_diff(&add, &remove)?;
        self.saved = current;
        Ok(())
    }

    fn publish(&self, events: Vec<NodeEvent>) {
        self.shared.events.publish(&events);
    }

    /// Runs a call that may change the active chain, then follows every change it made,
    /// whatever it returned: announcements, mempool, nonce searches.
    fn change_chain(
        &mut self,
        call: impl FnOnce(&mut ChainState) -> Result<Activation, ChainError>,
    ) -> Result<Activation, ChainError> {
        self.shared.check_alive()?;
        let (act, outcome) = match call(&mut self.view.chain) {
            Ok(act) => (act, Ok(())),
            Err(e) => (self.view.chain.take_activation(), Err(e)),
        };
        let followed = self.after_activation(&act);
        if let Some(reason) = self.view.chain.poisoned() {
            self.shared.fail(reason.to_owned());
        }
        match (outcome, followed) {
            (Ok(()), Ok(())) => Ok(act),
            (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
            // A refused block matters less than the storage failure that followed it.
            (Err(call), Err(after)) if !call.is_storage() => Err(after),
            (Err(call), Err(_)) => Err(call),
        }
    }

    /// Follows the changes of the active chain: stops nonce searches, brings the mempool
    /// in line with the new tip and saves it, and tells listeners. Events are published
    /// even when a later step fails: the chain changes they describe are durable.
    ///
    /// The mempool follows the net change: blocks connected and disconnected again (a
    /// reorg that failed and came back) change nothing; transactions of blocks that left
    /// the chain return to the pool, and what conflicts with blocks that joined it leaves.
    fn after_activation(&mut self, act: &Activation) -> Result<(), ChainError> {
        if act.events.is_empty() {
            return Ok(());
        }
        self.shared.stop_searches();
        let events: Vec<NodeEvent> = act
            .events
            .iter()
            .map(|e| match e {
                ChainEvent::Connected { block, height } => NodeEvent::BlockConnected {
                    hash: block.hash(),
                    height: *height,
                },
                ChainEvent::Disconnected { block, height } => NodeEvent::BlockDisconnected {
                    hash: block.hash(),
                    height: *height,
                },
            })
            .collect();
        let result = self.resync_mempool(&act.events);
        self.publish(events);
        let admitted = result?;
        self.publish(
            admitted
                .into_iter()
                .map(|txid| NodeEvent::TxAccepted { txid })
                .collect(),
        );
        Ok(())
    }

    /// Brings the mempool in line with the chain after `events` and saves it; returns
    /// the orphans that joined because their parents were confirmed.
    fn resync_mempool(&mut self, events: &[ChainEvent]) -> Result<Vec<TxId>, ChainError> {
        // The chain's connects and disconnects already dropped the saved records of the
        // transactions they confirmed and saved those of disconnected blocks (in its coins
        // cache, which its next flush writes): keep the record of what is saved exact.
        for e in events {
            match e {
                ChainEvent::Connected { block, .. } => {
                    for tx in &block.txs {
                        self.saved.remove(&tx.txid());
                    }
                }
                ChainEvent::Disconnected { block, .. } => {
                    for tx in block.txs.iter().filter(|tx| !tx.is_coinbase()) {
                        self.saved.insert(tx.txid());
                    }
                }
            }
        }
        let net = net_change(events);
        for block in &net.connected {
            self.view.mempool.block_connected(&block.txs);
        }
        let returned = net.returned();
        let mut admitted = Vec::new();
        {
            let NodeView { chain, mempool } = &mut self.view;
            let ((), error) = chain.with_next_block(self.sig_mode, unix_now(), |ctx| {
                // Transactions that no longer fit are dropped: an outcome, not an error.
                if !returned.is_empty() {
                    mempool.resync(returned, ctx);
                }
                // Orphans whose parents were confirmed rather than relayed.
                for block in &net.connected {
                    let outcome = mempool.block_orphans(&block.txs, ctx);
                    admitted.extend(outcome.added);
                }
            });
            if let Some(e) = error {
                // Coins that could not be read looked spent: the rebuilt pool may miss
                // acknowledged transactions, so it must not replace the saved one.
                self.shared
                    .fail(format!("reading the UTXO set during a mempool resync: {e}"));
                return Err(e);
            }
        }
        self.save_mempool()?;
        Ok(admitted)
    }

    pub(super) fn submit_block(&mut self, block: &Block) -> Result<Activation, ChainError> {
        self.change_chain(|chain| chain.submit_block(block, unix_now()))
    }

    /// Blocks of one download answer, as [`ChainState::submit_downloaded_blocks`]; the
    /// outcome of each in order.
    pub(super) fn submit_downloaded_blocks(
        &mut self,
        blocks: &[Block],
    ) -> Result<Vec<Result<(), ChainError>>, ChainError> {
        let mut outcomes = Vec::new();
        self.change_chain(|chain| {
            let (each, act) = chain.submit_downloaded_blocks(blocks, unix_now())?;
            outcomes = each;
            Ok(act)
        })?;
        Ok(outcomes)
    }

    /// A block nobody asked for (a gossip announcement), as
    /// [`ChainState::submit_unrequested_block`].
    pub(super) fn submit_unrequested_block(
        &mut self,
        block: &Block,
    ) -> Result<Activation, ChainError> {
        self.change_chain(|chain| chain.submit_unrequested_block(block, unix_now()))
    }

    /// A peer's headers, as [`ChainState::accept_peer_headers`]; headers alone never
    /// change the active chain, but a storage failure stops the node.
    pub(super) fn accept_peer_headers(
        &mut self,
        pending: &mut PendingHeaders,
        headers: &[Header],
    ) -> Result<HeadersOutcome, ChainError> {
        self.shared.check_alive()?;
        let result = self
            .view
            .chain
            .accept_peer_headers(pending, headers, unix_now());
        if let Some(reason) = self.view.chain.poisoned() {
            self.shared.fail(reason.to_owned());
        }
        result
    }

    pub(super) fn invalidate_block(&mut self, hash: &BlockHash) -> Result<(), ChainError> {
        self.change_chain(|chain| chain.invalidate_block(hash))
            .map(|_| ())
    }

    pub(super) fn reconsider_block(&mut self, hash: &BlockHash) -> Result<(), ChainError> {
        self.change_chain(|chain| chain.reconsider_block(hash))
            .map(|_| ())
    }

    pub(super) fn submit_transaction(&mut self, tx: Transaction) -> Result<TxId, MempoolError> {
        let txid = tx.txid();
        let not_saved = |reason: String| MempoolError::NotSaved { txid, reason };
        if let Some(reason) = self.shared.failure() {
            return Err(not_saved(reason));
        }
        let accepted = {
            let NodeView { chain, mempool } = &mut self.view;
            let (result, error) =
                chain.with_next_block(self.sig_mode, unix_now(), |ctx| mempool.accept(tx, ctx));
            if let Some(e) = error {
                // A coin that could not be read looked missing: undo what was admitted.
                if let Ok(accepted) = &result {
                    for id in &accepted.added {
                        mempool.remove_with_descendants(id);
                    }
                }
                return Err(MempoolError::Storage {
                    txid,
                    reason: e.to_string(),
                });
            }
            result?
        };
        // Acknowledge only what is on disk. A failed save poisons the chain state: the
        // node stops, and the next start restores whatever reached the disk.
        if let Err(e) = self.save_mempool() {
            for id in &accepted.added {
                self.view.mempool.remove_with_descendants(id);
            }
            // The storage engine's own message, rather than the bare "storage error".
            let reason = self.view.chain.poisoned().map(str::to_owned);
            if let Some(reason) = &reason {
                self.shared.fail(reason.clone());
            }
            return Err(not_saved(reason.unwrap_or_else(|| e.to_string())));
        }
        self.publish(
            accepted
                .added
                .into_iter()
                .map(|txid| NodeEvent::TxAccepted { txid })
                .collect(),
        );
        Ok(txid)
    }

    pub(super) fn test_transaction(&self, tx: &Transaction) -> Result<Amount, MempoolError> {
        let NodeView { chain, mempool } = &self.view;
        let (result, error) =
            chain.with_next_block(self.sig_mode, unix_now(), |ctx| mempool.check(tx, ctx));
        match error {
            Some(e) => Err(MempoolError::Storage {
                txid: tx.txid(),
                reason: e.to_string(),
            }),
            None => result,
        }
    }

    /// Runs a flush of the chain state; a failure stops the node.
    fn flushing<T>(
        &mut self,
        flush: impl FnOnce(&mut ChainState) -> Result<T, ChainError>,
    ) -> Result<T, ChainError> {
        let result = flush(&mut self.view.chain);
        if let Some(reason) = self.view.chain.poisoned() {
            self.shared.fail(reason.to_owned());
        }
        result
    }

    /// One step of the zone-file sweep ([`crate::zonefile::Sweep`]): looks at the next
    /// stored files and removes those unreferenced for `grace` blocks; returns how many
    /// it removed.
    pub(super) fn sweep_zone_files(&mut self, grace: u32) -> Result<usize, ChainError> {
        use crate::zonefile::{SWEEP_PAGE, pending_hashes};
        self.shared.check_alive()?;
        let chain = &self.view.chain;
        let page = chain.stored_zone_files(self.zone_sweep.start(), SWEEP_PAGE)?;
        self.zone_sweep.advance(&page);
        let looked: Vec<_> = page
            .into_iter()
            .map(|h| Ok((h, chain.zone_file_referenced(&h)?)))
            .collect::<Result<_, ChainError>>()?;
        // The mempool is read once a step, and only when a file may go.
        let pending = if looked.iter().all(|(_, on_chain)| *on_chain) {
            HashSet::new()
        } else {
            pending_hashes(&self.view.mempool)
        };
        let height = chain.tip().0;
        let mut remove = Vec::new();
        for (hash, on_chain) in looked {
            let in_use = on_chain || pending.contains(&hash);
            if self.zone_sweep.observe(hash, in_use, height, grace) {
                remove.push(hash);
            }
        }
        if !remove.is_empty() {
            self.flushing(|c| c.remove_zone_files(&remove))?;
        }
        Ok(remove.len())
    }

    pub(super) fn flush_if_due(&mut self) -> Result<bool, ChainError> {
        self.shared.check_alive()?;
        self.flushing(ChainState::flush_if_due)
    }

    pub(super) fn flush(&mut self) -> Result<(), ChainError> {
        self.flushing(ChainState::flush)
    }

    /// Storage fault injection for tests (see [`ChainState::fail_flushes_after`]).
    pub(super) fn fail_flushes_after(&mut self, flushes: u32) {
        self.view.chain.fail_flushes_after(flushes);
    }

    pub(super) fn block_template(
        &self,
        payout: Address,
        extra: Vec<u8>,
    ) -> Result<(Template, BlockHash), NodeError> {
        let NodeView { chain, mempool } = &self.view;
        let (_, tip) = chain.tip();
        let header = chain.next_block_context(unix_now())?;
        let (txs, fees) = mempool.select(template_tx_budget());
        let mut extra_outputs = Vec::new();
        if crate::name_root::carries_name_root(header.height) {
            let root = chain.name_root_after(&txs, header.height)?;
            extra_outputs.push(crate::name_root::name_root_output(&root));
        }
        let ctx = TemplateContext {
            prev: tip,
            header,
            params: &self.params,
            payout,
            extra_outputs,
            extra,
        };
        let template = build_template(&ctx, txs, fees)?;
        Ok((template, tip))
    }
}

/// The text of a panic's payload, when it has one.
pub(super) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// The height a transaction admitted now would be confirmed at.
pub(super) fn next_height(chain: &ChainState) -> Height {
    chain.next_height()
}

/// The net effect of a sequence of chain events: blocks that joined the active chain
/// and blocks that left it, each lowest first; a block that joined and left again (or
/// the reverse) appears in neither.
struct NetChange<'a> {
    connected: Vec<&'a Block>,
    disconnected: Vec<&'a Block>,
}

impl NetChange<'_> {
    /// The non-coinbase transactions of the blocks that left, oldest block first.
    fn returned(&self) -> Vec<Transaction> {
        self.disconnected
            .iter()
            .flat_map(|b| b.txs.iter().filter(|tx| !tx.is_coinbase()).cloned())
            .collect()
    }
}

fn net_change(events: &[ChainEvent]) -> NetChange<'_> {
    let mut net: HashMap<BlockHash, (i32, Height, &Block)> = HashMap::new();
    for e in events {
        let (block, height, delta) = match e {
            ChainEvent::Connected { block, height } => (block, *height, 1),
            ChainEvent::Disconnected { block, height } => (block, *height, -1),
        };
        net.entry(block.hash()).or_insert((0, height, block)).0 += delta;
    }
    let mut connected: Vec<(Height, &Block)> = Vec::new();
    let mut disconnected: Vec<(Height, &Block)> = Vec::new();
    for (count, height, block) in net.into_values() {
        match count.cmp(&0) {
            std::cmp::Ordering::Greater => connected.push((height, block)),
            std::cmp::Ordering::Less => disconnected.push((height, block)),
            std::cmp::Ordering::Equal => {}
        }
    }
    connected.sort_by_key(|(h, _)| *h);
    disconnected.sort_by_key(|(h, _)| *h);
    NetChange {
        connected: connected.into_iter().map(|(_, b)| b).collect(),
        disconnected: disconnected.into_iter().map(|(_, b)| b).collect(),
    }
}
