//! Mempool and miner through the library `Node`: validation, first-seen conflicts,
//! fee-rate order, eviction, orphans, and resync on connect and disconnect.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use chain_node::error::{MempoolError, TxError};
use chain_node::mempool::MempoolConfig;
use chain_node::validation::Coin;
use chain_node::{Amount, Network, Node, NodeConfig, NodeEvent, OutPoint, Transaction, TxOut};
use ed25519_dalek::SigningKey;

use crate::helpers::{
    Reads, TestNode, address, chain_err, coinbase_coin, drain, key, pool_err, spend, temp_dir,
};

fn node(name: &str, mempool: MempoolConfig) -> TestNode {
    TestNode::open(Network::Regtest, name, |cfg| {
        cfg.mempool = mempool;
        cfg.mining_threads = 1;
    })
}

/// Mines 101 blocks to `miner` and returns the first (now mature) coinbase coin.
fn funded(node: &Node, miner: &SigningKey) -> (OutPoint, Coin) {
    node.generate(101, address(miner)).unwrap();
    coinbase_coin(node, 1)
}

fn pay(
    node: &Node,
    from: (OutPoint, Coin),
    k: &SigningKey,
    to: &SigningKey,
    fee: u64,
) -> Transaction {
    let (op, coin) = from;
    spend(
        node.params(),
        &[(op, coin, k)],
        vec![TxOut::pay(
            Amount::from_units(coin.amount.units() - fee),
            address(to),
        )],
    )
}

fn out0(tx: &Transaction, to: &SigningKey, height: u32) -> (OutPoint, Coin) {
    (
        OutPoint {
            txid: tx.txid(),
            vout: 0,
        },
        Coin {
            amount: tx.outputs[0].amount,
            address: address(to),
            height: chain_node::Height(height),
            is_coinbase: false,
        },
    )
}

#[test]
fn validation_and_first_seen_conflicts() {
    let n = node("mp-basic", MempoolConfig::default());
    let miner = key(10);
    let mut events = n.subscribe();
    let coin = funded(&n, &miner);
    let a = pay(&n, coin, &miner, &key(1), 10_000);
    let b = pay(&n, coin, &miner, &key(2), 20_000);
    let a_id = n.submit_transaction(a.clone()).unwrap();
    assert_eq!(
        pool_err(n.submit_transaction(a.clone())),
        Err(MempoolError::AlreadyKnown { txid: a_id })
    );
    assert_eq!(
        pool_err(n.submit_transaction(b.clone())),
        Err(MempoolError::Conflict {
            txid: b.txid(),
            existing: a_id,
            outpoint: coin.0
        })
    );
    // Coinbase, immature and badly signed transactions are refused.
    let tip = n.tip_now().1;
    let cb = n.block(&tip).unwrap().txs[0].clone();
    assert_eq!(
        pool_err(n.submit_transaction(cb.clone())),
        Err(MempoolError::Coinbase)
    );
    let young = OutPoint {
        txid: cb.txid(),
        vout: 0,
    };
    let young_coin = n.coin(&young).unwrap();
    let immature = pay(&n, (young, young_coin), &miner, &key(1), 10_000);
    assert!(matches!(
        pool_err(n.submit_transaction(immature)),
        Err(MempoolError::Invalid {
            source: TxError::ImmatureCoinbase { .. },
            ..
        })
    ));
    let zero_fee = pay(&n, out0(&a, &key(1), 102), &key(1), &key(3), 0);
    assert!(matches!(
        pool_err(n.submit_transaction(zero_fee)),
        Err(MempoolError::FeeTooLow { .. })
    ));
    assert_eq!(n.pool_txids().len(), 1);
    // Listeners saw 101 blocks and the transaction.
    let seen: Vec<NodeEvent> = drain(&mut events);
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, NodeEvent::BlockConnected { .. }))
            .count(),
        101
    );
    assert_eq!(seen.last(), Some(&NodeEvent::TxAccepted { txid: a_id }));
}

