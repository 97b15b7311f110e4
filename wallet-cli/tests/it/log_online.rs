//! `wallet log checkpoint | prove | audit | verify-receipt` against a real log
//! server on an ephemeral port, and the lies an auditor must catch: a rollback to an
//! older copy of the data, and a fork that rewrites history.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;

use merkle_log::server::{ServerConfig, ServerHandle, start};
use merkle_log::{Log, LogConfig, NoteSigner};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::wallet;

/// The published Go test key "Log" (transparency-dev/formats log/note_test.go).
const SKEY: &str = "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ";
const VKEY: &str = "Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs";

struct Server {
    handle: Option<ServerHandle>,
    url: String,
}

impl Server {
    fn start(data: &Path) -> Server {
        let signer = NoteSigner::from_private_key(SKEY).unwrap();
        let log = Log::open(data, signer, LogConfig::default()).unwrap();
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let handle = start(log, addr, ServerConfig::default()).unwrap();
        let url = format!("http://{}", handle.addr);
        Server {
            handle: Some(handle),
            url,
        }
    }

    fn add(&self, entry: &[u8]) -> String {
        let mut resp = ureq::post(format!("{}/add", self.url)).send(entry).unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        resp.body_mut().read_to_string().unwrap()
    }

    fn stop(mut self) {
        self.handle.take().unwrap().stop().unwrap();
    }
}

/// RFC 6962 MTH over entries, written from the RFC for the tests.
pub(crate) fn mth(entries: &[Vec<u8>]) -> String {
    fn leaf(d: &[u8]) -> [u8; 32] {
        Sha256::new()
            .chain_update([0u8])
            .chain_update(d)
            .finalize()
            .into()
    }
    fn rec(leaves: &[[u8; 32]]) -> [u8; 32] {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                let (l, r) = (rec(&leaves[..k]), rec(&leaves[k..]));
                Sha256::new()
                    .chain_update([1u8])
                    .chain_update(l)
                    .chain_update(r)
                    .finalize()
                    .into()
            }
        }
    }
    let leaves: Vec<[u8; 32]> = entries.iter().map(|e| leaf(e)).collect();
    hex::encode(rec(&leaves))
}

fn entries(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix} entry {i}").into_bytes())
        .collect()
}

pub(crate) fn run(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o: Output = wallet(&all);
    let code = o.status.code().unwrap();
    let json: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    // With --json a failure's reason is the "error" field.
    let err = json["error"].as_str().map_or_else(
        || String::from_utf8_lossy(&o.stderr).into_owned(),
        str::to_string,
    );
    (code, json, err)
}

/// `wallet log verify-receipt` of `receipt` for the entry in `entry`.
fn check_receipt(vkey: &str, entry: &Path, receipt: &Path) -> (i32, Value, String) {
    let (entry, receipt) = (entry.to_str().unwrap(), receipt.to_str().unwrap());
    run(&[
        "log",
        "verify-receipt",
        "--vkey",
        vkey,
        "--entry-file",
        entry,
        receipt,
    ])
}

/// `wallet log prove` with `--index I` or `--entry-file F`.
fn prove(url: &str, how: &str, what: &str) -> (i32, Value, String) {
    run(&["log", "prove", "--log", url, "--vkey", VKEY, how, what])
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn audit(url: &str, state: &Path, full: bool) -> (i32, Value, String) {
    let state = state.to_str().unwrap();
    let mut args = vec![
        "log", "audit", "--log", url, "--vkey", VKEY, "--state", state,
    ];
    if full {
        args.push("--full");
    }
    run(&args)
}

#[test]
fn checkpoint_prove_and_receipts_against_a_live_log() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("log"));
    let es = entries("alpha", 300);
    let receipts: Vec<String> = es.iter().map(|e| server.add(e)).collect();

    let (code, cp, err) = run(&["log", "checkpoint", "--log", &server.url, "--vkey", VKEY]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(cp["origin"], "Log");
    assert_eq!(cp["tree_size"], 300);
    assert_eq!(cp["root"].as_str().unwrap(), mth(&es));

    // By index (entry fetched from its bundle, proof built from tiles) and by
    // entry (index and path from get-proof-by-hash), across a full and a partial tile.
    for i in [0usize, 1, 255, 256, 299] {
        let (code, p, err) = prove(&server.url, "--index", &i.to_string());
        assert_eq!(code, 0, "index {i}: {err}");
        assert_eq!(p["leaf_index"], i);
        let file = tmp.path().join(format!("entry{i}"));
        std::fs::write(&file, &es[i]).unwrap();
        let (code, p, err) = prove(&server.url, "--entry-file", file.to_str().unwrap());
        assert_eq!(code, 0, "entry {i}: {err}");
        assert_eq!(p["leaf_index"], i);

        let receipt = tmp.path().join(format!("receipt{i}"));
        std::fs::write(&receipt, &receipts[i]).unwrap();
        let (code, r, err) = check_receipt(VKEY, &file, &receipt);
        assert_eq!(code, 0, "receipt {i}: {err}");
        assert_eq!(r["leaf_index"], i);
    }

    // A receipt for another entry, a receipt checked with a stranger's key, an
    // unknown entry, an index beyond the log, and a garbage receipt.
    let other = tmp.path().join("entry1");
    let receipt0 = tmp.path().join("receipt0");
    let (code, _, _) = check_receipt(VKEY, &other, &receipt0);
    assert_eq!(code, 1);
    let stranger = NoteSigner::from_private_key(
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    )
    .unwrap()
    .verifier()
    .to_string();
    let (code, _, _) = check_receipt(&stranger, &other, &receipt0);
    assert_eq!(code, 1);
    let (code, _, _) = run(&[
        "log",
        "checkpoint",
        "--log",
        &server.url,
        "--vkey",
        &stranger,
    ]);
    assert_eq!(code, 1);
    let unknown = tmp.path().join("unknown");
    std::fs::write(&unknown, b"never logged").unwrap();
    let (code, _, _) = prove(&server.url, "--entry-file", unknown.to_str().unwrap());
    assert_ne!(code, 0);
    let (code, _, err) = prove(&server.url, "--index", "300");
    assert_eq!(code, 2, "{err}");
    let garbage = tmp.path().join("garbage");
    std::fs::write(&garbage, b"c2sp.org/tlog-proof@v1\nindex x\n").unwrap();
    let (code, _, _) = check_receipt(VKEY, &other, &garbage);
    assert_eq!(code, 2);
    server.stop();
}

