//! The `Mempool` on its own, over an in-memory UTXO view: admission limits, eviction
//! that only makes room for what it admits, orphans keyed by their full bytes, and
//! block templates by ancestor-package fee rate checked against a naive greedy oracle.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::{HashMap, HashSet};

use chain_node::error::{MempoolError, TxError};
use chain_node::mempool::{Mempool, MempoolConfig};
use chain_node::signature::SigMode;
use chain_node::validation::Coin;
use chain_node::{
    Amount, Height, MAX_MONEY, Network, OutPoint, Params, Transaction, TxId, TxInputs, TxOut,
};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use crate::helpers::{address, context, key, spend};

const NEXT: Height = Height(2);

/// Confirmed coins, owned by one key, and a pool checked against them.
struct Setup {
    params: Params,
    view: HashMap<OutPoint, Coin>,
    owner: SigningKey,
    pool: Mempool,
}

impl Setup {
    fn new(config: MempoolConfig) -> Self {
        Setup {
            params: Network::Regtest.params(),
            view: HashMap::new(),
            owner: key(40),
            pool: Mempool::new(config),
        }
    }

    /// A new confirmed coin of `amount` paying the owner.
    fn coin(&mut self, amount: u64) -> (OutPoint, Coin) {
        let mut id = [0xc0; 32];
        id[..8].copy_from_slice(&(self.view.len() as u64 + 1).to_le_bytes());
        let op = OutPoint {
            txid: TxId(id),
            vout: 0,
        };
        let coin = Coin {
            amount: Amount::from_units(amount),
            address: address(&self.owner),
            height: Height(1),
            is_coinbase: false,
        };
        self.view.insert(op, coin);
        (op, coin)
    }

    /// Spends `inputs` (owned by the owner) into `outputs` equal outputs to the owner,
    /// leaving `fee`.
    fn spend(&self, inputs: &[(OutPoint, Coin)], outputs: u64, fee: u64) -> Transaction {
        let total: u64 = inputs.iter().map(|(_, c)| c.amount.units()).sum();
        let each = (total - fee) / outputs;
        let mut outs: Vec<TxOut> = (0..outputs)
            .map(|_| TxOut::pay(Amount::from_units(each), address(&self.owner)))
            .collect();
        // Rounding goes to the first output, so that the fee is exact.
        outs[0].amount = Amount::from_units(total - fee - each * (outputs - 1));
        let signed: Vec<(OutPoint, Coin, &SigningKey)> =
            inputs.iter().map(|(o, c)| (*o, *c, &self.owner)).collect();
        spend(&self.params, &signed, outs)
    }

    fn accept(&mut self, tx: &Transaction) -> Result<chain_node::mempool::Accepted, MempoolError> {
        self.pool.accept(
            tx.clone(),
            &context(
                &self.params,
                &self.view,
                NEXT,
                SigMode::Strict { threads: 1 },
            ),
        )
    }
}

/// Output `vout` of a pool transaction as an input the owner can spend.
fn out(tx: &Transaction, vout: u32) -> (OutPoint, Coin) {
    let o = &tx.outputs[vout as usize];
    (
        OutPoint {
            txid: tx.txid(),
            vout,
        },
        Coin {
            amount: o.amount,
            address: o.address().unwrap(),
            height: NEXT,
            is_coinbase: false,
        },
    )
}

fn in_pool(pool: &Mempool) -> HashSet<TxId> {
    pool.txids().into_iter().collect()
}

