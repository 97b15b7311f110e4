//! Benchmarks of the chain node, each next to a physical limit measured in the same run:
//! raw double SHA-256 of an 80-byte header, raw SHA-256 of a whole transaction, raw
//! Ed25519 verification (the ZIP-215 single check and `ed25519-zebra`'s batch of 2,000),
//! and fsync.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chain_node::miner::HeaderHasher;
use chain_node::signature::{SigCheck, SigMode, verify_all, verify_batch};
use chain_node::validation::{Coin, check_inputs, connect_block};
use chain_node::{
    Address, Amount, Block, BlockHash, Height, MAX_TX_SIZE, Network, Node, NodeConfig, OutPoint,
    Transaction, TxIn, TxInputs, TxOut, TxSighash, sha256d,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::{TryCryptoRng, TryRng};

#[path = "../tests/it/largest_tx.rs"]
mod largest_tx;

const SIGS: usize = 2_000;

fn key(seed: u64) -> SigningKey {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b[8] = 1;
    SigningKey::from_bytes(&b)
}

fn address(k: &SigningKey) -> Address {
    Address::from_pubkey(&k.verifying_key().to_bytes())
}

/// A fixed directory per benchmark, emptied first (benchmarks do not run concurrently).
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chain-node-bench-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn node(name: &str) -> Arc<Node> {
    let mut cfg = NodeConfig::new(Network::Regtest, temp_dir(name));
    cfg.mining_threads = 1;
    Node::open(cfg).unwrap()
}

fn sign_spend(
    node: &Node,
    inputs: &[(OutPoint, Amount)],
    k: &SigningKey,
    outputs: Vec<TxOut>,
) -> Transaction {
    let mut tx = Transaction {
        version: 1,
        inputs: TxInputs::Spend(
            inputs
                .iter()
                .map(|(prevout, _)| TxIn {
                    prevout: *prevout,
                    pubkey: [0; 32],
                    signature: [0; 64],
                })
                .collect(),
        ),
        outputs,
    };
    let keys = vec![k.clone(); inputs.len()];
    let amounts: Vec<Amount> = inputs.iter().map(|(_, a)| *a).collect();
    tx.sign(&node.params().genesis_hash(), &keys, &amounts);
    tx
}

/// Mines 101 blocks to `k` and fans the first coinbase out into `n` outputs, confirmed.
fn fan_out(node: &Node, k: &SigningKey, n: usize) -> Vec<(OutPoint, Amount)> {
    node.generate(101, address(k)).unwrap();
    let (op, coin) = {
        let st = node.lock();
        let b = st
            .chain
            .block(&st.chain.hash_at(Height(1)).unwrap())
            .unwrap()
            .unwrap();
        let op = OutPoint {
            txid: b.txs[0].txid(),
            vout: 0,
        };
        let coin: Coin = st.chain.coin(&op).unwrap().unwrap();
        (op, coin)
    };
    let each = (coin.amount.units() - 1_000_000) / n as u64;
    let outs = (0..n)
        .map(|_| TxOut::pay(Amount::from_units(each), address(k)))
        .collect();
    let tx = sign_spend(node, &[(op, coin.amount)], k, outs);
    let txid = tx.txid();
    node.submit_transaction(tx).unwrap();
    node.generate(1, address(k)).unwrap();
    (0..n as u32)
        .map(|vout| (OutPoint { txid, vout }, Amount::from_units(each)))
        .collect()
}

/// SplitMix64: not a secure source, only the cheapest coefficients a batch can be fed, so
/// that the raw batch figure is a floor.
struct CheapCoefficients(u64);

impl TryRng for CheapCoefficients {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.try_next_u64()? as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let n = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&n[..chunk.len()]);
        }
        Ok(())
    }
}

impl TryCryptoRng for CheapCoefficients {}

/// `ed25519-zebra`'s batch over `checks`, as the library offers it.
fn raw_zebra_batch(checks: &[SigCheck]) -> bool {
    let mut batch = ed25519_zebra::batch::Verifier::new();
    for c in checks {
        batch.queue((
            ed25519_zebra::VerificationKeyBytes::from(c.pubkey),
            ed25519_zebra::Signature::from_bytes(&c.signature),
            &c.message[..],
        ));
    }
    batch.verify(CheapCoefficients(1)).is_ok()
}

