//! Names across a local network started as the README starts it: `wallet testnet up`
//! runs real `chain-node` processes peered over libp2p on 127.0.0.1, and every wallet
//! command goes through one of them. A name registered through node 1 is resolved and
//! proven from node 2, whose zone file came from its peers, and is transferred; a name
//! expires and another wallet takes it; a front-runner's preorder after the owner's
//! fails; a registration on a partitioned node is undone by the reorg that heals it,
//! and its wallet, which kept the salt, reveals it again once the preorder is mined
//! again, burning the price once.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::names::{W, burned, oracle_price};
use crate::testnet::{Testnet, eventually, rpc, rpc_result};

/// JSON-RPC "not found" (Bitcoin Core's `RPC_INVALID_ADDRESS_OR_KEY`).
const NOT_FOUND: i64 = -5;

/// A running three-node network and what `testnet.json` says of it.
struct Net {
    /// Dropped first: stops the nodes.
    _net: Testnet,
    /// Holds the network's directory and the users' wallets.
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    nodes: Vec<Value>,
    wallet_dir: PathBuf,
    lifetime: u64,
    grace: u64,
}

impl Net {
    /// `wallet testnet up --nodes 3` in a new temporary directory.
    fn up() -> Net {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        let net = Testnet::up(&dir, &["--nodes", "3"]);
        let description: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("testnet.json")).unwrap())
                .unwrap();
        let namespace = &description["namespace"];
        assert_eq!(namespace["id"], "id");
        assert_eq!(namespace["status"], "ready");
        Net {
            _net: net,
            _tmp: tmp,
            dir,
            nodes: description["nodes"].as_array().unwrap().clone(),
            wallet_dir: PathBuf::from(description["wallet_dir"].as_str().unwrap()),
            lifetime: namespace["lifetime"].as_u64().unwrap(),
            grace: namespace["grace"].as_u64().unwrap(),
        }
    }

    /// Node `i`, numbered from 1 as `wallet testnet up` numbers them.
    fn node(&self, i: usize) -> &Value {
        &self.nodes[i - 1]
    }

    /// The wallet in `dir` used through node `i` (`--rpc URL --node-data DIR`).
    fn wallet(&self, dir: PathBuf, i: usize, pass: Option<&'static str>) -> W {
        let node = self.node(i);
        W::through(
            dir,
            node["rpc_url"].as_str().unwrap(),
            Path::new(node["data_dir"].as_str().unwrap()),
            pass,
        )
    }

    /// The development wallet (no passphrase) through node `i`.
    fn dev(&self, i: usize) -> W {
        self.wallet(self.wallet_dir.clone(), i, None)
    }

    /// A new user's wallet through node `i`, paid 10 coins by the development wallet
    /// (one block, seen by every node).
    fn user(&self, name: &str, i: usize) -> W {
        let w = self.wallet(self.dir.join(name), i, Some("pass"));
        w.ok(&["create"]);
        let to = w.ok(&["address"])["address"].as_str().unwrap().to_owned();
        self.dev(1).ok(&["send", "--to", &to, "--amount", "10"]);
        self.mine(1, 1);
        assert_eq!(w.ok(&["balance"])["confirmed"], json!(1_000_000_000u64));
        w
    }

    fn call(&self, i: usize, method: &str, params: Value) -> Value {
        rpc(self.node(i), method, params)
    }

    fn tip(&self, i: usize) -> Value {
        self.call(i, "getbestblockhash", json!([]))
    }

    fn height(&self, i: usize) -> u64 {
        self.call(i, "getblockcount", json!([])).as_u64().unwrap()
    }

    /// Waits until every node has node 1's tip; its height.
    fn synced(&self) -> u64 {
        eventually("every node at node 1's tip", || {
            let tip = self.tip(1);
            (2..=self.nodes.len()).all(|i| self.tip(i) == tip)
        });
        self.height(1)
    }

    /// Mines `n` blocks on node `i` for the development wallet and waits until every
    /// node has them; the new height.
    fn mine(&self, i: usize, n: u64) -> u64 {
        let before = self.height(i);
        self.dev(i).ok(&["mine", &n.to_string()]);
        let h = self.synced();
        assert_eq!(h, before + n);
        h
    }

    /// The txids in node `i`'s mempool.
    fn mempool(&self, i: usize) -> Vec<String> {
        let pool = self.call(i, "getrawmempool", json!([]));
        pool.as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    }

    /// The txids of node `i`'s block at height `h`.
    fn block_txids(&self, i: usize, h: u64) -> Vec<Value> {
        let hash = self.call(i, "getblockhash", json!([h]));
        self.call(i, "getblock", json!([hash, 1]))["tx"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// `getnameinfo` on node `i`; `None` for a name the node does not know.
    fn name_info(&self, i: usize, name: &str) -> Option<Value> {
        match rpc_result(self.node(i), "getnameinfo", json!([name])) {
            Ok(v) => Some(v),
            Err(wallet_cli::rpc::RpcError::Node { code, .. }) if code == NOT_FOUND => None,
            Err(e) => panic!("getnameinfo {name}: {e}"),
        }
    }

    /// Waits until node `i` serves the zone file `hash` (hex); its bytes.
    fn zone_file(&self, i: usize, hash: &str) -> Vec<u8> {
        let mut found = None;
        eventually("the zone file on the node", || {
            found = rpc_result(self.node(i), "getzonefile", json!([hash])).ok();
            found.is_some()
        });
        hex::decode(found.unwrap().as_str().unwrap()).unwrap()
    }
}

/// What a registration sent and where it was mined.
struct Registration {
    preorder: String,
    reveal: String,
    /// The height of the block that holds the reveal.
    height: u64,
}

/// `wallet name register NAME --no-wait` (the preorder), a block, `wallet name
/// register NAME` (the reveal, the preorder being deep enough), a block; the blocks are
/// mined on node `i`, the node `w` goes through.
fn register(net: &Net, w: &W, i: usize, name: &str) -> Registration {
    let pre = w.ok(&["name", "register", name, "--no-wait"]);
    assert_eq!(pre["state"], "preordered", "{pre}");
    net.dev(i).ok(&["mine", "1"]);
    let rev = w.ok(&["name", "register", name]);
    assert_eq!(rev["state"], "revealed", "{rev}");
    net.dev(i).ok(&["mine", "1"]);
    Registration {
        preorder: pre["preorder_txid"].as_str().unwrap().to_owned(),
        reveal: rev["txid"].as_str().unwrap().to_owned(),
        height: net.height(i),
    }
}

/// What `wallet name transfer NAME --to` takes to give a name to `receiver`: the
/// receiving wallet's name key, as its `wallet name list --json` prints it.
fn transfer_target(receiver: &W) -> String {
    receiver.ok(&["address"])["address"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The address that owns the names `w` registers (what `resolve` prints as the owner).
fn owner_of(w: &W) -> Value {
    w.ok(&["name", "list"])["name_address"].clone()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn a_name_registered_through_node_1_is_proven_with_its_zone_file_from_node_2_and_transferred() {
    let net = Net::up();
    let alice = net.dev(1);
    let bob = net.user("bob", 2);

    // Alice registers alice.id with a zone file, through node 1 alone.
    let zone_text = "$ORIGIN alice.id\n@ 3600 IN TXT \"alice was here\"\n";
    let zone = net.dir.join("alice.zone");
    std::fs::write(&zone, zone_text).unwrap();
    let zone_hash = sha256_hex(zone_text.as_bytes());
    let z = zone.to_str().unwrap();
    let pre = alice.ok(&["name", "register", "alice.id", "--zonefile", z, "--no-wait"]);
    assert_eq!(pre["state"], "preordered");
    net.mine(1, 1);
    let rev = alice.ok(&["name", "register", "alice.id"]);
    assert_eq!(rev["state"], "revealed");
    assert_eq!(rev["warning"], Value::Null, "{rev}");
    // The wallet uploaded the file to node 1; node 2 has no reason to hold it yet.
    assert_eq!(net.zone_file(1, &zone_hash), zone_text.as_bytes());
    let r = rpc_result(net.node(2), "getzonefile", json!([zone_hash]));
    assert!(
        matches!(
            r,
            Err(wallet_cli::rpc::RpcError::Node {
                code: NOT_FOUND,
                ..
            })
        ),
        "{r:?}"
    );
    let registered_at = net.mine(1, 1);
    let alice_key = owner_of(&alice);

    // Once the reveal's block reaches them, nodes 2 and 3 fetch the file from a peer.
    for i in [2, 3] {
        assert_eq!(
            net.zone_file(i, &zone_hash),
            zone_text.as_bytes(),
            "node {i}"
        );
    }

    // Bob resolves it through node 2 and proves the answer against the headers' work.
    let v = bob.ok(&["name", "resolve", "alice.id", "--verify"]);
    assert_eq!(v["owner"], alice_key);
    assert_eq!(v["status"], "active");
    assert_eq!(v["expires_at"], json!(registered_at + net.lifetime));
    assert_eq!(
        v["grace_ends_at"],
        json!(registered_at + net.lifetime + net.grace)
    );
    assert_eq!(v["zonefilehash"], json!(zone_hash));
    assert_eq!(v["zonefile"], json!(zone_text));
    assert_eq!(v["verified_height"], json!(net.height(2)));
    assert_eq!(v["verified_block"], net.tip(2));
    // The plain lookup through node 3 says the same.
    let plain = net.dev(3).ok(&["name", "resolve", "alice.id"]);
    assert_eq!(plain["owner"], alice_key);
    assert_eq!(plain["zonefile"], json!(zone_text));

    // Alice transfers it to Bob; his wallet, through node 2, lists it.
    let to = transfer_target(&bob);
    alice.ok(&["name", "transfer", "alice.id", "--to", &to]);
    net.mine(1, 1);
    let bobs = bob.ok(&["name", "list"]);
    assert_eq!(bobs["names"].as_array().unwrap().len(), 1, "{bobs}");
    assert_eq!(bobs["names"][0]["name"], "alice.id");
    assert_eq!(alice.ok(&["name", "list"])["names"], json!([]));
    let v = bob.ok(&["name", "resolve", "alice.id", "--verify"]);
    assert_eq!(v["owner"], json!(to));
    assert_ne!(v["owner"], alice_key);
    // The transfer keeps the zone file.
    assert_eq!(v["zonefilehash"], json!(zone_hash));
    assert_eq!(v["zonefile"], json!(zone_text));
    assert_eq!(v["verified_height"], json!(net.height(2)));
}

#[test]
fn a_name_expires_after_its_lifetime_and_grace_and_another_wallet_registers_it() {
    let net = Net::up();
    // The README's numbers: names last 100 blocks, then 10 of grace.
    assert_eq!((net.lifetime, net.grace), (100, 10));
    let alice = net.dev(1);
    let carol = net.user("carol", 3);
    let reg = register(&net, &alice, 1, "old.id");
    net.synced();
    let expires = reg.height + net.lifetime;
    let grace_ends = expires + net.grace;

    // `getnameinfo` judges at the next block's height: active up to the block before
    // expiry, then in grace, then expired.
    net.mine(1, expires - 2 - net.height(1));
    let r = carol.ok(&["name", "resolve", "old.id"]);
    assert_eq!(r["status"], "active");
    assert_eq!(r["expires_at"], json!(expires));
    assert_eq!(r["grace_ends_at"], json!(grace_ends));
    net.mine(1, 1);
    assert_eq!(carol.ok(&["name", "resolve", "old.id"])["status"], "grace");
    // In grace only the owner may renew: Carol's registration is refused before
    // anything is spent or recorded.
    let err = carol.fails(&["name", "register", "old.id", "--no-wait"], 1);
    assert!(err.contains("taken"), "{err}");
    assert!(!carol.dir.join("names-pending.json").exists());
    assert_eq!(carol.ok(&["balance"])["confirmed"], json!(1_000_000_000u64));

    net.mine(1, grace_ends - 1 - net.height(1));
    let err = carol.fails(&["name", "resolve", "old.id"], 1);
    assert!(err.contains("expired"), "{err}");
    assert_eq!(alice.ok(&["name", "list"])["names"], json!([]));

    // Carol takes it: her preorder is mined at the grace period's end.
    let pre = carol.ok(&["name", "register", "old.id", "--no-wait"]);
    assert_eq!(pre["state"], "preordered");
    assert_eq!(net.mine(3, 1), grace_ends);
    // Proven expired against the headers at that height, from node 2.
    let err = net
        .dev(2)
        .fails(&["name", "resolve", "old.id", "--verify"], 1);
    assert!(
        err.contains("expired")
            && err.contains(&format!(
                "proven against proof of work at height {grace_ends}"
            )),
        "{err}"
    );
    assert_eq!(
        carol.ok(&["name", "register", "old.id"])["state"],
        "revealed"
    );
    let taken_at = net.mine(3, 1);
    let v = net.dev(2).ok(&["name", "resolve", "old.id", "--verify"]);
    assert_eq!(v["owner"], owner_of(&carol));
    assert_eq!(v["status"], "active");
    assert_eq!(v["expires_at"], json!(taken_at + net.lifetime));
    let carols = carol.ok(&["name", "list"]);
    assert_eq!(carols["names"][0]["name"], "old.id");
    assert_eq!(carols["pending"][0]["name"], "old.id");
    assert_eq!(carols["pending"][0]["state"], "revealed");
    assert_eq!(carols["pending"][0]["confirmations"], 1);
}

#[test]
fn a_front_runner_who_preorders_a_seen_name_after_its_owner_fails_and_keeps_nothing_pending() {
    let net = Net::up();
    let alice = net.dev(1);
    let mallory = net.user("mallory", 2);

    // Alice's preorder, through node 1, reaches Mallory's node 2: a commitment that
    // hides the name.
    let pre = alice.ok(&["name", "register", "front.id", "--no-wait"]);
    let alice_pre = pre["preorder_txid"].as_str().unwrap().to_owned();
    eventually("Alice's preorder in node 2's pool", || {
        net.mempool(2).contains(&alice_pre)
    });
    let preordered_at = net.mine(1, 1);
    assert!(
        net.block_txids(2, preordered_at)
            .contains(&json!(alice_pre))
    );

    // Mallory, who knows the name, preorders it after Alice, through node 2.
    let m = mallory.ok(&["name", "register", "front.id", "--no-wait"]);
    assert_eq!(m["state"], "preordered");
    let mallory_pre = m["preorder_txid"].as_str().unwrap().to_owned();
    eventually("Mallory's preorder in node 1's pool", || {
        net.mempool(1).contains(&mallory_pre)
    });
    // Alice's preorder is deep enough: her reveal goes out. Mallory's is not: her
    // wallet sends nothing yet.
    let a = alice.ok(&["name", "register", "front.id"]);
    assert_eq!(a["state"], "revealed");
    let alice_reveal = a["txid"].as_str().unwrap().to_owned();
    assert_eq!(
        mallory.ok(&["name", "register", "front.id", "--no-wait"])["state"],
        "preordered"
    );
    // Node 2 relays Alice's reveal, which shows the name, once it is valid: too late
    // for a preorder. Its pool holds that reveal and Mallory's preorder, nothing else.
    eventually("Alice's reveal in node 2's pool", || {
        net.mempool(2).contains(&alice_reveal)
    });
    let mut pool = net.mempool(2);
    pool.sort_unstable();
    let mut want = vec![alice_reveal.clone(), mallory_pre.clone()];
    want.sort_unstable();
    assert_eq!(pool, want);

    // One block holds Alice's reveal and Mallory's preorder: the name is Alice's.
    let h = net.mine(1, 1);
    let txs = net.block_txids(2, h);
    assert!(txs.contains(&json!(alice_reveal)), "{txs:?}");
    assert!(txs.contains(&json!(mallory_pre)), "{txs:?}");

    // Mallory's reveal, possible only now, fails with the reason; nothing stays
    // pending and nothing more is sent.
    let err = mallory.fails(&["name", "register", "front.id"], 1);
    assert!(err.contains("taken by another owner"), "{err}");
    let listed = mallory.ok(&["name", "list"]);
    assert_eq!(listed["pending"], json!([]), "{listed}");
    assert_eq!(listed["revealed"], json!([]), "{listed}");
    assert_eq!(listed["names"], json!([]), "{listed}");
    assert!(net.mempool(2).is_empty());
    let info = net.name_info(2, "front.id").unwrap();
    assert_eq!(info["owner"], owner_of(&alice));
    assert_eq!(info["status"], "active");
    assert_eq!(info["registered_at"], json!(h));
    assert_eq!(info["last_txid"], json!(alice_reveal));
}

#[test]
fn a_registration_a_reorg_removes_comes_back_from_its_wallet_with_one_burn() {
    let net = Net::up();
    // Carol and Dave hold 10 coins each, paid before the partition: on every branch.
    let carol = net.user("carol", 3);
    let dave3 = net.user("dave", 3);
    let (carol_owner, dave_owner) = (owner_of(&carol), owner_of(&dave3));
    let start = net.synced();

    // Node 3 alone.
    assert_eq!(
        net.call(3, "setnetworkactive", json!([false])),
        json!(false)
    );
    let peers = |i: usize| {
        net.call(i, "getpeerinfo", json!([]))
            .as_array()
            .unwrap()
            .len()
    };
    eventually("node 3 cut off", || {
        peers(3) == 0 && peers(1) == 1 && peers(2) == 1
    });

    // Carol registers fork.id through node 3, which mines both blocks; nodes 1 and 2
    // see none of it.
    let reg = register(&net, &carol, 3, "fork.id");
    assert_eq!(reg.height, start + 2);
    let info = net.name_info(3, "fork.id").unwrap();
    assert_eq!(info["status"], "active");
    assert_eq!(info["owner"], carol_owner);
    assert_eq!(info["last_txid"], json!(reg.reveal));
    assert_eq!(net.height(1), start);
    assert!(net.name_info(1, "fork.id").is_none());

    // Dave preorders gone.id through node 3, which keeps it in its pool. His wallet
    // then turns to node 1, which never saw that preorder: it sends it there again.
    let pre = dave3.ok(&["name", "register", "gone.id", "--no-wait"]);
    let dave_pre = pre["preorder_txid"].as_str().unwrap().to_owned();
    assert_eq!(net.mempool(3), std::slice::from_ref(&dave_pre));
    let dave1 = net.wallet(net.dir.join("dave"), 1, Some("pass"));
    let listed = dave1.ok(&["name", "list"]);
    assert_eq!(
        listed["pending"][0]["state"], "preorder-sent-again",
        "{listed}"
    );
    assert_eq!(listed["pending"][0]["preorder_txid"], json!(dave_pre));
    assert_eq!(net.mempool(1), std::slice::from_ref(&dave_pre));

    // Nodes 1 and 2 mine three blocks, the first with Dave's preorder: more work than
    // node 3's two.
    net.dev(1).ok(&["mine", "3"]);
    let winner = net.tip(1);
    eventually("node 2 at node 1's tip", || net.tip(2) == winner);
    assert!(net.block_txids(1, start + 1).contains(&json!(dave_pre)));

    // Healed, node 3 follows the most work: its two blocks leave its chain.
    assert_eq!(net.call(3, "setnetworkactive", json!([true])), json!(true));
    eventually("node 3 on the winning branch", || net.tip(3) == winner);
    for i in 1..=3 {
        assert_eq!(net.height(i), start + 3, "node {i}");
        assert!(net.name_info(i, "fork.id").is_none(), "node {i}");
    }
    let tips = net.call(3, "getchaintips", json!([]));
    assert!(
        tips.as_array()
            .unwrap()
            .iter()
            .any(|t| t["height"] == json!(start + 2) && t["status"] == "valid-fork"),
        "{tips}"
    );
    // Through node 3 too the name does not exist, proven against the winning headers.
    let err = carol.fails(&["name", "resolve", "fork.id"], 1);
    assert!(err.contains("does not exist"), "{err}");
    let err = carol.fails(&["name", "resolve", "fork.id", "--verify"], 1);
    assert!(
        err.contains("does not exist")
            && err.contains(&format!(
                "proven against proof of work at height {}",
                start + 3
            )),
        "{err}"
    );

    // The node follows a reorg's mempool change before it answers for the new tip:
    // Carol's preorder went back to node 3's pool (its coins are unspent on the
    // winning branch), and node 3 may relay it again, sent while it had no peers; her
    // reveal did not: with its preorder unconfirmed it is an early reveal, which no
    // pool keeps.
    assert_eq!(net.mempool(3), std::slice::from_ref(&reg.preorder));
    for i in 1..=2 {
        let pool = net.mempool(i);
        assert!(
            pool.is_empty() || pool == std::slice::from_ref(&reg.preorder),
            "node {i}: {pool:?}"
        );
    }
    // Carol's wallet kept the salt: it waits for the preorder to be mined again.
    let listed = carol.ok(&["name", "list"]);
    assert_eq!(listed["names"], json!([]));
    let p = &listed["pending"][0];
    assert_eq!(
        (&p["name"], &p["state"], &p["confirmations"]),
        (&json!("fork.id"), &json!("reveal-gone"), &json!(0)),
        "{listed}"
    );
    assert_eq!(p["preorder_txid"], json!(reg.preorder));

    // A block of node 3 confirms the preorder again; the wallet sends the same signed
    // registration again, in a new transaction (the peers turned the first one away as
    // an early reveal and remember it), and Dave's wallet, through node 1, sends his.
    let h = net.mine(3, 1);
    assert!(net.block_txids(1, h).contains(&json!(reg.preorder)));
    let listed = carol.ok(&["name", "list"]);
    let p = &listed["pending"][0];
    assert_eq!(
        (&p["state"], &p["new_tx"]),
        (&json!("reveal-sent-again"), &json!(true)),
        "{listed}"
    );
    assert_eq!(
        p["preorder_txid"],
        json!(reg.preorder),
        "no second preorder"
    );
    let again = p["reveal_txid"].as_str().unwrap().to_owned();
    assert_ne!(again, reg.reveal);
    let listed = dave1.ok(&["name", "list"]);
    let dave_reveal = listed["revealed"][0]["txid"].as_str().unwrap().to_owned();
    assert_eq!(listed["pending"][0]["state"], "reveal-sent", "{listed}");
    eventually("both reveals in node 1's pool", || {
        let pool = net.mempool(1);
        pool.contains(&again) && pool.contains(&dave_reveal)
    });
    let revealed_at = net.mine(1, 1);
    for i in 1..=3 {
        let info = net.name_info(i, "fork.id").unwrap();
        assert_eq!(info["owner"], carol_owner, "node {i}");
        assert_eq!(info["status"], "active", "node {i}");
        assert_eq!(info["registered_at"], json!(revealed_at), "node {i}");
        assert_eq!(info["last_txid"], json!(again), "node {i}");
        assert_eq!(
            net.name_info(i, "gone.id").unwrap()["owner"],
            dave_owner,
            "node {i}"
        );
    }
    let v = net.dev(2).ok(&["name", "resolve", "fork.id", "--verify"]);
    assert_eq!(v["owner"], carol_owner);

    // Kept until the reveals are 3 blocks deep (regtest), then forgotten.
    net.mine(1, 1);
    assert_eq!(
        carol.ok(&["name", "list"])["pending"][0]["confirmations"],
        2
    );
    net.mine(1, 1);
    for w in [&carol, &dave1] {
        let listed = w.ok(&["name", "list"]);
        assert_eq!(listed["pending"], json!([]), "{listed}");
        assert_eq!(listed["settled"][0]["state"], "final", "{listed}");
        assert_eq!(listed["settled"][0]["confirmations"], 3, "{listed}");
        assert_eq!(listed["names"].as_array().unwrap().len(), 1, "{listed}");
    }

    // One price burned for each name on the chain that won, and Carol's coins show it:
    // her 10 coins less one price and the fees, which are far less than a price.
    let tip = net.height(1);
    let prices = oracle_price("fork") + oracle_price("gone");
    assert_eq!(burned(|m, p| net.call(1, m, p), start + 1, tip), prices);
    let left = carol.ok(&["balance"]);
    let left = left["confirmed"].as_u64().unwrap() + left["pending"].as_u64().unwrap();
    let spent = 1_000_000_000 - left;
    assert!(
        spent > oracle_price("fork") && spent < 2 * oracle_price("fork"),
        "Carol spent {spent}"
    );
}
