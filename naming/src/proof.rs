//! Lookup proofs against a [`StateRoot`]: that a key holds a record (membership, the
//! verifier brings the record's bytes) or holds none (the walk towards it ends in an
//! empty subtree or at another key's leaf). [`prove`] builds one from a store,
//! [`verify`] checks one with nothing but the root, and [`Proof::encode`] /
//! [`Proof::decode`] are its canonical bytes (a bitmap of the siblings that are not
//! empty, then those siblings), laid out in `docs/naming.md`.

use subtle::ConstantTimeEq;

use crate::encoding::{Reader, Writer};
use crate::error::{DecodeError, ProofError, SmtError};
use crate::name::Name;
use crate::records::NameRecord;
use crate::smt::{
    EMPTY_SUBTREE, KEY_BITS, NodePath, SmtStore, leaf_hash, node_hash, value_hash, walk,
};
use crate::values::{NodeHash, StateKey, StateRoot};

/// Format version of the proof encoding.
pub const PROOF_VERSION: u8 = 1;

/// Largest encoded proof: version, terminal, depth, a 32-byte bitmap, 256 siblings and a
/// neighbour leaf.
pub const MAX_PROOF_LEN: usize = 1 + 1 + 2 + 32 + 32 * KEY_BITS as usize + 64;

/// Where the walk towards the key ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Terminal {
    /// At the key's own leaf: the key holds a record (byte 0).
    Member,
    /// At an empty subtree: the key holds nothing (byte 1).
    Empty,
    /// At the leaf of another key that shares the path so far: the key holds nothing
    /// (byte 2).
    Neighbour {
        /// That leaf's key.
        key: StateKey,
        /// That leaf's value hash.
        value: NodeHash,
    },
}

/// A lookup proof: the siblings from the root down to where the walk towards the key
/// ends, and how it ends.
///
/// INVARIANT (of decoded proofs and of [`prove`]'s): at most [`KEY_BITS`] siblings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Proof {
    siblings: Vec<NodeHash>,
    terminal: Terminal,
}

impl Proof {
    /// A proof from its parts (for tests and other programs; [`verify`] refuses more than
    /// [`KEY_BITS`] siblings).
    pub fn new(siblings: Vec<NodeHash>, terminal: Terminal) -> Proof {
        Proof { siblings, terminal }
    }

    /// The sibling hashes, root side first ([`EMPTY_SUBTREE`] for empty ones).
    pub fn siblings(&self) -> &[NodeHash] {
        &self.siblings
    }

    /// How the walk ends.
    pub fn terminal(&self) -> &Terminal {
        &self.terminal
    }

    /// Whether it proves that the key holds a record.
    pub fn is_membership(&self) -> bool {
        self.terminal == Terminal::Member
    }

    /// The canonical bytes:
    /// `version ‖ terminal ‖ depth (u16) ‖ bitmap ‖ non-empty siblings ‖ neighbour`,
    /// the bitmap having `ceil(depth / 8)` bytes, bit `i` (most significant first) set
    /// when sibling `i` is not empty.
    pub fn encode(&self) -> Vec<u8> {
        let depth = self.siblings.len().min(usize::from(KEY_BITS));
        let siblings = self.siblings.get(..depth).unwrap_or_default();
        let mut w = Writer::default();
        w.u8(PROOF_VERSION);
        w.u8(match self.terminal {
            Terminal::Member => 0,
            Terminal::Empty => 1,
            Terminal::Neighbour { .. } => 2,
        });
        w.u16(u16::try_from(depth).unwrap_or(KEY_BITS));
        let mut bitmap = vec![0u8; depth.div_ceil(8)];
        for (i, s) in siblings.iter().enumerate() {
            if *s != EMPTY_SUBTREE
                && let Some(byte) = bitmap.get_mut(i / 8)
            {
                *byte |= 0x80 >> (i % 8);
            }
        }
        w.bytes(&bitmap);
        for s in siblings.iter().filter(|s| **s != EMPTY_SUBTREE) {
            w.bytes(s.as_bytes());
        }
        if let Terminal::Neighbour { key, value } = &self.terminal {
            w.bytes(key.as_bytes());
            w.bytes(value.as_bytes());
        }
        w.0
    }

