//! Plain values the rules work over: heights, amounts, transaction ids, outpoints, keys,
//! addresses and hashes. The node converts its own types into these; nothing here knows
//! the chain, except the one definition of an address ([`OwnerAddress::of_key`]), which
//! the chain's addresses are made of too.

use std::fmt;

use sha2::{Digest, Sha256};

/// A block height; the genesis block has height 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u32);

impl Height {
    /// `self + blocks`, stopping at `u32::MAX` (a height no chain reaches, so "never").
    pub fn saturating_add(self, blocks: u32) -> Height {
        Height(self.0.saturating_add(blocks))
    }

    /// The number of blocks from `earlier` to `self`, zero if `earlier` is not earlier.
    pub fn blocks_since(self, earlier: Height) -> u32 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An amount of base units (one coin is 10^8 of them).
///
/// INVARIANT: none beyond `u64`; the chain checks money ranges, the rules only compare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(pub u64);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// The number of base units.
    pub const fn units(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} units", self.0)
    }
}

/// Defines a 32-byte value type shown in hex.
macro_rules! bytes32 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The 32 bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), hex::encode(self.0))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
    };
}

bytes32!(
    /// A transaction id, in the byte order the chain hashes it in.
    TxId
);
bytes32!(
    /// The chain id: the genesis block hash of the network. Every signature commits to it.
    ChainId
);
bytes32!(
    /// An Ed25519 public key (compressed point): the signer of an operation.
    OwnerKey
);
bytes32!(
    /// What owns a name or a namespace: the address of a key, [`OwnerAddress::of_key`].
    /// The same 32 bytes as the chain's address of that key (`chain_node::Address`),
    /// so a name can be sent to any address a wallet gives out for payments.
    OwnerAddress
);
bytes32!(
    /// The SHA-256 of a zone file; the chain holds the hash, nodes hold the file.
    ZoneFileHash
);
bytes32!(
    /// A preorder commitment: `H(kind, id, salt, owner key)`, see
    /// [`crate::Commitment::for_name`].
    Commitment
);

bytes32!(
    /// A node of the name-state tree: SHA-256 of a leaf or inner node preimage, or
    /// [`crate::EMPTY_SUBTREE`] for an empty subtree; also the hash of a record's bytes.
    NodeHash
);
bytes32!(
    /// Where a record sits in the name-state tree: SHA-256 of a domain tag, the record's
    /// kind and its canonical key bytes (see [`crate::StateKey::name`]). Its bits, most
    /// significant first, are the path from the root (0 left, 1 right).
    StateKey
);
bytes32!(
    /// The commitment to the whole name state: the root of its tree.
    StateRoot
);

/// Domain separation of the address hash. It is the chain's (every address of the chain
/// is made with it), so it keeps the chain node's name.
pub const ADDRESS_TAG: &[u8] = b"chain-node/address/v1";

impl OwnerAddress {
    /// The address of an Ed25519 public key: `SHA-256("chain-node/address/v1" ‖ key)`.
    /// The one definition of the hash: the chain's `Address::from_pubkey` calls it.
    pub fn of_key(key: &OwnerKey) -> OwnerAddress {
        let mut h = Sha256::new();
        h.update(ADDRESS_TAG);
        h.update(key.as_bytes());
        OwnerAddress(h.finalize().into())
    }
}

/// A reference to an output of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct OutPoint {
    /// The transaction that created the output.
    pub txid: TxId,
    /// Its index among that transaction's outputs.
    pub vout: u32,
}

impl fmt::Display for OutPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.txid, self.vout)
    }
}

/// The secret that hides a preorder's name until the reveal; 128 bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Salt(pub [u8; 16]);

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt({})", hex::encode(self.0))
    }
}
