//! Names through the `wallet` against a real `chain-node` process: a namespace
//! launched with its real operations, a registration with a zone file resolved and
//! transferred to a second wallet, expiry and re-registration, a front-runner who
//! fails, and a reveal resumed by a later command.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::node_flows::Node;

/// Namespace prices on regtest (docs/naming.md): 0.04 coin for 2 or 3 characters.
const NAMESPACE_PRICE_2_3: u64 = 4_000_000;

/// The price of a label under the default price function (coefficient 250, base 4,
/// exponents 6 5 4 3 2 1 0..., discounts 10), computed naively from docs/naming.md.
pub(crate) fn oracle_price(label: &str) -> u64 {
    let exps = [6u32, 5, 4, 3, 2, 1];
    let e = exps.get(label.len() - 1).copied().unwrap_or(0);
    let vowel = label.chars().any(|c| "aeiouy".contains(c));
    let nonalpha = label.chars().any(|c| !c.is_ascii_lowercase());
    let d = if nonalpha || !vowel { 10 } else { 1 };
    (250 * 4u64.pow(e) * 100 / d).max(100)
}

/// A wallet directory used through one node, with its passphrase (`None`: none in
/// the environment, as a development wallet is used).
pub(crate) struct W {
    pub(crate) dir: PathBuf,
    url: String,
    node_data: PathBuf,
    pass: Option<&'static str>,
}

impl W {
    /// The wallet in `dir` (passphrase `pass`) used through `node`.
    pub(crate) fn new(dir: PathBuf, node: &Node) -> W {
        W::through(dir, &node.url, &node.data, Some("pass"))
    }

    /// The wallet in `dir` used through the node whose RPC listens at `url`, with its
    /// cookie in `node_data`.
    pub(crate) fn through(
        dir: PathBuf,
        url: &str,
        node_data: &Path,
        pass: Option<&'static str>,
    ) -> W {
        W {
            dir,
            url: url.to_owned(),
            node_data: node_data.to_path_buf(),
            pass,
        }
    }

    /// `wallet --json ARGS` on this wallet and node, with its passphrase.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wallet"));
        c.arg("--json")
            .args(args)
            .arg("--wallet")
            .arg(&self.dir)
            .args(["--rpc", &self.url, "--node-data"])
            .arg(&self.node_data)
            .stdin(Stdio::null());
        match self.pass {
            Some(pass) => c.env("WALLET_PASSPHRASE", pass),
            None => c.env_remove("WALLET_PASSPHRASE"),
        };
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub(crate) fn ok(&self, args: &[&str]) -> Value {
        let o = self.run(args);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        assert!(
            o.status.success(),
            "wallet {args:?} failed: {v} {}",
            String::from_utf8_lossy(&o.stderr)
        );
        v
    }

    pub(crate) fn fails(&self, args: &[&str], code: i32) -> String {
        let o = self.run(args);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        assert_eq!(o.status.code(), Some(code), "wallet {args:?}: {v}");
        v["error"].as_str().unwrap_or_default().to_owned()
    }

    /// Runs a command that waits for blocks while `miner` mines one at a time.
    pub(crate) fn ok_mining(&self, args: &[&str], miner: &W) -> Value {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut mined = 0;
        while child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(400));
            if child.try_wait().unwrap().is_some() {
                break;
            }
            miner.ok(&["mine", "1"]);
            mined += 1;
            assert!(mined < 30, "wallet {args:?} still waits after 30 blocks");
        }
        let o = child.wait_with_output().unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        assert!(
            o.status.success(),
            "wallet {args:?} failed: {v} {}",
            String::from_utf8_lossy(&o.stderr)
        );
        v
    }

    /// The tip's height (`listnames` answers at the next block's).
    fn height(&self) -> u64 {
        self.ok(&["name", "list"])["height"].as_u64().unwrap() - 1
    }
}

/// The sum of the burn outputs of the transactions in the active chain's blocks `from`
/// to `to` (`getblock HASH 2` through `call`), coinbases left out (theirs is the
/// name-state commitment, of amount zero): what name operations burned there.
pub(crate) fn burned(call: impl Fn(&str, Value) -> Value, from: u64, to: u64) -> u64 {
    let mut sum = 0;
    for h in from..=to {
        let hash = call("getblockhash", serde_json::json!([h]));
        let block = call("getblock", serde_json::json!([hash, 2]));
        for tx in block["tx"].as_array().unwrap() {
            if tx["vin"][0].get("coinbase").is_some() {
                continue;
            }
            for out in tx["vout"].as_array().unwrap() {
                if out.get("burn").is_some() {
                    sum += out["value"].as_u64().unwrap();
                }
            }
        }
    }
    sum
}

