//! `listdataoutputs`: the data (burn) outputs of the active chain whose bytes start
//! with a prefix, found by a bounded scan of the blocks from a height (no index: the
//! scan reads only the active chain, so a reorganisation needs no undo).

use serde_json::{Value, json};

use super::{MAX_LIST_BYTES, MAX_LIST_OUTPUTS, RpcError};
use crate::node::NodeView;
use crate::transaction::OutputKind;
use crate::units::Height;

/// Scans at most `max_blocks` blocks of the active chain from height `from` (and
/// fewer when [`MAX_LIST_OUTPUTS`] outputs or [`MAX_LIST_BYTES`] bytes of blocks are
/// reached, always whole blocks). The answer names the hash before the first block
/// scanned (`prevhash`) and of the last (`lasthash`), so that a client that pages
/// through the chain sees a reorganisation between two calls: the next page's
/// `prevhash` is then not the last page's `lasthash`.
pub(super) fn list_data_outputs(
    v: &NodeView,
    prefix: &[u8],
    from: u64,
    max_blocks: u64,
) -> Result<Value, RpcError> {
    let chain = v.chain();
    let (tip, tip_hash) = chain.tip();
    let past_tip = u64::from(tip.0) + 1;
    if from > past_tip {
        return Err(RpcError::invalid_parameter(format!(
            "fromheight {from} is past the tip (height {})",
            tip.0
        )));
    }
    let hash_at = |h: u64| {
        u32::try_from(h)
            .ok()
            .and_then(|h| chain.hash_at(Height(h)))
            .map(|h| h.to_hex())
    };
    let prevhash = from.checked_sub(1).and_then(hash_at);
    let mut outputs = Vec::new();
    let mut bytes = 0usize;
    let mut next = from;
    let mut lasthash = None;
    while next < past_tip && next - from < max_blocks {
        if outputs.len() >= MAX_LIST_OUTPUTS || bytes >= MAX_LIST_BYTES {
            break;
        }
        let height = u32::try_from(next)
            .map_err(|_| RpcError::internal("height past u32 in the active chain"))?;
        let hash = chain
            .hash_at(Height(height))
            .ok_or_else(|| RpcError::internal(format!("no block at height {height}")))?;
        let block = chain.block(&hash)?.ok_or_else(|| {
            RpcError::internal(format!("block {hash} of the active chain is missing"))
        })?;
        bytes = bytes.saturating_add(block.size());
        for tx in &block.txs {
            let mut txid = None;
            for (vout, out) in tx.outputs.iter().enumerate() {
                if let OutputKind::Burn(data) = &out.kind
                    && data.starts_with(prefix)
                {
                    let txid = txid.get_or_insert_with(|| tx.txid().to_hex());
                    outputs.push(json!({
                        "height": height,
                        "blockhash": hash.to_hex(),
                        "txid": txid,
                        "vout": vout,
                        "amount": out.amount.units(),
                        "data": hex::encode(data),
                    }));
                }
            }
        }
        lasthash = Some(hash.to_hex());
        next += 1;
    }
    Ok(json!({
        "from": from,
        "next": next,
        "prevhash": prevhash,
        "lasthash": lasthash,
        "tipheight": tip.0,
        "tiphash": tip_hash.to_hex(),
        "complete": next == past_tip,
        "outputs": outputs,
    }))
}
