//! Checkpoints anchored in a chain (docs/anchoring.md): the bytes of the data output
//! that commits to one signed checkpoint ([`Anchor`]), and the log's signed list of
//! where its anchors are ([`AnchorList`], served at `/anchors`). Pure formats: no I/O.
//!
//! An anchor carries the log's own Ed25519 signature over the checkpoint, so it
//! proves itself: an auditor rebuilds the signed checkpoint from the anchor and
//! the log's key, and trusts neither who paid for the transaction nor the log's list.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::{Checkpoint, parse_decimal};
use crate::error::AnchorError;
use crate::hash::Hash;
use crate::note::{KeyId, Note, VerifierKey, verify_note};

/// The bytes every anchor starts with, whatever its version: `OTLA` (open-trust log
/// anchor). Auditors list a chain's data outputs by this prefix.
pub const ANCHOR_MAGIC: [u8; 4] = *b"OTLA";
/// The version this crate writes and reads, the byte after [`ANCHOR_MAGIC`].
pub const ANCHOR_VERSION: u8 = 1;
/// The length of a version-1 anchor: magic, version, key ID, size, root, signature.
pub const ANCHOR_LEN: usize = 4 + 1 + 4 + 8 + 32 + 64;
/// The first line of the text of an [`AnchorList`].
pub const ANCHOR_LIST_HEADER: &str = "open-trust.org/anchors/v1";
/// Most records an [`AnchorList`] holds (the log keeps its newest).
pub const MAX_ANCHOR_RECORDS: usize = 1000;

/// One checkpoint, committed to in a chain's data output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// The key ID of the log key that signed the checkpoint.
    pub key_id: KeyId,
    /// The checkpoint's tree size.
    pub size: u64,
    /// The checkpoint's root hash.
    pub root: Hash,
    /// The log's Ed25519 signature over the checkpoint text `origin\nsize\nroot\n`.
    pub signature: [u8; 64],
}

impl Anchor {
    /// The anchor of a checkpoint signed by `key`, taken from the signed note: the
    /// note must verify under `key`, and the checkpoint must have no extension
    /// lines (an auditor rebuilds the signed text from origin, size and root alone).
    ///
    /// # Errors
    /// [`AnchorError`] when the note is not a checkpoint signed by `key`, or has
    /// extension lines.
    pub fn from_signed_checkpoint(note: &str, key: &VerifierKey) -> Result<Anchor, AnchorError> {
        let (checkpoint, _) = Checkpoint::from_signed_note(note, std::slice::from_ref(key))
            .map_err(AnchorError::Checkpoint)?;
        if !checkpoint.extensions().is_empty() {
            return Err(AnchorError::Extensions);
        }
        let parsed = Note::parse(note).map_err(AnchorError::Signature)?;
        let signature = parsed
            .signatures()
            .iter()
            .find(|s| s.key_id == key.id() && s.name == key.name().as_str())
            .and_then(|s| <[u8; 64]>::try_from(s.signature.as_slice()).ok())
            .ok_or(AnchorError::NotEd25519)?;
        Ok(Anchor {
            key_id: key.id(),
            size: checkpoint.size(),
            root: checkpoint.root(),
            signature,
        })
    }

    /// The data-output bytes: `OTLA`, version 1, key ID (4 bytes), size (u64
    /// big-endian), root (32 bytes), signature (64 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ANCHOR_LEN);
        out.extend_from_slice(&ANCHOR_MAGIC);
        out.push(ANCHOR_VERSION);
        out.extend_from_slice(&self.key_id.0);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(self.root.as_bytes());
        out.extend_from_slice(&self.signature);
        out
    }

    /// Reads data-output bytes.
    ///
    /// # Errors
    /// [`AnchorError::Magic`] for bytes that are not an anchor,
    /// [`AnchorError::Version`] for another version, [`AnchorError::Length`] for a
    /// version-1 anchor of the wrong length.
    pub fn decode(bytes: &[u8]) -> Result<Anchor, AnchorError> {
        let rest = bytes
            .strip_prefix(&ANCHOR_MAGIC[..])
            .ok_or(AnchorError::Magic)?;
        let (&version, rest) = rest
            .split_first()
            .ok_or(AnchorError::Length { len: bytes.len() })?;
        if version != ANCHOR_VERSION {
            return Err(AnchorError::Version { version });
        }
        let length = AnchorError::Length { len: bytes.len() };
        let (key_id, rest) = rest.split_first_chunk::<4>().ok_or(length.clone())?;
        let (size, rest) = rest.split_first_chunk::<8>().ok_or(length.clone())?;
        let (root, rest) = rest.split_first_chunk::<32>().ok_or(length.clone())?;
        let signature = <[u8; 64]>::try_from(rest).map_err(|_| length)?;
        Ok(Anchor {
            key_id: KeyId(*key_id),
            size: u64::from_be_bytes(*size),
            root: Hash(*root),
            signature,
        })
    }

    /// The signed checkpoint note this anchor stands for, as `key` would have signed
    /// it (origin = the key's name).
    ///
    /// # Errors
    /// [`AnchorError::Checkpoint`] when the key's name cannot be an origin.
    pub fn signed_note(&self, key: &VerifierKey) -> Result<String, AnchorError> {
        let checkpoint = Checkpoint::new(key.name().as_str(), self.size, self.root)
            .map_err(AnchorError::Checkpoint)?;
        let mut sig = Vec::with_capacity(68);
        sig.extend_from_slice(&self.key_id.0);
        sig.extend_from_slice(&self.signature);
        Ok(format!(
            "{}\n\u{2014} {} {}\n",
            checkpoint.to_text(),
            key.name(),
            BASE64.encode(sig)
        ))
    }

    /// Checks that `key` signed this anchor's checkpoint and returns it.
    ///
    /// # Errors
    /// [`AnchorError::OtherKey`] when the anchor names another key ID,
    /// [`AnchorError::Signature`] when the signature does not verify.
    pub fn verify(&self, key: &VerifierKey) -> Result<Checkpoint, AnchorError> {
        if self.key_id != key.id() {
            return Err(AnchorError::OtherKey {
                anchored: self.key_id,
            });
        }
        let note = self.signed_note(key)?;
        let verified =
            verify_note(&note, std::slice::from_ref(key)).map_err(AnchorError::Signature)?;
        Checkpoint::parse(&verified.text).map_err(AnchorError::Checkpoint)
    }
}

