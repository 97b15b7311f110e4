//! `wallet log ... --policy` against a real log that publishes only checkpoints
//! cosigned by its witnesses (real witness servers, in-process, over TCP): the
//! auditor names the witnesses that cosigned, and refuses a checkpoint with too
//! few cosignatures, cosignatures by witnesses it does not know, or a bad one.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use merkle_log::http::Limits;
use merkle_log::note::KeyName;
use merkle_log::server::{ServerConfig, ServerHandle, start};
use merkle_log::witness::{Witness, server as witness_server};
use merkle_log::witnessing::WitnessingConfig;
use merkle_log::{Cosigner, Log, LogConfig, NoteSigner, Policy};
use serde_json::Value;

use crate::common::wallet;

/// The published Go test key "Log" (transparency-dev/formats log/note_test.go).
const SKEY: &str = "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ";
const VKEY: &str = "Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs";

fn cosigner(i: u8) -> Cosigner {
    Cosigner::from_seed(
        KeyName::new(&format!("witness.test/w{i}")).unwrap(),
        &[i; 32],
    )
}

/// Two witnesses up, a third listed but down, and a log whose policy needs two.
struct Setup {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    witnesses: Vec<ServerHandle>,
    log: Option<ServerHandle>,
    url: String,
    /// The witness lines of the log's policy (w1, w2 up; w3 down).
    lines: String,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let witnesses: Vec<ServerHandle> = (1..=2)
            .map(|i| {
                let w = Witness::open(
                    &dir.join(format!("w{i}")),
                    cosigner(i),
                    vec![VKEY.parse().unwrap()],
                )
                .unwrap();
                witness_server::start(
                    Arc::new(w),
                    "127.0.0.1:0".parse().unwrap(),
                    Limits::default(),
                )
                .unwrap()
            })
            .collect();
        let dead: SocketAddr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let addrs = [witnesses[0].addr, witnesses[1].addr, dead];
        let lines: String = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| {
                format!(
                    "witness w{} {} http://{a}\n",
                    i + 1,
                    cosigner(i as u8 + 1).verifier()
                )
            })
            .collect();
        let policy = Policy::parse(&format!(
            "log {VKEY}\n{lines}group two 2 w1 w2 w3\nquorum two\n"
        ))
        .unwrap();
        let mut witnessing = WitnessingConfig::new(policy);
        witnessing.retry_min = Duration::from_millis(20);
        witnessing.retry_max = Duration::from_millis(200);
        let signer = NoteSigner::from_private_key(SKEY).unwrap();
        let log = Log::open(&dir.join("log"), signer, LogConfig::default()).unwrap();
        let config = ServerConfig {
            witnessing: Some(witnessing),
            ..ServerConfig::default()
        };
        let log = start(log, "127.0.0.1:0".parse().unwrap(), config).unwrap();
        let url = format!("http://{}", log.addr);
        Setup {
            _tmp: tmp,
            dir,
            witnesses,
            log: Some(log),
            url,
            lines,
        }
    }

    fn add(&self, entry: &[u8]) -> String {
        let mut resp = ureq::post(format!("{}/add", self.url)).send(entry).unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        resp.body_mut().read_to_string().unwrap()
    }

    fn checkpoint(&self) -> String {
        ureq::get(format!("{}/checkpoint", self.url))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    }

    /// Writes an auditor's policy file and returns its path.
    fn policy(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(log) = self.log.take() {
            let _ = log.stop();
        }
        for w in self.witnesses.drain(..) {
            let _ = w.stop();
        }
    }
}

fn run(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = wallet(&all);
    let json: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    let err = json["error"].as_str().unwrap_or_default().to_owned();
    (o.status.code().unwrap(), json, err)
}

