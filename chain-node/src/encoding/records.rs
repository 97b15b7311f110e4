//! Encoding of chain-state records: coins, undo data, block index entries.

use super::{Decode, Encode, Reader, put_compact_size};
use crate::address::Address;
use crate::block::Header;
use crate::error::DecodeError;
use crate::transaction::OutPoint;
use crate::u256::U256;
use crate::units::{Amount, Height};
use crate::validation::{BlockUndo, Coin};

/// Encoded size of a coin.
const COIN_SIZE: usize = 8 + 32 + 4 + 1;
/// Most coins one block can spend (each input is at least 132 bytes).
const MAX_UNDO_ENTRIES: usize = crate::params::MAX_BLOCK_SIZE / 132;

/// How far a block has been validated, as Bitcoin Core's `BlockStatus` validity levels
/// (`BLOCK_VALID_TREE`, `BLOCK_VALID_TRANSACTIONS` with `BLOCK_HAVE_DATA`,
/// `BLOCK_VALID_SCRIPTS`). Levels only rise; a failure is recorded beside the level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Validity {
    /// The header is valid: it connects to a valid header, carries proof of work for the
    /// bits the difficulty rule expects, and passed the time rules. No data is stored.
    Header,
    /// The block's data is stored: its transactions match the header's Merkle root and
    /// pass the context-free rules.
    Data,
    /// The block was connected once: its inputs, amounts and signatures passed against
    /// the UTXO set of its parent.
    Connected,
}

/// Why a block is invalid, as Core's `BLOCK_FAILED_VALID` and `BLOCK_FAILED_CHILD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The block itself failed validation, or was marked with `invalidateblock`.
    Failed,
    /// An ancestor failed.
    FailedChild,
}

/// What the chain state knows about a block: its validity level and any failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockStatus {
    /// How far it was validated.
    pub validity: Validity,
    /// Whether it (or an ancestor) is invalid.
    pub failure: Option<Failure>,
}

impl BlockStatus {
    /// A status at `validity` without failure.
    pub const fn valid(validity: Validity) -> Self {
        BlockStatus {
            validity,
            failure: None,
        }
    }

    /// Whether the block's data is stored.
    pub fn has_data(&self) -> bool {
        self.validity >= Validity::Data
    }

    /// Whether the block or one of its ancestors is invalid.
    pub fn is_failed(&self) -> bool {
        self.failure.is_some()
    }

    /// The one byte stored for it: the level (1 header, 2 data, 3 connected) in the low
    /// bits, 0x10 for a failed block, 0x20 for a descendant of one.
    pub fn to_byte(self) -> u8 {
        let level = match self.validity {
            Validity::Header => 1,
            Validity::Data => 2,
            Validity::Connected => 3,
        };
        let failure = match self.failure {
            None => 0,
            Some(Failure::Failed) => 0x10,
            Some(Failure::FailedChild) => 0x20,
        };
        level | failure
    }

    /// The status a stored byte names, if it names one.
    pub fn from_byte(byte: u8) -> Option<Self> {
        let validity = match byte & 0x0f {
            1 => Validity::Header,
            2 => Validity::Data,
            3 => Validity::Connected,
            _ => return None,
        };
        let failure = match byte & 0xf0 {
            0 => None,
            0x10 => Some(Failure::Failed),
            0x20 => Some(Failure::FailedChild),
            _ => return None,
        };
        Some(BlockStatus { validity, failure })
    }
}

/// A block index entry: the header and what the chain state knows about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// The header.
    pub header: Header,
    /// Its height.
    pub height: Height,
    /// Cumulative work up to and including this block.
    pub chainwork: U256,
    /// Validity level and failure.
    pub status: BlockStatus,
    /// The order in which blocks became connectable (their data and all their
    /// ancestors' data stored), as Core's `nSequenceId`: genesis is 0, each block takes
    /// the next number when its ancestry is complete; 0 for headers without data and
    /// blocks still waiting for an ancestor's data. Between branches of equal work the
    /// chain state keeps the one that became connectable first.
    pub sequence: u64,
}

impl Encode for Coin {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.amount.units().to_le_bytes());
        out.extend_from_slice(&self.address.0);
        out.extend_from_slice(&self.height.0.to_le_bytes());
        out.push(u8::from(self.is_coinbase));
    }
}

