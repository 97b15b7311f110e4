//! RFC 6962 / RFC 9162 Merkle trees for transparency logs and block commitments.
//!
//! The proof core is sans-I/O: hashing ([`Hash`](struct@Hash)), index arithmetic that says which
//! perfect subtrees a proof needs ([`tree_math`]), an append-only [`Tree`] that keeps
//! only its right edge ([`CompactRange`]) in memory and reads older nodes through the
//! narrow [`NodeStore`] trait, and verifiers that follow RFC 9162 step by step.
//!
//! ```
//! use merkle_log::{Hash, MemoryStore, Tree, verify_consistency, verify_inclusion};
//!
//! let mut tree: Tree<MemoryStore> = Tree::default();
//! for entry in [&b"alpha"[..], b"beta", b"gamma"] {
//!     tree.append(entry);
//! }
//! let old_root = tree.root_at(2)?;
//! let proof = tree.inclusion_proof(1, 3)?;
//! verify_inclusion(&Hash::leaf(b"beta"), 1, 3, &proof, &tree.root())?;
//! let proof = tree.consistency_proof(2, 3)?;
//! verify_consistency(2, 3, &old_root, &tree.root(), &proof)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The transparency-log formats are pure functions too: C2SP signed notes
//! ([`note`], [`verify_note`]), checkpoints ([`Checkpoint`]), tlog-tiles paths, hash
//! tiles and entry bundles ([`tiles`]), a [`NodeStore`] over tiles
//! ([`TileNodeStore`], so an auditor computes proofs from tiles it fetched), and
//! `c2sp.org/tlog-proof@v1` receipts ([`Receipt`], [`verify_receipt`]), and
//! witnessing: tlog-cosignature v1 ([`cosignature`], [`Cosigner`]), the
//! tlog-witness wire formats ([`tlog_witness`]) and tlog-policy quorums
//! ([`Policy`]).
//!
//! ```
//! use merkle_log::{Checkpoint, MemoryStore, NoteSigner, Receipt, Tree, verify_receipt};
//! use merkle_log::note::KeyName;
//!
//! let signer = NoteSigner::from_seed(KeyName::new("example.org/log")?, &[1; 32]);
//! let mut tree: Tree<MemoryStore> = Tree::default();
//! for entry in [&b"alpha"[..], b"beta", b"gamma"] {
//!     tree.append(entry);
//! }
//! let checkpoint = Checkpoint::new("example.org/log", 3, tree.root())?;
//! let receipt = Receipt {
//!     extra: None,
//!     index: 1,
//!     proof: tree.inclusion_proof(1, 3)?,
//!     checkpoint: signer.sign(&checkpoint.to_text())?,
//! };
//! let (_, verified) = verify_receipt(&receipt.encode(), b"beta", signer.verifier())?;
//! assert_eq!(verified.size(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A checkpoint cosigned by a witness, accepted under a policy that requires it:
//!
//! ```
//! use merkle_log::{Checkpoint, Cosigner, Hash, NoteSigner, Policy};
//! use merkle_log::note::KeyName;
//!
//! let log = NoteSigner::from_seed(KeyName::new("example.org/log")?, &[1; 32]);
//! let witness = Cosigner::from_seed(KeyName::new("witness.example/w1")?, &[2; 32]);
//! let text = Checkpoint::new("example.org/log", 0, Hash::empty_root())?.to_text();
//! let note = log.sign(&text)? + &witness.signature_line(&text, 1_700_000_000)?;
//! let policy = Policy::parse(&format!(
//!     "log {}\nwitness w1 {}\nquorum w1\n",
//!     log.verifier(),
//!     witness.verifier()
//! ))?;
//! let accepted = policy.verify_checkpoint(&note, &[])?;
//! assert_eq!(accepted.cosigned_by, [("w1".to_owned(), 1_700_000_000)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With the `server` feature (on by default) the crate also holds the durable tiled
//! log (`Log`), its checker (`fsck`), its HTTP server (`server`), the witness
//! (`witness`) and the log's side of witnessing (`witnessing`), and the
//! `merkle-log` binary; without it, it depends on no async runtime, HTTP stack or
//! database. The `http` feature (part of `server`) alone brings the bounded HTTP
//! serving (module `http`) that the chain node's RPC shares.

pub mod anchor;
#[cfg(feature = "server")]
pub mod anchoring;
#[cfg(feature = "server")]
mod background;
mod checkpoint;
mod consistency;
pub mod cosignature;
#[cfg(feature = "server")]
pub mod dedup;
mod error;
#[cfg(feature = "server")]
pub mod fsck;
mod hash;
#[cfg(feature = "http")]
pub mod http;
mod inclusion;
#[cfg(feature = "server")]
pub mod keyfile;
#[cfg(feature = "server")]
mod log;
#[cfg(feature = "server")]
mod log_edge;
#[cfg(feature = "server")]
mod log_index;
pub mod note;
pub mod policy;
mod receipt;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod storage;
mod store;
mod tile_store;
pub mod tiles;
pub mod tlog_witness;
mod tree;
pub mod tree_math;
#[cfg(feature = "server")]
pub mod wal;
#[cfg(feature = "server")]
pub mod witness;
#[cfg(feature = "server")]
pub mod witnessing;

pub use anchor::{Anchor, AnchorList};
pub use checkpoint::{Checkpoint, MAX_CHECKPOINT_LEN};
pub use consistency::verify_consistency;
pub use cosignature::Cosigner;
#[cfg(feature = "http")]
pub use error::ServeError;
#[cfg(feature = "server")]
pub use error::{
    AddCheckpointError, AnchoringError, KeyFileError, LogError, ServerError, StorageError,
    WitnessError, WitnessingError,
};
pub use error::{
    AnchorError, BoundsError, CheckpointError, CosignError, HashParseError, KeyError, NoteError,
    PolicyError, ProofError, QuorumError, ReceiptError, TileError, VerifyError, WitnessWireError,
};
pub use hash::{Hash, LEAF_PREFIX, NODE_PREFIX};
pub use inclusion::{MAX_PROOF_LEN, root_from_inclusion_proof, verify_inclusion};
#[cfg(feature = "server")]
pub use log::{Log, LogConfig, Published, Recovery, Sequenced, find_committed};
#[cfg(feature = "server")]
pub use log_index::RebuildReason;
pub use note::{NoteSigner, VerifierKey, verify_note};
pub use policy::Policy;
pub use receipt::{MAX_RECEIPT_LEN, RECEIPT_HEADER, Receipt, verify_receipt};
pub use store::{MemoryStore, MissingNode, NodeSink, NodeStore};
pub use tile_store::{
    CachedTiles, FetchedTiles, MissingTile, TileNodeStore, TileSource, TileStoreError,
    tiles_for_nodes,
};
pub use tiles::TileId;
pub use tree::{CompactRange, Tree};
pub use tree_math::NodeId;
