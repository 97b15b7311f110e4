//! The consensus rules as pure functions over values.
//!
//! Context-free checks ([`check_transaction`], [`check_block`], [`check_header_pow`]) need
//! nothing but the data; contextual checks take what they need from the chain as plain
//! values ([`HeaderContext`]) or through the narrow [`UtxoView`] trait, so that storage
//! stays at the edge.

use std::collections::{HashMap, HashSet};

use crate::address::Address;
use crate::block::{Block, Header};
use crate::error::{BlockError, TxError};
use crate::hash::BlockHash;
use crate::params::{
    COINBASE_MATURITY, MAX_BLOCK_SIZE, MAX_FUTURE_BLOCK_TIME, MAX_TIMEWARP, MAX_TX_SIZE, Params,
};
use crate::pow::{CompactTarget, Target, retarget};
use crate::signature::{SigCheck, SigMode, verify_all};
use crate::subsidy::block_subsidy;
use crate::transaction::{
    MAX_BURN_DATA, MAX_COINBASE_EXTRA, OutPoint, OutputKind, Transaction, TxInputs, TxSighash,
};
use crate::units::{Amount, Height, MAX_MONEY};

/// An unspent output as the chain state keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Coin {
    /// Its amount.
    pub amount: Amount,
    /// The address that may spend it.
    pub address: Address,
    /// Height of the block that created it.
    pub height: Height,
    /// Whether a coinbase created it.
    pub is_coinbase: bool,
}

/// Read access to the unspent outputs a block or transaction is checked against.
pub trait UtxoView {
    /// The unspent output at `outpoint`, if any.
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin>;
}

impl UtxoView for HashMap<OutPoint, Coin> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        self.get(outpoint).copied()
    }
}

/// What validation of a block (or of a transaction for the next block) knows of the
/// chain it extends: one value passed through the chain state, the mempool and the
/// miner instead of the same argument list at every call.
#[derive(Clone, Copy)]
pub struct ChainContext<'a> {
    /// The height of the block (for the mempool: the next block's).
    pub height: Height,
    /// The block's time (for the mempool: the local clock), seconds since the epoch.
    pub time: u64,
    /// The network parameters.
    pub params: &'a Params,
    /// How signatures are checked.
    pub sig_mode: SigMode,
    /// The unspent outputs of the chain the block extends.
    pub coins: &'a dyn UtxoView,
    /// The name state of the chain the block extends.
    pub names: &'a dyn naming::NameView,
}

impl std::fmt::Debug for ChainContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainContext")
            .field("height", &self.height)
            .field("time", &self.time)
            .field("network", &self.params.network)
            .field("sig_mode", &self.sig_mode)
            .finish_non_exhaustive()
    }
}

impl ChainContext<'_> {
    /// The chain id signatures commit to: the genesis hash.
    pub fn chain_id(&self) -> BlockHash {
        self.params.genesis_hash()
    }
}

/// The coins a connected block spent, in order: enough to disconnect it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockUndo {
    /// Spent outpoints and the coins they held.
    pub spent: Vec<(OutPoint, Coin)>,
}

/// The coins a transaction creates (burn outputs are never coins).
pub fn created_coins(tx: &Transaction, height: Height) -> Vec<(OutPoint, Coin)> {
    let txid = tx.txid();
    tx.outputs
        .iter()
        .enumerate()
        .filter_map(|(vout, out)| {
            let address = out.address()?;
            Some((
                OutPoint {
                    txid,
                    vout: u32::try_from(vout).ok()?,
                },
                Coin {
                    amount: out.amount,
                    address,
                    height,
                    is_coinbase: tx.is_coinbase(),
                },
            ))
        })
        .collect()
}

