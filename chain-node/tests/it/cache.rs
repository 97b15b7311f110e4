//! The coins cache: connects and disconnects change memory over the stored UTXO set,
//! reads go through it before any flush, a reorg crosses flushed and unflushed blocks,
//! the blocks a crash left unflushed are connected again at open (in process and after
//! `kill -9` of the binary), the flush bounds, and a flush that fails in a cached state.
//! Expected coins come from the oracle of `MemChain`, never from the chain state.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::time::Duration;

use chain_node::error::ChainError;
use chain_node::validation::Coin;
use chain_node::{
    Address, Amount, Block, CacheConfig, ChainEvent, ChainState, Height, Network, OutPoint, Params,
    TxOut,
};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use crate::chain::{NOW, event_list, extend, open_raw, random_chain, submit_all};
use crate::helpers::{MemChain, Scratch, address, coinbase, key, make_block, spend, temp_dir};
use crate::process::NodeProcess;

/// The oracle after `blocks`.
fn oracle(params: &Params, blocks: &[Block]) -> MemChain {
    let mut mem = MemChain::new(params.clone());
    for b in blocks {
        mem.connect(b).unwrap();
    }
    mem
}

/// The next block on `mem`, connected to it: it splits the miner's coinbase of 100
/// blocks earlier between `to` and the miner, and gathers every earlier coin of `to` into
/// one. `tag` shifts its time, so that branches differ.
fn spending_block(mem: &mut MemChain, to: &SigningKey, tag: u32) -> Block {
    let params = mem.params.clone();
    let miner = mem.miner.clone();
    let (op, coin) = mem.coinbase_coin(mem.next_height() as usize - 100);
    let half = coin.amount.units() / 2;
    let mut txs = vec![spend(
        &params,
        &[(op, coin, &miner)],
        vec![
            TxOut::pay(Amount::from_units(half), address(to)),
            TxOut::pay(
                Amount::from_units(coin.amount.units() - half - 1_000),
                address(&miner),
            ),
        ],
    )];
    let mut theirs: Vec<(OutPoint, Coin, &SigningKey)> = mem
        .utxo
        .iter()
        .filter(|(_, c)| c.address == address(to))
        .map(|(o, c)| (*o, *c, to))
        .collect();
    theirs.sort_by_key(|(o, _, _)| *o);
    let mut fees = 1_000;
    if !theirs.is_empty() {
        let total: u64 = theirs.iter().map(|(_, c, _)| c.amount.units()).sum();
        txs.push(spend(
            &params,
            &theirs,
            vec![TxOut::pay(Amount::from_units(total - 1_000), address(to))],
        ));
        fees += 1_000;
    }
    let draft = mem.block_with(txs, fees);
    let block = make_block(&params, mem.tip(), draft.header.time + tag, draft.txs);
    mem.connect(&block).unwrap();
    block
}

/// Every read of the chain state's coins agrees with the oracle: the whole set, the
/// address index of every address involved, and single lookups, including of `gone`,
/// coins that another branch had and that must not be found.
fn assert_reads_match(state: &ChainState, mem: &MemChain, gone: &HashMap<OutPoint, Coin>) {
    assert_eq!(state.utxo_set().unwrap(), mem.utxo);
    let mut addresses: Vec<Address> = mem
        .utxo
        .values()
        .chain(gone.values())
        .map(|c| c.address)
        .collect();
    addresses.sort();
    addresses.dedup();
    for a in addresses {
        let mut got = state.address_utxos(&a).unwrap();
        got.sort_by_key(|(o, _)| *o);
        let mut want: Vec<(OutPoint, Coin)> = mem
            .utxo
            .iter()
            .filter(|(_, c)| c.address == a)
            .map(|(o, c)| (*o, *c))
            .collect();
        want.sort_by_key(|(o, _)| *o);
        assert_eq!(got, want);
    }
    for (op, coin) in &mem.utxo {
        assert_eq!(state.coin(op).unwrap(), Some(*coin));
    }
    for op in gone.keys().filter(|op| !mem.utxo.contains_key(op)) {
        assert_eq!(state.coin(op).unwrap(), None, "{op:?}");
    }
}

