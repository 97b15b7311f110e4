//! Helpers shared by the test modules.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, PoisonError};

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

/// The binary `bin` of the workspace package `package`, next to `wallet`, brought up
/// to date once per test run and package (a no-op after `cargo test --workspace`,
/// which builds every binary for its package's own tests; cargo runs tests after
/// releasing its build lock).
pub(crate) fn sibling_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let wallet = PathBuf::from(env!("CARGO_BIN_EXE_wallet"));
    let path = wallet.with_file_name(bin);
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if !built.iter().any(|b| b == bin) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", package, "--bin", bin]);
        if wallet.parent().and_then(Path::file_name) == Some("release".as_ref()) {
            build.arg("--release");
        }
        let status = build.status().unwrap();
        assert!(status.success(), "building {bin} failed");
        built.push(bin.to_owned());
    }
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// The first line a child process writes on its piped standard output (its start-up
/// line), without the newline.
pub(crate) fn first_line(child: &mut std::process::Child) -> String {
    use std::io::BufRead as _;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim_end().to_owned()
}
