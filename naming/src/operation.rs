//! Name operations and their payload: the bytes a burn output carries, the owner's
//! signature over them and the preorder commitments.
//!
//! Names and namespaces are owned by addresses ([`OwnerAddress`]); an operation is
//! signed by a key whose address is the owner (ADR 0037).
//!
//! Payload: `"otn"` ‖ version `0x02` ‖ op code ‖ body ‖ signer key (32) ‖ signature (64),
//! at most [`MAX_PAYLOAD`] bytes. The signature is Ed25519 (strict verification) over
//! [`SignedOperation::digest`], which commits to the chain id and to the first outpoint
//! the carrying transaction spends, so the operation cannot be replayed on another
//! network or in another transaction (ADR 0032). `docs/naming.md` gives every body byte
//! by byte.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::encoding::{Reader, Writer};
use crate::error::DecodeError;
use crate::name::{Name, NamespaceId};
use crate::price::{BUCKETS, PriceFunction};
use crate::values::{ChainId, Commitment, OutPoint, OwnerAddress, OwnerKey, Salt, ZoneFileHash};

/// Largest payload: the chain's limit on a burn output's data.
pub const MAX_PAYLOAD: usize = 256;
/// The first bytes of every payload.
pub const MAGIC: [u8; 3] = *b"otn";
/// The payload format version this crate reads and writes. Version 2: owners are
/// addresses (a transfer names the new owner's address); version 1, whose transfers
/// named a key, is refused.
pub const VERSION: u8 = 2;
/// Domain separation of the signature digest.
const SIG_TAG: &[u8] = b"open-trust/naming/sig/v1";
/// Domain separation of preorder commitments (v2: they commit to the owner's address).
const COMMIT_TAG: &[u8] = b"open-trust/naming/preorder/v2";
/// Length of the signer key and signature at the end of a payload.
const TRAILER: usize = 32 + 64;

/// Whether `data` (a burn output's data) claims to be a name operation: it starts with
/// the magic. The node takes the first such burn output of a transaction.
pub fn is_naming_payload(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// A namespace's terms, fixed at its reveal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NamespaceTerms {
    /// How many blocks a registration or renewal lasts; at least 1.
    pub lifetime: u32,
    /// How many blocks after expiry only the owner may renew.
    pub grace: u32,
    /// The name price function.
    pub price: PriceFunction,
}

/// An operation, without its signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Commits to a namespace id: `Commitment::for_namespace(id, salt, creator address)`.
    NamespacePreorder {
        /// The commitment.
        commitment: Commitment,
    },
    /// Reveals a preordered namespace id and fixes its terms.
    NamespaceReveal {
        /// The namespace id.
        namespace: NamespaceId,
        /// The preorder's salt.
        salt: Salt,
        /// Lifetime, grace period and price function.
        terms: NamespaceTerms,
    },
    /// Opens a revealed namespace to registrations.
    NamespaceReady {
        /// The namespace id.
        namespace: NamespaceId,
    },
    /// Commits to a name: `Commitment::for_name(name, salt, owner address)`.
    NamePreorder {
        /// The commitment.
        commitment: Commitment,
    },
    /// Reveals a preordered name and registers it to the signer's address.
    NameRegister {
        /// The name.
        name: Name,
        /// The preorder's salt.
        salt: Salt,
        /// The zone file's hash, if one is attached at once.
        zone_file: Option<ZoneFileHash>,
    },
    /// Sets a new zone-file hash.
    NameUpdate {
        /// The name.
        name: Name,
        /// The new hash.
        zone_file: ZoneFileHash,
    },
    /// Gives the name to another address.
    NameTransfer {
        /// The name.
        name: Name,
        /// The new owner's address.
        new_owner: OwnerAddress,
        /// Whether the zone-file hash stays (otherwise it is cleared).
        keep_zone_file: bool,
    },
    /// Extends the name by its namespace's lifetime, for the price.
    NameRenew {
        /// The name.
        name: Name,
    },
    /// Ends the name's use until it expires.
    NameRevoke {
        /// The name.
        name: Name,
    },
}

impl Operation {
    /// The op code byte.
    pub fn code(&self) -> u8 {
        match self {
            Operation::NamespacePreorder { .. } => b'*',
            Operation::NamespaceReveal { .. } => b'&',
            Operation::NamespaceReady { .. } => b'!',
            Operation::NamePreorder { .. } => b'?',
            Operation::NameRegister { .. } => b':',
            Operation::NameUpdate { .. } => b'+',
            Operation::NameTransfer { .. } => b'>',
            Operation::NameRenew { .. } => b'=',
            Operation::NameRevoke { .. } => b'~',
        }
    }

