//! Network parameters and the fixed genesis blocks.

use std::fmt;
use std::str::FromStr;

use crate::block::{Block, Header, merkle_root};
use crate::hash::BlockHash;
use crate::pow::{CompactTarget, RetargetParams, Target};
use crate::transaction::{OutputKind, Transaction, TxOut};
use crate::u256::U256;
use crate::units::{Amount, COIN, Height};

/// Largest encoded block, in bytes.
pub const MAX_BLOCK_SIZE: usize = 1_000_000;
/// Largest encoded transaction, in bytes.
pub const MAX_TX_SIZE: usize = 100_000;
/// Blocks a coinbase output must wait before it can be spent.
pub const COINBASE_MATURITY: u32 = 100;
/// How far ahead of the local clock a block time may be, in seconds.
pub const MAX_FUTURE_BLOCK_TIME: u32 = 2 * 60 * 60;
/// Number of previous blocks whose median time a new block must exceed.
pub const MEDIAN_TIME_SPAN: usize = 11;
/// BIP94: the first block of a retarget period may be at most this much earlier than its
/// parent, in seconds.
pub const MAX_TIMEWARP: u32 = 600;

/// Blocks of work at the easiest target that the testnet's minimum chain work stands
/// for. Raise it (as Core raises `nMinimumChainWork` at each release) to the work of the
/// public chain at a recent height, keeping it within what
/// [`crate::MAX_PENDING_HEADERS`] headers can prove (see ADR 0023).
pub const TESTNET_MINIMUM_BLOCKS: u64 = 1_000;

/// Which chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Network {
    /// Local testing: trivial proof of work, no retarget, halving every 150 blocks.
    Regtest,
    /// Public test network: real retargeting with a short spacing.
    Testnet,
}

impl Network {
    /// The bech32m prefix of addresses on this network.
    pub fn address_prefix(self) -> &'static str {
        match self {
            Network::Regtest => "rcn",
            Network::Testnet => "tcn",
        }
    }

    /// The name used on the command line and in RPC answers.
    pub fn name(self) -> &'static str {
        match self {
            Network::Regtest => "regtest",
            Network::Testnet => "testnet",
        }
    }

    /// The consensus parameters of this network.
    pub fn params(self) -> Params {
        match self {
            Network::Regtest => Params::build(self, 0x207f_ffff, None, 150, 1_764_000_000, 1),
            Network::Testnet => {
                let mut p = Params::build(
                    self,
                    0x1f00_ffff,
                    Some((120, 30)),
                    210_000,
                    1_764_000_000,
                    108_841,
                );
                // The least work any chain of 1,000 blocks has: no target is easier
                // than the limit (see `TESTNET_MINIMUM_BLOCKS`).
                p.minimum_chain_work = p
                    .limit()
                    .work()
                    .checked_mul_u64(TESTNET_MINIMUM_BLOCKS)
                    .unwrap_or(U256::MAX);
                p
            }
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "regtest" => Ok(Network::Regtest),
            "testnet" => Ok(Network::Testnet),
            other => Err(format!("unknown network {other:?}; use regtest or testnet")),
        }
    }
}

/// Consensus parameters of a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// The network.
    pub network: Network,
    /// The easiest allowed target (compact form).
    pub pow_limit: CompactTarget,
    /// Retarget interval and spacing; `None` keeps the genesis target forever.
    pub retarget: Option<RetargetParams>,
    /// Blocks between subsidy halvings.
    pub halving_interval: u32,
    /// Subsidy of the first halving period.
    pub initial_subsidy: Amount,
    /// The genesis block.
    pub genesis: Block,
    /// The work a header chain must have before the chain state stores it, as Core's
    /// `nMinimumChainWork` (ADR 0023): regtest 0, testnet the work of
    /// [`TESTNET_MINIMUM_BLOCKS`] blocks at the easiest target.
    pub minimum_chain_work: U256,
    /// The naming rules' parameters: [`naming::NamingParams::regtest`] on regtest,
    /// [`naming::NamingParams::standard`] elsewhere.
    pub naming: naming::NamingParams,
}

