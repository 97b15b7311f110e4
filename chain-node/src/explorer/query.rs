//! What the pages show, read from the node: plain values, no HTML. Every read is
//! bounded by a named constant, whatever the request asked for.

use std::collections::HashMap;

use crate::address::Address;
use crate::block::Header;
use crate::chain::ChainTip;
use crate::error::NodeError;
use crate::hash::{BlockHash, TxId};
use crate::node::{Node, NodeView};
use crate::pow::Target;
use crate::transaction::{OutPoint, OutputKind, Transaction, TxInputs};
use crate::u256::U256;
use crate::units::{Amount, Height};
use crate::validation::Coin;

/// Blocks listed on the front page.
pub const LATEST_BLOCKS: u32 = 10;
/// Blocks the interval and difficulty charts cover.
pub const CHART_BLOCKS: u32 = 100;
/// Most recent blocks searched for a transaction that is neither in the mempool nor
/// has an unspent output to find it by (there is no transaction index).
pub const TX_SCAN_BLOCKS: u32 = 1_000;
/// Outputs of a transaction probed in the UTXO set to find its block.
const TX_PROBE_OUTPUTS: u32 = 16;
/// Most recent blocks scanned for an address's history.
pub const HISTORY_BLOCKS: u32 = 500;
/// Most history rows shown for an address.
pub const MAX_HISTORY_ROWS: usize = 200;
/// Most coins listed for an address.
pub const MAX_COIN_ROWS: usize = 500;
/// Most mempool transactions listed.
pub const MAX_MEMPOOL_ROWS: usize = 500;
/// Most bytes of a zone file a name page shows (as many as a stored file may hold).
pub const MAX_ZONE_FILE_SHOWN: usize = crate::zonefile::MAX_ZONE_FILE_BYTES;
/// Blocks read in one request to the node's owner while scanning, so that a scan
/// never holds it long.
const SCAN_CHUNK: u32 = 50;

/// A row of the latest blocks.
#[derive(Clone, Debug)]
pub(crate) struct BlockRow {
    pub(crate) height: Height,
    pub(crate) hash: BlockHash,
    pub(crate) time: u32,
    pub(crate) txs: usize,
    pub(crate) size: usize,
}

/// One block of the charts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChartPoint {
    pub(crate) height: Height,
    /// Seconds since its parent's timestamp (negative when timestamps go back).
    pub(crate) interval: i64,
    /// The limit target over its target.
    pub(crate) difficulty: f64,
}

/// The front page's data.
#[derive(Clone, Debug)]
pub(crate) struct Summary {
    pub(crate) height: Height,
    pub(crate) tip: BlockHash,
    pub(crate) latest: Vec<BlockRow>,
    pub(crate) chart: Vec<ChartPoint>,
    pub(crate) mempool_txs: usize,
    pub(crate) mempool_bytes: usize,
}

/// The approximate value of a 256-bit number.
pub(crate) fn approx(v: &U256) -> f64 {
    v.to_be_bytes()
        .iter()
        .fold(0.0, |acc, b| acc * 256.0 + f64::from(*b))
}

/// Difficulty as Bitcoin's: the limit target over this target.
pub(crate) fn difficulty(limit: &Target, header: &Header) -> f64 {
    match Target::from_compact(header.bits) {
        Ok(t) => {
            let t = approx(&t.value());
            if t > 0.0 {
                approx(&limit.value()) / t
            } else {
                0.0
            }
        }
        Err(_) => 0.0,
    }
}

/// The latest blocks of the active chain, newest first.
pub(crate) fn latest_blocks(v: &NodeView, count: u32) -> Vec<BlockRow> {
    let chain = v.chain();
    let (tip, _) = chain.tip();
    let mut out = Vec::new();
    let mut h = tip.0;
    for _ in 0..count {
        if let Some(hash) = chain.hash_at(Height(h))
            && let Some(entry) = chain.entry(&hash)
        {
            let (txs, size) = match chain.block(&hash) {
                Ok(Some(b)) => (b.txs.len(), b.size()),
                _ => (0, 0),
            };
            out.push(BlockRow {
                height: Height(h),
                hash,
                time: entry.header.time,
                txs,
                size,
            });
        }
        match h.checked_sub(1) {
            Some(p) => h = p,
            None => break,
        }
    }
    out
}

