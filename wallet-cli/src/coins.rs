//! The wallet's view of the chain: its coins from the node's address index, and
//! the balance they make.

use std::collections::BTreeMap;

use chain_node::{Address, Amount, COINBASE_MATURITY, Network, OutPoint, TxId};
use serde_json::{Value, json};

use crate::keystore::Keystore;
use crate::output::{Failure, failed};
use crate::rpc::RpcClient;
use crate::spend::Coin;
use crate::wallet::address_of;

/// One output paying the wallet, as the node reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletCoin {
    /// The coin.
    pub coin: Coin,
    /// Confirmations (0 while in the mempool).
    pub confirmations: u32,
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

/// The wallet's addresses, keyed by address, with their key index.
pub fn addresses(ks: &Keystore) -> Result<BTreeMap<Address, u32>, Failure> {
    ks.keys()
        .iter()
        .map(|k| address_of(k).map(|a| (a, k.index)))
        .collect()
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, Failure> {
    v.get(name)
        .ok_or_else(|| failed(format!("the node's getaddressutxos answer lacks {name:?}")))
}

/// Every coin of the wallet that the node knows, confirmed or in its mempool.
pub fn fetch(
    rpc: &RpcClient,
    network: Network,
    addrs: &BTreeMap<Address, u32>,
) -> Result<Vec<WalletCoin>, Failure> {
    let list: Vec<String> = addrs.keys().map(|a| a.encode(network)).collect();
    let answer = rpc.call("getaddressutxos", json!([list])).map_err(failed)?;
    let items = answer
        .as_array()
        .ok_or_else(|| failed("the node's getaddressutxos answer is not a list"))?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let address = Address::parse(
            field(item, "address")?.as_str().unwrap_or_default(),
            network,
        )
        .map_err(|e| failed(format!("the node returned a bad address: {e}")))?;
        let Some(&key_index) = addrs.get(&address) else {
            continue;
        };
        let txid: TxId = field(item, "txid")?
            .as_str()
            .unwrap_or_default()
            .parse()
            .map_err(|_| failed("the node returned a bad txid"))?;
        let vout = field(item, "vout")?
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| failed("the node returned a bad vout"))?;
        let amount = field(item, "amount")?
            .as_u64()
            .ok_or_else(|| failed("the node returned a bad amount"))?;
        let confirmations = field(item, "confirmations")?
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| failed("the node returned bad confirmations"))?;
        out.push(WalletCoin {
            coin: Coin {
                outpoint: OutPoint { txid, vout },
                amount: Amount::from_units(amount),
                key_index,
            },
            confirmations,
            coinbase: field(item, "coinbase")?.as_bool().unwrap_or(false),
            spent_by: field(item, "spentby")?.as_str().map(str::to_string),
        });
    }
    Ok(out)
}

/// Confirmed (spendable), immature (coinbase not yet spendable) and pending
/// (paid by unconfirmed transactions) totals, in base units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Spendable in the next block.
    pub confirmed: u64,
    /// Coinbase outputs still maturing.
    pub immature: u64,
    /// Outputs of unconfirmed transactions.
    pub pending: u64,
}

/// Sums the coins into a balance.
pub fn balance(coins: &[WalletCoin]) -> Balance {
    let mut b = Balance::default();
    for c in coins {
        let units = c.coin.amount.units();
        if c.spent_by.is_some() {
            continue;
        }
        if c.confirmations == 0 {
            b.pending += units;
        } else if c.is_immature() {
            b.immature += units;
        } else {
            b.confirmed += units;
        }
    }
    b
}
