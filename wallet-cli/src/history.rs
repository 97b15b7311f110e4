//! `wallet history`: the wallet's transactions, newest first.
//!
//! Confirmed transactions come from scanning blocks once, in order, for outputs to
//! the wallet's addresses and inputs signed by its keys (every input carries its
//! public key, so no previous output needs fetching); what was scanned is kept in
//! `history.json` in the wallet directory, so each call reads only new blocks. A
//! reorganisation below the scanned tip, or a key the scan did not know, starts the
//! scan over. Unconfirmed transactions are the mempool transactions that pay the
//! wallet or spend its coins, read whole with `getrawtransaction`.
//!
//! The cache file is the HMAC-SHA256 of its body (under the keystore's file key,
//! see [`Unlocked::authenticate`]) on the first line, then the body; a cache that
//! does not authenticate is not read, and the scan starts over. Amounts from the
//! node are summed with checks: an output over the money supply, outputs adding up
//! to more, or a transaction paying out more than the wallet's inputs it spends
//! (when all are the wallet's) is an error. The cache is written only when the
//! whole command succeeded.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::Path;

use chain_node::{Address, Amount, Block, MAX_MONEY, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::chain_cmds::format_coins;
use crate::coins;
use crate::fsutil::write_atomic;
use crate::keystore::Unlocked;
use crate::output::{Failure, failed};
use crate::rpc::RpcClient;
use crate::spend::add_money;
use crate::wallet::{Config, unlock};

const FILE_NAME: &str = "history.json";
const FORMAT_VERSION: u32 = 2;
/// The domain of the cache's authentication code.
const MAC_LABEL: &str = "history cache";
/// The largest cache read.
const MAX_CACHE_LEN: u64 = 256 << 20;

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
#[serde(deny_unknown_fields)]
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

/// The cache in the wallet directory, if it authenticates and is for these keys;
/// otherwise a fresh one and, when a file was there but did not authenticate, a
/// note saying so.
fn load(dir: &Path, unlocked: &Unlocked, keys: &[String]) -> (Cache, Option<&'static str>) {
    let fresh = || Cache {
        version: FORMAT_VERSION,
        keys: keys.to_vec(),
        ..Cache::default()
    };
    let mut bytes = Vec::new();
    let read = std::fs::File::open(dir.join(FILE_NAME))
        .and_then(|f| f.take(MAX_CACHE_LEN).read_to_end(&mut bytes));
    if read.is_err() {
        return (fresh(), None);
    }
    match parse_cache(&bytes, unlocked) {
        // A cache is only reused for the same keys; anything else is rebuilt.
        Some(c) if c.version == FORMAT_VERSION && c.keys == keys => (c, None),
        Some(_) => (fresh(), None),
        None => (
            fresh(),
            Some(
                "history.json did not authenticate (altered, or from another wallet); the chain was scanned again",
            ),
        ),
    }
}

/// The cache in `bytes` when its first line authenticates the rest.
fn parse_cache(bytes: &[u8], unlocked: &Unlocked) -> Option<Cache> {
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let (head, body) = bytes.split_at(newline);
    let body = body.get(1..)?;
    let mut code = [0u8; 32];
    hex::decode_to_slice(head, &mut code).ok()?;
    if !unlocked.verify(MAC_LABEL, body, &code) {
        return None;
    }
    serde_json::from_slice(body).ok()
}

fn save(dir: &Path, unlocked: &Unlocked, cache: &Cache) -> Result<(), Failure> {
    let body = serde_json::to_vec(cache).map_err(failed)?;
    let code = hex::encode(unlocked.authenticate(MAC_LABEL, &body));
    let mut file = Vec::with_capacity(code.len() + 1 + body.len());
    file.extend_from_slice(code.as_bytes());
    file.push(b'\n');
    file.extend_from_slice(&body);
    write_atomic(&dir.join(FILE_NAME), &file, 0o600)
        .map_err(|(action, e)| failed(format!("{action} {FILE_NAME}: {e}")))
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

/// Why a transaction could not be read into an entry.
enum EntryError {
    /// It spends a coin of the wallet whose amount the wallet has not seen.
    UnknownCoin(String),
    /// Its amounts cannot be true.
    Impossible(String),
}

fn outpoint_key(txid: &str, vout: impl std::fmt::Display) -> String {
    format!("{txid}:{vout}")
}

/// Records the amounts of `tx`'s outputs to the wallet in `outputs`.
fn record_outputs(tx: &Transaction, ours: &BTreeSet<Address>, outputs: &mut BTreeMap<String, u64>) {
    let txid = tx.txid().to_hex();
    for (vout, out) in tx.outputs.iter().enumerate() {
        if out.address().is_some_and(|a| ours.contains(&a)) {
            outputs.insert(outpoint_key(&txid, vout), out.amount.units());
        }
    }
}

/// What a transaction means to the wallet, if anything. Records the amounts of
/// its outputs to the wallet in `outputs` once its amounts are checked.
fn entry_of(
    tx: &Transaction,
    height: u32,
    time: u32,
    ours: &BTreeSet<Address>,
    outputs: &mut BTreeMap<String, u64>,
) -> Result<Option<Entry>, EntryError> {
    let txid = tx.txid().to_hex();
    let too_much = |what: &str| {
        EntryError::Impossible(format!(
            "transaction {txid} {what} more than all coins that can exist ({} base units)",
            MAX_MONEY.units()
        ))
    };
    let mut spent = Amount::ZERO;
    let mut all_inputs_ours = !tx.spends().is_empty();
    for input in tx.spends() {
        if ours.contains(&Address::from_pubkey(&input.pubkey)) {
            let key = outpoint_key(&input.prevout.txid.to_hex(), input.prevout.vout);
            let value = outputs
                .get(&key)
                .copied()
                .ok_or(EntryError::UnknownCoin(key))?;
            spent =
                add_money(spent, Amount::from_units(value)).ok_or_else(|| too_much("spends"))?;
        } else {
            all_inputs_ours = false;
        }
    }
    let mut received = Amount::ZERO;
    let mut paid_out = Amount::ZERO;
    for out in &tx.outputs {
        paid_out = add_money(paid_out, out.amount).ok_or_else(|| too_much("pays"))?;
        if out.address().is_some_and(|a| ours.contains(&a)) {
            received = add_money(received, out.amount).ok_or_else(|| too_much("pays"))?;
        }
    }
    record_outputs(tx, ours, outputs);
    if received == Amount::ZERO && spent == Amount::ZERO {
        return Ok(None);
    }
    let fee = if all_inputs_ours {
        let fee = spent.checked_sub(paid_out).ok_or_else(|| {
            EntryError::Impossible(format!(
                "transaction {txid} pays out {paid_out} but spends only {spent}, all of them the wallet's"
            ))
        })?;
        Some(fee.units())
    } else {
        None
    };
    Ok(Some(Entry {
        txid,
        height,
        time,
        coinbase: tx.is_coinbase(),
        received: received.units(),
        spent: spent.units(),
        fee,
    }))
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
    let Some(from) = cache.height.map_or(Some(0), |h| h.checked_add(1)) else {
        return Ok(tip);
    };
    for height in from..=tip {
        let (hash, block) = block_at(rpc, height)?;
        for tx in &block.txs {
            match entry_of(tx, height, block.header.time, ours, &mut cache.outputs) {
                Ok(Some(e)) => cache.entries.push(e),
                Ok(None) => {}
                Err(EntryError::Impossible(why)) => {
                    return Err(failed(format!("the node's block {height}: {why}")));
                }
                Err(EntryError::UnknownCoin(coin)) => {
                    return Err(failed(format!(
                        "the node's block {height} spends coin {coin} of this wallet, which no earlier block paid to it"
                    )));
                }
            }
        }
        cache.height = Some(height);
        cache.hash = Some(hash);
    }
    Ok(tip)
}

/// An entry as JSON; `tip` is `None` for an unconfirmed transaction. Amounts are
/// at most `MAX_MONEY` each, so the signed amount fits an `i64`.
fn to_json(e: &Entry, tip: Option<u32>) -> Value {
    let signed = |u: u64| i64::try_from(u).unwrap_or(i64::MAX);
    json!({
        "txid": e.txid,
        "height": tip.map(|_| e.height),
        "confirmations": tip.map_or(0, |t| (u64::from(t) + 1).saturating_sub(u64::from(e.height))),
        "time": tip.map(|_| e.time),
        "coinbase": e.coinbase,
        "received": e.received,
        "spent": e.spent,
        "amount": signed(e.received) - signed(e.spent) + signed(e.fee.unwrap_or(0)),
        "fee": e.fee,
    })
}

/// The mempool transactions that pay the wallet or spend its coins, as entries.
fn pending(
    rpc: &RpcClient,
    cfg: &Config,
    addrs: &BTreeMap<Address, u32>,
    ours: &BTreeSet<Address>,
    confirmed_outputs: &BTreeMap<String, u64>,
) -> Result<Vec<Entry>, Failure> {
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for c in coins::fetch(rpc, cfg.network, addrs)? {
        if c.confirmations == 0 {
            ids.insert(c.coin.outpoint.txid.to_hex());
        }
        ids.extend(c.spent_by);
    }
    let mut txs = Vec::new();
    for txid in &ids {
        // A transaction mined since the coins were read is shown next time.
        let Ok(raw) = rpc.call("getrawtransaction", json!([txid])) else {
            continue;
        };
        let tx: Transaction = hex::decode(str_of(&raw, "getrawtransaction")?)
            .ok()
            .and_then(|b| chain_node::encoding::decode_exact(&b).ok())
            .ok_or_else(|| failed(format!("the node sent a malformed transaction {txid}")))?;
        if tx.txid().to_hex() != *txid {
            return Err(failed(format!(
                "the node sent transaction {} for {txid}",
                tx.txid()
            )));
        }
        txs.push(tx);
    }
    // Outputs of every pending transaction first, so that one spending another's
    // output is valued whatever their order.
    let mut outputs = confirmed_outputs.clone();
    for tx in &txs {
        record_outputs(tx, ours, &mut outputs);
    }
    let mut list = Vec::new();
    for tx in &txs {
        match entry_of(tx, 0, 0, ours, &mut outputs) {
            Ok(Some(e)) => list.push(e),
            Ok(None) => {}
            Err(EntryError::Impossible(why)) => {
                return Err(failed(format!("the node's mempool: {why}")));
            }
            // Its coin was confirmed after the scan: shown next time.
            Err(EntryError::UnknownCoin(_)) => {}
        }
    }
    Ok(list)
}

/// `wallet history`.
pub(crate) fn history(cfg: &Config) -> Result<crate::output::Report, Failure> {
    let rpc = RpcClient::new(&cfg.rpc_url, &cfg.cookie).map_err(failed)?;
    let unlocked = unlock(cfg)?;
    let keys: Vec<String> = unlocked
        .keys()
        .iter()
        .map(|k| hex::encode(k.public_key))
        .collect();
    let addrs = coins::addresses(&unlocked);
    let ours: BTreeSet<Address> = addrs.keys().copied().collect();
    let (mut cache, note) = load(&cfg.wallet_dir, &unlocked, &keys);
    let tip = scan(&rpc, &mut cache, &ours)?;
    let unconfirmed = pending(&rpc, cfg, &addrs, &ours, &cache.outputs)?;
    // Everything was read and checked: now the cache may be written.
    save(&cfg.wallet_dir, &unlocked, &cache)?;

    let mut list: Vec<Value> = unconfirmed.iter().map(|e| to_json(e, None)).collect();
    list.extend(cache.entries.iter().rev().map(|e| to_json(e, Some(tip))));
    let mut lines: Vec<String> = note.iter().map(|n| format!("note: {n}")).collect();
    lines.extend(list.iter().map(|v| {
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
        // The fee is the wallet's when it paid every input: shown apart, as the
        // amount excludes it.
        let fee = v["fee"]
            .as_u64()
            .map_or_else(String::new, |f| format!(" (fee {})", format_coins(f)));
        format!(
            "{when:>12}  {sign}{}{fee}  {}{kind}",
            format_coins(amount.unsigned_abs()),
            v["txid"].as_str().unwrap_or_default()
        )
    }));
    if list.is_empty() {
        lines.push("no transactions yet".to_string());
    }
    Ok(crate::output::Report::ok(
        lines.join("\n"),
        json!({ "transactions": list, "note": note }),
    ))
}
