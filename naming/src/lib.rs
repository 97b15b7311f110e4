//! The naming layer of the toolkit, after Blockstack: namespaces and names registered by
//! operations that ordinary chain transactions carry in a burn output.
//!
//! This crate holds the rules as pure functions over plain values (payload bytes, the
//! carrying transaction's id, spent outpoints and burned amount, the block height, a
//! read-only view of the name state); the chain node feeds them and stores what they
//! return. Nothing here reads the clock, the disk or the network.
//!
//! - [`SignedOperation`] is a payload: [`SignedOperation::decode`] /
//!   [`SignedOperation::encode`], signed over the chain id and the first spent outpoint.
//! - Names and namespaces are owned by addresses: [`OwnerAddress::of_key`] is the
//!   address of an Ed25519 key (the chain's addresses are the same hash), and an
//!   operation acts as the address of the key that signed it.
//! - [`apply`] checks one operation against a [`NameView`] and a [`TxContext`] and
//!   returns its [`Changes`] (which also undo it) or the [`Rejection`] naming the rule
//!   broken; [`check_relay`] is the mempool's check (no early reveal is relayed).
//! - [`NameRecord`], [`NamespaceRecord`], [`PreorderRecord`]: the state, with canonical
//!   bytes; [`NameRecord::status`] says whether a name is active, in grace or expired.
//! - [`PriceFunction`]: Blockstack's name prices.
//! - The state commitment: a sparse Merkle tree of every record, keyed by [`StateKey`],
//!   over any [`SmtStore`] ([`MemoryStore`] in memory). [`update`] turns a block's
//!   [`LeafChange`]s ([`Change::leaf_change`]) into the new [`StateRoot`] and the node
//!   writes; [`prove`] and [`verify`] / [`verify_name`] are lookups a light client checks
//!   with the root alone, including absence; [`Proof::encode`] / [`Proof::decode`] are
//!   their bytes.
//!
//! ```
//! use ed25519_dalek::SigningKey;
//! use naming::*;
//!
//! let key = SigningKey::from_bytes(&[7; 32]);
//! let chain_id = ChainId([1; 32]);
//! let funding = OutPoint { txid: TxId([2; 32]), vout: 0 };
//! let name: Name = "alice.id".parse().unwrap();
//! let salt = Salt([3; 16]);
//! let owner = OwnerAddress::of_key(&OwnerKey(key.verifying_key().to_bytes()));
//! let commitment = Commitment::for_name(&name, &salt, &owner);
//! let op = SignedOperation::sign(Operation::NamePreorder { commitment }, &key, &chain_id, &funding);
//! let payload = op.encode();
//! assert!(payload.len() <= MAX_PAYLOAD);
//!
//! let ctx = TxContext {
//!     chain_id,
//!     txid: TxId([4; 32]),
//!     height: Height(10),
//!     burned: Amount(NAME_COST_UNIT),
//!     spent: vec![funding],
//!     pay_vouts: vec![1],
//! };
//! let mut state = MemoryNames::new();
//! let changes = apply_payload(&NamingParams::regtest(), &state, &ctx, &payload).unwrap();
//! state.apply(&changes).unwrap();
//! assert!(state.preorder(&commitment).is_some());
//! ```

mod changes;
mod encoding;
mod error;
mod name;
mod operation;
mod params;
mod price;
mod proof;
mod records;
mod rules;
mod smt;
mod smt_update;
mod values;
mod view;

pub use changes::{Change, Changes, MAX_CHANGES};
pub use error::{
    ChangeConflict, DecodeError, NameError, NamePart, PriceFunctionError, ProofError, Rejection,
    SmtError,
};
pub use name::{Label, MAX_LABEL_LEN, MAX_NAMESPACE_LEN, Name, NamespaceId, is_name_char};
pub use operation::{
    MAGIC, MAX_PAYLOAD, NamespaceTerms, Operation, SignedOperation, VERSION, is_naming_payload,
};
pub use params::NamingParams;
pub use price::{BUCKETS, MAX_NIBBLE, NAME_COST_UNIT, NamespacePrices, PriceFunction};
pub use proof::{MAX_PROOF_LEN, PROOF_VERSION, Proof, Terminal, prove, verify, verify_name};
pub use records::{
    NameRecord, NameStatus, NamespaceRecord, NamespaceStatus, PreorderKind, PreorderRecord,
    RECORD_VERSION,
};
pub use rules::{TxContext, apply, apply_payload, check_relay};
pub use smt::{
    EMPTY_SUBTREE, KEY_BITS, KeyKind, LeafChange, MemoryStore, NODE_LEN, NODE_PATH_LEN, Node,
    NodePath, SmtStore, StateUpdate, leaf_hash, lookup, node_hash, root, value_hash,
};
pub use smt_update::update;
pub use values::{
    ADDRESS_TAG, Amount, ChainId, Commitment, Height, NodeHash, OutPoint, OwnerAddress, OwnerKey,
    Salt, StateKey, StateRoot, TxId, ZoneFileHash,
};
pub use view::{MemoryNames, NameView};
