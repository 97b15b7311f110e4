//! The wallet's view of the chain: its coins from the node's address index, and
//! the balance they make.
//!
//! The node is not trusted with arithmetic: every amount it reports is checked
//! against the money supply, a coin reported twice is refused, and every sum is
//! checked, so an answer that cannot be true is an error, never a wrapped or
//! saturated number.

use std::collections::{BTreeMap, BTreeSet};

use chain_node::{Address, Amount, COINBASE_MATURITY, MAX_MONEY, Network, OutPoint, TxId};
use serde_json::{Value, json};

use crate::keystore::Unlocked;
use crate::output::{Failure, failed};
use crate::rpc::{RpcClient, RpcError};
use crate::spend::{Coin, add_money};

/// One output paying the wallet, as the node reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletCoin {
    /// The coin.
    pub coin: Coin,
    /// Confirmations (0 while in the mempool).
    pub confirmations: u32,
    /// The height of its block, when the node says (`None` while in the mempool).
    pub height: Option<u32>,
    /// Whether it is a coinbase output.
    pub coinbase: bool,
    /// The mempool transaction that already spends it, if any.
    pub spent_by: Option<String>,
}

impl WalletCoin {
    /// Spendable in the next block: confirmed, not being spent, and for a coinbase
    /// at least `COINBASE_MATURITY` deep counting the next block (the consensus rule).
    pub fn is_spendable(&self) -> bool {
        self.confirmations > 0 && self.spent_by.is_none() && !self.is_immature()
    }

    /// A confirmed coinbase that cannot be spent in the next block yet.
    pub fn is_immature(&self) -> bool {
        self.coinbase && self.confirmations > 0 && self.confirmations < COINBASE_MATURITY
    }
}

/// The wallet's addresses, keyed by address, with their key index: only keys
/// checked against the sealed words.
pub fn addresses(unlocked: &Unlocked) -> BTreeMap<Address, u32> {
    unlocked
        .keys()
        .iter()
        .map(|k| (k.address(), k.index))
        .collect()
}

/// Why the coins could not be had.
#[derive(Debug)]
pub enum FetchError {
    /// The node could not be asked, or refused the call.
    Rpc(RpcError),
    /// The node's answer cannot be true (a malformed field, an amount over the
    /// money supply, a coin twice).
    Answer(Failure),
}

impl From<FetchError> for Failure {
    fn from(e: FetchError) -> Failure {
        match e {
            FetchError::Rpc(e) => failed(e),
            FetchError::Answer(f) => f,
        }
    }
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, FetchError> {
    v.get(name).ok_or_else(|| {
        FetchError::Answer(failed(format!(
            "the node's getaddressutxos answer lacks {name:?}"
        )))
    })
}

fn lie(what: impl std::fmt::Display) -> FetchError {
    FetchError::Answer(failed(format!("the node returned {what}")))
}

/// Every coin of the wallet that the node knows, confirmed or in its mempool.
/// Coins of other addresses in the answer are ignored.
///
/// # Errors
/// [`FetchError::Rpc`] when the node cannot be asked; [`FetchError::Answer`] for an
/// answer that cannot be true: a malformed field, an amount over [`MAX_MONEY`], the
/// same coin twice, or coins that add up to more than [`MAX_MONEY`].
pub fn fetch(
    rpc: &RpcClient,
    network: Network,
    addrs: &BTreeMap<Address, u32>,
) -> Result<Vec<WalletCoin>, FetchError> {
    let list: Vec<String> = addrs.keys().map(|a| a.encode(network)).collect();
    let answer = rpc
        .call("getaddressutxos", json!([list]))
        .map_err(FetchError::Rpc)?;
    let items = answer
        .as_array()
        .ok_or_else(|| lie("a getaddressutxos answer that is not a list"))?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut total = Amount::ZERO;
    for item in items {
        let address = Address::parse(
            field(item, "address")?.as_str().unwrap_or_default(),
            network,
        )
        .map_err(|e| lie(format_args!("a bad address: {e}")))?;
        let Some(&key_index) = addrs.get(&address) else {
            continue;
        };
        let txid: TxId = field(item, "txid")?
            .as_str()
            .unwrap_or_default()
            .parse()
            .map_err(|_| lie("a bad txid"))?;
        let vout = field(item, "vout")?
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| lie("a bad vout"))?;
        let amount = field(item, "amount")?
            .as_u64()
            .map(Amount::from_units)
            .ok_or_else(|| lie("a bad amount"))?;
        if !amount.is_in_range() {
            return Err(lie(format_args!(
                "a coin of {} base units in {txid}:{vout}, more than all coins that can exist ({} base units)",
                amount.units(),
                MAX_MONEY.units()
            )));
        }
        let confirmations = field(item, "confirmations")?
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| lie("bad confirmations"))?;
        let height = item
            .get("height")
            .and_then(Value::as_u64)
            .and_then(|h| u32::try_from(h).ok());
        let coinbase = match field(item, "coinbase")? {
            Value::Bool(b) => *b,
            _ => return Err(lie("a coinbase flag that is not true or false")),
        };
        let spent_by = match field(item, "spentby")? {
            Value::Null => None,
            v => Some(
                v.as_str()
                    .and_then(|s| s.parse::<TxId>().ok())
                    .ok_or_else(|| lie("a bad spentby txid"))?
                    .to_hex(),
            ),
        };
        let outpoint = OutPoint { txid, vout };
        if !seen.insert(outpoint) {
            return Err(lie(format_args!("coin {txid}:{vout} twice")));
        }
        total = add_money(total, amount).ok_or_else(|| {
            lie(format_args!(
                "coins adding up to more than all coins that can exist ({} base units)",
                MAX_MONEY.units()
            ))
        })?;
        out.push(WalletCoin {
            coin: Coin {
                outpoint,
                amount,
                key_index,
            },
            confirmations,
            height,
            coinbase,
            spent_by,
        });
    }
    Ok(out)
}

/// Confirmed (spendable), immature (coinbase not yet spendable) and pending
/// (paid by unconfirmed transactions) totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Spendable in the next block.
    pub confirmed: Amount,
    /// Coinbase outputs still maturing.
    pub immature: Amount,
    /// Outputs of unconfirmed transactions.
    pub pending: Amount,
}

/// Sums the coins into a balance.
///
/// # Errors
/// When the coins add up to more than [`MAX_MONEY`], which no honest node reports.
pub fn balance(coins: &[WalletCoin]) -> Result<Balance, Failure> {
    let mut b = Balance::default();
    let mut total = Amount::ZERO;
    let too_much = || {
        failed(format!(
            "the node reports coins adding up to more than all coins that can exist ({} base units)",
            MAX_MONEY.units()
        ))
    };
    for c in coins {
        if c.spent_by.is_some() {
            continue;
        }
        let part = if c.confirmations == 0 {
            &mut b.pending
        } else if c.is_immature() {
            &mut b.immature
        } else {
            &mut b.confirmed
        };
        *part = add_money(*part, c.coin.amount).ok_or_else(too_much)?;
        total = add_money(total, c.coin.amount).ok_or_else(too_much)?;
    }
    Ok(b)
}
