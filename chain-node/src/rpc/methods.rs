//! The RPC methods, named and shaped as in Bitcoin Core where one exists. Amounts are
//! integers in base units.

mod call;
mod data;
mod names;
mod network;
mod proofs;

pub use names::MAX_LIST_NAMES;
pub(crate) use names::{
    NameView, name_status, namespace_status, owner_text, parse_name_text, read_name,
};

pub use call::{Call, parse_call};

use serde_json::{Value, json};

use crate::address::Address;
use crate::encoding::IndexEntry;
use crate::error::{ChainError, MempoolError, NodeError};
use crate::hash::{BlockHash, TxId};
use crate::node::{Node, NodeView, unix_now};
use crate::p2p::P2p;
use crate::params::Network;
use crate::pow::Target;
use crate::transaction::{OutPoint, OutputKind, Transaction, TxInputs};
use crate::units::Height;
use crate::validation::median_time_past;

/// Most blocks one `generatetoaddress` call mines; more is refused with -8. The
/// answer lists every hash (67 bytes of JSON each), so this keeps it near 6.7 MB,
/// well inside the HTTP layer's response budget; a larger count would only hold a
/// call thread longer: call again.
pub const MAX_GENERATE_BLOCKS: u64 = 100_000;
/// Most transactions one `testmempoolaccept` call checks, as Bitcoin Core's
/// package limit.
pub const MAX_TEST_TRANSACTIONS: usize = 25;
/// Most addresses one `getaddressutxos` call looks up.
pub const MAX_ADDRESSES: usize = 10_000;
/// Most blocks one `listdataoutputs` call scans.
pub const MAX_LIST_BLOCKS: u64 = 1_000;
/// A `listdataoutputs` call stops after the block in which it has listed this many
/// outputs (one block adds at most what fits in its 1,000,000 bytes).
pub const MAX_LIST_OUTPUTS: usize = 1_000;
/// A `listdataoutputs` call stops after the block that brings the bytes it has read
/// to this many.
pub const MAX_LIST_BYTES: usize = 16 << 20;

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    /// Bitcoin Core's code where one applies.
    pub code: i64,
    /// What went wrong and what to do.
    pub message: String,
}

impl RpcError {
    /// -32700, `RPC_PARSE_ERROR`: the body is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// -32600, `RPC_INVALID_REQUEST`: not a request object (HTTP 400 in legacy shape).
    pub const INVALID_REQUEST: i64 = -32600;
    /// -32601, `RPC_METHOD_NOT_FOUND` (HTTP 404 in legacy shape).
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// -1, `RPC_MISC_ERROR`: what Core answers to a wrong number of parameters, and
    /// to a failure inside a call.
    pub const MISC_ERROR: i64 = -1;
    /// -3, `RPC_TYPE_ERROR`: a parameter of the wrong JSON type.
    pub const TYPE_ERROR: i64 = -3;
    /// -5, `RPC_INVALID_ADDRESS_OR_KEY`: an invalid address, an unknown block or
    /// transaction.
    pub const INVALID_ADDRESS_OR_KEY: i64 = -5;
    /// -8, `RPC_INVALID_PARAMETER`: a value out of range, or an unknown named parameter.
    pub const INVALID_PARAMETER: i64 = -8;
    /// -22, `RPC_DESERIALIZATION_ERROR`: hex that does not decode to the object.
    pub const DESERIALIZATION_ERROR: i64 = -22;
    /// -25, `RPC_VERIFY_ERROR`: a transaction whose inputs are missing or spent.
    pub const VERIFY_ERROR: i64 = -25;
    /// -26, `RPC_VERIFY_REJECTED`: a transaction the mempool refuses.
    pub const VERIFY_REJECTED: i64 = -26;
    /// -27, `RPC_VERIFY_ALREADY_IN_CHAIN`: a transaction already confirmed.
    pub const VERIFY_ALREADY_IN_CHAIN: i64 = -27;
    /// -28, `RPC_IN_WARMUP`: the node is starting or stopping.
    pub const IN_WARMUP: i64 = -28;

    fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }

    /// -32700.
    pub fn parse(message: impl Into<String>) -> Self {
        Self::new(Self::PARSE_ERROR, message)
    }

    /// -32600.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(Self::INVALID_REQUEST, message)
    }

    /// -1: a required parameter is missing or there are too many.
    fn arity(message: impl Into<String>) -> Self {
        Self::new(Self::MISC_ERROR, message)
    }

    /// -3: a parameter has the wrong JSON type.
    fn type_error(message: impl Into<String>) -> Self {
        Self::new(Self::TYPE_ERROR, message)
    }

    fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(Self::INVALID_PARAMETER, message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(Self::INVALID_ADDRESS_OR_KEY, message)
    }

    fn deserialization(message: impl Into<String>) -> Self {
        Self::new(Self::DESERIALIZATION_ERROR, message)
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(Self::MISC_ERROR, format!("{e:#}"))
    }
}

impl From<ChainError> for RpcError {
    fn from(e: ChainError) -> Self {
        match &e {
            ChainError::UnknownBlock { .. } => RpcError::not_found("Block not found"),
            ChainError::Genesis => RpcError::invalid_parameter(e.to_string()),
            _ => RpcError::internal(full(&e)),
        }
    }
}

/// The error with its chain of causes.
fn full(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn mempool_error(e: &MempoolError) -> RpcError {
    let code = match e {
        MempoolError::MissingInputs { .. } => RpcError::VERIFY_ERROR,
        _ => RpcError::VERIFY_REJECTED,
    };
    RpcError::new(code, full(e))
}

impl From<NodeError> for RpcError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Chain(e) => e.into(),
            NodeError::Mempool(e) => mempool_error(&e),
            NodeError::ShuttingDown => RpcError::new(RpcError::IN_WARMUP, "node is shutting down"),
            e => RpcError::internal(full(&e)),
        }
    }
}

/// Runs one method.
///
/// # Errors
/// [`RpcError`] with Bitcoin Core's codes: -32601 unknown method, -1 wrong number of
/// parameters, -3 wrong type, -8 invalid parameter, -5 not found or bad address, -22
/// undecodable, -25/-26/-27 rejected, -28 stopping.
pub fn dispatch(node: &Node, method: &str, params: &Value) -> Result<Value, RpcError> {
    dispatch_with(node, None, method, params)
}

