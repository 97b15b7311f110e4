//! The sled chain state: connect, reorg, fallback, restart, reindex, and a property test
//! that connect/disconnect round-trips restore the UTXO set exactly.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::HashMap;

use chain_node::error::{BlockError, ChainError, TxError};
use chain_node::validation::Coin;
use chain_node::{
    Amount, Block, CacheConfig, ChainEvent, ChainState, Height, Network, OutPoint, Params,
    TipStatus, TxInputs, TxOut,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use crate::helpers::{MemChain, address, coinbase, key, make_block, make_block_bits, spend};

/// A clock far enough ahead of every test block.
pub(crate) const NOW: u64 = 1_764_000_000 + 10_000_000;

fn open_temp() -> ChainState {
    ChainState::open_temporary(Network::Regtest.params()).unwrap()
}

/// Builds `n` blocks on `mem` (advancing it) and returns them.
pub(crate) fn extend(mem: &mut MemChain, n: usize, tag: u32) -> Vec<Block> {
    (0..n)
        .map(|_| {
            let mut b = mem.block_with(vec![], 0);
            // Distinguish branches by time so that sibling blocks differ.
            b.header.time += tag;
            b = make_block(&mem.params, mem.tip(), b.header.time, b.txs);
            mem.connect(&b).unwrap();
            b
        })
        .collect()
}

pub(crate) fn submit_all(state: &mut ChainState, blocks: &[Block]) {
    for b in blocks {
        state.submit_block(b, NOW).unwrap();
    }
}

#[test]
fn mined_blocks_build_the_utxo_set_and_address_index() {
    let mut state = open_temp();
    let mut mem = MemChain::new(Network::Regtest.params());
    let blocks = extend(&mut mem, 5, 0);
    submit_all(&mut state, &blocks);
    assert_eq!(state.tip(), (Height(5), blocks[4].hash()));
    assert_eq!(state.utxo_set().unwrap(), mem.utxo);
    let mine = state.address_utxos(&address(&mem.miner)).unwrap();
    assert_eq!(mine.len(), 5);
    assert!(state.address_utxos(&address(&key(3))).unwrap().is_empty());
    // Submitting again is refused without changes.
    assert!(matches!(
        state.submit_block(&blocks[2], NOW),
        Err(ChainError::Duplicate { .. })
    ));
}

#[test]
fn unknown_parent_and_invalid_header_change_nothing() {
    let mut state = open_temp();
    let mut mem = MemChain::new(Network::Regtest.params());
    let blocks = extend(&mut mem, 2, 0);
    assert!(matches!(
        state.submit_block(&blocks[1], NOW),
        Err(ChainError::UnknownParent { .. })
    ));
    // A block from the future.
    let future = make_block(
        &mem.params,
        &mem.params.genesis.header,
        (NOW + 7201) as u32,
        blocks[0].txs.clone(),
    );
    match state.submit_block(&future, NOW) {
        Err(ChainError::Invalid {
            source: BlockError::TimeTooNew { .. },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(state.tip().0, Height(0));
    assert!(state.entry(&future.hash()).is_none(), "nothing stored");
}

#[test]
fn heavier_fork_reorgs_and_events_are_in_order() {
    let mut state = open_temp();
    let params = Network::Regtest.params();
    let mut a = MemChain::new(params.clone());
    let mut b = MemChain::new(params);
    let a_blocks = extend(&mut a, 3, 0);
    let b_blocks = extend(&mut b, 4, 7);
    submit_all(&mut state, &a_blocks);
    submit_all(&mut state, &b_blocks[..3]);
    assert_eq!(
        state.tip().1,
        a_blocks[2].hash(),
        "equal work: first branch stays"
    );
    let act = state.submit_block(&b_blocks[3], NOW).unwrap();
    assert_eq!(state.tip(), (Height(4), b_blocks[3].hash()));
    let kinds: Vec<(bool, u32)> = act
        .events
        .iter()
        .map(|e| match e {
            ChainEvent::Connected { height, .. } => (true, height.0),
            ChainEvent::Disconnected { height, .. } => (false, height.0),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (false, 3),
            (false, 2),
            (false, 1),
            (true, 1),
            (true, 2),
            (true, 3),
            (true, 4)
        ]
    );
    assert_eq!(state.utxo_set().unwrap(), b.utxo);
    let tips = state.chain_tips();
    assert_eq!(tips.len(), 2);
    assert_eq!(
        tips.iter()
            .find(|t| t.status == TipStatus::ValidFork)
            .unwrap()
            .branch_len,
        3
    );
}

#[test]
fn invalid_block_in_heavier_fork_falls_back_to_old_branch() {
    let mut state = open_temp();
    let params = Network::Regtest.params();
    let mut a = MemChain::new(params.clone());
    let a_blocks = extend(&mut a, 102, 0);
    submit_all(&mut state, &a_blocks);
    let before = state.utxo_set().unwrap();
    // Fork at 101: block 102' spends a coin with a bad signature, then 103', 104'.
    let mut fork = MemChain::new(params.clone());
    for blk in &a_blocks[..101] {
        fork.connect(blk).unwrap();
    }
    let (op, coin) = fork.coinbase_coin(1);
    let miner = fork.miner.clone();
    let mut bad = spend(
        &params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(coin.amount, address(&key(1)))],
    );
    if let TxInputs::Spend(ins) = &mut bad.inputs {
        ins[0].signature[0] ^= 1;
    }
    let mut bad_block = fork.block_with(vec![bad], 0);
    bad_block = make_block(
        &params,
        fork.tip(),
        bad_block.header.time + 3,
        bad_block.txs,
    );
    // Extend it with headers-valid blocks (not connectable) built on top.
    let mut next = make_block(
        &params,
        &bad_block.header,
        bad_block.header.time + 60,
        vec![crate::helpers::coinbase(
            103,
            address(&key(5)),
            Amount::from_units(1),
        )],
    );
    // Equal work: stored but not connected, so not yet found invalid.
    let act = state.submit_block(&bad_block, NOW).unwrap();
    assert!(act.events.is_empty() && act.invalid.is_empty());
    assert_eq!(state.tip().1, a_blocks[101].hash());
    let act = state.submit_block(&next, NOW);
    // The heavier fork was tried, its first block failed, and the node is back on A.
    match act {
        Ok(act) => {
            assert!(act.invalid.iter().any(|(h, e)| *h == bad_block.hash()
                && e.tx_error() == Some(&TxError::BadSignature { index: 0 })));
            // Old tip out, bad block refused, old tip back in.
            assert_eq!(act.events.len(), 2);
            assert!(
                matches!(&act.events[1], ChainEvent::Connected { block, .. } if block.hash() == a_blocks[101].hash())
            );
        }
        Err(e) => panic!("{e:?}"),
    }
    assert_eq!(state.tip(), (Height(102), a_blocks[101].hash()));
    assert_eq!(state.utxo_set().unwrap(), before);
    // Descendants of the invalid block are refused.
    next = make_block(
        &params,
        &next.header,
        next.header.time + 60,
        vec![crate::helpers::coinbase(
            104,
            address(&key(5)),
            Amount::from_units(1),
        )],
    );
    assert!(matches!(
        state.submit_block(&next, NOW),
        Err(ChainError::InvalidAncestor { .. })
    ));
}

#[test]
fn state_survives_reopen_and_reindex() {
    let dir = crate::helpers::temp_dir("reopen");
    let params = Network::Regtest.params();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 103, 0);
    let (op, coin) = mem.coinbase_coin(2);
    let miner = mem.miner.clone();
    let pay = spend(
        &params,
        &[(op, coin, &miner)],
        vec![
            TxOut::pay(Amount::from_units(1000), address(&key(9))),
            TxOut::pay(
                Amount::from_units(coin.amount.units() - 1000),
                address(&miner),
            ),
        ],
    );
    let last = mem.block_with(vec![pay], 0);
    mem.connect(&last).unwrap();
    {
        let mut state = ChainState::open(&dir, params.clone()).unwrap();
        submit_all(&mut state, &blocks);
        state.submit_block(&last, NOW).unwrap();
    }
    let mut state = ChainState::open(&dir, params.clone()).unwrap();
    assert_eq!(state.tip(), (Height(104), last.hash()));
    assert_eq!(state.utxo_set().unwrap(), mem.utxo);
    assert_eq!(state.address_utxos(&address(&key(9))).unwrap().len(), 1);
    state.reindex(|_, _| {}).unwrap();
    assert_eq!(state.tip(), (Height(104), last.hash()));
    assert_eq!(state.utxo_set().unwrap(), mem.utxo);
    assert_eq!(state.address_utxos(&address(&key(9))).unwrap().len(), 1);
    drop(state);
    // Another network refuses the directory.
    assert!(matches!(
        ChainState::open(&dir, Network::Testnet.params()),
        Err(ChainError::WrongStore { .. })
    ));
}

#[test]
fn invalidate_and_reconsider() {
    let mut state = open_temp();
    let mut mem = MemChain::new(Network::Regtest.params());
    let blocks = extend(&mut mem, 6, 0);
    submit_all(&mut state, &blocks);
    let act = state.invalidate_block(&blocks[3].hash()).unwrap();
    assert_eq!(act.events.len(), 3);
    assert_eq!(state.tip(), (Height(3), blocks[2].hash()));
    assert!(
        state
            .chain_tips()
            .iter()
            .any(|t| t.status == TipStatus::Invalid && t.hash == blocks[5].hash())
    );
    state.reconsider_block(&blocks[3].hash()).unwrap();
    assert_eq!(state.tip(), (Height(6), blocks[5].hash()));
    assert_eq!(state.utxo_set().unwrap(), mem.utxo);
    assert!(matches!(
        state.invalidate_block(&state.hash_at(Height(0)).unwrap()),
        Err(ChainError::Genesis)
    ));
}

/// A random chain: each block spends some random mature or same-block coins.
pub(crate) fn random_chain(
    params: &Params,
    plan: &[Vec<(u8, u8)>],
) -> (Vec<Block>, Vec<HashMap<OutPoint, Coin>>) {
    let mut mem = MemChain::new(params.clone());
    let mut snapshots = vec![mem.utxo.clone()];
    let mut blocks = Vec::new();
    // Keys by address so any coin can be spent.
    let keys: Vec<_> = (1..=4).map(key).chain([mem.miner.clone()]).collect();
    let owner = |c: &Coin| {
        keys.iter()
            .find(|k| address(k) == c.address)
            .unwrap()
            .clone()
    };
    mem.mine(0);
    for (h, txs) in plan.iter().enumerate() {
        let height = h as u32 + 1;
        let mut spendable: Vec<(OutPoint, Coin)> = mem
            .utxo
            .iter()
            .filter(|(_, c)| !c.is_coinbase || height - c.height.0 >= 100)
            .map(|(o, c)| (*o, *c))
            .collect();
        spendable.sort_by_key(|(o, _)| *o);
        let mut chosen = Vec::new();
        for (pick, to) in txs {
            if spendable.is_empty() {
                break;
            }
            let (op, coin) = spendable.remove(*pick as usize % spendable.len());
            let k = owner(&coin);
            let half = coin.amount.units() / 2;
            let tx = spend(
                params,
                &[(op, coin, &k)],
                vec![
                    TxOut::pay(Amount::from_units(half), address(&keys[*to as usize % 4])),
                    TxOut::pay(
                        Amount::from_units(coin.amount.units() - half - 10),
                        address(&k),
                    ),
                ],
            );
            // Chain a spend of the first new output inside the same block.
            let child_op = OutPoint {
                txid: tx.txid(),
                vout: 0,
            };
            let child_coin = Coin {
                amount: Amount::from_units(half),
                address: address(&keys[*to as usize % 4]),
                height: Height(height),
                is_coinbase: false,
            };
            let ck = owner(&child_coin);
            let child = spend(
                params,
                &[(child_op, child_coin, &ck)],
                vec![TxOut::pay(
                    Amount::from_units(half - 5),
                    address(&keys[(*to as usize + 1) % 4]),
                )],
            );
            chosen.push(tx);
            chosen.push(child);
        }
        let fees = 15 * (chosen.len() as u64 / 2);
        let b = mem.block_with(chosen, fees);
        mem.connect(&b).unwrap();
        blocks.push(b);
        snapshots.push(mem.utxo.clone());
    }
    (blocks, snapshots)
}

proptest! {
    #![proptest_config(Config { rng_seed: RngSeed::Fixed(4), cases: 6, ..Config::default() })]

    #[test]
    fn connect_disconnect_round_trips_restore_utxo_set(
        plan in proptest::collection::vec(proptest::collection::vec((any::<u8>(), any::<u8>()), 0..3), 104..110),
        cut in 1usize..100,
    ) {
        let params = Network::Regtest.params();
        let (blocks, snapshots) = random_chain(&params, &plan);
        let mut state = ChainState::open_temporary(params).unwrap();
        submit_all(&mut state, &blocks);
        let n = blocks.len();
        let got = state.utxo_set().unwrap();
        let only_got: Vec<_> = got.iter().filter(|(k, _)| !snapshots[n].contains_key(k)).collect();
        let only_want: Vec<_> = snapshots[n].iter().filter(|(k, _)| !got.contains_key(k)).collect();
        prop_assert!(only_got.is_empty() && only_want.is_empty(), "extra {:?} missing {:?}", only_got, only_want);
        prop_assert_eq!(&got, &snapshots[n]);
        // Disconnect back to a random height past the first spends, then reconnect.
        let at = n - (cut % 8) - 1;
        state.invalidate_block(&blocks[at].hash()).unwrap();
        prop_assert_eq!(state.tip().0, Height(at as u32));
        prop_assert_eq!(&state.utxo_set().unwrap(), &snapshots[at]);
        for (op, coin) in &snapshots[at] {
            prop_assert!(state.address_utxos(&coin.address).unwrap().contains(&(*op, *coin)));
        }
        state.reconsider_block(&blocks[at].hash()).unwrap();
        prop_assert_eq!(&state.utxo_set().unwrap(), &snapshots[n]);
    }
}

#[test]
fn testnet_retarget_at_2n_uses_n_full_intervals() {
    use chain_node::pow::{CompactTarget, RetargetParams, Target};
    let mut params = Network::Testnet.params();
    let rp = params.retarget.unwrap();
    params.retarget = Some(RetargetParams {
        interval: 4,
        spacing: 30,
        ..rp
    });
    let mut state = ChainState::open_temporary(params.clone()).unwrap();
    let limit = params.pow_limit;
    let genesis = params.genesis.header;
    // Blocks 1..=7 every 15 s: twice as fast as the 30 s spacing.
    let mut prev = genesis;
    let mut times = vec![genesis.time];
    for h in 1..=7u32 {
        let t = genesis.time + 15 * h;
        let b = make_block_bits(
            limit,
            &prev,
            t,
            vec![coinbase(h, address(&key(1)), Amount::from_units(1))],
        );
        state.submit_block(&b, NOW).unwrap();
        prev = b.header;
        times.push(t);
    }
    // Height 4 (= N) keeps the limit, which is what blocks 4..7 carried.
    assert_eq!(state.tip().0, Height(7));
    // At height 8 the window is block 3 -> block 7: 4 intervals of 15 s = 60 s of 120 s.
    let actual = times[7] - times[3];
    assert_eq!(actual, 60);
    // Naive oracle: the limit 0xffff << 224 halved is 0xffff << 223, re-rounded to compact.
    let halved = Target::new(chain_node::u256::U256::from_u64(0xffff).shl(223))
        .unwrap()
        .to_compact();
    let t8 = times[7] + 15;
    let wrong = make_block_bits(
        limit,
        &prev,
        t8,
        vec![coinbase(8, address(&key(1)), Amount::from_units(1))],
    );
    match state.submit_block(&wrong, NOW) {
        Err(ChainError::Invalid {
            source: BlockError::WrongBits { expected, .. },
            ..
        }) => {
            assert_eq!(CompactTarget(expected), halved)
        }
        other => panic!("{other:?}"),
    }
    // Bitcoin's N-1 window (block 4 -> 7, 45 s) would give 3/8 of the limit instead.
    let right = make_block_bits(
        halved,
        &prev,
        t8,
        vec![coinbase(8, address(&key(1)), Amount::from_units(1))],
    );
    state.submit_block(&right, NOW).unwrap();
    assert_eq!(state.tip(), (Height(8), right.hash()));
}

#[test]
fn reindex_repairs_damaged_derived_records() {
    let dir = crate::helpers::temp_dir("reindex-repair");
    let params = Network::Regtest.params();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 12, 0);
    {
        let mut state = ChainState::open(&dir, params.clone()).unwrap();
        submit_all(&mut state, &blocks);
    }
    // Damage: drop the tip pointer and every coin record.
    {
        let db = open_raw(&dir);
        db.remove(b"t").unwrap();
        let coins: Vec<_> = db.scan_prefix(b"c").keys().map(|k| k.unwrap()).collect();
        for k in coins {
            db.remove(k).unwrap();
        }
        db.flush().unwrap();
    }
    let reopened = ChainState::open(&dir, params.clone());
    assert!(
        matches!(reopened, Err(ChainError::Missing { .. })),
        "{:?}",
        reopened.map(|s| s.tip())
    );
    let mut state = ChainState::open_for_reindex(&dir, params.clone()).unwrap();
    let mut seen = Vec::new();
    state
        .reindex(|h, target| seen.push((h.0, target.0)))
        .unwrap();
    assert_eq!(seen.last(), Some(&(12, 12)));
    assert_eq!(state.tip(), (Height(12), blocks[11].hash()));
    assert_eq!(state.utxo_set().unwrap(), mem.utxo);
    drop(state);
    assert_eq!(ChainState::open(&dir, params).unwrap().tip().0, Height(12));
}

/// The raw sled database, waiting for the previous handle's lock like the node does.
pub(crate) fn open_raw(dir: &std::path::Path) -> sled::Db {
    for _ in 0..100 {
        if let Ok(db) = sled::open(dir) {
            return db;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("cannot open {}", dir.display());
}

#[test]
fn invalid_mark_without_disconnect_is_rewound_at_open() {
    use chain_node::encoding::{BlockStatus, IndexEntry, decode_exact, encode_to_vec};
    let dir = crate::helpers::temp_dir("rewind");
    let params = Network::Regtest.params();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 20, 0);
    {
        let mut state = ChainState::open(&dir, params.clone()).unwrap();
        submit_all(&mut state, &blocks);
    }
    // What a crash inside invalidateblock leaves: block 6 marked invalid, still active.
    {
        let db = open_raw(&dir);
        let mut key = vec![b'i'];
        key.extend_from_slice(blocks[5].hash().as_bytes());
        let mut entry: IndexEntry = decode_exact(&db.get(&key).unwrap().unwrap()).unwrap();
        entry.status = BlockStatus::Invalid;
        db.insert(key, encode_to_vec(&entry)).unwrap();
        db.flush().unwrap();
    }
    let state = ChainState::open(&dir, params.clone()).unwrap();
    assert_eq!(state.tip(), (Height(5), blocks[4].hash()));
    // Naive oracle: the UTXO set after the first five blocks.
    let mut five = MemChain::new(params);
    for b in &blocks[..5] {
        five.connect(b).unwrap();
    }
    assert_eq!(state.utxo_set().unwrap(), five.utxo);
}

/// (connected?, height, hash) of each event, in order.
pub(crate) fn event_list(events: &[ChainEvent]) -> Vec<(bool, u32, chain_node::BlockHash)> {
    events
        .iter()
        .map(|e| match e {
            ChainEvent::Connected { block, height } => (true, height.0, block.hash()),
            ChainEvent::Disconnected { block, height } => (false, height.0, block.hash()),
        })
        .collect()
}

/// A chain that shares `base` and then grows `n` blocks of its own (times offset by `tag`).
pub(crate) fn branch(
    params: &Params,
    base: &[Block],
    n: usize,
    tag: u32,
) -> (MemChain, Vec<Block>) {
    let mut mem = MemChain::new(params.clone());
    for b in base {
        mem.connect(b).unwrap();
    }
    let blocks = extend(&mut mem, n, tag);
    (mem, blocks)
}

#[test]
fn a_block_failing_after_a_reorg_keeps_every_change_and_returns_to_the_first_seen_tip() {
    let mut state = open_temp();
    let params = Network::Regtest.params();
    let mut o = MemChain::new(params.clone());
    let o_blocks = extend(&mut o, 100, 0);
    submit_all(&mut state, &o_blocks);
    // N98..N100 on O97: as much work as O100, seen later, so the tip stays.
    let (n, n_blocks) = branch(&params, &o_blocks[..97], 3, 7);
    for b in &n_blocks {
        let act = state.submit_block(b, NOW).unwrap();
        assert!(act.events.is_empty() && act.invalid.is_empty());
    }
    assert_eq!(state.tip(), (Height(100), o_blocks[99].hash()));
    // N101 pays its coinbase one unit too much: only connecting it finds that out.
    let bad = n.block_with(vec![], 1);
    match state.submit_block(&bad, NOW) {
        Err(ChainError::Invalid {
            hash,
            source: BlockError::CoinbaseOverpays { .. },
        }) => assert_eq!(hash, bad.hash()),
        other => panic!("{other:?}"),
    }
    // What happened, in order: O100..O98 out, N98..N100 in, N101 refused, N100..N98
    // out again, and O98..O100 back: the first seen of two equal-work tips.
    let act = state.take_activation();
    let (o98, o99, o100) = (
        o_blocks[97].hash(),
        o_blocks[98].hash(),
        o_blocks[99].hash(),
    );
    let (n98, n99, n100) = (n_blocks[0].hash(), n_blocks[1].hash(), n_blocks[2].hash());
    assert_eq!(
        event_list(&act.events),
        vec![
            (false, 100, o100),
            (false, 99, o99),
            (false, 98, o98),
            (true, 98, n98),
            (true, 99, n99),
            (true, 100, n100),
            (false, 100, n100),
            (false, 99, n99),
            (false, 98, n98),
            (true, 98, o98),
            (true, 99, o99),
            (true, 100, o100),
        ]
    );
    assert_eq!(act.invalid.len(), 1);
    assert_eq!(act.invalid[0].0, bad.hash());
    assert_eq!(state.tip(), (Height(100), o100));
    assert_eq!(state.utxo_set().unwrap(), o.utxo);
    // Taken once: nothing is reported twice.
    assert!(state.take_activation().events.is_empty());
}

#[test]
fn the_first_seen_of_equal_work_branches_wins_also_after_reopen() {
    let dir = crate::helpers::temp_dir("first-seen");
    let params = Network::Regtest.params();
    let mut o = MemChain::new(params.clone());
    let o_blocks = extend(&mut o, 6, 0);
    let (_, b) = branch(&params, &o_blocks[..3], 3, 5);
    let (_, c) = branch(&params, &o_blocks[..3], 3, 9);
    // Submit the branch with the higher tip hash first, so that a rule by hash (or any
    // order rebuilt from the hashes at open) would pick the other one.
    let (first, second) = if b[2].hash() > c[2].hash() {
        (b, c)
    } else {
        (c, b)
    };
    {
        let mut state = ChainState::open(&dir, params.clone()).unwrap();
        submit_all(&mut state, &o_blocks);
        submit_all(&mut state, &first);
        submit_all(&mut state, &second);
        assert_eq!(state.tip().1, o_blocks[5].hash());
        assert!(
            state.entry(&first[2].hash()).unwrap().sequence
                < state.entry(&second[2].hash()).unwrap().sequence
        );
    }
    let mut state = ChainState::open(&dir, params).unwrap();
    assert_eq!(
        state.tip().1,
        o_blocks[5].hash(),
        "reopening changes nothing"
    );
    assert!(state.take_activation().events.is_empty());
    state.invalidate_block(&o_blocks[3].hash()).unwrap();
    assert_eq!(state.tip(), (Height(6), first[2].hash()));
}

#[test]
fn a_failed_flush_poisons_the_state_and_reopening_recovers_from_disk() {
    let dir = crate::helpers::temp_dir("poison");
    let params = Network::Regtest.params();
    let mut o = MemChain::new(params.clone());
    let o_blocks = extend(&mut o, 5, 0);
    let (n, n_blocks) = branch(&params, &o_blocks[..2], 4, 3);
    {
        // Every block's changes written at once, so that the third flush is a disconnect.
        let mut state =
            ChainState::open_with(&dir, params.clone(), CacheConfig::flush_every_block()).unwrap();
        submit_all(&mut state, &o_blocks);
        submit_all(&mut state, &n_blocks[..3]);
        assert_eq!(state.tip().1, o_blocks[4].hash());
        // N6 makes N the best chain. Flushes: storing N6, disconnecting O5, O4, then the
        // flush after the disconnect of O3 fails after its batch was applied.
        state.fail_flushes_after(3);
        let err = state.submit_block(&n_blocks[3], NOW).unwrap_err();
        assert!(matches!(err, ChainError::Storage(_)), "{err:?}");
        assert!(state.poisoned().is_some());
        // The three disconnects made (the last one in memory, its flush failed) are kept
        // for whoever follows the chain.
        let act = state.take_activation();
        assert_eq!(
            event_list(&act.events),
            vec![
                (false, 5, o_blocks[4].hash()),
                (false, 4, o_blocks[3].hash()),
                (false, 3, o_blocks[2].hash())
            ]
        );
        // Every further change is refused.
        for result in [
            state.invalidate_block(&o_blocks[1].hash()).map(|_| ()),
            state.reconsider_block(&o_blocks[1].hash()).map(|_| ()),
            state.activate_best_chain().map(|_| ()),
            state.flush(),
        ] {
            assert!(
                matches!(result, Err(ChainError::Poisoned { .. })),
                "{result:?}"
            );
        }
    }
    // From disk, the chain activation resumes on the branch with the most work.
    let state = ChainState::open(&dir, params).unwrap();
    assert!(state.poisoned().is_none());
    assert_eq!(state.tip(), (Height(6), n_blocks[3].hash()));
    assert_eq!(state.utxo_set().unwrap(), n.utxo);
}

#[test]
fn an_active_block_without_an_index_entry_is_refused_at_open() {
    let dir = crate::helpers::temp_dir("no-tip-entry");
    let params = Network::Regtest.params();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 3, 0);
    {
        let mut state = ChainState::open(&dir, params.clone()).unwrap();
        submit_all(&mut state, &blocks);
        assert_eq!(state.tip_entry().unwrap().header, blocks[2].header);
    }
    {
        let db = open_raw(&dir);
        let mut key = vec![b'i'];
        key.extend_from_slice(blocks[2].hash().as_bytes());
        db.remove(key).unwrap();
        db.flush().unwrap();
    }
    // Before, the tip's entry was made up (zero work, genesis header); now the damage is
    // reported and reindex is named.
    match ChainState::open(&dir, params) {
        Err(e @ ChainError::Missing { .. }) => assert!(e.to_string().contains("reindex")),
        other => panic!("{:?}", other.map(|s| s.tip())),
    }
}
