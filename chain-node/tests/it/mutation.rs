//! Mutated copies of a valid block between two nodes. Node A mines a block with spends;
//! node B, with its own data directory, first receives a copy whose bytes differ (a
//! signature byte, trailing bytes, reordered, duplicated or dropped transactions): it
//! must refuse it without storing or marking anything, then accept the real block and
//! its descendant and end on A's tip. In process with two `Node`s, and through the
//! binary's `submitblock`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use chain_node::encoding::decode_exact;
use chain_node::error::{BlockError, ChainError, DecodeError, TxError};
use chain_node::validation::Coin;
use chain_node::{
    Amount, Block, BlockHash, COIN, ChainTip, Height, Network, Node, OutPoint, TipStatus,
    Transaction, TxInputs, TxOut,
};
use serde_json::{Value, json};

use crate::helpers::{Reads, TestNode, address, chain_err, key, solve, spend, temp_dir};
use crate::oracle;
use crate::process::NodeProcess;

/// Blocks mined before the spends: the coinbases of heights 1 to 3 are mature at 104.
const PREFIX: u32 = 103;

fn open(name: &str) -> TestNode {
    TestNode::open(Network::Regtest, name, |cfg| cfg.mining_threads = 1)
}

fn block_at(node: &Node, height: u32) -> Block {
    node.block(&node.hash_at(height).unwrap()).unwrap()
}

/// The miner's (key 1) coinbase output at `height`, given that block's coinbase.
fn coinbase_coin(coinbase: &Transaction, height: u32) -> (OutPoint, Coin) {
    let op = OutPoint {
        txid: coinbase.txid(),
        vout: 0,
    };
    let coin = Coin {
        amount: coinbase.outputs[0].amount,
        address: address(&key(1)),
        height: Height(height),
        is_coinbase: true,
    };
    (op, coin)
}

/// Three transactions for the block after [`PREFIX`]: one spending the coinbase of
/// height 1 into two outputs, one spending the coinbases of heights 2 and 3, and a child
/// spending the first one's output 0. `coinbases[h - 1]` is the coinbase at height `h`.
fn spends(coinbases: &[Transaction]) -> Vec<Transaction> {
    let params = Network::Regtest.params();
    let miner = key(1);
    let (op1, c1) = coinbase_coin(&coinbases[0], 1);
    let (op2, c2) = coinbase_coin(&coinbases[1], 2);
    let (op3, c3) = coinbase_coin(&coinbases[2], 3);
    let half = Amount::from_units(25 * COIN);
    let parent = spend(
        &params,
        &[(op1, c1, &miner)],
        vec![
            TxOut::pay(half, address(&key(2))),
            TxOut::pay(Amount::from_units(25 * COIN - 10_000), address(&key(3))),
        ],
    );
    let pair = spend(
        &params,
        &[(op2, c2, &miner), (op3, c3, &miner)],
        vec![TxOut::pay(
            Amount::from_units(100 * COIN - 20_000),
            address(&key(4)),
        )],
    );
    let child_op = OutPoint {
        txid: parent.txid(),
        vout: 0,
    };
    let child_coin = Coin {
        amount: half,
        address: address(&key(2)),
        height: Height(PREFIX + 1),
        is_coinbase: false,
    };
    let child = spend(
        &params,
        &[(child_op, child_coin, &key(2))],
        vec![TxOut::pay(
            Amount::from_units(25 * COIN - 10_000),
            address(&key(5)),
        )],
    );
    vec![parent, pair, child]
}

/// Copies of `block` that differ from it but keep its header, each with its name.
fn mutated_copies(block: &Block) -> Vec<(&'static str, Block)> {
    assert!(block.txs.len() >= 4, "the block needs spends to mutate");
    let mut out = Vec::new();
    let mut sig = block.clone();
    if let TxInputs::Spend(ins) = &mut sig.txs[1].inputs {
        ins[0].signature[0] ^= 1;
    }
    out.push(("a signature byte", sig));
    let mut second_sig = block.clone();
    let last = second_sig.txs.len() - 1;
    if let TxInputs::Spend(ins) = &mut second_sig.txs[last].inputs {
        ins[0].signature[40] ^= 0x80;
    }
    out.push(("a signature byte of the last transaction", second_sig));
    let mut reordered = block.clone();
    reordered.txs.swap(1, 2);
    out.push(("reordered transactions", reordered));
    let mut duplicated = block.clone();
    duplicated.txs.push(block.txs[last].clone());
    out.push(("a duplicated transaction", duplicated));
    let mut dropped = block.clone();
    dropped.txs.pop();
    out.push(("a dropped transaction", dropped));
    let mut coinbase = block.clone();
    if let TxInputs::Coinbase { extra, .. } = &mut coinbase.txs[0].inputs {
        extra.push(1);
    }
    out.push(("coinbase data", coinbase));
    for (what, copy) in &out {
        assert_eq!(copy.header, block.header, "{what}");
        assert_ne!(copy, block, "{what}");
    }
    out
}