fn physical(c: &mut Criterion) {
    let mut g = c.benchmark_group("physical");
    g.throughput(Throughput::Elements(1));
    let header = Network::Regtest.params().genesis.header;
    let mut bytes = header.to_bytes();
    let mut n: u32 = 0;
    g.bench_function("sha256d_80_byte_header", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            bytes[76..].copy_from_slice(&n.to_le_bytes());
            black_box(sha256d(&bytes))
        })
    });
    let k = key(1);
    let vk: VerifyingKey = k.verifying_key();
    let msg = [7u8; 32];
    let sig: Signature = k.sign(&msg);
    g.bench_function("verify_strict", |b| {
        b.iter(|| black_box(vk.verify_strict(&msg, &sig)).is_ok())
    });
    let zk = ed25519_zebra::VerificationKey::try_from(vk.to_bytes()).unwrap();
    let zsig = ed25519_zebra::Signature::from_bytes(&sig.to_bytes());
    g.bench_function("zip215_verify", |b| {
        b.iter(|| black_box(zk.verify(&zsig, &msg)).is_ok())
    });
    let dir = temp_dir("fsync");
    let mut f = std::fs::File::create(dir.join("probe")).unwrap();
    g.bench_function("fsync_1_byte_write", |b| {
        b.iter(|| {
            f.write_all(b"x").unwrap();
            f.sync_data().unwrap();
        })
    });
    g.finish();
}

/// 2,000 valid signatures by distinct keys.
fn sig_checks() -> Vec<SigCheck> {
    (0..SIGS as u64)
        .map(|i| {
            let k = key(i + 10);
            let mut message = [0u8; 32];
            message[..8].copy_from_slice(&i.to_le_bytes());
            SigCheck {
                pubkey: k.verifying_key().to_bytes(),
                signature: k.sign(&message).to_bytes(),
                message,
            }
        })
        .collect()
}

fn signatures(c: &mut Criterion) {
    let checks = sig_checks();
    let keys: Vec<VerifyingKey> = checks
        .iter()
        .map(|c| VerifyingKey::from_bytes(&c.pubkey).unwrap())
        .collect();
    let sigs: Vec<Signature> = checks
        .iter()
        .map(|c| Signature::from_bytes(&c.signature))
        .collect();
    let msgs: Vec<&[u8]> = checks.iter().map(|c| &c.message[..]).collect();
    let mut g = c.benchmark_group("signatures_2000");
    g.throughput(Throughput::Elements(SIGS as u64));
    g.sample_size(10);
    g.bench_function("raw_verify_strict_loop", |b| {
        b.iter(|| {
            for ((k, s), m) in keys.iter().zip(&sigs).zip(&msgs) {
                assert!(k.verify_strict(m, s).is_ok());
            }
        })
    });
    g.bench_function("raw_verify_batch", |b| {
        b.iter(|| assert!(ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok()))
    });
    g.bench_function("raw_zebra_batch", |b| {
        b.iter(|| assert!(raw_zebra_batch(&checks)))
    });
    for threads in [1, 2] {
        g.bench_function(format!("single_{threads}_thread"), |b| {
            b.iter(|| assert!(verify_all(&checks, SigMode::Strict { threads }).is_ok()))
        });
        g.bench_function(format!("batch_{threads}_thread"), |b| {
            b.iter(|| assert!(verify_all(&checks, SigMode::Batch { threads }).is_ok()))
        });
    }
    g.finish();

    // Where a batch starts to pay: per-signature cost of one batch against single checks.
    let mut g = c.benchmark_group("signatures_small");
    g.sample_size(20);
    for n in [1usize, 2, 4, 8, 16, 64, 256] {
        let part = &checks[..n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("single_{n}"), |b| {
            b.iter(|| assert!(verify_all(part, SigMode::Strict { threads: 1 }).is_ok()))
        });
        g.bench_function(format!("batch_{n}"), |b| {
            b.iter(|| assert!(verify_batch(part).is_ok()))
        });
    }
    g.finish();
}

/// The signature digests of the largest transaction (757 inputs), against one raw
/// SHA-256 pass over its encoding, and against the earlier rule that hashed the whole
/// unsigned transaction once per input.
fn sighash(c: &mut Criterion) {
    use sha2::{Digest, Sha256};
    let n = largest_tx::INPUTS;
    let (tx, view) = largest_tx::largest_spend(key(1).verifying_key().to_bytes());
    let bytes = tx.to_bytes();
    assert!(bytes.len() <= MAX_TX_SIZE);
    let chain_id = Network::Regtest.params().genesis_hash();
    let amounts: Vec<Amount> = (0..n)
        .map(|i| Amount::from_units(1_000 + u64::from(i)))
        .collect();
    let mut g = c.benchmark_group("sighash_757_inputs");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("raw_sha256_of_the_encoding", |b| {
        b.iter(|| black_box(Sha256::digest(&bytes)))
    });
    g.bench_function("tx_sighash_all_inputs", |b| {
        b.iter(|| {
            let shared = TxSighash::new(&tx, &chain_id, &amounts);
            for i in 0..n {
                black_box(shared.input(i));
            }
        })
    });
    g.bench_function("check_inputs", |b| {
        b.iter(|| black_box(check_inputs(&tx, &view, Height(200), &chain_id).unwrap()))
    });
    // The v1 rule, for comparison: the unsigned transaction hashed once per input.
    let mut unsigned = bytes.clone();
    unsigned.truncate(bytes.len() - 64 * n as usize);
    g.sample_size(10);
    g.bench_function("per_input_rehash_v1", |b| {
        b.iter(|| {
            for i in 0..n {
                let mut h = Sha256::new();
                h.update(b"chain-node/sighash/v1");
                h.update(chain_id.as_bytes());
                h.update(i.to_le_bytes());
                h.update(&unsigned);
                h.update(u64::from(n).to_le_bytes());
                for a in &amounts {
                    h.update(a.units().to_le_bytes());
                }
                black_box(h.finalize());
            }
        })
    });
    g.finish();
}

