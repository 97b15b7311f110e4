//! Transactions: Ed25519-signed inputs, pay-to-address and data-burn outputs, txid and
//! the signature digest.

use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

use crate::address::Address;
use crate::encoding::{Encode, encode_to_vec};
use crate::hash::{BlockHash, TxId, sha256d};
use crate::units::{Amount, Height};

/// Largest data payload of a burn output, in bytes.
pub const MAX_BURN_DATA: usize = 256;
/// Largest free-form data in a coinbase (room for an extra nonce and a tag).
pub const MAX_COINBASE_EXTRA: usize = 100;

/// Domain separation for the signature digest.
const SIGHASH_TAG: &[u8] = b"chain-node/sighash/v1";

/// A reference to an output of an earlier transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutPoint {
    /// The transaction that created the output.
    pub txid: TxId,
    /// Its index among that transaction's outputs.
    pub vout: u32,
}

/// A spending input: the outpoint, the public key whose address owns it, and a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxIn {
    /// The output being spent.
    pub prevout: OutPoint,
    /// The Ed25519 public key; its [`Address`] must be the spent output's address.
    pub pubkey: [u8; 32],
    /// The Ed25519 signature over [`Transaction::sighash`]; not part of the txid.
    pub signature: [u8; 64],
}

/// What an output does with its amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// Pays to the holder of the key behind the address.
    Pay(Address),
    /// Burns the amount and carries up to [`MAX_BURN_DATA`] bytes; never spendable.
    Burn(Vec<u8>),
}

/// An output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxOut {
    /// The amount.
    pub amount: Amount,
    /// Payment or burn.
    pub kind: OutputKind,
}

impl TxOut {
    /// A payment output.
    pub fn pay(amount: Amount, address: Address) -> Self {
        TxOut {
            amount,
            kind: OutputKind::Pay(address),
        }
    }

    /// The address it pays to, `None` for a burn.
    pub fn address(&self) -> Option<Address> {
        match &self.kind {
            OutputKind::Pay(a) => Some(*a),
            OutputKind::Burn(_) => None,
        }
    }
}

/// The inputs: a coinbase (new coins, carrying its height) or signed spends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxInputs {
    /// The first transaction of a block.
    Coinbase {
        /// The height of the block; makes every coinbase txid unique.
        height: Height,
        /// Free data (extra nonce), at most [`MAX_COINBASE_EXTRA`] bytes.
        extra: Vec<u8>,
    },
    /// Spends of existing outputs.
    Spend(Vec<TxIn>),
}

/// A transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    /// Format version; 1.
    pub version: u32,
    /// Coinbase or spends.
    pub inputs: TxInputs,
    /// Outputs.
    pub outputs: Vec<TxOut>,
}

/// The transaction without signatures: what the txid and the sighash commit to.
#[derive(Debug)]
pub(crate) struct Unsigned<'a>(pub(crate) &'a Transaction);

impl Transaction {
    /// A coinbase at `height` paying `outputs`.
    pub fn coinbase(height: Height, extra: Vec<u8>, outputs: Vec<TxOut>) -> Self {
        Transaction {
            version: 1,
            inputs: TxInputs::Coinbase { height, extra },
            outputs,
        }
    }

    /// Whether this is a coinbase.
    pub fn is_coinbase(&self) -> bool {
        matches!(self.inputs, TxInputs::Coinbase { .. })
    }

    /// The spending inputs (empty for a coinbase).
    pub fn spends(&self) -> &[TxIn] {
        match &self.inputs {
            TxInputs::Coinbase { .. } => &[],
            TxInputs::Spend(ins) => ins,
        }
    }

    /// Double SHA-256 of the encoding without signatures.
    pub fn txid(&self) -> TxId {
        TxId(sha256d(&encode_to_vec(&Unsigned(self))))
    }

    /// The full canonical encoding, signatures included.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_to_vec(self)
    }

    /// Encoded size in bytes.
    pub fn size(&self) -> usize {
        self.to_bytes().len()
    }

    /// The digest input `index` signs: SHA-256 over a tag, the chain id, the input index,
    /// the unsigned transaction (all outpoints, keys and outputs) and the amounts spent.
    ///
    /// `spent` lists the amounts of the outputs being spent, in input order.
    pub fn sighash(&self, chain_id: &BlockHash, index: u32, spent: &[Amount]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(SIGHASH_TAG);
        h.update(chain_id.as_bytes());
        h.update(index.to_le_bytes());
        let mut unsigned = Vec::new();
        Unsigned(self).encode(&mut unsigned);
        h.update(&unsigned);
        h.update((spent.len() as u64).to_le_bytes());
        for amount in spent {
            h.update(amount.units().to_le_bytes());
        }
        h.finalize().into()
    }

    /// Signs every input with the key in `keys` at the same position.
    ///
    /// Sets each input's public key from its signing key first, so that the digest covers
    /// the final keys. Inputs without a key (shorter `keys`) are left unsigned.
    pub fn sign(&mut self, chain_id: &BlockHash, keys: &[SigningKey], spent: &[Amount]) {
        if let TxInputs::Spend(ins) = &mut self.inputs {
            for (input, key) in ins.iter_mut().zip(keys) {
                input.pubkey = key.verifying_key().to_bytes();
            }
        }
        let digests: Vec<[u8; 32]> = (0..self.spends().len() as u32)
            .map(|i| self.sighash(chain_id, i, spent))
            .collect();
        if let TxInputs::Spend(ins) = &mut self.inputs {
            for ((input, key), digest) in ins.iter_mut().zip(keys).zip(digests) {
                input.signature = key.sign(&digest).to_bytes();
            }
        }
    }
}
