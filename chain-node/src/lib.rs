//! The proof-of-work UTXO chain node of the toolkit.
//!
//! Consensus is pure code over values: [`Transaction`]s with Ed25519-signed inputs
//! ([`signature`] checks the ZIP-215 rule), [`Header`]s with compact targets
//! ([`pow`]), the RFC 6962 Merkle root of the wtxids (from `merkle-log`), the rules in
//! [`validation`] and the parameters of each [`Network`]. Every hashed or stored byte
//! comes from [`encoding`].
//!
//! ```
//! use chain_node::{Network, validation::check_block};
//!
//! let params = Network::Regtest.params();
//! check_block(&params.genesis, &params)?;
//! assert_eq!(params.genesis.header.merkle_root, params.genesis.compute_merkle_root());
//! # Ok::<(), chain_node::error::BlockError>(())
//! ```

mod address;
mod block;
mod chain;
pub mod datadir;
pub mod encoding;
pub mod error;
mod hash;
pub mod keyfile;
pub mod mempool;
pub mod miner;
mod node;
mod params;
pub mod pow;
pub mod rpc;
pub mod signature;
mod store;
mod subsidy;
mod transaction;
pub mod u256;
mod units;
pub mod validation;

pub use address::Address;
pub use block::{Block, HEADER_SIZE, Header, merkle_root};
pub use chain::{
    Activation, CacheConfig, CacheUsage, ChainEvent, ChainState, ChainTip, DEFAULT_DBCACHE_MIB,
    DEFAULT_FLUSH_BLOCKS, DEFAULT_FLUSH_INTERVAL, TipStatus,
};
pub use hash::{BlockHash, TxId, WtxId, sha256d};
pub use node::{Node, NodeConfig, NodeEvent, NodeState, unix_now};
pub use params::{
    COINBASE_MATURITY, MAX_BLOCK_SIZE, MAX_FUTURE_BLOCK_TIME, MAX_TIMEWARP, MAX_TX_SIZE,
    MEDIAN_TIME_SPAN, Network, Params,
};
pub use store::FORMAT_VERSION;
pub use subsidy::block_subsidy;
pub use transaction::{
    MAX_BURN_DATA, MAX_COINBASE_EXTRA, OutPoint, OutputKind, Transaction, TxIn, TxInputs, TxOut,
    TxSighash,
};
pub use units::{Amount, COIN, Height, MAX_MONEY};
