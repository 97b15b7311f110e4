//! Physical limits measured in the same run as the benchmarks: raw double SHA-256 of an
//! 80-byte header, raw Ed25519 verification of one signature, and a 1-byte write
//! followed by fsync.
#![allow(dead_code)]

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

/// `verify_strict`: one raw `ed25519-dalek` `verify_strict` of a 32-byte message (the
/// check the naming rules make of an operation's signature); `zip215_verify`: the same
/// signature through the raw single check of the consensus rule (`ed25519-zebra`).
pub(crate) fn ed25519(g: &mut BenchmarkGroup<'_, WallTime>) {
    use ed25519_dalek::Signer as _;
    let k = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    let vk = k.verifying_key();
    let msg = [7u8; 32];
    let sig = k.sign(&msg);
    g.bench_function("verify_strict", |b| {
        b.iter(|| black_box(vk.verify_strict(&msg, &sig)).is_ok())
    });
    let zk = ed25519_zebra::VerificationKey::try_from(vk.to_bytes()).unwrap();
    let zsig = ed25519_zebra::Signature::from_bytes(&sig.to_bytes());
    g.bench_function("zip215_verify", |b| {
        b.iter(|| black_box(zk.verify(&zsig, &msg)).is_ok())
    });
}
