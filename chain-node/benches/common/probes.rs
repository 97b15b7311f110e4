//! Physical limits measured in the same run as the benchmarks: raw double SHA-256 of an
//! 80-byte header, and a 1-byte write followed by fsync.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;

use chain_node::{Network, sha256d};
use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;

/// `sha256d_80_byte_header`: one double SHA-256 of a header whose nonce changes.
pub(crate) fn sha256d_header(g: &mut BenchmarkGroup<'_, WallTime>) {
    let mut bytes = Network::Regtest.params().genesis.header.to_bytes();
    let mut n: u32 = 0;
    g.bench_function("sha256d_80_byte_header", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            bytes[76..].copy_from_slice(&n.to_le_bytes());
            black_box(sha256d(&bytes))
        })
    });
}

/// `fsync_1_byte_write`: a 1-byte append to a file in `dir`, then `sync_data`.
pub(crate) fn fsync(g: &mut BenchmarkGroup<'_, WallTime>, dir: &Path) {
    let mut f = std::fs::File::create(dir.join("probe")).unwrap();
    g.bench_function("fsync_1_byte_write", |b| {
        b.iter(|| {
            f.write_all(b"x").unwrap();
            f.sync_data().unwrap();
        })
    });
}
