//! Connecting a block of 1,000 name operations, against the same block whose burn
//! payloads are not name operations, each next to the raw Ed25519 verification rate
//! measured in the same run.
//!
//! A regtest node launches namespace `id` through its mempool and miner and fans two
//! coins out into 2 × 1,000. Its directory is then copied, so that two blocks are mined
//! on the same state by the node's own miner (the coinbase commits to the name-state
//! root after the block, as the template computes it):
//!
//! - `preorders`: 1,000 transactions, each spending one coin, paying change (the
//!   preorder's output) and burning the name's price with a signed `NamePreorder`;
//! - `plain_like_preorders`: the same 1,000 transactions with the first byte of each
//!   payload changed, so that it is not a name operation (same inputs, outputs,
//!   amounts and payload bytes; one signature less to check per transaction);
//! - `registers`: on the preorders' chain, 1,000 transactions each spending a fresh
//!   coin and its preorder's output and carrying a signed `NameRegister` with a
//!   zone-file hash (signature, preorder lookup, record write, tree update);
//! - `plain_like_registers`: the same with non-name payloads.
//!
//! Each block is checked before anything is timed: the tip moved to it, and the
//! preorders and names exist (or, for the plain twins, do not and the root is the
//! parent's). Then `names_1000/connect/*` times `reconsider_block` of the block through
//! the coins cache (every spent coin read from sled, all rules and signatures, the name
//! index), after an untimed disconnect and flush; `names_1000/flush/*` times the write
//! of that block's changes (coins, name records and tree nodes) on its own.
//!
//! ```text
//! cargo bench -p chain-node --bench names
//! ```
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::time::{Duration, Instant};

use chain_node::validation::Coin;
use chain_node::{
    Amount, BlockHash, ChainState, Network, Node, NodeConfig, OutPoint, OutputKind, Params,
    Transaction, TxId, TxOut,
};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use naming::{Commitment, Name, NamespaceId, Operation, Salt, ZoneFileHash};
use sha2::{Digest as _, Sha256};

#[allow(dead_code, unused_imports)]
#[path = "../tests/it/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../tests/it/name_flow.rs"]
mod name_flow;
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/names.rs"]
mod names;
#[path = "common/probes.rs"]
mod probes;
#[path = "common/stores.rs"]
mod stores;

use helpers::{Reads as _, Scratch, address, key, spend, temp_dir};
use name_flow::Registrar;
use names::{burn_tx, op_tx, owner_address, test_terms};
use stores::{bench_cache, copy_dir, disconnect_and_flush};

/// Name operations (and transactions) per measured block.
const OPS: usize = 1_000;

fn open(dir: &Path) -> Node {
    let mut cfg = NodeConfig::new(Network::Regtest, dir.to_path_buf());
    cfg.mining_threads = 1;
    cfg.cache = bench_cache();
    Node::open(cfg).unwrap()
}

fn close(node: Node) {
    node.shutdown().unwrap();
    drop(node);
}

/// A copy of the stopped node directory `dir`.
fn copy(dir: &Scratch, name: &str) -> Scratch {
    let to = temp_dir(name);
    copy_dir(dir, &to);
    to
}

/// `tx`'s burn data with its first byte changed: the same bytes, not a name operation.
fn not_a_name_operation(tx: &Transaction) -> Vec<u8> {
    let mut data = tx
        .outputs
        .iter()
        .find_map(|o| match &o.kind {
            OutputKind::Burn(d) => Some(d.clone()),
            OutputKind::Pay(_) => None,
        })
        .unwrap();
    data[0] ^= 0x20;
    assert!(!naming::is_naming_payload(&data));
    data
}

/// An operation to send: the coins its transaction spends, the operation, its burn.
type OperationToSend = (Vec<(OutPoint, Coin)>, Operation, u64);

/// For each operation, its inputs (all the payer's) and its burn: the transaction
/// that carries it, and its plain twin (the same inputs, outputs and amounts, and the
/// payload's bytes with the first one changed).
fn operations_and_twins(
    params: &Params,
    payer: &SigningKey,
    owner: &SigningKey,
    ops: Vec<OperationToSend>,
) -> (Vec<Transaction>, Vec<Transaction>) {
    ops.into_iter()
        .map(|(coins, op, burn)| {
            let inputs: Vec<_> = coins.iter().map(|(o, c)| (*o, *c, payer)).collect();
            let tx = op_tx(params, &inputs, owner, op, burn);
            let twin = burn_tx(params, &inputs, not_a_name_operation(&tx), burn);
            (tx, twin)
        })
        .unzip()
}