/// Where one anchor of the log is: the transaction and block that carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorRecord {
    /// The block's height when the log saw it.
    pub height: u64,
    /// The block hash, 64 lowercase hex digits as the chain's RPC writes it.
    pub block: String,
    /// The transaction, 64 lowercase hex digits.
    pub txid: String,
    /// The anchored tree size.
    pub size: u64,
    /// The anchored root.
    pub root: Hash,
}

/// The log's own list of its anchors, newest last, signed by the log key and
/// served at `/anchors`: a finding aid; auditors check the chain itself.
///
/// Its text is `open-trust.org/anchors/v1`, the origin, then one line per anchor:
/// `HEIGHT BLOCK TXID SIZE ROOT` (decimal, hex, hex, decimal, base64).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorList {
    /// The log's origin.
    pub origin: String,
    /// The anchors, oldest first; at most [`MAX_ANCHOR_RECORDS`].
    pub records: Vec<AnchorRecord>,
}

fn is_hash_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl AnchorList {
    /// The note text, the one encoder of the list.
    ///
    /// # Errors
    /// [`AnchorError::List`] when the origin or a record cannot be written as a
    /// line the parser reads back, or there are too many records.
    pub fn to_text(&self) -> Result<String, AnchorError> {
        let bad = |why: &'static str| AnchorError::List { why };
        if self.origin.is_empty() || self.origin.chars().any(|c| c < ' ') {
            return Err(bad("origin is empty or holds a control character"));
        }
        if self.records.len() > MAX_ANCHOR_RECORDS {
            return Err(bad("too many records"));
        }
        let mut text = format!("{ANCHOR_LIST_HEADER}\n{}\n", self.origin);
        for r in &self.records {
            if !is_hash_hex(&r.block) || !is_hash_hex(&r.txid) {
                return Err(bad("block or txid is not 64 lowercase hex digits"));
            }
            text.push_str(&format!(
                "{} {} {} {} {}\n",
                r.height,
                r.block,
                r.txid,
                r.size,
                r.root.to_base64()
            ));
        }
        Ok(text)
    }

    /// Reads a list signed by `key` (whose name must be the list's origin).
    ///
    /// # Errors
    /// [`AnchorError::Signature`] when the note does not verify,
    /// [`AnchorError::List`] when its text is not a list of this log.
    pub fn from_signed_note(note: &str, key: &VerifierKey) -> Result<AnchorList, AnchorError> {
        let verified =
            verify_note(note, std::slice::from_ref(key)).map_err(AnchorError::Signature)?;
        let list = AnchorList::parse(&verified.text)?;
        if list.origin != key.name().as_str() {
            return Err(AnchorError::List {
                why: "the list's origin is not the key's name",
            });
        }
        Ok(list)
    }

    /// Reads a list's note text.
    ///
    /// # Errors
    /// [`AnchorError::List`] naming what is wrong.
    pub fn parse(text: &str) -> Result<AnchorList, AnchorError> {
        let bad = |why: &'static str| AnchorError::List { why };
        let body = text.strip_suffix('\n').ok_or(bad("no final newline"))?;
        let mut lines = body.split('\n');
        if lines.next() != Some(ANCHOR_LIST_HEADER) {
            return Err(bad("the first line is not open-trust.org/anchors/v1"));
        }
        let origin = lines
            .next()
            .filter(|o| !o.is_empty() && !o.chars().any(|c| c < ' '))
            .ok_or(bad("no origin line, or one with a control character"))?;
        let mut records = Vec::new();
        for line in lines {
            if records.len() == MAX_ANCHOR_RECORDS {
                return Err(bad("too many records"));
            }
            let mut f = line.split(' ');
            let mut next = || f.next().ok_or(bad("a record has fewer than 5 fields"));
            let height = parse_decimal(next()?).ok_or(bad("height is not a decimal"))?;
            let block = next()?.to_owned();
            let txid = next()?.to_owned();
            let size = parse_decimal(next()?).ok_or(bad("size is not a decimal"))?;
            let root_text = next()?;
            let root: Hash = root_text.parse().map_err(|_| bad("root is not base64"))?;
            if f.next().is_some() {
                return Err(bad("a record has more than 5 fields"));
            }
            if !is_hash_hex(&block) || !is_hash_hex(&txid) {
                return Err(bad("block or txid is not 64 lowercase hex digits"));
            }
            if root.to_base64() != root_text {
                return Err(bad("root is not canonical base64"));
            }
            records.push(AnchorRecord {
                height,
                block,
                txid,
                size,
                root,
            });
        }
        Ok(AnchorList {
            origin: origin.to_owned(),
            records,
        })
    }
}
