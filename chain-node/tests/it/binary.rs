//! The real `chain-node` binary over HTTP: mining, maturity, restart, crash recovery,
//! reorgs through invalidateblock, and bad requests.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use chain_node::validation::Coin;
use chain_node::{Amount, Height, Network, OutPoint, TxId, TxOut};
use serde_json::{Value, json};

use crate::helpers::{address, key, spend, temp_dir};
use crate::process::NodeProcess;

fn addr_of(seed: u8) -> String {
    address(&key(seed)).encode(Network::Regtest)
}

#[test]
fn mine_101_mature_spend_and_restart_with_state_intact() {
    let dir = temp_dir("bin-mine");
    let node = NodeProcess::start(&dir);
    let first_cookie = node.cookie();
    assert!(first_cookie.starts_with("__cookie__:") && first_cookie.len() == 11 + 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(".cookie"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let miner = addr_of(1);
    let hashes = node.ok("generatetoaddress", json!([101, miner]));
    assert_eq!(hashes.as_array().unwrap().len(), 101);
    assert_eq!(node.ok("getblockcount", json!([])), json!(101));
    assert_eq!(node.ok("getbestblockhash", json!([])), hashes[100]);
    assert_eq!(node.ok("getblockhash", json!([1])), hashes[0]);

    let utxos = node.ok("getaddressutxos", json!([[miner]]));
    let utxos = utxos.as_array().unwrap();
    assert_eq!(utxos.len(), 101);
    // One coinbase per block, listed by height.
    let heights: Vec<u64> = utxos
        .iter()
        .map(|u| u["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, (1..=101).collect::<Vec<u64>>());
    let first = utxos.iter().find(|u| u["height"] == json!(1)).unwrap();
    assert_eq!(first["confirmations"], json!(101));
    assert_eq!(first["amount"], json!(5_000_000_000u64));
    assert_eq!(first["coinbase"], json!(true));

    // The coinbase of block 1 is mature at height 102: spend it.
    let txid: TxId = first["txid"].as_str().unwrap().parse().unwrap();
    let op = OutPoint { txid, vout: 0 };
    let coin = Coin {
        amount: Amount::from_units(5_000_000_000),
        address: address(&key(1)),
        height: Height(1),
        is_coinbase: true,
    };
    let params = Network::Regtest.params();
    let tx = spend(
        &params,
        &[(op, coin, &key(1))],
        vec![
            TxOut::pay(Amount::from_units(1_250_000_000), address(&key(2))),
            TxOut::pay(Amount::from_units(3_749_990_000), address(&key(1))),
        ],
    );
    let accepted = node.ok("testmempoolaccept", json!([[hex::encode(tx.to_bytes())]]));
    assert_eq!(accepted[0]["allowed"], json!(true));
    assert_eq!(accepted[0]["fees"]["base"], json!(10_000));
    let sent = node.ok("sendrawtransaction", json!([hex::encode(tx.to_bytes())]));
    assert_eq!(sent, json!(tx.txid().to_hex()));
    assert_eq!(
        node.ok("getrawmempool", json!([])),
        json!([tx.txid().to_hex()])
    );
    let info = node.ok("getmempoolinfo", json!([]));
    assert_eq!(info["size"], json!(1));
    assert_eq!(info["bytes"], json!(tx.size()));
    let verbose = node.ok("getrawmempool", json!([true]));
    assert_eq!(verbose[tx.txid().to_hex()]["fee"], json!(10_000));
    let pending = node.ok("getaddressutxos", json!([[addr_of(2)]]));
    assert_eq!(pending[0]["confirmations"], json!(0));
    // getrawtransaction finds a mempool transaction by txid, a confirmed one only
    // with its block hash (there is no txindex).
    let raw_hex = json!(hex::encode(tx.to_bytes()));
    assert_eq!(
        node.ok("getrawtransaction", json!([tx.txid().to_hex()])),
        raw_hex
    );
    let verbose_tx = node.ok("getrawtransaction", json!([tx.txid().to_hex(), true]));
    assert_eq!(verbose_tx["hex"], raw_hex);
    assert_eq!(verbose_tx["vout"][0]["value"], json!(1_250_000_000));
    assert_eq!(
        node.call("getrawtransaction", json!(["00".repeat(32)]))["error"]["code"],
        json!(-5)
    );
    let block = node.ok("generatetoaddress", json!([1, miner]));
    assert_eq!(
        node.call("getrawtransaction", json!([tx.txid().to_hex()]))["error"]["code"],
        json!(-5),
        "no longer in the mempool"
    );
    assert_eq!(
        node.ok(
            "getrawtransaction",
            json!([tx.txid().to_hex(), false, block[0]])
        ),
        raw_hex
    );
    let got = node.ok("getblock", json!([block[0], 1]));
    assert_eq!(got["nTx"], json!(2));
    assert_eq!(got["height"], json!(102));
    // Verbosity 0 is the canonical hex; 2 expands the transactions.
    let raw = node.ok("getblock", json!([block[0], 0]));
    let decoded: chain_node::Block =
        chain_node::encoding::decode_exact(&hex::decode(raw.as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(json!(decoded.hash().to_hex()), block[0]);
    let full = node.ok("getblock", json!([block[0], 2]));
    assert_eq!(full["tx"][1]["txid"], json!(tx.txid().to_hex()));
    assert_eq!(full["tx"][1]["vin"][0]["txid"], json!(txid.to_hex()));
    assert_eq!(full["tx"][1]["vout"][0]["value"], json!(1_250_000_000));
    let header_hex = node.ok("getblockheader", json!([block[0], false]));
    assert_eq!(header_hex.as_str().unwrap().len(), 160);
    assert_eq!(
        node.ok("getblockheader", json!([block[0]]))["previousblockhash"],
        hashes[100]
    );
    let out = node.ok("gettxout", json!([tx.txid().to_hex(), 0]));
    assert_eq!(out["value"], json!(1_250_000_000));
    assert_eq!(out["confirmations"], json!(1));
    assert_eq!(out["address"], json!(addr_of(2)));
    assert_eq!(
        node.ok("gettxout", json!([txid.to_hex(), 0])),
        Value::Null,
        "spent"
    );
    let info = node.ok("getblockchaininfo", json!([]));
    assert_eq!(info["chain"], json!("regtest"));
    assert_eq!(info["blocks"], json!(102));
    let tip = node.ok("getbestblockhash", json!([]));
    node.stop();
    assert!(
        !dir.join(".cookie").exists(),
        "cookie removed on clean stop"
    );

    let node = NodeProcess::start(&dir);
    assert_ne!(node.cookie(), first_cookie, "cookie rewritten at start");
    assert_eq!(node.ok("getblockcount", json!([])), json!(102));
    assert_eq!(node.ok("getbestblockhash", json!([])), tip);
    assert_eq!(
        node.ok("getaddressutxos", json!([[addr_of(2)]]))[0]["amount"],
        json!(1_250_000_000)
    );
    assert_eq!(
        node.ok("getaddressutxos", json!([[miner]]))
            .as_array()
            .unwrap()
            .len(),
        102
    );
    node.stop();
}

#[test]
fn kill_9_during_mining_then_restart_is_consistent() {
    let dir = temp_dir("bin-crash");
    let node = NodeProcess::start(&dir);
    let miner = addr_of(3);
    let port = node.port;
    let cookie = node.cookie();
    // Mine in the background; kill the process while it is mining.
    let miner_addr = miner.clone();
    let worker = crate::process::call_in_background(
        port,
        cookie,
        "generatetoaddress",
        json!([100_000, miner_addr]),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while node.ok("getblockcount", json!([])).as_u64().unwrap() < 30 {
        assert!(Instant::now() < deadline, "mining did not progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    node.kill9();
    worker.join().unwrap();

    let node = NodeProcess::start(&dir);
    let height = node.ok("getblockcount", json!([])).as_u64().unwrap();
    assert!(height >= 30);
    // A fully connected tip: one coinbase coin per block, every block reachable.
    let utxos = node.ok("getaddressutxos", json!([[miner]]));
    assert_eq!(utxos.as_array().unwrap().len() as u64, height);
    let tip = node.ok("getbestblockhash", json!([]));
    assert_eq!(node.ok("getblockhash", json!([height])), tip);
    let header = node.ok("getblockheader", json!([tip]));
    assert_eq!(header["height"], json!(height));
    // And it keeps working.
    node.ok("generatetoaddress", json!([2, miner]));
    assert_eq!(node.ok("getblockcount", json!([])), json!(height + 2));
    node.stop();
    // Reindex rebuilds the same UTXO set from the stored blocks.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chain-node"))
        .args(["reindex", "--json", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["height"], json!(height + 2));
    let node = NodeProcess::start(&dir);
    assert_eq!(
        node.ok("getaddressutxos", json!([[miner]]))
            .as_array()
            .unwrap()
            .len() as u64,
        height + 2
    );
    node.stop();
}

#[test]
fn invalidateblock_and_reconsiderblock_reorg() {
    let dir = temp_dir("bin-reorg");
    let node = NodeProcess::start(&dir);
    let a = node.ok("generatetoaddress", json!([5, addr_of(4)]));
    node.ok("invalidateblock", json!([a[2]]));
    assert_eq!(node.ok("getblockcount", json!([])), json!(2));
    let b = node.ok("generatetoaddress", json!([4, addr_of(5)]));
    assert_eq!(node.ok("getblockcount", json!([])), json!(6));
    let tips = node.ok("getchaintips", json!([]));
    let invalid = tips
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["hash"] == a[4])
        .unwrap();
    assert_eq!(invalid["status"], json!("invalid"));
    assert_eq!(invalid["branchlen"], json!(3));
    // Reconsidering the shorter branch changes nothing active.
    node.ok("reconsiderblock", json!([a[2]]));
    assert_eq!(node.ok("getbestblockhash", json!([])), b[3]);
    let tips = node.ok("getchaintips", json!([]));
    assert_eq!(
        tips.as_array()
            .unwrap()
            .iter()
            .find(|t| t["hash"] == a[4])
            .unwrap()["status"],
        json!("valid-fork")
    );
    // Invalidating the new branch reorgs back to the old one.
    node.ok("invalidateblock", json!([b[0]]));
    assert_eq!(node.ok("getbestblockhash", json!([])), a[4]);
    assert_eq!(node.ok("getaddressutxos", json!([[addr_of(5)]])), json!([]));
    assert_eq!(
        node.ok("getaddressutxos", json!([[addr_of(4)]]))
            .as_array()
            .unwrap()
            .len(),
        5
    );
    node.stop();
}

#[test]
fn bad_requests_get_errors_and_the_node_keeps_running() {
    let dir = temp_dir("bin-bad");
    let node = NodeProcess::start(&dir);
    let good = json!({"jsonrpc": "2.0", "id": 1, "method": "getblockcount"}).to_string();
    assert_eq!(node.post("POST", &good, None).0, 401);
    assert_eq!(node.post("POST", &good, Some("__cookie__:nope")).0, 401);
    assert_eq!(node.post("GET", "", Some(&node.cookie())).0, 405);
    // Not JSON: Core's legacy error reply, HTTP 500.
    let (status, body) = node.post("POST", "{not json", Some(&node.cookie()));
    assert_eq!(status, 500);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        json!(-32700)
    );
    let code = |method: &str, params: Value| node.call(method, params)["error"]["code"].clone();
    assert_eq!(code("nosuchmethod", json!([])), json!(-32601));
    // A missing parameter is -1 and a mistyped one -3, as Core answers them.
    assert_eq!(code("getblockhash", json!([])), json!(-1));
    assert_eq!(code("getblockhash", json!(["1"])), json!(-3));
    assert_eq!(code("getblockhash", json!([-1])), json!(-8));
    assert_eq!(code("getblockhash", json!([99])), json!(-8));
    assert_eq!(code("getblock", json!(["00".repeat(32)])), json!(-5));
    assert_eq!(code("getblock", json!(["xyz"])), json!(-8));
    assert_eq!(
        code("generatetoaddress", json!([1, "tcn1notanaddress"])),
        json!(-5)
    );
    // A testnet address is refused on regtest.
    let testnet_addr = address(&key(6)).encode(Network::Testnet);
    assert_eq!(
        code("generatetoaddress", json!([1, testnet_addr])),
        json!(-5)
    );
    assert_eq!(code("sendrawtransaction", json!(["zz"])), json!(-22));
    assert_eq!(code("sendrawtransaction", json!(["0100"])), json!(-22));
    assert_eq!(code("submitblock", json!(["00"])), json!(-22));
    // A well-formed transaction spending nothing that exists.
    let params = Network::Regtest.params();
    let fake = Coin {
        amount: Amount::from_units(1000),
        address: address(&key(7)),
        height: Height(1),
        is_coinbase: false,
    };
    let tx = spend(
        &params,
        &[(
            OutPoint {
                txid: TxId([1; 32]),
                vout: 0,
            },
            fake,
            &key(7),
        )],
        vec![TxOut::pay(Amount::from_units(500), address(&key(8)))],
    );
    let err = node.call("sendrawtransaction", json!([hex::encode(tx.to_bytes())]));
    assert_eq!(err["error"]["code"], json!(-25));
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown or spent")
    );
    // A block with a bad proof of work is rejected with a reason.
    let mut block = params.genesis.clone();
    block.header.prev = params.genesis_hash();
    block.header.nonce = 0;
    while chain_node::pow::Target::from_compact(block.header.bits)
        .unwrap()
        .is_met_by(&block.hash())
    {
        block.header.nonce += 1;
    }
    let rejected = node.ok("submitblock", json!([hex::encode(block.to_bytes())]));
    assert!(
        rejected.as_str().unwrap().starts_with("rejected"),
        "{rejected}"
    );
    // A batch, and the node is still up.
    let (_, body) = node.post("POST", &json!([{"jsonrpc": "2.0", "id": 1, "method": "getblockcount"}, {"jsonrpc": "2.0", "id": 2, "method": "nope"}]).to_string(), Some(&node.cookie()));
    let batch: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(batch[0]["result"], json!(0));
    assert_eq!(batch[1]["error"]["code"], json!(-32601));
    // A notification (no id) runs but gets no body.
    let (status, body) = node.post(
        "POST",
        &json!({"jsonrpc": "2.0", "method": "getblockcount"}).to_string(),
        Some(&node.cookie()),
    );
    assert_eq!((status, body.as_str()), (204, ""));
    assert_eq!(node.ok("getblockcount", json!([])), json!(0));
    node.stop();
}

#[test]
fn non_loopback_rpc_is_refused_and_help_is_clear() {
    let dir = temp_dir("bin-remote");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chain-node"))
        .args([
            "--network",
            "regtest",
            "--rpc-listen",
            "0.0.0.0:0",
            "--data",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--rpc-allow-remote"),
        "{err}"
    );
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_chain-node"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--network", "--data", "--rpc-listen", "reindex", ".cookie"] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    // Another network's data directory is refused with advice.
    let regtest = temp_dir("bin-wrong-net");
    NodeProcess::start(&regtest).stop();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chain-node"))
        .args([
            "--network",
            "testnet",
            "--rpc-listen",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(&regtest)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("use another --data directory"));
}

#[test]
fn getblocktemplate_and_submitblock_round_trip() {
    use chain_node::pow::{CompactTarget, Target};
    use chain_node::{Block, Header, Transaction};
    let dir = temp_dir("bin-gbt");
    let node = NodeProcess::start(&dir);
    node.ok("generatetoaddress", json!([3, addr_of(9)]));
    let t = node.ok("getblocktemplate", json!([]));
    assert_eq!(t["height"], json!(4));
    assert_eq!(t["coinbasevalue"], json!(5_000_000_000u64));
    // An external miner builds the coinbase and header from the template.
    let coinbase = Transaction::coinbase(
        Height(4),
        b"external".to_vec(),
        vec![
            TxOut::pay(Amount::from_units(5_000_000_000), address(&key(9))),
            TxOut {
                amount: Amount::ZERO,
                kind: chain_node::OutputKind::Burn(
                    hex::decode(t["namestatecommitment"].as_str().unwrap()).unwrap(),
                ),
            },
        ],
    );
    let bits = CompactTarget(u32::from_str_radix(t["bits"].as_str().unwrap(), 16).unwrap());
    let mut header = Header {
        version: 1,
        prev: t["previousblockhash"].as_str().unwrap().parse().unwrap(),
        merkle_root: crate::helpers::commitment(std::slice::from_ref(&coinbase)),
        time: t["curtime"].as_u64().unwrap() as u32,
        bits,
        nonce: 0,
    };
    let target = Target::from_compact(bits).unwrap();
    while !target.is_met_by(&header.hash()) {
        header.nonce += 1;
    }
    let block = Block {
        header,
        txs: vec![coinbase],
    };
    assert_eq!(
        node.ok("submitblock", json!([hex::encode(block.to_bytes())])),
        Value::Null
    );
    assert_eq!(
        node.ok("getbestblockhash", json!([])),
        json!(block.hash().to_hex())
    );
    assert_eq!(
        node.ok("submitblock", json!([hex::encode(block.to_bytes())])),
        json!("duplicate")
    );
    // A coinbase that claims one unit too many is rejected with the rule's reason.
    let greedy_cb = Transaction::coinbase(
        Height(5),
        vec![],
        vec![TxOut::pay(
            Amount::from_units(5_000_000_001),
            address(&key(9)),
        )],
    );
    let mut greedy = Header {
        prev: block.hash(),
        merkle_root: crate::helpers::commitment(std::slice::from_ref(&greedy_cb)),
        time: header.time + 1,
        nonce: 0,
        ..header
    };
    while !target.is_met_by(&greedy.hash()) {
        greedy.nonce += 1;
    }
    let greedy = Block {
        header: greedy,
        txs: vec![greedy_cb],
    };
    let reason = node.ok("submitblock", json!([hex::encode(greedy.to_bytes())]));
    assert!(
        reason.as_str().unwrap().contains("coinbase pays"),
        "{reason}"
    );
    assert_eq!(node.ok("getblockcount", json!([])), json!(4));
    node.stop();
}

#[test]
fn kill_9_around_a_deep_invalidateblock_then_restart_is_consistent() {
    let dir = temp_dir("bin-crash-reorg");
    let node = NodeProcess::start(&dir);
    let miner = addr_of(10);
    let hashes = node.ok("generatetoaddress", json!([300, miner]));
    let port = node.port;
    let cookie = node.cookie();
    let target = hashes[4].as_str().unwrap().to_owned();
    // Disconnecting 296 blocks takes one flushed batch each. The RPC lock hides progress,
    // so the kill lands somewhere before, during or after; every case must recover. The
    // exact crash window (mark persisted, blocks not yet disconnected) is reproduced
    // deterministically in `chain::invalid_mark_without_disconnect_is_rewound_at_open`.
    let worker =
        crate::process::call_in_background(port, cookie, "invalidateblock", json!([target]));
    std::thread::sleep(Duration::from_millis(30));
    node.kill9();
    worker.join().unwrap();
    let node = NodeProcess::start(&dir);
    // Whatever the moment of the kill, the node finishes the job: the invalid block and
    // everything above it are off the active chain, and the UTXO set matches the tip.
    assert_eq!(node.ok("getblockcount", json!([])), json!(4));
    assert_eq!(node.ok("getbestblockhash", json!([])), hashes[3]);
    assert_eq!(
        node.ok("getaddressutxos", json!([[miner]]))
            .as_array()
            .unwrap()
            .len(),
        4
    );
    node.stop();
}

#[test]
fn readme_flow_keygen_mine_mature_spend() {
    let dir = temp_dir("bin-readme");
    let keyfile = dir.join("miner.key");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_chain-node"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[
        "keygen",
        "--json",
        "--network",
        "regtest",
        "--out",
        keyfile.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    let miner = made["address"].as_str().unwrap().to_owned();
    let secret = std::fs::read_to_string(&keyfile).unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(secret.trim()),
        "secret never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&keyfile).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let again = run(&["keygen", "--out", keyfile.to_str().unwrap()]);
    assert!(
        !again.status.success(),
        "an existing key file is never overwritten"
    );
    assert_eq!(std::fs::read_to_string(&keyfile).unwrap(), secret);

    let node = NodeProcess::start(&dir);
    assert_eq!(
        node.ok("validateaddress", json!([miner]))["isvalid"],
        json!(true)
    );
    assert_eq!(
        node.ok("validateaddress", json!(["rcn1xyz"]))["isvalid"],
        json!(false)
    );
    node.ok("generatetoaddress", json!([101, miner]));
    let utxos = node.ok("getaddressutxos", json!([[miner]]));
    let first = utxos
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["height"] == json!(1))
        .unwrap()
        .clone();
    assert_eq!(first["confirmations"], json!(101));
    let mine = chain_node::keyfile::read(&keyfile).unwrap();
    let op = OutPoint {
        txid: first["txid"].as_str().unwrap().parse().unwrap(),
        vout: 0,
    };
    let coin = Coin {
        amount: Amount::from_units(5_000_000_000),
        address: address(&mine),
        height: Height(1),
        is_coinbase: true,
    };
    let tx = spend(
        &Network::Regtest.params(),
        &[(op, coin, &mine)],
        vec![TxOut::pay(
            Amount::from_units(4_999_990_000),
            address(&key(11)),
        )],
    );
    node.ok("sendrawtransaction", json!([hex::encode(tx.to_bytes())]));
    node.ok("generatetoaddress", json!([1, miner]));
    assert_eq!(
        node.ok("gettxout", json!([tx.txid().to_hex(), 0]))["confirmations"],
        json!(1)
    );
    node.stop();
}

#[test]
fn accepted_transactions_survive_kill_9() {
    let dir = temp_dir("bin-mempool-crash");
    let node = NodeProcess::start(&dir);
    let miner = addr_of(12);
    node.ok("generatetoaddress", json!([102, miner]));
    let params = Network::Regtest.params();
    // Spend the coinbases of blocks 1 and 2; the second transaction's child spends the
    // first's output, so the restart must restore a parent before its child.
    let utxos = node.ok("getaddressutxos", json!([[miner]]));
    let coin_at = |h: u64| {
        let u = utxos
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["height"] == json!(h))
            .unwrap();
        (
            OutPoint {
                txid: u["txid"].as_str().unwrap().parse().unwrap(),
                vout: 0,
            },
            Coin {
                amount: Amount::from_units(5_000_000_000),
                address: address(&key(12)),
                height: Height(h as u32),
                is_coinbase: true,
            },
        )
    };
    let (op1, c1) = coin_at(1);
    let parent = spend(
        &params,
        &[(op1, c1, &key(12))],
        vec![TxOut::pay(
            Amount::from_units(4_999_990_000),
            address(&key(13)),
        )],
    );
    let child_coin = Coin {
        amount: Amount::from_units(4_999_990_000),
        address: address(&key(13)),
        height: Height(103),
        is_coinbase: false,
    };
    let child = spend(
        &params,
        &[(
            OutPoint {
                txid: parent.txid(),
                vout: 0,
            },
            child_coin,
            &key(13),
        )],
        vec![TxOut::pay(
            Amount::from_units(4_999_980_000),
            address(&key(14)),
        )],
    );
    let (op2, c2) = coin_at(2);
    let other = spend(
        &params,
        &[(op2, c2, &key(12))],
        vec![TxOut::pay(
            Amount::from_units(4_999_990_000),
            address(&key(14)),
        )],
    );
    for tx in [&parent, &child, &other] {
        node.ok("sendrawtransaction", json!([hex::encode(tx.to_bytes())]));
    }
    node.kill9();

    let node = NodeProcess::start(&dir);
    let mut pool: Vec<String> =
        serde_json::from_value(node.ok("getrawmempool", json!([]))).unwrap();
    pool.sort();
    let mut expected = vec![
        parent.txid().to_hex(),
        child.txid().to_hex(),
        other.txid().to_hex(),
    ];
    expected.sort();
    assert_eq!(pool, expected);
    let block = node.ok("generatetoaddress", json!([1, miner]));
    assert_eq!(node.ok("getblock", json!([block[0]]))["nTx"], json!(4));
    assert_eq!(node.ok("getrawmempool", json!([])), json!([]));
    node.kill9();
    // Confirmed transactions are not restored to the pool.
    let node = NodeProcess::start(&dir);
    assert_eq!(node.ok("getrawmempool", json!([])), json!([]));
    node.stop();
}