#[test]
fn a_reorg_across_flushed_and_unflushed_blocks_and_reads_before_any_flush() {
    let dir = temp_dir("cache-reorg");
    let params = Network::Regtest.params();
    let mut base = MemChain::new(params.clone());
    let base_blocks = extend(&mut base, 104, 0);
    let mut a = oracle(&params, &base_blocks);
    let a_blocks: Vec<Block> = (0..6)
        .map(|_| spending_block(&mut a, &key(10), 0))
        .collect();
    let mut b = oracle(&params, &base_blocks);
    let b_blocks: Vec<Block> = (0..8)
        .map(|_| spending_block(&mut b, &key(20), 7))
        .collect();

    let mut state = ChainState::open(&dir, params.clone()).unwrap();
    submit_all(&mut state, &base_blocks);
    submit_all(&mut state, &a_blocks[..3]);
    state.flush().unwrap();
    assert_eq!(state.flushed_tip().unwrap(), a_blocks[2].hash());
    submit_all(&mut state, &a_blocks[3..]);
    // A108..A110 are in the cache only, and every read sees them.
    assert_eq!(state.flushed_tip().unwrap(), a_blocks[2].hash());
    assert_eq!(state.cache_usage().blocks, 3);
    assert_reads_match(&state, &a, &HashMap::new());

    // B111 outweighs A: A110..A108 leave with their cached undo data, A107..A105 with
    // the stored one; B105..B111 join, all in the cache.
    submit_all(&mut state, &b_blocks[..6]);
    let act = state.submit_block(&b_blocks[6], NOW).unwrap();
    let mut expected: Vec<_> = (0..6)
        .rev()
        .map(|i| (false, 105 + i as u32, a_blocks[i].hash()))
        .collect();
    expected.extend((0..7).map(|i| (true, 105 + i as u32, b_blocks[i].hash())));
    assert_eq!(event_list(&act.events), expected);
    state.submit_block(&b_blocks[7], NOW).unwrap();
    assert_eq!(state.tip(), (Height(112), b_blocks[7].hash()));
    assert_eq!(state.flushed_tip().unwrap(), a_blocks[2].hash());
    assert_reads_match(&state, &b, &a.utxo);

    // A crash now: the stored state is still A107. Opening disconnects A107..A105 with
    // the stored undo data and connects B again from the stored blocks.
    state.drop_unflushed();
    let mut state = ChainState::open(&dir, params.clone()).unwrap();
    let mut expected: Vec<_> = (0..3)
        .rev()
        .map(|i| (false, 105 + i as u32, a_blocks[i].hash()))
        .collect();
    expected.extend((0..8).map(|i| (true, 105 + i as u32, b_blocks[i].hash())));
    assert_eq!(event_list(&state.take_activation().events), expected);
    assert_eq!(state.tip(), (Height(112), b_blocks[7].hash()));
    assert_reads_match(&state, &b, &a.utxo);

    // Back to A across the same mix: B leaves with cached undo data (from the replay),
    // A105..A107 return from the stored blocks.
    state.invalidate_block(&b_blocks[0].hash()).unwrap();
    assert_eq!(state.tip(), (Height(110), a_blocks[5].hash()));
    assert_reads_match(&state, &a, &b.utxo);
    drop(state);
    let state = ChainState::open(&dir, params).unwrap();
    assert_eq!(
        state.flushed_tip().unwrap(),
        a_blocks[5].hash(),
        "flushed on drop"
    );
    assert_reads_match(&state, &a, &b.utxo);
}

