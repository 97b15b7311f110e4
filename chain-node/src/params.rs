//! Network parameters and the fixed genesis blocks.

use std::fmt;
use std::str::FromStr;

use crate::block::{Block, Header, merkle_root};
use crate::hash::BlockHash;
use crate::pow::{CompactTarget, RetargetParams, Target};
use crate::transaction::{OutputKind, Transaction, TxOut};
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
            Network::Testnet => Params::build(
                self,
                0x1f00_ffff,
                Some((120, 30)),
                210_000,
                1_764_000_000,
                108_841,
            ),
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
            merkle_root: merkle_root(&[coinbase.txid()]),
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
        for (network, hash) in [
            (Network::Regtest, REGTEST_GENESIS),
            (Network::Testnet, TESTNET_GENESIS),
        ] {
            let p = network.params();
            let g = &p.genesis;
            assert!(p.limit().is_met_by(&g.hash()), "{network}");
            assert_eq!(g.header.merkle_root, g.compute_merkle_root());
            assert_eq!(g.hash().to_hex(), hash, "{network} genesis changed");
        }
    }

    /// Pinned so that any change to the encoding or the genesis definition is noticed.
    const REGTEST_GENESIS: &str =
        "2bb3fd499a4dc27b526784a81b827b828a5d9e67f5f6c3efe6a3fe16541a724e";
    const TESTNET_GENESIS: &str =
        "0000c692886ed88d16fac6bab727d863edcf9ca60a0afcd1154f7a484d2ef0b3";
}
