//! A registration the wallet started, followed by `wallet name list` against a real
//! `chain-node` process until its reveal is buried: every state `list` shows, through
//! reorgs made with `invalidateblock` (Bitcoin Core's call) that take the reveal, then
//! the preorder, off the chain; and the endings that forget an entry with the reason:
//! the name taken while the reveal was away, a preorder too old, a preorder whose coins
//! a reorg took away.

use std::path::Path;

use serde_json::{Value, json};

use crate::names::{W, burned, oracle_price, wallets};
use crate::node_flows::Node;
use crate::testnet::rpc;

/// Confirmations after which a regtest wallet forgets a registration (README, ADR 0041).
const FINAL_DEPTH: u64 = 3;

/// Calls the node's JSON-RPC with its cookie.
fn caller(node: &Node) -> impl Fn(&str, Value) -> Value + '_ {
    let description = json!({
        "rpc_url": node.url,
        "cookie_file": node.data.join(".cookie"),
    });
    move |method, params| rpc(&description, method, params)
}

/// The txids of the node's pool, sorted.
fn pool(call: &impl Fn(&str, Value) -> Value) -> Vec<String> {
    let mut txids: Vec<String> = call("getrawmempool", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    txids.sort_unstable();
    txids
}

/// `wallet mine 1`: the new block's hash.
fn mine_one(w: &W) -> String {
    w.ok(&["mine", "1"])["blocks"][0]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The txids of block `hash`.
fn block_txids(call: &impl Fn(&str, Value) -> Value, hash: &str) -> Vec<Value> {
    call("getblock", json!([hash, 1]))["tx"]
        .as_array()
        .unwrap()
        .clone()
}

/// The one kept registration `list` shows.
fn only_pending(listed: &Value) -> &Value {
    let pending = listed["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{listed}");
    &pending[0]
}

/// The registrations kept in the wallet's pending file.
fn kept(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("names-pending.json")).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["version"], 2);
    file["pending"].as_array().unwrap().clone()
}