/// Runs one method on a node that may be on the network (`p2p`): as [`dispatch`], with
/// the network methods answered from `p2p` (-9 for those that change it, without).
///
/// # Errors
/// As [`dispatch`]; -9 without a network, -24 and -29 for unknown peers.
pub fn dispatch_with(
    node: &Node,
    p2p: Option<&P2p>,
    method: &str,
    params: &Value,
) -> Result<Value, RpcError> {
    let network = node.params().network;
    let call = parse_call(method, params, network)?;
    if let Some(answer) = network::dispatch(p2p, &call) {
        return answer;
    }
    match call {
        Call::GetBlockchainInfo => node.read(move |v| blockchain_info(v, network))?,
        Call::GetBlockCount => Ok(json!(node.tip()?.0.0)),
        Call::ListDataOutputs {
            prefix,
            from,
            max_blocks,
        } => node.read(move |v| data::list_data_outputs(v, &prefix, from, max_blocks))?,
        Call::GetNameInfo { name } => node.read(move |v| names::name_info(v, &name))?,
        Call::GetNamePrice { name } => node.read(move |v| names::name_price(v, &name))?,
        Call::ListNames { after, count } => {
            node.read(move |v| names::list_names(v, after.as_ref(), count))?
        }
        Call::GetNamespaceInfo { id } => node.read(move |v| names::namespace_info(v, &id))?,
        Call::GetNameProof { name, height } => {
            node.read(move |v| proofs::name_proof(v, &name, height))?
        }
        Call::GetBlockHeaders { start, count } => {
            node.read(move |v| proofs::block_headers(v, start, count))?
        }
        Call::GetZoneFile { hash } => names::get_zone_file(node, &hash),
        Call::PutZoneFile { file } => names::put_zone_file(node, file),
        Call::GetBestBlockHash => Ok(json!(node.tip()?.1.to_hex())),
        Call::GetBlockHash { height: h } => node
            .read(move |v| u32::try_from(h).ok().and_then(|h| v.chain().hash_at(Height(h))))?
            .map(|hash| json!(hash.to_hex()))
            .ok_or_else(|| RpcError::invalid_parameter("Block height out of range")),
        Call::GetBlock { hash, verbosity } => get_block(node, hash, verbosity),
        Call::GetBlockHeader { hash, verbose } => node.read(move |v| {
            let entry = v
                .chain()
                .entry(&hash)
                .ok_or_else(|| RpcError::not_found("Block not found"))?;
            if verbose {
                Ok(header_json(v, &hash, &entry))
            } else {
                Ok(json!(hex::encode(entry.header.to_bytes())))
            }
        })?,
        Call::GetChainTips => Ok(Value::Array(node.read(|v| {
            v.chain()
                .chain_tips()
                .into_iter()
                .map(|t| {
                    json!({
                        "height": t.height.0,
                        "hash": t.hash.to_hex(),
                        "branchlen": t.branch_len,
                        "status": t.status.name(),
                    })
                })
                .collect()
        })?)),
        Call::GetRawMempool { verbose } => Ok(node.read(move |v| {
            let pool = v.mempool();
            let ids = pool.txids();
            if verbose {
                let mut map = serde_json::Map::new();
                for id in ids {
                    if let Some(e) = pool.get(&id) {
                        map.insert(id.to_hex(), json!({"size": e.size, "vsize": e.size, "fee": e.fee.units(), "feerate": e.fee_rate()}));
                    }
                }
                Value::Object(map)
            } else {
                json!(ids.iter().map(TxId::to_hex).collect::<Vec<_>>())
            }
        })?),
        Call::GetMempoolInfo => Ok(node.read(|v| {
            let pool = v.mempool();
            let cfg = pool.config();
            json!({
                "loaded": true,
                "size": pool.len(),
                "bytes": pool.bytes(),
                "maxmempool": cfg.max_bytes,
                "mempoolminfee": pool.lowest_fee_rate().unwrap_or(cfg.min_fee_rate).max(cfg.min_fee_rate),
                "minrelaytxfee": cfg.min_fee_rate,
                "orphans": pool.orphan_count(),
            })
        })?),
        Call::SendRawTransaction { tx } => {
            already_confirmed(node, &tx)?;
            node.submit_transaction(tx)
                .map(|txid| json!(txid.to_hex()))
                .map_err(RpcError::from)
        }
        Call::TestMempoolAccept { txs } => {
            let mut out = Vec::with_capacity(txs.len());
            for tx in txs {
                let txid = tx.txid().to_hex();
                out.push(match node.test_transaction(&tx) {
                    Ok(fee) => json!({"txid": txid, "allowed": true, "vsize": tx.size(), "fees": {"base": fee.units()}}),
                    Err(NodeError::Mempool(e)) => json!({"txid": txid, "allowed": false, "reject-reason": full(&e)}),
                    Err(e) => return Err(e.into()),
                });
            }
            Ok(Value::Array(out))
        }
        Call::GetRawTransaction {
            txid,
            verbose,
            block,
        } => raw_transaction(node, txid, verbose, block),
        Call::GetTxOut {
            outpoint,
            include_mempool,
        } => node.read(move |v| gettxout(v, network, outpoint, include_mempool))?,
        Call::GetAddressUtxos { addresses } => {
            node.read(move |v| address_utxos(v, &addresses))?
        }
        Call::GenerateToAddress {
            nblocks: n,
            address: to,
        } => {
            let hashes = node.generate(n, to)?;
            Ok(json!(
                hashes.iter().map(BlockHash::to_hex).collect::<Vec<_>>()
            ))
        }
        Call::ValidateAddress { address: s } => Ok(match Address::parse(&s, network) {
            Ok(a) => json!({"isvalid": true, "address": s, "hash": hex::encode(a.0)}),
            Err(e) => json!({"isvalid": false, "error": e.to_string()}),
        }),
        Call::GetBlockTemplate => block_template(node),
        Call::SubmitBlock { block } => Ok(match node.submit_block(&block) {
            Ok(_) => Value::Null,
            Err(NodeError::Chain(e)) => match e {
                ChainError::Duplicate { .. } => json!("duplicate"),
                ChainError::UnknownParent { .. } => json!("prev-blk-not-found"),
                ChainError::InvalidAncestor { .. } => json!("bad-prevblk"),
                e @ ChainError::Mutated { .. } => json!(format!("mutated: {}", full(&e))),
                ChainError::Invalid { source, .. } => {
                    json!(format!("rejected: {}", full(&source)))
                }
                e => return Err(RpcError::internal(full(&e))),
            },
            Err(e) => return Err(e.into()),
        }),
        Call::InvalidateBlock { hash } => {
            node.invalidate_block(&hash)?;
            Ok(Value::Null)
        }
        Call::ReconsiderBlock { hash } => {
            node.reconsider_block(&hash)?;
            Ok(Value::Null)
        }
        // The server shuts the node down once the answer is ready (`serve_call`).
        Call::Stop => Ok(json!("chain-node stopping")),
        Call::GetPeerInfo
        | Call::GetNetworkInfo
        | Call::ListBanned
        | Call::AddNode { .. }
        | Call::DisconnectNode { .. }
        | Call::SetNetworkActive { .. } => Err(RpcError::internal("unrouted network call")),
    }
}