pub(crate) fn wallets(dir: &Path, node: &Node) -> (W, W) {
    let alice = W::new(dir.join("alice"), node);
    let bob = W::new(dir.join("bob"), node);
    alice.ok(&["create"]);
    bob.ok(&["create"]);
    alice.ok(&["mine", "101"]);
    bob.ok(&["mine", "101"]);
    (alice, bob)
}

#[test]
fn register_resolve_transfer_and_list() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::start(&tmp.path().join("node"));
    let (alice, bob) = wallets(tmp.path(), &node);

    let ns = alice.ok_mining(&["namespace", "create", "id", "--lifetime", "50"], &bob);
    assert_eq!(ns["namespace"], "id");
    assert_eq!(ns["burned"], NAMESPACE_PRICE_2_3);

    let price = alice.ok(&["name", "price", "alice.id"]);
    assert_eq!(price["price"], oracle_price("alice"));
    assert_eq!(price["available"], true);
    assert_eq!(
        alice.ok(&["name", "price", "bcd.id"])["price"],
        oracle_price("bcd")
    );

    let zone = tmp.path().join("alice.zone");
    let zone_text = "$ORIGIN alice.id\n@ 3600 IN TXT \"hello\"\n";
    std::fs::write(&zone, zone_text).unwrap();
    let reg = alice.ok_mining(
        &[
            "name",
            "register",
            "alice.id",
            "--zonefile",
            zone.to_str().unwrap(),
        ],
        &bob,
    );
    assert_eq!(reg["state"], "revealed");
    alice.ok(&["mine", "1"]);
    let registered_at = alice.height();

    // Registered names are owned by the wallet's name address, a regtest address.
    let alice_name_addr = alice.ok(&["name", "list"])["name_address"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(alice_name_addr.starts_with("rcn1"), "{alice_name_addr}");
    let r = bob.ok(&["name", "resolve", "alice.id"]);
    assert_eq!(r["owner"], alice_name_addr);
    assert_eq!(r["status"], "active");
    assert_eq!(r["expires_at"], registered_at + 50);
    assert_eq!(
        r["zonefilehash"],
        hex::encode(Sha256::digest(zone_text.as_bytes()))
    );
    // The file itself comes back when the node stores zone files.
    assert!(
        r["zonefile"] == zone_text || r["zonefile_missing"].is_string(),
        "{r}"
    );
    // A lookup needs no key: resolve answers without the wallet's passphrase (none in
    // the environment, nothing on standard input) and with no wallet at all, plain and
    // proven; a wallet of another network is still refused.
    let locked = W::through(alice.dir.clone(), &node.url, &node.data, None);
    let nobody = W::through(tmp.path().join("nobody"), &node.url, &node.data, None);
    for w in [&locked, &nobody] {
        let plain = w.ok(&["name", "resolve", "alice.id"]);
        assert_eq!(plain["owner"], alice_name_addr);
        let proven = w.ok(&["name", "resolve", "alice.id", "--verify"]);
        assert_eq!(proven["owner"], alice_name_addr);
        assert_eq!(proven["zonefilehash"], plain["zonefilehash"]);
    }
    assert!(!tmp.path().join("nobody").exists(), "no wallet was made");
    let err = locked.fails(&["name", "resolve", "alice.id", "--network", "testnet"], 1);
    assert!(err.contains("belongs to regtest"), "{err}");
    let listed = alice.ok(&["name", "list"]);
    assert_eq!(listed["names"][0]["name"], "alice.id");
    assert_eq!(listed["names"][0]["owner"], alice_name_addr);
    assert_eq!(listed["names"][0]["expires_at"], registered_at + 50);

    // Taken: a second registration is refused before anything is spent.
    let err = bob.fails(&["name", "register", "alice.id", "--no-wait"], 1);
    assert!(err.contains("taken"), "{err}");

    // Transfer to Bob's payment address, the one `wallet address` prints. A key in
    // hex, garbage, or an address of another network is refused (exit 2) and nothing
    // is sent.
    let bob_addr = bob.ok(&["address"])["address"].as_str().unwrap().to_owned();
    let bob_name_addr = bob.ok(&["name", "list"])["name_address"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(
        bob_addr, bob_name_addr,
        "a payment address, not the name key's"
    );
    let testnet_addr = chain_node::Address::parse(&bob_addr, chain_node::Network::Regtest)
        .unwrap()
        .encode(chain_node::Network::Testnet);
    let hex_key = hex::encode([0x42u8; 32]);
    let refused = [
        (hex_key.as_str(), "addresses, not keys"),
        ("garbage", "a regtest address starts with rcn1"),
        (&testnet_addr, "another network"),
        (&bob_addr[..bob_addr.len() - 1], "bech32m"),
    ];
    for (to, why) in refused {
        let err = alice.fails(&["name", "transfer", "alice.id", "--to", to], 2);
        assert!(err.contains(why), "--to {to}: {err}");
    }
    alice.ok(&["mine", "1"]);
    assert_eq!(
        bob.ok(&["name", "resolve", "alice.id"])["owner"],
        alice_name_addr,
        "a refused transfer sent nothing"
    );
    let sent = alice.ok(&["name", "transfer", "alice.id", "--to", &bob_addr]);
    assert_eq!(sent["new_owner"], bob_addr);
    alice.ok(&["mine", "1"]);
    let bobs = bob.ok(&["name", "list"]);
    assert_eq!(bobs["names"][0]["name"], "alice.id");
    assert_eq!(bobs["names"][0]["owner"], bob_addr);
    assert_eq!(alice.ok(&["name", "list"])["names"], serde_json::json!([]));
    assert_eq!(bob.ok(&["name", "resolve", "alice.id"])["owner"], bob_addr);
    // Alice no longer owns it: her update is refused.
    let err = alice.fails(
        &[
            "name",
            "update",
            "alice.id",
            "--zonefile",
            zone.to_str().unwrap(),
        ],
        1,
    );
    assert!(
        err.contains(&bob_addr) && err.contains("none of this wallet's"),
        "{err}"
    );

    // Bob, the owner now through his payment key, points it at a new zone file, renews
    // it (one more lifetime from the old expiry) and revokes it.
    let zone2 = tmp.path().join("bob.zone");
    std::fs::write(&zone2, "bob was here\n").unwrap();
    bob.ok(&[
        "name",
        "update",
        "alice.id",
        "--zonefile",
        zone2.to_str().unwrap(),
    ]);
    bob.ok(&["mine", "1"]);
    let r = bob.ok(&["name", "resolve", "alice.id"]);
    assert_eq!(
        r["zonefilehash"],
        hex::encode(Sha256::digest(b"bob was here\n"))
    );
    // The same answer proven against the headers' proof of work alone, the zone file
    // checked against the proven hash.
    let v = alice.ok(&["name", "resolve", "alice.id", "--verify"]);
    assert_eq!(v["owner"], bob_addr);
    assert_eq!(v["owner"], r["owner"]);
    assert_eq!(v["status"], "active");
    assert_eq!(v["expires_at"], r["expires_at"]);
    assert_eq!(v["zonefilehash"], r["zonefilehash"]);
    assert_eq!(v["zonefile"], "bob was here\n");
    // Proven at the tip; the plain lookup judges at the next block's height.
    assert_eq!(
        v["verified_height"].as_u64().unwrap() + 1,
        r["height"].as_u64().unwrap()
    );
    let renewed = bob.ok(&["name", "renew", "alice.id"]);
    assert!(renewed["txid"].is_string());
    bob.ok(&["mine", "1"]);
    let r = bob.ok(&["name", "resolve", "alice.id"]);
    assert_eq!(r["expires_at"], registered_at + 50 + 50);
    bob.ok(&["name", "revoke", "alice.id"]);
    bob.ok(&["mine", "1"]);
    let err = bob.fails(&["name", "resolve", "alice.id"], 1);
    assert!(err.contains("revoked"), "{err}");
    let err = bob.fails(&["name", "renew", "alice.id"], 1);
    assert!(err.contains("revoked"), "{err}");

    let err = alice.fails(&["name", "resolve", "nobody.id"], 1);
    assert!(err.contains("does not exist"), "{err}");
    let err = alice.fails(&["name", "resolve", "alice.id", "--verify"], 1);
    assert!(err.contains("revoked") && err.contains("proven"), "{err}");
    let err = alice.fails(&["name", "resolve", "nobody.id", "--verify"], 1);
    assert!(
        err.contains("does not exist") && err.contains("proven"),
        "{err}"
    );
    alice.fails(&["name", "resolve", "Alice.id"], 2);
}

#[test]
fn expiry_front_running_and_resumed_reveals() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::start(&tmp.path().join("node"));
    let (alice, bob) = wallets(tmp.path(), &node);
    alice.ok_mining(
        &[
            "namespace",
            "create",
            "tmp",
            "--lifetime",
            "4",
            "--grace",
            "2",
        ],
        &bob,
    );

    // Preorder, then a new process resumes the reveal from the wallet directory.
    let pre = alice.ok(&["name", "register", "short.tmp", "--no-wait"]);
    assert_eq!(pre["state"], "preordered");
    let pending = alice.dir.join("names-pending.json");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&pending).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let early = alice.ok(&["name", "list"]);
    assert_eq!(early["pending"][0]["name"], "short.tmp");
    assert_eq!(early["pending"][0]["state"], "preordered");
    alice.ok(&["mine", "1"]);
    let resumed = alice.ok(&["name", "list"]);
    assert_eq!(resumed["revealed"][0]["name"], "short.tmp");
    alice.ok(&["mine", "1"]);
    let at = alice.height();
    let listed = alice.ok(&["name", "list"]);
    assert_eq!(listed["names"][0]["name"], "short.tmp");
    assert_eq!(listed["names"][0]["expires_at"], at + 4);
    // Four blocks of life: close to expiry from the start.
    assert_eq!(listed["names"][0]["expiring_soon"], true);
    // The salt stays kept until the reveal is 3 blocks deep (regtest).
    assert_eq!(listed["pending"][0]["state"], "revealed");
    assert_eq!(listed["pending"][0]["confirmations"], 1);

    // Past expiry and grace (4 + 2 blocks), the name is free again.
    alice.ok(&["mine", "6"]);
    let err = bob.fails(&["name", "resolve", "short.tmp"], 1);
    assert!(err.contains("expired"), "{err}");
    bob.ok_mining(&["name", "register", "short.tmp"], &alice);
    bob.ok(&["mine", "1"]);
    let bob_name_addr = bob.ok(&["name", "list"])["name_address"].clone();
    assert_eq!(
        bob.ok(&["name", "resolve", "short.tmp"])["owner"],
        bob_name_addr
    );

    // Front-running: Bob sees Alice's preorder and preorders the same name after
    // it; Alice's preorder is deep enough first, her reveal wins, Bob's fails.
    alice.ok(&["name", "register", "front.tmp", "--no-wait"]);
    alice.ok(&["mine", "1"]);
    let bobs = bob.ok(&["name", "register", "front.tmp", "--no-wait"]);
    assert_eq!(bobs["state"], "preordered");
    let alices = alice.ok(&["name", "register", "front.tmp"]);
    assert_eq!(alices["state"], "revealed");
    // Bob's preorder is not deep enough: nothing is sent yet.
    assert_eq!(
        bob.ok(&["name", "register", "front.tmp", "--no-wait"])["state"],
        "preordered"
    );
    alice.ok(&["mine", "1"]);
    let err = bob.fails(&["name", "register", "front.tmp"], 1);
    assert!(err.contains("taken by another owner"), "{err}");
    let alice_name_addr = alice.ok(&["name", "list"])["name_address"].clone();
    assert_eq!(
        bob.ok(&["name", "resolve", "front.tmp"])["owner"],
        alice_name_addr
    );
    // Bob's failed registration is forgotten: nothing stays pending.
    assert_eq!(bob.ok(&["name", "list"])["pending"], serde_json::json!([]));

    // A wallet without coins is told what to do, and nothing is recorded.
    let carol = W::new(tmp.path().join("carol"), &node);
    carol.ok(&["create"]);
    let err = carol.fails(&["name", "register", "carol.tmp", "--no-wait"], 1);
    assert!(err.contains("insufficient funds"), "{err}");
    assert!(!carol.dir.join("names-pending.json").exists());
}
