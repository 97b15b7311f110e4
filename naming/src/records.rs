//! The name state: records of namespaces, names and preorders, their status at a height,
//! and their canonical bytes (each starts with a format version byte; `docs/naming.md`
//! lists them byte by byte). These bytes are what a commitment to the name state hashes,
//! so they never change for a version.

use crate::encoding::{Reader, Writer};
use crate::error::DecodeError;
use crate::operation::{NamespaceTerms, decode_price, encode_price};
use crate::values::{Amount, Height, OutPoint, OwnerAddress, TxId, ZoneFileHash};

/// Format version of every record encoding. Version 2: owners, creators and preorder
/// signers are addresses ([`OwnerAddress`]); version 1 held keys.
pub const RECORD_VERSION: u8 = 2;

/// Reads and checks the version byte.
fn version(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    match r.u8("record version")? {
        RECORD_VERSION => Ok(()),
        version => Err(DecodeError::UnsupportedVersion { version }),
    }
}

/// Gives a record type with `write` and `read` its public `encode` and `decode`.
macro_rules! record_codec {
    ($type:ident) => {
        impl $type {
            /// The canonical bytes.
            pub fn encode(&self) -> Vec<u8> {
                let mut w = Writer::default();
                self.write(&mut w);
                w.0
            }

            /// Parses the canonical bytes.
            ///
            /// # Errors
            /// [`DecodeError`] for another version, a flag or kind byte out of range, an
            /// invalid price function, too few bytes or bytes left over.
            pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
                let mut r = Reader::new(bytes);
                let value = $type::read(&mut r)?;
                r.finish()?;
                Ok(value)
            }
        }
    };
}

record_codec!(NameRecord);
record_codec!(NamespaceRecord);
record_codec!(PreorderRecord);

/// Where a name stands at a height.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameStatus {
    /// Registered, not expired: the owner may update, transfer, renew or revoke it.
    Active,
    /// Past its expiry but within the grace period: only the owner may renew it.
    Grace,
    /// Revoked and not yet expired past its grace period: nobody may use or take it.
    Revoked,
    /// Past its grace period: free, a new registration may take it.
    Expired,
}

/// A registered name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NameRecord {
    /// The address that owns it: a key whose address this is signs its operations.
    pub owner: OwnerAddress,
    /// The zone file's hash, if any.
    pub zone_file: Option<ZoneFileHash>,
    /// Height of the registration that created this record.
    pub registered_at: Height,
    /// First height at which it is no longer active.
    pub expires_at: Height,
    /// First height at which it is free again (`expires_at` plus the namespace's grace).
    pub grace_ends_at: Height,
    /// Whether it was revoked.
    pub revoked: bool,
    /// The transaction of the last operation that changed it.
    pub last_txid: TxId,
}

impl NameRecord {
    /// Its status at `height`.
    pub fn status(&self, height: Height) -> NameStatus {
        if height >= self.grace_ends_at {
            NameStatus::Expired
        } else if self.revoked {
            NameStatus::Revoked
        } else if height >= self.expires_at {
            NameStatus::Grace
        } else {
            NameStatus::Active
        }
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.u8(RECORD_VERSION);
        w.bytes(self.owner.as_bytes());
        w.flag(self.zone_file.is_some());
        if let Some(z) = &self.zone_file {
            w.bytes(z.as_bytes());
        }
        w.height(self.registered_at);
        w.height(self.expires_at);
        w.height(self.grace_ends_at);
        w.flag(self.revoked);
        w.bytes(self.last_txid.as_bytes());
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        version(r)?;
        Ok(NameRecord {
            owner: OwnerAddress(r.array("owner")?),
            zone_file: if r.flag("zone-file flag")? {
                Some(ZoneFileHash(r.array("zone-file hash")?))
            } else {
                None
            },
            registered_at: r.height("registered at")?,
            expires_at: r.height("expires at")?,
            grace_ends_at: r.height("grace ends at")?,
            revoked: r.flag("revoked flag")?,
            last_txid: TxId(r.array("last txid")?),
        })
    }
}