/// -27 when the transaction's outputs are in the UTXO set already.
fn already_confirmed(node: &Node, tx: &Transaction) -> Result<(), RpcError> {
    let txid = tx.txid();
    let outputs = u32::try_from(tx.outputs.len()).unwrap_or(u32::MAX);
    let confirmed = node.read(move |v| {
        (0..outputs).any(|vout| matches!(v.chain().coin(&OutPoint { txid, vout }), Ok(Some(_))))
    })?;
    if confirmed {
        return Err(RpcError::new(
            RpcError::VERIFY_ALREADY_IN_CHAIN,
            "Transaction outputs already in utxo set",
        ));
    }
    Ok(())
}

fn median_time(v: &NodeView, hash: &BlockHash) -> u32 {
    let mut times = Vec::new();
    let mut cur = v.chain().entry(hash);
    while let Some(e) = cur {
        times.push(e.header.time);
        if times.len() == crate::params::MEDIAN_TIME_SPAN {
            break;
        }
        cur = v.chain().entry(&e.header.prev);
    }
    median_time_past(&times)
}

fn header_json(v: &NodeView, hash: &BlockHash, e: &IndexEntry) -> Value {
    let chain = v.chain();
    let active = chain.is_active(hash);
    let tip = chain.tip().0;
    let next = if active {
        e.height
            .next()
            .and_then(|h| chain.hash_at(h))
            .map(|h| h.to_hex())
    } else {
        None
    };
    let mut j = json!({
        "hash": hash.to_hex(),
        "confirmations": if active { i64::from(tip.0) - i64::from(e.height.0) + 1 } else { -1 },
        "height": e.height.0,
        "version": e.header.version,
        "merkleroot": hex::encode(e.header.merkle_root),
        "time": e.header.time,
        "mediantime": median_time(v, hash),
        "nonce": e.header.nonce,
        "bits": format!("{:08x}", e.header.bits.0),
        "target": Target::from_compact(e.header.bits).map(|t| hex::encode(t.value().to_be_bytes())).unwrap_or_default(),
        "chainwork": hex::encode(e.chainwork.to_be_bytes()),
    });
    if e.height.0 > 0 {
        set(&mut j, "previousblockhash", json!(e.header.prev.to_hex()));
    }
    if let Some(n) = next {
        set(&mut j, "nextblockhash", json!(n));
    }
    j
}

fn tx_json(tx: &Transaction, network: Network) -> Value {
    let vin: Vec<Value> = match &tx.inputs {
        TxInputs::Coinbase { height, extra } => vec![json!({"coinbase": hex::encode(extra), "height": height.0})],
        TxInputs::Spend(ins) => ins
            .iter()
            .map(|i| json!({"txid": i.prevout.txid.to_hex(), "vout": i.prevout.vout, "pubkey": hex::encode(i.pubkey), "signature": hex::encode(i.signature)}))
            .collect(),
    };
    let vout: Vec<Value> = tx
        .outputs
        .iter()
        .enumerate()
        .map(|(n, o)| match &o.kind {
            OutputKind::Pay(a) => {
                json!({"n": n, "value": o.amount.units(), "address": a.encode(network)})
            }
            OutputKind::Burn(d) => {
                json!({"n": n, "value": o.amount.units(), "burn": hex::encode(d)})
            }
        })
        .collect();
    json!({"txid": tx.txid().to_hex(), "hash": tx.wtxid().to_hex(), "version": tx.version, "size": tx.size(), "vin": vin, "vout": vout, "hex": hex::encode(tx.to_bytes())})
}

