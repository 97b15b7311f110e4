//! Integration tests of the chain node: consensus rules, chain state, the binary.

mod consensus;
mod helpers;
