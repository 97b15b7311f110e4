//! The mempool: fully validated unconfirmed transactions, first-seen conflict rule,
//! ancestor and descendant limits, block templates by ancestor-package fee rate, a size
//! cap that evicts only to admit, and a bounded orphan pool.
//!
//! The pool holds no reference to storage: every operation takes a
//! [`ChainContext`] of the next block (its height, the confirmed UTXO view and name
//! state, the parameters) as a value. Every entry keeps the totals of its pool
//! ancestors and descendants, which the limits keep at 25 transactions and 101,000
//! bytes each way (Bitcoin Core's defaults), so that every walk of the pool's graph, and
//! with it admission, removal, eviction and `select`, costs a bounded amount per
//! transaction.

mod orphans;
mod package;
mod select;

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use crate::error::{MempoolError, TxError};
use crate::hash::TxId;
use crate::transaction::{OutPoint, Transaction};
use crate::units::{Amount, Height};
use crate::validation::{
    ChainContext, Coin, UtxoView, check_spends, check_transaction, created_coins, sig_checks,
    verify_tx_signatures,
};
use orphans::Orphans;
use package::{FeeRate, Package};

/// Mempool limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Cap on the sum of encoded transaction sizes, in bytes.
    pub max_bytes: usize,
    /// Cap on orphan transactions held.
    pub max_orphans: usize,
    /// Cap on the sum of orphan sizes, in bytes.
    pub max_orphan_bytes: usize,
    /// Minimum fee rate, base units per 1000 bytes.
    pub min_fee_rate: u64,
    /// Most pool transactions in a transaction's ancestry, itself included.
    pub max_ancestors: usize,
    /// Largest total size of a transaction and its pool ancestors, in bytes.
    pub max_ancestor_bytes: usize,
    /// Most pool transactions descending from a transaction, itself included.
    pub max_descendants: usize,
    /// Largest total size of a transaction and its pool descendants, in bytes.
    pub max_descendant_bytes: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_bytes: 50_000_000,
            max_orphans: 100,
            max_orphan_bytes: 1_000_000,
            min_fee_rate: 1_000,
            max_ancestors: 25,
            max_ancestor_bytes: 101_000,
            max_descendants: 25,
            max_descendant_bytes: 101_000,
        }
    }
}

/// A transaction in the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Transaction,
    /// Its fee.
    pub fee: Amount,
    /// Its encoded size.
    pub size: usize,
    /// Arrival order.
    pub seq: u64,
    /// Distinct pool transactions it spends from.
    parents: Vec<TxId>,
    /// Distinct pool transactions spending from it.
    children: Vec<TxId>,
    /// It and its pool ancestors.
    ancestors: Package,
    /// It and its pool descendants.
    descendants: Package,
}

impl MempoolEntry {
    /// Fee in base units per 1000 bytes.
    pub fn fee_rate(&self) -> u64 {
        fee_rate(self.fee, self.size)
    }

    /// Pool transactions in its ancestry, itself included.
    pub fn ancestor_count(&self) -> usize {
        self.ancestors.count
    }

    /// Total size of it and its pool ancestors.
    pub fn ancestor_size(&self) -> usize {
        self.ancestors.size
    }

    /// Pool transactions descending from it, itself included.
    pub fn descendant_count(&self) -> usize {
        self.descendants.count
    }

    /// Total size of it and its pool descendants.
    pub fn descendant_size(&self) -> usize {
        self.descendants.size
    }

    /// What eviction ranks it by: the better of its own fee rate and that of it with
    /// all its descendants (Bitcoin Core's descendant score).
    fn score(&self) -> FeeRate {
        Package::of(self.fee, self.size)
            .rate()
            .max(self.descendants.rate())
    }
}

fn fee_rate(fee: Amount, size: usize) -> u64 {
    FeeRate::new(u128::from(fee.units()), size).per_kb()
}

/// What an operation did to the pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Transactions now in the pool: the submitted one, then orphans it unlocked (for
    /// `resync` and `restore`: every transaction re-admitted).
    pub added: Vec<TxId>,
    /// Transactions evicted to make room.
    pub evicted: Vec<TxId>,
    /// Transactions refused on the way, with the reason: orphans that turned out
    /// invalid, or (`resync`, `restore`) transactions that no longer fit the rules.
    pub dropped: Vec<(TxId, MempoolError)>,
}