/// A `random_chain` plan of 400 blocks: block `h` makes `h % 3` spends, the `i`-th
/// choosing its coins by `h * pick + i` and `h + shift * i`.
fn spending_plan(pick: u32, shift: u32) -> Vec<Vec<(u8, u8)>> {
    (0..400u32)
        .map(|h| {
            (0..h % 3)
                .map(|i| ((h * pick + i) as u8, (h + shift * i) as u8))
                .collect()
        })
        .collect()
}

#[test]
fn blocks_connected_before_a_crash_are_connected_again_at_open() {
    let dir = temp_dir("cache-replay");
    let params = Network::Regtest.params();
    // 400 blocks; from height 101 on, some spend earlier coins and coins of their own.
    let (blocks, snapshots) = random_chain(&params, &spending_plan(7, 1));
    {
        let mut state = ChainState::open(&dir, params.clone()).unwrap();
        submit_all(&mut state, &blocks);
        assert_eq!(state.flushed_tip().unwrap(), params.genesis_hash());
        state.drop_unflushed();
    }
    // Every block is connected again from the stored blocks and journaled in order; the
    // cache, bounded to 64 blocks, is written every 64 on the way.
    let every_64 = CacheConfig {
        max_blocks: 64,
        ..CacheConfig::default()
    };
    let mut state = ChainState::open_with(&dir, params.clone(), every_64).unwrap();
    let expected: Vec<_> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (true, i as u32 + 1, b.hash()))
        .collect();
    assert_eq!(event_list(&state.take_activation().events), expected);
    assert_eq!(state.tip(), (Height(400), blocks[399].hash()));
    assert_eq!(state.utxo_set().unwrap(), snapshots[400]);
    assert_eq!(state.flushed_tip().unwrap(), blocks[383].hash());
    assert_eq!(state.cache_usage().blocks, 16);
    state.drop_unflushed();
    // Only what the last flush missed is connected again.
    let mut state = ChainState::open(&dir, params).unwrap();
    assert_eq!(
        event_list(&state.take_activation().events),
        expected[384..].to_vec()
    );
    assert_eq!(state.utxo_set().unwrap(), snapshots[400]);
}

/// A store in a new directory named after `name` holding `n` blocks of the oracle,
/// written to disk (the chain state is dropped, which flushes its cache).
fn stored_chain(name: &str, n: usize) -> (Scratch, Params, MemChain, Vec<Block>) {
    let dir = temp_dir(name);
    let params = Network::Regtest.params();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, n, 0);
    let mut state = ChainState::open(&dir, params.clone()).unwrap();
    submit_all(&mut state, &blocks);
    drop(state);
    (dir, params, mem, blocks)
}

/// Every key of a raw store under `prefix`.
fn raw_keys(dir: &std::path::Path, prefix: u8) -> Vec<Vec<u8>> {
    let db = open_raw(dir);
    db.scan_prefix([prefix])
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect()
}

#[test]
fn a_large_flush_interrupted_between_its_batches_is_completed_at_open() {
    let dir = temp_dir("cache-redo");
    let params = Network::Regtest.params();
    // 400 blocks whose changes (coins, undo data, heights, index records and index
    // entries) are more than one batch of 2,048 writes.
    let (blocks, snapshots) = random_chain(&params, &spending_plan(5, 2));
    let mut state = ChainState::open(&dir, params.clone()).unwrap();
    submit_all(&mut state, &blocks);
    assert_eq!(state.flushed_tip().unwrap(), params.genesis_hash());
    assert!(state.cache_usage().coins > 0);
    // The redo log is made durable, the first batch is applied, then the "crash".
    state.crash_redo_after(1);
    let err = state.flush().unwrap_err();
    assert!(matches!(err, ChainError::Poisoned { .. }), "{err}");
    assert!(state.poisoned().is_some());
    drop(state);
    // On disk: the log's chunks and its marker, and a tip marker that is still genesis
    // or already the new tip depending on where the batches put it; no partial state
    // is ever read, because the log is applied again before anything else.
    assert!(raw_keys(&dir, b'j').len() >= 2);
    assert_eq!(raw_keys(&dir, b'J').len(), 1);

    let mut state = ChainState::open(&dir, params.clone()).unwrap();
    // Completed from the log: nothing is connected again, and the state is exactly the
    // one of the 400 blocks.
    assert_eq!(event_list(&state.take_activation().events), Vec::new());
    assert_eq!(state.flushed_tip().unwrap(), blocks[399].hash());
    assert_eq!(state.tip(), (Height(400), blocks[399].hash()));
    let mut mem = oracle(&params, &blocks);
    assert_eq!(mem.utxo, snapshots[400]);
    assert_reads_match(&state, &mem, &HashMap::new());
    drop(state);
    assert!(raw_keys(&dir, b'j').is_empty());
    assert!(raw_keys(&dir, b'J').is_empty());

    // The completed store goes on: a spending block on top, flushed the usual way.
    let next = spending_block(&mut mem, &key(2), 0);
    let mut state = ChainState::open(&dir, params.clone()).unwrap();
    state.submit_block(&next, NOW).unwrap();
    state.flush().unwrap();
    assert_reads_match(&state, &mem, &HashMap::new());
}

