//! Chain selection from the candidate set against a naive full-scan oracle, over random
//! block trees: headers before data, invalid blocks, `invalidateblock` and
//! `reconsiderblock`.
//!
//! The oracle knows the tree and what the test did, and after every step scans all of
//! it: the active tip must be, among the blocks whose data and all ancestors' data are
//! stored, that no invalidation covers (the block or an ancestor invalidated and not
//! reconsidered since) and that are not invalid by construction, the one with the most
//! work, then the one whose ancestry was complete first (Core's `nSequenceId`; data
//! arrives parents first here, so that is the order of arrival). Reconsidering clears
//! the block, its descendants and its ancestors (Core's `ResetBlockFailureFlags`).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::HashSet;

use chain_node::{Amount, Block, BlockHash, COIN, ChainState, Header, Network, Params};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use crate::chain::NOW;
use crate::helpers::{address, coinbase, key, make_block};

/// xorshift64*: a reproducible stream from the case's seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Header(usize),
    Data(usize),
    Invalidate(usize),
    Reconsider(usize),
}

/// A random tree: `parent[i]` for blocks 1.. (0 is genesis), blocks paying one unit
/// too much in their coinbase (`bad`) are leaves.
struct Tree {
    parent: Vec<usize>,
    height: Vec<u32>,
    bad: Vec<bool>,
    blocks: Vec<Block>,
}

fn build_tree(params: &Params, rng: &mut Rng, n: usize) -> Tree {
    let miner = address(&key(200));
    let mut t = Tree {
        parent: vec![0],
        height: vec![0],
        bad: vec![false],
        blocks: vec![params.genesis.clone()],
    };
    for i in 1..=n {
        let parents: Vec<usize> = (0..i).filter(|p| !t.bad[*p]).collect();
        let p = parents[rng.below(parents.len())];
        let bad = rng.below(6) == 0;
        let height = t.height[p] + 1;
        // Subsidy 50 coins below the first halving (150 blocks on regtest).
        let pay = 50 * COIN + u64::from(bad);
        let parent: Header = t.blocks[p].header;
        let block = make_block(
            params,
            &parent,
            parent.time + 60 + i as u32,
            vec![coinbase(height, miner, Amount::from_units(pay))],
        );
        t.parent.push(p);
        t.height.push(height);
        t.bad.push(bad);
        t.blocks.push(block);
    }
    t
}

/// Headers may come before data; data comes parents first; invalidations and
/// reconsiderations of scheduled blocks come in between.
fn plan(t: &Tree, rng: &mut Rng) -> Vec<Op> {
    let n = t.blocks.len();
    let mut header_sent = vec![false; n];
    let mut data_sent = vec![false; n];
    header_sent[0] = true;
    data_sent[0] = true;
    let mut ops = Vec::new();
    while data_sent.iter().any(|d| !d) {
        let mut choices = Vec::new();
        for i in 1..n {
            let p = t.parent[i];
            if !data_sent[i] && data_sent[p] {
                choices.push(Op::Data(i));
            }
            if !header_sent[i] && !data_sent[i] && (header_sent[p] || data_sent[p]) {
                choices.push(Op::Header(i));
            }
        }
        let sent: Vec<usize> = (0..n)
            .filter(|i| header_sent[*i] || data_sent[*i])
            .collect();
        match rng.below(8) {
            0 if sent.len() > 1 => ops.push(Op::Invalidate(sent[1 + rng.below(sent.len() - 1)])),
            1 => ops.push(Op::Reconsider(sent[rng.below(sent.len())])),
            _ => {
                let op = choices[rng.below(choices.len())];
                match op {
                    Op::Data(i) => data_sent[i] = true,
                    Op::Header(i) => header_sent[i] = true,
                    _ => {}
                }
                ops.push(op);
            }
        }
    }
    ops
}

/// The oracle's view.
struct Oracle<'a> {
    t: &'a Tree,
    known: Vec<bool>,
    data: Vec<bool>,
    seq: Vec<Option<u64>>,
    next_seq: u64,
    invalidated: HashSet<usize>,
}