#[test]
fn a_registration_is_followed_through_reorgs_until_its_reveal_is_buried() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::start(&tmp.path().join("node"));
    let call = caller(&node);
    let (alice, bob) = wallets(tmp.path(), &node);
    alice.ok_mining(&["namespace", "create", "id", "--lifetime", "50"], &bob);
    let alice_address = alice.ok(&["name", "list"])["name_address"].clone();
    let start = call("getblockcount", json!([])).as_u64().unwrap();

    // The preorder, in the node's pool.
    let pre = alice.ok(&["name", "register", "keep.id", "--no-wait"]);
    assert_eq!(pre["state"], "preordered", "{pre}");
    let preorder = pre["preorder_txid"].as_str().unwrap().to_owned();
    let p = only_pending(&alice.ok(&["name", "list"])).clone();
    assert_eq!(
        (&p["name"], &p["state"], &p["confirmations"], &p["needed"]),
        (
            &json!("keep.id"),
            &json!("preordered"),
            &json!(0),
            &json!(1)
        ),
        "{p}"
    );
    assert_eq!(p["reveal_txid"], Value::Null);

    // Mined: `list` sends the reveal, which waits for FINAL_DEPTH confirmations.
    let preorder_block = mine_one(&alice);
    assert!(block_txids(&call, &preorder_block).contains(&json!(preorder)));
    let listed = alice.ok(&["name", "list"]);
    let p = only_pending(&listed);
    assert_eq!(p["state"], "reveal-sent", "{listed}");
    assert_eq!(p["needed"], FINAL_DEPTH);
    let reveal = p["reveal_txid"].as_str().unwrap().to_owned();
    assert_eq!(
        listed["revealed"],
        json!([{"name": "keep.id", "txid": reveal}])
    );
    assert_eq!(pool(&call), std::slice::from_ref(&reveal));
    // The signed registration it carries, in its burn output.
    let payload = call("getrawtransaction", json!([reveal, true]))["vout"][0]["burn"].clone();
    assert!(payload.is_string());
    let p = only_pending(&alice.ok(&["name", "list"])).clone();
    assert_eq!(
        (&p["state"], &p["confirmations"]),
        (&json!("revealed"), &json!(0))
    );
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("waiting for 3 confirmations: 0 so far"),
        "{p}"
    );
    let reveal_block = mine_one(&alice);
    assert!(block_txids(&call, &reveal_block).contains(&json!(reveal)));
    let p = only_pending(&alice.ok(&["name", "list"])).clone();
    assert_eq!(
        (&p["state"], &p["confirmations"]),
        (&json!("revealed"), &json!(1))
    );
    assert_eq!(
        alice.ok(&["name", "resolve", "keep.id"])["owner"],
        alice_address
    );

    // A reorg takes the reveal's block away: the reveal goes back to the pool, and the
    // wallet keeps waiting.
    call("invalidateblock", json!([reveal_block]));
    assert_eq!(pool(&call), std::slice::from_ref(&reveal));
    let p = only_pending(&alice.ok(&["name", "list"])).clone();
    assert_eq!(
        (&p["state"], &p["confirmations"], &p["reveal_txid"]),
        (&json!("revealed"), &json!(0), &json!(reveal))
    );

    // A deeper one takes the preorder's block too: the preorder goes back to the pool,
    // the reveal nowhere (an early reveal). The wallet still keeps the salt.
    call("invalidateblock", json!([preorder_block]));
    assert_eq!(pool(&call), std::slice::from_ref(&preorder));
    let err = alice.fails(&["name", "resolve", "keep.id"], 1);
    assert!(err.contains("does not exist"), "{err}");
    let p = only_pending(&alice.ok(&["name", "list"])).clone();
    assert_eq!(
        (&p["state"], &p["confirmations"], &p["needed"]),
        (&json!("reveal-gone"), &json!(0), &json!(1)),
        "{p}"
    );
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("a reorg took the reveal away"),
        "{p}"
    );
    assert_eq!(kept(&alice.dir)[0]["name"], "keep.id");

    // The preorder is mined again: the same signed registration goes again, in a new
    // transaction.
    let again_block = mine_one(&alice);
    let txs = block_txids(&call, &again_block);
    assert!(txs.contains(&json!(preorder)) && !txs.contains(&json!(reveal)));
    let listed = alice.ok(&["name", "list"]);
    let p = only_pending(&listed);
    assert_eq!(
        (&p["state"], &p["new_tx"], &p["sent_again"]),
        (&json!("reveal-sent-again"), &json!(true), &json!(1)),
        "{listed}"
    );
    let again = p["reveal_txid"].as_str().unwrap().to_owned();
    assert_ne!(again, reveal);
    assert_eq!(
        listed["revealed"],
        json!([{"name": "keep.id", "txid": again}])
    );
    assert_eq!(pool(&call), std::slice::from_ref(&again));
    let resent = call("getrawtransaction", json!([again, true]));
    assert_eq!(resent["vout"][0]["burn"], payload);
    assert_eq!(
        (&resent["vin"][0]["txid"], &resent["vin"][0]["vout"]),
        (&json!(preorder), &json!(1))
    );

    // Buried one block at a time; forgotten at FINAL_DEPTH.
    for depth in 1..FINAL_DEPTH {
        alice.ok(&["mine", "1"]);
        let p = only_pending(&alice.ok(&["name", "list"])).clone();
        assert_eq!(
            (&p["state"], &p["confirmations"], &p["reveal_txid"]),
            (&json!("revealed"), &json!(depth), &json!(again))
        );
        assert!(
            p["message"]
                .as_str()
                .unwrap()
                .contains("sent again after a reorg"),
            "{p}"
        );
    }
    alice.ok(&["mine", "1"]);
    let listed = alice.ok(&["name", "list"]);
    assert_eq!(listed["pending"], json!([]), "{listed}");
    let settled = &listed["settled"][0];
    assert_eq!(
        (
            &settled["name"],
            &settled["state"],
            &settled["confirmations"]
        ),
        (&json!("keep.id"), &json!("final"), &json!(FINAL_DEPTH)),
        "{listed}"
    );
    assert_eq!(settled["reveal_txid"], json!(again));
    assert_eq!(listed["names"][0]["name"], "keep.id");
    assert!(kept(&alice.dir).is_empty());
    assert_eq!(alice.ok(&["name", "list"])["settled"], json!([]));
    assert_eq!(
        alice.ok(&["name", "resolve", "keep.id"])["owner"],
        alice_address
    );
    // On the chain that won, the registration burned its price once.
    let tip = call("getblockcount", json!([])).as_u64().unwrap();
    assert_eq!(burned(&call, start + 1, tip), oracle_price("keep"));
}

