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

/// A signed-note key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not `name+hex8+base64`.
    #[error("key is not of the form name+keyid+base64")]
    Parts,
    /// The key name is empty or holds whitespace or `+`.
    #[error("key name is empty or contains whitespace or '+'")]
    Name,
    /// The key ID is not 8 hex digits.
    #[error("key ID is not 8 hex digits")]
    KeyIdEncoding,
    /// The key material is not base64.
    #[error("key material is not valid base64")]
    KeyEncoding,
    /// The key material has the wrong length for its type.
    #[error("key material has the wrong length")]
    KeyLength,
    /// The signature type byte is not one this crate handles.
    #[error("unsupported key type 0x{0:02x}")]
    UnknownType(u8),
    /// The public key is not a valid point / SubjectPublicKeyInfo.
    #[error("invalid public key")]
    PublicKey,
    /// The key ID written in the key does not match the key.
    #[error("key ID does not match the key")]
    KeyIdMismatch,
    /// A private key was expected.
    #[error("not a private key (expected PRIVATE+KEY+...)")]
    NotPrivate,
}

/// A signed note could not be parsed or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note breaks the signed-note format.
    #[error("malformed note: {why}")]
    Malformed {
        /// What is wrong.
        why: &'static str,
    },
    /// A known key's signature does not verify: the whole note is rejected.
    #[error("invalid signature for key {key}")]
    BadSignature {
        /// The key, `name+keyid`.
        key: String,
    },
    /// No signature by a known key.
    #[error("note has no verifiable signatures")]
    NoVerifiedSignature,
    /// An RFC 6962 tree-head signature is not a TLS `DigitallySigned` ECDSA/SHA-256.
    #[error("malformed RFC 6962 tree head signature")]
    Rfc6962Encoding,
}

