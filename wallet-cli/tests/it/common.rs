//! Helpers shared by the test modules.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

/// Runs the built `wallet` with `args` and collects its output.
pub(crate) fn wallet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wallet"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs the built `wallet` with `args`, a passphrase in the environment, and
/// `stdin` (or nothing) on standard input.
pub(crate) fn wallet_with(args: &[&std::ffi::OsStr], pass: &str, stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wallet"))
        .args(args)
        .env("WALLET_PASSPHRASE", pass)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}
