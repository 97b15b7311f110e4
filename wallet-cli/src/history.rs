//! `wallet history`: the wallet's transactions, newest first.
//!
//! Confirmed transactions come from scanning blocks once, in order, for outputs to
//! the wallet's addresses and inputs signed by its keys (every input carries its
//! public key, so no previous output needs fetching); what was scanned is kept in
//! `history.json` in the wallet directory, so each call reads only new blocks. A
//! reorganisation below the scanned tip, or a key the scan did not know, starts the
//! scan over. Unconfirmed transactions are the mempool transactions that pay the
//! wallet or spend its coins, read whole with `getrawtransaction`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chain_node::{Address, Block, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::chain_cmds::format_coins;
use crate::coins;
use crate::fsutil::write_atomic;
use crate::output::{Failure, failed};
use crate::rpc::RpcClient;
use crate::wallet::{Config, open};

const FILE_NAME: &str = "history.json";
const FORMAT_VERSION: u32 = 1;

/// One confirmed transaction that touched the wallet.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Entry {
    txid: String,
    height: u32,
    time: u32,
    coinbase: bool,
    /// Base units received by the wallet's outputs.
    received: u64,
    /// Base units of the wallet's coins this transaction spent.
    spent: u64,
    /// The fee, when every input was the wallet's.
    fee: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    version: u32,
    /// Public keys the scan looked for.
    keys: Vec<String>,
    /// Height and hash of the last block scanned.
    height: Option<u32>,
    hash: Option<String>,
    /// Amounts of the wallet's outputs seen, by `txid:vout`, to value later spends.
    outputs: BTreeMap<String, u64>,
    entries: Vec<Entry>,
}

fn load(dir: &Path, keys: &[String]) -> Cache {
    let fresh = || Cache {
        version: FORMAT_VERSION,
        keys: keys.to_vec(),
        ..Cache::default()
    };
    let Ok(text) = std::fs::read_to_string(dir.join(FILE_NAME)) else {
        return fresh();
    };
    match serde_json::from_str::<Cache>(&text) {
        // A cache is only reused for the same keys; anything else is rebuilt.
        Ok(c) if c.version == FORMAT_VERSION && c.keys == keys => c,
        _ => fresh(),
    }
}

fn str_of(v: &Value, what: &str) -> Result<String, Failure> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| failed(format!("the node's answer for {what} is not a string")))
}

fn block_at(rpc: &RpcClient, height: u32) -> Result<(String, Block), Failure> {
    let hash = str_of(
        &rpc.call("getblockhash", json!([height])).map_err(failed)?,
        "getblockhash",
    )?;
    let raw = str_of(
        &rpc.call("getblock", json!([hash, 0])).map_err(failed)?,
        "getblock",
    )?;
    let bytes = hex::decode(raw).map_err(|_| failed("the node sent a block that is not hex"))?;
    let block: Block = chain_node::encoding::decode_exact(&bytes)
        .map_err(|e| failed(format!("the node sent a malformed block: {e}")))?;
    if block.hash().to_hex() != hash {
        return Err(failed(format!("block {hash} does not hash to its name")));
    }
    Ok((hash, block))
}

/// What a transaction means to the wallet, if anything.
fn entry_of(
    tx: &Transaction,
    height: u32,
    time: u32,
    ours: &BTreeSet<Address>,
    outputs: &mut BTreeMap<String, u64>,
) -> Option<Entry> {
    let txid = tx.txid().to_hex();
    let mut spent = 0u64;
    let mut all_inputs_ours = !tx.spends().is_empty();
    for input in tx.spends() {
        if ours.contains(&Address::from_pubkey(&input.pubkey)) {
            let key = format!("{}:{}", input.prevout.txid.to_hex(), input.prevout.vout);
            spent = spent.saturating_add(outputs.get(&key).copied().unwrap_or(0));
        } else {
            all_inputs_ours = false;
        }
    }
    let mut received = 0u64;
    for (vout, out) in tx.outputs.iter().enumerate() {
        if out.address().is_some_and(|a| ours.contains(&a)) {
            received = received.saturating_add(out.amount.units());
            outputs.insert(format!("{txid}:{vout}"), out.amount.units());
        }
    }
    if received == 0 && spent == 0 {
        return None;
    }
    let paid_out: u64 = tx.outputs.iter().map(|o| o.amount.units()).sum();
    Some(Entry {
        txid,
        height,
        time,
        coinbase: tx.is_coinbase(),
        received,
        spent,
        fee: all_inputs_ours.then(|| spent.saturating_sub(paid_out)),
    })
}