#[test]
fn redo_chunks_without_their_marker_are_removed_and_a_damaged_log_is_refused() {
    let (dir, params, mem, blocks) = stored_chain("cache-redo-stray", 3);
    // A crash while the log was written, before its marker: the chunks (garbage here)
    // are removed at open, and the flushed state stands.
    {
        let db = open_raw(&dir);
        db.insert(b"j\0\0\0\0", &[0xff, 1, 2][..]).unwrap();
        db.insert(b"j\0\0\0\x07", &[1][..]).unwrap();
        db.flush().unwrap();
    }
    let state = ChainState::open(&dir, params.clone()).unwrap();
    assert_eq!(state.tip(), (Height(3), blocks[2].hash()));
    assert_eq!(state.utxo_set().unwrap(), mem.utxo);
    drop(state);
    assert!(raw_keys(&dir, b'j').is_empty());

    // With a marker, a damaged chunk is an error that names it, and nothing is changed.
    {
        let db = open_raw(&dir);
        db.insert(b"j\0\0\0\0", &[1, 0xff, 0xff, 0xff, 0x7f][..])
            .unwrap();
        db.insert(b"J", &1u32.to_le_bytes()[..]).unwrap();
        db.flush().unwrap();
    }
    let err = ChainState::open(&dir, params.clone()).unwrap_err();
    assert!(matches!(err, ChainError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("6a00000000"), "{err}");
    // A marker counting a chunk that is not there.
    {
        let db = open_raw(&dir);
        db.insert(b"J", &2u32.to_le_bytes()[..]).unwrap();
        db.insert(b"j\0\0\0\0", &[][..]).unwrap();
        db.flush().unwrap();
    }
    let err = ChainState::open(&dir, params).unwrap_err();
    assert!(matches!(err, ChainError::Missing { .. }), "{err}");
    assert_eq!(raw_keys(&dir, b'J').len(), 1);
}

#[test]
fn the_cache_is_written_when_its_memory_or_time_bound_is_reached() {
    let params = Network::Regtest.params();
    let mut mem = MemChain::new(params.clone());
    let mut blocks = extend(&mut mem, 101, 0);
    blocks.extend((0..20).map(|_| spending_block(&mut mem, &key(30), 0)));

    // Memory: after every block the cache is under the bound, and it took several
    // flushes, each of the whole cache (the stored tip is then the tip).
    let bound = 30_000;
    let mut state = ChainState::open_temporary(params.clone()).unwrap();
    state.set_cache_config(CacheConfig {
        max_bytes: bound,
        ..CacheConfig::default()
    });
    let mut flushes = 0;
    let mut flushed = state.flushed_tip().unwrap();
    for b in &blocks {
        state.submit_block(b, NOW).unwrap();
        assert!(state.cache_usage().bytes < bound);
        let now = state.flushed_tip().unwrap();
        if now != flushed {
            assert_eq!(now, b.hash());
            flushes += 1;
            flushed = now;
        }
    }
    assert!(flushes > 1 && flushes < blocks.len(), "{flushes} flushes");
    assert_reads_match(&state, &mem, &HashMap::new());

    // Time: nothing is written before the interval has passed, then the next check
    // writes everything, even with no block arriving.
    let interval = Duration::from_millis(800);
    let mut state = ChainState::open_temporary(params).unwrap();
    state.set_cache_config(CacheConfig {
        max_age: interval,
        ..CacheConfig::default()
    });
    submit_all(&mut state, &blocks[..3]);
    assert!(!state.flush_if_due().unwrap());
    assert_ne!(state.flushed_tip().unwrap(), blocks[2].hash());
    std::thread::sleep(interval);
    assert!(state.flush_if_due().unwrap());
    assert_eq!(state.flushed_tip().unwrap(), blocks[2].hash());
    assert_eq!(state.cache_usage().blocks, 0);
}

#[test]
fn a_failed_flush_of_a_cached_state_poisons_it_and_reopening_connects_again() {
    let dir = temp_dir("cache-poison");
    let params = Network::Regtest.params();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 101, 0);
    let spends: Vec<Block> = (0..5)
        .map(|_| spending_block(&mut mem, &key(31), 0))
        .collect();
    let bounded = CacheConfig {
        max_blocks: 106,
        ..CacheConfig::default()
    };
    {
        let mut state = ChainState::open_with(&dir, params.clone(), bounded).unwrap();
        submit_all(&mut state, &blocks);
        submit_all(&mut state, &spends[..4]);
        assert_eq!(state.flushed_tip().unwrap(), params.genesis_hash());
        // The 106th block reaches the bound: its data is stored (one flush), then the
        // flush of the cache fails after its batch was applied.
        state.fail_flushes_after(1);
        let err = state.submit_block(&spends[4], NOW).unwrap_err();
        assert!(matches!(err, ChainError::Storage(_)), "{err:?}");
        assert!(state.poisoned().is_some());
        // The connect was made in memory: it is kept for whoever follows the chain, and
        // reads still answer from memory.
        let act = state.take_activation();
        assert_eq!(event_list(&act.events), vec![(true, 106, spends[4].hash())]);
        assert_eq!(state.tip(), (Height(106), spends[4].hash()));
        assert_reads_match(&state, &mem, &HashMap::new());
        for result in [
            state.invalidate_block(&spends[0].hash()).map(|_| ()),
            state.reconsider_block(&spends[0].hash()).map(|_| ()),
            state.activate_best_chain().map(|_| ()),
            state.flush(),
            state.flush_if_due().map(|_| ()),
        ] {
            assert!(
                matches!(result, Err(ChainError::Poisoned { .. })),
                "{result:?}"
            );
        }
    }
    // Whatever reached the disk, opening connects the rest from the stored blocks.
    let state = ChainState::open(&dir, params).unwrap();
    assert!(state.poisoned().is_none());
    assert_eq!(state.tip(), (Height(106), spends[4].hash()));
    assert_reads_match(&state, &mem, &HashMap::new());
}

