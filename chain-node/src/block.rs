//! Block headers and blocks; the block hash and the RFC 6962 Merkle root of the wtxids.
//!
//! The header commits to every byte of the block: the Merkle leaves are wtxids (each
//! transaction's full encoding, signatures included), the tree is RFC 6962 (no two
//! leaf lists share a root, so transactions cannot be duplicated, dropped or reordered
//! under the same root), and a block's encoding is the header and the transactions
//! with nothing else (trailing bytes are refused at decode).

use merkle_log::{CompactRange, Hash};

use crate::encoding::encode_to_vec;
use crate::hash::{BlockHash, WtxId, sha256d};
use crate::pow::CompactTarget;
use crate::transaction::Transaction;

/// Encoded size of a header.
pub const HEADER_SIZE: usize = 80;

/// An 80-byte block header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version; 1.
    pub version: u32,
    /// Hash of the parent block (all zero for genesis).
    pub prev: BlockHash,
    /// RFC 6962 Merkle root of the block's wtxids ([`merkle_root`]).
    pub merkle_root: [u8; 32],
    /// Seconds since the Unix epoch.
    pub time: u32,
    /// Compact encoding of the target the hash must not exceed.
    pub bits: CompactTarget,
    /// Free counter for the proof-of-work search.
    pub nonce: u32,
}

impl Header {
    /// The 80 canonical bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let v = encode_to_vec(self);
        let mut out = [0u8; HEADER_SIZE];
        out.copy_from_slice(&v);
        out
    }

    /// Double SHA-256 of the canonical bytes. Through the Merkle root it commits to
    /// every byte of the block's transactions.
    pub fn hash(&self) -> BlockHash {
        BlockHash(sha256d(&self.to_bytes()))
    }
}

/// A block: header and transactions, coinbase first.
///
/// A block whose transactions do not match its header's Merkle root is not the block
/// its hash names: validation reports it as a mutation
/// ([`crate::error::BlockError::is_mutation`]), and it is never stored or marked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions.
    pub txs: Vec<Transaction>,
}

impl Block {
    /// The header's hash.
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// The full canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_to_vec(self)
    }

    /// Encoded size in bytes.
    pub fn size(&self) -> usize {
        self.to_bytes().len()
    }

    /// The Merkle root of this block's transactions: [`merkle_root`] of their wtxids.
    pub fn compute_merkle_root(&self) -> [u8; 32] {
        let wtxids: Vec<WtxId> = self.txs.iter().map(Transaction::wtxid).collect();
        merkle_root(&wtxids)
    }
}

/// RFC 6962 Merkle tree hash over leaves `wtxid` (leaf prefix 0x00, node prefix 0x01).
/// An odd node is promoted, never duplicated, so two lists of wtxids never share a root.
pub fn merkle_root(wtxids: &[WtxId]) -> [u8; 32] {
    let mut range = CompactRange::default();
    for wtxid in wtxids {
        range.append(Hash::leaf(wtxid.as_bytes()), &mut ());
    }
    *range.root().as_bytes()
}
