//! Block templates and the multi-threaded nonce search.

use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use crate::address::Address;
use crate::block::{Block, HEADER_SIZE, Header, merkle_root};
use crate::error::TemplateError;
use crate::hash::BlockHash;
use crate::params::{MAX_BLOCK_SIZE, Params};
use crate::pow::Target;
use crate::subsidy::block_subsidy;
use crate::transaction::{Transaction, TxOut};
use crate::units::Amount;
use crate::validation::HeaderContext;

/// Room kept for the header and the coinbase when filling a template.
const COINBASE_RESERVE: usize = 1_000;

/// A block ready for the nonce search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The block with nonce 0.
    pub block: Block,
    /// Total fees of its transactions.
    pub fees: Amount,
}

/// What a block template is built in: the block's header context on its parent, the
/// network, and what its coinbase carries besides the reward.
#[derive(Clone, Debug)]
pub struct TemplateContext<'a> {
    /// The parent.
    pub prev: BlockHash,
    /// Height, bits, median time past and clock for the new block.
    pub header: HeaderContext,
    /// The network parameters.
    pub params: &'a Params,
    /// Who the reward (subsidy plus fees, less the extra outputs) is paid to.
    pub payout: Address,
    /// Outputs the coinbase carries after the reward, in order (a commitment the
    /// consensus rules ask for, for example); their amounts come out of the reward.
    pub extra_outputs: Vec<TxOut>,
    /// Free data for the coinbase (extra nonce).
    pub extra: Vec<u8>,
}

/// Builds a template in `ctx` from already selected transactions (see
/// `Mempool::select`): the coinbase pays subsidy plus fees, less the extra outputs, to
/// the payout address, then carries the extra outputs.
///
/// The time is the later of `now` and one second past the median time past.
///
/// # Errors
/// [`TemplateError::RewardOutOfRange`] when subsidy plus fees exceed the money supply:
/// no coinbase could pay them (the pool's fees come from real coins, so only fees that
/// were not checked against the UTXO set get here), or when the extra outputs take more
/// than the reward.
pub fn build_template(
    ctx: &TemplateContext<'_>,
    txs: Vec<Transaction>,
    fees: Amount,
) -> Result<Template, TemplateError> {
    let subsidy = block_subsidy(ctx.header.height, ctx.params);
    let total = subsidy
        .checked_add(fees)
        .filter(|r| r.is_in_range())
        .ok_or(TemplateError::RewardOutOfRange { subsidy, fees })?;
    let extra = ctx
        .extra_outputs
        .iter()
        .try_fold(Amount::ZERO, |sum, out| sum.checked_add(out.amount));
    let reward =
        extra
            .and_then(|e| total.checked_sub(e))
            .ok_or(TemplateError::ExtraOutputsOverReward {
                reward: total,
                extra,
            })?;
    let mut outputs = Vec::with_capacity(1 + ctx.extra_outputs.len());
    outputs.push(TxOut::pay(reward, ctx.payout));
    outputs.extend(ctx.extra_outputs.iter().cloned());
    let coinbase = Transaction::coinbase(ctx.header.height, ctx.extra.clone(), outputs);
    let (prev, ctx) = (ctx.prev, &ctx.header);
    let mut all = Vec::with_capacity(txs.len() + 1);
    all.push(coinbase);
    all.extend(txs);
    let wtxids: Vec<_> = all.iter().map(Transaction::wtxid).collect();
    let now = u32::try_from(ctx.now).unwrap_or(u32::MAX);
    let header = Header {
        version: 1,
        prev,
        merkle_root: merkle_root(&wtxids),
        time: now.max(ctx.median_time_past.saturating_add(1)),
        bits: ctx.expected_bits,
        nonce: 0,
    };
    Ok(Template {
        block: Block { header, txs: all },
        fees,
    })
}

/// Bytes available for mempool transactions in a template.
pub fn template_tx_budget() -> usize {
    MAX_BLOCK_SIZE - COINBASE_RESERVE
}

/// Outcome of a nonce search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchResult {
    /// A header meeting the target.
    Found(Header),
    /// All 2^32 nonces tried without success; change the extra nonce or time.
    Exhausted,
    /// `stop` was set (tip changed or shutdown).
    Stopped,
}

/// How many hashes a thread tries between looks at the stop flag.
const STOP_CHECK_INTERVAL: u32 = 1 << 12;

/// Searches nonces of `header` on `threads` threads, thread *i* trying nonces
/// congruent to *i*. Returns early when `stop` is set.
pub fn search_nonce(header: &Header, threads: usize, stop: &AtomicBool) -> SearchResult {
    let Ok(target) = Target::from_compact(header.bits) else {
        return SearchResult::Exhausted;
    };
    let threads = threads.clamp(1, 256) as u32;
    let found = AtomicBool::new(false);
    let results: Vec<Option<Header>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let found = &found;
                s.spawn(move || search_stride(header, &target, i, threads, stop, found))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(None))
            .collect()
    });
    if let Some(h) = results.into_iter().flatten().next() {
        return SearchResult::Found(h);
    }
    if stop.load(Ordering::Relaxed) {
        SearchResult::Stopped
    } else {
        SearchResult::Exhausted
    }
}

/// Hashes one header with varying nonces: the SHA-256 state after the first 64 header
/// bytes is computed once, so each attempt hashes only the last 16 bytes and the digest.
#[derive(Clone, Debug)]
pub struct HeaderHasher {
    midstate: Sha256,
    tail: [u8; 16],
}