#[test]
fn template_orders_by_fee_rate_and_block_clears_pool() {
    let n = node("mp-order", MempoolConfig::default());
    let miner = key(11);
    n.generate(103, address(&miner)).unwrap();
    let coins: Vec<(OutPoint, Coin)> = (1..=3).map(|h| coinbase_coin(&n, h)).collect();
    let fees = [5_000u64, 50_000, 20_000];
    let txs: Vec<Transaction> = coins
        .iter()
        .zip(fees)
        .map(|(c, f)| pay(&n, *c, &miner, &key(1), f))
        .collect();
    for tx in &txs {
        n.submit_transaction(tx.clone()).unwrap();
    }
    let (template, _) = n.block_template(address(&miner), vec![]).unwrap();
    let order: Vec<_> = template.block.txs[1..]
        .iter()
        .map(Transaction::txid)
        .collect();
    assert_eq!(order, vec![txs[1].txid(), txs[2].txid(), txs[0].txid()]);
    assert_eq!(template.fees, Amount::from_units(75_000));
    n.generate(1, address(&miner)).unwrap();
    assert!(n.pool_txids().is_empty());
    // The coinbase collected the fees.
    let tip = n.block(&n.tip_now().1).unwrap();
    assert_eq!(tip.txs.len(), 4);
    assert_eq!(
        tip.txs[0].outputs[0].amount,
        Amount::from_units(50 * chain_node::COIN + 75_000)
    );
}

#[test]
fn size_cap_evicts_lowest_fee_rate() {
    let miner = key(12);
    let probe = node("mp-cap-probe", MempoolConfig::default());
    let coin = funded(&probe, &miner);
    let size = pay(&probe, coin, &miner, &key(1), 1).size();
    drop(probe);
    // Room for two transactions.
    let n = node(
        "mp-cap",
        MempoolConfig {
            max_bytes: size * 2 + size / 2,
            ..MempoolConfig::default()
        },
    );
    n.generate(103, address(&miner)).unwrap();
    let coins: Vec<(OutPoint, Coin)> = (1..=3).map(|h| coinbase_coin(&n, h)).collect();
    let low = pay(&n, coins[0], &miner, &key(1), 10_000);
    let mid = pay(&n, coins[1], &miner, &key(1), 20_000);
    let cheaper = pay(&n, coins[2], &miner, &key(1), 5_000);
    let high = pay(&n, coins[2], &miner, &key(2), 40_000);
    n.submit_transaction(low.clone()).unwrap();
    n.submit_transaction(mid.clone()).unwrap();
    assert!(matches!(
        pool_err(n.submit_transaction(cheaper)),
        Err(MempoolError::Full { .. })
    ));
    n.submit_transaction(high.clone()).unwrap();
    assert!(!n.in_pool(low.txid()), "lowest fee rate evicted");
    assert!(n.in_pool(mid.txid()) && n.in_pool(high.txid()));
}

#[test]
fn orphans_wait_for_parents_and_are_bounded() {
    let n = node(
        "mp-orphan",
        MempoolConfig {
            max_orphans: 2,
            ..MempoolConfig::default()
        },
    );
    let miner = key(13);
    let coin = funded(&n, &miner);
    let parent = pay(&n, coin, &miner, &key(1), 10_000);
    let child = pay(&n, out0(&parent, &key(1), 102), &key(1), &key(2), 10_000);
    assert_eq!(
        pool_err(n.submit_transaction(child.clone())),
        Err(MempoolError::MissingInputs { txid: child.txid() })
    );
    assert_eq!(n.orphans(), 1);
    n.submit_transaction(parent.clone()).unwrap();
    assert!(n.in_pool(child.txid()), "orphan joined after its parent");
    assert_eq!(n.orphans(), 0);
    // Three unrelated orphans with a bound of two: the oldest is dropped.
    for i in 0..3u8 {
        let fake = (
            OutPoint {
                txid: chain_node::TxId([i + 1; 32]),
                vout: 0,
            },
            coin.1,
        );
        let o = pay(&n, fake, &miner, &key(3), 10_000);
        assert!(matches!(
            pool_err(n.submit_transaction(o)),
            Err(MempoolError::MissingInputs { .. })
        ));
    }
    assert_eq!(n.orphans(), 2);
}

