//! The node handle and its owner thread: many callers at once (over real RPC and from
//! threads) checked against a ledger the test keeps itself, requests after shutdown,
//! bounded event buffers for slow subscribers, and event order across a reorg.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use chain_node::error::{EventError, NodeError};
use chain_node::rpc::RpcServer;
use chain_node::validation::Coin;
use chain_node::{
    Amount, BlockHash, Height, Network, Node, NodeEvent, OutPoint, Transaction, TxOut,
};
use serde_json::{Value, json};

use crate::helpers::{Reads, TestNode, address, coinbase_coin, drain, key, spend};

fn open(name: &str) -> TestNode {
    TestNode::open(Network::Regtest, name, |cfg| cfg.mining_threads = 1)
}

/// One authenticated JSON-RPC call over a fresh TCP connection; the `result`, or the
/// error object as `Err`.
fn rpc(port: u16, cookie: &str, method: &str, params: Value) -> Result<Value, Value> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (status, text) = crate::process::http(port, "POST", &body.to_string(), Some(cookie));
    assert_eq!(status, 200, "{method}: {text}");
    let mut reply: Value = serde_json::from_str(&text).unwrap();
    match reply["error"].take() {
        Value::Null => Ok(reply["result"].take()),
        e => Err(e),
    }
}

const SUBMITTERS: u32 = 4;
const PER_SUBMITTER: u32 = 12;
const FEE: u64 = 10_000;

