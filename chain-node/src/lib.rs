//! The proof-of-work UTXO chain node of the toolkit.
//!
//! This crate will hold the consensus rules (headers, Ed25519-signed transactions,
//! retargeting, subsidy), the chain state in sled (block index, UTXO set, undo data,
//! reorgs), the mempool, the miner and the JSON-RPC server behind the `chain-node`
//! binary. Block Merkle roots come from `merkle-log`.
//!
//! Nothing is implemented yet.