/// The front page.
pub(crate) fn summary(v: &NodeView) -> Summary {
    let chain = v.chain();
    let (height, tip) = chain.tip();
    let limit = chain.params().limit();
    let first = height.0.saturating_sub(CHART_BLOCKS).max(1);
    let mut chart = Vec::new();
    let mut prev_time = chain
        .hash_at(Height(first - 1))
        .and_then(|h| chain.entry(&h))
        .map(|e| e.header.time);
    for h in first..=height.0 {
        let Some(e) = chain.hash_at(Height(h)).and_then(|x| chain.entry(&x)) else {
            break;
        };
        if let Some(p) = prev_time {
            chart.push(ChartPoint {
                height: Height(h),
                interval: i64::from(e.header.time) - i64::from(p),
                difficulty: difficulty(&limit, &e.header),
            });
        }
        prev_time = Some(e.header.time);
    }
    Summary {
        height,
        tip,
        latest: latest_blocks(v, LATEST_BLOCKS),
        chart,
        mempool_txs: v.mempool().len(),
        mempool_bytes: v.mempool().bytes(),
    }
}

/// A transaction's line in a block.
#[derive(Clone, Debug)]
pub(crate) struct TxRow {
    pub(crate) txid: TxId,
    pub(crate) coinbase: bool,
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
    pub(crate) value_out: Option<Amount>,
    pub(crate) size: usize,
}

impl TxRow {
    fn of(tx: &Transaction) -> TxRow {
        TxRow {
            txid: tx.txid(),
            coinbase: tx.is_coinbase(),
            inputs: tx.spends().len(),
            outputs: tx.outputs.len(),
            value_out: value_out(tx),
            size: tx.size(),
        }
    }
}

/// The sum of a transaction's outputs, `None` past `u64`.
pub(crate) fn value_out(tx: &Transaction) -> Option<Amount> {
    tx.outputs
        .iter()
        .try_fold(Amount::ZERO, |acc, o| acc.checked_add(o.amount))
}

/// A block page's data.
#[derive(Clone, Debug)]
pub(crate) struct BlockPage {
    pub(crate) hash: BlockHash,
    pub(crate) height: Height,
    pub(crate) header: Header,
    pub(crate) chainwork: U256,
    pub(crate) work: Option<U256>,
    pub(crate) difficulty: f64,
    /// Confirmations on the active chain; `None` off it.
    pub(crate) confirmations: Option<u32>,
    pub(crate) next: Option<BlockHash>,
    pub(crate) status: &'static str,
    /// The block's data, when the node has it: size, the Merkle root recomputed from
    /// its transactions, and the transactions.
    pub(crate) body: Option<BlockBody>,
}

/// The transactions of a block.
#[derive(Clone, Debug)]
pub(crate) struct BlockBody {
    pub(crate) size: usize,
    pub(crate) computed_root: [u8; 32],
    pub(crate) txs: Vec<TxRow>,
}

/// The block `hash`, `None` when the node does not know it.
///
/// # Errors
/// [`NodeError`] when the node cannot be read.
pub(crate) fn block_page(node: &Node, hash: BlockHash) -> Result<Option<BlockPage>, NodeError> {
    node.read(move |v| {
        let chain = v.chain();
        let entry = chain.entry(&hash)?;
        let (tip, _) = chain.tip();
        let active = chain.is_active(&hash);
        let block = chain.block(&hash).ok().flatten();
        let body = block.map(|b| BlockBody {
            size: b.size(),
            computed_root: b.compute_merkle_root(),
            txs: b.txs.iter().map(TxRow::of).collect(),
        });
        let status = if entry.status.is_failed() {
            "invalid"
        } else if active {
            "in the active chain"
        } else if body.is_some() {
            "stored, not in the active chain"
        } else {
            "header only"
        };
        Some(BlockPage {
            hash,
            height: entry.height,
            header: entry.header,
            chainwork: entry.chainwork,
            work: Target::from_compact(entry.header.bits)
                .ok()
                .map(|t| t.work()),
            difficulty: difficulty(&chain.params().limit(), &entry.header),
            confirmations: active.then(|| tip.0.saturating_sub(entry.height.0) + 1),
            next: if active {
                entry.height.next().and_then(|h| chain.hash_at(h))
            } else {
                None
            },
            status,
            body,
        })
    })
}

