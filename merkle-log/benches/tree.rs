//! Criterion benches of the Merkle core, each next to the raw SHA-256 rate measured
//! in the same run (see BENCHMARKS.md for the ratios).

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::convert::Infallible;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use merkle_log::{
    CompactRange, Hash, MemoryStore, NodeId, NodeStore, Tree, verify_consistency, verify_inclusion,
};
use sha2::{Digest, Sha256};

/// The physical limit: one SHA-256 compression of a 65-byte node preimage and of a
/// 33-byte leaf preimage, the two hashes an appended entry costs.
fn raw_sha256(c: &mut Criterion) {
    let mut g = c.benchmark_group("raw_sha256");
    g.throughput(Throughput::Elements(1));
    let node = [7u8; 65];
    g.bench_function("node_65B", |b| b.iter(|| Sha256::digest(black_box(node))));
    let leaf = [7u8; 33];
    g.bench_function("leaf_33B", |b| b.iter(|| Sha256::digest(black_box(leaf))));
    g.finish();
}

/// Appending 2^16 entries: leaf hash plus about one node hash each.
fn append(c: &mut Criterion) {
    const N: u64 = 1 << 16;
    let entries: Vec<[u8; 8]> = (0..N).map(u64::to_be_bytes).collect();
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(N));
    g.bench_function("entries_compact_range", |b| {
        b.iter(|| {
            let mut range = CompactRange::new();
            for e in &entries {
                range.append(Hash::leaf(e), &mut ());
            }
            black_box(range.root())
        })
    });
    g.bench_function("entries_memory_store", |b| {
        b.iter_batched(
            Tree::<MemoryStore>::default,
            |mut tree| {
                for e in &entries {
                    tree.append(e);
                }
                black_box(tree.root())
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// A store for a tree of up to 2^63 identical leaves: every node of a level has the
/// same hash, so proofs are real and verify, at no storage cost.
struct Uniform {
    by_level: Vec<Hash>,
}

impl Uniform {
    fn new() -> Self {
        let mut by_level = vec![Hash::leaf(b"uniform")];
        for l in 1..64 {
            let h = by_level[l - 1];
            by_level.push(Hash::node(&h, &h));
        }
        Uniform { by_level }
    }
}

impl NodeStore for Uniform {
    type Error = Infallible;
    fn get_nodes(&self, ids: &[NodeId], out: &mut Vec<Hash>) -> Result<(), Infallible> {
        out.extend(ids.iter().map(|id| self.by_level[usize::from(id.level)]));
        Ok(())
    }
}

fn proofs_at<S: NodeStore>(c: &mut Criterion, label: &str, tree: &Tree<S>) {
    let n = tree.size();
    let (index, old) = (n / 3 + 1, n - n / 5 - 1);
    let root = tree.root();
    let leaf = {
        let mut out = vec![];
        tree.store()
            .get_nodes(&[NodeId::leaf(index)], &mut out)
            .unwrap();
        out[0]
    };
    let old_root = tree.root_at(old).unwrap();
    let incl = tree.inclusion_proof(index, n).unwrap();
    let cons = tree.consistency_proof(old, n).unwrap();
    verify_inclusion(&leaf, index, n, &incl, &root).unwrap();
    verify_consistency(old, n, &old_root, &root, &cons).unwrap();

    let mut g = c.benchmark_group(format!("proofs/{label}"));
    g.bench_function("inclusion_build", |b| {
        b.iter(|| tree.inclusion_proof(black_box(index), n).unwrap())
    });
    g.bench_function("inclusion_verify", |b| {
        b.iter(|| verify_inclusion(&leaf, black_box(index), n, &incl, &root).unwrap())
    });
    g.bench_function("consistency_build", |b| {
        b.iter(|| tree.consistency_proof(black_box(old), n).unwrap())
    });
    g.bench_function("consistency_verify", |b| {
        b.iter(|| verify_consistency(black_box(old), n, &old_root, &root, &cons).unwrap())
    });
    g.bench_function("root_at_historical", |b| {
        b.iter(|| tree.root_at(black_box(old)).unwrap())
    });
    g.finish();
}

fn proofs(c: &mut Criterion) {
    for log2 in [10u32, 20] {
        let mut tree = Tree::<MemoryStore>::default();
        for i in 0..(1u64 << log2) {
            tree.append(&i.to_be_bytes());
        }
        proofs_at(c, &format!("2^{log2}_memory"), &tree);
    }
    // 2^30 + 12345 leaves: not a power of two, so proofs include ragged-edge folds.
    let tree = Tree::open((1u64 << 30) + 12_345, Uniform::new()).unwrap();
    proofs_at(c, "2^30_synthetic", &tree);
}

criterion_group!(benches, raw_sha256, append, proofs);
criterion_main!(benches);