#[test]
fn reorg_returns_transactions_and_removes_conflicts() {
    let n = node("mp-reorg", MempoolConfig::default());
    let miner = key(14);
    let coin = funded(&n, &miner);
    let a = pay(&n, coin, &miner, &key(1), 10_000);
    n.submit_transaction(a.clone()).unwrap();
    let hashes = n.generate(1, address(&miner)).unwrap();
    assert!(n.pool_txids().is_empty());
    // Disconnect the block: the transaction returns to the pool.
    n.invalidate_block(&hashes[0]).unwrap();
    assert!(n.in_pool(a.txid()));
    // A competing block confirms a conflicting spend: the pool drops `a` on connect.
    let b = pay(&n, coin, &miner, &key(2), 30_000);
    let (template, tip) = n.block_template(address(&miner), vec![]).unwrap();
    let mut txs = vec![template.block.txs[0].clone(), b.clone()];
    txs[0].outputs[0].amount = Amount::from_units(50 * chain_node::COIN);
    let block = crate::helpers::make_block(
        n.params(),
        &n.entry(&tip).unwrap().header,
        template.block.header.time,
        txs,
    );
    n.submit_block(&block).unwrap();
    assert!(!n.in_pool(a.txid()), "conflict removed on connect");
    n.generate(1, address(&miner)).unwrap();
    assert!(n.submit_transaction(a.clone()).is_err());
    n.reconsider_block(&hashes[0]).unwrap();
    // The new branch has more work, so the old block stays out and `a` stays out.
    assert!(!n.in_pool(a.txid()));
    assert!(
        n.coin(&OutPoint {
            txid: b.txid(),
            vout: 0
        })
        .is_some()
    );
}

#[test]
fn testnet_node_mines_at_its_real_target() {
    let n = TestNode::open(Network::Testnet, "testnet-mine", |cfg| {
        cfg.mining_threads = 2
    });
    let hashes = n.generate(3, address(&key(15))).unwrap();
    assert_eq!(n.tip_now(), (chain_node::Height(3), hashes[2]));
    let limit = n.params().limit();
    for h in &hashes {
        let e = n.entry(h).unwrap();
        assert_eq!(e.header.bits, n.params().pow_limit);
        // Independent check of the proof of work: SHA-256d of the 80 header bytes.
        assert!(limit.is_met_by(&chain_node::BlockHash(chain_node::sha256d(
            &e.header.to_bytes()
        ))));
        assert!(
            h.as_bytes()[..2] == [0, 0],
            "testnet target needs 16 leading zero bits"
        );
    }
}

#[test]
fn shutdown_interrupts_a_running_nonce_search() {
    // Regtest rules with Bitcoin's difficulty-1 target: a block needs about 2^32 hashes,
    // so only the stop flag can end this search.
    let n = TestNode::open(Network::Regtest, "mine-stop", |cfg| {
        cfg.params.pow_limit = chain_node::pow::CompactTarget(0x1d00_ffff);
        cfg.mining_threads = 2;
    });
    let miner = n.clone();
    let search = std::thread::spawn(move || miner.generate(1, address(&key(16))));
    let closed = n.shutdown().unwrap();
    assert!(matches!(
        search.join().unwrap(),
        Err(chain_node::error::NodeError::ShuttingDown)
    ));
    assert_eq!(closed.0, chain_node::Height(0));
}

#[test]
fn restore_readmits_children_listed_before_parents() {
    use chain_node::mempool::Mempool;
    use chain_node::signature::SigMode;
    use std::collections::HashMap;
    let params = Network::Regtest.params();
    let k = key(17);
    let op = OutPoint {
        txid: chain_node::TxId([7; 32]),
        vout: 0,
    };
    let coin = Coin {
        amount: Amount::from_units(5_000_000_000),
        address: address(&k),
        height: chain_node::Height(1),
        is_coinbase: true,
    };
    let view: HashMap<OutPoint, Coin> = [(op, coin)].into_iter().collect();
    let parent = spend(
        &params,
        &[(op, coin, &k)],
        vec![TxOut::pay(
            Amount::from_units(4_999_990_000),
            address(&key(18)),
        )],
    );
    let child = pay_from_out0(&params, &parent, &key(18));
    let invalid = pay_from_out0(&params, &child, &key(99)); // wrong key: never admitted
    let mut pool = Mempool::new(MempoolConfig::default());
    pool.restore(
        vec![invalid, child.clone(), parent.clone()],
        &crate::helpers::context(
            &params,
            &view,
            chain_node::Height(102),
            SigMode::Strict { threads: 1 },
        ),
    );
    assert_eq!(pool.len(), 2);
    assert!(pool.get(&parent.txid()).is_some() && pool.get(&child.txid()).is_some());
}

