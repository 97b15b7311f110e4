//! The proof-of-work UTXO chain node of the toolkit.
//!
//! Consensus is pure code over values: [`Transaction`]s with Ed25519-signed inputs
//! ([`signature`] checks the ZIP-215 rule), [`Header`]s with compact targets
//! ([`pow`]), the RFC 6962 Merkle root of the wtxids (from `merkle-log`), the rules in
//! [`validation`] and the parameters of each [`Network`]. Every hashed or stored byte
//! comes from [`encoding`].
//!
//! The node side (the sled chain state, the mempool, the `Node` handle and its owner
//! thread, the miner, the peer-to-peer network in `p2p` on the `gossip` crate, JSON-RPC
//! over HTTP, the block explorer in `explorer` and the binary) sits behind the default feature `node`. Without it the crate is the consensus types, rules and encoding
//! alone, which is what a wallet links.
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
#[cfg(feature = "node")]
mod chain;
#[cfg(feature = "node")]
pub mod datadir;
pub mod encoding;
pub mod error;
#[cfg(feature = "node")]
pub mod explorer;
mod hash;
#[cfg(feature = "node")]
pub mod index;
#[cfg(feature = "node")]
pub mod keyfile;
pub mod light;
#[cfg(feature = "node")]
pub mod mempool;
#[cfg(feature = "node")]
pub mod miner;
pub mod name_root;
#[cfg(feature = "node")]
mod node;
#[cfg(feature = "node")]
pub mod p2p;
mod params;
pub mod pow;
#[cfg(feature = "node")]
pub mod rpc;
pub mod signature;
#[cfg(feature = "node")]
mod store;
mod subsidy;
mod transaction;
pub mod u256;
mod units;
pub mod validation;
#[cfg(feature = "node")]
pub mod zonefile;

pub use address::Address;
pub use block::{Block, HEADER_SIZE, Header, merkle_root};
#[cfg(feature = "node")]
pub use chain::{
    ANTI_DOS_TIP_BLOCKS, Activation, CacheConfig, CacheUsage, ChainEvent, ChainState, ChainTip,
    DEFAULT_DBCACHE_MIB, DEFAULT_FLUSH_BLOCKS, DEFAULT_FLUSH_INTERVAL, HeadersOutcome,
    MAX_HEADERS_RESULTS, MAX_LOCATOR_HASHES, MAX_PENDING_HEADERS, PendingHeaders, TipStatus,
};
pub use hash::{BlockHash, TxId, WtxId, sha256d};
/// The redo log of a large coins flush, for its fuzz target.
#[cfg(feature = "node")]
#[doc(hidden)]
pub mod redo_log {
    pub use crate::chain::redo::{Write, decode_chunk, encode_chunk};
}
#[cfg(feature = "node")]
pub use node::{
    DEFAULT_EVENT_BUFFER, Node, NodeConfig, NodeEvent, NodeView, REQUEST_QUEUE, Subscription,
    unix_now,
};
pub use params::{
    COINBASE_MATURITY, MAX_BLOCK_SIZE, MAX_FUTURE_BLOCK_TIME, MAX_TIMEWARP, MAX_TX_SIZE,
    MEDIAN_TIME_SPAN, Network, Params, TESTNET_MINIMUM_BLOCKS,
};
#[cfg(feature = "node")]
pub use store::FORMAT_VERSION;
pub use subsidy::block_subsidy;
pub use transaction::{
    MAX_BURN_DATA, MAX_COINBASE_EXTRA, OutPoint, OutputKind, Transaction, TxIn, TxInputs, TxOut,
    TxSighash,
};
pub use units::{Amount, COIN, Height, MAX_MONEY};
