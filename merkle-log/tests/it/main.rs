//! Integration tests of the Merkle core: published known answers and property
//! tests against independent oracles.

mod known_answer;
mod oracle;
mod probes;
mod properties;