/// Spends output 0 of `tx` (paid to `k`) with `k`, minus a 10,000 fee.
fn pay_from_out0(params: &chain_node::Params, tx: &Transaction, k: &SigningKey) -> Transaction {
    let amount = tx.outputs[0].amount;
    let coin = Coin {
        amount,
        address: address(k),
        height: chain_node::Height(102),
        is_coinbase: false,
    };
    spend(
        params,
        &[(
            OutPoint {
                txid: tx.txid(),
                vout: 0,
            },
            coin,
            k,
        )],
        vec![TxOut::pay(
            Amount::from_units(amount.units() - 10_000),
            address(&key(19)),
        )],
    )
}

#[test]
fn embedded_rpc_server_serves_and_stops() {
    use chain_node::rpc::RpcServer;
    let dir = temp_dir("embedded-rpc");
    let n = Node::open(NodeConfig::new(Network::Regtest, dir.to_path_buf())).unwrap();
    let server = RpcServer::start(n.clone(), "127.0.0.1:0".parse().unwrap(), 3).unwrap();
    let cookie = std::fs::read_to_string(dir.join(".cookie")).unwrap();
    let body =
        serde_json::json!({"jsonrpc": "2.0", "id": 7, "method": "getblockcount"}).to_string();
    let (status, text) =
        crate::process::http(server.local_addr().port(), "POST", &body, Some(&cookie));
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        serde_json::json!({"jsonrpc": "2.0", "id": 7, "result": 0})
    );
    server.stop(&n).unwrap();
    assert!(!dir.join(".cookie").exists());
    assert!(n.is_shutting_down());
}

/// A solved block on the stored block `parent` with `txs`, paying the subsidy plus
/// `fees`; `tag` tells siblings apart.
fn block_on(
    node: &Node,
    parent: &chain_node::BlockHash,
    txs: Vec<Transaction>,
    fees: u64,
    tag: u32,
) -> chain_node::Block {
    let e = node.entry(parent).unwrap();
    let height = e.height.0 + 1;
    let reward =
        chain_node::block_subsidy(chain_node::Height(height), node.params()).units() + fees;
    let mut all = vec![crate::helpers::coinbase(
        height,
        address(&key(77)),
        Amount::from_units(reward),
    )];
    all.extend(txs);
    crate::helpers::make_block(node.params(), &e.header, e.header.time + 1 + tag, all)
}

fn connected(hash: chain_node::BlockHash, height: u32) -> NodeEvent {
    NodeEvent::BlockConnected {
        hash,
        height: chain_node::Height(height),
    }
}

fn disconnected(hash: chain_node::BlockHash, height: u32) -> NodeEvent {
    NodeEvent::BlockDisconnected {
        hash,
        height: chain_node::Height(height),
    }
}

