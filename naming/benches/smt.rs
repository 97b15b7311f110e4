//! The name-state tree at 10^6 names (`BENCH_NAMES` to change it): proof size, proof
//! verification and construction, and a block's worth of updates, each next to the raw
//! SHA-256 rate measured in the same run (see BENCHMARKS.md for the ratios). The sizes
//! and depths are written to stderr once, before criterion's figures.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use naming::{
    Height, LeafChange, MemoryStore, Name, NameRecord, OwnerAddress, Proof, StateKey, StateRoot,
    TxId, ZoneFileHash, prove, update, value_hash, verify,
};
use sha2::{Digest, Sha256};

/// Proofs kept for the verify loops (cycled, so no single path stays in cache).
const SAMPLE: usize = 4096;

struct State {
    store: MemoryStore,
    root: StateRoot,
    names: usize,
    members: Vec<(StateKey, Vec<u8>, Proof)>,
    absent: Vec<(StateKey, Proof)>,
}

fn name(i: usize) -> Name {
    format!("n{i}.id").parse().unwrap()
}

/// A name record as registration makes it, with a zone file (111 bytes).
fn record(i: usize) -> Vec<u8> {
    let mut owner = [0u8; 32];
    owner[..8].copy_from_slice(&(i as u64).to_le_bytes());
    NameRecord {
        owner: OwnerAddress(owner),
        zone_file: Some(ZoneFileHash(owner)),
        registered_at: Height(1000),
        expires_at: Height(53_000),
        grace_ends_at: Height(58_000),
        revoked: false,
        last_txid: TxId(owner),
    }
    .encode()
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let names: usize = std::env::var("BENCH_NAMES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let mut store = MemoryStore::new();
        let started = Instant::now();
        let changes: Vec<LeafChange> = (0..names)
            .map(|i| LeafChange {
                key: StateKey::name(&name(i)),
                before: None,
                after: Some(value_hash(&record(i))),
            })
            .collect();
        let keyed = started.elapsed();
        for chunk in changes.chunks(100_000) {
            store.apply(chunk).unwrap();
        }
        let built = started.elapsed();
        let root = store.root();
        let step = (names / SAMPLE).max(1);
        let members: Vec<_> = (0..names)
            .step_by(step)
            .take(SAMPLE)
            .map(|i| {
                let key = StateKey::name(&name(i));
                (key, record(i), prove(&store, &key).unwrap())
            })
            .collect();
        let absent: Vec<_> = (0..SAMPLE)
            .map(|i| {
                let key = StateKey::name(&format!("absent{i}.id").parse().unwrap());
                (key, prove(&store, &key).unwrap())
            })
            .collect();
        let mut err = std::io::stderr();
        writeln!(
            err,
            "state: {names} names, {} nodes; keys and records in {:.2?}, tree in {:.2?}",
            store.len(),
            keyed,
            built - keyed
        )
        .unwrap();
        for (what, proofs) in [
            ("member", members.iter().map(|m| &m.2).collect::<Vec<_>>()),
            ("absent", absent.iter().map(|a| &a.1).collect::<Vec<_>>()),
        ] {
            let sizes: Vec<usize> = proofs.iter().map(|p| p.encode().len()).collect();
            let depths: Vec<usize> = proofs.iter().map(|p| p.siblings().len()).collect();
            let empty: usize = proofs
                .iter()
                .map(|p| {
                    p.siblings()
                        .iter()
                        .filter(|s| **s == naming::EMPTY_SUBTREE)
                        .count()
                })
                .sum();
            let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len() as f64;
            let neighbours = proofs
                .iter()
                .filter(|p| matches!(p.terminal(), naming::Terminal::Neighbour { .. }))
                .count();
            writeln!(
                err,
                "{what} proofs ({}): bytes mean {:.1} max {}; siblings mean {:.2} max {} \
                 (empty {:.2} per proof); ending at a neighbour leaf: {neighbours}",
                proofs.len(),
                mean(&sizes),
                sizes.iter().max().unwrap(),
                mean(&depths),
                depths.iter().max().unwrap(),
                empty as f64 / proofs.len() as f64,
            )
            .unwrap();
        }
        State {
            store,
            root,
            names,
            members,
            absent,
        }
    })
}

/// The physical limit: SHA-256 of a 65-byte node or leaf preimage and of a 111-byte
/// name record (two compression blocks each).
fn raw_sha256(c: &mut Criterion) {
    let mut g = c.benchmark_group("raw_sha256");
    g.throughput(Throughput::Elements(1));
    let node = [7u8; 65];
    g.bench_function("node_65B", |b| b.iter(|| Sha256::digest(black_box(node))));
    let rec = record(7);
    assert_eq!(rec.len(), 111);
    g.bench_function("record_111B", |b| {
        b.iter(|| Sha256::digest(black_box(&rec)))
    });
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let s = state();
    let mut g = c.benchmark_group(format!("proof_{}", s.names));
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("verify_member", |b| {
        b.iter(|| {
            i = (i + 1) % s.members.len();
            let (key, rec, proof) = &s.members[i];
            verify(&s.root, key, Some(rec), proof).unwrap()
        })
    });
    let mut i = 0;
    g.bench_function("verify_absent", |b| {
        b.iter(|| {
            i = (i + 1) % s.absent.len();
            let (key, proof) = &s.absent[i];
            verify(&s.root, key, None, proof).unwrap()
        })
    });
    let wire: Vec<Vec<u8>> = s.members.iter().map(|m| m.2.encode()).collect();
    let mut i = 0;
    g.bench_function("decode_and_verify_member", |b| {
        b.iter(|| {
            i = (i + 1) % s.members.len();
            let (key, rec, _) = &s.members[i];
            let proof = Proof::decode(&wire[i]).unwrap();
            verify(&s.root, key, Some(rec), &proof).unwrap()
        })
    });
    let mut i = 0;
    g.bench_function("prove_member", |b| {
        b.iter(|| {
            i = (i + 1) % s.members.len();
            black_box(prove(&s.store, &s.members[i].0).unwrap())
        })
    });
    g.finish();
}

/// A block's worth of name changes (1,000 records rewritten): the new root and the
/// node writes, not written.
fn updates(c: &mut Criterion) {
    let s = state();
    let changes: Vec<LeafChange> = (0..1000)
        .map(|j| {
            let i = j * (s.names / 1000).max(1) % s.names;
            LeafChange {
                key: StateKey::name(&name(i)),
                before: Some(value_hash(&record(i))),
                after: Some(value_hash(&record(i + 1))),
            }
        })
        .collect();
    let mut g = c.benchmark_group(format!("update_{}", s.names));
    g.throughput(Throughput::Elements(1000));
    g.bench_function("block_of_1000_changes", |b| {
        b.iter(|| black_box(update(&s.store, &changes).unwrap().root))
    });
    g.finish();
}

criterion_group!(benches, raw_sha256, proofs, updates);
criterion_main!(benches);
