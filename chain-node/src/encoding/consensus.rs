//! Encoding of consensus types: headers, transactions, blocks.

use super::{Decode, Encode, Reader, put_list, put_var_bytes};
use crate::address::Address;
use crate::block::{Block, Header};
use crate::error::DecodeError;
use crate::hash::{BlockHash, TxId};
use crate::params::{MAX_BLOCK_SIZE, MAX_TX_SIZE};
use crate::pow::CompactTarget;
use crate::transaction::{
    MAX_BURN_DATA, MAX_COINBASE_EXTRA, OutPoint, OutputKind, Transaction, TxIn, TxInputs, TxOut,
    Unsigned,
};
use crate::units::{Amount, Height};

/// Smallest encoded input: outpoint (36), key (32), signature (64).
const INPUT_SIZE: usize = 36 + 32 + 64;
/// Smallest encoded output: amount (8), tag (1), empty burn length (1).
const MIN_OUTPUT_SIZE: usize = 10;
/// Smallest encoded transaction: version, tag, no inputs, no outputs.
const MIN_TX_SIZE: usize = 4 + 1 + 1 + 1;

const TAG_COINBASE: u8 = 0;
const TAG_SPEND: u8 = 1;
const TAG_PAY: u8 = 0;
const TAG_BURN: u8 = 1;

impl Encode for [u8; 32] {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl Encode for TxId {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for TxId {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxId(r.array()?))
    }
}

impl Encode for BlockHash {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for BlockHash {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockHash(r.array()?))
    }
}

impl Encode for Header {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version.to_le_bytes());
        self.prev.encode(out);
        out.extend_from_slice(&self.merkle_root);
        out.extend_from_slice(&self.time.to_le_bytes());
        out.extend_from_slice(&self.bits.0.to_le_bytes());
        out.extend_from_slice(&self.nonce.to_le_bytes());
    }
}

impl Decode for Header {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Header {
            version: r.u32()?,
            prev: BlockHash::decode(r)?,
            merkle_root: r.array()?,
            time: r.u32()?,
            bits: CompactTarget(r.u32()?),
            nonce: r.u32()?,
        })
    }
}

impl Encode for OutPoint {
    fn encode(&self, out: &mut Vec<u8>) {
        self.txid.encode(out);
        out.extend_from_slice(&self.vout.to_le_bytes());
    }
}

impl Decode for OutPoint {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OutPoint {
            txid: TxId::decode(r)?,
            vout: r.u32()?,
        })
    }
}

impl Encode for TxOut {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.amount.units().to_le_bytes());
        match &self.kind {
            OutputKind::Pay(address) => {
                out.push(TAG_PAY);
                out.extend_from_slice(&address.0);
            }
            OutputKind::Burn(data) => {
                out.push(TAG_BURN);
                put_var_bytes(out, data);
            }
        }
    }
}

impl Decode for TxOut {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let amount = Amount::from_units(r.u64()?);
        let kind = match r.u8()? {
            TAG_PAY => OutputKind::Pay(Address(r.array()?)),
            TAG_BURN => OutputKind::Burn(r.var_bytes("burn data", MAX_BURN_DATA)?),
            tag => {
                return Err(DecodeError::BadTag {
                    what: "output",
                    tag,
                });
            }
        };
        Ok(TxOut { amount, kind })
    }
}

/// The unsigned form: inputs without signatures.
impl Encode for Unsigned<'_> {
    fn encode(&self, out: &mut Vec<u8>) {
        let tx = self.0;
        out.extend_from_slice(&tx.version.to_le_bytes());
        match &tx.inputs {
            TxInputs::Coinbase { height, extra } => {
                out.push(TAG_COINBASE);
                out.extend_from_slice(&height.0.to_le_bytes());
                put_var_bytes(out, extra);
            }
            TxInputs::Spend(ins) => {
                out.push(TAG_SPEND);
                super::put_compact_size(out, ins.len() as u64);
                for input in ins {
                    input.prevout.encode(out);
                    out.extend_from_slice(&input.pubkey);
                }
            }
        }
        put_list(out, &tx.outputs);
    }
}

/// The full form: the unsigned form followed by one signature per input.
impl Encode for Transaction {
    fn encode(&self, out: &mut Vec<u8>) {
        Unsigned(self).encode(out);
        for input in self.spends() {
            out.extend_from_slice(&input.signature);
        }
    }
}

