//! The coins cache: what connected and disconnected blocks changed in the UTXO set, the
//! derived indexes (`crate::index`), undo data, active-chain heights and saved mempool,
//! held in memory over sled and written atomically when flushed (Bitcoin Core's
//! `CCoinsViewCache` with its `-dbcache` bound and periodic flushes).
//!
//! Every entry differs from disk. A coin entry is *fresh* when disk has no coin at its
//! outpoint, so that a coin created and spent between two flushes is simply forgotten
//! and never reaches disk. The derived indexes' records are kept as key writes in key
//! order, so that scans merge them with sled's. Reads go through [`CoinsView`]
//! (validation, the mempool), [`StoreView`] (the indexes) or the chain state's queries,
//! which lay the cache over what sled holds.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::encoding::encode_to_vec;
use crate::error::ChainError;
use crate::hash::{BlockHash, TxId};
use crate::index::{IndexRead, Records, Writes, merge_scan, range_from, scan_start};
use crate::store::{coin_key, get, hash_key, height_key, mempool_key};
use crate::transaction::OutPoint;
use crate::units::Height;
use crate::validation::{BlockUndo, Coin, UtxoView};

/// The default memory bound of the coins cache, in MiB (Bitcoin Core's `-dbcache`
/// default).
pub const DEFAULT_DBCACHE_MIB: usize = 450;
/// The default number of blocks connected or disconnected between two flushes.
pub const DEFAULT_FLUSH_BLOCKS: u32 = 10_000;
/// The default longest time a change stays unflushed (checked at every block, and by
/// [`crate::Node::flush_if_due`]).
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(600);

/// Estimated memory of one coin entry: the map slot (outpoint, coin, flags, hash-table
/// overhead).
const COIN_ENTRY_BYTES: usize = 160;
/// Estimated overhead of one index record write beyond its key and value bytes.
const RECORD_OVERHEAD_BYTES: usize = 96;
/// Estimated memory of one spent coin in cached undo data.
const UNDO_COIN_BYTES: usize = 96;
/// Estimated fixed memory of any other entry (undo record, height, mempool record).
const ENTRY_BYTES: usize = 96;

/// When the coins cache is written to disk: whichever bound is reached first, checked
/// after every connected or disconnected block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// Estimated memory of the cache, in bytes, past which it is flushed. 0 flushes
    /// after every block (every change durable at once, as without a cache).
    pub max_bytes: usize,
    /// Blocks connected or disconnected since the last flush after which it is flushed.
    pub max_blocks: u32,
    /// Time since the first unflushed change after which it is flushed.
    pub max_age: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_bytes: DEFAULT_DBCACHE_MIB << 20,
            max_blocks: DEFAULT_FLUSH_BLOCKS,
            max_age: DEFAULT_FLUSH_INTERVAL,
        }
    }
}

impl CacheConfig {
    /// A cache that flushes after every connected or disconnected block.
    pub fn flush_every_block() -> Self {
        CacheConfig {
            max_bytes: 0,
            ..CacheConfig::default()
        }
    }
}

/// How much the cache holds, as reported by [`crate::ChainState::cache_usage`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheUsage {
    /// Coin entries (created or spent since the last flush).
    pub coins: usize,
    /// Blocks connected or disconnected since the last flush.
    pub blocks: u32,
    /// Estimated memory in bytes.
    pub bytes: usize,
}

/// A coin whose state differs from disk.
#[derive(Clone, Copy, Debug)]
struct Entry {
    coin: Coin,
    spent: bool,
    /// Disk has no coin at this outpoint: spending it forgets the entry.
    fresh: bool,
}

/// The unflushed changes of the chain state.
#[derive(Debug, Default)]
pub(super) struct CoinsCache {
    coins: HashMap<OutPoint, Entry>,
    /// Records of the derived indexes written (`Some`) or deleted (`None`), with their
    /// undo records.
    records: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    records_bytes: usize,
    /// Undo data written (`Some`) or removed (`None`).
    undo: HashMap<BlockHash, Option<BlockUndo>>,
    /// Active-chain heights set or removed.
    heights: BTreeMap<Height, Option<BlockHash>>,
    /// Saved mempool records written (the encoded transaction) or removed.
    mempool: HashMap<TxId, Option<Vec<u8>>>,
    undo_bytes: usize,
    mempool_bytes: usize,
    blocks: u32,
    since: Option<Instant>,
}

impl CoinsCache {
    /// Whether nothing differs from disk.
    pub(super) fn is_empty(&self) -> bool {
        self.coins.is_empty()
            && self.records.is_empty()
            && self.undo.is_empty()
            && self.heights.is_empty()
            && self.mempool.is_empty()
    }