/// Brings the cache up to the node's tip.
fn scan(rpc: &RpcClient, cache: &mut Cache, ours: &BTreeSet<Address>) -> Result<u32, Failure> {
    let tip = rpc
        .call("getblockcount", json!([]))
        .map_err(failed)?
        .as_u64()
        .and_then(|h| u32::try_from(h).ok())
        .ok_or_else(|| failed("the node's block count is not a number"))?;
    // A reorganisation under the scanned tip (or a shorter chain): start over.
    if let (Some(h), Some(hash)) = (cache.height, &cache.hash) {
        let still = h <= tip
            && rpc
                .call("getblockhash", json!([h]))
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .as_deref()
                == Some(hash.as_str());
        if !still {
            cache.height = None;
            cache.hash = None;
            cache.outputs.clear();
            cache.entries.clear();
        }
    }
    let from = cache.height.map_or(0, |h| h + 1);
    for height in from..=tip {
        let (hash, block) = block_at(rpc, height)?;
        for tx in &block.txs {
            if let Some(e) = entry_of(tx, height, block.header.time, ours, &mut cache.outputs) {
                cache.entries.push(e);
            }
        }
        cache.height = Some(height);
        cache.hash = Some(hash);
    }
    Ok(tip)
}

/// An entry as JSON; `tip` is `None` for an unconfirmed transaction.
fn to_json(e: &Entry, tip: Option<u32>) -> Value {
    json!({
        "txid": e.txid,
        "height": tip.map(|_| e.height),
        "confirmations": tip.map_or(0, |t| (t + 1).saturating_sub(e.height)),
        "time": tip.map(|_| e.time),
        "coinbase": e.coinbase,
        "received": e.received,
        "spent": e.spent,
        "amount": i128::from(e.received) - i128::from(e.spent) + i128::from(e.fee.unwrap_or(0)),
        "fee": e.fee,
    })
}

/// `wallet history`.
pub(crate) fn history(cfg: &Config) -> Result<crate::output::Report, Failure> {
    let ks = open(cfg)?;
    let rpc = RpcClient::new(&cfg.rpc_url, &cfg.cookie).map_err(failed)?;
    let keys: Vec<String> = ks.keys().iter().map(|k| k.public_key.clone()).collect();
    let addrs = coins::addresses(&ks)?;
    let ours: BTreeSet<Address> = addrs.keys().copied().collect();
    let mut cache = load(&cfg.wallet_dir, &keys);
    let tip = scan(&rpc, &mut cache, &ours)?;
    let text = serde_json::to_string(&cache).map_err(failed)?;
    write_atomic(&cfg.wallet_dir.join(FILE_NAME), text.as_bytes(), 0o600)
        .map_err(|(action, e)| failed(format!("{action} {FILE_NAME}: {e}")))?;

    // Unconfirmed: the mempool transactions that pay the wallet or spend its coins,
    // read whole so that amounts and fees are exact.
    let mut pending_ids: BTreeSet<String> = BTreeSet::new();
    for c in coins::fetch(&rpc, cfg.network, &addrs)? {
        if c.confirmations == 0 {
            pending_ids.insert(c.coin.outpoint.txid.to_hex());
        }
        pending_ids.extend(c.spent_by);
    }
    let mut outputs = cache.outputs.clone();
    let mut list: Vec<Value> = Vec::new();
    for txid in &pending_ids {
        // A transaction mined since the coins were read is shown next time.
        let Ok(raw) = rpc.call("getrawtransaction", json!([txid])) else {
            continue;
        };
        let tx: Transaction = hex::decode(str_of(&raw, "getrawtransaction")?)
            .ok()
            .and_then(|b| chain_node::encoding::decode_exact(&b).ok())
            .ok_or_else(|| failed(format!("the node sent a malformed transaction {txid}")))?;
        if let Some(e) = entry_of(&tx, 0, 0, &ours, &mut outputs) {
            list.push(to_json(&e, None));
        }
    }
    list.extend(cache.entries.iter().rev().map(|e| to_json(e, Some(tip))));
    let lines: Vec<String> = list
        .iter()
        .map(|v| {
            let amount = v["amount"].as_i64().unwrap_or(0);
            let sign = if amount < 0 { "-" } else { "+" };
            let when = v["height"]
                .as_u64()
                .map_or_else(|| "pending".to_string(), |h| format!("block {h}"));
            let kind = if v["coinbase"] == true {
                " (mined)"
            } else {
                ""
            };
            format!(
                "{when:>12}  {sign}{}  {}{kind}",
                format_coins(amount.unsigned_abs()),
                v["txid"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let line = if lines.is_empty() {
        "no transactions yet".to_string()
    } else {
        lines.join("\n")
    };
    Ok(crate::output::Report::ok(
        line,
        json!({ "transactions": list }),
    ))
}