/// The active block at `height`.
///
/// # Errors
/// [`NodeError`] when the node cannot be read.
pub(crate) fn hash_at(node: &Node, height: Height) -> Result<Option<BlockHash>, NodeError> {
    node.read(move |v| v.chain().hash_at(height))
}

/// Whether the node has a header for `hash`.
///
/// # Errors
/// [`NodeError`] when the node cannot be read.
pub(crate) fn knows_block(node: &Node, hash: BlockHash) -> Result<bool, NodeError> {
    node.read(move |v| v.chain().entry(&hash).is_some())
}

/// Where a transaction was found.
#[derive(Clone, Debug)]
pub(crate) enum Place {
    /// In the mempool.
    Mempool,
    /// In a block of the active chain.
    Block {
        hash: BlockHash,
        height: Height,
        confirmations: u32,
        time: u32,
    },
}

/// One input as the page shows it.
#[derive(Clone, Debug)]
pub(crate) struct InputView {
    pub(crate) prevout: OutPoint,
    pub(crate) address: Address,
    /// The spent coin's amount, when the node knows it.
    pub(crate) amount: Option<Amount>,
}

/// A transaction page's data.
#[derive(Clone, Debug)]
pub(crate) struct TxPage {
    pub(crate) tx: Transaction,
    pub(crate) txid: TxId,
    pub(crate) place: Place,
    pub(crate) inputs: Vec<InputView>,
    /// Inputs minus outputs; `None` when an input's amount is unknown.
    pub(crate) fee: Option<Amount>,
}

impl TxPage {
    /// Fee per byte of the encoded transaction.
    pub(crate) fn fee_rate(&self) -> Option<f64> {
        let size = self.tx.size();
        self.fee
            .filter(|_| size > 0)
            .map(|f| f.units() as f64 / size as f64)
    }
}

/// The coins a transaction of the mempool spends: from the UTXO set or, for a chain
/// of unconfirmed transactions, from its parents in the pool.
fn mempool_inputs(v: &NodeView, tx: &Transaction) -> Vec<InputView> {
    tx.spends()
        .iter()
        .map(|i| {
            let amount = match v.chain().coin(&i.prevout) {
                Ok(Some(c)) => Some(c.amount),
                _ => v
                    .mempool()
                    .get(&i.prevout.txid)
                    .and_then(|e| e.tx.outputs.get(i.prevout.vout as usize))
                    .map(|o| o.amount),
            };
            InputView {
                prevout: i.prevout,
                address: Address::from_pubkey(&i.pubkey),
                amount,
            }
        })
        .collect()
}

/// The transaction `txid` in the block `hash`, with the coins it spent from that
/// block's undo data.
fn in_block(v: &NodeView, hash: BlockHash, txid: TxId) -> Option<TxPage> {
    let chain = v.chain();
    if !chain.is_active(&hash) {
        return None;
    }
    let entry = chain.entry(&hash)?;
    let block = chain.block(&hash).ok().flatten()?;
    let tx = block.txs.into_iter().find(|t| t.txid() == txid)?;
    let spent: HashMap<OutPoint, Coin> = if tx.is_coinbase() {
        HashMap::new()
    } else {
        chain
            .block_undo(&hash)
            .ok()
            .flatten()
            .map(|u| u.spent.into_iter().collect())
            .unwrap_or_default()
    };
    let inputs: Vec<InputView> = tx
        .spends()
        .iter()
        .map(|i| InputView {
            prevout: i.prevout,
            address: Address::from_pubkey(&i.pubkey),
            amount: spent.get(&i.prevout).map(|c| c.amount),
        })
        .collect();
    let (tip, _) = chain.tip();
    Some(TxPage {
        fee: fee(&tx, &inputs),
        txid,
        inputs,
        tx,
        place: Place::Block {
            hash,
            height: entry.height,
            confirmations: tip.0.saturating_sub(entry.height.0) + 1,
            time: entry.header.time,
        },
    })
}

/// Inputs minus outputs; zero for a coinbase.
fn fee(tx: &Transaction, inputs: &[InputView]) -> Option<Amount> {
    if tx.is_coinbase() {
        return Some(Amount::ZERO);
    }
    let total_in = inputs
        .iter()
        .try_fold(Amount::ZERO, |acc, i| acc.checked_add(i.amount?))?;
    total_in.checked_sub(value_out(tx)?)
}

