//! Benchmarks of the Merkle core (to be filled with the core's figures).

fn main() {}