/// Context-free transaction rules.
///
/// # Errors
/// The first [`TxError`] found.
pub fn check_transaction(tx: &Transaction) -> Result<(), TxError> {
    let size = tx.size();
    if size > MAX_TX_SIZE {
        return Err(TxError::TooLarge {
            size,
            max: MAX_TX_SIZE,
        });
    }
    match &tx.inputs {
        TxInputs::Coinbase { extra, .. } => {
            if extra.len() > MAX_COINBASE_EXTRA {
                return Err(TxError::CoinbaseExtraTooLarge {
                    length: extra.len(),
                });
            }
        }
        TxInputs::Spend(ins) => {
            if ins.is_empty() {
                return Err(TxError::NoInputs);
            }
            let mut seen = HashSet::with_capacity(ins.len());
            for input in ins {
                if !seen.insert(input.prevout) {
                    return Err(TxError::DuplicateInput {
                        outpoint: input.prevout,
                    });
                }
            }
        }
    }
    if tx.outputs.is_empty() {
        return Err(TxError::NoOutputs);
    }
    output_total(tx)?;
    for (index, out) in tx.outputs.iter().enumerate() {
        if let OutputKind::Burn(data) = &out.kind
            && data.len() > MAX_BURN_DATA
        {
            return Err(TxError::BurnTooLarge {
                index,
                length: data.len(),
            });
        }
    }
    Ok(())
}

/// The sum of the outputs, each and all within [`MAX_MONEY`].
///
/// # Errors
/// [`TxError::OutputOutOfRange`] or [`TxError::TotalOutOfRange`].
pub fn output_total(tx: &Transaction) -> Result<Amount, TxError> {
    let mut total = Amount::ZERO;
    for (index, out) in tx.outputs.iter().enumerate() {
        if !out.amount.is_in_range() {
            return Err(TxError::OutputOutOfRange {
                index,
                amount: out.amount,
            });
        }
        total = total
            .checked_add(out.amount)
            .filter(|t| t.is_in_range())
            .ok_or(TxError::TotalOutOfRange)?;
    }
    Ok(total)
}

/// The coins a spending transaction spends and the fee it pays: the outcome of the cheap
/// input rules, before any signature digest is computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpentCoins {
    /// Inputs minus outputs.
    pub fee: Amount,
    /// The spent coins, in input order.
    pub spent: Vec<Coin>,
}

/// A spending transaction checked against the coins it spends, signatures not yet
/// verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedInputs {
    /// Inputs minus outputs.
    pub fee: Amount,
    /// The spent coins, in input order.
    pub spent: Vec<Coin>,
    /// The signature checks still to run, in input order.
    pub sig_checks: Vec<SigCheck>,
}

/// Contextual input rules for a non-coinbase transaction to be included at `height`,
/// without hashing anything: the coins exist, are mature and belong to the inputs'
/// keys, and the inputs cover the outputs. Callers that apply a fee policy check it on
/// the result before they pay for [`sig_checks`].
///
/// # Errors
/// [`TxError::MissingInput`], [`TxError::ImmatureCoinbase`], [`TxError::WrongKey`],
/// [`TxError::InputsOutOfRange`], [`TxError::InsufficientInputs`],
/// [`TxError::UnexpectedCoinbase`].
pub fn check_spends(
    tx: &Transaction,
    view: &(impl UtxoView + ?Sized),
    height: Height,
) -> Result<SpentCoins, TxError> {
    let TxInputs::Spend(ins) = &tx.inputs else {
        return Err(TxError::UnexpectedCoinbase);
    };
    let mut spent = Vec::with_capacity(ins.len());
    let mut total_in = Amount::ZERO;
    for (index, input) in ins.iter().enumerate() {
        let coin = view.coin(&input.prevout).ok_or(TxError::MissingInput {
            outpoint: input.prevout,
        })?;
        if coin.is_coinbase {
            let depth = height.0.saturating_sub(coin.height.0);
            if depth < COINBASE_MATURITY {
                return Err(TxError::ImmatureCoinbase {
                    outpoint: input.prevout,
                    depth,
                });
            }
        }
        if Address::from_pubkey(&input.pubkey) != coin.address {
            return Err(TxError::WrongKey { index });
        }
        total_in = total_in
            .checked_add(coin.amount)
            .filter(|t| t.is_in_range())
            .ok_or(TxError::InputsOutOfRange)?;
        spent.push(coin);
    }
    let total_out = output_total(tx)?;
    let fee = total_in
        .checked_sub(total_out)
        .ok_or(TxError::InsufficientInputs {
            inputs: total_in,
            outputs: total_out,
        })?;
    Ok(SpentCoins { fee, spent })
}