/// Finds `txid`: in the mempool, in `hint` (a block that holds it), in the block
/// of one of its unspent outputs, or in the last [`TX_SCAN_BLOCKS`] blocks.
///
/// # Errors
/// [`NodeError`] when the node cannot be read.
pub(crate) fn tx_page(
    node: &Node,
    txid: TxId,
    hint: Option<BlockHash>,
) -> Result<Option<TxPage>, NodeError> {
    let found = node.read(move |v| {
        if let Some(e) = v.mempool().get(&txid) {
            let inputs = mempool_inputs(v, &e.tx);
            return Some(TxPage {
                tx: e.tx.clone(),
                txid,
                inputs,
                fee: Some(e.fee),
                place: Place::Mempool,
            });
        }
        if let Some(page) = hint.and_then(|h| in_block(v, h, txid)) {
            return Some(page);
        }
        let chain = v.chain();
        (0..TX_PROBE_OUTPUTS).find_map(|vout| {
            let coin = chain.coin(&OutPoint { txid, vout }).ok().flatten()?;
            in_block(v, chain.hash_at(coin.height)?, txid)
        })
    })?;
    if found.is_some() {
        return Ok(found);
    }
    let (tip, _) = node.tip()?;
    let lowest = tip.0.saturating_sub(TX_SCAN_BLOCKS - 1);
    let mut top = tip.0;
    loop {
        let bottom = top.saturating_sub(SCAN_CHUNK - 1).max(lowest);
        let found = node.read(move |v| {
            (bottom..=top).rev().find_map(|h| {
                let hash = v.chain().hash_at(Height(h))?;
                let block = v.chain().block(&hash).ok().flatten()?;
                block
                    .txs
                    .iter()
                    .any(|t| t.txid() == txid)
                    .then(|| in_block(v, hash, txid))
                    .flatten()
            })
        })?;
        if found.is_some() || bottom == lowest {
            return Ok(found);
        }
        top = bottom - 1;
    }
}

/// A coin of an address.
#[derive(Clone, Debug)]
pub(crate) struct CoinRow {
    pub(crate) outpoint: OutPoint,
    pub(crate) amount: Amount,
    /// Height of its block; `None` while its transaction is in the mempool.
    pub(crate) height: Option<Height>,
    pub(crate) coinbase: bool,
    /// The mempool transaction spending it.
    pub(crate) spent_by: Option<TxId>,
}

/// A transaction touching an address.
#[derive(Clone, Debug)]
pub(crate) struct HistoryRow {
    /// `None` in the mempool.
    pub(crate) height: Option<Height>,
    pub(crate) block: Option<BlockHash>,
    pub(crate) txid: TxId,
    /// What its outputs pay the address.
    pub(crate) received: Amount,
    /// How many of the address's coins it spends.
    pub(crate) spends: usize,
}

/// An address page's data.
#[derive(Clone, Debug)]
pub(crate) struct AddressPage {
    pub(crate) address: Address,
    /// The confirmed coins' sum.
    pub(crate) confirmed: Amount,
    /// What mempool transactions pay it.
    pub(crate) pending_in: Amount,
    /// What mempool transactions spend of its confirmed coins.
    pub(crate) pending_out: Amount,
    pub(crate) coin_count: usize,
    pub(crate) coins: Vec<CoinRow>,
    pub(crate) history: Vec<HistoryRow>,
    /// The lowest height the history scan covered.
    pub(crate) scanned_from: Height,
}

