//! Integration tests of the chain node: consensus rules, chain state, the binary.

mod binary;
mod cache;
mod candidates;
mod chain;
mod commitment;
mod consensus;
mod core_client;
mod data_outputs;
mod explorer;
mod explorer_browser;
mod handle;
mod headers;
mod helpers;
mod hostile;
mod largest_tx;
mod manners;
mod mempool;
mod mutation;
mod names;
mod network;
mod oracle;
mod pacing;
mod pool;
mod process;
mod rpc;
mod signature;
