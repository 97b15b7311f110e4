//! The chain state: block store, block index with forks, UTXO set, undo data, the
//! derived indexes of `crate::index` (addresses, names), all in one sled tree; most-work
//! chain selection with reorgs.
//!
//! Blocks, index entries, validity marks and the saved mempool are written at once (one
//! `apply_batch` and a flush each; the blocks of one download answer share one flush,
//! taken before anyone hears of them). Connects and disconnects change the coins cache
//! (`cache.rs`), which every read goes through; the cache is written atomically together
//! with the flushed tip marker (one batch, or through the redo log of `redo.rs` when it
//! holds more than 2,048 writes) when it passes a bound of its [`CacheConfig`], and on
//! [`ChainState::flush`]. The stored UTXO set therefore always describes a fully
//! connected tip that the stored blocks and index support, and may lag the active tip:
//! on open, the best valid chain above it is connected again from the stored blocks.
//!
//! The block index holds headers with or without data (`headers.rs` accepts header
//! batches, answers locators and names the blocks to download); `tree.rs` keeps what
//! selection needs without scanning the index per block: each block's children, the
//! blocks whose ancestry lacks data, the candidate set ordered as Core's
//! `setBlockIndexCandidates`, and the best-header chain.
//!
//! Every change of the active chain is written to a journal as it happens, so that no
//! caller loses one because the call that caused it failed later (see
//! [`ChainState::take_activation`]). A failed write poisons the state: memory and disk may
//! then disagree, so it refuses every further change until it is reopened from disk.

mod activate;
mod cache;
mod derived;
mod format;
mod headers;
pub(crate) mod redo;
mod tree;
mod write;

pub use cache::{
    CacheConfig, CacheUsage, DEFAULT_DBCACHE_MIB, DEFAULT_FLUSH_BLOCKS, DEFAULT_FLUSH_INTERVAL,
};
pub(crate) use cache::{CoinsView, StoreView};

use cache::CoinsCache;
pub use headers::{
    ANTI_DOS_TIP_BLOCKS, HeadersOutcome, MAX_HEADERS_RESULTS, MAX_LOCATOR_HASHES,
    MAX_PENDING_HEADERS, PendingHeaders,
};
use tree::Tree;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use crate::block::Block;
use crate::encoding::{BlockStatus, IndexEntry, Validity, encode_to_vec};
use crate::error::{BlockError, ChainError};
use crate::hash::BlockHash;
use crate::index::DerivedIndex;
use crate::params::Params;
use crate::pow::{CompactTarget, Target};
use crate::signature::SigMode;
use crate::store::{
    FORMAT_VERSION, KEY_TIP, KEY_VERSION, P_BLOCK, P_COIN, P_HEIGHT, P_INDEX, P_UNDO, coin_key,
    get, hash_key, height_key,
};
use crate::transaction::OutPoint;
use crate::u256::U256;
use crate::units::Height;
use crate::validation::{BlockUndo, Coin, HeaderContext};

/// Key of the genesis hash the store was created for.
const KEY_GENESIS: &[u8] = b"g";

/// sled's own page cache, in bytes of the pages' stored size (sled's default is 1 GiB).
/// The coins cache (`cache.rs`) is where reads are served from memory; sled's cache
/// keeps the tree nodes a node touched, and took a syncing node from 87 to 185 MiB over
/// 50,000 blocks at 64 MiB against 112 MiB at this size, at the same sync rate (ADR 0039).
const SLED_CACHE_BYTES: u64 = 8 << 20;

/// A change of the active chain, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainEvent {
    /// A block became the new tip.
    Connected {
        /// The block.
        block: Block,
        /// Its height.
        height: Height,
    },
    /// The tip block was removed from the active chain.
    Disconnected {
        /// The block.
        block: Block,
        /// Its height.
        height: Height,
    },
}

/// What a chain activation did: the changes of the active chain since they were last
/// taken, in the order they happened.
#[derive(Debug, Default)]
pub struct Activation {
    /// Tip changes in order.
    pub events: Vec<ChainEvent>,
    /// Blocks found invalid while connecting them, now marked invalid.
    pub invalid: Vec<(BlockHash, BlockError)>,
}

