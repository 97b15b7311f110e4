//! The mempool: fully validated unconfirmed transactions, first-seen conflict rule,
//! fee-rate order, a size cap that evicts the lowest fee rate, and a bounded orphan pool.
//!
//! The pool holds no reference to storage: every operation takes the confirmed UTXO view
//! and the height of the next block as values.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use crate::error::{MempoolError, TxError};
use crate::hash::{BlockHash, TxId};
use crate::signature::SigMode;
use crate::transaction::{OutPoint, Transaction};
use crate::units::{Amount, Height};
use crate::validation::{
    Coin, UtxoView, check_spends, check_transaction, created_coins, sig_checks,
    verify_tx_signatures,
};

/// Mempool limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Cap on the sum of encoded transaction sizes, in bytes.
    pub max_bytes: usize,
    /// Cap on orphan transactions held.
    pub max_orphans: usize,
    /// Minimum fee rate, base units per 1000 bytes.
    pub min_fee_rate: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_bytes: 50_000_000,
            max_orphans: 100,
            min_fee_rate: 1_000,
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
}

impl MempoolEntry {
    /// Fee in base units per 1000 bytes.
    pub fn fee_rate(&self) -> u64 {
        fee_rate(self.fee, self.size)
    }
}

fn fee_rate(fee: Amount, size: usize) -> u64 {
    let rate = u128::from(fee.units()) * 1000 / (size.max(1) as u128);
    u64::try_from(rate).unwrap_or(u64::MAX)
}

/// What happened to a submitted transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Transactions now in the pool: the submitted one, then orphans it unlocked.
    pub added: Vec<TxId>,
    /// Transactions evicted to make room.
    pub evicted: Vec<TxId>,
}

/// The unconfirmed transaction pool.
#[derive(Debug, Default)]
pub struct Mempool {
    config: MempoolConfig,
    entries: HashMap<TxId, MempoolEntry>,
    /// Which pool transaction spends each outpoint.
    spenders: HashMap<OutPoint, TxId>,
    /// (fee rate, reverse arrival) order; the first element is evicted first.
    by_rate: BTreeSet<(u64, std::cmp::Reverse<u64>, TxId)>,
    bytes: usize,
    next_seq: u64,
    orphans: HashMap<TxId, Transaction>,
    orphan_order: VecDeque<TxId>,
}

/// The confirmed view plus the outputs of pool transactions.
struct PoolView<'a, V> {
    base: &'a V,
    pool: &'a Mempool,
    height: Height,
}