/// The signature checks of `tx`, one per input, given the coins it spends in input
/// order: the transaction is hashed once ([`TxSighash`]), then each input's digest costs
/// a constant.
pub fn sig_checks(tx: &Transaction, chain_id: &BlockHash, spent: &[Coin]) -> Vec<SigCheck> {
    let amounts: Vec<Amount> = spent.iter().map(|c| c.amount).collect();
    let digest = TxSighash::new(tx, chain_id, &amounts);
    (0u32..)
        .zip(tx.spends())
        .map(|(index, input)| SigCheck {
            pubkey: input.pubkey,
            signature: input.signature,
            message: digest.input(index),
        })
        .collect()
}

/// [`check_spends`], then the signature checks still to run ([`sig_checks`]).
///
/// # Errors
/// As [`check_spends`].
pub fn check_inputs(
    tx: &Transaction,
    view: &(impl UtxoView + ?Sized),
    height: Height,
    chain_id: &BlockHash,
) -> Result<CheckedInputs, TxError> {
    let SpentCoins { fee, spent } = check_spends(tx, view, height)?;
    let sig_checks = sig_checks(tx, chain_id, &spent);
    Ok(CheckedInputs {
        fee,
        spent,
        sig_checks,
    })
}

/// Verifies a transaction's signatures.
///
/// # Errors
/// [`TxError::BadSignature`] naming the first bad input.
pub fn verify_tx_signatures(checks: &[SigCheck], mode: SigMode) -> Result<(), TxError> {
    verify_all(checks, mode).map_err(|index| TxError::BadSignature { index })
}

/// Proof-of-work rules that need only the header: valid bits, not above the network
/// limit, hash at or below the target.
///
/// # Errors
/// [`BlockError::BadBits`], [`BlockError::TargetAboveLimit`], [`BlockError::HighHash`].
pub fn check_header_pow(header: &Header, params: &Params) -> Result<(), BlockError> {
    let target = Target::from_compact(header.bits)?;
    if target > params.limit() {
        return Err(BlockError::TargetAboveLimit {
            bits: header.bits.0,
        });
    }
    let hash = header.hash();
    if !target.is_met_by(&hash) {
        return Err(BlockError::HighHash { hash });
    }
    Ok(())
}

/// What the header rules need to know about the chain a header extends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderContext {
    /// Height of the new block.
    pub height: Height,
    /// Bits the new block must carry ([`next_bits`]).
    pub expected_bits: CompactTarget,
    /// Median time of the last 11 blocks ([`median_time_past`]).
    pub median_time_past: u32,
    /// The parent's time.
    pub prev_time: u32,
    /// The local clock, seconds since the epoch.
    pub now: u64,
}

/// Median of up to the last 11 block times (fewer near genesis).
pub fn median_time_past(times: &[u32]) -> u32 {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or(0)
}

