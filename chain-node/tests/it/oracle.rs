//! Naive oracles for the block commitment, written from docs/consensus.md without the
//! crate's encoder or hashers: the transaction encoding, wtxid, RFC 6962 Merkle tree hash
//! and the signature digest.
#![allow(clippy::indexing_slicing)]

use chain_node::{BlockHash, OutputKind, Transaction, TxInputs};
use sha2::{Digest, Sha256};

pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

pub(crate) fn sha256d(bytes: &[u8]) -> [u8; 32] {
    sha256(&[&sha256(&[bytes])])
}

/// Bitcoin's CompactSize, shortest form.
fn compact_size(out: &mut Vec<u8>, n: u64) {
    if n < 0xfd {
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(0xfd);
        out.extend_from_slice(&(n as u16).to_le_bytes());
    } else if n <= 0xffff_ffff {
        out.push(0xfe);
        out.extend_from_slice(&(n as u32).to_le_bytes());
    } else {
        out.push(0xff);
        out.extend_from_slice(&n.to_le_bytes());
    }
}

/// The unsigned encoding: `version · tag` then the coinbase or the spends (outpoint and
/// key per input), then the outputs.
pub(crate) fn unsigned(tx: &Transaction) -> Vec<u8> {
    let mut out = tx.version.to_le_bytes().to_vec();
    match &tx.inputs {
        TxInputs::Coinbase { height, extra } => {
            out.push(0);
            out.extend_from_slice(&height.0.to_le_bytes());
            compact_size(&mut out, extra.len() as u64);
            out.extend_from_slice(extra);
        }
        TxInputs::Spend(ins) => {
            out.push(1);
            compact_size(&mut out, ins.len() as u64);
            for i in ins {
                out.extend_from_slice(&i.prevout.txid.0);
                out.extend_from_slice(&i.prevout.vout.to_le_bytes());
                out.extend_from_slice(&i.pubkey);
            }
        }
    }
    compact_size(&mut out, tx.outputs.len() as u64);
    for o in &tx.outputs {
        out.extend_from_slice(&o.amount.units().to_le_bytes());
        match &o.kind {
            OutputKind::Pay(a) => {
                out.push(0);
                out.extend_from_slice(&a.0);
            }
            OutputKind::Burn(data) => {
                out.push(1);
                compact_size(&mut out, data.len() as u64);
                out.extend_from_slice(data);
            }
        }
    }
    out
}

/// The full encoding: the unsigned encoding, then one 64-byte signature per input.
pub(crate) fn encode(tx: &Transaction) -> Vec<u8> {
    let mut out = unsigned(tx);
    for i in tx.spends() {
        out.extend_from_slice(&i.signature);
    }
    out
}

/// SHA-256d of the full encoding.
pub(crate) fn wtxid(tx: &Transaction) -> [u8; 32] {
    sha256d(&encode(tx))
}

/// RFC 6962 §2.1 MTH, recursively: split at the largest power of two below n.
pub(crate) fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => sha256(&[]),
        1 => sha256(&[&[0], &leaves[0]]),
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            sha256(&[&[1], &mth(&leaves[..k]), &mth(&leaves[k..])])
        }
    }
}

/// The Merkle root a header must carry for `txs`: MTH over their wtxids.
pub(crate) fn merkle_root(txs: &[Transaction]) -> [u8; 32] {
    mth(&txs.iter().map(wtxid).collect::<Vec<_>>())
}

/// The digest input `index` signs: a digest shared by all inputs over the tag, the chain
/// id, the unsigned transaction and the spent amounts, then one over that and `index`.
pub(crate) fn sighash(
    tx: &Transaction,
    chain_id: &BlockHash,
    index: u32,
    spent: &[u64],
) -> [u8; 32] {
    let mut amounts = (spent.len() as u64).to_le_bytes().to_vec();
    for a in spent {
        amounts.extend_from_slice(&a.to_le_bytes());
    }
    let shared = sha256(&[
        b"chain-node/sighash/v2/tx",
        &chain_id.0,
        &unsigned(tx),
        &amounts,
    ]);
    sha256(&[
        b"chain-node/sighash/v2/input",
        &shared,
        &index.to_le_bytes(),
    ])
}

/// An RFC 8032 Ed25519 signature by `key` over `msg` whose nonce comes from `nonce_seed`
/// instead of the key: valid, yet different from the deterministic one.
pub(crate) fn sign_with_nonce(
    key: &ed25519_dalek::SigningKey,
    msg: &[u8],
    nonce_seed: &[u8],
) -> [u8; 64] {
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use sha2::Sha512;
    let wide = |parts: &[&[u8]]| {
        let mut h = Sha512::new();
        for p in parts {
            h.update(p);
        }
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    };
    let r = wide(&[nonce_seed, msg]);
    let big_r = EdwardsPoint::mul_base(&r).compress().to_bytes();
    let public = key.verifying_key().to_bytes();
    let k = wide(&[&big_r, &public, msg]);
    let s = r + k * key.to_scalar();
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(&s.to_bytes());
    sig
}
