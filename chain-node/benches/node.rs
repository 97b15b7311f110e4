//! Benchmarks of the chain node, each next to a physical limit measured in the same run:
//! raw double SHA-256 of an 80-byte header, raw SHA-256 of a whole transaction, raw
//! Ed25519 verification (the ZIP-215 single check and `ed25519-zebra`'s batch of 2,000),
//! and fsync. The `chain/*` connects go through the coins cache; its flushes are measured
//! on their own and amortized over several blocks.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chain_node::miner::HeaderHasher;
use chain_node::signature::{SigCheck, SigMode, verify_all, verify_batch};
use chain_node::validation::{Coin, check_inputs, connect_block};
use chain_node::{
    Amount, Block, BlockHash, CacheConfig, ChainState, Height, MAX_TX_SIZE, Network, Node,
    NodeConfig, OutPoint, Transaction, TxOut, TxSighash,
};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use rand_core::{TryCryptoRng, TryRng};

#[path = "common/blocks.rs"]
mod blocks;
#[path = "../tests/it/largest_tx.rs"]
mod largest_tx;
#[path = "common/probes.rs"]
mod probes;
#[path = "common/stores.rs"]
mod stores;

use blocks::{address, block, fan_out, fan_out_many, key, mine_spends, sign_spend};
use stores::{bench_cache, disconnect_and_flush};

const SIGS: usize = 2_000;

/// A fixed directory per benchmark, emptied first (benchmarks do not run concurrently).
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chain-node-bench-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn node(name: &str) -> Node {
    let mut cfg = NodeConfig::new(Network::Regtest, temp_dir(name));
    cfg.mining_threads = 1;
    cfg.cache = bench_cache();
    Node::open(cfg).unwrap()
}

/// Shuts `node` down and opens its chain state directly, for the benchmarks of the
/// chain state alone (no mempool, no events).
fn chain_of(node: Node) -> ChainState {
    let dir = node.config().data_dir.join("chain");
    node.shutdown().unwrap();
    drop(node);
    ChainState::open_with(&dir, Network::Regtest.params(), bench_cache()).unwrap()
}

fn pool_len(node: &Node) -> usize {
    node.read(|v| v.mempool().len()).unwrap()
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
    probes::sha256d_header(&mut g);
    probes::ed25519(&mut g);
    probes::fsync(&mut g, &temp_dir("fsync"));
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

/// Blocks in a row for the amortized connect-and-flush benchmarks.
const ROW: usize = 5;

fn chain(c: &mut Criterion) {
    let mut g = c.benchmark_group("chain");
    g.sample_size(10);
    // Each iteration is long and needs an untimed setup: the same number per sample.
    g.sampling_mode(SamplingMode::Flat);
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

    // A block of 2,000 one-input transactions, connected through the coins cache
    // (signatures, coins read from sled, the cache updated), with the node's default
    // signature mode (batches on every core).
    let n = node("connect");
    let coins = fan_out(&n, &miner, SIGS);
    let (big, _) = mine_spends(&n, &miner, &coins, &key(501));
    let block: Block = block(&n, &big);
    let mut st = chain_of(n);
    assert_eq!(block.txs.len(), SIGS + 1);
    // The batch floor again, right next to the connects, for a ratio under the same load.
    let checks = sig_checks();
    g.bench_function("raw_zebra_batch_2000", |b| {
        b.iter(|| assert!(raw_zebra_batch(&checks)))
    });
    // Coins on disk: before each connect the block is disconnected and the cache written,
    // so every spent coin is read from sled (the cold case).
    g.bench_function("connect_block_2000_tx", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                disconnect_and_flush(&mut st, &big);
                let started = Instant::now();
                st.reconsider_block(&big).unwrap();
                total += started.elapsed();
                assert_eq!(st.tip().1, big);
                assert_eq!(st.cache_usage().blocks, 1, "no flush in the timed part");
            }
            total
        })
    });
    // Coins in the cache: the disconnect restored them there and nothing was written.
    g.bench_function("connect_block_2000_tx_coins_cached", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                disconnect_and_flush(&mut st, &big);
                st.reconsider_block(&big).unwrap();
                st.invalidate_block(&big).unwrap();
                let started = Instant::now();
                st.reconsider_block(&big).unwrap();
                total += started.elapsed();
                assert_eq!(st.tip().1, big);
            }
            total
        })
    });
    // The flush of that block's changes on its own: one sled batch (2,000 coins spent,
    // 2,001 created, each with its address-index key; 2,000 saved-mempool removals; undo
    // data; height; tip marker), then sled's flush.
    g.bench_function("flush_block_2000_tx", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                disconnect_and_flush(&mut st, &big);
                st.reconsider_block(&big).unwrap();
                let started = Instant::now();
                st.flush().unwrap();
                total += started.elapsed();
                assert_eq!(st.cache_usage().blocks, 0);
            }
            total
        })
    });

    // The same block through the consensus rules alone (no storage), on an in-memory view
    // of the coins it spends.
    let (height, view) = {
        let height = st.tip().0;
        st.invalidate_block(&big).unwrap();
        let view: HashMap<OutPoint, Coin> = block
            .txs
            .iter()
            .flat_map(Transaction::spends)
            .map(|i| (i.prevout, st.coin(&i.prevout).unwrap().unwrap()))
            .collect();
        st.reconsider_block(&big).unwrap();
        (height, view)
    };
    let params = st.params().clone();
    let names = naming::MemoryNames::new();
    let ctx = chain_node::validation::ChainContext {
        height,
        time: 0,
        params: &params,
        sig_mode: SigMode::default(),
        coins: &view,
        names: &names,
    };
    g.bench_function("connect_block_2000_tx_rules_only", |b| {
        b.iter(|| connect_block(&block, &ctx).unwrap())
    });

    // Five 2,000-transaction blocks connected in a row, with one flush for all five or a
    // flush after each (what writing every block's changes durably at once costs). In
    // `independent` each block spends coins of its own that are on disk; in `chained`
    // each block spends the coins the previous one created, which the single flush
    // never writes (created and spent between two flushes).
    let m = node("connect-row");
    let sets = fan_out_many(&m, &miner, ROW, SIGS);
    let independent: Vec<BlockHash> = sets
        .iter()
        .zip(601..)
        .map(|(coins, to)| mine_spends(&m, &miner, coins, &key(to)).0)
        .collect();
    let m2 = node("connect-chained");
    let mut coins = fan_out(&m2, &miner, SIGS);
    let mut owner = miner.clone();
    let mut chained = Vec::new();
    for to in 611..611 + ROW as u64 {
        let (hash, created) = mine_spends(&m2, &owner, &coins, &key(to));
        chained.push(hash);
        (coins, owner) = (created, key(to));
    }
    let (mut m, mut m2) = (chain_of(m), chain_of(m2));
    for (shape, st, row) in [
        ("independent", &mut m, &independent),
        ("chained", &mut m2, &chained),
    ] {
        for (flushes, config) in [
            ("flush_once", bench_cache()),
            ("flush_each", CacheConfig::flush_every_block()),
        ] {
            let name = format!("connect_5x2000_tx_{shape}_{flushes}_per_block");
            g.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        disconnect_and_flush(st, &row[0]);
                        st.set_cache_config(config);
                        let started = Instant::now();
                        st.reconsider_block(&row[0]).unwrap();
                        st.flush().unwrap();
                        total += started.elapsed();
                        st.set_cache_config(bench_cache());
                        assert_eq!(st.tip().1, row[ROW - 1]);
                    }
                    total / ROW as u32
                })
            });
        }
    }

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
    assert_eq!(r.tip().unwrap().1, bb[10]);
    g.bench_function("reorg_10_blocks_with_mempool_resync", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                r.invalidate_block(&bb[0]).unwrap();
                assert_eq!(pool_len(&r), 200);
                r.reconsider_block(&bb[0]).unwrap();
                assert_eq!(pool_len(&r), 0);
            }
            // Two reorgs per iteration.
            started.elapsed() / 2
        })
    });
    g.finish();
}

