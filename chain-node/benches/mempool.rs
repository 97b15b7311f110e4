//! Benchmarks of the mempool on 5,000 transactions: admission (every rule, one
//! `verify_strict` each) and `select`, next to the raw `verify_strict` rate measured in
//! the same run.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chain_node::mempool::{Mempool, MempoolConfig};
use chain_node::signature::SigMode;
use chain_node::validation::{ChainContext, Coin};
use chain_node::{
    Address, Amount, Height, Network, OutPoint, Params, Transaction, TxId, TxIn, TxInputs, TxOut,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

const POOL: usize = 5_000;
const CHAIN: usize = 25;
const NEXT: Height = Height(2);

fn owner() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn address(k: &SigningKey) -> Address {
    Address::from_pubkey(&k.verifying_key().to_bytes())
}

/// Spends `(outpoint, amount)` into one output to the owner, leaving `fee`.
fn pay(params: &Params, k: &SigningKey, input: (OutPoint, u64), fee: u64) -> Transaction {
    let mut tx = Transaction {
        version: 1,
        inputs: TxInputs::Spend(vec![TxIn {
            prevout: input.0,
            pubkey: [0; 32],
            signature: [0; 64],
        }]),
        outputs: vec![TxOut::pay(Amount::from_units(input.1 - fee), address(k))],
    };
    tx.sign(
        &params.genesis_hash(),
        std::slice::from_ref(k),
        &[Amount::from_units(input.1)],
    );
    tx
}

/// Confirmed coins and the transactions of one workload, parents before children.
struct Workload {
    params: Params,
    view: HashMap<OutPoint, Coin>,
    txs: Vec<Transaction>,
}

/// `POOL / chain_len` chains of `chain_len` transactions each, every one paying a higher
/// fee rate than its parent (`chain_len` 1: independent transactions with varied fees).
fn workload(chain_len: usize) -> Workload {
    let params = Network::Regtest.params();
    let k = owner();
    let mut view = HashMap::new();
    let mut txs = Vec::with_capacity(POOL);
    for c in 0..POOL / chain_len {
        let mut id = [7u8; 32];
        id[..8].copy_from_slice(&(c as u64).to_le_bytes());
        let op = OutPoint {
            txid: TxId(id),
            vout: 0,
        };
        let amount = 1_000_000_000u64;
        view.insert(
            op,
            Coin {
                amount: Amount::from_units(amount),
                address: address(&k),
                height: Height(1),
                is_coinbase: false,
            },
        );
        let mut input = (op, amount);
        for i in 0..chain_len {
            // Rising along the chain; spread across chains.
            let fee = 1_000 + ((c * 7_919) % 5_000) as u64 + 2_000 * i as u64;
            let tx = pay(&params, &k, input, fee);
            input = (
                OutPoint {
                    txid: tx.txid(),
                    vout: 0,
                },
                input.1 - fee,
            );
            txs.push(tx);
        }
    }
    Workload { params, view, txs }
}

fn admit_all(w: &Workload, config: MempoolConfig) -> Mempool {
    let mut pool = Mempool::new(config);
    for tx in &w.txs {
        let names = naming::MemoryNames::new();
        let ctx = ChainContext {
            height: NEXT,
            time: 0,
            params: &w.params,
            sig_mode: SigMode::Strict { threads: 1 },
            coins: &w.view,
            names: &names,
        };
        pool.accept(tx.clone(), &ctx).unwrap();
    }
    pool
}

fn physical(c: &mut Criterion) {
    let mut g = c.benchmark_group("physical");
    g.throughput(Throughput::Elements(1));
    let k = owner();
    let vk: VerifyingKey = k.verifying_key();
    let msg = [7u8; 32];
    let sig: Signature = k.sign(&msg);
    g.bench_function("verify_strict", |b| {
        b.iter(|| black_box(vk.verify_strict(&msg, &sig)).is_ok())
    });
    g.finish();
}

fn mempool(c: &mut Criterion) {
    let independent = workload(1);
    let chains = workload(CHAIN);
    let mut g = c.benchmark_group("mempool_5000");
    g.sample_size(10);
    g.throughput(Throughput::Elements(POOL as u64));
    for (name, w) in [
        ("independent", &independent),
        ("chains_of_25_rising", &chains),
    ] {
        g.bench_function(format!("admit/{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let pool = admit_all(w, MempoolConfig::default());
                    total += started.elapsed();
                    assert_eq!(pool.len(), POOL);
                }
                total
            })
        });
        let pool = admit_all(w, MempoolConfig::default());
        g.bench_function(format!("select/{name}"), |b| {
            b.iter(|| {
                let (txs, _) = pool.select(usize::MAX);
                assert_eq!(txs.len(), POOL);
            })
        });
    }
    // A pool with room for half: every admission past the first 2,500 evicts.
    let size = independent.txs[0].size();
    let half = MempoolConfig {
        max_bytes: size * POOL / 2,
        ..MempoolConfig::default()
    };
    let mut by_fee: Vec<Transaction> = independent.txs.clone();
    // Rising fees, so that each newcomer beats the lowest.
    by_fee.sort_by_key(|tx| u64::MAX - tx.outputs[0].amount.units());
    let rising = Workload {
        params: independent.params.clone(),
        view: independent.view.clone(),
        txs: by_fee,
    };
    g.bench_function("admit/independent_into_a_pool_half_the_size", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let pool = admit_all(&rising, half);
                total += started.elapsed();
                assert!(pool.len() <= POOL / 2);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, physical, mempool);
criterion_main!(benches);