/// Node B's view of one hash: nothing in the index, nothing in the block store, and
/// a single active tip at `tip`.
fn assert_nothing_stored(node: &Node, hash: &BlockHash, tip: (Height, BlockHash)) {
    assert!(node.entry(hash).is_none(), "indexed");
    assert!(node.block(hash).is_none(), "stored");
    assert_eq!(node.tip_now(), tip);
    assert_eq!(
        node.read(|v| v.chain().chain_tips()).unwrap(),
        vec![ChainTip {
            hash: tip.1,
            height: tip.0,
            branch_len: 0,
            status: TipStatus::Active,
        }]
    );
}

/// Node A with [`PREFIX`] blocks and then a block with three spends; node B with the
/// same [`PREFIX`] blocks. Returns (A, B, the block with spends).
fn two_nodes(name: &str) -> (TestNode, TestNode, Block) {
    let a = open(&format!("{name}-a"));
    let b = open(&format!("{name}-b"));
    a.generate(PREFIX, address(&key(1))).unwrap();
    let coinbases: Vec<Transaction> = (1..=3).map(|h| block_at(&a, h).txs[0].clone()).collect();
    for tx in spends(&coinbases) {
        a.submit_transaction(tx).unwrap();
    }
    let hash = a.generate(1, address(&key(1))).unwrap()[0];
    let block = a.block(&hash).unwrap();
    assert_eq!(block.txs.len(), 4, "all three spends were mined");
    for h in 1..=PREFIX {
        b.submit_block(&block_at(&a, h)).unwrap();
    }
    assert_eq!(b.tip_now().0, Height(PREFIX));
    (a, b, block)
}

#[test]
fn mutated_copies_are_refused_without_a_trace_and_the_real_block_follows() {
    let (a, b, block) = two_nodes("mutation");
    let hash = block.hash();
    let before = b.tip_now();
    let mut events = b.subscribe();
    for (what, copy) in mutated_copies(&block) {
        match chain_err(b.submit_block(&copy)) {
            Err(e @ ChainError::Mutated { .. }) => {
                let ChainError::Mutated { hash: h, source } = &e else {
                    unreachable!()
                };
                assert_eq!(*h, hash, "{what}");
                assert_eq!(**source, BlockError::BadMerkleRoot, "{what}");
                assert!(e.to_string().contains("mutated copy"), "{what}: {e}");
            }
            other => panic!("{what}: expected a mutation, got {other:?}"),
        }
        assert_nothing_stored(&b, &hash, before);
    }
    // Trailing bytes never make a block value at all.
    let mut bytes = block.to_bytes();
    bytes.push(0);
    assert_eq!(
        decode_exact::<Block>(&bytes),
        Err(DecodeError::TrailingBytes { count: 1 })
    );
    assert!(
        events.try_recv().is_err(),
        "a mutated copy changed the chain"
    );

    // The real block, then a descendant from A: B ends on A's tip with A's coins.
    b.submit_block(&block).unwrap();
    let next = a.generate(1, address(&key(1))).unwrap()[0];
    b.submit_block(&a.block(&next).unwrap()).unwrap();
    assert_eq!(b.tip_now(), a.tip_now());
    assert_eq!(b.tip_now().1, next);
    assert_eq!(b.utxo_set(), a.utxo_set());
    assert_eq!(b.read(|v| v.chain().chain_tips()).unwrap().len(), 1);
}

#[test]
fn a_committed_bad_signature_is_marked_but_only_under_its_own_hash() {
    // The same flipped signature with a header that commits to it is another block:
    // stored and marked invalid under its own hash, which the real block does not share.
    let (a, b, block) = two_nodes("committed");
    let mut bad = block.clone();
    if let TxInputs::Spend(ins) = &mut bad.txs[1].inputs {
        ins[0].signature[0] ^= 1;
    }
    bad.header.merkle_root = bad.compute_merkle_root();
    bad.header = solve(bad.header);
    assert_ne!(bad.hash(), block.hash());
    match chain_err(b.submit_block(&bad)) {
        Err(ChainError::Invalid { hash, source }) => {
            assert_eq!(hash, bad.hash());
            assert_eq!(source.tx_error(), Some(&TxError::BadSignature { index: 0 }));
        }
        other => panic!("expected an invalid block, got {other:?}"),
    }
    assert!(
        b.read(|v| v.chain().chain_tips())
            .unwrap()
            .iter()
            .any(|t| t.hash == bad.hash() && t.status == TipStatus::Invalid)
    );
    b.submit_block(&block).unwrap();
    assert_eq!(b.tip_now(), a.tip_now());
}