/// The kind of a chain tip, as `getchaintips` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TipStatus {
    /// The active tip.
    Active,
    /// A branch not on the active chain whose blocks are not known to be invalid.
    ValidFork,
    /// A branch containing an invalid block.
    Invalid,
    /// A branch with a block whose data is not stored (Core's `headers-only`).
    HeadersOnly,
    /// A branch whose blocks are all stored but not all connected (Core's
    /// `valid-headers`).
    ValidHeaders,
}

impl TipStatus {
    /// Bitcoin Core's name for it in `getchaintips`.
    pub fn name(self) -> &'static str {
        match self {
            TipStatus::Active => "active",
            TipStatus::ValidFork => "valid-fork",
            TipStatus::Invalid => "invalid",
            TipStatus::HeadersOnly => "headers-only",
            TipStatus::ValidHeaders => "valid-headers",
        }
    }
}

/// One chain tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainTip {
    /// Tip hash.
    pub hash: BlockHash,
    /// Tip height.
    pub height: Height,
    /// Blocks from the fork point with the active chain.
    pub branch_len: u32,
    /// Status.
    pub status: TipStatus,
}

/// The chain state over a sled database.
#[derive(Debug)]
pub struct ChainState {
    db: sled::Db,
    params: Params,
    index: HashMap<BlockHash, IndexEntry>,
    /// Children, unlinked blocks, candidates and the best-header chain over `index`.
    tree: Tree,
    active: Vec<BlockHash>,
    sig_mode: SigMode,
    /// Changes of the active chain not yet handed to a caller.
    journal: Activation,
    /// Whether connects and disconnects are journaled (not during a reindex).
    journal_events: bool,
    /// The arrival number of the next stored block.
    next_sequence: u64,
    /// Set by the first failed write; every later change is refused.
    poisoned: Option<String>,
    /// Storage fault injection for tests: flushes left before every flush fails.
    flush_fault: std::cell::Cell<Option<u32>>,
    /// Storage fault injection for tests: a flush through the redo log stops (as a crash
    /// would) before applying its batch of this number.
    redo_fault: Option<usize>,
    /// Changes of connects and disconnects not yet written to sled.
    cache: CoinsCache,
    /// Index entries raised to [`Validity::Connected`] since the last flush; written
    /// with it (the level is a hint: a crash before the flush connects them again).
    connected_unflushed: HashSet<BlockHash>,
    /// When the cache is written.
    cache_config: CacheConfig,
    /// The derived indexes ([`crate::index::registry`]), in connect order.
    indexes: Vec<Box<dyn DerivedIndex>>,
}

/// Writes the coins cache as [`ChainState::flush`] does. A failure here loses nothing
/// acknowledged: the blocks and index are durable, and the next open connects again what
/// the stored UTXO set lacks. [`ChainState::flush`] is the way to learn of a failure.
impl Drop for ChainState {
    fn drop(&mut self) {
        if self.poisoned.is_none() && !self.cache.is_empty() {
            // No caller to tell; the next open replays what did not reach the disk.
            self.flush().ok();
        }
    }
}

impl ChainState {
    /// Opens (or creates) the chain state in directory `path`.
    ///
    /// # Errors
    /// [`ChainError::WrongStore`] for another network or format, storage errors.
    pub fn open(path: &Path, params: Params) -> Result<Self, ChainError> {
        Self::open_with(path, params, CacheConfig::default())
    }

    /// Opens (or creates) the chain state in directory `path` with the coins cache
    /// bounded by `cache` (which already applies to the blocks connected again at open).
    ///
    /// # Errors
    /// As [`ChainState::open`].
    pub fn open_with(path: &Path, params: Params, cache: CacheConfig) -> Result<Self, ChainError> {
        let db = Self::open_db(path)?;
        let mut state = Self::bare(db, params);
        state.cache_config = cache;
        state.start()?;
        Ok(state)
    }

