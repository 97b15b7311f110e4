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
//!
//! Coins come from the node, so their amounts are not trusted: coins that add up
//! to more than the money supply are refused, and every sum is checked.

use chain_node::{
    Address, Amount, BlockHash, OutPoint, OutputKind, Transaction, TxIn, TxInputs, TxOut,
};
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
        needed: u128,
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
    /// The coins, or the amount, exceed the money supply: no honest node reports
    /// such coins.
    #[error(
        "{what} add up to more than all coins that can exist (21,000,000 coins); the node's answer cannot be right"
    )]
    TooMuchMoney {
        /// "the coins" or "the amount".
        what: &'static str,
    },
}

/// `a + b` when the sum is a possible amount (at most [`MAX_MONEY`]), else `None`.
pub fn add_money(a: Amount, b: Amount) -> Option<Amount> {
    a.checked_add(b).filter(|s| s.is_in_range())
}

/// The smallest output worth creating at `fee_rate`: one that costs under a third
/// of its value to spend, and never under 1,000 base units (`u64::MAX` when that
/// cost is beyond any amount).
pub fn dust_limit(fee_rate: u64) -> u64 {
    (3 * INPUT_BYTES).saturating_mul(fee_rate).max(1_000)
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

/// The fee of the signed transaction; `u128` holds any size times any rate.
fn fee_for(inputs: &[Coin], outputs: &[TxOut], fee_rate: u64) -> u128 {
    unsigned(inputs, outputs).size() as u128 * u128::from(fee_rate)
}

/// A `u128` computed from amounts below the money supply, as an [`Amount`].
fn amount_of(units: u128) -> Result<Amount, SpendError> {
    u64::try_from(units)
        .ok()
        .map(Amount::from_units)
        .filter(|a| a.is_in_range())
        .ok_or(SpendError::TooMuchMoney { what: "the fee" })
}

/// Chooses coins for paying `amount` to `to`, with change to `change_to`.
///
/// # Errors
/// [`SpendError`] when the coins do not suffice, the amount is dust, the fee
/// rate is out of range, or the coins or the amount exceed the money supply.
pub fn plan(
    coins: &[Coin],
    to: Address,
    amount: Amount,
    change_to: Address,
    fee_rate: u64,
) -> Result<Payment, SpendError> {
    plan_output(coins, TxOut::pay(amount, to), change_to, fee_rate)
}

/// Chooses coins for a transaction whose one output carries `data` in a data output
/// of amount zero (nothing is burnt but the fee), with change to `change_to`.
///
/// # Errors
/// [`SpendError`] when the coins do not pay the fee, the fee rate is out of range
/// or the coins exceed the money supply. The data's length is the caller's to
/// check (consensus allows 256 bytes).
pub fn plan_data(
    coins: &[Coin],
    data: Vec<u8>,
    change_to: Address,
    fee_rate: u64,
) -> Result<Payment, SpendError> {
    let out = TxOut {
        amount: Amount::ZERO,
        kind: OutputKind::Burn(data),
    };
    plan_output(coins, out, change_to, fee_rate)
}

/// Chooses coins for a transaction with the output `pay`, then change. A payment
/// (not a data output) must be at least the dust limit.
fn plan_output(
    coins: &[Coin],
    pay: TxOut,
    change_to: Address,
    fee_rate: u64,
) -> Result<Payment, SpendError> {
    plan_outputs(&[], coins, vec![pay], change_to, fee_rate)
}

/// Chooses coins for a transaction that spends every coin of `required` (first,
/// in that order) and as many of `coins` as needed, with the `outputs` in order and
/// then change. Every payment output (not a data output) must be at least the dust
/// limit.
///
/// # Errors
/// [`SpendError`] as for [`plan`].
pub fn plan_outputs(
    required: &[Coin],
    coins: &[Coin],
    outputs: Vec<TxOut>,
    change_to: Address,
    fee_rate: u64,
) -> Result<Payment, SpendError> {
    if fee_rate == 0 || fee_rate > 100_000 {
        return Err(SpendError::FeeRate(fee_rate));
    }
    let amount = outputs
        .iter()
        .try_fold(Amount::ZERO, |sum, o| add_money(sum, o.amount))
        .ok_or(SpendError::TooMuchMoney { what: "the amount" })?;
    let available = coins
        .iter()
        .chain(required)
        .try_fold(Amount::ZERO, |sum, c| add_money(sum, c.amount))
        .ok_or(SpendError::TooMuchMoney { what: "the coins" })?;
    let dust = dust_limit(fee_rate);
    if let Some(small) = outputs
        .iter()
        .find(|o| o.address().is_some() && o.amount.units() < dust)
    {
        return Err(SpendError::Dust {
            amount: small.amount.units(),
            dust,
        });
    }
    let mut sorted = coins.to_vec();
    sorted.retain(|c| !required.iter().any(|r| r.outpoint == c.outpoint));
    sorted.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.outpoint.cmp(&b.outpoint)));
    // Every sum below is of amounts whose total is at most MAX_MONEY, and fees
    // are u128: nothing here can overflow.
    let target = u128::from(amount.units());
    let dust = u128::from(dust);
    let mut total: u128 = required.iter().map(|c| u128::from(c.amount.units())).sum();
    let first = usize::from(required.is_empty());
    let mut inputs: Vec<Coin> = required.to_vec();
    for n in first..=sorted.len() {
        if n > 0 {
            let Some(next) = sorted.get(n - 1) else { break };
            total += u128::from(next.amount.units());
            inputs.push(next.clone());
        }
        // Without change: the whole excess is fee, acceptable when it is dust.
        let fee_alone = fee_for(&inputs, &outputs, fee_rate);
        if total >= target + fee_alone && total - target - fee_alone < dust {
            return Ok(Payment {
                inputs,
                outputs,
                fee: amount_of(total - target)?,
                change: None,
            });
        }
        // With change of at least the dust limit.
        let mut with_change = outputs.clone();
        with_change.push(TxOut::pay(Amount::ZERO, change_to));
        let fee = fee_for(&inputs, &with_change, fee_rate);
        if total >= target + fee + dust {
            let change = amount_of(total - target - fee)?;
            if let Some(last) = with_change.last_mut() {
                last.amount = change;
            }
            return Ok(Payment {
                inputs,
                outputs: with_change,
                fee: amount_of(fee)?,
                change: Some(change),
            });
        }
    }
    // Every coin together pays, but only with an excess too small for a change
    // output and too large to call dust: it goes to the fee (at most one output's
    // bytes plus the dust limit).
    let fee_all = fee_for(&inputs, &outputs, fee_rate);
    if !inputs.is_empty() && total >= target + fee_all {
        return Ok(Payment {
            inputs,
            outputs,
            fee: amount_of(total - target)?,
            change: None,
        });
    }
    Err(SpendError::InsufficientFunds {
        needed: target + fee_all,
        available: available.units(),
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