fn get_block(node: &Node, hash: BlockHash, verbosity: u64) -> Result<Value, RpcError> {
    // The block is read on the owner; the JSON is built here.
    let (block, header) = node.read(move |v| -> Result<_, RpcError> {
        let entry = v
            .chain()
            .entry(&hash)
            .ok_or_else(|| RpcError::not_found("Block not found"))?;
        let block = v
            .chain()
            .block(&hash)?
            .ok_or_else(|| RpcError::not_found("Block not available"))?;
        let header = (verbosity > 0).then(|| header_json(v, &hash, &entry));
        Ok((block, header))
    })??;
    let Some(mut j) = header else {
        return Ok(json!(hex::encode(block.to_bytes())));
    };
    let network = node.params().network;
    set(&mut j, "size", json!(block.size()));
    set(&mut j, "nTx", json!(block.txs.len()));
    set(
        &mut j,
        "tx",
        if verbosity >= 2 {
            Value::Array(block.txs.iter().map(|t| tx_json(t, network)).collect())
        } else {
            json!(
                block
                    .txs
                    .iter()
                    .map(|t| t.txid().to_hex())
                    .collect::<Vec<_>>()
            )
        },
    );
    Ok(j)
}

/// A transaction from the mempool, or from the given block (there is no txindex,
/// as in Bitcoin Core without `-txindex`).
fn raw_transaction(
    node: &Node,
    txid: TxId,
    verbose: bool,
    in_block: Option<BlockHash>,
) -> Result<Value, RpcError> {
    let tx = match in_block {
        None => node
            .read(move |v| v.mempool().get(&txid).map(|e| e.tx.clone()))?
            .ok_or_else(|| {
                RpcError::not_found(
                    "No such mempool transaction; give the block hash for a confirmed one",
                )
            })?,
        Some(hash) => {
            let block = node
                .read(move |v| v.chain().block(&hash))??
                .ok_or_else(|| RpcError::not_found("Block not found"))?;
            block
                .txs
                .into_iter()
                .find(|t| t.txid() == txid)
                .ok_or_else(|| {
                    RpcError::not_found("No such transaction found in the provided block")
                })?
        }
    };
    if verbose {
        let mut v = tx_json(&tx, node.params().network);
        set(&mut v, "hex", json!(hex::encode(tx.to_bytes())));
        Ok(v)
    } else {
        Ok(json!(hex::encode(tx.to_bytes())))
    }
}

fn gettxout(
    v: &NodeView,
    network: Network,
    outpoint: OutPoint,
    include_mempool: bool,
) -> Result<Value, RpcError> {
    let (chain, pool) = (v.chain(), v.mempool());
    let (tip_height, tip) = chain.tip();
    if let Some(coin) = chain.coin(&outpoint)? {
        if include_mempool && pool.spender(&outpoint).is_some() {
            return Ok(Value::Null);
        }
        return Ok(json!({
            "bestblock": tip.to_hex(),
            "confirmations": tip_height.0.saturating_sub(coin.height.0) + 1,
            "value": coin.amount.units(),
            "address": coin.address.encode(network),
            "coinbase": coin.is_coinbase,
        }));
    }
    if include_mempool
        && pool.spender(&outpoint).is_none()
        && let Some(entry) = pool.get(&outpoint.txid)
        && let Some(out) = entry.tx.outputs.get(outpoint.vout as usize)
        && let Some(a) = out.address()
    {
        return Ok(json!({
            "bestblock": tip.to_hex(),
            "confirmations": 0,
            "value": out.amount.units(),
            "address": a.encode(network),
            "coinbase": false,
        }));
    }
    Ok(Value::Null)
}

