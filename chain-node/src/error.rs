//! Error types, one enum per operation.

use thiserror::Error;

use crate::hash::{BlockHash, TxId};
use crate::transaction::OutPoint;
use crate::units::{Amount, Height};

/// Bytes that are not a canonical encoding.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended early.
    #[error("unexpected end of input: needed {needed} bytes, {remaining} remain")]
    UnexpectedEnd {
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// Bytes were left after the value.
    #[error("{count} trailing bytes after the value")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A CompactSize was not in its shortest form.
    #[error("non-canonical length encoding of {value}")]
    NonCanonicalLength {
        /// The value it encoded.
        value: u64,
    },
    /// A length exceeded its bound.
    #[error("{what} length {length} exceeds the maximum {max}")]
    LengthOverBound {
        /// What was being read.
        what: &'static str,
        /// The announced length.
        length: u64,
        /// The bound.
        max: usize,
    },
    /// An unknown variant tag.
    #[error("unknown {what} tag {tag}")]
    BadTag {
        /// What was being read.
        what: &'static str,
        /// The tag byte.
        tag: u8,
    },
}

/// A hex string that is not 32 bytes of hex.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid {what}: expected 64 hex characters")]
pub struct HexError {
    /// What was being parsed.
    pub what: &'static str,
}

/// An address string that cannot be used.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AddressError {
    /// Not bech32m, or a bad checksum.
    #[error("not a valid bech32m address: {0}")]
    Encoding(String),
    /// Another network's prefix.
    #[error("address is for another network: expected prefix {expected:?}, found {found:?}")]
    WrongNetwork {
        /// This network's prefix.
        expected: &'static str,
        /// The prefix found.
        found: String,
    },
    /// The payload is not a 32-byte hash.
    #[error("address payload is {length} bytes, expected 32")]
    BadLength {
        /// Payload length.
        length: usize,
    },
}

/// A compact target that is not acceptable.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PowError {
    /// Negative, zero, overflowing or non-canonical compact bits.
    #[error("invalid compact target {bits:#010x}")]
    BadCompact {
        /// The bits.
        bits: u32,
    },
}

/// Why a transaction is invalid.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TxError {
    /// A spending transaction without inputs.
    #[error("transaction has no inputs")]
    NoInputs,
    /// A transaction without outputs.
    #[error("transaction has no outputs")]
    NoOutputs,
    /// The same outpoint spent twice.
    #[error("input {outpoint:?} is spent twice")]
    DuplicateInput {
        /// The outpoint.
        outpoint: OutPoint,
    },
    /// An output value above the maximum.
    #[error("output {index} value {amount:?} is out of range")]
    OutputOutOfRange {
        /// Output index.
        index: usize,
        /// Its amount.
        amount: Amount,
    },
    /// The outputs add up to more than the maximum.
    #[error("total output value is out of range")]
    TotalOutOfRange,
    /// A burn output carries too much data.
    #[error("burn output {index} carries {length} bytes, more than 256")]
    BurnTooLarge {
        /// Output index.
        index: usize,
        /// Data length.
        length: usize,
    },
    /// Coinbase extra data too long.
    #[error("coinbase extra data is {length} bytes, more than 100")]
    CoinbaseExtraTooLarge {
        /// Length.
        length: usize,
    },
    /// Encoded size over the limit.
    #[error("transaction is {size} bytes, more than {max}")]
    TooLarge {
        /// Size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// A coinbase outside the first position of a block (or sent on its own).
    #[error("unexpected coinbase transaction")]
    UnexpectedCoinbase,
    /// The spent output does not exist or is already spent.
    #[error("input {outpoint:?} is missing or spent")]
    MissingInput {
        /// The outpoint.
        outpoint: OutPoint,
    },
    /// A coinbase output spent before maturity.
    #[error("input {outpoint:?} spends a coinbase at depth {depth}, needs 100")]
    ImmatureCoinbase {
        /// The outpoint.
        outpoint: OutPoint,
        /// Confirmations it has.
        depth: u32,
    },
    /// The input's key does not hash to the spent output's address.
    #[error("input {index} key does not match the spent address")]
    WrongKey {
        /// Input index.
        index: usize,
    },
    /// Input values overflow or exceed the maximum.
    #[error("total input value is out of range")]
    InputsOutOfRange,
    /// Outputs exceed inputs.
    #[error("outputs {outputs:?} exceed inputs {inputs:?}")]
    InsufficientInputs {
        /// Input sum.
        inputs: Amount,
        /// Output sum.
        outputs: Amount,
    },
    /// A signature that the ZIP-215 check rejects.
    #[error("input {index} has an invalid signature")]
    BadSignature {
        /// Input index.
        index: usize,
    },
}