    /// A short lower-case name of the operation, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Operation::NamespacePreorder { .. } => "namespace preorder",
            Operation::NamespaceReveal { .. } => "namespace reveal",
            Operation::NamespaceReady { .. } => "namespace ready",
            Operation::NamePreorder { .. } => "name preorder",
            Operation::NameRegister { .. } => "name register",
            Operation::NameUpdate { .. } => "name update",
            Operation::NameTransfer { .. } => "name transfer",
            Operation::NameRenew { .. } => "name renew",
            Operation::NameRevoke { .. } => "name revoke",
        }
    }

    fn encode_body(&self, w: &mut Writer) {
        match self {
            Operation::NamespacePreorder { commitment }
            | Operation::NamePreorder { commitment } => {
                w.bytes(commitment.as_bytes());
            }
            Operation::NamespaceReveal {
                namespace,
                salt,
                terms,
            } => {
                w.namespace(namespace);
                w.bytes(&salt.0);
                w.u32(terms.lifetime);
                w.u32(terms.grace);
                encode_price(w, &terms.price);
            }
            Operation::NamespaceReady { namespace } => w.namespace(namespace),
            Operation::NameRegister {
                name,
                salt,
                zone_file,
            } => {
                w.name(name);
                w.bytes(&salt.0);
                w.flag(zone_file.is_some());
                if let Some(z) = zone_file {
                    w.bytes(z.as_bytes());
                }
            }
            Operation::NameUpdate { name, zone_file } => {
                w.name(name);
                w.bytes(zone_file.as_bytes());
            }
            Operation::NameTransfer {
                name,
                new_owner,
                keep_zone_file,
            } => {
                w.name(name);
                w.bytes(new_owner.as_bytes());
                w.flag(*keep_zone_file);
            }
            Operation::NameRenew { name } | Operation::NameRevoke { name } => w.name(name),
        }
    }

    fn decode_body(code: u8, r: &mut Reader<'_>) -> Result<Operation, DecodeError> {
        Ok(match code {
            b'*' => Operation::NamespacePreorder {
                commitment: Commitment(r.array("commitment")?),
            },
            b'&' => Operation::NamespaceReveal {
                namespace: r.namespace()?,
                salt: Salt(r.array("salt")?),
                terms: NamespaceTerms {
                    lifetime: r.u32("lifetime")?,
                    grace: r.u32("grace period")?,
                    price: decode_price(r)?,
                },
            },
            b'!' => Operation::NamespaceReady {
                namespace: r.namespace()?,
            },
            b'?' => Operation::NamePreorder {
                commitment: Commitment(r.array("commitment")?),
            },
            b':' => Operation::NameRegister {
                name: r.name()?,
                salt: Salt(r.array("salt")?),
                zone_file: if r.flag("zone-file flag")? {
                    Some(ZoneFileHash(r.array("zone-file hash")?))
                } else {
                    None
                },
            },
            b'+' => Operation::NameUpdate {
                name: r.name()?,
                zone_file: ZoneFileHash(r.array("zone-file hash")?),
            },
            b'>' => Operation::NameTransfer {
                name: r.name()?,
                new_owner: OwnerAddress(r.array("new owner")?),
                keep_zone_file: r.flag("keep-zone-file flag")?,
            },
            b'=' => Operation::NameRenew { name: r.name()? },
            b'~' => Operation::NameRevoke { name: r.name()? },
            code => return Err(DecodeError::UnknownOp { code }),
        })
    }
}

/// Price function bytes: coeff, base, 8 bytes of bucket exponents (two per byte, the
/// lower-numbered bucket in the high nibble), discounts (non-alpha high, no-vowel low).
pub(crate) fn encode_price(w: &mut Writer, p: &PriceFunction) {
    w.u8(p.coeff());
    w.u8(p.base());
    for pair in p.buckets().chunks_exact(2) {
        if let [hi, lo] = pair {
            w.u8((hi << 4) | lo);
        }
    }
    w.u8((p.nonalpha_discount() << 4) | p.no_vowel_discount());
}

/// The inverse of [`encode_price`].
pub(crate) fn decode_price(r: &mut Reader<'_>) -> Result<PriceFunction, DecodeError> {
    let coeff = r.u8("coefficient")?;
    let base = r.u8("base")?;
    let packed: [u8; BUCKETS / 2] = r.array("bucket exponents")?;
    let mut buckets = [0u8; BUCKETS];
    for (pair, byte) in buckets.chunks_exact_mut(2).zip(packed) {
        if let [hi, lo] = pair {
            *hi = byte >> 4;
            *lo = byte & 0x0f;
        }
    }
    let discounts = r.u8("discounts")?;
    Ok(PriceFunction::new(
        coeff,
        base,
        buckets,
        discounts >> 4,
        discounts & 0x0f,
    )?)
}