/// The flushed tip marker as the store holds it, read without the chain state (which
/// would connect blocks and write them when dropped).
fn stored_tip(dir: &std::path::Path) -> String {
    let db = open_raw(&dir.join("chain"));
    let tip = hex::encode(db.get(b"t").unwrap().unwrap());
    drop(db);
    tip
}

/// Confirmed coins of `addresses` from `getaddressutxos`: outpoint -> (amount, height).
fn confirmed_coins(node: &NodeProcess, addresses: &[String]) -> HashMap<OutPoint, (u64, u64)> {
    let mut out = HashMap::new();
    for u in node
        .ok("getaddressutxos", json!([addresses]))
        .as_array()
        .unwrap()
    {
        if u["confirmations"].as_u64().unwrap() == 0 {
            continue;
        }
        let op = OutPoint {
            txid: u["txid"].as_str().unwrap().parse().unwrap(),
            vout: u["vout"].as_u64().unwrap() as u32,
        };
        let fresh = out.insert(
            op,
            (u["amount"].as_u64().unwrap(), u["height"].as_u64().unwrap()),
        );
        assert!(fresh.is_none(), "{op:?} listed twice");
    }
    out
}

/// The coin the scenario says `getaddressutxos` lists at `height` for `address`.
fn listed_at(node: &NodeProcess, address: &str, height: u64) -> OutPoint {
    let utxos = node.ok("getaddressutxos", json!([[address]]));
    let u = utxos
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["height"] == json!(height))
        .unwrap();
    OutPoint {
        txid: u["txid"].as_str().unwrap().parse().unwrap(),
        vout: u["vout"].as_u64().unwrap() as u32,
    }
}