#[test]
fn a_registration_that_cannot_succeed_any_more_is_forgotten_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::start(&tmp.path().join("node"));
    let call = caller(&node);
    let (alice, bob) = wallets(tmp.path(), &node);
    alice.ok_mining(&["namespace", "create", "id", "--lifetime", "50"], &bob);

    // Taken while the reveal was away: a reorg sends Alice's preorder back to the pool
    // and drops her reveal; Bob preorders and registers the name before her wallet
    // looks again.
    alice.ok(&["name", "register", "lost.id", "--no-wait"]);
    let preorder_block = mine_one(&alice);
    assert_eq!(
        only_pending(&alice.ok(&["name", "list"]))["state"],
        "reveal-sent"
    );
    alice.ok(&["mine", "1"]);
    call("invalidateblock", json!([preorder_block]));
    assert_eq!(
        bob.ok(&["name", "register", "lost.id", "--no-wait"])["state"],
        "preordered"
    );
    bob.ok(&["mine", "1"]);
    assert_eq!(
        bob.ok(&["name", "register", "lost.id"])["state"],
        "revealed"
    );
    bob.ok(&["mine", "1"]);
    let bob_address = bob.ok(&["name", "list"])["name_address"].clone();
    assert_eq!(
        bob.ok(&["name", "resolve", "lost.id"])["owner"],
        bob_address
    );
    let listed = alice.ok(&["name", "list"]);
    assert_eq!(listed["pending"], json!([]), "{listed}");
    let settled = &listed["settled"][0];
    assert_eq!(settled["state"], "dropped", "{listed}");
    let why = settled["message"].as_str().unwrap();
    assert!(
        why.contains("taken by another owner") && why.contains(bob_address.as_str().unwrap()),
        "{why}"
    );
    assert!(kept(&alice.dir).is_empty());
    assert!(pool(&call).is_empty(), "no reveal was sent");

    // Too old: a preorder left unrevealed for more than `preorder_max_age` (144 on
    // regtest) blocks can no longer be revealed.
    alice.ok(&["name", "register", "late.id", "--no-wait"]);
    alice.ok(&["mine", "145"]);
    let err = alice.fails(&["name", "register", "late.id"], 1);
    assert!(
        err.contains("145 blocks old, past the 144 a reveal allows"),
        "{err}"
    );
    assert!(kept(&alice.dir).is_empty());
    assert!(pool(&call).is_empty(), "no reveal was sent");

    // A preorder whose coins a reorg took away: Carol's preorder spends her only coin,
    // the reward of a block that a reorg then takes off the chain. Nothing can send the
    // preorder again, and nothing of it was burned on the chain that won.
    let carol = W::new(tmp.path().join("carol"), &node);
    carol.ok(&["create"]);
    let reward_block = mine_one(&carol);
    bob.ok(&["mine", "99"]);
    let pre = carol.ok(&["name", "register", "gone.id", "--no-wait"]);
    let preorder = pre["preorder_txid"].as_str().unwrap().to_owned();
    mine_one(&bob);
    let fork = call("getblockheader", json!([reward_block]))["height"]
        .as_u64()
        .unwrap();
    let old_tip = call("getblockcount", json!([])).as_u64().unwrap();
    call("invalidateblock", json!([reward_block]));
    assert!(!pool(&call).contains(&preorder));
    // The chain that wins is the longer one.
    bob.ok(&["mine", &(old_tip - fork + 2).to_string()]);
    let listed = carol.ok(&["name", "list"]);
    assert_eq!(listed["pending"], json!([]), "{listed}");
    let settled = &listed["settled"][0];
    assert_eq!(settled["state"], "dropped", "{listed}");
    assert!(
        settled["message"]
            .as_str()
            .unwrap()
            .contains("the node refused it again"),
        "{listed}"
    );
    assert!(kept(&carol.dir).is_empty());
    let tip = call("getblockcount", json!([])).as_u64().unwrap();
    assert_eq!(burned(&call, fork, tip), 0);
}