/// Why a block (or header) is invalid.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BlockError {
    /// The bits field is not a valid compact target.
    #[error(transparent)]
    BadBits(#[from] PowError),
    /// The target is easier than the network limit.
    #[error("target {bits:#010x} is above the network limit")]
    TargetAboveLimit {
        /// The bits.
        bits: u32,
    },
    /// The hash does not meet the target.
    #[error("block hash {hash} does not meet its target")]
    HighHash {
        /// The hash.
        hash: BlockHash,
    },
    /// The bits are not what the retarget rule requires.
    #[error("bits {found:#010x} at height {height}, expected {expected:#010x}")]
    WrongBits {
        /// Height.
        height: Height,
        /// Bits required.
        expected: u32,
        /// Bits found.
        found: u32,
    },
    /// Time not after the median of the last 11 blocks.
    #[error("time {time} is not after the median time past {median}")]
    TimeTooOld {
        /// Block time.
        time: u32,
        /// Median time past.
        median: u32,
    },
    /// Time more than 2 hours ahead of the local clock.
    #[error("time {time} is more than 2 hours after the local time {now}")]
    TimeTooNew {
        /// Block time.
        time: u32,
        /// Local time.
        now: u64,
    },
    /// BIP94: a retarget block more than 600 s before its parent.
    #[error("time {time} of a retarget block is more than 600 s before its parent {prev_time}")]
    Timewarp {
        /// Block time.
        time: u32,
        /// Parent time.
        prev_time: u32,
    },
    /// Encoded size over the limit.
    #[error("block is {size} bytes, more than {max}")]
    TooLarge {
        /// Size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// No transactions.
    #[error("block has no transactions")]
    NoTransactions,
    /// The first transaction is not a coinbase.
    #[error("first transaction is not a coinbase")]
    FirstNotCoinbase,
    /// A second coinbase.
    #[error("transaction {index} is a second coinbase")]
    ExtraCoinbase {
        /// Its index.
        index: usize,
    },
    /// The header's Merkle root does not match the transactions: a mutated copy (see
    /// [`BlockError::is_mutation`]).
    #[error("merkle root does not match the transactions")]
    BadMerkleRoot,
    /// The coinbase carries another height.
    #[error("coinbase carries height {found}, block is at {expected}")]
    BadCoinbaseHeight {
        /// Block height.
        expected: Height,
        /// Height in the coinbase.
        found: Height,
    },
    /// The coinbase pays more than subsidy plus fees.
    #[error("coinbase pays {paid:?}, at most {allowed:?} allowed")]
    CoinbaseOverpays {
        /// Paid.
        paid: Amount,
        /// Subsidy plus fees.
        allowed: Amount,
    },
    /// Two transactions of the block spend the same output.
    #[error("transaction {index} double-spends {outpoint:?} within the block")]
    DoubleSpendInBlock {
        /// Index of the second spender.
        index: usize,
        /// The outpoint.
        outpoint: OutPoint,
    },
    /// Two transactions of the block have the same txid.
    #[error("transaction {txid} appears twice")]
    DuplicateTx {
        /// The txid.
        txid: TxId,
    },
    /// A transaction is invalid.
    #[error("transaction {index} ({txid}) is invalid")]
    Tx {
        /// Its index in the block.
        index: usize,
        /// Its txid.
        txid: TxId,
        /// Why.
        #[source]
        source: TxError,
    },
    /// The coinbase's name-state commitment is missing or malformed.
    #[error("bad name-state commitment")]
    NameCommitment(#[source] CommitmentError),
    /// The coinbase commits to another name-state root than the block leads to.
    #[error("the coinbase commits to name-state root {committed}, the block leads to {computed}")]
    WrongNameRoot {
        /// The committed root, in hex.
        committed: String,
        /// The root after the block's name operations, in hex.
        computed: String,
    },
}

impl BlockError {
    /// Whether the failure may belong to a mutated copy rather than to the block its hash
    /// names: the transactions do not match the header, so the header does not commit to
    /// what failed, and the block with this hash may still be valid. Such a copy is
    /// dropped without being stored or marked invalid (as Bitcoin Core treats
    /// `BLOCK_MUTATED`). Every other error of [`crate::validation::check_block`] and
    /// [`crate::validation::connect_block`] is found after the Merkle root matched, so the
    /// hash commits to it.
    pub fn is_mutation(&self) -> bool {
        matches!(self, BlockError::BadMerkleRoot)
    }

    /// The transaction error inside, if any.
    pub fn tx_error(&self) -> Option<&TxError> {
        match self {
            BlockError::Tx { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why a coinbase's name-state commitment cannot be read (`crate::name_root`).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum CommitmentError {
    /// No output carries the commitment.
    #[error("the coinbase carries no name-state commitment")]
    Missing,
    /// A second output carries one.
    #[error("the coinbase carries a second name-state commitment at output {vout}")]
    Repeated {
        /// The second one's index.
        vout: u32,
    },
    /// The output is not amount zero, version 1 and a 32-byte root.
    #[error("the name-state commitment at output {vout} is malformed")]
    Malformed {
        /// Its index.
        vout: u32,
    },
}

/// Why a light client refuses a name answer (`crate::light`): every message starts with
/// `invalid:`, since nothing in the answer can be trusted once a check fails.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LightError {
    /// A field of the answer does not decode.
    #[error("invalid: the answer's {what} does not decode")]
    Malformed {
        /// The field.
        what: &'static str,
    },
    /// The headers do not start at this network's genesis.
    #[error("invalid: the header chain does not start at this network's genesis")]
    NotFromGenesis,
    /// More headers than heights.
    #[error("invalid: too many headers")]
    TooManyHeaders,
    /// A header does not name the one before as its parent.
    #[error("invalid: the header at height {height} does not link to the one before")]
    BrokenLink {
        /// Its height.
        height: Height,
    },
    /// A header's proof of work fails.
    #[error("invalid: the header at height {height} has no valid proof of work")]
    BadPow {
        /// Its height.
        height: Height,
        /// Why.
        #[source]
        source: BlockError,
    },
    /// A header's bits are not the difficulty rules'.
    #[error("invalid: the header at height {height} carries the wrong difficulty")]
    WrongBits {
        /// Its height.
        height: Height,
    },
    /// A header's time breaks the median-time or timewarp rule.
    #[error("invalid: the header at height {height} has a time the rules refuse")]
    BadTime {
        /// Its height.
        height: Height,
    },
    /// The answer's block is not in the header chain.
    #[error("invalid: the answer's block is not the header chain's block at height {height}")]
    NotInChain {
        /// The answer's height.
        height: Height,
    },
    /// The answer's coinbase is not a coinbase.
    #[error("invalid: the answer's coinbase is not a coinbase")]
    NotCoinbase,
    /// The coinbase is not the first leaf under the header's Merkle root.
    #[error("invalid: the coinbase is not under the block's merkle root")]
    CoinbaseNotInBlock,
    /// The coinbase carries no usable commitment.
    #[error("invalid: {0}")]
    Commitment(#[source] CommitmentError),
    /// The lookup proof does not lead to the committed root.
    #[error("invalid: the name proof does not verify")]
    Proof(#[source] naming::ProofError),
}

/// Why the chain state refused a block or an operation.
#[cfg(feature = "node")]
#[derive(Debug, Error)]
pub enum ChainError {
    /// The block breaks a consensus rule.
    #[error("block {hash} is invalid")]
    Invalid {
        /// Its hash.
        hash: BlockHash,
        /// The rule.
        #[source]
        source: BlockError,
    },
    /// The transactions do not match the block's own header ([`BlockError::is_mutation`]):
    /// a mutated copy of the block the hash names, refused without storing or marking
    /// anything, so that the real block is still accepted.
    #[error(
        "block {hash} is a mutated copy: its transactions do not match its header; nothing was stored or marked"
    )]
    Mutated {
        /// The hash its header has.
        hash: BlockHash,
        /// The failed check.
        #[source]
        source: Box<BlockError>,
    },
    /// The parent is not known.
    #[error("block {hash} has an unknown parent {prev}; submit the parent first")]
    UnknownParent {
        /// The block.
        hash: BlockHash,
        /// Its parent.
        prev: BlockHash,
    },
    /// The block is already stored.
    #[error("block {hash} is already known")]
    Duplicate {
        /// Its hash.
        hash: BlockHash,
    },
    /// The block descends from an invalid block.
    #[error("block {hash} descends from an invalid block")]
    InvalidAncestor {
        /// Its hash.
        hash: BlockHash,
    },
    /// The block or header is marked invalid (or descends from one that is).
    #[error("block {hash} is marked invalid")]
    KnownInvalid {
        /// Its hash.
        hash: BlockHash,
    },
    /// A header of a batch breaks a header rule (proof of work, bits, time); nothing of
    /// the batch was stored.
    #[error("header {index} of the batch ({hash}) is invalid; nothing of the batch was stored")]
    BadHeader {
        /// Its position in the batch.
        index: usize,
        /// Its hash.
        hash: BlockHash,
        /// The rule.
        #[source]
        source: Box<BlockError>,
    },
    /// A header of a batch does not connect: its parent is neither a known header nor
    /// the header before it in the batch; nothing of the batch was stored.
    #[error("header {index} of the batch ({hash}) does not connect to its parent {prev}")]
    UnconnectedHeader {
        /// Its position in the batch.
        index: usize,
        /// Its hash.
        hash: BlockHash,
        /// The parent it names.
        prev: BlockHash,
    },
    /// More headers in one batch than a `headers` answer may carry.
    #[error("{count} headers in one batch, more than {max}")]
    TooManyHeaders {
        /// Headers sent.
        count: usize,
        /// The bound.
        max: usize,
    },
    /// A low-work header chain held for a peer would pass its bound before proving
    /// enough work; what was held is dropped.
    #[error(
        "the peer's header chain holds more than {max} headers without reaching the minimum work"
    )]
    PendingFull {
        /// The bound on headers held per peer.
        max: usize,
    },
    /// A block nobody asked for whose chain has less work than the active tip or the
    /// network's minimum: not stored (not a fault of the sender, who may have raced a
    /// new tip).
    #[error(
        "block {hash} was not asked for and its chain has less work than the active tip or the minimum chain work; nothing was stored"
    )]
    LowWork {
        /// Its hash.
        hash: BlockHash,
    },
    /// A block locator longer than the bound.
    #[error("block locator of {length} hashes, more than {max}")]
    LocatorTooLong {
        /// Hashes sent.
        length: usize,
        /// The bound.
        max: usize,
    },
    /// No block with that hash.
    #[error("block {hash} not found")]
    UnknownBlock {
        /// The hash.
        hash: BlockHash,
    },
    /// The genesis block cannot be invalidated.
    #[error("the genesis block cannot be invalidated")]
    Genesis,
    /// The data directory holds another network or format.
    #[error("the data directory holds {found}, expected {expected}; use another --data directory")]
    WrongStore {
        /// What this node expects.
        expected: String,
        /// What it found.
        found: String,
    },
    /// The data directory holds an earlier storage format of this network.
    #[error(
        "the data directory holds chain storage format {found}, this build reads format {expected}; run `chain-node reindex` to upgrade it, or remove the directory"
    )]
    OldFormat {
        /// The format found.
        found: u32,
        /// The format this build reads.
        expected: u32,
    },
    /// A stored record does not decode.
    #[error("stored record {key} is corrupt; run `chain-node reindex`")]
    Corrupt {
        /// The key, in hex.
        key: String,
        /// Decoder error.
        #[source]
        source: DecodeError,
    },
    /// A stored record of a derived index does not decode, or does not match what its
    /// undo record says it is.
    #[error("stored record {key} of the {index} index is corrupt; run `chain-node reindex`")]
    IndexCorrupt {
        /// The index.
        index: &'static str,
        /// The key, in hex.
        key: String,
        /// What is wrong with it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A record the chain state needs is missing.
    #[error("stored record {what} is missing; run `chain-node reindex`")]
    Missing {
        /// What is missing.
        what: String,
    },
    /// The storage engine failed.
    #[error("storage error")]
    Storage(#[from] sled::Error),
    /// An earlier write failed after it may have been applied, so memory and disk may
    /// disagree: the chain state refuses every further change until it is reopened.
    #[error(
        "the chain state stopped accepting changes after a storage failure ({reason}); restart the node to reload it from disk"
    )]
    Poisoned {
        /// The failure that stopped it.
        reason: String,
    },
    /// The active tip is at the largest height there is: no block can follow it.
    #[error("the active tip is at the largest possible height; no block can follow it")]
    HeightExhausted,
}