fn hex_block(node: &NodeProcess, hash: &str) -> String {
    node.ok("getblock", json!([hash, 0]))
        .as_str()
        .unwrap()
        .to_owned()
}

fn only_tip(node: &NodeProcess, height: u32, hash: &str) {
    assert_eq!(
        node.ok("getchaintips", json!([])),
        json!([{"height": height, "hash": hash, "branchlen": 0, "status": "active"}])
    );
}

#[test]
fn binary_refuses_mutated_copies_over_submitblock() {
    let (dir_a, dir_b) = (temp_dir("mutation-bin-a"), temp_dir("mutation-bin-b"));
    let a = NodeProcess::start(&dir_a);
    let b = NodeProcess::start(&dir_b);
    let miner = address(&key(1)).encode(Network::Regtest);
    let hashes = a.ok("generatetoaddress", json!([PREFIX, miner]));
    let hashes: Vec<&str> = hashes
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    for h in &hashes {
        assert_eq!(b.ok("submitblock", json!([hex_block(&a, h)])), Value::Null);
    }
    let coinbases: Vec<Transaction> = hashes[..3]
        .iter()
        .map(|h| {
            let block: Block = decode_exact(&hex::decode(hex_block(&a, h)).unwrap()).unwrap();
            block.txs[0].clone()
        })
        .collect();
    let txs = spends(&coinbases);
    for tx in &txs {
        a.ok("sendrawtransaction", json!([hex::encode(tx.to_bytes())]));
        let verbose = a.ok("getrawtransaction", json!([tx.txid().to_hex(), true]));
        assert_eq!(verbose["hash"], json!(hex::encode(oracle::wtxid(tx))));
    }
    // An external miner gets each transaction's wtxid, the leaf it must hash.
    let template = a.ok("getblocktemplate", json!([]));
    let listed = template["transactions"].as_array().unwrap();
    assert_eq!(listed.len(), txs.len());
    for t in listed {
        let tx: Transaction =
            decode_exact(&hex::decode(t["data"].as_str().unwrap()).unwrap()).unwrap();
        assert_eq!(t["hash"], json!(hex::encode(oracle::wtxid(&tx))));
    }
    let mined = a.ok("generatetoaddress", json!([1, miner]));
    let hash = mined[0].as_str().unwrap().to_owned();
    let raw = hex_block(&a, &hash);
    let block: Block = decode_exact(&hex::decode(&raw).unwrap()).unwrap();
    assert_eq!(block.txs.len(), 4);

    let tip = hashes[hashes.len() - 1];
    for (what, copy) in mutated_copies(&block) {
        let answer = b.ok("submitblock", json!([hex::encode(copy.to_bytes())]));
        let answer = answer.as_str().unwrap_or_default();
        assert!(
            answer.starts_with("mutated: ") && answer.contains("merkle root"),
            "{what}: {answer}"
        );
        only_tip(&b, PREFIX, tip);
        assert_eq!(
            b.call("getblock", json!([hash]))["error"]["code"],
            json!(-5)
        );
    }
    for trailing in ["00", "ff", &raw[..2]] {
        let r = b.call("submitblock", json!([format!("{raw}{trailing}")]));
        assert_eq!(r["error"]["code"], json!(-22), "{r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("trailing bytes"),
            "{r}"
        );
        only_tip(&b, PREFIX, tip);
    }

    assert_eq!(b.ok("submitblock", json!([raw])), Value::Null);
    let next = a.ok("generatetoaddress", json!([1, miner]));
    let next = next[0].as_str().unwrap();
    assert_eq!(
        b.ok("submitblock", json!([hex_block(&a, next)])),
        Value::Null
    );
    assert_eq!(b.ok("getbestblockhash", json!([])), json!(next));
    assert_eq!(
        b.ok("getbestblockhash", json!([])),
        a.ok("getbestblockhash", json!([]))
    );
    only_tip(&b, PREFIX + 2, next);
    a.stop();
    b.stop();
}