fn gettxout(node: &NodeProcess, op: &OutPoint) -> Value {
    node.ok("gettxout", json!([op.txid.to_hex(), op.vout, false]))
}

#[test]
fn kill_9_with_unflushed_blocks_then_restart_replays_them() {
    let dir = temp_dir("bin-cache-crash");
    let params = Network::Regtest.params();
    let net = Network::Regtest;
    let (miner, k41, k42, k43, k44) = (key(40), key(41), key(42), key(43), key(44));
    let miner_addr = address(&miner).encode(net);
    let addresses: Vec<String> = [&miner, &k41, &k42, &k43, &k44]
        .iter()
        .map(|k| address(k).encode(net))
        .collect();
    let coinbase = |h: u32| Coin {
        amount: Amount::from_units(5_000_000_000),
        address: address(&miner),
        height: Height(h),
        is_coinbase: true,
    };

    // 101 blocks, then a clean stop writes the cache: the stored tip is the tip.
    let node = NodeProcess::start(&dir);
    node.ok("generatetoaddress", json!([101, miner_addr]));
    let tip101 = node.ok("getbestblockhash", json!([]));
    node.stop();
    assert_eq!(json!(stored_tip(&dir)), tip101);

    // Spends in blocks that stay in the cache (no time bound is reached).
    let node = NodeProcess::start_with(&dir, &["--flush-interval", "3600"]);
    let cb1 = listed_at(&node, &miner_addr, 1);
    let tx1 = spend(
        &params,
        &[(cb1, coinbase(1), &miner)],
        vec![
            TxOut::pay(Amount::from_units(1_000_000_000), address(&k41)),
            TxOut::pay(Amount::from_units(3_999_990_000), address(&miner)),
        ],
    );
    node.ok("sendrawtransaction", json!([hex::encode(tx1.to_bytes())]));
    node.ok("generatetoaddress", json!([1, miner_addr]));
    // Before any flush, the address index and gettxout answer from the cache: the
    // stored coinbase is spent, the new outputs are there.
    assert_eq!(gettxout(&node, &cb1), Value::Null);
    let out1 = OutPoint {
        txid: tx1.txid(),
        vout: 0,
    };
    assert_eq!(gettxout(&node, &out1)["value"], json!(1_000_000_000));
    assert_eq!(gettxout(&node, &out1)["confirmations"], json!(1));
    let k41_coins = confirmed_coins(&node, &addresses[1..2]);
    assert_eq!(
        k41_coins,
        HashMap::from([(out1, (1_000_000_000, 102))]),
        "the address index of a coin in an unflushed block"
    );
    let miner_coins = confirmed_coins(&node, &addresses[..1]);
    assert!(!miner_coins.contains_key(&cb1));
    assert_eq!(
        miner_coins.get(&OutPoint {
            txid: tx1.txid(),
            vout: 1
        }),
        Some(&(3_999_990_000, 102))
    );
    assert_eq!(
        miner_coins.len(),
        102,
        "102 coinbases, one of them spent, and the change"
    );

    let tx2 = spend(
        &params,
        &[(
            out1,
            Coin {
                amount: Amount::from_units(1_000_000_000),
                address: address(&k41),
                height: Height(102),
                is_coinbase: false,
            },
            &k41,
        )],
        vec![TxOut::pay(Amount::from_units(999_990_000), address(&k42))],
    );
    let cb2 = listed_at(&node, &miner_addr, 2);
    let tx3 = spend(
        &params,
        &[(cb2, coinbase(2), &miner)],
        vec![TxOut::pay(Amount::from_units(4_999_990_000), address(&k43))],
    );
    for tx in [&tx2, &tx3] {
        node.ok("sendrawtransaction", json!([hex::encode(tx.to_bytes())]));
    }
    node.ok("generatetoaddress", json!([1, miner_addr]));
    // Acknowledged, not mined: it spends a coin of the unflushed block 103.
    let out2 = OutPoint {
        txid: tx2.txid(),
        vout: 0,
    };
    let tx4 = spend(
        &params,
        &[(
            out2,
            Coin {
                amount: Amount::from_units(999_990_000),
                address: address(&k42),
                height: Height(103),
                is_coinbase: false,
            },
            &k42,
        )],
        vec![TxOut::pay(Amount::from_units(999_980_000), address(&k44))],
    );
    node.ok("sendrawtransaction", json!([hex::encode(tx4.to_bytes())]));
    let tip103 = node.ok("getbestblockhash", json!([]));
    node.kill9();
    // Blocks 102 and 103 never reached the stored UTXO set.
    assert_eq!(json!(stored_tip(&dir)), tip101);

    let node = NodeProcess::start(&dir);
    assert_eq!(node.ok("getblockcount", json!([])), json!(103));
    assert_eq!(node.ok("getbestblockhash", json!([])), tip103);
    // The saved pool, re-validated on the replayed tip: tx4 (whose input block 103
    // creates) is back; tx1..tx3, saved before they were mined, are not.
    assert_eq!(
        node.ok("getrawmempool", json!([])),
        json!([tx4.txid().to_hex()])
    );
    // An independent recount from the stored blocks.
    let mut mem = MemChain::new(params.clone());
    for h in 1..=103 {
        let hash = node.ok("getblockhash", json!([h]));
        let raw = node.ok("getblock", json!([hash, 0]));
        let block: Block =
            chain_node::encoding::decode_exact(&hex::decode(raw.as_str().unwrap()).unwrap())
                .unwrap();
        mem.connect(&block).unwrap();
    }
    let want: HashMap<OutPoint, (u64, u64)> = mem
        .utxo
        .iter()
        .map(|(o, c)| (*o, (c.amount.units(), u64::from(c.height.0))))
        .collect();
    assert_eq!(
        want.len(),
        101 + 1 + 1 + 1,
        "scenario: 103 coinbases - 2 + 4"
    );
    assert_eq!(confirmed_coins(&node, &addresses), want);
    assert_eq!(gettxout(&node, &cb1), Value::Null);
    assert_eq!(gettxout(&node, &out1), Value::Null);
    assert_eq!(gettxout(&node, &out2)["value"], json!(999_990_000));
    node.stop();

    // The clean stop wrote everything; the store's UTXO set is the recount, no coin
    // lost or twice.
    assert_eq!(json!(stored_tip(&dir)), tip103);
    let mut state = ChainState::open(&dir.join("chain"), params).unwrap();
    assert!(state.take_activation().events.is_empty());
    assert_eq!(state.utxo_set().unwrap(), mem.utxo);
}