/// Submits `txs` to `node`'s mempool and mines them into one block; returns its hash
/// after checking that the tip moved to it and that it holds them all.
fn mine_all(node: &Node, txs: &[Transaction], payout: &SigningKey) -> BlockHash {
    let (before, _) = node.tip().unwrap();
    for tx in txs {
        node.submit_transaction(tx.clone()).unwrap();
    }
    let hash = node.generate(1, address(payout)).unwrap()[0];
    let (height, tip) = node.tip().unwrap();
    assert_eq!(
        (height.0, tip),
        (before.0 + 1, hash),
        "the block is the tip"
    );
    let block = node.block(&hash).unwrap();
    assert_eq!(block.txs.len(), txs.len() + 1, "every transaction is in it");
    hash
}

fn root(node: &Node) -> naming::StateRoot {
    node.read(|v| v.chain().name_root().unwrap()).unwrap()
}

/// A measured block: its chain state on disk (the block at the tip) and its hash.
struct Measured {
    label: &'static str,
    state: ChainState,
    block: BlockHash,
    _dir: Scratch,
}

impl Measured {
    fn open(label: &'static str, dir: Scratch, block: BlockHash) -> Self {
        let state =
            ChainState::open_with(&dir.join("chain"), Network::Regtest.params(), bench_cache())
                .unwrap();
        assert_eq!(state.tip().1, block);
        Measured {
            label,
            state,
            block,
            _dir: dir,
        }
    }
}

