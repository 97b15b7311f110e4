//! `wallet testnet up`: real `chain-node` processes started by the real `wallet`,
//! checked through their RPC and through other `wallet` commands.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::sibling_binary;

/// Regtest pays 50 coins a block at these heights.
const SUBSIDY: u64 = 50 * 100_000_000;

/// A running `wallet testnet up`; dropping it kills it and its nodes.
pub(crate) struct Testnet {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub(crate) ready: Value,
}

impl Testnet {
    pub(crate) fn up(dir: &Path, extra: &[&str]) -> Testnet {
        sibling_binary("chain-node", "chain-node");
        let mut child = Command::new(env!("CARGO_BIN_EXE_wallet"))
            .args(["--json", "testnet", "up", "--dir"])
            .arg(dir)
            .args(extra)
            .env_remove("WALLET_PASSPHRASE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(180))
            .expect("the network did not report ready in time");
        let ready: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(ready["ok"], json!(true), "{ready}");
        Testnet {
            child,
            lines,
            ready,
        }
    }

    /// Sends SIGTERM and returns the final report and the exit status.
    pub(crate) fn stop(mut self) -> (Value, std::process::ExitStatus) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let last = self
            .lines
            .recv_timeout(Duration::from_secs(120))
            .expect("no report after SIGTERM");
        let exit = self.child.wait().unwrap();
        (serde_json::from_str(&last).unwrap(), exit)
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

/// One JSON-RPC call with the node's cookie (`node` as in `testnet.json`).
pub(crate) fn rpc_result(
    node: &Value,
    method: &str,
    params: Value,
) -> Result<Value, wallet_cli::rpc::RpcError> {
    let client = wallet_cli::rpc::RpcClient::new(
        node["rpc_url"].as_str().unwrap(),
        Path::new(node["cookie_file"].as_str().unwrap()),
    )
    .unwrap();
    client.call(method, params)
}

/// One JSON-RPC call with the node's cookie, which must succeed.
pub(crate) fn rpc(node: &Value, method: &str, params: Value) -> Value {
    rpc_result(node, method, params).unwrap_or_else(|e| panic!("{method}: {e}"))
}

fn wallet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wallet"))
        .args(args)
        .env_remove("WALLET_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A GET of `url` (`http://127.0.0.1:PORT/...`): the status and the body.
fn get(url: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// Polls `f` until it holds, failing after a minute.
pub(crate) fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn testnet_up_starts_a_funded_peered_network_that_mines_on_demand_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let net = Testnet::up(&dir, &["--nodes", "3", "--automine"]);

    // testnet.json: the shape scripts rely on.
    let description: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("testnet.json")).unwrap()).unwrap();
    let nodes = description["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 3);
    let mut top: Vec<&str> = description
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    top.sort_unstable();
    assert_eq!(top, ["explorer_url", "namespace", "nodes", "wallet_dir"]);
    // The `id` namespace is launched at start-up with a short lifetime, and ready.
    assert_eq!(description["namespace"]["id"], "id");
    assert_eq!(description["namespace"]["status"], "ready");
    assert_eq!(description["namespace"]["lifetime"], 100);
    assert_eq!(net.ready["namespace"], description["namespace"]);
    let explorer = description["explorer_url"].as_str().unwrap().to_owned();
    assert!(explorer.starts_with("http://127.0.0.1:"), "{explorer}");
    assert_eq!(net.ready["explorer_url"], description["explorer_url"]);
    for node in &nodes {
        let mut keys: Vec<&str> = node
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["cookie_file", "data_dir", "p2p_addr", "rpc_url"]);
        assert!(
            node["rpc_url"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
        let p2p = node["p2p_addr"].as_str().unwrap();
        assert!(
            p2p.starts_with("/ip4/127.0.0.1/tcp/") && p2p.contains("/p2p/"),
            "{p2p}"
        );
        assert!(Path::new(node["cookie_file"].as_str().unwrap()).is_file());
        assert!(Path::new(node["data_dir"].as_str().unwrap()).is_dir());
    }
    let wallet_dir = PathBuf::from(description["wallet_dir"].as_str().unwrap());
    assert_eq!(net.ready["wallet_dir"], description["wallet_dir"]);
    assert_eq!(
        net.ready["mnemonic"].as_str().unwrap().split(' ').count(),
        24
    );

    // Every node is at 104 blocks on one chain: 101, then one each for the
    // namespace's preorder, reveal and ready.
    let tips: Vec<Value> = nodes
        .iter()
        .map(|n| rpc(n, "getbestblockhash", json!([])))
        .collect();
    assert!(tips.iter().all(|t| *t == tips[0]), "{tips:?}");
    for node in &nodes {
        assert_eq!(rpc(node, "getblockcount", json!([])), json!(104));
        assert_eq!(
            rpc(node, "getnamespaceinfo", json!(["id"]))["status"],
            "ready"
        );
    }

    // The development wallet works with --wallet alone: no passphrase, no node options.
    let w = wallet_dir.to_str().unwrap();
    let o = wallet(&["--json", "balance", "--wallet", w]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let balance: Value = serde_json::from_slice(&o.stdout).unwrap();
    // Every coinbase (fees included) came back to the wallet; only the namespace
    // price was burned: 0.04 coin for a 2-character id on regtest (docs/naming.md).
    let total = balance["confirmed"].as_u64().unwrap() + balance["immature"].as_u64().unwrap();
    assert_eq!(total, 104 * SUBSIDY - 4_000_000);
    assert_eq!(balance["pending"], json!(0));
    // The funded address (the wallet's first; the namespace's transactions added
    // change keys after it) holds the coinbases, less those the namespace's
    // transactions spent.
    let funded = rpc(
        &nodes[0],
        "getaddressutxos",
        json!([[net.ready["address"]]]),
    );
    assert!(funded.as_array().unwrap().len() >= 100, "{funded}");

    // A payment sent through node 1 is mined at once (--automine) and the block reaches
    // node 3.
    let o = wallet(&["address", "--new", "--wallet", w]);
    let to = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    let o = wallet(&[
        "--json", "send", "--wallet", w, "--to", &to, "--amount", "1.5",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let txid = serde_json::from_slice::<Value>(&o.stdout).unwrap()["txid"].clone();
    eventually("the payment in a block on node 3", || {
        rpc(&nodes[2], "getblockcount", json!([])) == json!(105)
    });
    let hash = rpc(&nodes[2], "getblockhash", json!([105]));
    let block = rpc(&nodes[2], "getblock", json!([hash, 1]));
    assert!(block["tx"].as_array().unwrap().contains(&txid), "{block}");

    // The explorer on node 1 shows that block, the payment in it, and node 1's peers.
    let hash = hash.as_str().unwrap();
    eventually("block 105 on the explorer's front page", || {
        get(&explorer).1.contains(hash)
    });
    let (status, page) = get(&format!("{explorer}block/{hash}"));
    assert_eq!(status, 200);
    assert!(page.contains(txid.as_str().unwrap()), "{page}");
    let (status, page) = get(&format!("{explorer}peers"));
    assert_eq!(status, 200);
    assert_eq!(
        page.matches("<td>outbound</td>").count() + page.matches("<td>inbound</td>").count(),
        2,
        "{page}"
    );

    // SIGTERM stops every node cleanly.
    let (last, exit) = net.stop();
    assert!(exit.success(), "{exit}");
    assert_eq!(
        (last["stopped"].clone(), last["clean"].clone()),
        (json!(3), json!(3)),
        "{last}"
    );
    for node in &nodes {
        assert!(!Path::new(node["cookie_file"].as_str().unwrap()).exists());
    }

    // Started again on the same directory: the same chain and wallet, no new words.
    let net = Testnet::up(&dir, &["--nodes", "3"]);
    assert!(net.ready["mnemonic"].is_null());
    assert_eq!(net.ready["height"], json!(105));
    assert_eq!(net.ready["namespace"]["status"], "ready");
    let o = wallet(&["--json", "balance", "--wallet", w]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, exit) = net.stop();
    assert!(exit.success());
}

#[test]
fn testnet_up_says_how_to_build_chain_node_when_it_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let alone = tmp.path().join("wallet");
    std::fs::copy(env!("CARGO_BIN_EXE_wallet"), &alone).unwrap();
    let o = Command::new(&alone)
        .args(["testnet", "up", "--dir"])
        .arg(tmp.path().join("net"))
        .env("PATH", tmp.path().join("nothing-here"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cargo build --release"), "{err}");
    assert!(!tmp.path().join("net").exists());
}

#[test]
fn testnet_up_refuses_bad_arguments_and_a_directory_that_holds_something_else() {
    sibling_binary("chain-node", "chain-node");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let d = dir.to_str().unwrap();
    for args in [
        vec!["testnet", "up", "--nodes", "0", "--dir", d],
        vec!["testnet", "up", "--nodes", "17", "--dir", d],
        vec!["testnet", "up", "--block-time", "0", "--dir", d],
        vec![
            "testnet",
            "up",
            "--automine",
            "--block-time",
            "5",
            "--dir",
            d,
        ],
        vec!["--wallet", "x", "testnet", "up", "--dir", d],
    ] {
        let o = wallet(&args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!dir.exists(), "{args:?} made the directory");
    }
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let o = wallet(&["testnet", "up", "--dir", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds no test network"));
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.txt"]);
}

/// A `wallet testnet up` killed with SIGKILL cannot stop its nodes itself; each node
/// reads the pipe the wallet held (`--stop-on-stdin-close`), sees it close, and stops
/// cleanly: it flushes and removes its cookie, and its port closes.
#[test]
fn testnet_up_killed_with_sigkill_leaves_no_node_running() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = Testnet::up(&dir.path().join("net"), &["--nodes", "2"]);
    let nodes = net.ready["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 2);
    for node in &nodes {
        assert!(Path::new(node["cookie_file"].as_str().unwrap()).exists());
        rpc(node, "getblockcount", json!([]));
    }
    net.child.kill().unwrap();
    net.child.wait().unwrap();
    for node in &nodes {
        let cookie = PathBuf::from(node["cookie_file"].as_str().unwrap());
        eventually("the node to remove its cookie", || !cookie.exists());
        let addr = node["rpc_url"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://")
            .to_owned();
        eventually("the node's RPC port to close", || {
            std::net::TcpStream::connect(&addr).is_err()
        });
    }
}