#[test]
fn audit_follows_growth_and_catches_a_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("log");
    let state: PathBuf = tmp.path().join("audit.json");
    let es = entries("beta", 700);

    let server = Server::start(&data);
    for e in &es[..260] {
        server.add(e);
    }
    let (code, first, err) = audit(&server.url, &state, true);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first["tree_size"], 260);
    assert_eq!(first["previous_size"], Value::Null);
    server.stop();

    // An old copy of the data directory, taken at size 260.
    let old_copy = tmp.path().join("old");
    copy_dir(&data, &old_copy);

    let server = Server::start(&data);
    for e in &es[260..] {
        server.add(e);
    }
    let (code, grown, err) = audit(&server.url, &state, true);
    assert_eq!(code, 0, "{err}");
    assert_eq!(grown["previous_size"], 260);
    assert_eq!(grown["tree_size"], 700);
    assert_eq!(grown["root"].as_str().unwrap(), mth(&es));
    let saved = std::fs::read(&state).unwrap();
    server.stop();

    // The operator restores the old copy: the log now shows size 260 again.
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&old_copy, &data);
    let server = Server::start(&data);
    let (code, _, err) = audit(&server.url, &state, false);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("size 700") && err.contains("size 260"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&state).unwrap(),
        saved,
        "the state must be kept"
    );
    server.stop();
}

#[test]
fn audit_catches_a_fork_that_rewrites_history() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("audit.json");
    // The same key and origin, two different histories.
    let honest = Server::start(&tmp.path().join("honest"));
    for e in entries("gamma", 40) {
        honest.add(&e);
    }
    let (code, _, err) = audit(&honest.url, &state, false);
    assert_eq!(code, 0, "{err}");
    honest.stop();

    let forked = Server::start(&tmp.path().join("forked"));
    let mut rewritten = entries("gamma", 40);
    rewritten[17] = b"a rewritten entry".to_vec();
    for e in rewritten.iter().chain(entries("delta", 30).iter()) {
        forked.add(e);
    }
    let (code, _, err) = audit(&forked.url, &state, false);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("inconsistent") && err.contains("size 40") && err.contains("size 70"),
        "{err}"
    );
    forked.stop();
}

#[test]
fn audit_full_says_what_it_recomputed_without_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("audit.json");
    let es = entries("gamma", 260);
    let server = Server::start(&tmp.path().join("log"));
    for e in &es {
        server.add(e);
    }
    // Text output, standard output a pipe (not a terminal, so no progress bar).
    let o = wallet(&[
        "log",
        "audit",
        "--log",
        &server.url,
        "--vkey",
        VKEY,
        "--state",
        state.to_str().unwrap(),
        "--full",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let line = String::from_utf8(o.stdout).unwrap();
    // 260 entries (C2SP tlog-tiles): 2 entry bundles (256 + 4); hash tiles x000 and
    // x001.p/4 at level 0, and the level-1 tile with the hash of the first 256.
    let expected = format!(
        "; full check: recomputed root {} from 260 entries in 2 entry bundles, and 3 hash tiles match it",
        mth(&es)
    );
    assert!(line.trim_end().ends_with(&expected), "{line}");
    // A plain audit says nothing of the kind.
    let (code, plain, _) = audit(&server.url, &state, false);
    assert_eq!(code, 0);
    assert_eq!(plain["recomputed"], Value::Null);
    let (code, full, _) = audit(&server.url, &state, true);
    assert_eq!(code, 0);
    assert_eq!(
        full["recomputed"],
        serde_json::json!({"entries": 260, "entry_bundles": 2, "hash_tiles": 3, "root": mth(&es)})
    );
    server.stop();
}