    /// Opens the store for [`ChainState::reindex`] only: checks the format and network
    /// but neither loads nor trusts the UTXO set, undo data or active chain, so that a
    /// store whose derived records are damaged can still be rebuilt.
    ///
    /// # Errors
    /// [`ChainError::WrongStore`], storage errors.
    pub fn open_for_reindex(path: &Path, params: Params) -> Result<Self, ChainError> {
        let db = Self::open_db(path)?;
        let mut state = Self::bare(db, params);
        match state.check_or_init() {
            Err(ChainError::OldFormat { found, .. }) => state.upgrade_index(found)?,
            other => other?,
        }
        state.recover_redo()?;
        Ok(state)
    }

    fn open_db(path: &Path) -> Result<sled::Db, ChainError> {
        // sled releases its file lock from background threads shortly after the previous
        // handle is dropped; wait briefly for it instead of failing a quick reopen.
        let started = std::time::Instant::now();
        let db = loop {
            let config = sled::Config::new()
                .path(path)
                .cache_capacity(SLED_CACHE_BYTES);
            match config.open() {
                // sled reports a held lock as a custom I/O error ("could not acquire
                // lock") whose kind is `Other`, wrapping the `WouldBlock` of flock.
                Err(sled::Error::Io(e))
                    if (e.kind() == std::io::ErrorKind::WouldBlock
                        || e.to_string().contains("could not acquire lock"))
                        && started.elapsed() < std::time::Duration::from_secs(10) =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => break other?,
            }
        };
        Ok(db)
    }

    /// A chain state in a temporary sled database, removed when dropped.
    ///
    /// # Errors
    /// Storage errors.
    pub fn open_temporary(params: Params) -> Result<Self, ChainError> {
        let db = sled::Config::new().temporary(true).open()?;
        let mut state = Self::bare(db, params);
        state.start()?;
        Ok(state)
    }

    fn bare(db: sled::Db, params: Params) -> Self {
        ChainState {
            db,
            params,
            index: HashMap::new(),
            tree: Tree::default(),
            active: Vec::new(),
            sig_mode: SigMode::default(),
            journal: Activation::default(),
            journal_events: true,
            next_sequence: 1,
            poisoned: None,
            flush_fault: std::cell::Cell::new(None),
            redo_fault: None,
            cache: CoinsCache::default(),
            connected_unflushed: HashSet::new(),
            cache_config: CacheConfig::default(),
            indexes: crate::index::registry(),
        }
    }

    /// Loads the flushed state, undoes invalid blocks on it and connects the best valid
    /// chain from there: blocks connected before a crash that the stored UTXO set lacks
    /// are connected again from the stored blocks, as is an interrupted reorg.
    fn start(&mut self) -> Result<(), ChainError> {
        self.check_or_init()?;
        self.recover_redo()?;
        self.load()?;
        self.rewind_invalid()?;
        // The changes stay journaled for whoever follows the chain (see `take_activation`).
        self.activate(&mut |_, _| {})
    }

    /// Sets how block signatures are checked.
    pub fn set_sig_mode(&mut self, mode: SigMode) {
        self.sig_mode = mode;
    }

    fn init_genesis(&mut self) -> Result<(), ChainError> {
        let genesis = self.params.genesis.clone();
        let hash = genesis.hash();
        let work = Target::from_compact(genesis.header.bits)
            .map(|t| t.work())
            .unwrap_or(U256::ONE);
        let entry = IndexEntry {
            header: genesis.header,
            height: Height(0),
            chainwork: work,
            status: BlockStatus::valid(Validity::Connected),
            sequence: 0,
        };
        let mut batch = sled::Batch::default();
        batch.insert(KEY_VERSION, &FORMAT_VERSION.to_le_bytes());
        batch.insert(KEY_GENESIS, hash.as_bytes());
        batch.insert(hash_key(P_BLOCK, &hash), genesis.to_bytes());
        batch.insert(hash_key(P_INDEX, &hash), encode_to_vec(&entry));
        self.genesis_tip_batch(&mut batch);
        self.commit(batch)
    }

    /// Sets when the coins cache is written (see [`CacheConfig`]); a cache already past
    /// a new bound is written at the next block.
    pub fn set_cache_config(&mut self, config: CacheConfig) {
        self.cache_config = config;
    }