/// Where a namespace stands at a height.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NamespaceStatus {
    /// Revealed, not ready yet, and the ready deadline has not passed.
    Revealed,
    /// Open to registrations.
    Ready,
    /// Revealed but not made ready in time: the id is free for a new reveal.
    Lapsed,
}

/// A revealed namespace.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NamespaceRecord {
    /// The address of the key that revealed it; a key of this address may make it ready.
    pub creator: OwnerAddress,
    /// Lifetime, grace period, price function.
    pub terms: NamespaceTerms,
    /// Height of the reveal.
    pub revealed_at: Height,
    /// The first height at which a ready operation comes too late.
    pub ready_by: Height,
    /// Height of the ready operation, once there was one.
    pub ready_at: Option<Height>,
    /// The reveal's transaction.
    pub reveal_txid: TxId,
}

impl NamespaceRecord {
    /// Its status at `height`.
    pub fn status(&self, height: Height) -> NamespaceStatus {
        match self.ready_at {
            Some(_) => NamespaceStatus::Ready,
            None if height < self.ready_by => NamespaceStatus::Revealed,
            None => NamespaceStatus::Lapsed,
        }
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.u8(RECORD_VERSION);
        w.bytes(self.creator.as_bytes());
        w.u32(self.terms.lifetime);
        w.u32(self.terms.grace);
        encode_price(w, &self.terms.price);
        w.height(self.revealed_at);
        w.height(self.ready_by);
        w.flag(self.ready_at.is_some());
        if let Some(h) = self.ready_at {
            w.height(h);
        }
        w.bytes(self.reveal_txid.as_bytes());
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        version(r)?;
        Ok(NamespaceRecord {
            creator: OwnerAddress(r.array("creator")?),
            terms: NamespaceTerms {
                lifetime: r.u32("lifetime")?,
                grace: r.u32("grace period")?,
                price: decode_price(r)?,
            },
            revealed_at: r.height("revealed at")?,
            ready_by: r.height("ready by")?,
            ready_at: if r.flag("ready flag")? {
                Some(r.height("ready at")?)
            } else {
                None
            },
            reveal_txid: TxId(r.array("reveal txid")?),
        })
    }
}

/// What a preorder is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PreorderKind {
    /// A namespace preorder (byte 0).
    Namespace,
    /// A name preorder (byte 1).
    Name,
}

/// A preorder waiting for its reveal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PreorderRecord {
    /// Namespace or name.
    pub kind: PreorderKind,
    /// The address of the key that signed it; the reveal must be signed by a key of
    /// this address (the commitment names it too).
    pub signer: OwnerAddress,
    /// Height of the preorder.
    pub height: Height,
    /// What its transaction burned: the fee the reveal is checked against.
    pub burned: Amount,
    /// The output the reveal must spend: the preorder transaction's first pay output.
    pub output: OutPoint,
}

impl PreorderRecord {
    pub(crate) fn write(&self, w: &mut Writer) {
        w.u8(RECORD_VERSION);
        w.u8(match self.kind {
            PreorderKind::Namespace => 0,
            PreorderKind::Name => 1,
        });
        w.bytes(self.signer.as_bytes());
        w.height(self.height);
        w.u64(self.burned.0);
        w.outpoint(&self.output);
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        version(r)?;
        Ok(PreorderRecord {
            kind: match r.u8("preorder kind")? {
                0 => PreorderKind::Namespace,
                1 => PreorderKind::Name,
                value => {
                    return Err(DecodeError::BadFlag {
                        what: "preorder kind",
                        value,
                    });
                }
            },
            signer: OwnerAddress(r.array("signer")?),
            height: r.height("height")?,
            burned: Amount(r.u64("burned")?),
            output: r.outpoint()?,
        })
    }
}
