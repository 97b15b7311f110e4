//! Mempool and miner through the library `Node`: validation, first-seen conflicts,
//! fee-rate order, eviction, orphans, and resync on connect and disconnect.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use chain_node::error::{MempoolError, TxError};
use chain_node::mempool::MempoolConfig;
use chain_node::validation::Coin;
use chain_node::{Amount, Network, Node, NodeConfig, NodeEvent, OutPoint, Transaction, TxOut};
use ed25519_dalek::SigningKey;

use crate::helpers::{TestNode, address, key, spend, temp_dir};

fn node(name: &str, mempool: MempoolConfig) -> TestNode {
    TestNode::open(Network::Regtest, name, |cfg| {
        cfg.mempool = mempool;
        cfg.mining_threads = 1;
    })
}

/// Mines 101 blocks to `miner` and returns the first (now mature) coinbase coin.
fn funded(node: &Node, miner: &SigningKey) -> (OutPoint, Coin) {
    node.generate(101, address(miner)).unwrap();
    let st = node.lock();
    let hash = st.chain.hash_at(chain_node::Height(1)).unwrap();
    let block = st.chain.block(&hash).unwrap().unwrap();
    let op = OutPoint {
        txid: block.txs[0].txid(),
        vout: 0,
    };
    (op, st.chain.coin(&op).unwrap().unwrap())
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
    let events = n.subscribe();
    let coin = funded(&n, &miner);
    let a = pay(&n, coin, &miner, &key(1), 10_000);
    let b = pay(&n, coin, &miner, &key(2), 20_000);
    let a_id = n.submit_transaction(a.clone()).unwrap();
    assert_eq!(
        n.submit_transaction(a.clone()),
        Err(MempoolError::AlreadyKnown { txid: a_id })
    );
    assert_eq!(
        n.submit_transaction(b.clone()),
        Err(MempoolError::Conflict {
            txid: b.txid(),
            existing: a_id,
            outpoint: coin.0
        })
    );
    // Coinbase, immature and badly signed transactions are refused.
    let tip = n.lock().chain.tip().1;
    let cb = n.lock().chain.block(&tip).unwrap().unwrap().txs[0].clone();
    assert_eq!(
        n.submit_transaction(cb.clone()),
        Err(MempoolError::Coinbase)
    );
    let young = OutPoint {
        txid: cb.txid(),
        vout: 0,
    };
    let young_coin = n.lock().chain.coin(&young).unwrap().unwrap();
    let immature = pay(&n, (young, young_coin), &miner, &key(1), 10_000);
    assert!(matches!(
        n.submit_transaction(immature),
        Err(MempoolError::Invalid {
            source: TxError::ImmatureCoinbase { .. },
            ..
        })
    ));
    let zero_fee = pay(&n, out0(&a, &key(1), 102), &key(1), &key(3), 0);
    assert!(matches!(
        n.submit_transaction(zero_fee),
        Err(MempoolError::FeeTooLow { .. })
    ));
    assert_eq!(n.lock().mempool.len(), 1);
    // Listeners saw 101 blocks and the transaction.
    let seen: Vec<NodeEvent> = events.try_iter().collect();
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
    let coins: Vec<(OutPoint, Coin)> = (1..=3)
        .map(|h| {
            let st = n.lock();
            let block = st
                .chain
                .block(&st.chain.hash_at(chain_node::Height(h)).unwrap())
                .unwrap()
                .unwrap();
            let op = OutPoint {
                txid: block.txs[0].txid(),
                vout: 0,
            };
            (op, st.chain.coin(&op).unwrap().unwrap())
        })
        .collect();
    let fees = [5_000u64, 50_000, 20_000];
    let txs: Vec<Transaction> = coins
        .iter()
        .zip(fees)
        .map(|(c, f)| pay(&n, *c, &miner, &key(1), f))
        .collect();
    for tx in &txs {
        n.submit_transaction(tx.clone()).unwrap();
    }
    let (template, _) = n.block_template(address(&miner), vec![]);
    let order: Vec<_> = template.block.txs[1..]
        .iter()
        .map(Transaction::txid)
        .collect();
    assert_eq!(order, vec![txs[1].txid(), txs[2].txid(), txs[0].txid()]);
    assert_eq!(template.fees, Amount::from_units(75_000));
    n.generate(1, address(&miner)).unwrap();
    assert!(n.lock().mempool.is_empty());
    // The coinbase collected the fees.
    let st = n.lock();
    let tip = st.chain.block(&st.chain.tip().1).unwrap().unwrap();
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
    let coins: Vec<(OutPoint, Coin)> = (1..=3)
        .map(|h| {
            let st = n.lock();
            let block = st
                .chain
                .block(&st.chain.hash_at(chain_node::Height(h)).unwrap())
                .unwrap()
                .unwrap();
            let op = OutPoint {
                txid: block.txs[0].txid(),
                vout: 0,
            };
            (op, st.chain.coin(&op).unwrap().unwrap())
        })
        .collect();
    let low = pay(&n, coins[0], &miner, &key(1), 10_000);
    let mid = pay(&n, coins[1], &miner, &key(1), 20_000);
    let cheaper = pay(&n, coins[2], &miner, &key(1), 5_000);
    let high = pay(&n, coins[2], &miner, &key(2), 40_000);
    n.submit_transaction(low.clone()).unwrap();
    n.submit_transaction(mid.clone()).unwrap();
    assert!(matches!(
        n.submit_transaction(cheaper),
        Err(MempoolError::Full { .. })
    ));
    n.submit_transaction(high.clone()).unwrap();
    let st = n.lock();
    assert!(
        st.mempool.get(&low.txid()).is_none(),
        "lowest fee rate evicted"
    );
    assert!(st.mempool.get(&mid.txid()).is_some() && st.mempool.get(&high.txid()).is_some());
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
        n.submit_transaction(child.clone()),
        Err(MempoolError::MissingInputs { txid: child.txid() })
    );
    assert_eq!(n.lock().mempool.orphan_count(), 1);
    n.submit_transaction(parent.clone()).unwrap();
    let st = n.lock();
    assert!(
        st.mempool.get(&child.txid()).is_some(),
        "orphan joined after its parent"
    );
    assert_eq!(st.mempool.orphan_count(), 0);
    drop(st);
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
            n.submit_transaction(o),
            Err(MempoolError::MissingInputs { .. })
        ));
    }
    assert_eq!(n.lock().mempool.orphan_count(), 2);
}