/// The address `address`: its coins from the address index (as
/// `getaddressutxos`), and its history from the mempool and the last
/// [`HISTORY_BLOCKS`] blocks.
///
/// # Errors
/// [`NodeError`] when the node cannot be read; a storage error reading the index
/// is reported as one.
pub(crate) fn address_page(node: &Node, address: Address) -> Result<AddressPage, NodeError> {
    let (mut page, tip) = node.read(move |v| -> Result<_, NodeError> {
        let (chain, pool) = (v.chain(), v.mempool());
        let (tip, _) = chain.tip();
        let mut confirmed_coins = chain.address_utxos(&address).map_err(NodeError::Chain)?;
        confirmed_coins.sort_by_key(|(op, c)| (std::cmp::Reverse(c.height), op.txid, op.vout));
        let pending = pool
            .created(tip.next().unwrap_or(tip))
            .into_iter()
            .filter(|(_, c)| c.address == address);
        let mut confirmed = Amount::ZERO;
        let mut pending_in = Amount::ZERO;
        let mut pending_out = Amount::ZERO;
        let mut coins = Vec::new();
        let mut count = 0usize;
        for ((op, coin), is_confirmed) in confirmed_coins
            .into_iter()
            .map(|c| (c, true))
            .chain(pending.map(|c| (c, false)))
        {
            let spent_by = pool.spender(&op);
            if is_confirmed {
                confirmed = confirmed.checked_add(coin.amount).unwrap_or(confirmed);
                if spent_by.is_some() {
                    pending_out = pending_out.checked_add(coin.amount).unwrap_or(pending_out);
                }
            } else {
                pending_in = pending_in.checked_add(coin.amount).unwrap_or(pending_in);
            }
            count += 1;
            if coins.len() < MAX_COIN_ROWS {
                coins.push(CoinRow {
                    outpoint: op,
                    amount: coin.amount,
                    height: is_confirmed.then_some(coin.height),
                    coinbase: coin.is_coinbase,
                    spent_by,
                });
            }
        }
        let mut history = Vec::new();
        for id in pool.txids() {
            if let Some(e) = pool.get(&id)
                && let Some(row) = touches(&e.tx, &address, None, None)
            {
                history.push(row);
            }
        }
        Ok((
            AddressPage {
                address,
                confirmed,
                pending_in,
                pending_out,
                coin_count: count,
                coins,
                history,
                scanned_from: tip,
            },
            tip,
        ))
    })??;
    let lowest = tip.0.saturating_sub(HISTORY_BLOCKS - 1);
    let mut top = tip.0;
    while page.history.len() < MAX_HISTORY_ROWS {
        let bottom = top.saturating_sub(SCAN_CHUNK - 1).max(lowest);
        let rows = node.read(move |v| {
            let mut rows = Vec::new();
            for h in (bottom..=top).rev() {
                let Some(hash) = v.chain().hash_at(Height(h)) else {
                    continue;
                };
                let Ok(Some(block)) = v.chain().block(&hash) else {
                    continue;
                };
                rows.extend(
                    block
                        .txs
                        .iter()
                        .filter_map(|t| touches(t, &address, Some(Height(h)), Some(hash))),
                );
            }
            rows
        })?;
        page.history.extend(rows);
        page.scanned_from = Height(bottom);
        if bottom == lowest {
            break;
        }
        top = bottom - 1;
    }
    page.history.truncate(MAX_HISTORY_ROWS);
    Ok(page)
}

/// The history row of `tx` for `address`, if it pays or spends from it.
fn touches(
    tx: &Transaction,
    address: &Address,
    height: Option<Height>,
    block: Option<BlockHash>,
) -> Option<HistoryRow> {
    let received = tx
        .outputs
        .iter()
        .filter(|o| matches!(&o.kind, OutputKind::Pay(a) if a == address))
        .try_fold(Amount::ZERO, |acc, o| acc.checked_add(o.amount))?;
    let paid = tx
        .outputs
        .iter()
        .any(|o| matches!(&o.kind, OutputKind::Pay(a) if a == address));
    let spends = match &tx.inputs {
        TxInputs::Coinbase { .. } => 0,
        TxInputs::Spend(ins) => ins
            .iter()
            .filter(|i| Address::from_pubkey(&i.pubkey) == *address)
            .count(),
    };
    (paid || spends > 0).then(|| HistoryRow {
        height,
        block,
        txid: tx.txid(),
        received,
        spends,
    })
}

/// A mempool transaction's line.
#[derive(Clone, Debug)]
pub(crate) struct MempoolRow {
    pub(crate) txid: TxId,
    pub(crate) size: usize,
    pub(crate) fee: Amount,
    pub(crate) value_out: Option<Amount>,
}

/// The mempool page's data: totals and the transactions by fee rate.
#[derive(Clone, Debug)]
pub(crate) struct MempoolPage {
    pub(crate) count: usize,
    pub(crate) bytes: usize,
    pub(crate) fees: Amount,
    pub(crate) orphans: usize,
    pub(crate) rows: Vec<MempoolRow>,
}

