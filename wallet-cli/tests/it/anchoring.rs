//! Checkpoints anchored in the chain, end to end: a `chain-node` process (regtest), a
//! `merkle-log serve --anchor-*` process paying with a wallet of its own through the
//! `wallet` binary, and auditors that know nothing but the log's key, the log's URL
//! and the chain. Auditor A audits the honest log; auditor B, shown a forked history
//! by a second instance of the log (same key, other entries), with no witness and no
//! contact with A, is caught by the anchor alone (exit 3, the block and both heads
//! named). Also: a rollback, anchors of another log, a malformed data output with
//! the anchor prefix, an unreachable chain node; and on the log's side, a wallet out
//! of funds and a node that goes away delay anchoring with one clear line while
//! appends go on.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use merkle_log::server::{ServerConfig, ServerHandle, start};
use merkle_log::{Anchor, Checkpoint, Hash, Log, LogConfig, NoteSigner};
use serde_json::{Value, json};

use crate::common::{first_line, sibling_binary, wallet_with};
use crate::log_online::{mth, run};
use crate::node_flows::Node;

const PASS: &str = "anchor test passphrase";

/// The JSON-RPC of a regtest `chain-node` process started by the tests.
struct Rpc {
    url: String,
    cookie: PathBuf,
}

impl Rpc {
    fn of(node: &Node) -> Rpc {
        Rpc {
            url: node.url.clone(),
            cookie: node.data.join(".cookie"),
        }
    }

    fn call(&self, method: &str, params: Value) -> Value {
        let cookie = std::fs::read_to_string(&self.cookie).unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(cookie.trim());
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let text = ureq::post(&self.url)
            .header("Authorization", &format!("Basic {auth}"))
            .send(body.to_string())
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert!(answer["error"].is_null(), "{method}: {answer}");
        answer["result"].clone()
    }

    fn mine(&self, n: u32, to: &str) {
        self.call("generatetoaddress", json!([n, to]));
    }

    /// `wallet log audit` of `log` against this chain.
    fn audit(&self, log: &str, vkey: &str, state: &Path) -> (i32, Value, String) {
        audit(log, vkey, state, Some((&self.url, &self.cookie)))
    }
}

/// A wallet directory used through the `wallet` binary.
struct Wallet {
    dir: PathBuf,
}

impl Wallet {
    fn run(&self, node: &Rpc, args: &[&str]) -> Value {
        let mut all: Vec<&std::ffi::OsStr> = vec![std::ffi::OsStr::new("--json")];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        all.extend([std::ffi::OsStr::new("--wallet"), self.dir.as_os_str()]);
        all.extend([
            std::ffi::OsStr::new("--rpc"),
            std::ffi::OsStr::new(&node.url),
        ]);
        all.extend([
            std::ffi::OsStr::new("--rpc-cookie"),
            node.cookie.as_os_str(),
        ]);
        let o = wallet_with(&all, PASS, None);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        assert!(
            o.status.success(),
            "wallet {args:?}: {v} {}",
            String::from_utf8_lossy(&o.stderr)
        );
        v
    }

    fn create(dir: PathBuf, node: &Rpc) -> (Wallet, String) {
        let w = Wallet { dir };
        let v = w.run(node, &["create"]);
        let address = v["address"].as_str().unwrap().to_owned();
        (w, address)
    }
}

/// A `merkle-log serve` process; its standard error goes to a file read by tests.
struct LogProcess {
    child: Child,
    url: String,
    stderr: PathBuf,
}

impl LogProcess {
    fn start(dir: &Path, name: &str, key: &Path, anchor: &[&std::ffi::OsStr]) -> LogProcess {
        let stderr = dir.join(format!("{name}.stderr"));
        let mut child = Command::new(sibling_binary("merkle-log", "merkle-log"))
            .arg("serve")
            .arg("--data")
            .arg(dir.join(name))
            .arg("--key")
            .arg(key)
            .args(["--listen", "127.0.0.1:0"])
            .args(anchor)
            .env("WALLET_PASSPHRASE", PASS)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let line = first_line(&mut child);
        let addr = line.strip_prefix("listening on ").expect("listening line");
        LogProcess {
            child,
            url: format!("http://{addr}"),
            stderr,
        }
    }

