//! The sled key layout of the chain state and reads through it.
//!
//! One sled tree holds everything, keyed by a one-byte prefix, so that a flush of the
//! coins cache (every change of the UTXO set, derived indexes, undo data and active chain
//! since the last flush, with the tip marker) is atomic: one `apply_batch`, or a redo log
//! in the same tree applied in bounded batches (`chain/redo.rs`). The
//! derived indexes' prefixes are theirs (`crate::index`). See `docs/storage.md`.

use crate::encoding::{Decode, Encode, decode_exact};
use crate::error::{ChainError, DecodeError};
use crate::hash::{BlockHash, TxId};
use crate::transaction::OutPoint;
use crate::units::Height;

/// Storage format version, written under the key `v` (see `docs/storage.md`). Version 6:
/// names, namespaces and preorders are owned by addresses (records of version 2, ADR
/// 0037), so the name-state tree's leaves and the roots blocks commit to differ from
/// format 5's, whose stores are refused. Version 5:
/// the name-state tree's nodes (`r`), and blocks above genesis commit to its root in their
/// coinbase, so a format-4 store's blocks are refused. Version 4:
/// the derived indexes' undo records (`x`) and the name index (`s`, `n`, `p`). Version 3:
/// index entries for headers without data, with a status byte of validity level and
/// failure (Core's `BlockStatus`) and the connectable order as sequence. Version 2 had
/// index entries for whole blocks only, with a valid/invalid byte. Version 2: blocks
/// whose Merkle leaves are wtxids and whose signatures use the v2 digest.
pub const FORMAT_VERSION: u32 = 6;

/// Key of the format version.
pub(crate) const KEY_VERSION: &[u8] = b"v";
/// Key of the flushed tip hash: the tip the stored UTXO set, undo data and active-chain
/// records describe.
pub(crate) const KEY_TIP: &[u8] = b"t";
/// Prefix of full blocks by hash.
pub(crate) const P_BLOCK: u8 = b'b';
/// Prefix of block index entries by hash.
pub(crate) const P_INDEX: u8 = b'i';
/// Prefix of undo data by hash.
pub(crate) const P_UNDO: u8 = b'u';
/// Prefix of unspent coins by outpoint.
pub(crate) const P_COIN: u8 = b'c';
/// Prefix of the active chain: big-endian height -> hash.
pub(crate) const P_HEIGHT: u8 = b'h';
/// Prefix of saved mempool transactions: txid -> transaction.
pub(crate) const P_MEMPOOL: u8 = b'm';

pub(crate) fn hash_key(prefix: u8, hash: &BlockHash) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(prefix);
    k.extend_from_slice(hash.as_bytes());
    k
}

pub(crate) fn coin_key(outpoint: &OutPoint) -> Vec<u8> {
    let mut k = vec![P_COIN];
    outpoint.encode(&mut k);
    k
}

pub(crate) fn mempool_key(txid: &TxId) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(P_MEMPOOL);
    k.extend_from_slice(txid.as_bytes());
    k
}

pub(crate) fn height_key(height: Height) -> Vec<u8> {
    let mut k = vec![P_HEIGHT];
    k.extend_from_slice(&height.0.to_be_bytes());
    k
}

/// Reads and decodes one record.
pub(crate) fn get<T: Decode>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>, ChainError> {
    match tree.get(key)? {
        None => Ok(None),
        Some(bytes) => decode_exact(&bytes)
            .map(Some)
            .map_err(|source| corrupt(key, source)),
    }
}

pub(crate) fn corrupt(key: &[u8], source: DecodeError) -> ChainError {
    ChainError::Corrupt {
        key: hex::encode(key),
        source,
    }
}