#[test]
fn concurrent_rpc_readers_submitters_and_a_miner_agree_with_the_tests_own_ledger() {
    let n = open("handle-concurrent");
    let miner = key(40);
    // Coinbases 1..=SUBMITTERS mature; each is fanned out to its submitter's key.
    n.generate(100 + SUBMITTERS, address(&miner)).unwrap();
    let mut owned: Vec<Vec<(OutPoint, Coin)>> = Vec::new();
    for s in 0..SUBMITTERS {
        let (op, coin) = coinbase_coin(&n, s + 1);
        let owner = key(41 + s as u8);
        let each = (coin.amount.units() - FEE) / u64::from(PER_SUBMITTER);
        let fan = spend(
            n.params(),
            &[(op, coin, &miner)],
            (0..PER_SUBMITTER)
                .map(|_| TxOut::pay(Amount::from_units(each), address(&owner)))
                .collect(),
        );
        n.submit_transaction(fan.clone()).unwrap();
        owned.push(
            (0..PER_SUBMITTER)
                .map(|vout| {
                    let op = OutPoint {
                        txid: fan.txid(),
                        vout,
                    };
                    let coin = Coin {
                        amount: Amount::from_units(each),
                        address: address(&owner),
                        height: Height(101 + SUBMITTERS),
                        is_coinbase: false,
                    };
                    (op, coin)
                })
                .collect(),
        );
    }
    n.generate(1, address(&miner)).unwrap();
    let start_height = n.tip_now().0.0;
    // The payments each submitter will send, built here: the ledger of the test.
    let payee = |s: u32| key(60 + s as u8);
    let payments: Vec<Vec<Transaction>> = owned
        .iter()
        .enumerate()
        .map(|(s, coins)| {
            let owner = key(41 + s as u8);
            coins
                .iter()
                .map(|(op, coin)| {
                    spend(
                        n.params(),
                        &[(*op, *coin, &owner)],
                        vec![TxOut::pay(
                            Amount::from_units(coin.amount.units() - FEE),
                            address(&payee(s as u32)),
                        )],
                    )
                })
                .collect()
        })
        .collect();

    let server = RpcServer::start(n.clone(), "127.0.0.1:0".parse().unwrap(), 6).unwrap();
    let port = server.local_addr().port();
    let cookie = std::fs::read_to_string(server.cookie_path()).unwrap();
    let submitted: HashSet<String> = payments
        .iter()
        .flatten()
        .map(|t| t.txid().to_hex())
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let go = Arc::new(Barrier::new(SUBMITTERS as usize + 3));
    let mined: Vec<BlockHash> = std::thread::scope(|scope| {
        // Submitters over RPC, each with coins of its own: every payment is accepted.
        let mut submitters = Vec::new();
        for txs in &payments {
            let (cookie, go) = (&cookie, Arc::clone(&go));
            submitters.push(scope.spawn(move || {
                go.wait();
                for tx in txs {
                    let hex = hex::encode(tx.to_bytes());
                    let txid = rpc(port, cookie, "sendrawtransaction", json!([hex])).unwrap();
                    assert_eq!(txid, json!(tx.txid().to_hex()));
                }
            }));
        }
        // A miner on the handle, from its own thread: blocks while payments arrive.
        let (node, go2, done2) = (n.clone(), Arc::clone(&go), Arc::clone(&done));
        let miner_thread = scope.spawn(move || {
            go2.wait();
            let mut mined = Vec::new();
            while !done2.load(Ordering::Relaxed) || mined.len() < 3 {
                mined.extend(node.generate(1, address(&key(59))).unwrap());
            }
            mined
        });
        // A reader over RPC: the height never goes back, the mempool holds only
        // submitted payments, and every block's transactions are known ones.
        let (cookie2, go3, done3, submitted2) =
            (&cookie, Arc::clone(&go), Arc::clone(&done), &submitted);
        scope.spawn(move || {
            go3.wait();
            let mut last = u64::from(start_height);
            while !done3.load(Ordering::Relaxed) {
                let height = rpc(port, cookie2, "getblockcount", json!([])).unwrap();
                let height = height.as_u64().unwrap();
                assert!(
                    height >= last,
                    "the height went back from {last} to {height}"
                );
                last = height;
                let pool = rpc(port, cookie2, "getrawmempool", json!([])).unwrap();
                for id in pool.as_array().unwrap() {
                    assert!(submitted2.contains(id.as_str().unwrap()), "unknown {id}");
                }
                if height > u64::from(start_height) {
                    let hash = rpc(port, cookie2, "getblockhash", json!([height])).unwrap();
                    let block = rpc(port, cookie2, "getblock", json!([hash, 1])).unwrap();
                    for id in block["tx"].as_array().unwrap().iter().skip(1) {
                        assert!(submitted2.contains(id.as_str().unwrap()), "unknown {id}");
                    }
                }
            }
        });
        go.wait();
        let joined: Vec<_> = submitters.into_iter().map(|s| s.join()).collect();
        // The miner and the reader stop before a submitter's failure is raised.
        done.store(true, Ordering::Relaxed);
        for j in joined {
            j.unwrap();
        }
        miner_thread.join().unwrap()
    });
    // Every block the miner was told about is on the active chain, one per height
    // after the start, in the order it was mined.
    for (i, hash) in mined.iter().enumerate() {
        assert_eq!(n.hash_at(start_height + 1 + i as u32), Some(*hash));
    }
    // One more block confirms what is left.
    n.generate(1, address(&miner)).unwrap();
    assert!(n.pool_txids().is_empty());
    assert_eq!(n.tip_now().0.0, start_height + mined.len() as u32 + 1);
    // Each payee holds exactly the outputs the test built for it, over RPC.
    for s in 0..SUBMITTERS {
        let expected: BTreeMap<(String, u64), u64> = payments[s as usize]
            .iter()
            .map(|t| ((t.txid().to_hex(), 0), t.outputs[0].amount.units()))
            .collect();
        let addr = address(&payee(s)).encode(Network::Regtest);
        let utxos = rpc(port, &cookie, "getaddressutxos", json!([[addr]])).unwrap();
        let got: BTreeMap<(String, u64), u64> = utxos
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    (
                        u["txid"].as_str().unwrap().to_owned(),
                        u["vout"].as_u64().unwrap(),
                    ),
                    u["amount"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, expected, "payee {s}");
    }
    server.stop(&n).unwrap();
}