fn address_utxos(v: &NodeView, addrs: &[(String, Address)]) -> Result<Value, RpcError> {
    let (chain, pool) = (v.chain(), v.mempool());
    let (tip, _) = chain.tip();
    let next = tip.next().unwrap_or(tip);
    let mut out = Vec::new();
    for (s, a) in addrs {
        // Confirmed coins by height (as the address index of Core's forks sorts them),
        // then coins that mempool transactions create (unconfirmed).
        let mut confirmed = chain.address_utxos(a)?;
        confirmed.sort_by_key(|(op, coin)| (coin.height, op.txid, op.vout));
        let confirmed = confirmed.into_iter().map(|c| (c, true));
        let pending = pool
            .created(next)
            .into_iter()
            .filter(|(_, coin)| coin.address == *a)
            .map(|c| (c, false));
        for ((op, coin), is_confirmed) in confirmed.chain(pending) {
            out.push(json!({
                "address": s,
                "txid": op.txid.to_hex(),
                "vout": op.vout,
                "outputIndex": op.vout,
                "amount": coin.amount.units(),
                "height": if is_confirmed { json!(coin.height.0) } else { Value::Null },
                "confirmations": if is_confirmed { tip.0.saturating_sub(coin.height.0) + 1 } else { 0 },
                "coinbase": coin.is_coinbase,
                "spentby": pool.spender(&op).map(|t| t.to_hex()),
            }));
        }
    }
    Ok(Value::Array(out))
}

fn block_template(node: &Node) -> Result<Value, RpcError> {
    // The coinbase is the miner's to build: pay to a placeholder and report its value.
    let (template, tip) = node.block_template(Address::default(), Vec::new())?;
    let (height, mintime) = node.read(move |v| {
        let height = v.chain().entry(&tip).map_or(0, |e| e.height.0 + 1);
        (height, median_time(v, &tip).saturating_add(1))
    })?;
    let coinbase_value = template.block.txs.first().map_or(0, |c| {
        c.outputs.iter().map(|o| o.amount.units()).sum::<u64>()
    });
    let header = template.block.header;
    // The data of the name-state commitment output the coinbase must carry.
    let commitment = template.block.txs.first().and_then(|c| {
        c.outputs.iter().find_map(|o| match &o.kind {
            crate::transaction::OutputKind::Burn(d)
                if d.starts_with(crate::name_root::NAME_ROOT_TAG) =>
            {
                Some(hex::encode(d))
            }
            _ => None,
        })
    });
    Ok(json!({
        "namestatecommitment": commitment,
        "version": header.version,
        "previousblockhash": tip.to_hex(),
        "height": height,
        "bits": format!("{:08x}", header.bits.0),
        "target": Target::from_compact(header.bits).map(|t| hex::encode(t.value().to_be_bytes())).unwrap_or_default(),
        "curtime": header.time.max(u32::try_from(unix_now()).unwrap_or(u32::MAX)),
        "mintime": mintime,
        "coinbasevalue": coinbase_value,
        "sizelimit": crate::params::MAX_BLOCK_SIZE,
        "transactions": template.block.txs.iter().skip(1).map(|t| json!({"data": hex::encode(t.to_bytes()), "txid": t.txid().to_hex(), "hash": t.wtxid().to_hex()})).collect::<Vec<_>>(),
    }))
}

fn blockchain_info(v: &NodeView, network: Network) -> Result<Value, RpcError> {
    let chain = v.chain();
    let (height, tip) = chain.tip();
    let entry = chain.tip_entry()?;
    let (headers, _) = chain.best_header();
    let headers = headers.0.max(height.0);
    let ibd = crate::p2p::initial_block_download(height, Height(headers))
        || entry.chainwork < chain.params().minimum_chain_work;
    Ok(json!({
        "chain": network.name(),
        "blocks": height.0,
        "headers": headers,
        "bestblockhash": tip.to_hex(),
        "bits": format!("{:08x}", entry.header.bits.0),
        "time": entry.header.time,
        "mediantime": median_time(v, &tip),
        "chainwork": hex::encode(entry.chainwork.to_be_bytes()),
        "initialblockdownload": ibd,
        "warnings": "",
    }))
}

/// Inserts `key` into a JSON object (a no-op on other values).
fn set(v: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = v {
        map.insert(key.to_owned(), value);
    }
}