#[test]
fn a_block_failing_after_a_reorg_is_announced_and_leaves_the_pool_as_it_was() {
    let n = node("mp-failed-reorg", MempoolConfig::default());
    let miner = key(20);
    n.generate(102, address(&miner)).unwrap();
    // O103 confirms `confirmed`; O104 and O105 are empty; `pending` waits in the pool.
    let confirmed = pay(&n, coinbase_coin(&n, 1), &miner, &key(1), 10_000);
    n.submit_transaction(confirmed.clone()).unwrap();
    let o = n.generate(3, address(&miner)).unwrap();
    let pending = pay(&n, coinbase_coin(&n, 2), &miner, &key(1), 10_000);
    n.submit_transaction(pending.clone()).unwrap();
    // N103..N105 on O102, as much work as O105 and seen later; N104 confirms a spend
    // that conflicts with `pending`.
    let conflict = pay(&n, coinbase_coin(&n, 2), &miner, &key(2), 30_000);
    let fork = n.hash_at(102).unwrap();
    let mut branch: Vec<chain_node::Block> = Vec::new();
    for txs in [vec![], vec![conflict.clone()], vec![]] {
        let parent = branch.last().map_or(fork, chain_node::Block::hash);
        let fees = if txs.is_empty() { 0 } else { 30_000 };
        let b = block_on(&n, &parent, txs, fees, 5);
        assert!(n.submit_block(&b).unwrap().events.is_empty());
        branch.push(b);
    }
    let (n103, n104, n105) = (&branch[0], &branch[1], &branch[2]);
    let mut events = n.subscribe();
    let search = n.tip_change_flag();
    // N106 pays one unit too much: the node reorgs to it, fails it, and comes back.
    let bad = block_on(&n, &n105.hash(), vec![], 1, 5);
    assert!(matches!(
        chain_err(n.submit_block(&bad)),
        Err(chain_node::error::ChainError::Invalid { .. })
    ));
    let seen: Vec<NodeEvent> = drain(&mut events);
    assert_eq!(
        seen,
        vec![
            disconnected(o[2], 105),
            disconnected(o[1], 104),
            disconnected(o[0], 103),
            connected(n103.hash(), 103),
            connected(n104.hash(), 104),
            connected(n105.hash(), 105),
            disconnected(n105.hash(), 105),
            disconnected(n104.hash(), 104),
            disconnected(n103.hash(), 103),
            connected(o[0], 103),
            connected(o[1], 104),
            connected(o[2], 105),
        ]
    );
    assert!(
        search.load(std::sync::atomic::Ordering::Relaxed),
        "a running nonce search was told the tip moved"
    );
    assert_eq!(n.tip_now(), (chain_node::Height(105), o[2]));
    // Back where it was: `pending` stays, `confirmed` is confirmed, the conflict is not
    // in the pool; on disk too.
    assert_eq!(n.pool_txids(), vec![pending.txid()]);
    let n = n.reopen();
    assert_eq!(n.pool_txids(), vec![pending.txid()]);
    assert_eq!(n.tip_now().1, o[2]);
}

#[test]
fn a_storage_failure_mid_reorg_is_announced_stops_the_node_and_a_restart_recovers() {
    // Every block's changes written at once, so that the second flush is a disconnect.
    let n = TestNode::open(Network::Regtest, "mp-poison", |cfg| {
        cfg.mining_threads = 1;
        cfg.cache = chain_node::CacheConfig::flush_every_block();
    });
    let miner = key(21);
    n.generate(103, address(&miner)).unwrap();
    // O104 confirms `confirmed`, which nothing on the other branch touches.
    let confirmed = pay(&n, coinbase_coin(&n, 1), &miner, &key(4), 10_000);
    n.submit_transaction(confirmed.clone()).unwrap();
    n.generate(1, address(&miner)).unwrap();
    let pending = pay(&n, coinbase_coin(&n, 2), &miner, &key(1), 10_000);
    n.submit_transaction(pending.clone()).unwrap();
    let o = |h: u32| n.hash_at(h).unwrap();
    let (o103, o104) = (o(103), o(104));
    // N103..N105 on O102 outweigh O104; N104 confirms a conflict of `pending`.
    let conflict = pay(&n, coinbase_coin(&n, 2), &miner, &key(2), 30_000);
    let n103 = block_on(&n, &o(102), vec![], 0, 5);
    n.submit_block(&n103).unwrap();
    let n104 = block_on(&n, &n103.hash(), vec![conflict.clone()], 30_000, 5);
    n.submit_block(&n104).unwrap();
    let n105 = block_on(&n, &n104.hash(), vec![], 0, 5);
    let mut events = n.subscribe();
    let search = n.tip_change_flag();
    // Flushes: storing N105, disconnecting O104; the flush after disconnecting O103
    // fails.
    n.fail_flushes_after(2).unwrap();
    let err = chain_err(n.submit_block(&n105)).unwrap_err();
    assert!(err.is_storage(), "{err:?}");
    // Both disconnects happened (the second in memory only) and are announced.
    assert_eq!(
        drain(&mut events),
        vec![disconnected(o104, 104), disconnected(o103, 103)]
    );
    assert!(search.load(std::sync::atomic::Ordering::Relaxed));
    assert!(n.failure().is_some() && n.is_shutting_down());
    // Nothing more is accepted or acknowledged.
    let other = pay(&n, coinbase_coin(&n, 3), &miner, &key(3), 10_000);
    assert!(matches!(
        pool_err(n.submit_transaction(other)),
        Err(MempoolError::NotSaved { .. })
    ));
    assert!(matches!(
        chain_err(n.invalidate_block(&o103)),
        Err(chain_node::error::ChainError::Poisoned { .. })
    ));
    assert!(n.generate(1, address(&miner)).is_err());
    // A restart reloads from disk and finishes the reorg: `pending` conflicts with N104;
    // `confirmed` left the chain with O104, whose disconnect saved it with the pool.
    let n = n.reopen();
    assert!(n.failure().is_none());
    assert_eq!(n.tip_now(), (chain_node::Height(105), n105.hash()));
    assert_eq!(n.pool_txids(), vec![confirmed.txid()]);
    assert!(n.submit_transaction(pending).is_err());
}