#[test]
fn the_chain_state_with_its_cache_is_a_plain_value_another_thread_can_own() {
    let params = Network::Regtest.params();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 3, 0);
    let mut state = ChainState::open_temporary(params).unwrap();
    submit_all(&mut state, &blocks[..2]);
    // Moved to an owner thread with unflushed changes, used there, and moved back.
    let owner = std::thread::spawn(move || {
        state.submit_block(&blocks[2], NOW).unwrap();
        state
    });
    let state = owner.join().unwrap();
    assert_eq!(state.cache_usage().blocks, 3);
    assert_reads_match(&state, &mem, &HashMap::new());
}

#[test]
fn a_disconnect_whose_undo_data_cannot_be_read_changes_nothing() {
    let (dir, params, mem, blocks) = stored_chain("cache-bad-undo", 6);
    // Damage: the stored undo data of the tip no longer decodes.
    {
        let db = open_raw(&dir);
        let mut key = vec![b'u'];
        key.extend_from_slice(blocks[5].hash().as_bytes());
        db.insert(key, vec![0xff; 3]).unwrap();
        db.flush().unwrap();
    }
    let mut state = ChainState::open(&dir, params.clone()).unwrap();
    let before = state.cache_usage();
    let err = state.invalidate_block(&blocks[5].hash()).unwrap_err();
    assert!(matches!(err, ChainError::Corrupt { .. }), "{err:?}");
    // The block is still connected, and the cache holds nothing more for the flush to
    // write (in particular no removal of the record the disconnect could not read).
    assert_eq!(state.tip(), (Height(6), blocks[5].hash()));
    assert_eq!(state.cache_usage(), before);
    assert_reads_match(&state, &mem, &HashMap::new());
}