impl HeaderHasher {
    /// Prepares `header` (its nonce is ignored).
    pub fn new(header: &Header) -> Self {
        let bytes: [u8; HEADER_SIZE] = header.to_bytes();
        let (head, rest) = bytes.split_at(64);
        let mut midstate = Sha256::new();
        midstate.update(head);
        let mut tail = [0u8; 16];
        tail.copy_from_slice(rest);
        HeaderHasher { midstate, tail }
    }

    /// The block hash with `nonce`.
    pub fn hash(&mut self, nonce: u32) -> BlockHash {
        self.tail[12..].copy_from_slice(&nonce.to_le_bytes());
        let first = self.midstate.clone().chain_update(self.tail).finalize();
        BlockHash(Sha256::digest(first).into())
    }
}

/// One thread's share of the nonce space.
fn search_stride(
    header: &Header,
    target: &Target,
    start: u32,
    step: u32,
    stop: &AtomicBool,
    found: &AtomicBool,
) -> Option<Header> {
    let mut hasher = HeaderHasher::new(header);
    let mut nonce = start;
    let mut since_check = 0u32;
    loop {
        if target.is_met_by(&hasher.hash(nonce)) {
            found.store(true, Ordering::Relaxed);
            return Some(Header { nonce, ..*header });
        }
        since_check += 1;
        if since_check == STOP_CHECK_INTERVAL {
            since_check = 0;
            if stop.load(Ordering::Relaxed) || found.load(Ordering::Relaxed) {
                return None;
            }
        }
        nonce = nonce.checked_add(step)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Network;
    use crate::pow::CompactTarget;

    #[test]
    fn search_finds_a_valid_nonce_and_honours_stop() {
        let p = Network::Testnet.params();
        let mut header = p.genesis.header;
        header.nonce = 0;
        header.time += 1;
        let stop = AtomicBool::new(false);
        let SearchResult::Found(h) = search_nonce(&header, 2, &stop) else {
            panic!("no nonce found");
        };
        // Independent check: plain double SHA-256 of the 80 bytes.
        let hash = BlockHash(crate::hash::sha256d(&h.to_bytes()));
        assert!(p.limit().is_met_by(&hash));
        assert_eq!(HeaderHasher::new(&header).hash(h.nonce), hash);
        // An impossible target with the stop flag set returns Stopped.
        header.bits = CompactTarget(0x0101_0000);
        stop.store(true, Ordering::Relaxed);
        assert_eq!(search_nonce(&header, 2, &stop), SearchResult::Stopped);
    }

    #[test]
    fn a_reward_past_the_money_supply_is_an_error_not_a_zero_payout() {
        let p = Network::Regtest.params();
        let ctx = HeaderContext {
            height: crate::units::Height(1),
            expected_bits: p.pow_limit,
            median_time_past: 0,
            prev_time: 0,
            now: 0,
        };
        let subsidy = block_subsidy(crate::units::Height(1), &p);
        let mut template = TemplateContext {
            prev: p.genesis_hash(),
            header: ctx,
            params: &p,
            payout: Address([1; 32]),
            extra_outputs: vec![],
            extra: vec![],
        };
        let build = |fees| build_template(&template, vec![], fees);
        // Fees that leave exactly the money supply are paid in full.
        let fees = Amount::from_units(crate::units::MAX_MONEY.units() - subsidy.units());
        let t = build(fees).unwrap();
        assert_eq!(t.block.txs[0].outputs[0].amount, crate::units::MAX_MONEY);
        // One unit more is refused, and so is a sum that overflows u64.
        for fees in [
            Amount::from_units(fees.units() + 1),
            Amount::from_units(u64::MAX),
        ] {
            assert_eq!(
                build(fees),
                Err(TemplateError::RewardOutOfRange { subsidy, fees })
            );
        }
        // Extra outputs follow the reward and are paid out of it; more than the
        // reward is refused.
        let burn = TxOut {
            amount: Amount::from_units(7),
            kind: crate::transaction::OutputKind::Burn(b"commitment".to_vec()),
        };
        template.extra_outputs = vec![burn.clone()];
        let t = build_template(&template, vec![], Amount::ZERO).unwrap();
        let outs = &t.block.txs[0].outputs;
        assert_eq!(outs.len(), 2);
        assert_eq!(outs[0].amount.units(), subsidy.units() - 7);
        assert_eq!(outs[1], burn);
        template.extra_outputs = vec![TxOut {
            amount: Amount::from_units(subsidy.units() + 1),
            ..burn
        }];
        assert_eq!(
            build_template(&template, vec![], Amount::ZERO),
            Err(TemplateError::ExtraOutputsOverReward {
                reward: subsidy,
                extra: Some(Amount::from_units(subsidy.units() + 1))
            })
        );
    }

    #[test]
    fn a_running_search_stops_when_asked() {
        let mut header = Network::Regtest.params().genesis.header;
        header.bits = CompactTarget(0x0101_0000); // target 1: never met in practice
        let stop = AtomicBool::new(false);
        let result = std::thread::scope(|s| {
            let search = s.spawn(|| search_nonce(&header, 2, &stop));
            stop.store(true, Ordering::Relaxed);
            search.join().unwrap()
        });
        assert_eq!(result, SearchResult::Stopped);
    }
}
