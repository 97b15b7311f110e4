//! Error types of the Merkle core, one enum per operation.

use crate::tree_math::NodeId;

/// A hash given as text or bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// No characters at all.
    #[error("empty hash")]
    Empty,
    /// Neither 64 hex digits nor valid base64.
    #[error("hash is neither 64 hex digits nor standard base64")]
    Encoding,
    /// Decoded, but not 32 bytes long.
    #[error("hash is {got} bytes long, expected 32")]
    Length {
        /// The decoded length.
        got: usize,
    },
}

/// Indices or sizes that cannot describe a proof in any tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundsError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("old size {old} is larger than new size {new}")]
    SizesOutOfOrder {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
}

/// A proof did not verify, or its inputs were malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The index or sizes are impossible.
    #[error(transparent)]
    Bounds(#[from] BoundsError),
    /// More hashes than any proof in a tree of 2^64 leaves can have.
    #[error("proof has {len} hashes, more than the limit of {limit}")]
    ProofTooLong {
        /// Hashes given.
        len: usize,
        /// The bound.
        limit: usize,
    },
    /// The proof has the wrong number of hashes for the claimed sizes.
    #[error("proof has {got} hashes, a proof for these sizes has {want}")]
    WrongProofLength {
        /// Hashes given.
        got: usize,
        /// Hashes a correct proof has.
        want: usize,
    },
    /// The proof leads to a different root than the one claimed.
    #[error("computed root {computed} does not match the expected root {expected}")]
    RootMismatch {
        /// The root the proof leads to (hex).
        computed: String,
        /// The root it should lead to (hex).
        expected: String,
    },
    /// For a consistency proof: the proof is correct for the new tree but leads to a
    /// different root for the old one.
    #[error("computed old root {computed} does not match the expected old root {expected}")]
    OldRootMismatch {
        /// The old root the proof leads to (hex).
        computed: String,
        /// The old root it should lead to (hex).
        expected: String,
    },
}

impl VerifyError {
    /// Whether the inputs could never describe a proof (as opposed to a proof that
    /// simply does not verify): a command line maps these to "bad input".
    pub fn is_malformed_input(&self) -> bool {
        matches!(
            self,
            VerifyError::Bounds(_) | VerifyError::ProofTooLong { .. }
        )
    }
}

/// A proof or root could not be built from a tree.
#[derive(Debug, thiserror::Error)]
pub enum ProofError<E: std::error::Error + 'static> {
    /// The index or sizes are impossible.
    #[error(transparent)]
    Bounds(#[from] BoundsError),
    /// The requested size is beyond what the tree holds.
    #[error("tree size {requested} is beyond the current size {current}")]
    SizeBeyondTree {
        /// Requested size.
        requested: u64,
        /// Current size of the tree.
        current: u64,
    },
    /// The store could not produce a node.
    #[error("reading node at level {} index {}", .node.level, .node.index)]
    Store {
        /// The first node of the failed fetch.
        node: NodeId,
        /// What the store reported.
        #[source]
        source: E,
    },
    /// The store answered with the wrong number of hashes.
    #[error("store returned {got} hashes for {want} nodes")]
    StoreAnswer {
        /// Hashes returned.
        got: usize,
        /// Nodes asked for.
        want: usize,
    },
}
