//! The C2SP tlog-checkpoint note body: origin, decimal size, base64 root, extensions.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::error::CheckpointError;
use crate::hash::Hash;
use crate::note::{VerifiedNote, VerifierKey, verify_note};

/// The longest checkpoint text accepted (origin, size, root and extensions).
pub const MAX_CHECKPOINT_LEN: usize = 64 * 1024;

/// A checkpoint: the log's claim that the tree of `size` leaves has root `root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    // INVARIANT: non-empty, no newline.
    origin: String,
    size: u64,
    root: Hash,
    // INVARIANT: each non-empty, no newline.
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    ///
    /// # Errors
    /// [`CheckpointError::Origin`] when the origin is empty or holds a newline.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        if origin.is_empty() || origin.contains('\n') {
            return Err(CheckpointError::Origin);
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Parses a checkpoint note text (the part of a signed note above the blank
    /// line). The size must be canonical decimal and the root canonical base64.
    ///
    /// # Errors
    /// [`CheckpointError`] naming the first bad line.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        if text.len() > MAX_CHECKPOINT_LEN {
            return Err(CheckpointError::TooLong);
        }
        let body = text.strip_suffix('\n').ok_or(CheckpointError::NoNewline)?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::Origin);
        }
        let size = lines.next().ok_or(CheckpointError::Size)?;
        let size = parse_decimal(size).ok_or(CheckpointError::Size)?;
        let root = lines.next().ok_or(CheckpointError::Root)?;
        let root = parse_b64_hash(root).ok_or(CheckpointError::Root)?;
        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension);
            }
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Verifies a signed checkpoint note against `keys` and parses its body.
    ///
    /// # Errors
    /// [`CheckpointError::Note`] when the note does not verify,
    /// other variants when the body is malformed.
    pub fn from_signed_note(
        note: &str,
        keys: &[VerifierKey],
    ) -> Result<(Self, VerifiedNote), CheckpointError> {
        let verified = verify_note(note, keys)?;
        let cp = Checkpoint::parse(&verified.text)?;
        Ok((cp, verified))
    }

    /// The origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Extension lines after the root, in order.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: `origin\nsize\nbase64(root)\n` and one line per extension.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(self.origin.len() + 70);
        // Writing to a String cannot fail.
        let _ = write!(
            s,
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root.as_bytes())
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }
}

/// A canonical decimal u64: digits only, no leading zero unless it is `0`.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// A 32-byte hash in canonical standard base64 (with padding).
pub(crate) fn parse_b64_hash(s: &str) -> Option<Hash> {
    if s.len() != 44 {
        return None;
    }
    let bytes = BASE64.decode(s).ok()?;
    let hash = Hash::from_slice(&bytes).ok()?;
    // Reject non-canonical encodings (stray bits in the last character).
    (BASE64.encode(hash.as_bytes()) == s).then_some(hash)
}