impl<V: UtxoView> UtxoView for PoolView<'_, V> {
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
        let mut v: Vec<&MempoolEntry> = self.entries.values().collect();
        v.sort_by_key(|e| e.seq);
        v.into_iter().map(|e| e.tx.txid()).collect()
    }

    /// The lowest fee rate in the pool.
    pub fn lowest_fee_rate(&self) -> Option<u64> {
        self.by_rate.first().map(|(r, _, _)| *r)
    }

    /// Validates `tx` against the confirmed view and the pool, without adding it.
    ///
    /// # Errors
    /// [`MempoolError`].
    pub fn check(
        &self,
        tx: &Transaction,
        view: &impl UtxoView,
        next_height: Height,
        chain_id: &BlockHash,
        mode: SigMode,
    ) -> Result<Amount, MempoolError> {
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
            base: view,
            pool: self,
            height: next_height,
        };
        let checked = match check_spends(tx, &pv, next_height) {
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
        verify_tx_signatures(&sig_checks(tx, chain_id, &checked.spent), mode).map_err(invalid)?;
        Ok(checked.fee)
    }

    /// Validates and adds `tx`; then retries orphans that it unlocks.
    ///
    /// # Errors
    /// [`MempoolError`]; [`MempoolError::MissingInputs`] keeps the transaction as an
    /// orphan (the oldest orphan is dropped when the orphan pool is full).
    pub fn accept(
        &mut self,
        tx: Transaction,
        view: &impl UtxoView,
        next_height: Height,
        chain_id: &BlockHash,
        mode: SigMode,
    ) -> Result<Accepted, MempoolError> {
        let mut accepted = Accepted {
            added: Vec::new(),
            evicted: Vec::new(),
        };
        match self.accept_one(tx.clone(), view, next_height, chain_id, mode, &mut accepted) {
            Err(MempoolError::MissingInputs { txid }) => {
                self.add_orphan(txid, tx);
                return Err(MempoolError::MissingInputs { txid });
            }
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        self.retry_orphans(view, next_height, chain_id, mode, &mut accepted);
        Ok(accepted)
    }

    fn accept_one(
        &mut self,
        tx: Transaction,
        view: &impl UtxoView,
        next_height: Height,
        chain_id: &BlockHash,
        mode: SigMode,
        accepted: &mut Accepted,
    ) -> Result<(), MempoolError> {
        let fee = self.check(&tx, view, next_height, chain_id, mode)?;
        let size = tx.size();
        let rate = fee_rate(fee, size);
        // Make room by evicting the lowest fee rates, but never for a cheaper newcomer.
        while self.bytes + size > self.config.max_bytes {
            let Some(&(lowest, _, victim)) = self.by_rate.first() else {
                break;
            };
            if lowest >= rate {
                return Err(MempoolError::Full { rate, lowest });
            }
            accepted
                .evicted
                .extend(self.remove_with_descendants(&victim));
        }
        if self.bytes + size > self.config.max_bytes {
            return Err(MempoolError::Full { rate, lowest: rate });
        }
        let txid = tx.txid();
        // Evicting a parent of `tx` would leave it without inputs: re-check if anything went.
        if !accepted.evicted.is_empty() {
            self.check(
                &tx,
                view,
                next_height,
                chain_id,
                SigMode::Strict { threads: 1 },
            )?;
        }
        self.insert(txid, tx, fee, size);
        accepted.added.push(txid);
        Ok(())
    }

    fn insert(&mut self, txid: TxId, tx: Transaction, fee: Amount, size: usize) {
        for input in tx.spends() {
            self.spenders.insert(input.prevout, txid);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = MempoolEntry { tx, fee, size, seq };
        self.by_rate
            .insert((entry.fee_rate(), std::cmp::Reverse(seq), txid));
        self.bytes += size;
        self.entries.insert(txid, entry);
    }

    fn add_orphan(&mut self, txid: TxId, tx: Transaction) {
        if self.config.max_orphans == 0 || self.orphans.contains_key(&txid) {
            return;
        }
        while self.orphans.len() >= self.config.max_orphans {
            let Some(old) = self.orphan_order.pop_front() else {
                break;
            };
            self.orphans.remove(&old);
        }
        self.orphans.insert(txid, tx);
        self.orphan_order.push_back(txid);
    }

    fn retry_orphans(
        &mut self,
        view: &impl UtxoView,
        next_height: Height,
        chain_id: &BlockHash,
        mode: SigMode,
        accepted: &mut Accepted,
    ) {
        loop {
            let ready: Vec<TxId> = self
                .orphan_order
                .iter()
                .filter(|id| {
                    self.orphans.get(id).is_some_and(|tx| {
                        tx.spends().iter().all(|i| {
                            self.entries.contains_key(&i.prevout.txid)
                                || view.coin(&i.prevout).is_some()
                        })
                    })
                })
                .copied()
                .collect();
            if ready.is_empty() {
                return;
            }
            for id in ready {
                self.orphan_order.retain(|o| *o != id);
                if let Some(tx) = self.orphans.remove(&id) {
                    // An orphan that is now invalid is dropped.
                    let _ = self.accept_one(tx, view, next_height, chain_id, mode, accepted);
                }
            }
        }
    }

    /// Removes a transaction and every pool transaction that spends its outputs.
    pub fn remove_with_descendants(&mut self, txid: &TxId) -> Vec<TxId> {
        let mut removed = Vec::new();
        let mut stack = vec![*txid];
        while let Some(id) = stack.pop() {
            let Some(entry) = self.entries.remove(&id) else {
                continue;
            };
            self.by_rate
                .remove(&(entry.fee_rate(), std::cmp::Reverse(entry.seq), id));
            self.bytes -= entry.size;
            for input in entry.tx.spends() {
                self.spenders.remove(&input.prevout);
            }
            for vout in 0..entry.tx.outputs.len() as u32 {
                if let Some(child) = self.spenders.get(&OutPoint { txid: id, vout }) {
                    stack.push(*child);
                }
            }
            removed.push(id);
        }
        removed
    }

    /// Updates the pool for a newly connected block: its transactions leave the pool, and
    /// pool transactions that conflict with it are removed with their descendants.
    pub fn block_connected(&mut self, txs: &[Transaction]) -> Vec<TxId> {
        let mut removed = Vec::new();
        for tx in txs {
            let txid = tx.txid();
            if let Some(entry) = self.entries.remove(&txid) {
                self.by_rate
                    .remove(&(entry.fee_rate(), std::cmp::Reverse(entry.seq), txid));
                self.bytes -= entry.size;
                for input in entry.tx.spends() {
                    self.spenders.remove(&input.prevout);
                }
                removed.push(txid);
            }
            for input in tx.spends() {
                if let Some(conflict) = self.spenders.get(&input.prevout).copied() {
                    removed.extend(self.remove_with_descendants(&conflict));
                }
            }
            self.orphans.remove(&txid);
        }
        removed
    }

    /// Rebuilds the pool after a reorg: `returned` (transactions of disconnected blocks,
    /// oldest first) and then the old pool in arrival order are re-validated against the
    /// new chain; whatever no longer fits the rules is dropped.
    pub fn resync(
        &mut self,
        returned: Vec<Transaction>,
        view: &impl UtxoView,
        next_height: Height,
        chain_id: &BlockHash,
        mode: SigMode,
    ) {
        let mut old: Vec<MempoolEntry> = self.entries.drain().map(|(_, e)| e).collect();
        old.sort_by_key(|e| e.seq);
        self.spenders.clear();
        self.by_rate.clear();
        self.bytes = 0;
        let mut scratch = Accepted {
            added: Vec::new(),
            evicted: Vec::new(),
        };
        let candidates = returned
            .into_iter()
            .filter(|tx| !tx.is_coinbase())
            .chain(old.into_iter().map(|e| e.tx));
        for tx in candidates {
            let _ = self.accept_one(tx, view, next_height, chain_id, mode, &mut scratch);
        }
    }

    /// Re-admits saved transactions after a restart, in as many passes as it takes for
    /// parents to precede their children; whatever stays invalid is dropped.
    pub fn restore(
        &mut self,
        mut txs: Vec<Transaction>,
        view: &impl UtxoView,
        next_height: Height,
        chain_id: &BlockHash,
        mode: SigMode,
    ) {
        let mut scratch = Accepted {
            added: Vec::new(),
            evicted: Vec::new(),
        };
        loop {
            let before = txs.len();
            let mut left = Vec::new();
            for tx in txs {
                if self
                    .accept_one(tx.clone(), view, next_height, chain_id, mode, &mut scratch)
                    .is_err()
                {
                    left.push(tx);
                }
            }
            if left.is_empty() || left.len() == before {
                return;
            }
            txs = left;
        }
    }

    /// Transactions for a block template: highest fee rate first, each after its pool
    /// parents, until `max_bytes`. Returns them with their total fee.
    pub fn select(&self, max_bytes: usize) -> (Vec<Transaction>, Amount) {
        let mut chosen: Vec<Transaction> = Vec::new();
        let mut included: HashSet<TxId> = HashSet::new();
        let mut fees = Amount::ZERO;
        let mut used = 0usize;
        let mut pending: Vec<&(u64, std::cmp::Reverse<u64>, TxId)> =
            self.by_rate.iter().rev().collect();
        loop {
            let mut progress = false;
            pending.retain(|(_, _, txid)| {
                let Some(entry) = self.entries.get(txid) else {
                    return false;
                };
                let parents_in = entry.tx.spends().iter().all(|i| {
                    !self.entries.contains_key(&i.prevout.txid)
                        || included.contains(&i.prevout.txid)
                });
                if !parents_in {
                    return true;
                }
                if used + entry.size <= max_bytes {
                    used += entry.size;
                    fees = fees.checked_add(entry.fee).unwrap_or(fees);
                    included.insert(*txid);
                    chosen.push(entry.tx.clone());
                    progress = true;
                }
                false
            });
            if !progress || pending.is_empty() {
                break;
            }
        }
        (chosen, fees)
    }

    /// Coins that pool transactions create, as `getaddressutxos`-style pending outputs.
    pub fn created(&self, next_height: Height) -> Vec<(OutPoint, Coin)> {
        self.entries
            .values()
            .flat_map(|e| created_coins(&e.tx, next_height))
            .collect()
    }
}
