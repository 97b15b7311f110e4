//! Integration tests of the Merkle core: published known answers and property
//! tests against independent oracles.

// Test code: a panic is a failed test, and no untrusted input reaches it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod anchor;
#[cfg(feature = "server")]
mod common;
mod cosign;
#[cfg(feature = "server")]
mod crash;
#[cfg(feature = "server")]
mod dedup_recovery;
#[cfg(feature = "server")]
mod durable;
mod format_props;
mod formats;
mod known_answer;
#[cfg(feature = "server")]
mod manners;
mod oracle;
mod policy;
mod probes;
mod properties;
#[cfg(feature = "server")]
mod server;
mod totality;
#[cfg(feature = "server")]
mod wal;
#[cfg(feature = "server")]
mod witness;
#[cfg(feature = "server")]
mod witnessed;