impl Params {
    fn build(
        network: Network,
        bits: u32,
        retarget: Option<(u32, u32)>,
        halving_interval: u32,
        genesis_time: u32,
        genesis_nonce: u32,
    ) -> Params {
        let pow_limit = CompactTarget(bits);
        let limit = Target::from_compact(pow_limit).unwrap_or(Target::HARDEST);
        let coinbase = Transaction::coinbase(
            Height(0),
            Vec::new(),
            vec![TxOut {
                amount: Amount::ZERO,
                kind: OutputKind::Burn(
                    format!("chain-node {} genesis", network.name()).into_bytes(),
                ),
            }],
        );
        let header = Header {
            version: 1,
            prev: BlockHash::default(),
            merkle_root: merkle_root(&[coinbase.wtxid()]),
            time: genesis_time,
            bits: pow_limit,
            nonce: genesis_nonce,
        };
        Params {
            network,
            pow_limit,
            retarget: retarget.map(|(interval, spacing)| RetargetParams {
                interval,
                spacing,
                limit,
            }),
            halving_interval,
            initial_subsidy: Amount::from_units(50 * COIN),
            genesis: Block {
                header,
                txs: vec![coinbase],
            },
            minimum_chain_work: U256::ZERO,
            naming: match network {
                Network::Regtest => naming::NamingParams::regtest(),
                Network::Testnet => naming::NamingParams::standard(),
            },
        }
    }

    /// The easiest allowed target.
    pub fn limit(&self) -> Target {
        Target::from_compact(self.pow_limit).unwrap_or(Target::HARDEST)
    }

    /// The genesis hash, which is also the chain id that signatures commit to.
    pub fn genesis_hash(&self) -> BlockHash {
        self.genesis.hash()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_blocks_are_fixed_and_meet_their_targets() {
        for (network, wtxid, root, hash) in [
            (
                Network::Regtest,
                REGTEST_COINBASE_WTXID,
                REGTEST_MERKLE_ROOT,
                REGTEST_GENESIS,
            ),
            (
                Network::Testnet,
                TESTNET_COINBASE_WTXID,
                TESTNET_MERKLE_ROOT,
                TESTNET_GENESIS,
            ),
        ] {
            let p = network.params();
            let g = &p.genesis;
            assert!(p.limit().is_met_by(&g.hash()), "{network}");
            assert_eq!(g.header.merkle_root, g.compute_merkle_root());
            assert_eq!(
                g.txs[0].wtxid().to_hex(),
                wtxid,
                "{network} coinbase changed"
            );
            // A coinbase carries no signatures: its wtxid is its txid.
            assert_eq!(g.txs[0].wtxid().0, g.txs[0].txid().0);
            assert_eq!(
                hex::encode(g.header.merkle_root),
                root,
                "{network} root changed"
            );
            assert_eq!(g.hash().to_hex(), hash, "{network} genesis changed");
        }
    }

    #[test]
    fn minimum_chain_work_per_network() {
        assert_eq!(Network::Regtest.params().minimum_chain_work, U256::ZERO);
        // Work of the target 0xffff * 2^224 is floor(2^32 / (0xffff + 2^-224)) = 65,537
        // (2^32 / 65,535 = 65,537.00002); a thousand such blocks.
        assert_eq!(
            Network::Testnet.params().minimum_chain_work,
            U256::from_u64(65_537_000)
        );
    }

    // Pinned so that any change to the encoding or the genesis definition is noticed.
    // Re-derived from the layout in docs/consensus.md by a separate script when the
    // Merkle leaves became wtxids: a coinbase has no signatures, so its wtxid equals the
    // txid the leaves held before, the roots and hashes stayed the same, and each nonce
    // is still the first that meets its target.
    const REGTEST_COINBASE_WTXID: &str =
        "105ad75b03df2cbea938068f62a0e13b2414362ee136c99ff6351096150e7394";
    const REGTEST_MERKLE_ROOT: &str =
        "1344e33c9698a1f7259afd56ccafd380d0d4e7bede4575fa03d638c7e0aec685";
    const REGTEST_GENESIS: &str =
        "2bb3fd499a4dc27b526784a81b827b828a5d9e67f5f6c3efe6a3fe16541a724e";
    const TESTNET_COINBASE_WTXID: &str =
        "f67dee5e6b2e81606550190208cdcfff243fc180b47df58d73884ca5c3170b5d";
    const TESTNET_MERKLE_ROOT: &str =
        "9b3d6adb6d49c582e7160588dce877eb27fd18efeb72ab9718baf58d051ca41a";
    const TESTNET_GENESIS: &str =
        "0000c692886ed88d16fac6bab727d863edcf9ca60a0afcd1154f7a484d2ef0b3";
}
