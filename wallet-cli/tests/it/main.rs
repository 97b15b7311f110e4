//! Integration tests of the `wallet` binary, run as a user would run it.

// Test code: a panic is a failed test, and no untrusted input reaches it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod anchoring;
mod common;
mod docs;
mod keys;
mod log_notes;
mod log_offline;
mod log_online;
mod log_witnessed;
mod lying_node;
mod manners;
mod names;
mod names_network;
mod names_pending;
mod node_flows;
mod spend;
mod testnet;
mod wallet_keys;
