//! The peer-to-peer network layer of the toolkit.
//!
//! This crate will carry libp2p gossipsub (for announcing new blocks, transactions
//! and log checkpoints) and request-response (for fetching what a peer announced),
//! generic over the message types its users define. It knows nothing about blocks.
//!
//! Nothing is implemented yet.
