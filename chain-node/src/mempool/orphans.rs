//! The orphan pool: transactions that spend outputs the node does not know yet, bounded
//! in count and bytes, keyed by the hash of their full signed bytes.
//!
//! An orphan's signatures cannot be checked before its parents are known (they sign the
//! spent amounts), so a copy with mutated signatures shares the txid of the honest
//! transaction. Keying by the full bytes lets both wait side by side: the copy can never
//! shadow the honest transaction, and the first one that validates when the parents
//! arrive wins.

use std::collections::{BTreeMap, HashMap};

use crate::hash::{TxId, WtxId};
use crate::transaction::Transaction;

/// Identifier of a transaction's full signed bytes: its wtxid.
pub(super) type FullId = WtxId;

/// The hash of every byte of `tx`, signatures included. The one place that names an
/// orphan.
pub(super) fn full_id(tx: &Transaction) -> FullId {
    tx.wtxid()
}

#[derive(Debug)]
struct Orphan {
    tx: Transaction,
    txid: TxId,
    size: usize,
    seq: u64,
}

/// Orphans by full id, oldest dropped first when a bound is reached.
#[derive(Debug, Default)]
pub(super) struct Orphans {
    by_id: HashMap<FullId, Orphan>,
    /// Arrival order.
    order: BTreeMap<u64, FullId>,
    /// Orphans by the txid of each transaction they spend from.
    by_parent: HashMap<TxId, Vec<FullId>>,
    /// Orphans by their own txid (a txid may have several signed forms).
    by_txid: HashMap<TxId, Vec<FullId>>,
    bytes: usize,
    next_seq: u64,
}

impl Orphans {
    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Keeps `tx` unless it is larger than `max_bytes` or `max_count` is zero; then drops
    /// the oldest orphans until both bounds hold. Returns whether `tx` is held.
    pub(super) fn add(&mut self, tx: Transaction, max_count: usize, max_bytes: usize) -> bool {
        let size = tx.size();
        if max_count == 0 || size > max_bytes {
            return false;
        }
        let id = full_id(&tx);
        if self.by_id.contains_key(&id) {
            return true;
        }
        while self.by_id.len() >= max_count || self.bytes + size > max_bytes {
            let Some((_, oldest)) = self.order.first_key_value().map(|(s, i)| (*s, *i)) else {
                break;
            };
            self.remove(&oldest);
        }
        let txid = tx.txid();
        let mut parents: Vec<TxId> = tx.spends().iter().map(|i| i.prevout.txid).collect();
        parents.sort_unstable();
        parents.dedup();
        for p in parents {
            self.by_parent.entry(p).or_default().push(id);
        }
        self.by_txid.entry(txid).or_default().push(id);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, id);
        self.bytes += size;
        self.by_id.insert(
            id,
            Orphan {
                tx,
                txid,
                size,
                seq,
            },
        );
        true
    }

    /// Orphans spending outputs of `parent`, oldest first.
    pub(super) fn waiting_on(&self, parent: &TxId) -> Vec<(FullId, Transaction)> {
        let mut found: Vec<(u64, FullId, Transaction)> = self
            .by_parent
            .get(parent)
            .into_iter()
            .flatten()
            .filter_map(|id| self.by_id.get(id).map(|o| (o.seq, *id, o.tx.clone())))
            .collect();
        found.sort_by_key(|(seq, _, _)| *seq);
        found.into_iter().map(|(_, id, tx)| (id, tx)).collect()
    }

    /// Removes one orphan.
    pub(super) fn remove(&mut self, id: &FullId) -> Option<Transaction> {
        let orphan = self.by_id.remove(id)?;
        self.order.remove(&orphan.seq);
        self.bytes -= orphan.size;
        for input in orphan.tx.spends() {
            unlist(&mut self.by_parent, &input.prevout.txid, id);
        }
        unlist(&mut self.by_txid, &orphan.txid, id);
        Some(orphan.tx)
    }

    /// Removes every signed form of `txid` (it was confirmed).
    pub(super) fn remove_txid(&mut self, txid: &TxId) {
        for id in self.by_txid.get(txid).cloned().unwrap_or_default() {
            self.remove(&id);
        }
    }
}

fn unlist(map: &mut HashMap<TxId, Vec<FullId>>, key: &TxId, id: &FullId) {
    if let Some(list) = map.get_mut(key) {
        list.retain(|x| x != id);
        if list.is_empty() {
            map.remove(key);
        }
    }
}
