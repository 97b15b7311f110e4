//! Helpers shared by the test modules.

use std::process::{Command, Output};

/// Runs the built `wallet` with `args` and collects its output.
pub(crate) fn wallet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wallet"))
        .args(args)
        .output()
        .unwrap()
}