/// An anchor or an anchor list could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    /// The bytes do not start with the anchor magic `OTLA`.
    #[error("not an anchor: the data does not start with OTLA")]
    Magic,
    /// An anchor of a version this crate does not read.
    #[error("anchor version {version} is not known (this reader knows version 1)")]
    Version {
        /// The version byte.
        version: u8,
    },
    /// A version-1 anchor of the wrong length.
    #[error("anchor is {len} bytes; a version-1 anchor is 113")]
    Length {
        /// The length of the data.
        len: usize,
    },
    /// The anchor names another key.
    #[error("anchor is by key ID {anchored}, not this log's")]
    OtherKey {
        /// The key ID in the anchor.
        anchored: crate::note::KeyId,
    },
    /// The checkpoint has extension lines, which an anchor does not carry.
    #[error("a checkpoint with extension lines cannot be anchored")]
    Extensions,
    /// The log key's signature on the checkpoint is not a 64-byte Ed25519 one.
    #[error("the checkpoint carries no Ed25519 signature by the log key")]
    NotEd25519,
    /// The checkpoint could not be read or rebuilt.
    #[error("anchored checkpoint: {0}")]
    Checkpoint(#[source] CheckpointError),
    /// The log's signature does not verify.
    #[error("anchor signature: {0}")]
    Signature(#[source] NoteError),
    /// An anchor list is malformed.
    #[error("malformed anchor list: {why}")]
    List {
        /// What is wrong.
        why: &'static str,
    },
}

/// A checkpoint body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The origin line is missing or empty.
    #[error("checkpoint origin line is missing or empty")]
    Origin,
    /// The size line is not a canonical decimal u64.
    #[error("checkpoint size line is not a canonical decimal")]
    Size,
    /// The root line is not a canonical base64 32-byte hash.
    #[error("checkpoint root line is not a base64 32-byte hash")]
    Root,
    /// An extension line is empty.
    #[error("checkpoint has an empty extension line")]
    EmptyExtension,
    /// The text does not end in a newline.
    #[error("checkpoint does not end in a newline")]
    NoNewline,
    /// Longer than any checkpoint this crate reads.
    #[error("checkpoint too long")]
    TooLong,
    /// The signed note around it did not verify.
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A cosignature could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignError {
    /// The text breaks the signed-note text rules.
    #[error("not a note text")]
    NotANote(#[source] NoteError),
    /// The text is not a checkpoint.
    #[error("not a checkpoint")]
    NotACheckpoint(#[source] CheckpointError),
    /// The timestamp is past what a cosignature carries (2^63 - 1).
    #[error("timestamp {timestamp} is past 2^63 - 1")]
    Timestamp {
        /// The timestamp given.
        timestamp: u64,
    },
}

/// A tlog-witness request or answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessWireError {
    /// Longer than this crate reads.
    #[error("longer than {limit} bytes")]
    TooLong {
        /// The most read.
        limit: usize,
    },
    /// Not in the tlog-witness format.
    #[error("malformed: {why}")]
    Malformed {
        /// What is wrong.
        why: &'static str,
    },
    /// The witness's cosignature is missing or does not verify.
    #[error("cosignature: {0}")]
    Cosignature(#[from] NoteError),
}

/// A policy file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Longer than this crate reads.
    #[error("policy is longer than {limit} bytes")]
    TooLong {
        /// The most read.
        limit: usize,
    },
    /// A control character other than tab and newline.
    #[error("policy holds the control character U+{0:04X}")]
    ControlCharacter(u32),
    /// A line breaks the format.
    #[error("line {line}: {why}")]
    Line {
        /// The 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// No `quorum` line.
    #[error("policy has no quorum line (write `quorum none` to require no cosignature)")]
    NoQuorum,
}

/// A checkpoint does not satisfy a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuorumError {
    /// The note is malformed, a listed key's signature fails, or no listed key signed.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The note's text is not a checkpoint.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// No listed log key named as the origin signed it.
    #[error("no verified signature by a log key named {origin:?}, the checkpoint's origin")]
    NotSignedByLog {
        /// The checkpoint's origin.
        origin: String,
    },
    /// The cosignatures that verified do not meet the quorum.
    #[error("quorum {quorum:?} not met: cosigned by {}", if cosigned_by.is_empty() { "no witness of the policy".to_owned() } else { cosigned_by.join(", ") })]
    TooFewCosignatures {
        /// The quorum's name.
        quorum: String,
        /// The policy witnesses whose cosignature verified.
        cosigned_by: Vec<String>,
    },
}

/// A tile path or tile bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// Not a canonical C2SP tile path.
    #[error("not a canonical tile path")]
    Path,
    /// A hash tile of the wrong length.
    #[error("tile is {got} bytes, expected {want}")]
    TileLength {
        /// Bytes given.
        got: usize,
        /// Bytes expected.
        want: usize,
    },
    /// An entry bundle that does not hold exactly its width of entries.
    #[error("malformed entry bundle: {why}")]
    Bundle {
        /// What is wrong.
        why: &'static str,
    },
    /// An entry longer than a u16 length prefix can carry.
    #[error("entry of {len} bytes is longer than 65535")]
    EntryTooLong {
        /// The entry's length.
        len: usize,
    },
}

/// A tlog-proof receipt could not be read or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt breaks the tlog-proof format.
    #[error("malformed receipt: {why}")]
    Malformed {
        /// What is wrong.
        why: &'static str,
    },
    /// The checkpoint's signature did not verify.
    #[error("receipt checkpoint: {0}")]
    Note(#[from] NoteError),
    /// The checkpoint body is malformed.
    #[error("receipt checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint is for another log.
    #[error("checkpoint origin {origin:?} is not the key's log {key:?}")]
    Origin {
        /// The checkpoint's origin.
        origin: String,
        /// The key's name.
        key: String,
    },
    /// The audit path does not lead to the checkpoint's root.
    #[error("inclusion proof: {0}")]
    Proof(#[from] VerifyError),
}

/// The data directory could not be read or written.
#[cfg(feature = "server")]
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An I/O error on a path.
    #[error("{}", .path.display())]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The directory holds another format (or something else entirely).
    #[error("data directory format is {found:?}, this program reads {:?} and upgrades {:?} and {:?}; a directory of a newer format needs the newer merkle-log that wrote it", crate::storage::FORMAT_V3.trim_end(), crate::storage::FORMAT_V2.trim_end(), crate::storage::FORMAT_V1.trim_end())]
    Format {
        /// What was found.
        found: String,
    },
    /// Another process uses the directory.
    #[error("{} is in use by another merkle-log process", .path.display())]
    Locked {
        /// The directory.
        path: std::path::PathBuf,
    },
    /// A stored file does not hold what it must.
    #[error("damaged data in {}: {what}", .path.display())]
    Damaged {
        /// The damaged file.
        path: std::path::PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The dedup index is damaged, missing or unfinished. It holds nothing that
    /// the tiles do not, so the log rebuilds it.
    #[error("dedup index {}: {what}", .path.display())]
    IndexDamaged {
        /// The table file or the index directory.
        path: std::path::PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Asked for data beyond the published tree.
    #[error("{path} is not in the published tree")]
    NotYetInLog {
        /// What was asked for.
        path: String,
    },
}

#[cfg(feature = "server")]
impl StorageError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        StorageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The durable log failed.
#[cfg(feature = "server")]
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Reading or writing the data directory failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Stored data contradicts itself: the log refuses to sign over it.
    #[error("damaged data in {}: {what}; run `merkle-log fsck` and restore from a backup", .path.display())]
    Damaged {
        /// The file found wrong.
        path: std::path::PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The data directory belongs to another key.
    #[error("the data directory belongs to key {stored}, not {given}")]
    WrongKey {
        /// The verifier key recorded in the directory.
        stored: String,
        /// The verifier key of the given private key.
        given: String,
    },
    /// The key name cannot be a checkpoint origin.
    #[error("the key name cannot be used as a checkpoint origin")]
    Origin,
    /// The new tree would not be consistent with the published checkpoint.
    #[error("refusing to sign: new tree is not consistent with the published checkpoint: {0}")]
    Inconsistent(String),
    /// A proof could not be built.
    #[error("building a proof: {0}")]
    Proof(String),
    /// An entry is longer than an entry bundle can carry; nothing was added.
    #[error("entry of {len} bytes is longer than 65535 bytes; nothing was added")]
    EntryTooLong {
        /// The entry's length.
        len: usize,
    },
    /// The log holds as many entries as a `u64` tree size counts.
    #[error("the log is full: it cannot hold more than 2^64 - 1 entries; nothing was added")]
    Full,
    /// An earlier integration failed; the log must be reopened.
    #[error("the log stopped after a failed batch; restart it to re-check the data")]
    Halted,
    /// An internal invariant did not hold.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// A private-key file could not be made or read.
#[cfg(feature = "server")]
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The origin cannot be a signed-note key name.
    #[error("{origin:?} cannot be a key name: it must be non-empty, without spaces or '+'")]
    Name {
        /// The origin given.
        origin: String,
    },
    /// No randomness.
    #[error("reading the OS random source: {0}")]
    Random(String),
    /// Reading or writing the file failed.
    #[error("{}", .path.display())]
    Io {
        /// The key file.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is readable by others.
    #[error("{} has mode {mode:o}: a private key must not be readable by others (chmod 600)", .path.display())]
    Permissions {
        /// The key file.
        path: std::path::PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not hold a private key.
    #[error("{}", .path.display())]
    Key {
        /// The key file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        #[source]
        source: KeyError,
    },
}

/// A witness could not start.
#[cfg(feature = "server")]
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// Reading or writing the data directory failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The directory is not a witness's.
    #[error("{} is not a witness data directory: found {found:?}", .path.display())]
    Format {
        /// The directory.
        path: std::path::PathBuf,
        /// What its FORMAT holds.
        found: String,
    },
    /// A stored head does not hold what it must.
    #[error("damaged witness state in {}: {what}; restore it from a backup (a witness that forgets a head may cosign a fork)", .path.display())]
    Damaged {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        what: String,
    },
    /// No log to witness.
    #[error("no log to witness: give each log's verifier key with --log")]
    NoLogs,
    /// A log key of a type no log signs checkpoints with.
    #[error("{key} is a cosigning key (type 0x04), not a log key")]
    LogKey {
        /// The key.
        key: String,
    },
}

/// Why a witness refused an `add-checkpoint` request; each maps to the HTTP
/// status C2SP tlog-witness prescribes.
#[cfg(feature = "server")]
#[derive(Debug, thiserror::Error)]
pub enum AddCheckpointError {
    /// 400: a malformed body, or an old size above the checkpoint's.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403: no valid signature by a key of the log, or a failing one.
    #[error("checkpoint signature: {0}")]
    Forbidden(String),
    /// 404: the witness does not know this log.
    #[error("unknown log {origin:?}")]
    UnknownLog {
        /// The checkpoint's origin line.
        origin: String,
    },
    /// 409: the old size is not the witness's, or the checkpoint has another
    /// root at the witness's size.
    #[error("the witness's latest cosigned size for this log is {size}")]
    Conflict {
        /// The size of the latest checkpoint the witness cosigned for the log.
        size: u64,
    },
    /// 422: the checkpoint does not extend the witness's head.
    #[error("{0}")]
    Unprocessable(String),
    /// 500: the new head could not be written; the log is refused until restart.
    #[error("writing the witness state")]
    Storage(#[source] StorageError),
    /// 500: an earlier write failed; restart the witness.
    #[error("the witness stopped cosigning this log after a failed write; restart it")]
    Halted,
    /// 500: the cosignature could not be made (a clock past 2^63 seconds).
    #[error("cosigning")]
    Cosign(#[source] CosignError),
}

#[cfg(feature = "server")]
impl AddCheckpointError {
    /// The HTTP status of this refusal.
    pub fn status(&self) -> u16 {
        match self {
            AddCheckpointError::BadRequest(_) => 400,
            AddCheckpointError::Forbidden(_) => 403,
            AddCheckpointError::UnknownLog { .. } => 404,
            AddCheckpointError::Conflict { .. } => 409,
            AddCheckpointError::Unprocessable(_) => 422,
            AddCheckpointError::Storage(_)
            | AddCheckpointError::Halted
            | AddCheckpointError::Cosign(_) => 500,
        }
    }
}

/// A log cannot work with its witness policy, or a step of witnessing failed.
#[cfg(feature = "server")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessingError {
    /// The policy lists logs, but not this one.
    #[error("the witness policy lists logs but not this log's key {key}")]
    NotInPolicy {
        /// This log's verifier key.
        key: String,
    },
    /// A witness URL the log cannot use.
    #[error("witness {witness}: URL {url:?} is not http:// or https://")]
    Url {
        /// The witness's name in the policy.
        witness: String,
        /// Its URL.
        url: String,
    },
    /// The witnesses with a URL cannot meet the quorum.
    #[error("the witnesses that have a URL in the policy cannot meet the quorum {quorum:?}")]
    Unreachable {
        /// The quorum's name.
        quorum: String,
    },
    /// A proof could not be built from the tiles.
    #[error("building a proof: {0}")]
    Proof(String),
}

/// The anchoring options cannot work.
#[cfg(feature = "server")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchoringError {
    /// `--anchor-every 0`.
    #[error("--anchor-every must be at least 1 block")]
    Every,
    /// The chain node's URL is not HTTP.
    #[error("--anchor-rpc {url:?} is not an http:// or https:// URL")]
    Url {
        /// The URL given.
        url: String,
    },
    /// No `wallet` binary to pay with.
    #[error(
        "no wallet binary at {path} (anchoring pays with `wallet publish`: put `wallet` next to merkle-log or on PATH)"
    )]
    WalletBinary {
        /// Where it was looked for.
        path: std::path::PathBuf,
    },
}

/// An HTTP server stopped serving.
#[cfg(feature = "http")]
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listener failed for good (transient failures are retried).
    #[error("accepting connections failed")]
    Accept {
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A reservation that did not fit in a server's response budget.
#[cfg(feature = "http")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the server is sending too many large responses ({bytes} more bytes do not fit); retry later"
)]
pub struct BudgetSpent {
    /// The bytes asked for.
    pub bytes: usize,
}

/// A request body was not read.
#[cfg(feature = "http")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Longer than the server takes, as declared or as sent.
    #[error("request body is longer than {limit} bytes")]
    TooLarge {
        /// The most the server takes.
        limit: usize,
    },
    /// Malformed (bad chunking) or cut short.
    #[error("request body could not be read: {reason}")]
    Unreadable {
        /// What went wrong.
        reason: String,
    },
}

/// The log's server could not start, or stopped with a failure.
#[cfg(feature = "server")]
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listener, the runtime or a thread could not be set up.
    #[error("cannot start the server: {what}")]
    Start {
        /// What was being set up.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Serving HTTP failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The sequencer halted after a failed batch; entries from that batch on were
    /// answered 503 and not acknowledged.
    #[error("the log halted while serving; restart to re-check the data directory")]
    Halted {
        /// Why the batch failed.
        #[source]
        source: LogError,
    },
    /// The last published checkpoint (`checkpoint.witnessed`) could not be read
    /// or is not a checkpoint of this log's tree.
    #[error("cannot start publishing cosigned checkpoints")]
    Witnessed {
        /// What is wrong.
        #[source]
        source: LogError,
    },
    /// The sequencer thread panicked.
    #[error("the sequencer thread panicked")]
    SequencerPanicked,
    /// The server thread panicked.
    #[error("the server thread panicked")]
    ServerPanicked,
}