/// The bits a block at `height` must carry.
///
/// `prev_bits`/`prev_time` are the parent's; `period_start_time` is the time of the block
/// at `height - 1 - N` (N intervals before the parent), needed only when `height` is a
/// retarget height. With N intervals and a window that starts at the previous period's
/// last block, the first retarget is at height 2N; at height N the target is kept.
pub fn next_bits(
    params: &Params,
    height: Height,
    prev_bits: CompactTarget,
    prev_time: u32,
    period_start_time: Option<u32>,
) -> CompactTarget {
    let Some(rp) = params.retarget else {
        return params.pow_limit;
    };
    if height.0 == 0 || !height.0.is_multiple_of(rp.interval) {
        return prev_bits;
    }
    let (Some(start), Ok(prev)) = (period_start_time, Target::from_compact(prev_bits)) else {
        return prev_bits;
    };
    let actual = i64::from(prev_time) - i64::from(start);
    retarget(prev, actual, &rp).to_compact()
}

/// Whether `height` starts a retarget period (where BIP94 applies).
pub fn is_retarget_height(params: &Params, height: Height) -> bool {
    params
        .retarget
        .is_some_and(|rp| height.0 != 0 && height.0.is_multiple_of(rp.interval))
}

/// Contextual header rules: bits, median time past, future limit, BIP94 timewarp.
///
/// # Errors
/// [`BlockError::WrongBits`], [`BlockError::TimeTooOld`], [`BlockError::TimeTooNew`],
/// [`BlockError::Timewarp`].
pub fn check_header_context(
    header: &Header,
    ctx: &HeaderContext,
    params: &Params,
) -> Result<(), BlockError> {
    if header.bits != ctx.expected_bits {
        return Err(BlockError::WrongBits {
            height: ctx.height,
            expected: ctx.expected_bits.0,
            found: header.bits.0,
        });
    }
    if header.time <= ctx.median_time_past {
        return Err(BlockError::TimeTooOld {
            time: header.time,
            median: ctx.median_time_past,
        });
    }
    if u64::from(header.time) > ctx.now.saturating_add(u64::from(MAX_FUTURE_BLOCK_TIME)) {
        return Err(BlockError::TimeTooNew {
            time: header.time,
            now: ctx.now,
        });
    }
    if is_retarget_height(params, ctx.height)
        && header.time < ctx.prev_time.saturating_sub(MAX_TIMEWARP)
    {
        return Err(BlockError::Timewarp {
            time: header.time,
            prev_time: ctx.prev_time,
        });
    }
    Ok(())
}

/// Context-free block rules, in an order that matters:
///
/// 1. the header's proof of work ([`check_header_pow`]): a failure of the header itself;
/// 2. the Merkle root matches the transactions ([`BlockError::BadMerkleRoot`]). Until it
///    does, the transactions are not the ones the block's hash commits to: the value may
///    be a mutated copy of a valid block, and such a failure must not be held against
///    the hash ([`BlockError::is_mutation`]);
/// 3. the rest, which the header commits to: size, coinbase placement and each
///    transaction's context-free rules.
///
/// # Errors
/// The first [`BlockError`] found.
pub fn check_block(block: &Block, params: &Params) -> Result<(), BlockError> {
    check_header_pow(&block.header, params)?;
    if block.compute_merkle_root() != block.header.merkle_root {
        return Err(BlockError::BadMerkleRoot);
    }
    let size = block.size();
    if size > MAX_BLOCK_SIZE {
        return Err(BlockError::TooLarge {
            size,
            max: MAX_BLOCK_SIZE,
        });
    }
    let Some(first) = block.txs.first() else {
        return Err(BlockError::NoTransactions);
    };
    if !first.is_coinbase() {
        return Err(BlockError::FirstNotCoinbase);
    }
    if let Some(index) = block.txs.iter().skip(1).position(Transaction::is_coinbase) {
        return Err(BlockError::ExtraCoinbase { index: index + 1 });
    }
    for (index, tx) in block.txs.iter().enumerate() {
        check_transaction(tx).map_err(|source| BlockError::Tx {
            index,
            txid: tx.txid(),
            source,
        })?;
    }
    Ok(())
}

/// The UTXO view inside a block: the base view, plus outputs created earlier in the
/// block, minus outputs already spent in it.
struct BlockView<'a, V: ?Sized> {
    base: &'a V,
    created: HashMap<OutPoint, Coin>,
    spent: HashSet<OutPoint>,
}

