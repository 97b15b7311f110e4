//! Integration tests of the chain node: consensus rules, chain state, the binary.

mod binary;
mod cache;
mod chain;
mod commitment;
mod consensus;
mod core_client;
mod helpers;
mod largest_tx;
mod manners;
mod mempool;
mod mutation;
mod oracle;
mod pool;
mod process;
mod rpc;
mod signature;