/// An operation with the key that signed it and the signature: what a payload carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SignedOperation {
    /// The operation.
    pub op: Operation,
    /// The Ed25519 public key that signs: its address must own the name (or have
    /// created the namespace, or signed the preorder).
    pub signer: OwnerKey,
    /// Ed25519 signature over [`SignedOperation::digest`].
    pub signature: [u8; 64],
}

impl SignedOperation {
    /// Signs `op` with `key` for a transaction on `chain_id` whose first input spends
    /// `first_spent`.
    pub fn sign(
        op: Operation,
        key: &SigningKey,
        chain_id: &ChainId,
        first_spent: &OutPoint,
    ) -> Self {
        let mut signed = SignedOperation {
            op,
            signer: OwnerKey(key.verifying_key().to_bytes()),
            signature: [0; 64],
        };
        let digest = signed.digest(chain_id, first_spent);
        signed.signature = key.sign(&digest).to_bytes();
        signed
    }

    /// The payload without the signature: magic, version, op code, body, signer key.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(&MAGIC);
        w.u8(VERSION);
        w.u8(self.op.code());
        self.op.encode_body(&mut w);
        w.bytes(self.signer.as_bytes());
        w.0
    }

    /// The message the signer signs:
    /// `SHA-256("open-trust/naming/sig/v1" ‖ chain_id ‖ first spent txid ‖ vout (u32 LE) ‖
    /// signed_bytes)`.
    pub fn digest(&self, chain_id: &ChainId, first_spent: &OutPoint) -> [u8; 32] {
        let mut w = Writer::default();
        w.bytes(SIG_TAG);
        w.bytes(chain_id.as_bytes());
        w.outpoint(first_spent);
        w.bytes(&self.signed_bytes());
        Sha256::digest(&w.0).into()
    }

    /// Whether the signature verifies (Ed25519, strict: canonical encodings, no
    /// small-order key or nonce point) for this chain and first spent outpoint.
    pub fn verify(&self, chain_id: &ChainId, first_spent: &OutPoint) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(self.signer.as_bytes()) else {
            return false;
        };
        let signature = Signature::from_bytes(&self.signature);
        key.verify_strict(&self.digest(chain_id, first_spent), &signature)
            .is_ok()
    }

    /// The address of the signer's key: the owner this operation acts as.
    pub fn signer_address(&self) -> OwnerAddress {
        OwnerAddress::of_key(&self.signer)
    }

    /// The canonical payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = self.signed_bytes();
        bytes.extend_from_slice(&self.signature);
        bytes
    }

    /// Parses a payload.
    ///
    /// # Errors
    /// [`DecodeError`] for a payload over [`MAX_PAYLOAD`] bytes, without the magic, of
    /// another version, with an unknown op code, a field out of its bounds (names,
    /// flags, price function), too short, or with bytes left over. The signature is not
    /// checked here.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_PAYLOAD {
            return Err(DecodeError::TooLong {
                what: "payload",
                len: bytes.len(),
                max: MAX_PAYLOAD,
            });
        }
        let mut r = Reader::new(bytes);
        if r.array::<3>("magic")? != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion { version });
        }
        let code = r.u8("op code")?;
        let body_len = bytes
            .len()
            .checked_sub(MAGIC.len() + 2 + TRAILER)
            .ok_or(DecodeError::Truncated { what: "payload" })?;
        let mut body = Reader::new(r.take(body_len, "body")?);
        let op = Operation::decode_body(code, &mut body)?;
        body.finish()?;
        let signer = OwnerKey(r.array("signer key")?);
        let signature = r.array("signature")?;
        r.finish()?;
        Ok(SignedOperation {
            op,
            signer,
            signature,
        })
    }
}

impl Commitment {
    /// `SHA-256("open-trust/naming/preorder/v2" ‖ 0x01 ‖ name ‖ salt ‖ owner address)`,
    /// the name as encoded in payloads (length-prefixed label, then namespace id).
    pub fn for_name(name: &Name, salt: &Salt, owner: &OwnerAddress) -> Self {
        let mut w = Writer::default();
        w.bytes(COMMIT_TAG);
        w.u8(1);
        w.name(name);
        Commitment::finish(w, salt, owner)
    }

    /// `SHA-256("open-trust/naming/preorder/v2" ‖ 0x00 ‖ namespace id ‖ salt ‖ owner
    /// address)`.
    pub fn for_namespace(id: &NamespaceId, salt: &Salt, owner: &OwnerAddress) -> Self {
        let mut w = Writer::default();
        w.bytes(COMMIT_TAG);
        w.u8(0);
        w.namespace(id);
        Commitment::finish(w, salt, owner)
    }

    fn finish(mut w: Writer, salt: &Salt, owner: &OwnerAddress) -> Self {
        w.bytes(&salt.0);
        w.bytes(owner.as_bytes());
        Commitment(Sha256::digest(&w.0).into())
    }
}