#[test]
fn ancestor_and_descendant_counts_stop_at_25_each_way() {
    let mut s = Setup::new(MempoolConfig::default());
    // A chain of 25: each spends the previous one's only output.
    let c = s.coin(1_000_000_000);
    let mut chain = vec![s.spend(&[c], 1, 10_000)];
    for _ in 1..25 {
        let next = s.spend(&[out(chain.last().unwrap(), 0)], 1, 10_000);
        chain.push(next);
    }
    for tx in &chain {
        s.accept(tx).unwrap();
    }
    let last = s.pool.get(&chain[24].txid()).unwrap();
    assert_eq!(last.ancestor_count(), 25);
    assert_eq!(s.pool.get(&chain[0].txid()).unwrap().descendant_count(), 25);
    let sizes: usize = chain.iter().map(Transaction::size).sum();
    assert_eq!(last.ancestor_size(), sizes);
    // A 26th link has 26 in its ancestry.
    let too_long = s.spend(&[out(&chain[24], 0)], 1, 10_000);
    assert_eq!(
        s.accept(&too_long),
        Err(MempoolError::TooManyAncestors {
            txid: too_long.txid(),
            count: 26,
            max: 25
        })
    );
    // A fan: one parent with 30 outputs and 24 children is at 25 descendants.
    let c = s.coin(1_000_000_000);
    let parent = s.spend(&[c], 30, 10_000);
    s.accept(&parent).unwrap();
    for vout in 0..24 {
        s.accept(&s.spend(&[out(&parent, vout)], 1, 10_000))
            .unwrap();
    }
    let child = s.spend(&[out(&parent, 24)], 1, 10_000);
    assert_eq!(
        s.accept(&child),
        Err(MempoolError::TooManyDescendants {
            txid: child.txid(),
            ancestor: parent.txid(),
            count: 26,
            max: 25
        })
    );
    assert_eq!(s.pool.len(), 25 + 25);
}

#[test]
fn ancestor_and_descendant_sizes_are_bounded() {
    let mut probe = Setup::new(MempoolConfig::default());
    let c = probe.coin(1_000_000);
    let one = probe.spend(&[c], 1, 10_000).size();
    let two_outputs = probe.spend(&[c], 2, 10_000).size();
    // Room for a parent and one child each way, not two.
    let config = MempoolConfig {
        max_ancestor_bytes: two_outputs + one + one / 2,
        max_descendant_bytes: two_outputs + one + one / 2,
        ..MempoolConfig::default()
    };
    let mut s = Setup::new(config);
    let c = s.coin(1_000_000_000);
    let parent = s.spend(&[c], 2, 10_000);
    s.accept(&parent).unwrap();
    let child = s.spend(&[out(&parent, 0)], 1, 10_000);
    s.accept(&child).unwrap();
    let grandchild = s.spend(&[out(&child, 0)], 1, 10_000);
    assert_eq!(
        s.accept(&grandchild),
        Err(MempoolError::AncestorsTooLarge {
            txid: grandchild.txid(),
            bytes: parent.size() + child.size() + grandchild.size(),
            max: config.max_ancestor_bytes,
        })
    );
    let sibling = s.spend(&[out(&parent, 1)], 1, 10_000);
    assert_eq!(
        s.accept(&sibling),
        Err(MempoolError::DescendantsTooLarge {
            txid: sibling.txid(),
            ancestor: parent.txid(),
            bytes: parent.size() + child.size() + sibling.size(),
            max: config.max_descendant_bytes,
        })
    );
    assert_eq!(
        in_pool(&s.pool),
        HashSet::from([parent.txid(), child.txid()])
    );
}

/// A pool with room for exactly `n` one-input, one-output transactions.
fn capped(n: usize) -> Setup {
    let mut probe = Setup::new(MempoolConfig::default());
    let c = probe.coin(1_000_000);
    let size = probe.spend(&[c], 1, 1).size();
    Setup::new(MempoolConfig {
        max_bytes: size * n + size / 2,
        ..MempoolConfig::default()
    })
}

#[test]
fn a_full_pool_evicts_nothing_for_a_transaction_it_then_refuses() {
    let mut s = capped(2);
    let (c1, c2) = (s.coin(100_000_000), s.coin(100_000_000));
    let low = s.spend(&[c1], 1, 2_000);
    let high = s.spend(&[c2], 1, 90_000);
    s.accept(&low).unwrap();
    s.accept(&high).unwrap();
    // A child of `low` paying more than `low` but less than `high`: the only room it
    // could get is its own parent's, so it is refused and nothing leaves.
    let child = s.spend(&[out(&low, 0)], 1, 20_000);
    assert!(matches!(s.accept(&child), Err(MempoolError::Full { .. })));
    assert_eq!(in_pool(&s.pool), HashSet::from([low.txid(), high.txid()]));
    // A transaction over the ancestor limit is refused before any eviction too.
    let mut strict = capped(2);
    strict.pool = Mempool::new(MempoolConfig {
        max_ancestors: 1,
        ..strict.pool.config()
    });
    let (c1, c2) = (strict.coin(100_000_000), strict.coin(100_000_000));
    let parent = strict.spend(&[c1], 1, 2_000);
    let other = strict.spend(&[c2], 1, 2_000);
    strict.accept(&parent).unwrap();
    strict.accept(&other).unwrap();
    let rich_child = strict.spend(&[out(&parent, 0)], 1, 500_000);
    assert!(matches!(
        strict.accept(&rich_child),
        Err(MempoolError::TooManyAncestors { .. })
    ));
    assert_eq!(
        in_pool(&strict.pool),
        HashSet::from([parent.txid(), other.txid()])
    );
    // An unrelated transaction paying more than `low` takes exactly `low`'s room.
    let c3 = s.coin(100_000_000);
    let newcomer = s.spend(&[c3], 1, 20_000);
    let accepted = s.accept(&newcomer).unwrap();
    assert_eq!(accepted.evicted, vec![low.txid()]);
    assert_eq!(
        in_pool(&s.pool),
        HashSet::from([high.txid(), newcomer.txid()])
    );
}

