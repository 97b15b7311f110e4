//! Transactions: Ed25519-signed inputs, pay-to-address and data-burn outputs, the txid
//! (without signatures), the wtxid (with them) and the signature digest.

use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

use crate::address::Address;
use crate::encoding::{Encode, encode_to_vec};
use crate::hash::{BlockHash, TxId, WtxId, sha256d};
use crate::units::{Amount, Height};

/// Largest data payload of a burn output, in bytes.
pub const MAX_BURN_DATA: usize = 256;
/// Largest free-form data in a coinbase (room for an extra nonce and a tag).
pub const MAX_COINBASE_EXTRA: usize = 100;

/// Domain separation of the per-transaction part of the signature digest.
const SIGHASH_TX_TAG: &[u8] = b"chain-node/sighash/v2/tx";
/// Domain separation of the per-input signature digest.
const SIGHASH_INPUT_TAG: &[u8] = b"chain-node/sighash/v2/input";

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
    /// The Ed25519 signature over [`TxSighash::input`]; part of the wtxid, not of the
    /// txid.
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

    /// Double SHA-256 of the encoding without signatures: the identity that outpoints
    /// use, which signatures cannot change.
    pub fn txid(&self) -> TxId {
        TxId(sha256d(&encode_to_vec(&Unsigned(self))))
    }

    /// Double SHA-256 of the full canonical encoding, signatures included: the leaf a
    /// block's Merkle root commits to. Equal to the txid for a coinbase, which carries
    /// no signatures.
    pub fn wtxid(&self) -> WtxId {
        WtxId(sha256d(&self.to_bytes()))
    }

    /// The full canonical encoding, signatures included.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_to_vec(self)
    }

    /// Encoded size in bytes.
    pub fn size(&self) -> usize {
        self.to_bytes().len()
    }

    /// The digest input `index` signs; see [`TxSighash`].
    ///
    /// Each call hashes the whole transaction: to sign or check several inputs, build
    /// one [`TxSighash`] and take [`TxSighash::input`] for each.
    pub fn sighash(&self, chain_id: &BlockHash, index: u32, spent: &[Amount]) -> [u8; 32] {
        TxSighash::new(self, chain_id, spent).input(index)
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
        let digest = TxSighash::new(self, chain_id, spent);
        if let TxInputs::Spend(ins) = &mut self.inputs {
            for (index, (input, key)) in (0u32..).zip(ins.iter_mut().zip(keys)) {
                input.signature = key.sign(&digest.input(index)).to_bytes();
            }
        }
    }
}

/// The part of the signature digest that every input of a transaction shares, hashed
/// once per transaction:
///
/// `SHA-256("chain-node/sighash/v2/tx" ‖ chain_id ‖ unsigned tx ‖ count (u64) ‖ amount of
/// each spent output (u64))`
///
/// so that it covers every outpoint, every public key, every output, the amounts being
/// spent and the chain. Input `i` then signs the cheap [`TxSighash::input`] digest over
/// this one and `i`: checking all inputs of a transaction costs one pass over it plus a
/// constant per input, not one pass per input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxSighash([u8; 32]);

impl TxSighash {
    /// Hashes `tx` for `chain_id`; `spent` lists the amounts of the outputs being spent,
    /// in input order.
    pub fn new(tx: &Transaction, chain_id: &BlockHash, spent: &[Amount]) -> Self {
        let mut h = Sha256::new();
        h.update(SIGHASH_TX_TAG);
        h.update(chain_id.as_bytes());
        let mut unsigned = Vec::new();
        Unsigned(tx).encode(&mut unsigned);
        h.update(&unsigned);
        h.update((spent.len() as u64).to_le_bytes());
        for amount in spent {
            h.update(amount.units().to_le_bytes());
        }
        TxSighash(h.finalize().into())
    }

    /// The shared digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest input `index` signs:
    /// `SHA-256("chain-node/sighash/v2/input" ‖ shared digest ‖ index (u32))`.
    pub fn input(&self, index: u32) -> [u8; 32] {
        Sha256::new()
            .chain_update(SIGHASH_INPUT_TAG)
            .chain_update(self.0)
            .chain_update(index.to_le_bytes())
            .finalize()
            .into()
    }
}