#[cfg(feature = "node")]
impl ChainError {
    /// Whether the error is the fault of whoever sent the headers or locator: a peer
    /// that sent it misbehaved (invalid or unconnected headers, a batch or locator over
    /// its bound, a chain descending from an invalid block, too long a low-work chain).
    pub fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            ChainError::BadHeader { .. }
                | ChainError::UnconnectedHeader { .. }
                | ChainError::TooManyHeaders { .. }
                | ChainError::PendingFull { .. }
                | ChainError::LocatorTooLong { .. }
                | ChainError::KnownInvalid { .. }
                | ChainError::InvalidAncestor { .. }
                | ChainError::Invalid { .. }
        )
    }

    /// Whether this is a failure of the node's storage (or of its records) rather than a
    /// refusal of the request.
    pub fn is_storage(&self) -> bool {
        matches!(
            self,
            ChainError::Storage(_)
                | ChainError::Poisoned { .. }
                | ChainError::Corrupt { .. }
                | ChainError::IndexCorrupt { .. }
                | ChainError::Missing { .. }
        )
    }
}

/// Why the mempool refused a transaction.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MempoolError {
    /// Already in the mempool.
    #[error("transaction {txid} is already in the mempool")]
    AlreadyKnown {
        /// Its txid.
        txid: TxId,
    },
    /// A coinbase cannot be relayed.
    #[error("coinbase transactions are only valid in blocks")]
    Coinbase,
    /// A name reveal whose preorder is not confirmed deep enough yet: relaying it would
    /// show the name to anyone who could preorder it first.
    #[error("transaction {txid} is an early reveal, not relayed: {reason}")]
    EarlyReveal {
        /// Its txid.
        txid: TxId,
        /// The rule it breaks now (boxed: a rejection names addresses and a name,
        /// and a mempool error stays small).
        #[source]
        reason: Box<naming::Rejection>,
    },
    /// It breaks a consensus rule.
    #[error("transaction {txid} is invalid")]
    Invalid {
        /// Its txid.
        txid: TxId,
        /// The rule.
        #[source]
        source: TxError,
    },
    /// It spends an output that a mempool transaction already spends (first seen wins).
    #[error("transaction {txid} conflicts with mempool transaction {existing} over {outpoint:?}")]
    Conflict {
        /// Its txid.
        txid: TxId,
        /// The transaction seen first.
        existing: TxId,
        /// The contested output.
        outpoint: OutPoint,
    },
    /// Some inputs are unknown; the transaction is held in the orphan pool.
    #[error("transaction {txid} spends unknown or spent outputs (kept as an orphan)")]
    MissingInputs {
        /// Its txid.
        txid: TxId,
    },
    /// Fee rate below the relay minimum.
    #[error("fee rate {rate} base units per 1000 bytes is below the minimum {min}")]
    FeeTooLow {
        /// The offered rate.
        rate: u64,
        /// The minimum.
        min: u64,
    },
    /// The transaction was valid but could not be saved durably, so it was not kept.
    #[error("transaction {txid} could not be saved: {reason}; check the data directory")]
    NotSaved {
        /// Its txid.
        txid: TxId,
        /// The storage error.
        reason: String,
    },
    /// The mempool is full of transactions paying at least as much.
    #[error("mempool is full and fee rate {rate} does not beat the lowest {lowest}")]
    Full {
        /// The offered rate.
        rate: u64,
        /// The lowest rate in the pool.
        lowest: u64,
    },
    /// Too many unconfirmed ancestors in the pool.
    #[error(
        "transaction {txid} would have {count} unconfirmed transactions in its ancestry (itself included), more than {max}"
    )]
    TooManyAncestors {
        /// Its txid.
        txid: TxId,
        /// Ancestors it would have, itself included.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Its unconfirmed ancestors are too large together.
    #[error(
        "transaction {txid} and its unconfirmed ancestors would be {bytes} bytes, more than {max}"
    )]
    AncestorsTooLarge {
        /// Its txid.
        txid: TxId,
        /// Their encoded size, its own included.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A pool ancestor would get too many descendants.
    #[error(
        "transaction {txid} would give mempool transaction {ancestor} {count} descendants (itself included), more than {max}"
    )]
    TooManyDescendants {
        /// Its txid.
        txid: TxId,
        /// The ancestor over the limit.
        ancestor: TxId,
        /// Descendants the ancestor would have, itself included.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A pool ancestor's descendants would be too large together.
    #[error(
        "transaction {txid} would make mempool transaction {ancestor} and its descendants {bytes} bytes, more than {max}"
    )]
    DescendantsTooLarge {
        /// Its txid.
        txid: TxId,
        /// The ancestor over the limit.
        ancestor: TxId,
        /// The ancestor's size with its descendants.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// It spends unknown outputs and cannot be held as an orphan.
    #[error(
        "transaction {txid} spends unknown or spent outputs and, at {size} bytes, is not kept as an orphan (at most {max} bytes of orphans)"
    )]
    OrphanNotKept {
        /// Its txid.
        txid: TxId,
        /// Its size.
        size: usize,
        /// The orphan pool's byte limit.
        max: usize,
    },
    /// The chain state could not be read while checking the transaction.
    #[error("transaction {txid} could not be checked: {reason}; check the data directory")]
    Storage {
        /// Its txid.
        txid: TxId,
        /// The storage error.
        reason: String,
    },
}

