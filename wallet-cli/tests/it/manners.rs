//! How the `wallet` binary behaves as a Unix program, without a node: help pages
//! list only what applies, options before the command still work where they apply
//! and are refused where they do not, a closed pipe is no error, and entry files
//! outside a log's entry sizes are refused in the same words.

use std::ffi::OsStr;
use std::process::{Command, Output, Stdio};

use crate::common::{wallet, wallet_with};

const WALLET_OPTIONS: [&str; 5] = [
    "--network",
    "--wallet",
    "--rpc",
    "--rpc-cookie",
    "--node-data",
];
const NODE_OPTIONS: [&str; 3] = ["--rpc", "--rpc-cookie", "--node-data"];

/// The option flags a help page lists (`--name` at the start of a line).
fn flags(args: &[&str]) -> Vec<String> {
    let o = wallet(args);
    assert_eq!(o.status.code(), Some(0), "{args:?}");
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--"))
        .map(|rest| format!("--{}", rest.split([' ', ',', '<']).next().unwrap_or("")))
        .collect()
}

#[test]
fn help_pages_list_only_what_applies() {
    let log_pages: [&[&str]; 6] = [
        &["log", "--help"],
        &["log", "checkpoint", "--help"],
        &["log", "audit", "--help"],
        &["log", "prove", "--help"],
        &["log", "verify-inclusion", "--help"],
        &["log", "verify-note", "--help"],
    ];
    for page in log_pages {
        let listed = flags(page);
        for flag in WALLET_OPTIONS {
            assert!(!listed.iter().any(|f| f == flag), "{page:?} lists {flag}");
        }
        assert!(
            listed.iter().any(|f| f == "--json"),
            "{page:?} lacks --json"
        );
    }
    // Commands that call the node list its options; the others do not.
    for command in ["balance", "send", "history", "mine", "restore"] {
        let listed = flags(&[command, "--help"]);
        for flag in WALLET_OPTIONS {
            assert!(listed.iter().any(|f| f == flag), "{command} lacks {flag}");
        }
    }
    for command in ["create", "address", "export-mnemonic"] {
        let listed = flags(&[command, "--help"]);
        for flag in ["--network", "--wallet", "--json"] {
            assert!(listed.iter().any(|f| f == flag), "{command} lacks {flag}");
        }
        for flag in NODE_OPTIONS {
            assert!(!listed.iter().any(|f| f == flag), "{command} lists {flag}");
        }
    }
}

#[test]
fn options_before_the_command_work_where_they_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let run = |args: &[&OsStr]| wallet_with(args, "before the command", None);
    // As earlier versions took them: before the command.
    let o = run(&[
        OsStr::new("--json"),
        OsStr::new("--wallet"),
        dir.as_os_str(),
        OsStr::new("create"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // And after it, with the node options a script passes to every command.
    let o = run(&[
        OsStr::new("address"),
        OsStr::new("--json"),
        OsStr::new("--wallet"),
        dir.as_os_str(),
        OsStr::new("--rpc"),
        OsStr::new("http://127.0.0.1:9"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let address: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(address["address"], created["address"]);
    // Before `wallet log` they mean nothing, and the wallet says so.
    let o = wallet(&[
        "--network",
        "testnet",
        "--wallet",
        "x",
        "log",
        "hash-leaf",
        "--data-hex",
        "00",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "error: --network, --wallet apply to the wallet commands, not to `wallet log`"
    );
    // After `wallet log ...` the parser refuses them as unknown.
    let o = wallet(&["log", "hash-leaf", "--data-hex", "00", "--wallet", "x"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Runs the built `wallet` with its standard output closed before it writes.
fn with_closed_stdout(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wallet"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_is_no_error() {
    for args in [
        &["log", "hash-leaf", "--data-hex", "00"][..],
        &["--json", "log", "hash-leaf", "--data-hex", "00"],
        &["--help"],
        &["log", "audit", "--help"],
    ] {
        let o = with_closed_stdout(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr), "", "{args:?}");
    }
    // A failure still exits with its own code, quietly.
    let o = with_closed_stdout(&["--json", "log", "hash-leaf", "--data-hex", "zz"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

#[test]
fn entry_files_outside_a_logs_entry_sizes_are_refused_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let receipt = tmp.path().join("receipt");
    std::fs::write(&receipt, "not read").unwrap();
    // An RFC 6962 / tlog-tiles entry is 1 to 65535 bytes (its length is a u16).
    for (len, name) in [(0usize, "empty"), (65_536, "long")] {
        let entry = tmp.path().join(name);
        std::fs::write(&entry, vec![1u8; len]).unwrap();
        let o = wallet(&[
            "log",
            "verify-receipt",
            "--vkey",
            "Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs",
            "--entry-file",
            entry.to_str().unwrap(),
            receipt.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).trim(),
            format!(
                "error: entry file {} is {len} bytes; a log entry is 1 to 65535 bytes",
                entry.display()
            )
        );
    }
}
