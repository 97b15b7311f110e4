//! `wallet create | restore | address` run as a user runs them, without a node.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::wallet_with;

fn wallet(dir: &Path, pass: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    all.extend([OsStr::new("--wallet"), dir.as_os_str()]);
    wallet_with(&all, pass, stdin)
}

fn json(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn create_then_restore_gives_the_same_addresses() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let created = json(&wallet(&a, "pass one", &["--json", "create"], None));
    let words = created["mnemonic"].as_str().unwrap().to_string();
    assert_eq!(words.split(' ').count(), 24);
    let first = created["address"].as_str().unwrap().to_string();
    assert!(first.starts_with("rcn1"), "{first}");
    let mode = std::fs::metadata(a.join("keystore.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // The words never appear in the keystore file.
    let file = std::fs::read_to_string(a.join("keystore.json")).unwrap();
    assert!(
        !words
            .split(' ')
            .any(|w| w.len() > 4 && file.contains(&format!("{w} ")))
    );

    let second = json(&wallet(
        &a,
        "pass one",
        &["--json", "address", "--new"],
        None,
    ));
    assert_eq!(second["index"], 1);
    assert_ne!(second["address"], created["address"]);

    // Restoring from the words (on standard input), under another passphrase.
    let restored = json(&wallet(
        &b,
        "pass two",
        &["--json", "restore"],
        Some(&words),
    ));
    assert_eq!(restored["address"], created["address"]);
    let again = json(&wallet(
        &b,
        "pass two",
        &["--json", "address", "--new"],
        None,
    ));
    assert_eq!(again["address"], second["address"]);
}

#[test]
fn wrong_passphrase_bad_words_and_second_create_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    json(&wallet(&dir, "right", &["--json", "create"], None));
    let before = std::fs::read(dir.join("keystore.json")).unwrap();

    let o = wallet(&dir, "wrong", &["address", "--new"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrong passphrase"));

    let o = wallet(&dir, "right", &["create"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));

    let o = wallet(&dir, "right", &["address", "--network", "testnet"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--network regtest"));
    assert_eq!(std::fs::read(dir.join("keystore.json")).unwrap(), before);

    let other = tmp.path().join("other");
    let o = wallet(&other, "x", &["restore"], Some("abandon abandon zebra"));
    assert_eq!(o.status.code(), Some(2));
    assert!(!other.join("keystore.json").exists());

    let o = wallet(&other, "", &["create"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("empty"));
    assert!(!other.join("keystore.json").exists());
}

#[test]
fn a_missing_wallet_says_how_to_make_one() {
    let tmp = tempfile::tempdir().unwrap();
    let o = wallet(&tmp.path().join("none"), "x", &["address"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("wallet create"));
}