/// Why a block template cannot be built.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// Subsidy plus fees exceed the money supply: the coinbase could not pay them.
    #[error(
        "block reward out of range: subsidy {subsidy:?} plus fees {fees:?} exceed the money supply"
    )]
    RewardOutOfRange {
        /// The block subsidy.
        subsidy: Amount,
        /// The selected transactions' fees.
        fees: Amount,
    },
    /// The coinbase's extra outputs take more than the reward.
    #[error("the coinbase's extra outputs ({extra:?}) take more than the block reward {reward:?}")]
    ExtraOutputsOverReward {
        /// Subsidy plus fees.
        reward: Amount,
        /// What the extra outputs add up to, or `None` when the sum overflows.
        extra: Option<Amount>,
    },
}

/// Why a node operation failed.
#[cfg(feature = "node")]
#[derive(Debug, Error)]
pub enum NodeError {
    /// The chain state refused it.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The mempool refused it.
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// No block template could be built.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The node is shutting down, or its owner thread is gone: nothing was done.
    #[error("the node is shutting down")]
    ShuttingDown,
    /// The node's owner thread could not be started.
    #[error("cannot start the node's owner thread")]
    Spawn(#[source] std::io::Error),
}

/// Why a zone file was not stored (nothing was).
#[cfg(feature = "node")]
#[derive(Debug, Error)]
pub enum ZoneFileError {
    /// The file is over the size bound.
    #[error("zone file of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The bound ([`crate::zonefile::MAX_ZONE_FILE_BYTES`]).
        max: usize,
    },
    /// No name record of the active tip and no name operation in the mempool has its
    /// hash.
    #[error("zone file {hash} is referenced by no name record and no pending name operation")]
    Unreferenced {
        /// Its hash, in hex.
        hash: String,
    },
    /// The node failed or stopped.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Why a [`crate::Subscription`] gave no event.
#[cfg(feature = "node")]
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum EventError {
    /// The subscriber fell behind: its oldest events were dropped. Resync from the chain.
    #[error("the subscriber fell behind and {missed} events were dropped; resync from the chain")]
    Lagged {
        /// How many events were dropped.
        missed: u64,
    },
    /// No event is buffered (`try_recv`).
    #[error("no event is buffered")]
    Empty,
    /// No event came in time (`recv_timeout`).
    #[error("no event came in time")]
    Timeout,
    /// The node stopped and every buffered event was read.
    #[error("the node stopped; no event will follow")]
    Closed,
}

/// Why the chain node's network layer failed or refused a command.
#[cfg(feature = "node")]
#[derive(Debug, Error)]
pub enum P2pError {
    /// The node key file could not be read or created.
    #[error("cannot load the p2p key")]
    Key(#[from] gossip::KeyError),
    /// The network could not start (an address that cannot be bound, bad limits).
    #[error("cannot start the p2p network")]
    Start(#[from] gossip::StartError),
    /// The network's runtime could not start.
    #[error("cannot start the p2p runtime")]
    Runtime(#[source] std::io::Error),
    /// The node refused or stopped.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The network has stopped.
    #[error("the p2p network has stopped")]
    Stopped,
    /// The network refused the command.
    #[error(transparent)]
    Command(#[from] gossip::CommandError),
    /// No connected peer matches.
    #[error("no connected peer matches {target}")]
    NotConnected {
        /// The address, peer id or node id asked for.
        target: String,
    },
    /// `addnode remove` for an address that was not added.
    #[error("{address} was not added as a peer")]
    NotAdded {
        /// The address.
        address: String,
    },
}

#[cfg(feature = "node")]
impl From<gossip::Stopped> for P2pError {
    fn from(_: gossip::Stopped) -> Self {
        P2pError::Stopped
    }
}
