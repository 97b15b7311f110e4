//! Double SHA-256 and the hash newtypes [`TxId`], [`WtxId`] and [`BlockHash`].
//!
//! Hashes are shown in hex in their natural byte order (no Bitcoin-style reversal), and a
//! block hash is read as a big-endian integer when compared with a target.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::HexError;

/// SHA-256 applied twice.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    let first = Sha256::digest(data);
    Sha256::digest(first).into()
}

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lower-case hex of the bytes.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = HexError;

            fn from_str(s: &str) -> Result<Self, HexError> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(s, &mut out).map_err(|_| HexError {
                    what: stringify!($name),
                })?;
                Ok($name(out))
            }
        }
    };
}

hash_newtype!(
    /// A transaction id: double SHA-256 of the transaction without its signatures.
    TxId
);
hash_newtype!(
    /// A witness transaction id: double SHA-256 of the full canonical encoding,
    /// signatures included. The block's Merkle leaves are wtxids, so the header commits
    /// to every byte of every transaction; outpoints keep naming the [`TxId`].
    WtxId
);
hash_newtype!(
    /// A block hash: double SHA-256 of the 80-byte header.
    BlockHash
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256d_of_empty_string() {
        // SHA-256(SHA-256("")), a widely published value.
        assert_eq!(
            hex::encode(sha256d(b"")),
            "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
        );
    }

    #[test]
    fn hex_round_trip_and_rejection() {
        let h = BlockHash([0xab; 32]);
        assert_eq!(h.to_string().parse::<BlockHash>().unwrap(), h);
        assert!("abcd".parse::<BlockHash>().is_err());
        assert!("zz".repeat(32).parse::<TxId>().is_err());
    }
}