#[test]
fn eviction_ranks_a_parent_by_what_its_children_pay() {
    let mut s = capped(3);
    let (c1, c2) = (s.coin(100_000_000), s.coin(100_000_000));
    // `parent` pays little but its child pays a lot: as a package they beat `mid`.
    let parent = s.spend(&[c1], 1, 2_000);
    let child = s.spend(&[out(&parent, 0)], 1, 200_000);
    let mid = s.spend(&[c2], 1, 30_000);
    for tx in [&parent, &child, &mid] {
        s.accept(tx).unwrap();
    }
    let c3 = s.coin(100_000_000);
    let newcomer = s.spend(&[c3], 1, 40_000);
    let accepted = s.accept(&newcomer).unwrap();
    assert_eq!(accepted.evicted, vec![mid.txid()]);
    assert_eq!(
        in_pool(&s.pool),
        HashSet::from([parent.txid(), child.txid(), newcomer.txid()])
    );
}

#[test]
fn a_mutated_orphan_never_shadows_the_honest_transaction() {
    let mut s = Setup::new(MempoolConfig::default());
    let c = s.coin(100_000_000);
    let parent = s.spend(&[c], 1, 10_000);
    let honest = s.spend(&[out(&parent, 0)], 1, 10_000);
    let mut mutated = honest.clone();
    if let TxInputs::Spend(ins) = &mut mutated.inputs {
        ins[0].signature[5] ^= 0x40;
    }
    assert_eq!(
        mutated.txid(),
        honest.txid(),
        "signatures are outside the txid"
    );
    // The copy comes first, the honest one second: both wait, each under its own bytes.
    let txid = honest.txid();
    assert_eq!(
        s.accept(&mutated),
        Err(MempoolError::MissingInputs { txid })
    );
    assert_eq!(s.accept(&honest), Err(MempoolError::MissingInputs { txid }));
    assert_eq!(s.pool.orphan_count(), 2);
    // The parent third: the copy fails its signature check and is dropped, the honest
    // transaction joins.
    let accepted = s.accept(&parent).unwrap();
    assert_eq!(accepted.added, vec![parent.txid(), txid]);
    assert_eq!(
        accepted.dropped,
        vec![(
            txid,
            MempoolError::Invalid {
                txid,
                source: TxError::BadSignature { index: 0 }
            }
        )]
    );
    assert_eq!(s.pool.get(&txid).unwrap().tx.to_bytes(), honest.to_bytes());
    assert_eq!(s.pool.orphan_count(), 0);
    assert_eq!(s.pool.orphan_bytes(), 0);
}

