//! The node: chain state and mempool behind one lock, mining, and an event stream.
//!
//! A network layer feeds the node with [`Node::submit_block`] and
//! [`Node::submit_transaction`] and learns about new blocks and transactions from
//! [`Node::subscribe`], which delivers [`NodeEvent`]s over a channel.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::address::Address;
use crate::block::Block;
use crate::chain::{Activation, ChainEvent, ChainState};
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
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Node {
    /// Opens the chain state in `DIR/chain` and starts with an empty mempool.
    ///
    /// # Errors
    /// [`ChainError`] from opening the store.
    pub fn open(config: NodeConfig) -> Result<Arc<Node>, ChainError> {
        let params = config.params.clone();
        let mut chain = ChainState::open(&config.data_dir.join("chain"), params.clone())?;
        chain.set_sig_mode(config.sig_mode);
        // Re-admit the saved mempool against the current tip; drop what no longer fits.
        let saved_txs = chain.saved_mempool()?;
        let saved: HashSet<TxId> = saved_txs.iter().map(Transaction::txid).collect();
        let mut mempool = Mempool::new(config.mempool);
        {
            let view = crate::store::SledUtxo::new(chain.tree());
            let next = chain.tip().0.next().unwrap_or(Height(u32::MAX));
            mempool.restore(
                saved_txs,
                &view,
                next,
                &params.genesis_hash(),
                config.sig_mode,
            );
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

    /// Applies tip changes to the mempool and tells listeners.
    fn after_activation(&self, st: &mut NodeState, act: &Activation) {
        let mut events = Vec::new();
        let mut returned: Vec<Vec<Transaction>> = Vec::new();
        for e in &act.events {
            match e {
                ChainEvent::Connected { block, height } => {
                    st.mempool.block_connected(&block.txs);
                    events.push(NodeEvent::BlockConnected {
                        hash: block.hash(),
                        height: *height,
                    });
                }
                ChainEvent::Disconnected { block, height } => {
                    returned.push(block.txs.clone());
                    events.push(NodeEvent::BlockDisconnected {
                        hash: block.hash(),
                        height: *height,
                    });
                }
            }
        }
        if !returned.is_empty() {
            // Disconnects arrive tip first; return transactions oldest block first.
            let txs: Vec<Transaction> = returned.into_iter().rev().flatten().collect();
            let NodeState { chain, mempool, .. } = st;
            let view = crate::store::SledUtxo::new(chain_tree(chain));
            let next = chain.tip().0.next().unwrap_or(Height(u32::MAX));
            mempool.resync(
                txs,
                &view,
                next,
                &self.params.genesis_hash(),
                self.config.sig_mode,
            );
        }
        if !act.events.is_empty() {
            self.stop_searches();
        }
        // The chain change is already durable; if saving the mempool diff fails, the next
        // save or the re-validation at the next start brings it back in line.
        let _ = st.save_mempool();
        self.publish(events);
    }

    /// Validates and stores a block, moving to the most-work chain.
    ///
    /// # Errors
    /// [`ChainError`] as for [`ChainState::submit_block`].
    pub fn submit_block(&self, block: &Block) -> Result<Activation, ChainError> {
        let mut st = self.lock();
        let act = st.chain.submit_block(block, unix_now());
        match act {
            Ok(act) => {
                self.after_activation(&mut st, &act);
                Ok(act)
            }
            Err(e) => Err(e),
        }
    }

    /// Validates a transaction against the tip and the mempool and adds it.
    ///
    /// # Errors
    /// [`MempoolError`].
    pub fn submit_transaction(&self, tx: Transaction) -> Result<TxId, MempoolError> {
        let mut st = self.lock();
        let txid = tx.txid();
        let accepted = {
            let NodeState { chain, mempool, .. } = &mut *st;
            let view = crate::store::SledUtxo::new(chain_tree(chain));
            let next = chain.tip().0.next().unwrap_or(Height(u32::MAX));
            mempool.accept(
                tx,
                &view,
                next,
                &self.params.genesis_hash(),
                self.config.sig_mode,
            )?
        };
        // Acknowledge only what is on disk: undo the admission if it cannot be saved.
        if let Err(e) = st.save_mempool() {
            for id in &accepted.added {
                st.mempool.remove_with_descendants(id);
            }
            return Err(MempoolError::NotSaved {
                txid,
                reason: e.to_string(),
            });
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
        let view = crate::store::SledUtxo::new(chain_tree(&st.chain));
        let next = st.chain.tip().0.next().unwrap_or(Height(u32::MAX));
        st.mempool.check(
            tx,
            &view,
            next,
            &self.params.genesis_hash(),
            self.config.sig_mode,
        )
    }

    /// `invalidateblock`.
    ///
    /// # Errors
    /// [`ChainError`].
    pub fn invalidate_block(&self, hash: &BlockHash) -> Result<(), ChainError> {
        let mut st = self.lock();
        let act = st.chain.invalidate_block(hash)?;
        self.after_activation(&mut st, &act);
        Ok(())
    }

    /// `reconsiderblock`.
    ///
    /// # Errors
    /// [`ChainError`].
    pub fn reconsider_block(&self, hash: &BlockHash) -> Result<(), ChainError> {
        let mut st = self.lock();
        let act = st.chain.reconsider_block(hash)?;
        self.after_activation(&mut st, &act);
        Ok(())
    }

    /// A block template on the current tip paying `payout`.
    pub fn block_template(&self, payout: Address, extra: Vec<u8>) -> (Template, BlockHash) {
        let st = self.lock();
        let (_, tip) = st.chain.tip();
        let ctx =
            st.chain
                .next_block_context(unix_now())
                .unwrap_or(crate::validation::HeaderContext {
                    height: Height(0),
                    expected_bits: self.params.pow_limit,
                    median_time_past: 0,
                    prev_time: 0,
                    now: unix_now(),
                });
        let (txs, fees) = st.mempool.select(template_tx_budget());
        (
            build_template(tip, &ctx, &self.params, txs, fees, payout, extra),
            tip,
        )
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
            // Register the stop flag before reading the tip, so that a tip change or a
            // shutdown after this point always reaches the search, and check for a
            // shutdown that came before it.
            let stop = Arc::new(AtomicBool::new(false));
            self.searches
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(stop.clone());
            if self.is_shutting_down() {
                return Err(NodeError::ShuttingDown);
            }
            let (template, _) = self.block_template(payout, extra_nonce.to_le_bytes().to_vec());
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

fn chain_tree(chain: &ChainState) -> &sled::Tree {
    chain.tree()
}