#[test]
fn blocks_disconnected_while_opening_return_their_transactions() {
    use chain_node::encoding::{IndexEntry, decode_exact, encode_to_vec};
    let n = node("mp-open-rewind", MempoolConfig::default());
    let miner = key(22);
    n.generate(102, address(&miner)).unwrap();
    let tx = pay(&n, coinbase_coin(&n, 1), &miner, &key(1), 10_000);
    n.submit_transaction(tx.clone()).unwrap();
    let mined = n.generate(2, address(&miner)).unwrap();
    assert!(n.pool_txids().is_empty());
    let (config, _dir) = n.close();
    // What a crash inside invalidateblock leaves: the block with `tx` marked invalid
    // while still active.
    {
        let db = {
            let path = config.data_dir.join("chain");
            let mut tries = 0;
            loop {
                match sled::open(&path) {
                    Ok(db) => break db,
                    Err(_) if tries < 100 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        };
        let mut k = vec![b'i'];
        k.extend_from_slice(mined[0].as_bytes());
        let mut entry: IndexEntry = decode_exact(&db.get(&k).unwrap().unwrap()).unwrap();
        entry.status.failure = Some(chain_node::encoding::Failure::Failed);
        db.insert(k, encode_to_vec(&entry)).unwrap();
        db.flush().unwrap();
    }
    let n = Node::open(config).unwrap();
    assert_eq!(n.tip_now().0, chain_node::Height(102));
    assert_eq!(n.pool_txids(), vec![tx.txid()]);
}

#[test]
fn evictions_are_saved_before_the_newcomer_is_acknowledged() {
    let miner = key(23);
    let probe = node("mp-evict-probe", MempoolConfig::default());
    let size = pay(&probe, funded(&probe, &miner), &miner, &key(1), 1).size();
    drop(probe);
    let n = node(
        "mp-evict-saved",
        MempoolConfig {
            max_bytes: size * 2 + size / 2,
            ..MempoolConfig::default()
        },
    );
    n.generate(103, address(&miner)).unwrap();
    let low = pay(&n, coinbase_coin(&n, 1), &miner, &key(1), 10_000);
    let mid = pay(&n, coinbase_coin(&n, 2), &miner, &key(1), 20_000);
    let high = pay(&n, coinbase_coin(&n, 3), &miner, &key(1), 40_000);
    for tx in [&low, &mid, &high] {
        n.submit_transaction(tx.clone()).unwrap();
    }
    let expected = vec![mid.txid(), high.txid()];
    assert_eq!(n.pool_txids(), expected);
    // The disk says the same: the evicted transaction does not come back (saved
    // transactions are restored in key order).
    let n = n.reopen();
    let mut restored = n.pool_txids();
    restored.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(restored, expected);
}