#[test]
fn orphans_are_bounded_by_count_and_bytes() {
    let mut probe = Setup::new(MempoolConfig::default());
    let c = probe.coin(1_000_000);
    let size = probe.spend(&[c], 1, 1).size();
    let mut s = Setup::new(MempoolConfig {
        max_orphans: 10,
        max_orphan_bytes: size * 2 + size / 2,
        ..MempoolConfig::default()
    });
    // Orphans: spends of outputs nobody has seen.
    let unknown = |i: u8| {
        (
            OutPoint {
                txid: TxId([i; 32]),
                vout: 0,
            },
            Coin {
                amount: Amount::from_units(1_000_000),
                address: address(&key(40)),
                height: Height(1),
                is_coinbase: false,
            },
        )
    };
    let orphans: Vec<Transaction> = (1..=3).map(|i| s.spend(&[unknown(i)], 1, 10_000)).collect();
    for o in &orphans {
        assert!(matches!(
            s.accept(o),
            Err(MempoolError::MissingInputs { .. })
        ));
    }
    // Room for two by bytes: the oldest went.
    assert_eq!(s.pool.orphan_count(), 2);
    assert_eq!(s.pool.orphan_bytes(), 2 * size);
    // One larger than the whole orphan budget is not kept, and says so.
    let mut tiny = Setup::new(MempoolConfig {
        max_orphan_bytes: size - 1,
        ..MempoolConfig::default()
    });
    let o = tiny.spend(&[unknown(7)], 1, 10_000);
    assert_eq!(
        tiny.accept(&o),
        Err(MempoolError::OrphanNotKept {
            txid: o.txid(),
            size,
            max: size - 1
        })
    );
    assert_eq!(tiny.pool.orphan_count(), 0);
}

#[test]
fn a_child_paying_for_its_parent_lifts_both_into_the_template() {
    let mut s = Setup::new(MempoolConfig::default());
    let (c1, c2) = (s.coin(100_000_000), s.coin(100_000_000));
    let parent = s.spend(&[c1], 1, 1_000);
    let child = s.spend(&[out(&parent, 0)], 1, 200_000);
    let mid = s.spend(&[c2], 1, 20_000);
    for tx in [&parent, &child, &mid] {
        s.accept(tx).unwrap();
    }
    // Own fee rates put `mid` first; as a package, parent + child pay more per byte.
    let (txs, fees) = s.pool.select(usize::MAX);
    let order: Vec<TxId> = txs.iter().map(Transaction::txid).collect();
    assert_eq!(order, vec![parent.txid(), child.txid(), mid.txid()]);
    assert_eq!(fees, Amount::from_units(221_000));
    // Room for two: the package.
    let (txs, fees) = s.pool.select(parent.size() + child.size());
    assert_eq!(txs.len(), 2);
    assert_eq!(fees, Amount::from_units(201_000));
}

#[test]
fn template_fees_never_pass_the_money_supply() {
    let mut s = Setup::new(MempoolConfig::default());
    // A view that invents money: two coins of the whole supply.
    let a = s.coin(MAX_MONEY.units());
    let b = s.coin(MAX_MONEY.units());
    let ta = s.spend(&[a], 1, MAX_MONEY.units() - 1_000);
    let tb = s.spend(&[b], 1, MAX_MONEY.units() - 2_000);
    s.accept(&ta).unwrap();
    s.accept(&tb).unwrap();
    let (txs, fees) = s.pool.select(usize::MAX);
    // The better one alone: both would pay more than the supply.
    assert_eq!(txs, vec![ta.clone()]);
    assert_eq!(fees, Amount::from_units(MAX_MONEY.units() - 1_000));
}

#[test]
fn restore_and_resync_report_what_they_drop() {
    let mut s = Setup::new(MempoolConfig::default());
    let c = s.coin(100_000_000);
    let parent = s.spend(&[c], 1, 10_000);
    let child = s.spend(&[out(&parent, 0)], 1, 10_000);
    let mut forged = s.spend(&[out(&child, 0)], 1, 10_000);
    if let TxInputs::Spend(ins) = &mut forged.inputs {
        ins[0].signature[0] ^= 1;
    }
    // Children listed before parents, the parent twice.
    let outcome = s.pool.restore(
        vec![
            forged.clone(),
            child.clone(),
            parent.clone(),
            parent.clone(),
        ],
        &context(&s.params, &s.view, NEXT, SigMode::Strict { threads: 1 }),
    );
    assert_eq!(outcome.added, vec![parent.txid(), child.txid()]);
    assert_eq!(outcome.dropped.len(), 1);
    assert_eq!(outcome.dropped[0].0, forged.txid());
    // The parent's coin is spent by a block: resync drops the parent and its child.
    s.view.remove(&c.0);
    let outcome = s.pool.resync(
        vec![],
        &context(&s.params, &s.view, NEXT, SigMode::Strict { threads: 1 }),
    );
    assert!(outcome.added.is_empty());
    let dropped: Vec<TxId> = outcome.dropped.iter().map(|(t, _)| *t).collect();
    assert_eq!(dropped, vec![parent.txid(), child.txid()]);
    assert!(s.pool.is_empty() && s.pool.bytes() == 0);
}