impl<V: UtxoView + ?Sized> UtxoView for BlockView<'_, V> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        if self.spent.contains(outpoint) {
            return None;
        }
        self.created
            .get(outpoint)
            .copied()
            .or_else(|| self.base.coin(outpoint))
    }
}

/// Contextual block rules against the UTXO set of its parent (`ctx.coins`, at
/// `ctx.height`): coinbase height and value, inputs, maturity, no double spend inside the
/// block, signatures. Returns the undo data. Name operations are not checked here: a
/// rejected one leaves its transaction valid (the name index applies them).
///
/// Call [`check_block`] and [`check_header_context`] first: only once the Merkle root
/// matches are these failures the block's own.
///
/// # Errors
/// The first [`BlockError`] found.
pub fn connect_block(block: &Block, ctx: &ChainContext<'_>) -> Result<BlockUndo, BlockError> {
    let (height, view, params, mode) = (ctx.height, ctx.coins, ctx.params, ctx.sig_mode);
    let chain_id = ctx.chain_id();
    let Some(coinbase) = block.txs.first() else {
        return Err(BlockError::NoTransactions);
    };
    match &coinbase.inputs {
        TxInputs::Coinbase { height: found, .. } if *found == height => {}
        TxInputs::Coinbase { height: found, .. } => {
            return Err(BlockError::BadCoinbaseHeight {
                expected: height,
                found: *found,
            });
        }
        TxInputs::Spend(_) => return Err(BlockError::FirstNotCoinbase),
    }
    let mut bv = BlockView {
        base: view,
        created: HashMap::new(),
        spent: HashSet::new(),
    };
    let mut seen_txids = HashSet::with_capacity(block.txs.len());
    let mut undo = BlockUndo::default();
    let mut fees = Amount::ZERO;
    let mut checks = Vec::new();
    let mut owners = Vec::new();
    for (index, tx) in block.txs.iter().enumerate() {
        let txid = tx.txid();
        if !seen_txids.insert(txid) {
            return Err(BlockError::DuplicateTx { txid });
        }
        if index > 0 {
            for input in tx.spends() {
                if bv.spent.contains(&input.prevout) {
                    return Err(BlockError::DoubleSpendInBlock {
                        index,
                        outpoint: input.prevout,
                    });
                }
            }
            let checked =
                check_inputs(tx, &bv, height, &chain_id).map_err(|source| BlockError::Tx {
                    index,
                    txid,
                    source,
                })?;
            fees = fees
                .checked_add(checked.fee)
                .filter(|f| f.is_in_range())
                .ok_or(BlockError::Tx {
                    index,
                    txid,
                    source: TxError::InputsOutOfRange,
                })?;
            for ((input, coin), (n, check)) in tx
                .spends()
                .iter()
                .zip(checked.spent)
                .zip(checked.sig_checks.into_iter().enumerate())
            {
                bv.spent.insert(input.prevout);
                undo.spent.push((input.prevout, coin));
                checks.push(check);
                owners.push((index, txid, n));
            }
        }
        for (outpoint, coin) in created_coins(tx, height) {
            bv.created.insert(outpoint, coin);
        }
    }
    let subsidy = block_subsidy(height, params);
    let allowed = subsidy.checked_add(fees).unwrap_or(MAX_MONEY);
    let paid = output_total(coinbase).map_err(|source| BlockError::Tx {
        index: 0,
        txid: coinbase.txid(),
        source,
    })?;
    if paid > allowed {
        return Err(BlockError::CoinbaseOverpays { paid, allowed });
    }
    if let Err(i) = verify_all(&checks, mode) {
        let (index, txid, input) = owners.get(i).copied().unwrap_or_default();
        return Err(BlockError::Tx {
            index,
            txid,
            source: TxError::BadSignature { index: input },
        });
    }
    Ok(undo)
}
