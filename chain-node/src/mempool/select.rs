//! Block templates from the pool: ancestor-package fee rate order, as Bitcoin Core's
//! miner builds them.
//!
//! Each transaction is ranked by the fee rate of itself with its not yet selected
//! ancestors. The best package goes in whole (ancestors first); the descendants of what
//! went in are re-ranked. A max-heap with lazy deletion keeps this at
//! O(n · d · log n) for n pool transactions with at most d descendants each, and the
//! pool's limits bound d.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet};

use super::Mempool;
use super::package::{FeeRate, Package};
use crate::hash::TxId;
use crate::transaction::Transaction;
use crate::units::{Amount, MAX_MONEY};

/// A transaction ranked by the package it would bring in.
#[derive(Debug)]
struct Candidate {
    rate: FeeRate,
    seq: u64,
    txid: TxId,
    /// The package this rank was computed for; stale once it changed.
    package: Package,
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // Best rate first; among equal rates, the earliest arrival.
        (self.rate, Reverse(self.seq)).cmp(&(other.rate, Reverse(other.seq)))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

impl Mempool {
    /// Transactions for a block template, each after its pool ancestors, until
    /// `max_bytes`: the package (a transaction with its not yet chosen ancestors) with the
    /// highest fee rate first, so that a child paying for its parent lifts both. A package
    /// that does not fit is skipped. Returns them with their total fee.
    ///
    /// A package whose fees would take the total past the money supply is left out (a
    /// block paying such fees would be invalid); the pool's transactions spend real
    /// coins, so this happens only with a view that invents money.
    pub fn select(&self, max_bytes: usize) -> (Vec<Transaction>, Amount) {
        let mut heap: BinaryHeap<Candidate> = self
            .entries
            .iter()
            .map(|(txid, e)| Candidate {
                rate: e.ancestors.rate(),
                seq: e.seq,
                txid: *txid,
                package: e.ancestors,
            })
            .collect();
        // Ancestor totals of entries some of whose ancestors were chosen.
        let mut modified: HashMap<TxId, Package> = HashMap::new();
        let mut included: HashSet<TxId> = HashSet::new();
        let mut chosen = Vec::new();
        let mut used = 0usize;
        let mut fees = Amount::ZERO;
        while let Some(top) = heap.pop() {
            if included.contains(&top.txid) {
                continue;
            }
            let current = modified
                .get(&top.txid)
                .copied()
                .or_else(|| self.entries.get(&top.txid).map(|e| e.ancestors));
            if current != Some(top.package) {
                continue;
            }
            let total = u64::try_from(u128::from(fees.units()) + top.package.fees)
                .ok()
                .map(Amount::from_units)
                .filter(|t| *t <= MAX_MONEY);
            let Some(total) = total else {
                continue;
            };
            if used + top.package.size > max_bytes {
                continue;
            }
            fees = total;
            let mut package: Vec<TxId> = self
                .walk(&[top.txid], true)
                .into_iter()
                .filter(|id| !included.contains(id))
                .collect();
            // A transaction has more ancestors than any of its ancestors.
            package.sort_by_key(|id| {
                self.entries
                    .get(id)
                    .map_or((0, 0), |e| (e.ancestors.count, e.seq))
            });
            // Members of this package go in now: only descendants outside it need a new
            // rank.
            let members: HashSet<TxId> = package.iter().copied().collect();
            for id in package {
                let Some(entry) = self.entries.get(&id) else {
                    continue;
                };
                included.insert(id);
                chosen.push(entry.tx.clone());
                used += entry.size;
                let own = Package::of(entry.fee, entry.size);
                for d in self.walk(&entry.children, false) {
                    if included.contains(&d) || members.contains(&d) {
                        continue;
                    }
                    let Some(de) = self.entries.get(&d) else {
                        continue;
                    };
                    let m = modified.entry(d).or_insert(de.ancestors);
                    m.sub(own);
                    heap.push(Candidate {
                        rate: m.rate(),
                        seq: de.seq,
                        txid: d,
                        package: *m,
                    });
                }
            }
        }
        (chosen, fees)
    }
}