fn mining(c: &mut Criterion) {
    let mut g = c.benchmark_group("mining");
    g.throughput(Throughput::Elements(1));
    let header = Network::Regtest.params().genesis.header;
    let mut hasher = HeaderHasher::new(&header);
    let mut n: u32 = 0;
    g.bench_function("header_hasher_one_thread", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            black_box(hasher.hash(n))
        })
    });
    g.finish();
}

fn chain(c: &mut Criterion) {
    let mut g = c.benchmark_group("chain");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));

    let miner = key(500);
    g.bench_function("generatetoaddress_101", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let n = node(&format!("gen-{i}"));
                let started = Instant::now();
                n.generate(101, address(&miner)).unwrap();
                total += started.elapsed();
            }
            total
        })
    });

    // A block of 2,000 one-input transactions, connected (signatures, UTXO batch, fsync),
    // with the node's default signature mode (batches on every core).
    let n = node("connect");
    let coins = fan_out(&n, &miner, SIGS);
    for (op, amount) in &coins {
        let tx = sign_spend(
            &n,
            &[(*op, *amount)],
            &miner,
            vec![TxOut::pay(
                Amount::from_units(amount.units() - 10_000),
                address(&key(501)),
            )],
        );
        n.submit_transaction(tx).unwrap();
    }
    let big: BlockHash = n.generate(1, address(&miner)).unwrap()[0];
    let block: Block = n.lock().chain.block(&big).unwrap().unwrap();
    assert_eq!(block.txs.len(), SIGS + 1);
    // The batch floor again, right next to the connects, for a ratio under the same load.
    let checks = sig_checks();
    g.bench_function("raw_zebra_batch_2000", |b| {
        b.iter(|| assert!(raw_zebra_batch(&checks)))
    });
    g.bench_function("connect_block_2000_tx", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n.lock().chain.invalidate_block(&big).unwrap();
                let mut st = n.lock();
                let started = Instant::now();
                st.chain.reconsider_block(&big).unwrap();
                total += started.elapsed();
                assert_eq!(st.chain.tip().1, big);
            }
            total
        })
    });

    // The same block through the consensus rules alone (no storage), on an in-memory view
    // of the coins it spends.
    let (height, view) = {
        let mut st = n.lock();
        let height = st.chain.tip().0;
        st.chain.invalidate_block(&big).unwrap();
        let view: HashMap<OutPoint, Coin> = block
            .txs
            .iter()
            .flat_map(Transaction::spends)
            .map(|i| (i.prevout, st.chain.coin(&i.prevout).unwrap().unwrap()))
            .collect();
        st.chain.reconsider_block(&big).unwrap();
        (height, view)
    };
    let params = n.params().clone();
    g.bench_function("connect_block_2000_tx_rules_only", |b| {
        b.iter(|| connect_block(&block, height, &view, &params, SigMode::default()).unwrap())
    });

    // A 10-block reorg each way, with 200 transactions returning to the mempool.
    let r = node("reorg");
    let coins = fan_out(&r, &miner, 200);
    let a = r.generate(10, address(&key(502))).unwrap();
    r.invalidate_block(&a[0]).unwrap();
    for (op, amount) in &coins {
        let tx = sign_spend(
            &r,
            &[(*op, *amount)],
            &miner,
            vec![TxOut::pay(
                Amount::from_units(amount.units() - 10_000),
                address(&key(503)),
            )],
        );
        r.submit_transaction(tx).unwrap();
    }
    let bb = r.generate(11, address(&key(504))).unwrap();
    r.reconsider_block(&a[0]).unwrap();
    assert_eq!(r.lock().chain.tip().1, bb[10]);
    g.bench_function("reorg_10_blocks_with_mempool_resync", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                r.invalidate_block(&bb[0]).unwrap();
                assert_eq!(r.lock().mempool.len(), 200);
                r.reconsider_block(&bb[0]).unwrap();
                assert!(r.lock().mempool.is_empty());
            }
            // Two reorgs per iteration.
            started.elapsed() / 2
        })
    });
    g.finish();
}

criterion_group!(benches, physical, signatures, sighash, mining, chain);
criterion_main!(benches);