/// The naive greedy rule `select` implements, with everything fitting: repeatedly take
/// the transaction whose package (itself and its ancestors not yet taken) has the best
/// fee rate, earliest arrival among equals, and take the package parents first.
fn naive_select(txs: &[(Transaction, u64)]) -> Vec<TxId> {
    let ids: Vec<TxId> = txs.iter().map(|(t, _)| t.txid()).collect();
    let index: HashMap<TxId, usize> = ids.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    let parents = |i: usize| -> Vec<usize> {
        txs[i]
            .0
            .spends()
            .iter()
            .filter_map(|input| index.get(&input.prevout.txid).copied())
            .collect()
    };
    let mut taken: Vec<bool> = vec![false; txs.len()];
    let mut order = Vec::new();
    while order.len() < txs.len() {
        let mut best: Option<(u128, u128, usize, Vec<usize>)> = None;
        for i in 0..txs.len() {
            if taken[i] {
                continue;
            }
            // Ancestors not taken, by depth-first search.
            let mut package = vec![i];
            let mut k = 0;
            while k < package.len() {
                for p in parents(package[k]) {
                    if !taken[p] && !package.contains(&p) {
                        package.push(p);
                    }
                }
                k += 1;
            }
            let fee: u128 = package.iter().map(|&j| u128::from(txs[j].1)).sum();
            let size: u128 = package.iter().map(|&j| txs[j].0.size() as u128).sum();
            let better = match &best {
                None => true,
                Some((bf, bs, bi, _)) => fee * bs > bf * size || (fee * bs == bf * size && i < *bi),
            };
            if better {
                best = Some((fee, size, i, package));
            }
        }
        let (_, _, _, mut package) = best.unwrap();
        // Parents first: arrival order is a topological order here.
        package.sort_unstable();
        for j in package {
            taken[j] = true;
            order.push(ids[j]);
        }
    }
    order
}

proptest! {
    #![proptest_config(Config { rng_seed: RngSeed::Fixed(8), cases: 12, ..Config::default() })]

    #[test]
    fn select_matches_the_naive_greedy_package_order(
        plan in proptest::collection::vec((any::<u8>(), 1u64..3, 1u64..400), 1..40),
    ) {
        let mut s = Setup::new(MempoolConfig::default());
        // Each step spends a fresh coin or an unspent output of an earlier transaction,
        // with a random fee; arrival order is the plan's order.
        let mut unspent: Vec<(OutPoint, Coin)> = Vec::new();
        let mut admitted: Vec<(Transaction, u64)> = Vec::new();
        for (pick, outputs, fee_k) in plan {
            let input = if unspent.is_empty() || pick % 3 == 0 {
                s.coin(1_000_000_000)
            } else {
                unspent.remove(pick as usize % unspent.len())
            };
            let fee = fee_k * 1_000;
            let tx = s.spend(&[input], outputs, fee);
            if s.accept(&tx).is_ok() {
                for v in 0..outputs as u32 {
                    unspent.push(out(&tx, v));
                }
                admitted.push((tx, fee));
            }
        }
        let (txs, fees) = s.pool.select(usize::MAX);
        let got: Vec<TxId> = txs.iter().map(Transaction::txid).collect();
        prop_assert_eq!(got, naive_select(&admitted));
        prop_assert_eq!(fees.units(), admitted.iter().map(|(_, f)| f).sum::<u64>());
    }
}