#[test]
fn requests_after_shutdown_fail_cleanly_and_the_store_is_closed() {
    let n = open("handle-shutdown");
    let hashes = n.generate(3, address(&key(50))).unwrap();
    let mut events = n.subscribe();
    let other = n.clone();
    // A long mining call on another thread stops at shutdown.
    let mining = std::thread::spawn(move || other.generate(1_000_000, address(&key(51))));
    // Wait until it has mined a block, so that the shutdown meets it mid-way.
    assert!(matches!(
        events.recv_timeout(std::time::Duration::from_secs(60)),
        Ok(NodeEvent::BlockConnected { .. })
    ));
    let closed = n.shutdown().unwrap();
    assert!(closed.0.0 >= 4);
    assert!(matches!(
        mining.join().unwrap(),
        Err(NodeError::ShuttingDown)
    ));
    assert!(n.is_shutting_down());
    // Every request is refused with the same clear error, none hangs or panics.
    let block = n.block_template(address(&key(50)), vec![]);
    assert!(matches!(block, Err(NodeError::ShuttingDown)), "{block:?}");
    assert!(matches!(n.tip(), Err(NodeError::ShuttingDown)));
    assert!(matches!(
        n.read(|v| v.mempool().len()),
        Err(NodeError::ShuttingDown)
    ));
    let genesis = n.params().genesis.clone();
    assert!(matches!(
        n.submit_block(&genesis),
        Err(NodeError::ShuttingDown)
    ));
    let coinbase = genesis.txs[0].clone();
    assert!(matches!(
        n.submit_transaction(coinbase),
        Err(NodeError::ShuttingDown)
    ));
    assert!(matches!(
        n.invalidate_block(&hashes[0]),
        Err(NodeError::ShuttingDown)
    ));
    assert!(matches!(n.flush(), Err(NodeError::ShuttingDown)));
    assert!(matches!(
        n.generate(1, address(&key(50))),
        Err(NodeError::ShuttingDown)
    ));
    assert_eq!(
        NodeError::ShuttingDown.to_string(),
        "the node is shutting down"
    );
    // A second shutdown reports the same closing tip; subscribers read what is left,
    // then hear that the stream closed.
    assert_eq!(n.shutdown().unwrap(), closed);
    for e in drain(&mut events) {
        assert!(
            matches!(e, NodeEvent::BlockConnected { height, .. } if height <= closed.0),
            "{e:?}"
        );
    }
    assert_eq!(events.try_recv(), Err(EventError::Closed));
    assert_eq!(n.subscribe().recv(), Err(EventError::Closed));
    // The store is closed: the directory opens again at once, at the closing tip.
    let reopened = Node::open(n.config().clone()).unwrap();
    assert_eq!(reopened.tip().unwrap(), closed);
    reopened.shutdown().unwrap();
}

#[test]
fn a_panicking_read_panics_its_caller_and_the_node_carries_on() {
    let n = open("handle-panic");
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        n.read(|_| -> usize { panic!("a reader's own bug") })
    }));
    let message = caught.unwrap_err();
    assert_eq!(message.downcast_ref::<&str>(), Some(&"a reader's own bug"));
    assert!(n.failure().is_none());
    assert_eq!(n.generate(1, address(&key(52))).unwrap().len(), 1);
    assert_eq!(n.tip_now().0, Height(1));
}

/// The events of disconnecting `chain` (heights 1..) from its tip down to `from`.
fn disconnects(chain: &[BlockHash], from: usize) -> Vec<NodeEvent> {
    (from..chain.len())
        .rev()
        .map(|i| NodeEvent::BlockDisconnected {
            hash: chain[i],
            height: Height(i as u32 + 1),
        })
        .collect()
}

/// The events of connecting `chain` (heights 1..) from `from` up to its tip.
fn connects(chain: &[BlockHash], from: usize) -> Vec<NodeEvent> {
    (from..chain.len())
        .map(|i| NodeEvent::BlockConnected {
            hash: chain[i],
            height: Height(i as u32 + 1),
        })
        .collect()
}