    /// A coin the active chain gained: created by a connected block, or restored by a
    /// disconnected one.
    ///
    /// A new entry is fresh: a created outpoint is never unspent on disk (transaction
    /// identifiers do not repeat on a chain: each coinbase carries its height, and every
    /// other transaction spends an output that exists only once), and a restored coin
    /// without an entry was spent by a flushed block, so disk no longer has it.
    pub(super) fn add_coin(&mut self, outpoint: OutPoint, coin: Coin) {
        match self.coins.get_mut(&outpoint) {
            Some(entry) => {
                entry.coin = coin;
                entry.spent = false;
            }
            None => {
                self.coins.insert(
                    outpoint,
                    Entry {
                        coin,
                        spent: false,
                        fresh: true,
                    },
                );
            }
        }
    }

    /// A coin the active chain lost: spent by a connected block, or created by a
    /// disconnected one. A fresh coin is forgotten; any other is removed from disk at
    /// the next flush.
    pub(super) fn spend_coin(&mut self, outpoint: OutPoint, coin: Coin) {
        match self.coins.get_mut(&outpoint) {
            Some(entry) if entry.fresh => {
                self.coins.remove(&outpoint);
            }
            Some(entry) => entry.spent = true,
            None => {
                self.coins.insert(
                    outpoint,
                    Entry {
                        coin,
                        spent: true,
                        fresh: false,
                    },
                );
            }
        }
    }

    /// The cached state of `outpoint`: `None` if disk has the answer, `Some(None)` if
    /// it was spent, `Some(Some(coin))` if it is unspent.
    pub(super) fn coin(&self, outpoint: &OutPoint) -> Option<Option<Coin>> {
        self.coins
            .get(outpoint)
            .map(|e| (!e.spent).then_some(e.coin))
    }

    /// Every cached coin, spent (`None`) or unspent.
    pub(super) fn coins(&self) -> impl Iterator<Item = (OutPoint, Option<Coin>)> + '_ {
        self.coins
            .iter()
            .map(|(o, e)| (*o, (!e.spent).then_some(e.coin)))
    }

    /// Writes (or deletes) records of the derived indexes.
    pub(super) fn write_records(&mut self, writes: Writes) {
        for (key, value) in writes {
            let size = |k: &Vec<u8>, v: &Option<Vec<u8>>| {
                RECORD_OVERHEAD_BYTES + k.len() + v.as_ref().map_or(0, Vec::len)
            };
            self.records_bytes += size(&key, &value);
            if let Some(old) = self.records.get(&key) {
                self.records_bytes -= size(&key, old);
            }
            self.records.insert(key, value);
        }
    }

    /// Records the undo data of a connected block.
    pub(super) fn put_undo(&mut self, hash: BlockHash, undo: BlockUndo) {
        self.undo_bytes += undo.spent.len() * UNDO_COIN_BYTES;
        if let Some(Some(old)) = self.undo.insert(hash, Some(undo)) {
            self.undo_bytes -= old.spent.len() * UNDO_COIN_BYTES;
        }
    }

    /// The cached undo data of a block: `None` if disk has the answer, `Some(None)` if it
    /// was removed.
    pub(super) fn undo(&self, hash: &BlockHash) -> Option<Option<&BlockUndo>> {
        self.undo.get(hash).map(Option::as_ref)
    }

    /// Removes the undo data of a disconnected block.
    pub(super) fn remove_undo(&mut self, hash: BlockHash) {
        if let Some(Some(undo)) = self.undo.insert(hash, None) {
            self.undo_bytes -= undo.spent.len() * UNDO_COIN_BYTES;
        }
    }

    /// Sets (`Some`) or removes (`None`) the active block at `height`.
    pub(super) fn set_height(&mut self, height: Height, hash: Option<BlockHash>) {
        self.heights.insert(height, hash);
    }

    /// Removes the saved mempool record of a transaction a connected block confirmed.
    pub(super) fn confirm_tx(&mut self, txid: TxId) {
        self.set_mempool(txid, None);
    }

    /// Saves to the mempool a transaction of a disconnected block (its encoding).
    pub(super) fn unconfirm_tx(&mut self, txid: TxId, bytes: Vec<u8>) {
        self.set_mempool(txid, Some(bytes));
    }

    fn set_mempool(&mut self, txid: TxId, record: Option<Vec<u8>>) {
        self.mempool_bytes += ENTRY_BYTES + record.as_ref().map_or(0, Vec::len);
        if let Some(old) = self.mempool.insert(txid, record) {
            self.mempool_bytes -= ENTRY_BYTES + old.map_or(0, |b| b.len());
        }
    }

    /// Forgets the cached mempool records of `txids`, which a direct write to disk
    /// superseded.
    pub(super) fn forget_mempool(&mut self, txids: impl IntoIterator<Item = TxId>) {
        for txid in txids {
            if let Some(old) = self.mempool.remove(&txid) {
                self.mempool_bytes -= ENTRY_BYTES + old.map_or(0, |b| b.len());
            }
        }
    }

    /// The cached saved-mempool records: the encoding, or `None` for a removal.
    pub(super) fn mempool_records(&self) -> impl Iterator<Item = (&TxId, Option<&[u8]>)> {
        self.mempool.iter().map(|(t, r)| (t, r.as_deref()))
    }

    /// Counts a connected or disconnected block.
    pub(super) fn block_changed(&mut self) {
        self.blocks = self.blocks.saturating_add(1);
        self.since.get_or_insert_with(Instant::now);
    }

    /// What the cache holds.
    pub(super) fn usage(&self) -> CacheUsage {
        CacheUsage {
            coins: self.coins.len(),
            blocks: self.blocks,
            bytes: self.coins.len() * COIN_ENTRY_BYTES
                + self.records_bytes
                + self.undo_bytes
                + self.mempool_bytes
                + (self.undo.len() + self.heights.len()) * ENTRY_BYTES,
        }
    }

    /// Whether a bound of `config` is reached.
    pub(super) fn due(&self, config: &CacheConfig) -> bool {
        if self.is_empty() {
            return false;
        }
        self.blocks >= config.max_blocks
            || self.usage().bytes >= config.max_bytes
            || self.since.is_some_and(|t| t.elapsed() >= config.max_age)
    }

    /// Every cached change as a write of its record: the key and its new value, or
    /// `None` to remove it (the caller adds the tip marker).
    pub(super) fn writes(&self) -> impl Iterator<Item = (Vec<u8>, Option<Vec<u8>>)> + '_ {
        let coins = self.coins.iter().map(|(outpoint, entry)| {
            let value = (!entry.spent).then(|| encode_to_vec(&entry.coin));
            (coin_key(outpoint), value)
        });
        let records = self.records.iter().map(|(k, v)| (k.clone(), v.clone()));
        let undo = self.undo.iter().map(|(hash, undo)| {
            (
                hash_key(crate::store::P_UNDO, hash),
                undo.as_ref().map(encode_to_vec),
            )
        });
        let heights = self
            .heights
            .iter()
            .map(|(height, hash)| (height_key(*height), hash.map(|h| h.as_bytes().to_vec())));
        let mempool = self
            .mempool
            .iter()
            .map(|(txid, record)| (mempool_key(txid), record.clone()));
        coins
            .chain(records)
            .chain(undo)
            .chain(heights)
            .chain(mempool)
    }

    /// The number of writes [`CoinsCache::writes`] yields.
    pub(super) fn write_count(&self) -> usize {
        self.coins.len()
            + self.records.len()
            + self.undo.len()
            + self.heights.len()
            + self.mempool.len()
    }

    /// Forgets everything (after a flush, or to rebuild from scratch).
    pub(super) fn clear(&mut self) {
        *self = CoinsCache::default();
    }
}

