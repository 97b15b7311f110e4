//! Benchmarks of headers first and of chain selection as the index grows, each next to
//! a physical limit measured in the same run (raw double SHA-256 of an 80-byte header,
//! a 1-byte write + fsync):
//!
//! - `headers/accept_2000_headers`: one full `headers` answer accepted into a fresh
//!   regtest index (every header hashed, checked and stored in one batch);
//! - `growth/submit_empty_block_index_{100,10000}`: one empty block stored and
//!   connected on a chain of 100 and of 10,000 blocks; equal figures show that the
//!   per-block work does not grow with the index;
//! - `growth/reindex_{1000,10000}_empty_blocks`: 1,000 and 10,000 stored empty blocks
//!   connected again, streamed from the store one at a time (`_connects_only`: the
//!   connect loop alone, without the deletion before and the flush after); equal rates
//!   per block show the same.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chain_node::pow::Target;
use chain_node::{
    Address, Amount, Block, COIN, CacheConfig, ChainState, Header, Height, Network, Params,
    Transaction, TxOut, merkle_root,
};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

#[path = "common/probes.rs"]
mod probes;

/// A clock far ahead of every block.
const NOW: u64 = 1_764_000_000 + 100_000_000;

/// A fixed directory per benchmark, emptied first (benchmarks do not run concurrently).
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chain-node-bench-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn solve(mut header: Header) -> Header {
    let target = Target::from_compact(header.bits).unwrap();
    while !target.is_met_by(&header.hash()) {
        header.nonce += 1;
    }
    header
}

/// The empty regtest block at `height` on `prev`.
fn empty_block(params: &Params, prev: &Header, height: u32) -> Block {
    let subsidy = (50 * COIN) >> (height / params.halving_interval).min(63);
    let coinbase = Transaction::coinbase(
        Height(height),
        Vec::new(),
        vec![TxOut::pay(Amount::from_units(subsidy), Address([1; 32]))],
    );
    let header = solve(Header {
        version: 1,
        prev: prev.hash(),
        merkle_root: merkle_root(&[coinbase.wtxid()]),
        time: prev.time + 60,
        bits: params.pow_limit,
        nonce: 0,
    });
    Block {
        header,
        txs: vec![coinbase],
    }
}

fn physical(c: &mut Criterion) {
    let mut g = c.benchmark_group("physical");
    g.throughput(Throughput::Elements(1));
    probes::sha256d_header(&mut g);
    probes::fsync(&mut g, &temp_dir("headers-fsync"));
    g.finish();
}

fn headers(c: &mut Criterion) {
    let params = Network::Regtest.params();
    let mut chain = Vec::with_capacity(2000);
    let mut prev = params.genesis.header;
    for i in 0..2000u32 {
        let h = solve(Header {
            version: 1,
            prev: prev.hash(),
            merkle_root: [(i % 251) as u8; 32],
            time: prev.time + 60,
            bits: params.pow_limit,
            nonce: 0,
        });
        chain.push(h);
        prev = h;
    }
    let mut g = c.benchmark_group("headers");
    g.throughput(Throughput::Elements(2000));
    g.sample_size(20);
    g.bench_function("accept_2000_headers", |b| {
        b.iter_batched(
            || ChainState::open_temporary(params.clone()).unwrap(),
            |mut state| {
                state.accept_headers(&chain, NOW).unwrap();
                state
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// A chain state in `name` with `n` empty blocks, and the tip header.
fn chain_of(name: &str, n: u32) -> (ChainState, Header, u32) {
    let params = Network::Regtest.params();
    let cache = CacheConfig {
        max_age: Duration::from_secs(24 * 3600),
        ..CacheConfig::default()
    };
    let mut state = ChainState::open_with(&temp_dir(name), params.clone(), cache).unwrap();
    let mut prev = params.genesis.header;
    for height in 1..=n {
        let b = empty_block(&params, &prev, height);
        state.submit_block(&b, NOW).unwrap();
        prev = b.header;
    }
    (state, prev, n)
}

fn growth(c: &mut Criterion) {
    let params = Network::Regtest.params();
    let mut g = c.benchmark_group("growth");
    g.throughput(Throughput::Elements(1));
    for n in [100u32, 10_000] {
        let (mut state, mut prev, mut height) = chain_of(&format!("growth-{n}"), n);
        g.bench_function(format!("submit_empty_block_index_{n}"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    height += 1;
                    let block = empty_block(&params, &prev, height);
                    let start = Instant::now();
                    state.submit_block(&block, NOW).unwrap();
                    spent += start.elapsed();
                    prev = block.header;
                }
                spent
            })
        });
    }
    g.sample_size(10);
    for n in [1_000u32, 10_000] {
        let name = format!("growth-reindex-{n}");
        let (state, _, _) = chain_of(&name, n);
        drop(state);
        g.throughput(Throughput::Elements(u64::from(n)));
        let dir = std::env::temp_dir().join(format!("chain-node-bench-{name}"));
        g.bench_function(format!("reindex_{n}_empty_blocks"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let mut state = ChainState::open_for_reindex(&dir, params.clone()).unwrap();
                    let start = Instant::now();
                    state.reindex(|_, _| {}).unwrap();
                    spent += start.elapsed();
                }
                spent
            })
        });
        // The connects alone: from block 1 connected to block n - 1 connected, leaving
        // out the deletion of the derived records before and the flush at the end.
        g.throughput(Throughput::Elements(u64::from(n - 2)));
        g.bench_function(format!("reindex_{n}_connects_only"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let mut state = ChainState::open_for_reindex(&dir, params.clone()).unwrap();
                    let mut first = None;
                    let mut last = None;
                    state
                        .reindex(|height, _| {
                            if height.0 == 1 {
                                first = Some(Instant::now());
                            }
                            if height.0 == n - 1 {
                                last = Some(Instant::now());
                            }
                        })
                        .unwrap();
                    spent += last.unwrap() - first.unwrap();
                }
                spent
            })
        });
    }
    g.finish();
}

criterion_group!(benches, physical, headers, growth);
criterion_main!(benches);
