//! Errors: invalid names, payloads and records that do not decode, price functions out
//! of range, operations the rules reject (each variant names one rule), and changes that
//! do not fit the state they are applied to; name-state tree updates that fail and
//! lookup proofs that do not verify.

use thiserror::Error;

use crate::name::Name;
use crate::name::NamespaceId;
use crate::records::NameStatus;
use crate::smt::NodePath;
use crate::values::{Amount, Commitment, NodeHash, OutPoint, OwnerAddress, StateKey};

/// Which part of a name a [`NameError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamePart {
    /// The label, before the dot.
    Label,
    /// The namespace id.
    Namespace,
}

impl std::fmt::Display for NamePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NamePart::Label => "label",
            NamePart::Namespace => "namespace id",
        })
    }
}

/// A name or namespace id that breaks the alphabet or length rules.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NameError {
    /// No characters.
    #[error("empty {part}")]
    Empty {
        /// Label or namespace id.
        part: NamePart,
    },
    /// More characters than allowed.
    #[error("{part} of {len} characters, more than {max}")]
    TooLong {
        /// Label or namespace id.
        part: NamePart,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A byte outside `a-z 0-9 - _`.
    #[error("{part} has byte {byte:#04x} at position {position}, outside a-z 0-9 - _")]
    BadChar {
        /// Label or namespace id.
        part: NamePart,
        /// The byte.
        byte: u8,
        /// Its position.
        position: usize,
    },
    /// A full name without the dot between label and namespace id.
    #[error("a name is label.namespace, with one dot")]
    NoDot,
}

/// A price function parameter out of range.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PriceFunctionError {
    /// A bucket exponent over 15.
    #[error("bucket {bucket} has exponent {exponent}, more than 15")]
    BucketTooLarge {
        /// The bucket (0-based).
        bucket: usize,
        /// Its exponent.
        exponent: u8,
    },
    /// A discount of 0 or over 15.
    #[error("{which} discount {discount} is outside 1..=15")]
    BadDiscount {
        /// Which discount.
        which: &'static str,
        /// Its value.
        discount: u8,
    },
}

/// Bytes that are not a canonical payload, record or change list.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The payload does not start with the magic bytes.
    #[error("not a name operation (no magic bytes)")]
    BadMagic,
    /// A format version this code does not know.
    #[error("unsupported format version {version}")]
    UnsupportedVersion {
        /// The version byte.
        version: u8,
    },
    /// An op code this code does not know.
    #[error("unknown op code {code:#04x}")]
    UnknownOp {
        /// The code.
        code: u8,
    },
    /// The bytes end inside a field.
    #[error("truncated {what}")]
    Truncated {
        /// The field.
        what: &'static str,
    },
    /// Bytes left after the last field.
    #[error("{count} trailing bytes")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A length over its bound.
    #[error("{what} of length {len}, more than {max}")]
    TooLong {
        /// The field.
        what: &'static str,
        /// The length found.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A flag or tag byte with a value it cannot have.
    #[error("{what} byte is {value}")]
    BadFlag {
        /// The field.
        what: &'static str,
        /// The byte.
        value: u8,
    },
    /// A second encoding of a value that has a shorter or canonical one.
    #[error("non-canonical {what}")]
    NonCanonical {
        /// What is not canonical.
        what: &'static str,
    },
    /// An invalid name or namespace id.
    #[error("invalid name")]
    Name(#[from] NameError),
    /// An invalid price function.
    #[error("invalid price function")]
    PriceFunction(#[from] PriceFunctionError),
}

/// Why an operation is rejected: each variant is one rule of `docs/naming.md`.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Rejection {
    /// The payload does not decode.
    #[error("malformed payload")]
    Decode(#[from] DecodeError),
    /// The transaction spends nothing (a coinbase): nothing to bind the signature to.
    #[error("a name operation must be in a transaction that spends an outpoint")]
    NoSpentOutpoint,
    /// The signature does not verify for this chain and first spent outpoint.
    #[error("the operation's signature does not verify for this chain and transaction")]
    BadSignature,
    /// Less burned than the price.
    #[error("burned {burned}, the price is {required}")]
    FeeTooLow {
        /// The price.
        required: Amount,
        /// What was burned.
        burned: Amount,
    },
    /// A preorder transaction without a pay output for its reveal to spend.
    #[error("a preorder transaction needs a pay output for its reveal to spend")]
    PreorderWithoutOutput,
    /// A live preorder with the same commitment.
    #[error("commitment {commitment} is already preordered")]
    PreorderExists {
        /// The commitment.
        commitment: Commitment,
    },
    /// No preorder of this kind with the revealed commitment.
    #[error("no preorder with commitment {commitment}")]
    NoPreorder {
        /// The commitment.
        commitment: Commitment,
    },
    /// The reveal's signer is not of the preorder signer's address.
    #[error("the preorder was signed by address {preorder}, the reveal by address {signer}")]
    PreorderSignerMismatch {
        /// The address that signed the preorder.
        preorder: OwnerAddress,
        /// The address of the reveal's signer.
        signer: OwnerAddress,
    },
    /// The preorder is not deep enough yet.
    #[error("the preorder is {depth} blocks deep, the reveal needs {min}")]
    PreorderTooRecent {
        /// Blocks since the preorder.
        depth: u32,
        /// The minimum.
        min: u32,
    },
    /// The preorder is stale.
    #[error("the preorder is {age} blocks old, more than {max}")]
    PreorderTooOld {
        /// Blocks since the preorder.
        age: u32,
        /// The maximum.
        max: u32,
    },
    /// The reveal does not spend the preorder's output.
    #[error("the reveal does not spend the preorder's output {output}")]
    PreorderOutputNotSpent {
        /// The output it must spend.
        output: OutPoint,
    },
    /// A namespace reveal with a lifetime of zero blocks.
    #[error("a namespace's lifetime must be at least one block")]
    ZeroLifetime,
    /// The namespace is already revealed (and not lapsed) or ready.
    #[error("namespace {namespace} exists")]
    NamespaceExists {
        /// The namespace.
        namespace: NamespaceId,
    },
    /// No such namespace.
    #[error("no namespace {namespace}")]
    NoNamespace {
        /// The namespace.
        namespace: NamespaceId,
    },
    /// Only a key of the namespace creator's address may make it ready.
    #[error(
        "namespace {namespace} was created by address {creator}, not the signer's address {signer}"
    )]
    NotCreator {
        /// The namespace.
        namespace: NamespaceId,
        /// The creator's address.
        creator: OwnerAddress,
        /// The address of the signer's key.
        signer: OwnerAddress,
    },
    /// The namespace is ready already.
    #[error("namespace {namespace} is ready already")]
    AlreadyReady {
        /// The namespace.
        namespace: NamespaceId,
    },
    /// The namespace was not made ready in time.
    #[error("namespace {namespace} was not made ready in time")]
    NamespaceLapsed {
        /// The namespace.
        namespace: NamespaceId,
    },
    /// Names can only be registered (or renewed) in a ready namespace.
    #[error("namespace {namespace} is not ready")]
    NamespaceNotReady {
        /// The namespace.
        namespace: NamespaceId,
    },
    /// The name is registered and not expired.
    #[error("name {name} is taken ({status:?})")]
    NameTaken {
        /// The name.
        name: Name,
        /// Its status.
        status: NameStatus,
    },
    /// No such name.
    #[error("no name {name}")]
    NoName {
        /// The name.
        name: Name,
    },
    /// The name is past its grace period.
    #[error("name {name} has expired")]
    NameExpired {
        /// The name.
        name: Name,
    },
    /// The name is revoked.
    #[error("name {name} is revoked")]
    NameRevoked {
        /// The name.
        name: Name,
    },
    /// In the grace period only a renewal is allowed.
    #[error("name {name} is in its grace period: only a renewal is allowed")]
    NameInGrace {
        /// The name.
        name: Name,
    },
    /// The signer's address does not own the name.
    #[error("name {name} is owned by address {owner}, not the signer's address {signer}")]
    NotOwner {
        /// The name.
        name: Name,
        /// The owner's address.
        owner: OwnerAddress,
        /// The address of the signer's key.
        signer: OwnerAddress,
    },
}