    /// Parses the canonical bytes.
    ///
    /// # Errors
    /// [`DecodeError`] for more than [`MAX_PROOF_LEN`] bytes (before anything else),
    /// another version, a terminal byte over 2, a depth over [`KEY_BITS`], a bitmap bit
    /// set past the depth, a listed sibling that is the empty hash, too few bytes or bytes
    /// left over. Every proof that decodes re-encodes to the same bytes.
    pub fn decode(bytes: &[u8]) -> Result<Proof, DecodeError> {
        if bytes.len() > MAX_PROOF_LEN {
            return Err(DecodeError::TooLong {
                what: "proof",
                len: bytes.len(),
                max: MAX_PROOF_LEN,
            });
        }
        let mut r = Reader::new(bytes);
        match r.u8("proof version")? {
            PROOF_VERSION => {}
            version => return Err(DecodeError::UnsupportedVersion { version }),
        }
        let tag = r.u8("proof terminal")?;
        if tag > 2 {
            return Err(DecodeError::BadFlag {
                what: "proof terminal",
                value: tag,
            });
        }
        let depth = usize::from(r.u16("proof depth")?);
        if depth > usize::from(KEY_BITS) {
            return Err(DecodeError::TooLong {
                what: "proof depth",
                len: depth,
                max: usize::from(KEY_BITS),
            });
        }
        let bitmap = r.take(depth.div_ceil(8), "proof bitmap")?;
        let mut siblings = Vec::with_capacity(depth);
        for i in 0..depth {
            let set = bitmap
                .get(i / 8)
                .is_some_and(|b| b & (0x80 >> (i % 8)) != 0);
            if set {
                let s = NodeHash(r.array("proof sibling")?);
                if s == EMPTY_SUBTREE {
                    return Err(DecodeError::NonCanonical {
                        what: "proof sibling listed but empty",
                    });
                }
                siblings.push(s);
            } else {
                siblings.push(EMPTY_SUBTREE);
            }
        }
        let spare = (depth.div_ceil(8) * 8).saturating_sub(depth);
        let last = if depth == 0 { None } else { bitmap.last() };
        if spare > 0 && last.is_some_and(|b| b & ((1u8 << spare) - 1) != 0) {
            return Err(DecodeError::NonCanonical {
                what: "proof bitmap bit past the depth",
            });
        }
        let terminal = match tag {
            0 => Terminal::Member,
            1 => Terminal::Empty,
            _ => Terminal::Neighbour {
                key: StateKey(r.array("proof neighbour key")?),
                value: NodeHash(r.array("proof neighbour value")?),
            },
        };
        r.finish()?;
        Ok(Proof { siblings, terminal })
    }
}

/// The proof of what `key` holds in the tree in `store`: membership when it holds a
/// record, else absence. Reads one node per level (about `log2(records)`).
///
/// # Errors
/// [`SmtError::Store`] when the store fails; [`SmtError::Corrupt`] when it holds a tree
/// that cannot be.
pub fn prove<S: SmtStore>(store: &S, key: &StateKey) -> Result<Proof, SmtError<S::Error>> {
    let walk = walk(store, key)?;
    let terminal = match walk.leaf {
        None => Terminal::Empty,
        Some((k, _)) if k == *key => Terminal::Member,
        Some((k, value)) => Terminal::Neighbour { key: k, value },
    };
    Ok(Proof {
        siblings: walk.siblings,
        terminal,
    })
}

/// Checks `proof` for `key` against `root`: with `Some(record)` that the key holds
/// exactly these record bytes, with `None` that it holds nothing. Total on any input;
/// at most 258 hashes.
///
/// # Errors
/// [`ProofError`]: the proof is of the other kind than the claim, its neighbour leaf is
/// the key itself or off the key's path, it is deeper than [`KEY_BITS`], or it does not
/// lead to `root`.
pub fn verify(
    root: &StateRoot,
    key: &StateKey,
    record: Option<&[u8]>,
    proof: &Proof,
) -> Result<(), ProofError> {
    let depth = proof.siblings.len();
    let depth16 = match u16::try_from(depth) {
        Ok(d) if d <= KEY_BITS => d,
        _ => return Err(ProofError::TooDeep { depth }),
    };
    let mut hash = match (&proof.terminal, record) {
        (Terminal::Member, Some(record)) => leaf_hash(key, &value_hash(record)),
        (Terminal::Member, None) => return Err(ProofError::MissingRecord),
        (Terminal::Empty | Terminal::Neighbour { .. }, Some(_)) => {
            return Err(ProofError::UnexpectedRecord);
        }
        (Terminal::Empty, None) => EMPTY_SUBTREE,
        (Terminal::Neighbour { key: other, value }, None) => {
            if other == key {
                return Err(ProofError::NeighbourIsKey);
            }
            let on_path = NodePath::of_key(key, depth16) == NodePath::of_key(other, depth16);
            if !on_path {
                return Err(ProofError::NeighbourOffPath { depth: depth16 });
            }
            leaf_hash(other, value)
        }
    };
    for (i, sibling) in proof.siblings.iter().enumerate().rev() {
        let right = key.bit(u16::try_from(i).unwrap_or(KEY_BITS));
        hash = if right {
            node_hash(sibling, &hash)
        } else {
            node_hash(&hash, sibling)
        };
    }
    if bool::from(hash.0.ct_eq(&root.0)) {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// A light client's lookup of a name: checks `proof` against `root` and returns the
/// proven record, or `None` when the proof shows the name is not registered. Whether a
/// proven record has expired is [`NameRecord::status`] at the height `root` was taken at.
///
/// # Errors
/// [`ProofError`] as for [`verify`], and [`ProofError::Record`] when the record bytes
/// verify but are not a name record.
pub fn verify_name(
    root: &StateRoot,
    name: &Name,
    record: Option<&[u8]>,
    proof: &Proof,
) -> Result<Option<NameRecord>, ProofError> {
    verify(root, &StateKey::name(name), record, proof)?;
    record
        .map(|bytes| NameRecord::decode(bytes).map_err(ProofError::Record))
        .transpose()
}
