//! The naming layer of the toolkit, after Blockstack.
//!
//! This crate will hold name rules anchored to the chain: namespaces, commit/reveal
//! registration, renewals, transfers, zone-file data and proofs for light clients.
//!
//! Nothing is implemented yet.
