//! The `merkle-log` binary (commands arrive with the server).

fn main() {}