    /// When the coins cache is written.
    pub fn cache_config(&self) -> CacheConfig {
        self.cache_config
    }

    /// What the coins cache holds now.
    pub fn cache_usage(&self) -> CacheUsage {
        self.cache.usage()
    }

    /// Takes the changes of the active chain made since they were last taken.
    ///
    /// The mutating calls ([`ChainState::submit_block`], [`ChainState::invalidate_block`],
    /// [`ChainState::reconsider_block`], [`ChainState::activate_best_chain`]) return them
    /// on success; when such a call fails after it changed the active chain (a reorg that
    /// ends on an invalid block, a storage failure part-way), the changes stay here, and
    /// so do those of opening the store (an interrupted reorg resumed, invalid blocks
    /// rewound). A caller that follows the chain takes them after every call.
    pub fn take_activation(&mut self) -> Activation {
        std::mem::take(&mut self.journal)
    }

    /// The records that make genesis the connected tip (it creates no coins).
    fn genesis_tip_batch(&self, batch: &mut sled::Batch) {
        let hash = self.params.genesis_hash();
        batch.insert(
            hash_key(P_UNDO, &hash),
            encode_to_vec(&BlockUndo::default()),
        );
        batch.insert(height_key(Height(0)), hash.as_bytes());
        batch.insert(KEY_TIP, hash.as_bytes());
    }

    fn load(&mut self) -> Result<(), ChainError> {
        self.index.clear();
        self.next_sequence = 1;
        for item in self.db.scan_prefix([P_INDEX]) {
            let (key, value) = item?;
            let hash = key_hash(&key)?;
            let entry: IndexEntry = crate::encoding::decode_exact(&value)
                .map_err(|e| crate::store::corrupt(&key, e))?;
            self.next_sequence = self.next_sequence.max(entry.sequence.saturating_add(1));
            self.index.insert(hash, entry);
        }
        self.active.clear();
        for item in self.db.scan_prefix([P_HEIGHT]) {
            let (key, value) = item?;
            let hash = BlockHash(value.as_ref().try_into().map_err(|_| ChainError::Missing {
                what: format!("active chain entry {}", hex::encode(&key)),
            })?);
            self.active.push(hash);
        }
        let tip: Option<[u8; 32]> = self
            .db
            .get(KEY_TIP)?
            .and_then(|t| t.as_ref().try_into().ok());
        if tip.map(BlockHash) != self.active.last().copied() {
            return Err(ChainError::Missing {
                what: "a tip matching the active chain".into(),
            });
        }
        // INVARIANT: every active block has an index entry with data at its height;
        // `connect_tip` only appends stored blocks, and entries are never removed.
        for (height, hash) in self.active.iter().enumerate() {
            let entry = self.index.get(hash);
            if entry.map(|e| e.height.0 as usize) != Some(height)
                || !entry.is_some_and(|e| e.status.has_data())
            {
                return Err(ChainError::Missing {
                    what: format!("the index entry of active block {hash} at height {height}"),
                });
            }
        }
        self.rebuild_tree()
    }

    /// The network parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Height and hash of the active tip.
    pub fn tip(&self) -> (Height, BlockHash) {
        let hash = self.active.last().copied().unwrap_or_default();
        (Height(self.active.len().saturating_sub(1) as u32), hash)
    }

    /// The height of the next block on the active tip: what a transaction admitted now
    /// would be confirmed at.
    pub fn next_height(&self) -> Height {
        // At the largest height no block can follow; Height(u32::MAX) then makes every
        // transaction wait for a block that never comes, which is what it does.
        self.tip().0.next().unwrap_or(Height(u32::MAX))
    }

    /// The index entry of the active tip.
    ///
    /// # Errors
    /// [`ChainError::Missing`] if the tip has no index entry, which opening the store
    /// rules out (it checks every active block).
    pub fn tip_entry(&self) -> Result<IndexEntry, ChainError> {
        let (_, hash) = self.tip();
        self.index
            .get(&hash)
            .copied()
            .ok_or_else(|| ChainError::Missing {
                what: format!("the index entry of the tip {hash}"),
            })
    }