impl Decode for Coin {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Coin {
            amount: Amount::from_units(r.u64()?),
            address: Address(r.array()?),
            height: Height(r.u32()?),
            is_coinbase: r.bool()?,
        })
    }
}

impl Encode for BlockUndo {
    fn encode(&self, out: &mut Vec<u8>) {
        put_compact_size(out, self.spent.len() as u64);
        for (outpoint, coin) in &self.spent {
            outpoint.encode(out);
            coin.encode(out);
        }
    }
}

impl Decode for BlockUndo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.length("undo entries", MAX_UNDO_ENTRIES, 36 + COIN_SIZE)?;
        let mut spent = Vec::with_capacity(n);
        for _ in 0..n {
            spent.push((OutPoint::decode(r)?, Coin::decode(r)?));
        }
        Ok(BlockUndo { spent })
    }
}

impl Encode for IndexEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        self.header.encode(out);
        out.extend_from_slice(&self.height.0.to_le_bytes());
        out.extend_from_slice(&self.chainwork.to_be_bytes());
        out.push(self.status.to_byte());
        out.extend_from_slice(&self.sequence.to_le_bytes());
    }
}

impl Decode for IndexEntry {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(IndexEntry {
            header: Header::decode(r)?,
            height: Height(r.u32()?),
            chainwork: U256::from_be_bytes(&r.array()?),
            status: {
                let tag = r.u8()?;
                BlockStatus::from_byte(tag).ok_or(DecodeError::BadTag {
                    what: "block status",
                    tag,
                })?
            },
            sequence: r.u64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{decode_exact, encode_to_vec};
    use crate::hash::TxId;
    use crate::params::Network;

    #[test]
    fn records_round_trip_and_reject_bad_bytes() {
        let coin = Coin {
            amount: Amount::from_units(12345),
            address: Address([3; 32]),
            height: Height(77),
            is_coinbase: true,
        };
        let undo = BlockUndo {
            spent: vec![(
                OutPoint {
                    txid: TxId([1; 32]),
                    vout: 2,
                },
                coin,
            )],
        };
        let bytes = encode_to_vec(&undo);
        assert_eq!(decode_exact::<BlockUndo>(&bytes).unwrap(), undo);
        let mut bad = encode_to_vec(&coin);
        *bad.last_mut().unwrap() = 2;
        assert!(matches!(
            decode_exact::<Coin>(&bad),
            Err(DecodeError::BadTag { what: "bool", .. })
        ));
        let entry = IndexEntry {
            header: Network::Regtest.params().genesis.header,
            height: Height(0),
            chainwork: U256([5, 6, 7, 8]),
            status: BlockStatus {
                validity: Validity::Data,
                failure: Some(Failure::FailedChild),
            },
            sequence: 0x0102_0304_0506_0708,
        };
        let bytes = encode_to_vec(&entry);
        // docs/storage.md: header (80) || height (4) || chainwork (32) || status (1) ||
        // sequence (8, little-endian).
        assert_eq!(bytes.len(), 125);
        // Status: level 2 (data) | 0x20 (failed child).
        assert_eq!(bytes[116], 0x22);
        assert_eq!(bytes[117..], [8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(decode_exact::<IndexEntry>(&bytes).unwrap(), entry);
        assert!(decode_exact::<IndexEntry>(&bytes[..bytes.len() - 1]).is_err());
        // Every status byte that names no status is refused; the others round-trip.
        let mut named = 0;
        for byte in 0..=u8::MAX {
            let mut b = bytes.clone();
            b[116] = byte;
            let level_ok = (1..=3).contains(&(byte & 0x0f));
            let failure_ok = matches!(byte & 0xf0, 0 | 0x10 | 0x20);
            match decode_exact::<IndexEntry>(&b) {
                Ok(e) => {
                    assert!(level_ok && failure_ok, "{byte:#x}");
                    assert_eq!(e.status.to_byte(), byte);
                    named += 1;
                }
                Err(_) => assert!(!(level_ok && failure_ok), "{byte:#x}"),
            }
        }
        assert_eq!(named, 9);
    }
}