/// The blocks of one download answer share one flush: each gets its own outcome in
/// order (a mutated copy and an orphan fail without stopping the rest), the tip moves
/// through them in order, and what the call returned is on disk after a crash.
#[test]
fn downloaded_blocks_share_one_flush_and_each_gets_its_outcome() {
    let dir = temp_dir("downloaded");
    let params = Network::Regtest.params();
    let mut mem = MemChain::new(params.clone());
    let blocks = extend(&mut mem, 4, 0);
    let utxo_at_four = mem.utxo.clone();
    let mut mutated = blocks[2].clone();
    mutated.txs[0] = coinbase(3, address(&key(9)), Amount::from_units(1));
    assert_eq!(mutated.hash(), blocks[2].hash());
    let orphan = extend(&mut mem, 2, 0).pop().unwrap();

    let mut state = ChainState::open(dir.as_ref(), params.clone()).unwrap();
    let answer = [
        blocks[0].clone(),
        blocks[1].clone(),
        mutated,
        blocks[2].clone(),
        orphan,
        blocks[3].clone(),
    ];
    let (outcomes, activation) = state.submit_downloaded_blocks(&answer, NOW).unwrap();
    let kinds: Vec<&str> = outcomes
        .iter()
        .map(|o| match o {
            Ok(()) => "ok",
            Err(ChainError::Mutated { .. }) => "mutated",
            Err(ChainError::UnknownParent { .. }) => "orphan",
            Err(e) => panic!("unexpected {e}"),
        })
        .collect();
    assert_eq!(kinds, ["ok", "ok", "mutated", "ok", "orphan", "ok"]);
    let connected: Vec<_> = activation
        .events
        .iter()
        .map(|e| match e {
            ChainEvent::Connected { block, height } => (block.hash(), *height),
            ChainEvent::Disconnected { .. } => panic!("nothing to disconnect"),
        })
        .collect();
    let expected: Vec<_> = (0..4u32)
        .map(|i| (blocks[i as usize].hash(), Height(i + 1)))
        .collect();
    assert_eq!(connected, expected);
    assert_eq!(state.tip(), (Height(4), blocks[3].hash()));

    // A crash before any coins flush: the four blocks are stored, and connected again.
    state.drop_unflushed();
    let state = ChainState::open(dir.as_ref(), params).unwrap();
    assert_eq!(state.tip(), (Height(4), blocks[3].hash()));
    assert_eq!(state.utxo_set().unwrap(), utxo_at_four);
}
