//! Integration tests of the naming rules: every rule with an operation that breaks it,
//! the payload and record encodings byte by byte, and property tests against naive
//! oracles written here, and the name-state tree and its proofs against a naive
//! recursive definition.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

mod codec;
mod fields;
mod helpers;
mod props;
mod rules;
mod smt;
