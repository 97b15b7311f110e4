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

/// Validity of a stored block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockStatus {
    /// Not known to be invalid.
    Valid,
    /// Failed validation, or was marked invalid with `invalidateblock`. Descendants are
    /// not marked: the chain state treats any block with an invalid ancestor as invalid.
    Invalid,
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
    /// Validity.
    pub status: BlockStatus,
    /// Arrival order of the block's data: genesis is 0, each stored block takes the next
    /// number. Between branches of equal work the chain state keeps the one seen first.
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
        out.push(match self.status {
            BlockStatus::Valid => 0,
            BlockStatus::Invalid => 1,
        });
        out.extend_from_slice(&self.sequence.to_le_bytes());
    }
}

impl Decode for IndexEntry {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(IndexEntry {
            header: Header::decode(r)?,
            height: Height(r.u32()?),
            chainwork: U256::from_be_bytes(&r.array()?),
            status: match r.u8()? {
                0 => BlockStatus::Valid,
                1 => BlockStatus::Invalid,
                tag => {
                    return Err(DecodeError::BadTag {
                        what: "block status",
                        tag,
                    });
                }
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
            status: BlockStatus::Invalid,
            sequence: 0x0102_0304_0506_0708,
        };
        let bytes = encode_to_vec(&entry);
        // docs/storage.md: header (80) || height (4) || chainwork (32) || status (1) ||
        // sequence (8, little-endian).
        assert_eq!(bytes.len(), 125);
        assert_eq!(bytes[117..], [8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(decode_exact::<IndexEntry>(&bytes).unwrap(), entry);
        assert!(decode_exact::<IndexEntry>(&bytes[..bytes.len() - 1]).is_err());
    }
}
