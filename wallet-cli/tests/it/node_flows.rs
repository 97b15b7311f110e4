//! The wallet against a real `chain-node` process on an ephemeral port: two
//! wallets, mining, a payment, balances checked to the base unit, restore from
//! the words, and failures that change nothing.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::common::wallet_with;

/// The regtest subsidy before the first halving (50 coins, docs/consensus.md).
const SUBSIDY: u64 = 50 * 100_000_000;

/// The `chain-node` binary next to `wallet`, brought up to date once per test run.
fn chain_node_binary() -> PathBuf {
    crate::common::sibling_binary("chain-node", "chain-node")
}

pub(crate) struct Node {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) data: PathBuf,
}

impl Node {
    pub(crate) fn start(data: &Path) -> Node {
        let mut child = Command::new(chain_node_binary())
            .args(["--network", "regtest", "--data"])
            .arg(data)
            .args([
                "--rpc-listen",
                "127.0.0.1:0",
                "--json",
                "--mining-threads",
                "1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let line = crate::common::first_line(&mut child);
        let info: Value = serde_json::from_str(&line).expect("chain-node start-up line");
        let addr = info["rpc"].as_str().unwrap();
        let url = if addr.starts_with("http") {
            addr.to_string()
        } else {
            format!("http://{addr}")
        };
        Node {
            child,
            url,
            data: data.to_path_buf(),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Wallet<'a> {
    dir: PathBuf,
    pass: &'a str,
    node: &'a Node,
}

impl Wallet<'_> {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut all: Vec<&OsStr> = vec![OsStr::new("--json")];
        all.extend(args.iter().map(OsStr::new));
        all.extend([OsStr::new("--wallet"), self.dir.as_os_str()]);
        all.extend([OsStr::new("--rpc"), OsStr::new(&self.node.url)]);
        all.extend([OsStr::new("--node-data"), self.node.data.as_os_str()]);
        wallet_with(&all, self.pass, stdin)
    }

    fn ok(&self, args: &[&str]) -> Value {
        let o = self.run(args, None);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        assert!(
            o.status.success(),
            "wallet {args:?} failed: {v} {}",
            String::from_utf8_lossy(&o.stderr)
        );
        v
    }

    /// Runs a command with text output; `closed` closes its standard output first.
    fn text(&self, args: &[&str], closed: bool) -> Output {
        let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        all.extend([OsStr::new("--wallet"), self.dir.as_os_str()]);
        all.extend([OsStr::new("--rpc"), OsStr::new(&self.node.url)]);
        all.extend([OsStr::new("--node-data"), self.node.data.as_os_str()]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_wallet"))
            .args(all)
            .env("WALLET_PASSPHRASE", self.pass)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if closed {
            drop(child.stdout.take());
        }
        child.wait_with_output().unwrap()
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        let o = self.run(args, None);
        assert_eq!(
            o.status.code(),
            Some(code),
            "wallet {args:?}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        // Usage errors come from the argument parser, as text on standard error.
        match serde_json::from_slice::<Value>(&o.stdout) {
            Ok(v) => v["error"].as_str().unwrap().to_string(),
            Err(_) => String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    fn balance(&self) -> (u64, u64, u64) {
        let b = self.ok(&["balance"]);
        (
            b["confirmed"].as_u64().unwrap(),
            b["immature"].as_u64().unwrap(),
            b["pending"].as_u64().unwrap(),
        )
    }
}

/// Alice and Bob, not yet created.
/// `addr` with its last character changed: the checksum no longer matches.
fn typo_of(addr: &str) -> String {
    let mut typo = addr.to_string();
    let last = typo.pop().unwrap();
    typo.push(if last == 'q' { 'p' } else { 'q' });
    typo
}

fn two_wallets<'a>(dir: &Path, node: &'a Node) -> (Wallet<'a>, Wallet<'a>) {
    let w = |name: &str, pass| Wallet {
        dir: dir.join(name),
        pass,
        node,
    };
    (w("alice", "alice pass"), w("bob", "bob pass"))
}

#[test]
fn mine_pay_and_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::start(&tmp.path().join("node"));
    let (alice, bob) = two_wallets(tmp.path(), &node);
    let created = alice.ok(&["create"]);
    let words = created["mnemonic"].as_str().unwrap().to_string();
    let bob_addr = bob.ok(&["create"])["address"].as_str().unwrap().to_string();

    let mined = alice.ok(&["mine", "101"]);
    assert_eq!(mined["blocks"].as_array().unwrap().len(), 101);
    // At tip 101 a coinbase can be spent in block 102 if it is at height <= 2
    // (102 - h >= 100): two mature coinbases, 99 maturing.
    assert_eq!(alice.balance(), (2 * SUBSIDY, 99 * SUBSIDY, 0));
    assert_eq!(bob.balance(), (0, 0, 0));

    let sent = alice.ok(&["send", "--to", &bob_addr, "--amount", "12.5"]);
    let fee = sent["fee"].as_u64().unwrap();
    let change = sent["change"].as_u64().unwrap();
    assert!(fee > 0 && fee < 100_000, "fee {fee}");
    // One 50-coin coinbase pays 12.5 and the fee; the rest comes back as change.
    assert_eq!(change, SUBSIDY - 1_250_000_000 - fee);
    assert_eq!(alice.balance(), (SUBSIDY, 99 * SUBSIDY, change));
    assert_eq!(bob.balance(), (0, 0, 1_250_000_000));
    let pending = bob.ok(&["history"]);
    let txs = pending["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0]["txid"], sent["txid"]);
    assert_eq!(txs[0]["confirmations"], 0);
    assert_eq!(txs[0]["amount"], 1_250_000_000);
    // Alice sees her unconfirmed payment with its amount and fee apart.
    let mine = alice.ok(&["history"]);
    assert_eq!(mine["transactions"][0]["txid"], sent["txid"]);
    assert_eq!(mine["transactions"][0]["confirmations"], 0);
    assert_eq!(mine["transactions"][0]["amount"], -1_250_000_000i64);
    assert_eq!(mine["transactions"][0]["fee"], fee);

    alice.ok(&["mine", "1"]);
    // Block 102 confirms the payment and its change, and one more coinbase matures;
    // the fee went to that block's coinbase, which is immature.
    assert_eq!(
        alice.balance(),
        (SUBSIDY + change + SUBSIDY, 98 * SUBSIDY + SUBSIDY + fee, 0)
    );
    assert_eq!(bob.balance(), (1_250_000_000, 0, 0));

    // Histories, newest first: Alice paid 12.5 plus the fee, and mined 102 blocks.
    let history = alice.ok(&["history"]);
    let txs = history["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 103);
    assert_eq!(txs[0]["txid"], sent["txid"]);
    assert_eq!(txs[0]["height"], 102);
    assert_eq!(txs[0]["amount"], -1_250_000_000i64);
    assert_eq!(txs[0]["fee"], fee);
    assert_eq!(txs[1]["coinbase"], true);
    assert_eq!(txs[1]["amount"], SUBSIDY + fee);
    assert_eq!(txs[102]["height"], 1);
    let bobs = bob.ok(&["history"]);
    assert_eq!(bobs["transactions"][0]["amount"], 1_250_000_000);
    assert_eq!(bobs["transactions"][0]["confirmations"], 1);
    // A second call reads only new blocks and says the same.
    assert_eq!(alice.ok(&["history"]), history);

    // Restoring Alice's words elsewhere finds the same coins.
    let restored = Wallet {
        dir: tmp.path().join("alice2"),
        pass: "another",
        node: &node,
    };
    let o = restored.run(&["restore"], Some(&words));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(restored.balance(), alice.balance());
}

#[test]
fn failed_sends_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::start(&tmp.path().join("node"));
    let (alice, bob) = two_wallets(tmp.path(), &node);
    alice.ok(&["create"]);
    let bob_addr = bob.ok(&["create"])["address"].as_str().unwrap().to_string();
    alice.ok(&["mine", "101"]);
    let before = alice.balance();
    let keystore = std::fs::read(alice.dir.join("keystore.json")).unwrap();

    // An overspend, a wrong passphrase, a typo in the address, another network's
    // address, a bad amount.
    let err = alice.fails(&["send", "--to", &bob_addr, "--amount", "100.5"], 1);
    assert!(err.contains("insufficient funds"), "{err}");
    let wrong = Wallet {
        dir: alice.dir.clone(),
        pass: "wrong",
        node: &node,
    };
    let err = wrong.fails(&["send", "--to", &bob_addr, "--amount", "1"], 1);
    assert!(err.contains("wrong passphrase"), "{err}");
    let typo = typo_of(&bob_addr);
    alice.fails(&["send", "--to", &typo, "--amount", "1"], 2);
    let testnet = bob_addr.replacen("rcn1", "tcn1", 1);
    alice.fails(&["send", "--to", &testnet, "--amount", "1"], 2);
    for bad in ["-1", "0", "1.123456789", "abc", "1e3", ""] {
        alice.fails(&["send", "--to", &bob_addr, "--amount", bad], 2);
    }
    assert_eq!(alice.balance(), before);
    assert_eq!(bob.balance(), (0, 0, 0));
    assert_eq!(
        std::fs::read(alice.dir.join("keystore.json")).unwrap(),
        keystore
    );
    let mempool = alice.ok(&["balance"]);
    assert_eq!(mempool["pending"], 0);

    // A node that is not running: said plainly, nothing sent.
    let dead = Wallet {
        dir: alice.dir.clone(),
        pass: alice.pass,
        node: &Node {
            child: Command::new("true").spawn().unwrap(),
            url: "http://127.0.0.1:9".into(),
            data: node.data.clone(),
        },
    };
    let err = dead.fails(&["balance"], 1);
    assert!(err.contains("is chain-node running"), "{err}");
}

impl Node {
    /// Calls the node's JSON-RPC directly (not through the wallet) and returns the
    /// result.
    fn rpc(&self, method: &str, params: Value) -> Value {
        use base64::Engine as _;
        let cookie = std::fs::read_to_string(self.data.join(".cookie")).unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(cookie.trim());
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut resp = ureq::post(&self.url)
            .header("Authorization", format!("Basic {auth}"))
            .send(body.to_string().as_bytes())
            .unwrap();
        let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        v["result"].clone()
    }
}

/// Every file under `dir` (recursively) with its bytes.
pub(crate) fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_tampered_key_list_pays_and_counts_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::start(&tmp.path().join("node"));
    let (alice, mallory) = two_wallets(tmp.path(), &node);
    alice.ok(&["create"]);
    let mallory_addr = mallory.ok(&["create"])["address"]
        .as_str()
        .unwrap()
        .to_string();
    let path = alice.dir.join("keystore.json");
    let genuine = std::fs::read_to_string(&path).unwrap();
    let file =
        |p: &Path| -> Value { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    let mallory_key = file(&mallory.dir.join("keystore.json"))["public_keys"][0].clone();

    // Someone who can write Alice's file, but has not her passphrase, puts
    // Mallory's key in it: in place of hers, or after it as her newest key.
    let mut swapped = file(&path);
    swapped["public_keys"][0] = mallory_key.clone();
    let mut appended = file(&path);
    appended["public_keys"]
        .as_array_mut()
        .unwrap()
        .push(mallory_key);
    for forged in [swapped, appended] {
        std::fs::write(&path, forged.to_string()).unwrap();
        let before = snapshot(&alice.dir);
        for cmd in [
            &["mine", "1"][..],
            &["balance"],
            &["address"],
            &["address", "--new"],
            &["history"],
            &["send", "--to", &mallory_addr, "--amount", "1"],
        ] {
            let err = alice.fails(cmd, 1);
            assert!(
                err.contains("does not match the sealed recovery words"),
                "{cmd:?}: {err}"
            );
        }
        assert_eq!(snapshot(&alice.dir), before);
    }
    // Nothing was mined, so nothing was paid to Mallory.
    assert_eq!(node.rpc("getblockcount", serde_json::json!([])), 0);
    assert_eq!(
        node.rpc("getaddressutxos", serde_json::json!([[mallory_addr]])),
        serde_json::json!([])
    );

    // Without the passphrase, the commands that use keys say they need it.
    let o = Command::new(env!("CARGO_BIN_EXE_wallet"))
        .args(["balance", "--wallet"])
        .arg(&alice.dir)
        .args(["--rpc", &node.url, "--node-data"])
        .arg(&node.data)
        .env_remove("WALLET_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("needs the wallet's passphrase") && err.contains("WALLET_PASSPHRASE"),
        "{err}"
    );

    // The genuine file works again, and mining pays Alice.
    std::fs::write(&path, genuine).unwrap();
    let mined = alice.ok(&["mine", "1"]);
    assert_eq!(mined["address"], alice.ok(&["address"])["address"]);
    assert_eq!(alice.balance(), (0, SUBSIDY, 0));
    assert_eq!(mallory.balance(), (0, 0, 0));

    // The history cache is authenticated too: an edited cache is not read, and
    // the chain is scanned again.
    let history = alice.ok(&["history"]);
    assert_eq!(history["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(history["note"], Value::Null);
    let cache = alice.dir.join("history.json");
    let text = std::fs::read_to_string(&cache).unwrap();
    let forged = text.replace(&format!("\"received\":{SUBSIDY}"), "\"received\":1");
    assert_ne!(forged, text);
    std::fs::write(&cache, forged).unwrap();
    let again = alice.ok(&["history"]);
    assert_eq!(again["transactions"], history["transactions"]);
    assert!(
        again["note"]
            .as_str()
            .unwrap()
            .contains("did not authenticate"),
        "{again}"
    );
    assert_eq!(alice.ok(&["history"])["note"], Value::Null);
}

#[test]
fn text_output_speaks_in_coins_shows_fees_and_survives_a_closed_pipe() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::start(&tmp.path().join("node"));
    let (alice, bob) = two_wallets(tmp.path(), &node);
    alice.ok(&["create"]);
    let bob_addr = bob.ok(&["create"])["address"].as_str().unwrap().to_string();
    alice.ok(&["mine", "101"]);
    let sent = alice.ok(&["send", "--to", &bob_addr, "--amount", "12.5"]);
    let fee = sent["fee"].as_u64().unwrap();
    alice.ok(&["mine", "1"]);

    // The payment, newest first, with its fee apart, in coins.
    let o = alice.text(&["history"], false);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    let first = text.lines().next().unwrap();
    let fee_coins = format!("{}.{:08}", fee / 100_000_000, fee % 100_000_000);
    assert!(
        first.contains(&format!("-12.50000000 (fee {fee_coins})")),
        "{first}"
    );
    assert!(first.contains(sent["txid"].as_str().unwrap()), "{first}");
    // `wallet history | head -1`: the reader goes away; the wallet exits quietly.
    let o = alice.text(&["history"], true);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");

    // More than the wallet has: the message is in coins, with the amount as typed.
    // Spendable at tip 102: the coinbases of blocks 1 to 3 (50 coins each) less the
    // 12.5 and the fee paid from one of them, plus that payment's change.
    let o = alice.text(&["send", "--to", &bob_addr, "--amount", "1000"], false);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    let spendable = 3 * SUBSIDY - 1_250_000_000 - fee;
    assert!(
        err.starts_with("error: insufficient funds: --amount 1000 and its fee ("),
        "{err}"
    );
    assert!(
        err.trim_end().ends_with(&format!(
            "coins; {}.{:08} coins are spendable",
            spendable / 100_000_000,
            spendable % 100_000_000
        )),
        "{err}"
    );
    assert!(!err.contains("base units"), "{err}");

    // A typo in an address that starts as it should: no hint about the prefix.
    let typo = typo_of(&bob_addr);
    let o = alice.text(&["send", "--to", &typo, "--amount", "1"], false);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.starts_with(&format!("error: --to {typo:?}: ")), "{err}");
    assert!(!err.contains("starts with"), "{err}");
    // Another network's address: the hint names the prefix.
    let testnet = bob_addr.replacen("rcn1", "tcn1", 1);
    let o = alice.text(&["send", "--to", &testnet, "--amount", "1"], false);
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.trim_end()
            .ends_with("(a regtest address starts with rcn1)"),
        "{err}"
    );
}
