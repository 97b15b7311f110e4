//! Integration tests of the chain node: consensus rules, chain state, the binary.

mod binary;
mod chain;
mod consensus;
mod helpers;
mod mempool;
mod process;
mod signature;