    /// The hash of the active block at `height`.
    pub fn hash_at(&self, height: Height) -> Option<BlockHash> {
        self.active.get(height.0 as usize).copied()
    }

    /// The index entry of any stored block.
    pub fn entry(&self, hash: &BlockHash) -> Option<IndexEntry> {
        self.index.get(hash).copied()
    }

    /// Whether `hash` is on the active chain.
    pub fn is_active(&self, hash: &BlockHash) -> bool {
        self.index
            .get(hash)
            .is_some_and(|e| self.hash_at(e.height) == Some(*hash))
    }

    /// A stored block.
    ///
    /// # Errors
    /// Storage or decoding errors.
    pub fn block(&self, hash: &BlockHash) -> Result<Option<Block>, ChainError> {
        get(&self.db, &hash_key(P_BLOCK, hash))
    }

    /// The coins a connected block spent (its undo data), through the coins cache;
    /// `None` for a block that is not connected (or genesis).
    ///
    /// # Errors
    /// Storage or decoding errors.
    pub fn block_undo(&self, hash: &BlockHash) -> Result<Option<BlockUndo>, ChainError> {
        match self.cache.undo(hash) {
            Some(cached) => Ok(cached.cloned()),
            None => get(&self.db, &hash_key(P_UNDO, hash)),
        }
    }

    /// An unspent output of the active chain.
    ///
    /// # Errors
    /// Storage or decoding errors.
    pub fn coin(&self, outpoint: &OutPoint) -> Result<Option<Coin>, ChainError> {
        match self.cache.coin(outpoint) {
            Some(cached) => Ok(cached),
            None => get(&self.db, &coin_key(outpoint)),
        }
    }