#[test]
fn reorg_returns_transactions_and_removes_conflicts() {
    let n = node("mp-reorg", MempoolConfig::default());
    let miner = key(14);
    let coin = funded(&n, &miner);
    let a = pay(&n, coin, &miner, &key(1), 10_000);
    n.submit_transaction(a.clone()).unwrap();
    let hashes = n.generate(1, address(&miner)).unwrap();
    assert!(n.lock().mempool.is_empty());
    // Disconnect the block: the transaction returns to the pool.
    n.invalidate_block(&hashes[0]).unwrap();
    assert!(n.lock().mempool.get(&a.txid()).is_some());
    // A competing block confirms a conflicting spend: the pool drops `a` on connect.
    let b = pay(&n, coin, &miner, &key(2), 30_000);
    let (template, tip) = n.block_template(address(&miner), vec![]);
    let mut txs = vec![template.block.txs[0].clone(), b.clone()];
    txs[0].outputs[0].amount = Amount::from_units(50 * chain_node::COIN);
    let block = crate::helpers::make_block(
        n.params(),
        &n.lock().chain.entry(&tip).unwrap().header,
        template.block.header.time,
        txs,
    );
    n.submit_block(&block).unwrap();
    assert!(
        n.lock().mempool.get(&a.txid()).is_none(),
        "conflict removed on connect"
    );
    n.generate(1, address(&miner)).unwrap();
    assert!(n.submit_transaction(a.clone()).is_err());
    n.reconsider_block(&hashes[0]).unwrap();
    // The new branch has more work, so the old block stays out and `a` stays out.
    let st = n.lock();
    assert!(st.mempool.get(&a.txid()).is_none());
    assert!(
        st.chain
            .coin(&OutPoint {
                txid: b.txid(),
                vout: 0
            })
            .unwrap()
            .is_some()
    );
}

#[test]
fn testnet_node_mines_at_its_real_target() {
    let n = TestNode::open(Network::Testnet, "testnet-mine", |cfg| {
        cfg.mining_threads = 2
    });
    let hashes = n.generate(3, address(&key(15))).unwrap();
    let st = n.lock();
    assert_eq!(st.chain.tip(), (chain_node::Height(3), hashes[2]));
    let limit = n.params().limit();
    for h in &hashes {
        let e = st.chain.entry(h).unwrap();
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
    n.shutdown();
    assert!(matches!(
        search.join().unwrap(),
        Err(chain_node::error::NodeError::ShuttingDown)
    ));
    assert_eq!(n.lock().chain.tip().0, chain_node::Height(0));
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
        &view,
        chain_node::Height(102),
        &params.genesis_hash(),
        SigMode::Strict { threads: 1 },
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
    server.stop(&n);
    assert!(!dir.join(".cookie").exists());
    assert!(n.is_shutting_down());
}