fn cosigners(v: &Value) -> Vec<String> {
    v["cosigned_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["witness"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_log_command_checks_the_quorum_and_names_the_witnesses() {
    let s = Setup::new();
    let entries: Vec<Vec<u8>> = (0..12)
        .map(|i| format!("cosigned entry {i}").into_bytes())
        .collect();
    let receipts: Vec<String> = entries.iter().map(|e| s.add(e)).collect();
    // The auditor's policy: the log's key and the same witnesses, no URLs needed.
    let offline: String = s
        .lines
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().0.to_owned() + "\n")
        .collect();
    let policy = s.policy(
        "policy",
        &format!("log {VKEY}\n{offline}group two 2 w1 w2 w3\nquorum two\n"),
    );

    let (code, v, err) = run(&["log", "checkpoint", "--log", &s.url, "--policy", &policy]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["tree_size"], 12);
    assert_eq!(v["quorum"], "two");
    assert_eq!(cosigners(&v), ["w1", "w2"]);
    let text = wallet(&["log", "checkpoint", "--log", &s.url, "--policy", &policy]);
    let line = String::from_utf8(text.stdout).unwrap();
    assert!(line.contains("cosigned by w1, w2 (quorum two)"), "{line}");

    let (code, v, err) = run(&[
        "log", "prove", "--log", &s.url, "--policy", &policy, "--index", "7",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(cosigners(&v), ["w1", "w2"]);

    let state = s.dir.join("audit.json");
    let state = state.to_str().unwrap();
    let audit = [
        "log", "audit", "--log", &s.url, "--policy", &policy, "--state", state,
    ];
    let (code, _, err) = run(&audit);
    assert_eq!(code, 0, "{err}");
    s.add(b"one more");
    let (code, v, err) = run(&audit);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["previous_size"], 12);
    assert_eq!(v["tree_size"], 13);

    let entry = s.file("entry3", &entries[3]);
    let receipt = s.file("receipt3", receipts[3].as_bytes());
    let (code, v, err) = run(&[
        "log",
        "verify-receipt",
        "--policy",
        &policy,
        "--entry-file",
        &entry,
        &receipt,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["leaf_index"], 3);
    assert_eq!(cosigners(&v), ["w1", "w2"]);

    let note = s.file("checkpoint", s.checkpoint().as_bytes());
    let (code, v, err) = run(&["log", "verify-note", "--policy", &policy, &note]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(cosigners(&v), ["w1", "w2"]);
    assert_eq!(v["signed_by"][0], "Log");
    // The log's key may come from --vkey instead of the policy.
    let no_log = s.policy(
        "no-log",
        &format!("{offline}group two 2 w1 w2 w3\nquorum two\n"),
    );
    let (code, _, err) = run(&[
        "log",
        "verify-note",
        "--vkey",
        VKEY,
        "--policy",
        &no_log,
        &note,
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn too_few_cosignatures_are_refused() {
    let s = Setup::new();
    s.add(b"an entry");
    let all3 = s.policy(
        "all3",
        &format!(
            "log {VKEY}\n{}group all3 all w1 w2 w3\nquorum all3\n",
            s.lines
        ),
    );
    let (code, _, err) = run(&["log", "checkpoint", "--log", &s.url, "--policy", &all3]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("quorum \"all3\" not met: cosigned by w1, w2"),
        "{err}"
    );
    let note = s.file("checkpoint", s.checkpoint().as_bytes());
    let (code, _, err) = run(&["log", "verify-note", "--policy", &all3, &note]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn cosignatures_by_unknown_witnesses_do_not_count() {
    let s = Setup::new();
    s.add(b"an entry");
    // The auditor knows only w3 (down) and w4 (never asked).
    let w3 = s.lines.lines().nth(2).unwrap();
    let w4 = format!("witness w4 {}\n", cosigner(4).verifier());
    let others = s.policy(
        "others",
        &format!("log {VKEY}\n{w3}\n{w4}group any1 any w3 w4\nquorum any1\n"),
    );
    let (code, _, err) = run(&["log", "checkpoint", "--log", &s.url, "--policy", &others]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cosigned by no witness of the policy"),
        "{err}"
    );
    // A key that merely bears w1's name is another witness.
    let impostor = Cosigner::from_seed(KeyName::new("witness.test/w1").unwrap(), &[99; 32]);
    let fake = s.policy(
        "fake",
        &format!(
            "log {VKEY}\nwitness w1 {}\nquorum w1\n",
            impostor.verifier()
        ),
    );
    let (code, _, err) = run(&["log", "checkpoint", "--log", &s.url, "--policy", &fake]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn a_bad_cosignature_rejects_the_checkpoint_and_the_receipt() {
    let s = Setup::new();
    let receipt = s.add(b"an entry");
    let policy = s.policy(
        "policy",
        &format!("log {VKEY}\n{}group two 2 w1 w2 w3\nquorum two\n", s.lines),
    );
    // Flip one base64 character of w2's cosignature (the last line).
    let tamper = |note: &str| {
        let start = note.rfind("\u{2014} witness.test/w2 ").unwrap();
        let at = note[start..].find('\n').unwrap() + start - 10;
        let mut bytes = note.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let note = s.checkpoint();
    let bad = s.file("bad-checkpoint", tamper(&note).as_bytes());
    let (code, _, err) = run(&["log", "verify-note", "--policy", &policy, &bad]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("invalid signature for key witness.test/w2"),
        "{err}"
    );
    let good = s.file("checkpoint", note.as_bytes());
    assert_eq!(
        run(&["log", "verify-note", "--policy", &policy, &good]).0,
        0
    );

    let entry = s.file("entry", b"an entry");
    let bad_receipt = s.file("bad-receipt", tamper(&receipt).as_bytes());
    let (code, _, err) = run(&[
        "log",
        "verify-receipt",
        "--policy",
        &policy,
        "--entry-file",
        &entry,
        &bad_receipt,
    ]);
    assert_eq!(code, 1, "{err}");
    // Without the policy the log's own signature still verifies: only the
    // policy makes the witnesses' word count.
    let (code, _, err) = run(&[
        "log",
        "verify-receipt",
        "--vkey",
        VKEY,
        "--entry-file",
        &entry,
        &bad_receipt,
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn bad_policies_are_bad_input() {
    let s = Setup::new();
    let garbage = s.policy("garbage", "witness\nquorum nobody\n");
    let (code, _, err) = run(&["log", "checkpoint", "--log", &s.url, "--policy", &garbage]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 1"), "{err}");
    let no_log = s.policy("no-log", "quorum none\n");
    let (code, _, err) = run(&["log", "checkpoint", "--log", &s.url, "--policy", &no_log]);
    assert_eq!(code, 2, "{err}");
    let missing = Path::new(&s.dir).join("missing");
    let (code, _, _) = run(&[
        "log",
        "checkpoint",
        "--log",
        &s.url,
        "--policy",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    // Neither --vkey nor --policy: clap refuses.
    let o = wallet(&["log", "checkpoint", "--log", &s.url]);
    assert_eq!(o.status.code(), Some(2));
}