/// Ancestor and descendant totals recomputed from the transactions' inputs alone.
fn naive_totals(pool: &Mempool) -> HashMap<TxId, (usize, usize, usize, usize)> {
    let ids: Vec<TxId> = pool.txids();
    let parents = |id: &TxId| -> Vec<TxId> {
        let mut p: Vec<TxId> = pool
            .get(id)
            .unwrap()
            .tx
            .spends()
            .iter()
            .map(|i| i.prevout.txid)
            .filter(|t| pool.get(t).is_some())
            .collect();
        p.sort();
        p.dedup();
        p
    };
    let ancestors = |id: &TxId| -> HashSet<TxId> {
        let mut seen = HashSet::from([*id]);
        let mut stack = vec![*id];
        while let Some(x) = stack.pop() {
            for p in parents(&x) {
                if seen.insert(p) {
                    stack.push(p);
                }
            }
        }
        seen
    };
    let all: HashMap<TxId, HashSet<TxId>> = ids.iter().map(|id| (*id, ancestors(id))).collect();
    let size = |id: &TxId| pool.get(id).unwrap().size;
    ids.iter()
        .map(|id| {
            let anc = &all[id];
            let desc: Vec<&TxId> = ids.iter().filter(|d| all[*d].contains(id)).collect();
            (
                *id,
                (
                    anc.len(),
                    anc.iter().map(size).sum(),
                    desc.len(),
                    desc.iter().map(|d| size(d)).sum(),
                ),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(Config { rng_seed: RngSeed::Fixed(9), cases: 12, ..Config::default() })]

    #[test]
    fn running_totals_match_the_graph_after_admissions_and_removals(
        plan in proptest::collection::vec((any::<u8>(), 1u64..4, 0u8..10), 1..60),
    ) {
        // Room for about a dozen transactions, so that admissions also evict.
        let mut s = Setup::new(MempoolConfig {
            max_ancestors: 6,
            max_descendants: 6,
            max_bytes: 2_500,
            ..MempoolConfig::default()
        });
        let mut unspent: Vec<(OutPoint, Coin)> = Vec::new();
        for (pick, outputs, action) in plan {
            match action {
                // Confirm a random pool transaction (its parents first, as a block would).
                0 => {
                    let ids = s.pool.txids();
                    if let Some(id) = ids.get(pick as usize % ids.len().max(1)) {
                        let tx = s.pool.get(id).unwrap().tx.clone();
                        if tx.spends().iter().all(|i| s.pool.get(&i.prevout.txid).is_none()) {
                            s.pool.block_connected(&[tx]);
                        }
                    }
                }
                // Remove one with its descendants.
                1 => {
                    let ids = s.pool.txids();
                    if let Some(id) = ids.get(pick as usize % ids.len().max(1)) {
                        s.pool.remove_with_descendants(id);
                    }
                }
                _ => {
                    let input = if unspent.is_empty() || pick % 4 == 0 {
                        s.coin(1_000_000_000)
                    } else {
                        unspent.remove(pick as usize % unspent.len())
                    };
                    let tx = s.spend(&[input], outputs, 5_000 + u64::from(pick) * 100);
                    if s.accept(&tx).is_ok() {
                        for v in 0..outputs as u32 {
                            unspent.push(out(&tx, v));
                        }
                    }
                }
            }
            for (id, (ac, asz, dc, dsz)) in naive_totals(&s.pool) {
                let e = s.pool.get(&id).unwrap();
                prop_assert_eq!(
                    (e.ancestor_count(), e.ancestor_size(), e.descendant_count(), e.descendant_size()),
                    (ac, asz, dc, dsz)
                );
                prop_assert!(ac <= 6 && dc <= 6);
            }
            let total: usize = s.pool.txids().iter().map(|id| s.pool.get(id).unwrap().size).sum();
            prop_assert_eq!(s.pool.bytes(), total);
            prop_assert!(total <= 2_500);
        }
    }
}

#[test]
fn orphans_join_when_their_parent_is_confirmed_instead_of_relayed() {
    let mut s = Setup::new(MempoolConfig::default());
    let c = s.coin(100_000_000);
    let parent = s.spend(&[c], 1, 10_000);
    let child = s.spend(&[out(&parent, 0)], 1, 10_000);
    assert!(matches!(
        s.accept(&child),
        Err(MempoolError::MissingInputs { .. })
    ));
    // The parent never reaches the pool: a block confirms it.
    s.view.remove(&c.0);
    let (op, mut coin) = out(&parent, 0);
    coin.height = Height(1);
    s.view.insert(op, coin);
    s.pool.block_connected(std::slice::from_ref(&parent));
    let outcome = s.pool.block_orphans(
        std::slice::from_ref(&parent),
        &context(&s.params, &s.view, NEXT, SigMode::Strict { threads: 1 }),
    );
    assert_eq!(outcome.added, vec![child.txid()]);
    assert_eq!(s.pool.orphan_count(), 0);
    assert_eq!(in_pool(&s.pool), HashSet::from([child.txid()]));
}
