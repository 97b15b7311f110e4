//! The node: chain state and mempool behind one lock, mining, and an event stream.
//!
//! A network layer feeds the node with [`Node::submit_block`] and
//! [`Node::submit_transaction`] and learns about new blocks and transactions from
//! [`Node::subscribe`], which delivers [`NodeEvent`]s over a channel.
//!
//! Every change of the active chain is announced, resyncs the mempool and stops running
//! nonce searches, whatever the call that caused it returns: the chain state journals
//! each change as it happens and the node takes the journal after every call. A storage
//! failure is fatal: the node records it ([`Node::failure`]), refuses further changes and
//! shuts down, so that a restart reloads the state from disk.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::address::Address;
use crate::block::Block;
use crate::chain::{Activation, CacheConfig, ChainEvent, ChainState};
use crate::error::{ChainError, MempoolError, NodeError};
use crate::hash::{BlockHash, TxId};
use crate::mempool::{Mempool, MempoolConfig};
use crate::miner::{SearchResult, Template, build_template, search_nonce, template_tx_budget};
use crate::params::{Network, Params};
use crate::signature::SigMode;
use crate::transaction::Transaction;
use crate::units::{Amount, Height};

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
        }
    }
}

/// Something the node learned, for a network layer or other listeners.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// A block joined the active chain.
    BlockConnected {
        /// Its hash.
        hash: BlockHash,
        /// Its height.
        height: Height,
    },
    /// A block left the active chain.
    BlockDisconnected {
        /// Its hash.
        hash: BlockHash,
        /// Its height.
        height: Height,
    },
    /// A transaction entered the mempool.
    TxAccepted {
        /// Its txid.
        txid: TxId,
    },
}

/// Chain state and mempool, always changed together.
#[derive(Debug)]
pub struct NodeState {
    /// The chain state.
    pub chain: ChainState,
    /// The mempool.
    pub mempool: Mempool,
    /// Txids of the mempool as last saved to disk.
    saved: HashSet<TxId>,
}

impl NodeState {
    /// Saves the difference between the mempool and its last saved state (one batch and
    /// a flush, nothing when unchanged), so that an accepted transaction survives a crash.
    fn save_mempool(&mut self) -> Result<(), ChainError> {
        let current: HashSet<TxId> = self.mempool.txids().into_iter().collect();
        let add: Vec<&Transaction> = current
            .difference(&self.saved)
            .filter_map(|id| self.mempool.get(id).map(|e| &e.tx))
            .collect();
        let remove: Vec<TxId> = self.saved.difference(&current).copied().collect();
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        self.chain.save_mempool_diff(&add, &remove)?;
        self.saved = current;
        Ok(())
    }
}

/// A running node.
#[derive(Debug)]
pub struct Node {
    state: Mutex<NodeState>,
    params: Params,
    config: NodeConfig,
    subscribers: Mutex<Vec<Sender<NodeEvent>>>,
    /// Stop flags of running nonce searches, raised when the tip changes.
    searches: Mutex<Vec<Arc<AtomicBool>>>,
    shutdown: AtomicBool,
    /// The storage failure that stopped the node.
    failure: Mutex<Option<String>>,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Node {
    /// Opens the chain state in `DIR/chain` and rebuilds the mempool: the saved
    /// transactions, and those of blocks that opening the store disconnected (an
    /// interrupted reorg resumed, invalid blocks rewound), re-validated against the tip.
    /// Nothing listens yet, so the changes made while opening are not announced.
    ///
    /// # Errors
    /// [`ChainError`] from opening the store or from saving the rebuilt mempool.
    pub fn open(config: NodeConfig) -> Result<Arc<Node>, ChainError> {
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
        {
            let view = chain.utxo_view();
            // Refused transactions are an outcome: they no longer fit the chain.
            mempool.restore(
                txs,
                &view,
                next_height(&chain),
                &params.genesis_hash(),
                config.sig_mode,
            );
            if let Some(e) = view.take_error() {
                return Err(e);
            }
        }
        let mut state = NodeState {
            chain,
            mempool,
            saved,
        };
        state.save_mempool()?;
        Ok(Arc::new(Node {
            state: Mutex::new(state),
            params,
            config,
            subscribers: Mutex::new(Vec::new()),
            searches: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
            failure: Mutex::new(None),
        }))
    }

    /// The network parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The settings.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Locks the state. A panic in another holder does not poison it for readers: the
    /// state on disk is always consistent, and in memory it is only changed after disk.
    pub fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A channel of future [`NodeEvent`]s.
    pub fn subscribe(&self) -> Receiver<NodeEvent> {
        let (tx, rx) = channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        rx
    }

    fn publish(&self, events: Vec<NodeEvent>) {
        if events.is_empty() {
            return;
        }
        let mut subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| events.iter().all(|e| s.send(e.clone()).is_ok()));
    }

