//! C2SP tlog-witness wire formats: the `add-checkpoint` request body, the size a
//! witness answers a conflict with (`text/x.tlog.size`), and the cosignature lines
//! it answers success with.
//!
//! ```text
//! old 20852014                                   <- the size the client believes the
//! PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=   witness last cosigned, then at most
//! ...                                            63 consistency proof hashes
//!                                                <- a blank line
//! example.com/behind-the-sofa                    <- the signed checkpoint
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
//! ```

use std::fmt::Write as _;

use crate::checkpoint::{parse_b64_hash, parse_decimal};
use crate::error::WitnessWireError;
use crate::hash::Hash;
use crate::note::{MAX_SIGNATURES, Note, VerifierKey};

/// Most consistency proof lines a request may carry.
pub const MAX_WITNESS_PROOF_LINES: usize = 63;
/// The longest `add-checkpoint` body read: the old size line, 63 proof lines and a
/// checkpoint with its signatures.
pub const MAX_ADD_CHECKPOINT_LEN: usize = 128 * 1024;
/// The longest answer of a witness read (cosignature lines, or an error reason).
pub const MAX_WITNESS_ANSWER_LEN: usize = 64 * 1024;
/// The media type of a 409 answer's body: the witness's size in decimal.
pub const TLOG_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

fn malformed(why: &'static str) -> WitnessWireError {
    WitnessWireError::Malformed { why }
}

/// An `add-checkpoint` request: a signed checkpoint and the proof that it extends
/// the tree of `old_size` leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness cosigned last.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim (not yet parsed or verified).
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body.
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(32 + 45 * self.proof.len() + self.checkpoint.len());
        // Writing to a String cannot fail.
        let _ = writeln!(s, "old {}", self.old_size);
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Reads a request body: UTF-8, the `old` line with a canonical decimal, at
    /// most 63 canonical base64 hashes, a blank line, and the rest as the
    /// checkpoint. Nothing is allocated before the length is checked.
    ///
    /// # Errors
    /// [`WitnessWireError`] naming the first problem (an HTTP 400).
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, WitnessWireError> {
        if body.len() > MAX_ADD_CHECKPOINT_LEN {
            return Err(WitnessWireError::TooLong {
                limit: MAX_ADD_CHECKPOINT_LEN,
            });
        }
        let body = std::str::from_utf8(body).map_err(|_| malformed("body is not UTF-8"))?;
        let (head, checkpoint) = body
            .split_once("\n\n")
            .ok_or(malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old_size = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(parse_decimal)
            .ok_or(malformed(
                "first line is not \"old \" and a decimal size without leading zeros",
            ))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_WITNESS_PROOF_LINES {
                return Err(malformed("more than 63 consistency proof lines"));
            }
            proof.push(parse_b64_hash(line).ok_or(malformed(
                "a consistency proof line is not the base64 of 32 bytes",
            ))?);
        }
        if checkpoint.is_empty() {
            return Err(malformed("no checkpoint after the blank line"));
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

/// The body of a 409 answer: the witness's size and a newline.
pub fn encode_size(size: u64) -> String {
    format!("{size}\n")
}

/// Reads the body of a 409 answer.
///
/// # Errors
/// [`WitnessWireError::Malformed`] unless it is a canonical decimal and a newline.
pub fn parse_size(body: &[u8]) -> Result<u64, WitnessWireError> {
    std::str::from_utf8(body)
        .ok()
        .and_then(|b| b.strip_suffix('\n'))
        .and_then(parse_decimal)
        .ok_or(malformed("size answer is not a decimal and a newline"))
}

/// A cosignature by one witness, taken from its answer and verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The signature line, with its newline, as it is appended to the note.
    pub line: String,
    /// The time it carries (seconds since the epoch).
    pub timestamp: u64,
}

/// Takes the cosignature of `witness` out of a 200 answer to `add-checkpoint`
/// for the checkpoint note text `text`: the answer's lines are signature lines;
/// lines by other keys are ignored, and the witness's own must verify.
///
/// # Errors
/// [`WitnessWireError::Malformed`] for an answer that is not signature lines,
/// [`WitnessWireError::Cosignature`] when the witness's line is missing or does not
/// verify.
pub fn take_cosignature(
    text: &str,
    answer: &str,
    witness: &VerifierKey,
) -> Result<Cosignature, WitnessWireError> {
    if answer.len() > MAX_WITNESS_ANSWER_LEN {
        return Err(WitnessWireError::TooLong {
            limit: MAX_WITNESS_ANSWER_LEN,
        });
    }
    if answer.is_empty()
        || answer.starts_with('\n')
        || answer.contains("\n\n")
        || answer.lines().count() > MAX_SIGNATURES
    {
        return Err(malformed("answer is not 1 to 100 signature lines"));
    }
    let note = Note::parse(&format!("{text}\n{answer}"))
        .map_err(|_| malformed("answer is not signature lines"))?;
    let verified = note.verify(std::slice::from_ref(witness))?;
    let timestamp = verified
        .verified
        .first()
        .and_then(|v| v.cosigned_at)
        .ok_or(malformed("the witness's signature carries no time"))?;
    let line = answer
        .split_inclusive('\n')
        .zip(note.signatures())
        .find(|(_, sig)| sig.name == witness.name().as_str() && sig.key_id == witness.id())
        .map(|(line, _)| line.to_owned())
        .ok_or(malformed("the witness's signature line is missing"))?;
    Ok(Cosignature { line, timestamp })
}
