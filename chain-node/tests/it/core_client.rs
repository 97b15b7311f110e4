//! Bitcoin Core's clients against a real `chain-node`: the two reply shapes read off
//! the wire, and python-bitcoinrpc's `AuthServiceProxy` driving the node.
//!
//! Expected shapes, statuses and codes come from Bitcoin Core 28's
//! `src/httprpc.cpp` (`HTTPReq_JSONRPC`, `JSONErrorReply`) and `src/rpc/request.cpp`
//! (`JSONRPCRequest::parse`, `JSONRPCReplyObj`), as docs/rpc.md lists them.
//!
//! The client test needs the virtualenv that `.ci/python-env` makes (under
//! `target/python-env`, or `$OPEN_TRUST_PYTHON_ENV`); when it is missing the test
//! runs that script first, and fails saying why if it cannot, unless
//! `OPEN_TRUST_SKIP_PYTHON=1`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::Command;

use chain_node::validation::Coin;
use chain_node::{Amount, Height, Network, OutPoint, TxId, TxOut};
use serde_json::{Value, json};

use crate::helpers::{address, key, spend, temp_dir};
use crate::process::NodeProcess;

fn addr_of(seed: u8) -> String {
    address(&key(seed)).encode(Network::Regtest)
}

#[test]
fn legacy_and_v2_requests_get_cores_shapes_and_statuses() {
    let dir = temp_dir("core-shapes");
    let node = NodeProcess::start(&dir);
    let cookie = node.cookie();
    let ask = |body: &str| {
        let (status, text) = node.post("POST", body, Some(&cookie));
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, value)
    };
    // Legacy requests (no "jsonrpc", or "1.0"): result and error both present.
    assert_eq!(
        ask(r#"{"method":"getblockcount","params":[],"id":"a"}"#),
        (200, json!({"result": 0, "error": null, "id": "a"}))
    );
    assert_eq!(
        ask(r#"{"jsonrpc":"1.0","method":"getblockcount","id":[1]}"#),
        (200, json!({"result": 0, "error": null, "id": [1]}))
    );
    // Without an id a legacy request is still answered, with no id member.
    assert_eq!(
        ask(r#"{"method":"getblockcount"}"#),
        (200, json!({"result": 0, "error": null}))
    );
    assert_eq!(
        ask(r#"{"method":"getblockhash","params":[-1],"id":1}"#),
        (
            500,
            json!({"result": null, "error": {"code": -8, "message": "Block height out of range"}, "id": 1})
        )
    );
    let (status, reply) = ask(r#"{"method":"nosuchmethod","params":[],"id":2}"#);
    assert_eq!((status, &reply["error"]["code"]), (404, &json!(-32601)));
    assert_eq!(reply["result"], Value::Null);
    let (status, reply) = ask(r#"{"method":"getblockcount","params":"x","id":3}"#);
    assert_eq!((status, &reply["error"]["code"]), (400, &json!(-32600)));
    assert_eq!(reply["id"], json!(3));
    // JSON-RPC 2.0: one of result and error, HTTP 200 for errors, no reply to a
    // notification.
    assert_eq!(
        ask(r#"{"jsonrpc":"2.0","method":"getblockcount","id":4}"#),
        (200, json!({"jsonrpc": "2.0", "result": 0, "id": 4}))
    );
    assert_eq!(
        ask(r#"{"jsonrpc":"2.0","method":"getblockhash","params":[-1],"id":5}"#),
        (
            200,
            json!({"jsonrpc": "2.0", "error": {"code": -8, "message": "Block height out of range"}, "id": 5})
        )
    );
    let (status, reply) = ask(r#"{"jsonrpc":"2.0","method":"nosuchmethod","id":6}"#);
    assert_eq!((status, &reply["error"]["code"]), (200, &json!(-32601)));
    assert!(reply.get("result").is_none(), "{reply}");
    assert_eq!(
        ask(r#"{"jsonrpc":"2.0","method":"getblockcount"}"#),
        (204, Value::Null)
    );
    // A 2.0 request that cannot be read is an HTTP error all the same.
    let (status, reply) = ask(r#"{"jsonrpc":"2.0","id":7}"#);
    assert_eq!(
        (status, reply),
        (
            400,
            json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Missing method"}, "id": 7})
        )
    );
    let (status, reply) = ask(r#"{"jsonrpc":"3.0","method":"getblockcount","id":8}"#);
    assert_eq!((status, &reply["error"]["code"]), (400, &json!(-32600)));
    // Bodies that are not requests: legacy shape, HTTP 500, id null.
    assert_eq!(
        ask("{not json"),
        (
            500,
            json!({"result": null, "error": {"code": -32700, "message": "Parse error"}, "id": null})
        )
    );
    assert_eq!(
        ask("5"),
        (
            500,
            json!({"result": null, "error": {"code": -32700, "message": "Top-level object parse error"}, "id": null})
        )
    );
    // Batches: HTTP 200, each element in its own shape, notifications left out.
    let (status, reply) = ask(r#"[{"method":"getblockcount","id":1},
            {"method":"nosuchmethod","id":2},
            {"jsonrpc":"2.0","method":"getblockcount","id":3},
            {"jsonrpc":"2.0","method":"getblockhash","params":[-1],"id":4},
            {"jsonrpc":"2.0","method":"getblockcount"},
            7]"#);
    assert_eq!(status, 200);
    assert_eq!(
        reply,
        json!([
            {"result": 0, "error": null, "id": 1},
            {"result": null, "error": {"code": -32601, "message": "Method not found: nosuchmethod"}, "id": 2},
            {"jsonrpc": "2.0", "result": 0, "id": 3},
            {"jsonrpc": "2.0", "error": {"code": -8, "message": "Block height out of range"}, "id": 4},
            {"result": null, "error": {"code": -32600, "message": "Invalid Request object"}, "id": null},
        ])
    );
    assert_eq!(
        ask(r#"[{"jsonrpc":"2.0","method":"getblockcount"}]"#),
        (204, Value::Null)
    );
    assert_eq!(ask("[]"), (200, json!([])));
    // Legacy notifications do not exist: a legacy batch without ids is answered.
    assert_eq!(
        ask(r#"[{"method":"getblockcount"}]"#),
        (200, json!([{"result": 0, "error": null}]))
    );
    node.stop();
}

/// The virtualenv's Python, or `None` when the test is to be skipped.
fn python() -> Option<PathBuf> {
    if std::env::var_os("OPEN_TRUST_SKIP_PYTHON").is_some_and(|v| v == "1") {
        return None;
    }
    let venv = std::env::var_os("OPEN_TRUST_PYTHON_ENV").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/python-env"),
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import bitcoinrpc.authproxy"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ready() {
        // A fresh machine: make the virtualenv as .ci/run does (python3 and PyPI).
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/python-env");
        let made = Command::new(&script)
            .env("OPEN_TRUST_PYTHON_ENV", &venv)
            .status();
        assert!(
            made.is_ok_and(|s| s.success()) && ready(),
            "cannot make the Python virtualenv with python-bitcoinrpc at {} (.ci/python-env \
             needs python3 with venv, and PyPI); set OPEN_TRUST_SKIP_PYTHON=1 to skip this test",
            venv.display()
        );
    }
    Some(python)
}

#[test]
fn bitcoin_cores_python_client_authserviceproxy_works_unchanged() {
    let Some(python) = python() else {
        return;
    };
    let dir = temp_dir("core-client");
    let node = NodeProcess::start(&dir);
    let miner = addr_of(41);
    let hashes = node.ok("generatetoaddress", json!([2, miner]));
    // Transactions for the error paths, built here from the consensus rules.
    let params = Network::Regtest.params();
    let block1 = node.ok("getblock", json!([hashes[0], 1]));
    let coinbase_txid: TxId = block1["tx"][0].as_str().unwrap().parse().unwrap();
    let coinbase_hex = node.ok(
        "getrawtransaction",
        json!([coinbase_txid.to_hex(), false, hashes[0]]),
    );
    let immature = spend(
        &params,
        &[(
            OutPoint {
                txid: coinbase_txid,
                vout: 0,
            },
            Coin {
                amount: Amount::from_units(5_000_000_000),
                address: address(&key(41)),
                height: Height(1),
                is_coinbase: true,
            },
            &key(41),
        )],
        vec![TxOut::pay(
            Amount::from_units(4_999_990_000),
            address(&key(42)),
        )],
    );
    let missing = spend(
        &params,
        &[(
            OutPoint {
                txid: TxId([9; 32]),
                vout: 0,
            },
            Coin {
                amount: Amount::from_units(1000),
                address: address(&key(43)),
                height: Height(1),
                is_coinbase: false,
            },
            &key(43),
        )],
        vec![TxOut::pay(Amount::from_units(500), address(&key(42)))],
    );
    let cases = json!({
        "count": ["getblockcount"],
        "hash1": ["getblockhash", 1],
        "info": ["getblockchaininfo"],
        "mine": ["generatetoaddress", 1, miner],
        "height_below_0": ["getblockhash", -1],
        "height_past_tip": ["getblockhash", 99],
        "no_such_method": ["nosuchmethod"],
        "missing_param": ["getblockhash"],
        "wrong_type": ["getblockhash", "1"],
        "unknown_block": ["getblock", "00".repeat(32)],
        "bad_address": ["generatetoaddress", 1, "rcn1notanaddress"],
        "undecodable_tx": ["sendrawtransaction", "zz"],
        "missing_inputs": ["sendrawtransaction", hex::encode(missing.to_bytes())],
        "immature_spend": ["sendrawtransaction", hex::encode(immature.to_bytes())],
        "already_in_chain": ["sendrawtransaction", coinbase_hex],
        "batch:errors": [["getblockhash", -1], ["getblockcount"]],
        "batch:results": [["getblockcount"], ["getbestblockhash"]],
    });
    let port = node.port;
    let url = format!("http://{}@127.0.0.1:{port}/", node.cookie().trim());
    let out = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/core_client.py"
        ))
        .arg(&url)
        .arg(cases.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the client script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Single calls go out in legacy shape ({"version": "1.1", ...}): results come back.
    assert_eq!(report["count"], json!({"result": 2}), "{report}");
    assert_eq!(report["hash1"], json!({"result": hashes[0]}));
    assert_eq!(report["info"]["result"]["blocks"], json!(2));
    assert_eq!(report["info"]["result"]["chain"], json!("regtest"));
    assert_eq!(report["mine"]["result"].as_array().unwrap().len(), 1);
    // Each error path raises JSONRPCException with Core's code (HTTP 500 or 404
    // underneath, which the library reads as any other JSON reply).
    let code = |name: &str| {
        report[name]["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("{name}: {}", report[name]))
    };
    for (name, expected) in [
        ("height_below_0", -8),
        ("height_past_tip", -8),
        ("no_such_method", -32601),
        ("missing_param", -1),
        ("wrong_type", -3),
        ("unknown_block", -5),
        ("bad_address", -5),
        ("undecodable_tx", -22),
        ("missing_inputs", -25),
        ("immature_spend", -26),
        ("already_in_chain", -27),
        ("batch:errors", -8),
    ] {
        assert_eq!(code(name), expected, "{name}: {}", report[name]);
    }
    assert_eq!(
        report["height_below_0"]["error"]["message"],
        json!("Block height out of range")
    );
    // batch_ sends {"jsonrpc": "2.0", ...} and reads response['error'], which a 2.0
    // reply without an error does not have: Core 28 and later answer exactly so,
    // and this library fails on them the same way (KeyError), as it does with Core.
    assert_eq!(
        report["batch:results"],
        json!({"exception": "KeyError", "detail": "'error'"})
    );
    assert_eq!(node.ok("getblockcount", json!([])), json!(3));
    node.stop();
}