    fn said(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for LogProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A log key made by `merkle-log keygen`: its file and its verifier key.
fn keygen(dir: &Path, origin: &str) -> (PathBuf, String) {
    let key = dir.join("log.key");
    let out = Command::new(sibling_binary("merkle-log", "merkle-log"))
        .args(["keygen", "--origin", origin, "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    (
        key,
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
    )
}

fn add(url: &str, entry: &[u8]) {
    let resp = ureq::post(format!("{url}/add")).send(entry).unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

/// Waits up to a minute for `done`, mining a block to `to` between looks.
fn mine_until(node: &Rpc, to: &str, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(90);
    while !done() {
        assert!(Instant::now() < end, "timed out");
        node.mine(1, to);
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// An in-process log with `signer` holding `entries`.
fn log_with(dir: &Path, signer: NoteSigner, entries: &[Vec<u8>]) -> (ServerHandle, String) {
    let log = Log::open(dir, signer, LogConfig::default()).unwrap();
    let handle = start(log, "127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let url = format!("http://{}", handle.addr);
    for e in entries {
        add(&url, e);
    }
    (handle, url)
}

/// Audits `log` against the chain and expects exit 3 with every one of `parts`.
fn caught(log: &str, vkey: &str, state: &Path, node: &Rpc, parts: &[String]) {
    let (code, _, err) = node.audit(log, vkey, state);
    assert_eq!(code, 3, "{err}");
    for part in parts {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }
    assert!(!state.exists(), "an inconsistent log is not saved as seen");
}

fn entries(tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("{tag} {i}").into_bytes()).collect()
}

fn audit(
    log: &str,
    vkey: &str,
    state: &Path,
    chain: Option<(&str, &Path)>,
) -> (i32, Value, String) {
    let state = state.to_str().unwrap();
    let mut args = vec![
        "log", "audit", "--log", log, "--vkey", vkey, "--state", state,
    ];
    let cookie;
    if let Some((url, c)) = chain {
        cookie = c.to_str().unwrap().to_owned();
        args.extend(["--chain-rpc", url, "--chain-cookie", &cookie]);
    }
    run(&args)
}

#[test]
fn an_anchor_catches_a_split_view_and_a_rollback_with_no_witness() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let _running = Node::start(&dir.join("node"));
    let node = Rpc::of(&_running);
    let (funder, funder_addr) = Wallet::create(dir.join("funder"), &node);
    let (_payer, payer_addr) = Wallet::create(dir.join("payer"), &node);
    // 101 blocks: the first coinbase to the log's wallet is spendable.
    node.mine(1, &payer_addr);
    node.mine(100, &funder_addr);

    let (key, vkey) = keygen(dir, "anchored.test/log");
    let anchor_args: Vec<std::ffi::OsString> = vec![
        "--anchor-rpc".into(),
        node.url.clone().into(),
        "--anchor-cookie".into(),
        node.cookie.clone().into(),
        "--anchor-wallet".into(),
        dir.join("payer").into(),
        "--anchor-every".into(),
        "1".into(),
    ];
    let anchor_args: Vec<&std::ffi::OsStr> = anchor_args.iter().map(AsRef::as_ref).collect();
    let log = LogProcess::start(dir, "honest", &key, &anchor_args);
    let honest = entries("honest", 5);
    for e in &honest {
        add(&log.url, e);
    }
    let honest_root = mth(&honest);

    // The log anchors size 5 (perhaps a smaller size before, anchoring every block)
    // and records where in /anchors.
    mine_until(&node, &funder_addr, || {
        log.said().contains("anchoring: anchored size 5")
    });
    let listed = ureq::get(format!("{}/anchors", log.url))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let listed = merkle_log::AnchorList::from_signed_note(&listed, &vkey.parse().unwrap()).unwrap();
    assert_eq!(listed.records.last().unwrap().size, 5);

    // Auditor A: the honest log agrees with its anchor.
    let (code, a, err) = node.audit(&log.url, &vkey, &dir.join("a.state"));
    assert_eq!(code, 0, "{err}");
    let anchored = a["chain"]["anchors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["tree_size"] == json!(5))
        .unwrap();
    assert_eq!(anchored["root"], json!(honest_root));
    let block = anchored["block"].as_str().unwrap().to_owned();
    let height = anchored["height"].as_u64().unwrap();
    assert_eq!(node.call("getblockhash", json!([height])), json!(block));
    assert_eq!(listed.records.last().unwrap().block, block);

    // The same key serves auditor B a forked history: the first two entries, then others.
    let signer = merkle_log::keyfile::read_private_key(&key).unwrap();
    let mut forked = honest[..2].to_vec();
    forked.extend(entries("forked", 5));
    let forked_root = mth(&forked);
    let (fork, fork_url) = log_with(&dir.join("fork"), signer.clone(), &forked);
    // Without the chain, B has nothing to compare with and accepts it.
    let (code, _, err) = audit(&fork_url, &vkey, &dir.join("b0.state"), None);
    assert_eq!(code, 0, "{err}");
    // With the chain, B alone is caught.
    caught(
        &fork_url,
        &vkey,
        &dir.join("b.state"),
        &node,
        &[
            "split view".to_owned(),
            format!("block {block} (height {height})"),
            format!("size 5 root {honest_root}"),
            format!("size 7 root {forked_root}"),
        ],
    );
    fork.stop().unwrap();

    // The same key serves an older tree: a rollback.
    let (old, old_url) = log_with(&dir.join("old"), signer.clone(), &honest[..3]);
    caught(
        &old_url,
        &vkey,
        &dir.join("c.state"),
        &node,
        &[
            "rollback".to_owned(),
            format!("block {block} (height {height})"),
            format!("size 5 root {honest_root}"),
            format!("size 3 root {}", mth(&honest[..3])),
        ],
    );
    old.stop().unwrap();

    // Another log's anchor (a valid one, by another key) and a malformed output with
    // the anchor prefix: the first is ignored, the second skipped with a warning.
    let other = NoteSigner::from_seed(
        merkle_log::note::KeyName::new("other.test/log").unwrap(),
        &[7; 32],
    );
    let other_note = other
        .sign(
            &Checkpoint::new("other.test/log", 9, Hash::leaf(b"x"))
                .unwrap()
                .to_text(),
        )
        .unwrap();
    let other_anchor = Anchor::from_signed_checkpoint(&other_note, other.verifier()).unwrap();
    let malformed = "4f544c4101deadbeef";
    funder.run(
        &node,
        &["publish", "--data-hex", &hex::encode(other_anchor.encode())],
    );
    let sent = funder.run(&node, &["publish", "--data-hex", malformed]);
    node.mine(1, &funder_addr);
    let (code, a, err) = node.audit(&log.url, &vkey, &dir.join("a.state"));
    assert_eq!(code, 0, "{err}");
    assert!(a["chain"]["other_logs"].as_u64().unwrap() >= 1, "{a}");
    let warnings = a["chain"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{a}");
    let w = warnings[0].as_str().unwrap();
    assert!(
        w.contains(sent["txid"].as_str().unwrap()) && w.contains("skipped"),
        "{w}"
    );
    let text = Command::new(env!("CARGO_BIN_EXE_wallet"))
        .args([
            "log", "audit", "--log", &log.url, "--vkey", &vkey, "--state",
        ])
        .arg(dir.join("a.state"))
        .args(["--chain-rpc", &node.url, "--chain-cookie"])
        .arg(&node.cookie)
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("\nwarning: data output"), "{text}");

    // The chain node unreachable: a clear error saying what to do.
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dead_url = format!("http://{dead}");
    let (code, _, err) = audit(
        &log.url,
        &vkey,
        &dir.join("a.state"),
        Some((&dead_url, &node.cookie)),
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot reach the chain node") && err.contains("--chain-rpc"),
        "{err}"
    );
}

#[test]
fn a_poor_wallet_or_a_missing_node_delays_anchoring_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut running = Node::start(&dir.join("node"));
    let node = Rpc::of(&running);
    let (_poor, poor_addr) = Wallet::create(dir.join("poor"), &node);
    let (key, _) = keygen(dir, "poor.test/log");
    let poor_dir = dir.join("poor");
    let log = LogProcess::start(
        dir,
        "log",
        &key,
        &[
            std::ffi::OsStr::new("--anchor-rpc"),
            std::ffi::OsStr::new(&node.url),
            std::ffi::OsStr::new("--anchor-cookie"),
            node.cookie.as_os_str(),
            std::ffi::OsStr::new("--anchor-wallet"),
            poor_dir.as_os_str(),
            std::ffi::OsStr::new("--anchor-every"),
            std::ffi::OsStr::new("1"),
        ],
    );
    add(&log.url, b"first");
    // The wallet's only coins are immature: it cannot pay.
    let end = Instant::now() + Duration::from_secs(60);
    while !log.said().contains("could not pay for the anchor") {
        assert!(Instant::now() < end, "{}", log.said());
        node.mine(1, &poor_addr);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(log.said().contains("insufficient funds"), "{}", log.said());
    add(&log.url, b"second");
    // The node goes away: said once, appends go on.
    let _ = running.child.kill();
    let _ = running.child.wait();
    let end = Instant::now() + Duration::from_secs(30);
    while !log.said().contains("cannot reach the chain node") {
        assert!(Instant::now() < end, "{}", log.said());
        std::thread::sleep(Duration::from_millis(200));
    }
    add(&log.url, b"third");
    let cp = ureq::get(format!("{}/checkpoint", log.url))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(cp.contains("\n3\n"), "{cp}");
    let said = log.said();
    assert_eq!(
        said.matches("cannot reach the chain node").count(),
        1,
        "{said}"
    );
    assert!(!said.contains("panicked"), "{said}");
    assert_eq!(
        ureq::get(format!("{}/anchors", log.url))
            .call()
            .map(|r| r.status().as_u16())
            .unwrap_or_else(|e| match e {
                ureq::Error::StatusCode(c) => c,
                _ => 0,
            }),
        404
    );
}