impl Oracle<'_> {
    fn ancestry(&self, i: usize) -> Vec<usize> {
        let mut out = vec![i];
        let mut c = i;
        while c != 0 {
            c = self.t.parent[c];
            out.push(c);
        }
        out
    }

    fn covered(&self, i: usize) -> bool {
        self.ancestry(i)
            .iter()
            .any(|a| self.invalidated.contains(a))
    }

    fn complete(&self, i: usize) -> bool {
        self.ancestry(i).iter().all(|a| self.data[*a])
    }

    fn descends_from(&self, d: usize, a: usize) -> bool {
        self.ancestry(d).contains(&a)
    }

    /// The expected tip: a scan of every block.
    fn tip(&self) -> usize {
        (0..self.t.blocks.len())
            .filter(|i| self.complete(*i) && !self.covered(*i) && !self.t.bad[*i])
            .max_by_key(|i| {
                (
                    self.t.height[*i],
                    std::cmp::Reverse(self.seq[*i].unwrap_or(u64::MAX)),
                )
            })
            .unwrap_or(0)
    }
}

fn run(seed: u64, n: usize) {
    let params = Network::Regtest.params();
    let mut rng = Rng(seed | 1);
    let tree = build_tree(&params, &mut rng, n);
    let ops = plan(&tree, &mut rng);
    let hash: Vec<BlockHash> = tree.blocks.iter().map(Block::hash).collect();
    let mut state = ChainState::open_temporary(params).unwrap();
    let mut o = Oracle {
        t: &tree,
        known: vec![false; tree.blocks.len()],
        data: vec![false; tree.blocks.len()],
        seq: vec![None; tree.blocks.len()],
        next_seq: 1,
        invalidated: HashSet::new(),
    };
    o.known[0] = true;
    o.data[0] = true;
    o.seq[0] = Some(0);
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Header(i) => {
                let p = tree.parent[i];
                let expect_ok = o.known[p] && !o.covered(p);
                let got = state.accept_headers(&[tree.blocks[i].header], NOW);
                assert_eq!(got.is_ok(), expect_ok, "step {step} {op:?}: {got:?}");
                if expect_ok {
                    o.known[i] = true;
                }
            }
            Op::Data(i) => {
                let p = tree.parent[i];
                let expect_ok = o.known[p] && !o.covered(i);
                let got = state.submit_block(&tree.blocks[i], NOW);
                if !tree.bad[i] {
                    assert_eq!(got.is_ok(), expect_ok, "step {step} {op:?}: {got:?}");
                }
                if expect_ok {
                    o.known[i] = true;
                    o.data[i] = true;
                    if o.complete(p) {
                        o.seq[i] = Some(o.next_seq);
                        o.next_seq += 1;
                    }
                }
            }
            Op::Invalidate(i) => {
                if o.known[i] {
                    state.invalidate_block(&hash[i]).unwrap();
                    o.invalidated.insert(i);
                } else {
                    assert!(state.invalidate_block(&hash[i]).is_err());
                }
            }
            Op::Reconsider(i) => {
                if o.known[i] {
                    state.reconsider_block(&hash[i]).unwrap();
                    let ancestry = o.ancestry(i);
                    let cleared: Vec<usize> = o
                        .invalidated
                        .iter()
                        .copied()
                        .filter(|x| ancestry.contains(x) || o.descends_from(*x, i))
                        .collect();
                    for x in cleared {
                        o.invalidated.remove(&x);
                    }
                } else {
                    assert!(state.reconsider_block(&hash[i]).is_err());
                }
            }
        }
        let want = o.tip();
        assert_eq!(
            state.tip(),
            (chain_node::Height(tree.height[want]), hash[want]),
            "step {step} after {op:?}: expected block {want}"
        );
        assert!(state.best_header().0 >= state.tip().0, "step {step}");
    }
}

proptest! {
    #![proptest_config(Config { rng_seed: RngSeed::Fixed(23), cases: 40, ..Config::default() })]

    #[test]
    fn the_active_tip_is_the_naive_full_scan_s_choice(seed in any::<u64>(), n in 4usize..22) {
        run(seed, n);
    }
}