    /// A flag raised at the next change of the active chain or at shutdown: a nonce
    /// search on a template from the current tip polls it to stop in time. Take it before
    /// reading the tip, so that no change can come in between unseen.
    pub fn tip_change_flag(&self) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        let mut searches = self.searches.lock().unwrap_or_else(|p| p.into_inner());
        // Forget flags whose searches ended.
        searches.retain(|f| Arc::strong_count(f) > 1);
        searches.push(flag.clone());
        if self.is_shutting_down() {
            flag.store(true, Ordering::Relaxed);
        }
        flag
    }

    fn stop_searches(&self) {
        for flag in self
            .searches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Asks long-running work (mining) to stop; used by the `stop` RPC.
    pub fn shutdown(&self) {
        self.shutdown.store(true, Ordering::Relaxed);
        self.stop_searches();
    }

    /// Whether [`Node::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// The storage failure that stopped the node, if one did. The node then refuses every
    /// change and shuts down; restarting it reloads the state from disk.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records a fatal storage failure (the first one wins) and shuts down.
    fn fail(&self, reason: String) {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(reason);
        self.shutdown();
    }

    /// Refuses changes after a fatal failure.
    fn check_alive(&self) -> Result<(), ChainError> {
        match self.failure() {
            Some(reason) => Err(ChainError::Poisoned { reason }),
            None => Ok(()),
        }
    }

    /// Runs a call that may change the active chain, then follows every change it made,
    /// whatever it returned: announcements, mempool, nonce searches.
    fn change_chain(
        &self,
        st: &mut NodeState,
        call: impl FnOnce(&mut ChainState) -> Result<Activation, ChainError>,
    ) -> Result<Activation, ChainError> {
        self.check_alive()?;
        let (act, outcome) = match call(&mut st.chain) {
            Ok(act) => (act, Ok(())),
            Err(e) => (st.chain.take_activation(), Err(e)),
        };
        let followed = self.after_activation(st, &act);
        if let Some(reason) = st.chain.poisoned() {
            self.fail(reason.to_owned());
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
    fn after_activation(&self, st: &mut NodeState, act: &Activation) -> Result<(), ChainError> {
        if act.events.is_empty() {
            return Ok(());
        }
        self.stop_searches();
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
        let result = self.resync_mempool(st, &act.events);
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
    fn resync_mempool(
        &self,
        st: &mut NodeState,
        events: &[ChainEvent],
    ) -> Result<Vec<TxId>, ChainError> {
        // The chain's connects and disconnects already dropped the saved records of the
        // transactions they confirmed and saved those of disconnected blocks (in its coins
        // cache, which its next flush writes): keep the record of what is saved exact.
        for e in events {
            match e {
                ChainEvent::Connected { block, .. } => {
                    for tx in &block.txs {
                        st.saved.remove(&tx.txid());
                    }
                }
                ChainEvent::Disconnected { block, .. } => {
                    for tx in block.txs.iter().filter(|tx| !tx.is_coinbase()) {
                        st.saved.insert(tx.txid());
                    }
                }
            }
        }
        let net = net_change(events);
        for block in &net.connected {
            st.mempool.block_connected(&block.txs);
        }
        let returned = net.returned();
        let mut admitted = Vec::new();
        {
            let NodeState { chain, mempool, .. } = &mut *st;
            let view = chain.utxo_view();
            let (next, chain_id, mode) = (
                next_height(chain),
                self.params.genesis_hash(),
                self.config.sig_mode,
            );
            // Transactions that no longer fit are dropped: an outcome, not an error.
            if !returned.is_empty() {
                mempool.resync(returned, &view, next, &chain_id, mode);
            }
            // Orphans whose parents were confirmed rather than relayed.
            for block in &net.connected {
                let outcome = mempool.block_orphans(&block.txs, &view, next, &chain_id, mode);
                admitted.extend(outcome.added);
            }
            if let Some(e) = view.take_error() {
                // Coins that could not be read looked spent: the rebuilt pool may miss
                // acknowledged transactions, so it must not replace the saved one.
                self.fail(format!("reading the UTXO set during a mempool resync: {e}"));
                return Err(e);
            }
        }
        st.save_mempool()?;
        Ok(admitted)
    }

    /// Validates and stores a block, moving to the best chain. Changes of the active
    /// chain are announced and followed even when the block then fails.
    ///
    /// # Errors
    /// [`ChainError`] as for [`ChainState::submit_block`]; a storage failure stops the
    /// node ([`Node::failure`]).
    pub fn submit_block(&self, block: &Block) -> Result<Activation, ChainError> {
        let mut st = self.lock();
        self.change_chain(&mut st, |chain| chain.submit_block(block, unix_now()))
    }

    /// Validates a transaction against the tip and the mempool and adds it; answers only
    /// once the pool, evictions included, is saved.
    ///
    /// # Errors
    /// [`MempoolError`]; [`MempoolError::NotSaved`] after a storage failure, which also
    /// stops the node.
    pub fn submit_transaction(&self, tx: Transaction) -> Result<TxId, MempoolError> {
        let txid = tx.txid();
        let not_saved = |reason: String| MempoolError::NotSaved { txid, reason };
        if let Some(reason) = self.failure() {
            return Err(not_saved(reason));
        }
        let mut st = self.lock();
        let accepted = {
            let NodeState { chain, mempool, .. } = &mut *st;
            let view = chain.utxo_view();
            let result = mempool.accept(
                tx,
                &view,
                next_height(chain),
                &self.params.genesis_hash(),
                self.config.sig_mode,
            );
            if let Some(e) = view.take_error() {
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
        if let Err(e) = st.save_mempool() {
            for id in &accepted.added {
                st.mempool.remove_with_descendants(id);
            }
            // The storage engine's own message, rather than the bare "storage error".
            let reason = st.chain.poisoned().map(str::to_owned);
            if let Some(reason) = &reason {
                self.fail(reason.clone());
            }
            return Err(not_saved(reason.unwrap_or_else(|| e.to_string())));
        }
        drop(st);
        self.publish(
            accepted
                .added
                .into_iter()
                .map(|txid| NodeEvent::TxAccepted { txid })
                .collect(),
        );
        Ok(txid)
    }

    /// Validates a transaction without adding it (`testmempoolaccept`); returns its fee.
    ///
    /// # Errors
    /// [`MempoolError`].
    pub fn test_transaction(&self, tx: &Transaction) -> Result<Amount, MempoolError> {
        let st = self.lock();
        let view = st.chain.utxo_view();
        let result = st.mempool.check(
            tx,
            &view,
            next_height(&st.chain),
            &self.params.genesis_hash(),
            self.config.sig_mode,
        );
        match view.take_error() {
            Some(e) => Err(MempoolError::Storage {
                txid: tx.txid(),
                reason: e.to_string(),
            }),
            None => result,
        }
    }

    /// Flushes the chain state's coins cache if a bound of its configuration is reached
    /// (see [`ChainState::flush_if_due`]); a failure stops the node.
    ///
    /// # Errors
    /// [`ChainError`] from the flush.
    pub fn flush_if_due(&self) -> Result<bool, ChainError> {
        self.check_alive()?;
        let mut st = self.lock();
        let result = st.chain.flush_if_due();
        if let Some(reason) = st.chain.poisoned() {
            self.fail(reason.to_owned());
        }
        result
    }

    /// Writes the chain state's coins cache to disk (at a clean shutdown); a failure
    /// stops the node.
    ///
    /// # Errors
    /// [`ChainError`] from the flush.
    pub fn flush(&self) -> Result<(), ChainError> {
        let mut st = self.lock();
        let result = st.chain.flush();
        if let Some(reason) = st.chain.poisoned() {
            self.fail(reason.to_owned());
        }
        result
    }

    /// `invalidateblock`.
    ///
    /// # Errors
    /// [`ChainError`].
    pub fn invalidate_block(&self, hash: &BlockHash) -> Result<(), ChainError> {
        let mut st = self.lock();
        self.change_chain(&mut st, |chain| chain.invalidate_block(hash))
            .map(|_| ())
    }

    /// `reconsiderblock`.
    ///
    /// # Errors
    /// [`ChainError`].
    pub fn reconsider_block(&self, hash: &BlockHash) -> Result<(), ChainError> {
        let mut st = self.lock();
        self.change_chain(&mut st, |chain| chain.reconsider_block(hash))
            .map(|_| ())
    }

    /// A block template on the current tip paying `payout`.
    ///
    /// # Errors
    /// [`ChainError`] if the tip's context cannot be read, [`NodeError::Template`] if
    /// the reward cannot be paid.
    pub fn block_template(
        &self,
        payout: Address,
        extra: Vec<u8>,
    ) -> Result<(Template, BlockHash), NodeError> {
        let st = self.lock();
        let (_, tip) = st.chain.tip();
        let ctx = st.chain.next_block_context(unix_now())?;
        let (txs, fees) = st.mempool.select(template_tx_budget());
        let template = build_template(tip, &ctx, &self.params, txs, fees, payout, extra)?;
        Ok((template, tip))
    }

    /// Mines `n` blocks paying `payout` (`generatetoaddress`), returning their hashes.
    /// A search restarts on a new template when the tip changes underneath it.
    ///
    /// # Errors
    /// [`NodeError::ShuttingDown`], or a [`ChainError`] if a mined block is refused.
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
            match search_nonce(&template.block.header, self.config.mining_threads, &stop) {
                SearchResult::Found(header) => {
                    let block = Block {
                        header,
                        txs: template.block.txs,
                    };
                    match self.submit_block(&block) {
                        Ok(_) => hashes.push(block.hash()),
                        // Someone else extended the tip first: mine on the new tip.
                        Err(ChainError::Duplicate { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                SearchResult::Exhausted => extra_nonce += 1,
                SearchResult::Stopped => {}
            }
        }
        Ok(hashes)
    }
}

/// The height a transaction admitted now would be confirmed at.
fn next_height(chain: &ChainState) -> Height {
    // At the largest height no block can follow; Height(u32::MAX) then makes every
    // transaction wait for a block that never comes, which is what it does.
    chain.tip().0.next().unwrap_or(Height(u32::MAX))
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