impl Rejection {
    /// Whether the operation may become valid later without any change: a reveal whose
    /// preorder is not deep enough yet. Nodes do not relay such a transaction.
    pub fn is_premature(&self) -> bool {
        matches!(self, Rejection::PreorderTooRecent { .. })
    }
}

/// A change whose `before` is not the record in the state it is applied to.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("the change of {key} does not match the current record")]
pub struct ChangeConflict {
    /// Which record.
    pub key: String,
}

/// A name-state tree update or read that fails.
#[derive(Debug, Error)]
pub enum SmtError<E> {
    /// The store failed.
    #[error("name-state store failed")]
    Store(#[source] E),
    /// The store holds something that is not a tree this code writes: an inner node's
    /// child missing or with another hash, a leaf off its key's path.
    #[error("the name-state store holds no valid tree at node {path}")]
    Corrupt {
        /// Where.
        path: NodePath,
    },
    /// A change's value before is not the one it replaces.
    #[error("the change of state key {key} expects {expected:?}, the tree holds {found:?}")]
    Conflict {
        /// The key.
        key: StateKey,
        /// The change's value hash before.
        expected: Option<NodeHash>,
        /// What the tree holds (after the batch's earlier changes).
        found: Option<NodeHash>,
    },
}

/// A lookup proof that does not verify.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The proof shows the key holds a record, but no record was given.
    #[error("the proof is of a record, but no record was given")]
    MissingRecord,
    /// A record was given, but the proof shows the key holds none.
    #[error("a record was given, but the proof is of absence")]
    UnexpectedRecord,
    /// An absence proof whose neighbour leaf is the key itself.
    #[error("the absence proof's neighbour leaf is the key itself")]
    NeighbourIsKey,
    /// An absence proof whose neighbour leaf is not on the key's path.
    #[error("the absence proof's neighbour leaf is off the key's path at depth {depth}")]
    NeighbourOffPath {
        /// The proof's depth.
        depth: u16,
    },
    /// More siblings than the tree has levels.
    #[error("proof of depth {depth}, more than 256")]
    TooDeep {
        /// The number of siblings.
        depth: usize,
    },
    /// The proof does not lead to the root.
    #[error("the proof does not lead to the root")]
    RootMismatch,
    /// The proven record bytes are not a record of the kind looked up.
    #[error("the proven record does not decode")]
    Record(#[source] DecodeError),
}