/// Builds the four blocks (module docs) and returns them in the order measured.
fn build() -> Vec<Measured> {
    let params = Network::Regtest.params();
    let dir_a = temp_dir("bench-names-a");
    let node = open(&dir_a);
    let owner = key(2);
    let ns: NamespaceId = "id".parse().unwrap();
    let (payer, preorder_coins, register_coins) = {
        let reg = Registrar::new(&node);
        reg.launch_namespace(&owner, &ns);
        let payer = reg.payer().clone();
        // Two coinbase coins fanned out into the coins of the measured blocks.
        let fans: Vec<TxId> = (0..2)
            .map(|_| {
                let (o, c) = reg.fund();
                let each = (c.amount.units() - 100_000) / OPS as u64;
                let outs = (0..OPS)
                    .map(|_| TxOut::pay(Amount::from_units(each), address(&payer)))
                    .collect();
                node.submit_transaction(spend(&params, &[(o, c, &payer)], outs))
                    .unwrap()
            })
            .collect();
        reg.generate(1);
        let coins = |txid: TxId| -> Vec<(OutPoint, Coin)> {
            (0..OPS as u32)
                .map(|vout| {
                    let o = OutPoint { txid, vout };
                    (o, node.coin(&o).unwrap())
                })
                .collect()
        };
        (payer, coins(fans[0]), coins(fans[1]))
    };
    let namespace = node.read({
        let ns = ns.clone();
        move |v| v.chain().namespace_record(&ns).unwrap()
    });
    assert!(namespace.unwrap().is_some(), "namespace id launched");

    let salt = Salt([8; 16]);
    let names: Vec<Name> = (0..OPS)
        .map(|i| format!("bench{i:04}.id").parse().unwrap())
        .collect();
    let commitments: Vec<Commitment> = names
        .iter()
        .map(|n| Commitment::for_name(n, &salt, &owner_address(&owner)))
        .collect();
    let (preorders, plain_preorders) = operations_and_twins(
        &params,
        &payer,
        &owner,
        names
            .iter()
            .zip(&commitments)
            .zip(&preorder_coins)
            .map(|((name, commitment), coin)| {
                let op = Operation::NamePreorder {
                    commitment: *commitment,
                };
                let price = test_terms().price.price(&name.label).units();
                (vec![*coin], op, price)
            })
            .collect(),
    );
    close(node);

    // The preorders on one copy, their plain twins on another.
    let dir_b = copy(&dir_a, "bench-names-b");
    let node = open(&dir_a);
    let parent_root = root(&node);
    let preorder_block = mine_all(&node, &preorders, &payer);
    for c in &commitments {
        let c = *c;
        let record = node
            .read(move |v| v.chain().preorder_record(&c).unwrap())
            .unwrap();
        assert!(record.is_some(), "every preorder is in the name state");
    }
    assert_ne!(root(&node), parent_root);
    let preorder_outputs: Vec<(OutPoint, Coin)> = preorders
        .iter()
        .map(|tx| {
            let o = OutPoint {
                txid: tx.txid(),
                vout: 0,
            };
            (o, node.coin(&o).unwrap())
        })
        .collect();
    close(node);
    // The preorder block at the tip, for its measurement.
    let dir_p = copy(&dir_a, "bench-names-p");
    // The reveals may come this many blocks after their preorders.
    let node = open(&dir_a);
    let depth = params.naming.preorder_min_depth.saturating_sub(1);
    node.generate(depth, address(&payer)).unwrap();
    close(node);
    let node = open(&dir_b);
    let plain_preorder_block = mine_all(&node, &plain_preorders, &payer);
    assert_eq!(root(&node), parent_root, "no name operation in the twin");
    close(node);

    // The registers, and their plain twins spending the same coins.
    let (registers, plain_registers) = operations_and_twins(
        &params,
        &payer,
        &owner,
        names
            .iter()
            .zip(register_coins.iter().zip(&preorder_outputs))
            .map(|(name, (coin, preorder_output))| {
                let zone = ZoneFileHash(Sha256::digest(format!("$ORIGIN {name}\n")).into());
                let op = Operation::NameRegister {
                    name: name.clone(),
                    salt,
                    zone_file: Some(zone),
                };
                (vec![*coin, *preorder_output], op, 0)
            })
            .collect(),
    );
    let dir_c = copy(&dir_a, "bench-names-c");
    let node = open(&dir_a);
    let parent_root = root(&node);
    let register_block = mine_all(&node, &registers, &payer);
    for name in &names {
        let name = name.clone();
        let record = node
            .read(move |v| v.chain().name_record(&name).unwrap())
            .unwrap()
            .expect("every name is registered");
        assert_eq!(record.owner, owner_address(&owner));
    }
    assert_ne!(root(&node), parent_root);
    close(node);
    let node = open(&dir_c);
    let plain_register_block = mine_all(&node, &plain_registers, &payer);
    assert_eq!(root(&node), parent_root, "no name operation in the twin");
    let first = names[0].clone();
    let absent = node
        .read(move |v| v.chain().name_record(&first).unwrap())
        .unwrap();
    assert!(absent.is_none());
    close(node);

    vec![
        Measured::open("preorders", dir_p, preorder_block),
        Measured::open("plain_like_preorders", dir_b, plain_preorder_block),
        Measured::open("registers", dir_a, register_block),
        Measured::open("plain_like_registers", dir_c, plain_register_block),
    ]
}

fn physical(c: &mut Criterion) {
    let mut g = c.benchmark_group("physical");
    g.throughput(Throughput::Elements(1));
    probes::ed25519(&mut g);
    g.finish();
}

fn names_1000(c: &mut Criterion) {
    let mut blocks = build();
    let mut g = c.benchmark_group("names_1000");
    g.sample_size(10);
    // Each iteration is long and needs an untimed setup: the same number per sample.
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    for m in &mut blocks {
        let Measured {
            label,
            state: st,
            block,
            ..
        } = m;
        g.bench_function(format!("connect/{label}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    disconnect_and_flush(st, block);
                    let started = Instant::now();
                    st.reconsider_block(block).unwrap();
                    total += started.elapsed();
                    assert_eq!(st.tip().1, *block);
                    assert_eq!(st.cache_usage().blocks, 1, "no flush in the timed part");
                }
                total
            })
        });
        g.bench_function(format!("flush/{label}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    disconnect_and_flush(st, block);
                    st.reconsider_block(block).unwrap();
                    let started = Instant::now();
                    st.flush().unwrap();
                    total += started.elapsed();
                    assert_eq!(st.cache_usage().blocks, 0);
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, physical, names_1000);
criterion_main!(benches);
