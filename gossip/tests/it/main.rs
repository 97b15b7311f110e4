//! Integration tests: in-process nodes over real TCP on 127.0.0.1, waiting for typed
//! events with deadlines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod backpressure;
mod gossip;
mod helpers;
mod hostile;
mod identity;
mod peers;
mod requests;