impl Decode for Transaction {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u32()?;
        let inputs = match r.u8()? {
            TAG_COINBASE => TxInputs::Coinbase {
                height: Height(r.u32()?),
                extra: r.var_bytes("coinbase extra", MAX_COINBASE_EXTRA)?,
            },
            TAG_SPEND => {
                let n = r.length("inputs", MAX_TX_SIZE / INPUT_SIZE, INPUT_SIZE)?;
                let mut ins = Vec::with_capacity(n);
                for _ in 0..n {
                    ins.push(TxIn {
                        prevout: OutPoint::decode(r)?,
                        pubkey: r.array()?,
                        signature: [0; 64],
                    });
                }
                TxInputs::Spend(ins)
            }
            tag => {
                return Err(DecodeError::BadTag {
                    what: "inputs",
                    tag,
                });
            }
        };
        let outputs = r.list("outputs", MAX_TX_SIZE / MIN_OUTPUT_SIZE, MIN_OUTPUT_SIZE)?;
        let mut tx = Transaction {
            version,
            inputs,
            outputs,
        };
        if let TxInputs::Spend(ins) = &mut tx.inputs {
            for input in ins {
                input.signature = r.array()?;
            }
        }
        Ok(tx)
    }
}

impl Encode for Block {
    fn encode(&self, out: &mut Vec<u8>) {
        self.header.encode(out);
        put_list(out, &self.txs);
    }
}