    /// The UTXO set of the active tip for validation (the cache over sled).
    pub(crate) fn utxo_view(&self) -> CoinsView<'_> {
        CoinsView::new(&self.cache, &self.db)
    }

    /// The records of the derived indexes as the active tip has them (the cache over
    /// sled).
    pub(crate) fn store_view(&self) -> StoreView<'_> {
        StoreView::new(&self.cache, &self.db)
    }

    /// The whole UTXO set (for checks and tests; linear in its size).
    ///
    /// # Errors
    /// Storage or decoding errors.
    pub fn utxo_set(&self) -> Result<HashMap<OutPoint, Coin>, ChainError> {
        let mut out = HashMap::new();
        for item in self.db.scan_prefix([P_COIN]) {
            let (key, value) = item?;
            let outpoint: OutPoint =
                crate::encoding::decode_exact(key.get(1..).unwrap_or_default())
                    .map_err(|e| crate::store::corrupt(&key, e))?;
            let coin: Coin = crate::encoding::decode_exact(&value)
                .map_err(|e| crate::store::corrupt(&key, e))?;
            out.insert(outpoint, coin);
        }
        for (outpoint, cached) in self.cache.coins() {
            match cached {
                Some(coin) => out.insert(outpoint, coin),
                None => out.remove(&outpoint),
            };
        }
        Ok(out)
    }

    /// The entry of the ancestor of `hash` at `height`.
    fn ancestor(&self, hash: &BlockHash, height: Height) -> Option<IndexEntry> {
        let h = self.ancestor_hash(hash, height)?;
        self.index.get(&h).copied()
    }

    /// The hash of the ancestor of `hash` at `height`: a walk down the parents until the
    /// active or the best-header chain, which answer at once.
    pub(crate) fn ancestor_hash(&self, hash: &BlockHash, height: Height) -> Option<BlockHash> {
        let mut entry = *self.index.get(hash)?;
        let mut current = *hash;
        if entry.height < height {
            return None;
        }
        while entry.height > height {
            if self.hash_at(entry.height) == Some(current) {
                return self.hash_at(height);
            }
            if self.tree.best_at(entry.height) == Some(current) {
                return self.tree.best_at(height);
            }
            current = entry.header.prev;
            entry = *self.index.get(&current)?;
        }
        Some(current)
    }

    /// Bits, height and median time past for a block on the active tip (for mining).
    ///
    /// # Errors
    /// [`ChainError::Missing`] as for [`ChainState::tip_entry`],
    /// [`ChainError::HeightExhausted`] if the tip is at the largest height.
    pub fn next_block_context(&self, now: u64) -> Result<HeaderContext, ChainError> {
        let tip = self.tip_entry()?;
        self.header_context(&tip.header.hash(), now)
            .ok_or(ChainError::HeightExhausted)
    }

    /// Whether `hash` is indexed and neither it nor an ancestor is marked invalid (marks
    /// are carried to descendants when they are set).
    fn branch_valid(&self, hash: &BlockHash) -> bool {
        self.index.get(hash).is_some_and(|e| !e.status.is_failed())
    }

    /// Every tip of the block tree (entries without children, headers included), with
    /// Core's `getchaintips` statuses. Walks the whole index (an RPC answer).
    pub fn chain_tips(&self) -> Vec<ChainTip> {
        let (_, tip_hash) = self.tip();
        let parents = self.parents();
        let mut tips: Vec<ChainTip> = self
            .index
            .iter()
            .filter(|(h, _)| !parents.contains(*h) || **h == tip_hash)
            .map(|(h, e)| {
                let fork = self.path_from_fork(h).map(|(f, _)| f.0).unwrap_or(0);
                let status = if *h == tip_hash {
                    TipStatus::Active
                } else if e.status.is_failed() {
                    TipStatus::Invalid
                } else if !self.is_linked(h) {
                    TipStatus::HeadersOnly
                } else if e.status.validity == Validity::Connected {
                    TipStatus::ValidFork
                } else {
                    TipStatus::ValidHeaders
                };
                ChainTip {
                    hash: *h,
                    height: e.height,
                    branch_len: e.height.0.saturating_sub(fork),
                    status,
                }
            })
            .collect();
        tips.sort_by(|a, b| b.height.cmp(&a.height).then(a.hash.cmp(&b.hash)));
        tips
    }

    /// The saved mempool transactions: the stored records with the cached changes of
    /// connects and disconnects over them, in txid order (undecodable records are
    /// skipped: they are re-validated anyway and rewritten by the next save).
    ///
    /// # Errors
    /// Storage errors.
    pub(crate) fn saved_mempool(&self) -> Result<Vec<crate::transaction::Transaction>, ChainError> {
        let mut records: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for item in self.db.scan_prefix([crate::store::P_MEMPOOL]) {
            let (key, value) = item?;
            records.insert(key.to_vec(), value.to_vec());
        }
        for (txid, record) in self.cache.mempool_records() {
            let key = crate::store::mempool_key(txid);
            match record {
                Some(bytes) => records.insert(key, bytes.to_vec()),
                None => records.remove(&key),
            };
        }
        Ok(records
            .values()
            .filter_map(|value| crate::encoding::decode_exact(value).ok())
            .collect())
    }

    /// Adds and removes saved mempool transactions in one batch, then flushes. What it
    /// writes supersedes the cached records of the same transactions.
    ///
    /// # Errors
    /// Storage errors.
    pub(crate) fn save_mempool_diff(
        &mut self,
        add: &[&crate::transaction::Transaction],
        remove: &[crate::hash::TxId],
    ) -> Result<(), ChainError> {
        let mut batch = sled::Batch::default();
        let mut written = Vec::with_capacity(add.len() + remove.len());
        for txid in remove {
            batch.remove(crate::store::mempool_key(txid));
            written.push(*txid);
        }
        for tx in add {
            let txid = tx.txid();
            batch.insert(crate::store::mempool_key(&txid), tx.to_bytes());
            written.push(txid);
        }
        self.commit(batch)?;
        self.cache.forget_mempool(written);
        Ok(())
    }

    /// Compact bits of the active tip.
    ///
    /// # Errors
    /// As [`ChainState::tip_entry`].
    pub fn tip_bits(&self) -> Result<CompactTarget, ChainError> {
        Ok(self.tip_entry()?.header.bits)
    }
}

fn key_hash(key: &[u8]) -> Result<BlockHash, ChainError> {
    key.get(1..)
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .map(BlockHash)
        .ok_or_else(|| ChainError::Missing {
            what: format!("a 32-byte hash in key {}", hex::encode(key)),
        })
}
