//! Paying: coin selection, fees and signing, as pure functions over the wallet's
//! coins.
//!
//! Selection takes the largest spendable coins first and stops at the first set
//! that pays the amount and the fee either exactly enough that the excess would be
//! dust (the excess then goes to the fee, with no change output), or with change
//! of at least the dust limit (the change goes to a fresh address of the wallet).
//! When only all coins together pay, and their excess is too small for change,
//! the excess goes to the fee. No change output is ever dust.
//! The fee is `fee_rate` base units per byte of the exact signed size.

use chain_node::{Address, Amount, BlockHash, OutPoint, Transaction, TxIn, TxInputs, TxOut};
use ed25519_dalek::SigningKey;

/// Bytes one more input adds to a transaction (outpoint, public key, signature).
const INPUT_BYTES: u64 = 36 + 32 + 64;

/// A coin the wallet can spend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coin {
    /// Where it is.
    pub outpoint: OutPoint,
    /// How much.
    pub amount: Amount,
    /// The wallet key that owns it.
    pub key_index: u32,
}

/// A payment ready to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    /// The coins spent, in input order.
    pub inputs: Vec<Coin>,
    /// The outputs: the payment, then change if any.
    pub outputs: Vec<TxOut>,
    /// The fee.
    pub fee: Amount,
    /// The change, if an output carries it.
    pub change: Option<Amount>,
}

/// Why a payment cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpendError {
    /// The coins do not cover amount and fee.
    #[error(
        "insufficient funds: {needed} base units needed (amount plus fee), {available} spendable"
    )]
    InsufficientFunds {
        /// Amount plus the fee of spending every coin.
        needed: u64,
        /// The sum of the spendable coins.
        available: u64,
    },
    /// The amount is below what is worth sending.
    #[error("amount {amount} is below the dust limit of {dust} base units")]
    Dust {
        /// The amount asked.
        amount: u64,
        /// The dust limit at this fee rate.
        dust: u64,
    },
    /// The fee rate is zero or absurd.
    #[error("fee rate {0} is out of range (1 to 100000 base units per byte)")]
    FeeRate(u64),
}

/// The smallest output worth creating at `fee_rate`: one that costs under a third
/// of its value to spend, and never under 1,000 base units.
pub fn dust_limit(fee_rate: u64) -> u64 {
    (3 * INPUT_BYTES * fee_rate).max(1_000)
}

/// The transaction a payment makes, with placeholder keys and signatures (whose
/// sizes are fixed, so its size is the signed size).
fn unsigned(inputs: &[Coin], outputs: &[TxOut]) -> Transaction {
    Transaction {
        version: 1,
        inputs: TxInputs::Spend(
            inputs
                .iter()
                .map(|c| TxIn {
                    prevout: c.outpoint,
                    pubkey: [0; 32],
                    signature: [0; 64],
                })
                .collect(),
        ),
        outputs: outputs.to_vec(),
    }
}

fn fee_for(inputs: &[Coin], outputs: &[TxOut], fee_rate: u64) -> u64 {
    unsigned(inputs, outputs).size() as u64 * fee_rate
}

/// Chooses coins for paying `amount` to `to`, with change to `change_to`.
///
/// # Errors
/// [`SpendError`] when the coins do not suffice, the amount is dust, or the fee
/// rate is out of range.
pub fn plan(
    coins: &[Coin],
    to: Address,
    amount: Amount,
    change_to: Address,
    fee_rate: u64,
) -> Result<Payment, SpendError> {
    if fee_rate == 0 || fee_rate > 100_000 {
        return Err(SpendError::FeeRate(fee_rate));
    }
    let dust = dust_limit(fee_rate);
    if amount.units() < dust {
        return Err(SpendError::Dust {
            amount: amount.units(),
            dust,
        });
    }
    let mut sorted = coins.to_vec();
    sorted.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.outpoint.cmp(&b.outpoint)));
    let pay = TxOut::pay(amount, to);
    let target = u128::from(amount.units());
    let mut total: u128 = 0;
    for n in 1..=sorted.len() {
        let inputs = sorted.get(..n).unwrap_or_default();
        total += u128::from(inputs.last().map_or(0, |c| c.amount.units()));
        // Without change: the whole excess is fee, acceptable when it is dust.
        let fee_alone = u128::from(fee_for(inputs, std::slice::from_ref(&pay), fee_rate));
        if total >= target + fee_alone && total - target - fee_alone < u128::from(dust) {
            let fee = u64::try_from(total - target).unwrap_or(u64::MAX);
            return Ok(Payment {
                inputs: inputs.to_vec(),
                outputs: vec![pay],
                fee: Amount::from_units(fee),
                change: None,
            });
        }
        // With change of at least the dust limit.
        let with_change = [pay.clone(), TxOut::pay(Amount::ZERO, change_to)];
        let fee = u128::from(fee_for(inputs, &with_change, fee_rate));
        if total >= target + fee + u128::from(dust) {
            let change = u64::try_from(total - target - fee).unwrap_or(u64::MAX);
            let fee = u64::try_from(fee).unwrap_or(u64::MAX);
            return Ok(Payment {
                inputs: inputs.to_vec(),
                outputs: vec![pay, TxOut::pay(Amount::from_units(change), change_to)],
                fee: Amount::from_units(fee),
                change: Some(Amount::from_units(change)),
            });
        }
    }
    // Every coin together pays, but only with an excess too small for a change
    // output and too large to call dust: it goes to the fee (at most one output's
    // bytes plus the dust limit).
    let fee_all = u128::from(fee_for(&sorted, std::slice::from_ref(&pay), fee_rate));
    if !sorted.is_empty() && total >= target + fee_all {
        let fee = u64::try_from(total - target).unwrap_or(u64::MAX);
        return Ok(Payment {
            inputs: sorted,
            outputs: vec![pay],
            fee: Amount::from_units(fee),
            change: None,
        });
    }
    let available: u128 = coins.iter().map(|c| u128::from(c.amount.units())).sum();
    Err(SpendError::InsufficientFunds {
        needed: u64::try_from(target + fee_all).unwrap_or(u64::MAX),
        available: u64::try_from(available).unwrap_or(u64::MAX),
    })
}

/// Signs a payment: `key_of` gives the signing key of each input's wallet key.
pub fn sign(
    payment: &Payment,
    chain_id: &BlockHash,
    key_of: impl Fn(u32) -> SigningKey,
) -> Transaction {
    let mut tx = unsigned(&payment.inputs, &payment.outputs);
    let keys: Vec<SigningKey> = payment.inputs.iter().map(|c| key_of(c.key_index)).collect();
    let spent: Vec<Amount> = payment.inputs.iter().map(|c| c.amount).collect();
    tx.sign(chain_id, &keys, &spent);
    tx
}
