//! The RFC 6962 §2.1 hash function: SHA-256 with domain-separated leaves and nodes.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::HashParseError;

/// Domain-separation prefix of a leaf hash (RFC 6962 §2.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 6962 §2.1).
pub const NODE_PREFIX: u8 = 0x01;

/// A SHA-256 digest: a leaf hash, a node hash or a tree root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; Hash::LEN]);

impl Hash {
    /// Length of a hash in bytes.
    pub const LEN: usize = 32;

    /// The hash from a byte slice that must be exactly 32 bytes long.
    ///
    /// # Errors
    /// [`HashParseError::Length`] when the slice is not 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashParseError> {
        <[u8; Self::LEN]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| HashParseError::Length { got: bytes.len() })
    }

    /// The bytes of the hash.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Standard base64 with padding, as RFC 6962 JSON carries hashes.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Compares two hashes in constant time.
    pub fn ct_eq(&self, other: &Hash) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// The root of the empty tree: `SHA-256("")`.
    pub fn empty_root() -> Hash {
        Hash(Sha256::digest([]).into())
    }

    /// The leaf hash of an entry: `SHA-256(0x00 || data)`.
    pub fn leaf(data: &[u8]) -> Hash {
        let mut h = Sha256::new();
        h.update([LEAF_PREFIX]);
        h.update(data);
        Hash(h.finalize().into())
    }

    /// The hash of an interior node: `SHA-256(0x01 || left || right)`.
    pub fn node(left: &Hash, right: &Hash) -> Hash {
        let mut buf = [0u8; 1 + 2 * Self::LEN];
        buf[0] = NODE_PREFIX;
        buf[1..=Self::LEN].copy_from_slice(&left.0);
        buf[1 + Self::LEN..].copy_from_slice(&right.0);
        Hash(Sha256::digest(buf).into())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

/// Parses a hash written as 64 hex digits or as standard base64 (with or without
/// padding) of 32 bytes. The two forms cannot be confused: 64 characters of base64
/// would be 48 bytes.
impl FromStr for Hash {
    type Err = HashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(HashParseError::Empty);
        }
        if s.len() == 2 * Self::LEN && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut out = [0u8; Self::LEN];
            hex::decode_to_slice(s, &mut out).map_err(|_| HashParseError::Encoding)?;
            return Ok(Hash(out));
        }
        // Bound the work before decoding: 32 bytes are at most 44 base64 characters.
        if s.len() > 44 {
            return Err(HashParseError::Encoding);
        }
        let bytes = BASE64
            .decode(s)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(s))
            .map_err(|_| HashParseError::Encoding)?;
        Hash::from_slice(&bytes)
    }
}
