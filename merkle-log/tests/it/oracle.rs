//! Independent oracles: RFC 6962 §2.1 MTH, PATH and PROOF written naively and
//! recursively from the RFC text, and rs_merkle configured for RFC 6962.

use merkle_log::Hash;
use sha2::{Digest, Sha256};

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The leaf hash, from the RFC text.
pub(crate) fn leaf(d: &[u8]) -> [u8; 32] {
    sha(&[&[0u8], d])
}

fn node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    sha(&[&[1u8], l, r])
}

/// The largest power of two below n (n >= 2), the split point of the RFC.
pub(crate) fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) over leaf hashes.
pub(crate) fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => sha(&[]),
        1 => leaves[0],
        n => {
            let k = k_of(n);
            node(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]).
pub(crate) fn path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if n <= 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn subproof(m: usize, leaves: &[[u8; 32]], b: bool) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if m == n {
        return if b { vec![] } else { vec![mth(leaves)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], b);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// PROOF(m, D[n]) for 0 < m <= n; empty for m == 0.
pub(crate) fn proof(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    if m == 0 {
        return vec![];
    }
    subproof(m, leaves, true)
}

/// rs_merkle's hasher set up as RFC 6962: leaves are hashed by the caller, an odd
/// node is promoted unchanged, pairs get the 0x01 prefix.
#[derive(Clone)]
pub(crate) struct Rfc6962;

impl rs_merkle::Hasher for Rfc6962 {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        sha(&[data])
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(r) => node(left, r),
            None => *left,
        }
    }
}

pub(crate) fn to_hashes(raw: &[[u8; 32]]) -> Vec<Hash> {
    raw.iter().map(|h| Hash(*h)).collect()
}
