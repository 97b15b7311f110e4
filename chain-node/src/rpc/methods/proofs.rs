//! The RPCs a light client needs: `getnameproof` (a name lookup with everything needed
//! to check it against proof-of-work headers, `crate::light`) and `getblockheaders`
//! (headers in bulk). docs/rpc.md.

use naming::{Name, NameRecord};
use serde_json::{Value, json};

use super::RpcError;
use crate::light::{NameAnswer, ProvenStatus, coinbase_path};
use crate::node::NodeView;
use crate::transaction::Transaction;
use crate::units::Height;

/// Most headers one `getblockheaders` call returns.
pub(super) const MAX_BLOCK_HEADERS: u64 = 2_000;

/// `getnameproof name (height)`: the lookup of `name` in the name state after the tip
/// block, proven against the commitment in that block's coinbase. Proofs are kept for
/// the tip only: a `height` other than the tip's is -8.
pub(super) fn name_proof(
    v: &NodeView,
    name: &Name,
    height: Option<u64>,
) -> Result<Value, RpcError> {
    let chain = v.chain();
    let (tip_height, tip) = chain.tip();
    if let Some(h) = height
        && h != u64::from(tip_height.0)
    {
        return Err(RpcError::invalid_parameter(format!(
            "height {h}: name proofs are served against the tip only (height {tip_height})"
        )));
    }
    if !crate::name_root::carries_name_root(tip_height) {
        return Err(RpcError::invalid_parameter(
            "the genesis block carries no name-state commitment: mine a block first",
        ));
    }
    let block = chain
        .block(&tip)?
        .ok_or_else(|| RpcError::not_found("Block not found"))?;
    let (record, proof) = chain.name_proof(name)?;
    let decoded = record
        .as_deref()
        .map(NameRecord::decode)
        .transpose()
        .map_err(|e| RpcError::internal(format!("stored record of {name} is corrupt: {e}")))?;
    let status = ProvenStatus::of(decoded.as_ref(), tip_height);
    let wtxids: Vec<_> = block.txs.iter().map(Transaction::wtxid).collect();
    let coinbase = block
        .txs
        .first()
        .cloned()
        .ok_or_else(|| RpcError::internal("the tip block has no coinbase"))?;
    let root = crate::name_root::committed_name_root(&coinbase)
        .map_err(|e| RpcError::internal(format!("the tip block's {e}")))?;
    let answer = NameAnswer {
        name: name.clone(),
        height: tip_height,
        block_hash: tip,
        tx_count: u64::try_from(block.txs.len()).unwrap_or(u64::MAX),
        coinbase,
        coinbase_path: coinbase_path(&wtxids),
        record,
        proof,
    };
    let t = answer.to_text();
    let network = chain.params().network;
    Ok(json!({
        "name": t.name,
        "height": t.height,
        "blockhash": t.block_hash,
        "header": hex::encode(block.header.to_bytes()),
        "txcount": t.tx_count,
        "coinbase": t.coinbase,
        "coinbasepath": t.coinbase_path,
        "root": hex::encode(root.0),
        "record": t.record,
        "proof": t.proof,
        "status": status.as_str(),
        // For reading only: a light client takes the owner from the proven `record`.
        "owner": decoded.map(|r| super::names::owner_text(r.owner, network)),
    }))
}

/// `getblockheaders start count`: the 80-byte headers (hex) of the active chain from
/// height `start`, at most `count` (1 to [`MAX_BLOCK_HEADERS`]); fewer at the tip.
pub(super) fn block_headers(v: &NodeView, start: u64, count: u64) -> Result<Value, RpcError> {
    let chain = v.chain();
    let (tip, _) = chain.tip();
    if start > u64::from(tip.0) {
        return Err(RpcError::invalid_parameter("Block height out of range"));
    }
    let end = start.saturating_add(count).min(u64::from(tip.0) + 1);
    let mut out = Vec::new();
    for h in start..end {
        let header = u32::try_from(h)
            .ok()
            .and_then(|h| chain.hash_at(Height(h)))
            .and_then(|hash| chain.entry(&hash))
            .ok_or_else(|| RpcError::internal(format!("no active block at height {h}")))?
            .header;
        // Encoded in place: `hex::encode` builds a string a char at a time, about 3 x the time.
        let mut text = [0u8; 2 * crate::block::HEADER_SIZE];
        hex::encode_to_slice(header.to_bytes(), &mut text)
            .map_err(|e| RpcError::internal(format!("header at height {h}: {e}")))?;
        out.push(Value::String(String::from_utf8_lossy(&text).into_owned()));
    }
    Ok(Value::Array(out))
}