#[test]
fn a_subscriber_that_never_reads_lags_with_a_bounded_buffer_while_a_reader_sees_every_event() {
    const BLOCKS: usize = 100;
    const ROUNDS: usize = 25; // 25 x (100 disconnects + 100 connects) = 5,000 events
    let n = open("handle-lag");
    let chain = n.generate(BLOCKS as u32, address(&key(53))).unwrap();
    let mut slow = n.subscribe();
    let mut reader = n.subscribe();
    let capacity = slow.capacity();
    assert_eq!(capacity, chain_node::DEFAULT_EVENT_BUFFER);
    let mut expected = Vec::new();
    let mut seen = Vec::new();
    for _ in 0..ROUNDS {
        n.invalidate_block(&chain[0]).unwrap();
        expected.extend(disconnects(&chain, 0));
        n.reconsider_block(&chain[0]).unwrap();
        expected.extend(connects(&chain, 0));
        // The reader keeps up (each round is well inside its buffer) ...
        seen.extend(drain(&mut reader));
        // ... the slow subscriber never grows past its capacity.
        assert!(slow.pending() <= capacity, "{}", slow.pending());
    }
    assert_eq!(expected.len(), 2 * BLOCKS * ROUNDS);
    assert_eq!(seen, expected);
    // The slow one learns how much it missed, then reads the newest events in order.
    let missed = (expected.len() - capacity) as u64;
    assert_eq!(slow.recv(), Err(EventError::Lagged { missed }));
    assert_eq!(drain(&mut slow), expected[expected.len() - capacity..]);
    assert_eq!(slow.try_recv(), Err(EventError::Empty));
}

#[test]
fn a_reorg_from_a_competing_branch_is_announced_in_order() {
    let a = open("handle-reorg-a");
    let b = open("handle-reorg-b");
    let main: Vec<BlockHash> = a.generate(10, address(&key(54))).unwrap();
    // B shares the first seven blocks and mines a longer branch of its own on them.
    for hash in &main[..7] {
        b.submit_block(&a.block(hash).unwrap()).unwrap();
    }
    let branch: Vec<BlockHash> = b.generate(5, address(&key(55))).unwrap();
    let mut events = a.subscribe();
    for hash in &branch {
        a.submit_block(&b.block(hash).unwrap()).unwrap();
    }
    // Heights 8..=10 are equal or less work until the fourth block of the branch: then
    // A leaves 10, 9, 8 and joins 8'..=11', then 12'.
    let full: Vec<BlockHash> = main[..7].iter().chain(&branch).copied().collect();
    let mut expected = disconnects(&main, 7);
    expected.extend(connects(&full[..11], 7));
    expected.extend(connects(&full, 11));
    assert_eq!(drain(&mut events), expected);
    assert_eq!(a.tip_now(), (Height(12), branch[4]));
}

/// Blocks mined faster than the clock run ahead of it (each takes the median time past
/// plus one second: 200 blocks run about half a minute ahead). After `invalidateblock`
/// of such a tip, the next template is the same block again until the clock passes its
/// time; the miner makes another coinbase instead, so the replacement keeps the
/// invalidated block's time.
#[test]
fn mining_after_invalidating_the_tip_makes_another_block_at_once() {
    let node = open("handle-regenerate");
    let to = address(&key(1));
    let hashes = node.generate(200, to).unwrap();
    let tip = *hashes.last().unwrap();
    let invalidated = node.block(&tip).unwrap();
    node.invalidate_block(&tip).unwrap();
    let again = node.generate(1, to).unwrap()[0];
    assert_ne!(again, tip);
    let replacement = node.block(&again).unwrap();
    assert_eq!(replacement.header.prev, invalidated.header.prev);
    assert_eq!(replacement.header.time, invalidated.header.time);
    assert_ne!(replacement.txs[0], invalidated.txs[0]);
}