/// The UTXO set of the active tip: the cache over sled.
///
/// A read error makes the coin look missing, which would fail validation; the error is
/// kept so that the caller reports a storage failure instead of an invalid block.
#[derive(Debug)]
pub(crate) struct CoinsView<'a> {
    cache: &'a CoinsCache,
    tree: &'a sled::Tree,
    error: RefCell<Option<ChainError>>,
}

impl<'a> CoinsView<'a> {
    pub(super) fn new(cache: &'a CoinsCache, tree: &'a sled::Tree) -> Self {
        CoinsView {
            cache,
            tree,
            error: RefCell::new(None),
        }
    }

    /// The first read error seen, if any.
    pub(crate) fn take_error(&self) -> Option<ChainError> {
        self.error.borrow_mut().take()
    }
}

impl UtxoView for CoinsView<'_> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        if let Some(cached) = self.cache.coin(outpoint) {
            return cached;
        }
        match get(self.tree, &coin_key(outpoint)) {
            Ok(coin) => coin,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
}

/// The stored records of the derived indexes: the cache over sled.
#[derive(Debug)]
pub(crate) struct StoreView<'a> {
    cache: &'a CoinsCache,
    tree: &'a sled::Tree,
}

impl<'a> StoreView<'a> {
    pub(super) fn new(cache: &'a CoinsCache, tree: &'a sled::Tree) -> Self {
        StoreView { cache, tree }
    }
}

impl IndexRead for StoreView<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError> {
        if let Some(cached) = self.cache.records.get(key) {
            return Ok(cached.clone());
        }
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Records, ChainError> {
        let below = self
            .tree
            .range::<Vec<u8>, _>((scan_start(prefix, after), std::ops::Bound::Unbounded))
            .take_while(|item| item.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)))
            .map(|item| {
                item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(ChainError::from)
            });
        let above =
            range_from(&self.cache.records, prefix, after).map(|(k, v)| (k.clone(), v.clone()));
        merge_scan(below, above, limit)
    }
}
