//! Offline receipts in the C2SP tlog-proof format (`c2sp.org/tlog-proof@v1`):
//! an entry's index, its audit path, and the signed checkpoint the path leads to.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::{Checkpoint, parse_b64_hash, parse_decimal};
use crate::error::ReceiptError;
use crate::hash::Hash;
use crate::inclusion::{MAX_PROOF_LEN, verify_inclusion};
use crate::note::{Note, VerifierKey};

/// The first line of every receipt.
pub const RECEIPT_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// The longest receipt read (proof lines plus a checkpoint with cosignatures).
pub const MAX_RECEIPT_LEN: usize = 128 * 1024;

/// A parsed receipt, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Opaque, unauthenticated extra data.
    pub extra: Option<Vec<u8>>,
    /// Index of the entry in the log.
    pub index: u64,
    /// The audit path, from the leaf's sibling up.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl Receipt {
    /// The receipt's text form.
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(64 + 45 * self.proof.len() + self.checkpoint.len());
        s.push_str(RECEIPT_HEADER);
        s.push('\n');
        if let Some(extra) = &self.extra {
            // Writing to a String cannot fail.
            let _ = writeln!(s, "extra {}", BASE64.encode(extra));
        }
        let _ = writeln!(s, "index {}", self.index);
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parses a receipt.
    ///
    /// # Errors
    /// [`ReceiptError::Malformed`] naming the first problem.
    pub fn parse(text: &str) -> Result<Receipt, ReceiptError> {
        let bad = |why| ReceiptError::Malformed { why };
        if text.len() > MAX_RECEIPT_LEN {
            return Err(bad("receipt too long"));
        }
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n').peekable();
        if lines.next() != Some(RECEIPT_HEADER) {
            return Err(bad("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut extra = None;
        if let Some(e) = lines.peek().and_then(|l| l.strip_prefix("extra ")) {
            extra = Some(BASE64.decode(e).map_err(|_| bad("extra is not base64"))?);
            lines.next();
        }
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .and_then(parse_decimal)
            .ok_or(bad("missing or malformed index line"))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_LEN {
                return Err(bad("proof longer than 64 hashes"));
            }
            proof.push(parse_b64_hash(line).ok_or(bad("proof line is not a base64 hash"))?);
        }
        Ok(Receipt {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Verifies that `entry` is in the log of `key`: the checkpoint is signed by
    /// `key`, its origin is the key's name, and the audit path leads from the
    /// entry's leaf hash at `index` to the checkpoint's root.
    ///
    /// # Errors
    /// [`ReceiptError`] saying which step failed.
    pub fn verify(&self, entry: &[u8], key: &VerifierKey) -> Result<Checkpoint, ReceiptError> {
        let note = Note::parse(&self.checkpoint)?;
        note.verify(std::slice::from_ref(key))?;
        let cp = Checkpoint::parse(note.text())?;
        if cp.origin() != key.name().as_str() {
            return Err(ReceiptError::Origin {
                origin: cp.origin().to_owned(),
                key: key.name().to_string(),
            });
        }
        verify_inclusion(
            &Hash::leaf(entry),
            self.index,
            cp.size(),
            &self.proof,
            &cp.root(),
        )?;
        Ok(cp)
    }
}

/// Parses and verifies a receipt for `entry` in one step.
///
/// # Errors
/// As [`Receipt::parse`] and [`Receipt::verify`].
pub fn verify_receipt(
    receipt: &str,
    entry: &[u8],
    key: &VerifierKey,
) -> Result<(Receipt, Checkpoint), ReceiptError> {
    let r = Receipt::parse(receipt)?;
    let cp = r.verify(entry, key)?;
    Ok((r, cp))
}