/// Key of the eviction order: lowest score first, newest first among equals.
type EvictKey = (FeeRate, Reverse<u64>, TxId);

/// The unconfirmed transaction pool.
#[derive(Debug, Default)]
pub struct Mempool {
    config: MempoolConfig,
    entries: HashMap<TxId, MempoolEntry>,
    /// Which pool transaction spends each outpoint.
    spenders: HashMap<OutPoint, TxId>,
    /// Eviction order; the first element is evicted first.
    by_score: BTreeSet<EvictKey>,
    bytes: usize,
    next_seq: u64,
    orphans: Orphans,
}

/// The confirmed view plus the outputs of pool transactions.
struct PoolView<'a, V: ?Sized> {
    base: &'a V,
    pool: &'a Mempool,
    height: Height,
}

impl<V: UtxoView + ?Sized> UtxoView for PoolView<'_, V> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        if let Some(coin) = self.base.coin(outpoint) {
            return Some(coin);
        }
        let entry = self.pool.entries.get(&outpoint.txid)?;
        let out = entry.tx.outputs.get(outpoint.vout as usize)?;
        Some(Coin {
            amount: out.amount,
            address: out.address()?,
            height: self.height,
            is_coinbase: false,
        })
    }
}

impl Mempool {
    /// An empty pool with these limits.
    pub fn new(config: MempoolConfig) -> Self {
        Mempool {
            config,
            ..Mempool::default()
        }
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sum of encoded sizes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of orphans held.
    pub fn orphan_count(&self) -> usize {
        self.orphans.len()
    }

    /// Sum of the orphans' encoded sizes.
    pub fn orphan_bytes(&self) -> usize {
        self.orphans.bytes()
    }

    /// The limits.
    pub fn config(&self) -> MempoolConfig {
        self.config
    }

    /// A pool entry.
    pub fn get(&self, txid: &TxId) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// Whether a pool transaction spends `outpoint`.
    pub fn spender(&self, outpoint: &OutPoint) -> Option<TxId> {
        self.spenders.get(outpoint).copied()
    }

    /// Txids in arrival order.
    pub fn txids(&self) -> Vec<TxId> {
        let mut v: Vec<(&TxId, &MempoolEntry)> = self.entries.iter().collect();
        v.sort_by_key(|(_, e)| e.seq);
        v.into_iter().map(|(id, _)| *id).collect()
    }

    /// The fee rate a newcomer must beat when the pool is full: the lowest eviction
    /// score (own fee rate, or the rate with descendants when that is higher).
    pub fn lowest_fee_rate(&self) -> Option<u64> {
        self.by_score.first().map(|(r, _, _)| r.per_kb())
    }

    /// Validates `tx` against the confirmed view and the pool, without adding it.
    ///
    /// # Errors
    /// [`MempoolError`].
    pub fn check(&self, tx: &Transaction, ctx: &ChainContext<'_>) -> Result<Amount, MempoolError> {
        let txid = tx.txid();
        if tx.is_coinbase() {
            return Err(MempoolError::Coinbase);
        }
        if self.entries.contains_key(&txid) {
            return Err(MempoolError::AlreadyKnown { txid });
        }
        let invalid = |source| MempoolError::Invalid { txid, source };
        check_transaction(tx).map_err(invalid)?;
        for input in tx.spends() {
            if let Some(existing) = self.spenders.get(&input.prevout) {
                return Err(MempoolError::Conflict {
                    txid,
                    existing: *existing,
                    outpoint: input.prevout,
                });
            }
        }
        let pv = PoolView {
            base: ctx.coins,
            pool: self,
            height: ctx.height,
        };
        let checked = match check_spends(tx, &pv, ctx.height) {
            Ok(c) => c,
            Err(TxError::MissingInput { .. }) => return Err(MempoolError::MissingInputs { txid }),
            Err(e) => return Err(invalid(e)),
        };
        let rate = fee_rate(checked.fee, tx.size());
        if rate < self.config.min_fee_rate {
            return Err(MempoolError::FeeTooLow {
                rate,
                min: self.config.min_fee_rate,
            });
        }
        // Only now, with the fee known to pay, hash the transaction for its signatures.
        verify_tx_signatures(
            &sig_checks(tx, &ctx.chain_id(), &checked.spent),
            ctx.sig_mode,
        )
        .map_err(invalid)?;
        check_name_relay(tx, ctx)?;
        Ok(checked.fee)
    }

    /// Validates and adds `tx`; then retries orphans that it unlocks.
    ///
    /// When the pool is full, the transactions to evict are chosen first (lowest score
    /// first, never one of its own ancestors, never one whose score is at least its fee
    /// rate), and the newcomer is checked against the pool without them; only then is
    /// anything removed. A transaction that is refused evicts nothing.
    ///
    /// # Errors
    /// [`MempoolError`]; [`MempoolError::MissingInputs`] keeps the transaction as an
    /// orphan (the oldest orphans are dropped when the orphan pool is full);
    /// [`MempoolError::OrphanNotKept`] when it is too large to keep.
    pub fn accept(
        &mut self,
        tx: Transaction,
        ctx: &ChainContext<'_>,
    ) -> Result<Accepted, MempoolError> {
        let mut accepted = Accepted::default();
        match self.accept_one(&tx, ctx, &mut accepted) {
            Err(MempoolError::MissingInputs { txid }) => {
                let size = tx.size();
                let c = self.config;
                if self.orphans.add(tx, c.max_orphans, c.max_orphan_bytes) {
                    return Err(MempoolError::MissingInputs { txid });
                }
                return Err(MempoolError::OrphanNotKept {
                    txid,
                    size,
                    max: c.max_orphan_bytes,
                });
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        self.retry_orphans(tx.txid(), ctx, &mut accepted);
        Ok(accepted)
    }

    /// Admits one transaction: check, limits, victims, then the changes.
    fn accept_one(
        &mut self,
        tx: &Transaction,
        ctx: &ChainContext<'_>,
        accepted: &mut Accepted,
    ) -> Result<(), MempoolError> {
        let fee = self.check(tx, ctx)?;
        let txid = tx.txid();
        let size = tx.size();
        let (parents, ancestors) = self.check_limits(tx, txid, size)?;
        let rate = Package::of(fee, size).rate();
        let victims = self.victims(size, rate, &ancestors)?;
        accepted.evicted.extend(self.remove_set(victims));
        self.insert(txid, tx.clone(), fee, size, parents, &ancestors);
        accepted.added.push(txid);
        Ok(())
    }

    /// The distinct pool parents and all pool ancestors of `tx`, if the ancestor and
    /// descendant limits allow it. Walks at most `max_ancestors` entries.
    fn check_limits(
        &self,
        tx: &Transaction,
        txid: TxId,
        size: usize,
    ) -> Result<(Vec<TxId>, Vec<TxId>), MempoolError> {
        let c = self.config;
        let mut parents: Vec<TxId> = tx
            .spends()
            .iter()
            .map(|i| i.prevout.txid)
            .filter(|p| self.entries.contains_key(p))
            .collect();
        parents.sort_unstable();
        parents.dedup();
        let mut ancestors = Vec::new();
        let mut seen: HashSet<TxId> = parents.iter().copied().collect();
        let mut stack = parents.clone();
        let mut bytes = size;
        while let Some(id) = stack.pop() {
            let Some(e) = self.entries.get(&id) else {
                continue;
            };
            ancestors.push(id);
            bytes += e.size;
            if ancestors.len() + 1 > c.max_ancestors {
                return Err(MempoolError::TooManyAncestors {
                    txid,
                    count: ancestors.len() + 1,
                    max: c.max_ancestors,
                });
            }
            if bytes > c.max_ancestor_bytes {
                break;
            }
            stack.extend(e.parents.iter().filter(|p| seen.insert(**p)));
        }
        if bytes > c.max_ancestor_bytes {
            return Err(MempoolError::AncestorsTooLarge {
                txid,
                bytes,
                max: c.max_ancestor_bytes,
            });
        }
        for a in &ancestors {
            let Some(d) = self.entries.get(a).map(|e| e.descendants) else {
                continue;
            };
            if d.count + 1 > c.max_descendants {
                return Err(MempoolError::TooManyDescendants {
                    txid,
                    ancestor: *a,
                    count: d.count + 1,
                    max: c.max_descendants,
                });
            }
            if d.size + size > c.max_descendant_bytes {
                return Err(MempoolError::DescendantsTooLarge {
                    txid,
                    ancestor: *a,
                    bytes: d.size + size,
                    max: c.max_descendant_bytes,
                });
            }
        }
        Ok((parents, ancestors))
    }

    /// What must leave the pool for a newcomer of `size` bytes at `rate`, or why it
    /// cannot get in. Changes nothing.
    fn victims(
        &self,
        size: usize,
        rate: FeeRate,
        ancestors: &[TxId],
    ) -> Result<Vec<TxId>, MempoolError> {
        let max = self.config.max_bytes;
        if self.bytes + size <= max {
            return Ok(Vec::new());
        }
        let full = |lowest: FeeRate| MempoolError::Full {
            rate: rate.per_kb(),
            lowest: lowest.per_kb(),
        };
        if size > max {
            return Err(full(rate));
        }
        let need = self.bytes + size - max;
        let own: HashSet<&TxId> = ancestors.iter().collect();
        let mut chosen: HashSet<TxId> = HashSet::new();
        let mut victims = Vec::new();
        let mut freed = 0;
        for (score, _, candidate) in &self.by_score {
            if freed >= need {
                break;
            }
            if chosen.contains(candidate) || own.contains(candidate) {
                continue;
            }
            if *score >= rate {
                return Err(full(*score));
            }
            // Its descendants go with it; none is an ancestor of the newcomer, or the
            // candidate would be one too.
            for id in self.with_descendants(candidate) {
                if chosen.insert(id) {
                    freed += self.entries.get(&id).map_or(0, |e| e.size);
                    victims.push(id);
                }
            }
        }
        if freed < need {
            // Only its own ancestors are left to evict.
            return Err(full(rate));
        }
        Ok(victims)
    }

    fn insert(
        &mut self,
        txid: TxId,
        tx: Transaction,
        fee: Amount,
        size: usize,
        parents: Vec<TxId>,
        ancestors: &[TxId],
    ) {
        let own = Package::of(fee, size);
        let mut ancestor_total = own;
        for a in ancestors {
            if let Some(e) = self.entries.get(a) {
                ancestor_total.add(Package::of(e.fee, e.size));
            }
            self.update_descendants(a, |d| d.add(own));
        }
        for p in &parents {
            if let Some(e) = self.entries.get_mut(p) {
                e.children.push(txid);
            }
        }
        for input in tx.spends() {
            self.spenders.insert(input.prevout, txid);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = MempoolEntry {
            tx,
            fee,
            size,
            seq,
            parents,
            children: Vec::new(),
            ancestors: ancestor_total,
            descendants: own,
        };
        self.by_score.insert((entry.score(), Reverse(seq), txid));
        self.bytes += size;
        self.entries.insert(txid, entry);
    }

    /// Changes the descendant totals of `txid`, keeping the eviction order in step.
    fn update_descendants(&mut self, txid: &TxId, change: impl FnOnce(&mut Package)) {
        let Some(e) = self.entries.get_mut(txid) else {
            return;
        };
        self.by_score.remove(&(e.score(), Reverse(e.seq), *txid));
        change(&mut e.descendants);
        self.by_score.insert((e.score(), Reverse(e.seq), *txid));
    }

    /// Every pool transaction reached from `start` through parent links (`up`) or child
    /// links, without the starting points' own entries unless reached again.
    fn walk(&self, start: &[TxId], up: bool) -> Vec<TxId> {
        let mut seen: HashSet<TxId> = start.iter().copied().collect();
        let mut stack: Vec<TxId> = start.to_vec();
        let mut out = Vec::new();
        while let Some(id) = stack.pop() {
            let Some(e) = self.entries.get(&id) else {
                continue;
            };
            out.push(id);
            let next = if up { &e.parents } else { &e.children };
            stack.extend(next.iter().filter(|n| seen.insert(**n)));
        }
        out
    }

    /// `txid` and all its pool descendants (empty if it is not in the pool).
    fn with_descendants(&self, txid: &TxId) -> Vec<TxId> {
        self.walk(&[*txid], false)
    }

    /// Removes one entry, updating the totals of its remaining relatives.
    fn remove_entry(&mut self, txid: &TxId) -> Option<MempoolEntry> {
        let entry = self.entries.remove(txid)?;
        self.by_score
            .remove(&(entry.score(), Reverse(entry.seq), *txid));
        self.bytes -= entry.size;
        for input in entry.tx.spends() {
            if self.spenders.get(&input.prevout) == Some(txid) {
                self.spenders.remove(&input.prevout);
            }
        }
        let own = Package::of(entry.fee, entry.size);
        for a in self.walk(&entry.parents, true) {
            self.update_descendants(&a, |d| d.sub(own));
        }
        for d in self.walk(&entry.children, false) {
            if let Some(e) = self.entries.get_mut(&d) {
                e.ancestors.sub(own);
            }
        }
        for p in &entry.parents {
            if let Some(e) = self.entries.get_mut(p) {
                e.children.retain(|c| c != txid);
            }
        }
        for c in &entry.children {
            if let Some(e) = self.entries.get_mut(c) {
                e.parents.retain(|p| p != txid);
            }
        }
        Some(entry)
    }

    /// Tries the orphans that `first` and then each transaction they bring in unlock,
    /// oldest first. An orphan still missing a parent stays; one that is refused for
    /// another reason (a copy with bad signatures, a double spend) is dropped and
    /// reported in [`Accepted::dropped`].
    fn retry_orphans(&mut self, first: TxId, ctx: &ChainContext<'_>, accepted: &mut Accepted) {
        let mut queue = VecDeque::from([first]);
        while let Some(parent) = queue.pop_front() {
            for (id, tx) in self.orphans.waiting_on(&parent) {
                let txid = tx.txid();
                match self.accept_one(&tx, ctx, accepted) {
                    Ok(()) => {
                        self.orphans.remove(&id);
                        queue.push_back(txid);
                    }
                    Err(MempoolError::MissingInputs { .. }) => {}
                    Err(e) => {
                        self.orphans.remove(&id);
                        accepted.dropped.push((txid, e));
                    }
                }
            }
        }
    }

    /// Removes a transaction and every pool transaction that spends its outputs.
    pub fn remove_with_descendants(&mut self, txid: &TxId) -> Vec<TxId> {
        let set = self.with_descendants(txid);
        self.remove_set(set)
    }

    /// Removes `ids`, which hold the pool descendants of each of them, descendants
    /// first: each removal then still reaches, through its parents, every remaining
    /// ancestor whose totals it must leave. Returns what was removed.
    fn remove_set(&mut self, mut ids: Vec<TxId>) -> Vec<TxId> {
        // A transaction has more ancestors than any of its ancestors.
        ids.sort_by_key(|id| Reverse(self.entries.get(id).map_or(0, |e| e.ancestors.count)));
        ids.into_iter()
            .filter(|id| self.remove_entry(id).is_some())
            .collect()
    }

    /// Updates the pool for a newly connected block: its transactions leave the pool, and
    /// pool transactions that conflict with it are removed with their descendants.
    pub fn block_connected(&mut self, txs: &[Transaction]) -> Vec<TxId> {
        let mut removed = Vec::new();
        for tx in txs {
            let txid = tx.txid();
            if self.remove_entry(&txid).is_some() {
                removed.push(txid);
            }
            for input in tx.spends() {
                if let Some(conflict) = self.spenders.get(&input.prevout).copied() {
                    removed.extend(self.remove_with_descendants(&conflict));
                }
            }
            self.orphans.remove_txid(&txid);
        }
        removed
    }

    /// Tries the orphans waiting for transactions of a newly connected block (their
    /// outputs are now confirmed coins in `view`), and what those unlock in turn.
    pub fn block_orphans(&mut self, txs: &[Transaction], ctx: &ChainContext<'_>) -> Accepted {
        let mut outcome = Accepted::default();
        for tx in txs {
            self.retry_orphans(tx.txid(), ctx, &mut outcome);
        }
        outcome
    }

    /// Rebuilds the pool after a reorg: `returned` (transactions of disconnected blocks,
    /// oldest first) and then the old pool in arrival order are re-validated against the
    /// new chain, each once, parents before children. Whatever no longer fits the rules
    /// is dropped and listed in [`Accepted::dropped`]: that is an outcome, not an error.
    pub fn resync(&mut self, returned: Vec<Transaction>, ctx: &ChainContext<'_>) -> Accepted {
        let mut old: Vec<MempoolEntry> = self.entries.drain().map(|(_, e)| e).collect();
        old.sort_by_key(|e| e.seq);
        self.spenders.clear();
        self.by_score.clear();
        self.bytes = 0;
        let mut outcome = Accepted::default();
        let candidates = returned
            .into_iter()
            .filter(|tx| !tx.is_coinbase())
            .chain(old.into_iter().map(|e| e.tx));
        for tx in candidates {
            if let Err(e) = self.accept_one(&tx, ctx, &mut outcome) {
                outcome.dropped.push((tx.txid(), e));
            }
        }
        outcome
    }

    /// Re-admits saved transactions after a restart, each once, in an order where
    /// parents come before their children (saved records come in key order). Whatever
    /// no longer fits the rules is dropped and listed in [`Accepted::dropped`].
    pub fn restore(&mut self, txs: Vec<Transaction>, ctx: &ChainContext<'_>) -> Accepted {
        let mut outcome = Accepted::default();
        for tx in topological(txs) {
            if let Err(e) = self.accept_one(&tx, ctx, &mut outcome) {
                outcome.dropped.push((tx.txid(), e));
            }
        }
        outcome
    }

    /// Coins that pool transactions create, as `getaddressutxos`-style pending outputs.
    pub fn created(&self, next_height: Height) -> Vec<(OutPoint, Coin)> {
        self.entries
            .values()
            .flat_map(|e| created_coins(&e.tx, next_height))
            .collect()
    }
}

/// Refuses to relay a reveal that comes early: a namespace reveal or name register
/// whose preorder is not yet confirmed deep enough ([`naming::check_relay`],
/// [`naming::Rejection::is_premature`]), or not confirmed at all (a preorder still in
/// the pool is not in the name state). Anyone who saw it could preorder the name
/// first. Other rejections are left to the block: the transaction stays valid and its
/// burn is lost.
fn check_name_relay(tx: &Transaction, ctx: &ChainContext<'_>) -> Result<(), MempoolError> {
    let chain_id = ctx.chain_id();
    let Some((op_ctx, payload)) = crate::index::names::operation(tx, &chain_id, ctx.height) else {
        return Ok(());
    };
    match naming::check_relay(&ctx.params.naming, ctx.names, &op_ctx, payload) {
        Err(reason) if is_early_reveal(&reason) => Err(MempoolError::EarlyReveal {
            txid: tx.txid(),
            reason: Box::new(reason),
        }),
        _ => Ok(()),
    }
}

/// Whether `reason` says a reveal came before its preorder was confirmed deep enough.
fn is_early_reveal(reason: &naming::Rejection) -> bool {
    reason.is_premature() || matches!(reason, naming::Rejection::NoPreorder { .. })
}

/// `txs` without repeated txids, ordered so that each comes after the others it spends
/// from (Kahn's algorithm, ties in the given order). Linear in the inputs.
fn topological(txs: Vec<Transaction>) -> Vec<Transaction> {
    let mut seen = HashSet::new();
    let list: Vec<(TxId, Transaction)> = txs
        .into_iter()
        .map(|tx| (tx.txid(), tx))
        .filter(|(id, _)| seen.insert(*id))
        .collect();
    let position: HashMap<TxId, usize> = list
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let mut waiting: HashMap<usize, usize> = HashMap::new();
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, (id, tx)) in list.iter().enumerate() {
        let mut parents: Vec<usize> = tx
            .spends()
            .iter()
            .filter(|input| input.prevout.txid != *id)
            .filter_map(|input| position.get(&input.prevout.txid).copied())
            .collect();
        parents.sort_unstable();
        parents.dedup();
        waiting.insert(i, parents.len());
        for p in parents {
            children.entry(p).or_default().push(i);
        }
    }
    let mut ready: VecDeque<usize> = (0..list.len())
        .filter(|i| waiting.get(i) == Some(&0))
        .collect();
    let mut order = Vec::with_capacity(list.len());
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for c in children.get(&i).into_iter().flatten() {
            if let Some(w) = waiting.get_mut(c) {
                *w -= 1;
                if *w == 0 {
                    ready.push_back(*c);
                }
            }
        }
    }
    let mut slots: Vec<Option<Transaction>> = list.into_iter().map(|(_, tx)| Some(tx)).collect();
    // Transactions in a cycle (impossible with real hashes) never become ready and are
    // left out.
    order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}