impl Decode for Block {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = Header::decode(r)?;
        let txs = r.list("transactions", MAX_BLOCK_SIZE / MIN_TX_SIZE, MIN_TX_SIZE)?;
        Ok(Block { header, txs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{decode_exact, encode_to_vec};
    use crate::params::Network;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    fn arb_out() -> impl Strategy<Value = TxOut> {
        prop_oneof![
            (any::<u64>(), any::<[u8; 32]>())
                .prop_map(|(a, h)| TxOut::pay(Amount::from_units(a), Address(h))),
            (
                any::<u64>(),
                proptest::collection::vec(any::<u8>(), 0..=MAX_BURN_DATA)
            )
                .prop_map(|(a, d)| TxOut {
                    amount: Amount::from_units(a),
                    kind: OutputKind::Burn(d)
                }),
        ]
    }

    fn arb_input() -> impl Strategy<Value = TxIn> {
        (
            any::<[u8; 32]>(),
            any::<u32>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
        )
            .prop_map(|(t, vout, pubkey, s)| {
                let mut signature = [0u8; 64];
                signature[..32].copy_from_slice(&s);
                signature[32..].copy_from_slice(&t);
                TxIn {
                    prevout: OutPoint {
                        txid: TxId(t),
                        vout,
                    },
                    pubkey,
                    signature,
                }
            })
    }

    pub(crate) fn arb_tx() -> impl Strategy<Value = Transaction> {
        let inputs = prop_oneof![
            (
                any::<u32>(),
                proptest::collection::vec(any::<u8>(), 0..=MAX_COINBASE_EXTRA)
            )
                .prop_map(|(h, extra)| TxInputs::Coinbase {
                    height: Height(h),
                    extra
                }),
            proptest::collection::vec(arb_input(), 0..4).prop_map(TxInputs::Spend),
        ];
        (
            any::<u32>(),
            inputs,
            proptest::collection::vec(arb_out(), 0..4),
        )
            .prop_map(|(version, inputs, outputs)| Transaction {
                version,
                inputs,
                outputs,
            })
    }

    proptest! {
        #![proptest_config(Config { rng_seed: RngSeed::Fixed(7), cases: 256, ..Config::default() })]

        #[test]
        fn transactions_round_trip(tx in arb_tx()) {
            let bytes = encode_to_vec(&tx);
            prop_assert_eq!(decode_exact::<Transaction>(&bytes).unwrap(), tx.clone());
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert!(
                matches!(decode_exact::<Transaction>(&longer), Err(DecodeError::TrailingBytes { count: 1 })),
                "trailing byte must be rejected"
            );
            // Every strict prefix fails to decode.
            for cut in [0, bytes.len() / 2, bytes.len() - 1] {
                prop_assert!(decode_exact::<Transaction>(&bytes[..cut]).is_err());
            }
        }

        #[test]
        fn blocks_round_trip(txs in proptest::collection::vec(arb_tx(), 0..5), nonce in any::<u32>(), time in any::<u32>()) {
            let mut block = Network::Regtest.params().genesis;
            block.header.nonce = nonce;
            block.header.time = time;
            block.txs = txs;
            let bytes = encode_to_vec(&block);
            prop_assert_eq!(decode_exact::<Block>(&bytes).unwrap(), block);
        }
    }

    #[test]
    fn header_is_80_bytes_in_bitcoin_field_order() {
        let h = Header {
            version: 1,
            prev: BlockHash([0x11; 32]),
            merkle_root: [0x22; 32],
            time: 0x0403_0201,
            bits: CompactTarget(0x207f_ffff),
            nonce: 0xdead_beef,
        };
        let bytes = encode_to_vec(&h);
        assert_eq!(bytes.len(), 80);
        assert_eq!(&bytes[..4], &[1, 0, 0, 0]);
        assert_eq!(&bytes[4..36], &[0x11; 32]);
        assert_eq!(&bytes[36..68], &[0x22; 32]);
        assert_eq!(&bytes[68..72], &[1, 2, 3, 4]);
        assert_eq!(&bytes[72..76], &[0xff, 0xff, 0x7f, 0x20]);
        assert_eq!(&bytes[76..], &[0xef, 0xbe, 0xad, 0xde]);
        assert_eq!(decode_exact::<Header>(&bytes).unwrap(), h);
    }

    #[test]
    fn bad_tags_and_oversized_fields_are_rejected() {
        let tx = Network::Regtest.params().genesis.txs[0].clone();
        let mut bytes = encode_to_vec(&tx);
        bytes[4] = 7; // input tag
        assert!(matches!(
            decode_exact::<Transaction>(&bytes),
            Err(DecodeError::BadTag {
                what: "inputs",
                tag: 7
            })
        ));
        // A burn output announcing 257 bytes of data.
        let mut out = Vec::new();
        out.extend_from_slice(&0u64.to_le_bytes());
        out.push(TAG_BURN);
        crate::encoding::put_compact_size(&mut out, 257);
        out.extend_from_slice(&[0; 257]);
        assert!(matches!(
            decode_exact::<TxOut>(&out),
            Err(DecodeError::LengthOverBound {
                what: "burn data",
                ..
            })
        ));
        // A spend claiming a million inputs is refused before allocating.
        let mut spend = vec![1, 0, 0, 0, TAG_SPEND];
        crate::encoding::put_compact_size(&mut spend, 1_000_000);
        assert!(matches!(
            decode_exact::<Transaction>(&spend),
            Err(DecodeError::LengthOverBound { what: "inputs", .. })
        ));
    }
}

#[cfg(test)]
mod arbitrary_bytes {
    use super::*;
    use crate::encoding::IndexEntry;
    use crate::encoding::{decode_exact, encode_to_vec};
    use crate::validation::{BlockUndo, Coin};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    /// Decoding arbitrary bytes never panics, and whatever decodes re-encodes to exactly
    /// the same bytes: every accepted encoding is the canonical one.
    fn canonical<T: Decode + Encode>(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(v) = decode_exact::<T>(bytes) {
            prop_assert_eq!(encode_to_vec(&v), bytes.to_vec());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(Config { rng_seed: RngSeed::Fixed(99), cases: 2048, ..Config::default() })]

        #[test]
        fn any_accepted_bytes_are_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            canonical::<Transaction>(&bytes)?;
            canonical::<Block>(&bytes)?;
            canonical::<Header>(&bytes)?;
            canonical::<TxOut>(&bytes)?;
            canonical::<IndexEntry>(&bytes)?;
            canonical::<BlockUndo>(&bytes)?;
            canonical::<Coin>(&bytes)?;
        }

        /// Mutating one byte of a valid transaction never panics and never yields a
        /// different value with the same encoding.
        #[test]
        fn mutated_transactions_stay_canonical(seed in any::<u64>(), pos in any::<usize>(), byte in any::<u8>()) {
            let tx = Transaction::coinbase(Height(seed as u32), seed.to_le_bytes().to_vec(), vec![
                TxOut::pay(Amount::from_units(seed), Address([seed as u8; 32])),
                TxOut { amount: Amount::ZERO, kind: OutputKind::Burn(vec![1, 2, 3]) },
            ]);
            let mut bytes = encode_to_vec(&tx);
            let i = pos % bytes.len();
            bytes[i] = byte;
            canonical::<Transaction>(&bytes)?;
        }
    }
}