/// Empty blocks, per block: connected through the cache, and submitted.
fn empty_blocks(c: &mut Criterion) {
    let mut g = c.benchmark_group("chain_empty");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(1_000));
    // Empty blocks: the connect rate through the cache (stored blocks, as at the end of a
    // headers-first download; `reconsider_block` writes one status record with a flush
    // first), with and without the one flush that follows them, or with a flush after
    // each block; the replay at open; and the rate of submitting new ones, each stored
    // durably (one fsync per block) first.
    const EMPTY: u32 = 1_000;
    let e = node("connect-empty");
    let empty = e.generate(EMPTY, address(&key(700))).unwrap();
    let empty_blocks: Vec<Block> = empty.iter().map(|h| block(&e, h)).collect();
    let mut st = chain_of(e);
    for (name, config, flush) in [
        ("connect_1000", bench_cache(), false),
        ("connect_1000_and_flush", bench_cache(), true),
        // A batch and a flush per block, as before the cache.
        (
            "connect_1000_flush_each",
            CacheConfig::flush_every_block(),
            false,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    disconnect_and_flush(&mut st, &empty[0]);
                    st.set_cache_config(config);
                    let started = Instant::now();
                    st.reconsider_block(&empty[0]).unwrap();
                    if flush {
                        st.flush().unwrap();
                    }
                    total += started.elapsed();
                    st.set_cache_config(bench_cache());
                    assert_eq!(st.tip().0, Height(EMPTY));
                }
                total
            })
        });
    }
    // Opening a store whose UTXO set is at genesis while its 1,000 blocks are stored:
    // the replay at open after a crash (no write: the state is dropped unflushed).
    let replay = temp_dir("replay-empty");
    {
        let mut state = ChainState::open(&replay, Network::Regtest.params()).unwrap();
        for block in &empty_blocks {
            state.submit_block(block, chain_node::unix_now()).unwrap();
        }
        state.drop_unflushed();
    }
    g.bench_function("replay_1000_at_open", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let state =
                    ChainState::open_with(&replay, Network::Regtest.params(), bench_cache())
                        .unwrap();
                total += started.elapsed();
                assert_eq!(state.tip().0, Height(EMPTY));
                state.drop_unflushed();
            }
            total
        })
    });
    g.bench_function("submit_1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let dir = temp_dir(&format!("submit-empty-{i}"));
                let mut state =
                    ChainState::open_with(&dir, Network::Regtest.params(), bench_cache()).unwrap();
                let started = Instant::now();
                for block in &empty_blocks {
                    state.submit_block(block, chain_node::unix_now()).unwrap();
                }
                total += started.elapsed();
                assert_eq!(state.tip().0, Height(EMPTY));
            }
            total
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    physical,
    signatures,
    sighash,
    mining,
    chain,
    empty_blocks
);
criterion_main!(benches);