/// The mempool now, at most [`MAX_MEMPOOL_ROWS`] rows, highest fee rate first.
///
/// # Errors
/// [`NodeError`] when the node cannot be read.
pub(crate) fn mempool_page(node: &Node) -> Result<MempoolPage, NodeError> {
    node.read(|v| {
        let pool = v.mempool();
        let mut rows: Vec<MempoolRow> = pool
            .txids()
            .into_iter()
            .filter_map(|id| pool.get(&id))
            .map(|e| MempoolRow {
                txid: e.tx.txid(),
                size: e.size,
                fee: e.fee,
                value_out: value_out(&e.tx),
            })
            .collect();
        let fees = rows
            .iter()
            .try_fold(Amount::ZERO, |acc, r| acc.checked_add(r.fee))
            .unwrap_or(Amount::ZERO);
        // Highest rate first: compare fee_a / size_a with fee_b / size_b exactly.
        rows.sort_by(|a, b| {
            let lhs = u128::from(b.fee.units()) * a.size as u128;
            let rhs = u128::from(a.fee.units()) * b.size as u128;
            lhs.cmp(&rhs).then(a.txid.cmp(&b.txid))
        });
        rows.truncate(MAX_MEMPOOL_ROWS);
        MempoolPage {
            count: pool.len(),
            bytes: pool.bytes(),
            fees,
            orphans: pool.orphan_count(),
            rows,
        }
    })
}

/// The chain's tips (Core's `getchaintips`).
///
/// # Errors
/// [`NodeError`] when the node cannot be read.
pub(crate) fn chain_tips(node: &Node) -> Result<Vec<ChainTip>, NodeError> {
    node.read(|v| v.chain().chain_tips())
}

/// What a name page shows of the name's zone file.
#[derive(Clone, Debug)]
pub(crate) enum ZoneShown {
    /// The record names no zone file.
    NoFile,
    /// The record names one this node does not have (yet).
    NotHere,
    /// The file's first [`MAX_ZONE_FILE_SHOWN`] bytes as text (invalid UTF-8
    /// replaced), and its whole size.
    Held { text: String, size: usize },
}

/// A name page's data.
#[derive(Clone, Debug)]
pub(crate) struct NamePage {
    pub(crate) name: naming::Name,
    pub(crate) found: crate::rpc::NameView,
    /// The namespace's status at the same height; `None` when the index lacks it.
    pub(crate) namespace: Option<naming::NamespaceStatus>,
    pub(crate) zone: ZoneShown,
}

/// The name `name` with its namespace and zone file (read with the name RPCs'
/// functions), `None` when the node has never seen it.
///
/// # Errors
/// [`NodeError`] when the node cannot be read; a storage error reading the name
/// index is reported as one.
pub(crate) fn name_page(node: &Node, name: naming::Name) -> Result<Option<NamePage>, NodeError> {
    node.read(move |v| -> Result<_, NodeError> {
        let chain = v.chain();
        let Some(found) = crate::rpc::read_name(v, &name).map_err(NodeError::Chain)? else {
            return Ok(None);
        };
        let namespace = chain
            .namespace_record(&name.namespace)
            .map_err(NodeError::Chain)?
            .map(|r| r.status(found.at));
        let zone = match found.record.zone_file {
            None => ZoneShown::NoFile,
            Some(hash) => match chain.zone_file(&hash).map_err(NodeError::Chain)? {
                None => ZoneShown::NotHere,
                Some(file) => ZoneShown::Held {
                    text: String::from_utf8_lossy(file.get(..MAX_ZONE_FILE_SHOWN).unwrap_or(&file))
                        .into_owned(),
                    size: file.len(),
                },
            },
        };
        Ok(Some(NamePage {
            name,
            found,
            namespace,
            zone,
        }))
    })?
}

/// Whether the name index holds `name` (expired names included).
///
/// # Errors
/// [`NodeError`] when the node cannot be read.
pub(crate) fn knows_name(node: &Node, name: naming::Name) -> Result<bool, NodeError> {
    node.read(move |v| crate::rpc::read_name(v, &name).map(|n| n.is_some()))?
        .map_err(NodeError::Chain)
}
