//! The JSON-RPC server under hostile clients, in process over real TCP: stalled
//! bodies without credentials, idle and dripping crowds, absurd counts and sizes,
//! and a long `generatetoaddress` that must stop on `stop`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chain_node::rpc::{
    MAX_ADDRESSES, MAX_BATCH, MAX_BODY, MAX_GENERATE_BLOCKS, MAX_TEST_TRANSACTIONS, RpcConfig,
    RpcServer,
};
use chain_node::{MAX_TX_SIZE, Network, Node, NodeConfig};
use merkle_log::http::probe::Siege;
use serde_json::{Value, json};

/// How long an honest call may take while the server is under attack.
const HONEST: Duration = Duration::from_secs(1);

/// A node in a temporary directory with its RPC server.
struct Rpc {
    node: Node,
    server: Option<RpcServer>,
    addr: SocketAddr,
    auth: String,
    _dir: tempfile::TempDir,
}

impl Rpc {
    fn start(config: RpcConfig) -> Rpc {
        let dir = tempfile::tempdir().unwrap();
        let mut node_config = NodeConfig::new(Network::Regtest, dir.path().to_owned());
        node_config.mining_threads = 1;
        let node = Node::open(node_config).unwrap();
        let server =
            RpcServer::start_with(node.clone(), "127.0.0.1:0".parse().unwrap(), config).unwrap();
        let cookie = std::fs::read_to_string(server.cookie_path()).unwrap();
        Rpc {
            node,
            addr: server.local_addr(),
            server: Some(server),
            auth: base64::engine::general_purpose::STANDARD.encode(cookie),
            _dir: dir,
        }
    }

    fn server(&self) -> &RpcServer {
        self.server.as_ref().unwrap()
    }

    /// One authenticated POST of `body`; (status, headers and body as text).
    fn post(&self, body: &[u8], limit: Duration) -> std::io::Result<(u16, String)> {
        let head = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic {}\r\nContent-Length: {}\r\n\r\n",
            self.auth,
            body.len()
        );
        exchange(self.addr, &[head.as_bytes(), body].concat(), limit)
    }

    /// A call answered within `limit`; returns the whole response object.
    fn call_within(&self, method: &str, params: Value, limit: Duration) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (status, text) = self
            .post(body.to_string().as_bytes(), limit)
            .unwrap_or_else(|e| panic!("{method}: no answer within {limit:?}: {e}"));
        assert_eq!(status, 200, "{method}: {text}");
        serde_json::from_str(body_of(&text)).unwrap()
    }

    fn call(&self, method: &str, params: Value) -> Value {
        self.call_within(method, params, Duration::from_secs(60))
    }

    /// `getblockcount`, answered within [`HONEST`].
    fn honest_block_count(&self) -> u64 {
        self.call_within("getblockcount", json!([]), HONEST)["result"]
            .as_u64()
            .unwrap()
    }

    fn error_code(&self, method: &str, params: Value) -> (i64, String) {
        let r = self.call(method, params);
        (
            r["error"]["code"].as_i64().unwrap_or_else(|| panic!("{r}")),
            r["error"]["message"].as_str().unwrap().to_owned(),
        )
    }

    fn stop(mut self) {
        self.server.take().unwrap().stop(&self.node).unwrap();
    }
}

/// Sends `raw` and reads until the server closes or `limit` passes since the start.
fn exchange(addr: SocketAddr, raw: &[u8], limit: Duration) -> std::io::Result<(u16, String)> {
    let deadline = Instant::now() + limit;
    let mut s = TcpStream::connect_timeout(&addr, limit)?;
    s.set_write_timeout(Some(limit))?;
    s.write_all(raw)?;
    let mut got = Vec::new();
    let mut buf = [0u8; 16 << 10];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        s.set_read_timeout(Some(left))?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // A server that answers and closes before reading all we sent resets.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !got.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, text))
}

fn body_of(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// Checks `f` every 20 ms until it holds or `limit` passes; returns whether it held.
pub(crate) fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while !f() {
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn miner() -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    chain_node::Address::from_pubkey(key.verifying_key().as_bytes()).encode(Network::Regtest)
}

#[test]
fn stalled_bodies_without_credentials_get_401_at_once_and_block_no_one() {
    let rpc = Rpc::start(RpcConfig::default());
    let head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
    // One of them, read: 401 with a challenge, before any byte of the body.
    let (status, text) = exchange(rpc.addr, head, HONEST).unwrap();
    assert_eq!(status, 401, "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("www-authenticate: basic realm=\"jsonrpc\""),
        "{text}"
    );
    // The attack as measured against the old server used 4; use 64.
    let siege = Siege::silent(rpc.addr, 64, head).unwrap();
    assert!(eventually(Duration::from_secs(10), || siege
        .closed_by_server()
        == 64));
    assert_eq!(rpc.honest_block_count(), 0);
    // With credentials, stalled bodies hold a connection each until the body
    // deadline, but no call thread: calls go on.
    let authed = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\nContent-Length: 5000\r\n\r\n",
        rpc.auth
    );
    let stalled = Siege::silent(rpc.addr, 64, authed.as_bytes()).unwrap();
    assert_eq!(rpc.honest_block_count(), 0);
    assert_eq!(stalled.closed_by_server(), 0);
    drop((siege, stalled));
    rpc.stop();
}

#[test]
fn idle_and_dripping_crowds_do_not_keep_calls_waiting() {
    let rpc = Rpc::start(RpcConfig::default());
    let cap = RpcConfig::default().http.max_connections;
    let idle = Siege::silent(rpc.addr, 1500, b"").unwrap();
    assert!(eventually(Duration::from_secs(10), || rpc
        .server()
        .http_stats()
        .accepted
        >= 1500));
    assert!(rpc.server().http_stats().open <= cap);
    assert_eq!(rpc.honest_block_count(), 0);
    drop(idle);
    let drip = Siege::drip(rpc.addr, 1000, Duration::from_secs(1)).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(rpc.honest_block_count(), 0);
    assert!(rpc.server().http_stats().open <= cap);
    drop(drip);
    rpc.stop();
}

#[test]
fn absurd_counts_and_sizes_get_errors_and_the_node_stays_up() {
    let rpc = Rpc::start(RpcConfig::default());
    let miner = miner();
    // Counts the node will not serve: -8, naming the bound.
    let (code, message) = rpc.error_code("generatetoaddress", json!([1_000_000_000u64, miner]));
    assert_eq!(code, -8, "{message}");
    assert!(
        message.contains(&MAX_GENERATE_BLOCKS.to_string()),
        "{message}"
    );
    let (code, _) = rpc.error_code("generatetoaddress", json!([u64::MAX, miner]));
    assert_eq!(code, -8);
    assert_eq!(
        rpc.error_code("generatetoaddress", json!([1e30, miner])).0,
        -3
    );
    assert_eq!(rpc.error_code("getblockhash", json!([u64::MAX])).0, -8);
    let txs = vec!["00"; MAX_TEST_TRANSACTIONS + 1];
    let (code, message) = rpc.error_code("testmempoolaccept", json!([txs]));
    assert_eq!(code, -8, "{message}");
    assert!(message.contains(&MAX_TEST_TRANSACTIONS.to_string()));
    let addrs = vec![miner.clone(); MAX_ADDRESSES + 1];
    let (code, message) = rpc.error_code("getaddressutxos", json!([addrs]));
    assert_eq!(code, -8, "{message}");
    let huge_tx = "00".repeat(MAX_TX_SIZE + 1);
    let (code, message) = rpc.error_code("sendrawtransaction", json!([huge_tx]));
    assert_eq!(code, -22, "{message}");
    // A batch at the bound is served; one call more is refused whole.
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "getblockcount"});
    let batch = Value::Array(vec![call.clone(); MAX_BATCH]).to_string();
    let (status, text) = rpc.post(batch.as_bytes(), Duration::from_secs(60)).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(body_of(&text))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        MAX_BATCH
    );
    let batch = Value::Array(vec![call; MAX_BATCH + 1]).to_string();
    let (status, text) = rpc.post(batch.as_bytes(), Duration::from_secs(60)).unwrap();
    // -32600 is HTTP 400, as Core maps it.
    assert_eq!(status, 400);
    let reply: Value = serde_json::from_str(body_of(&text)).unwrap();
    assert_eq!(reply["error"]["code"], json!(-32600), "{reply}");
    // A million empty calls in a body under the cap: refused after the first 1,001.
    let mut flood = String::from("[");
    flood.push_str(&"{},".repeat(1_000_000));
    flood.push_str("{}]");
    assert!(flood.len() < MAX_BODY);
    let (status, text) = rpc.post(flood.as_bytes(), Duration::from_secs(60)).unwrap();
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(body_of(&text)).unwrap()["error"]["code"],
        json!(-32600)
    );
    // Bodies over the cap, declared or sent; lengths that are not lengths.
    let auth = format!("Authorization: Basic {}\r\n", rpc.auth);
    let over = MAX_BODY + 1;
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (
            format!("POST / HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {over}\r\n\r\n").into_bytes(),
            413,
        ),
        (
            // A chunk longer than the cap, sent up to one byte past it.
            format!("POST / HTTP/1.1\r\nHost: x\r\n{auth}Transfer-Encoding: chunked\r\n\r\n{:x}\r\n", over + 100)
                .into_bytes()
                .into_iter()
                .chain(std::iter::repeat_n(b' ', over))
                .collect(),
            413,
        ),
        (
            format!("POST / HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: -1\r\n\r\n").into_bytes(),
            400,
        ),
        (
            format!("POST / HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 18446744073709551616\r\n\r\n")
                .into_bytes(),
            400,
        ),
        (
            format!("POST / HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}")
                .into_bytes(),
            400,
        ),
    ];
    for (raw, want) in &cases {
        let (status, text) = exchange(rpc.addr, raw, Duration::from_secs(30)).unwrap();
        assert_eq!(status, *want, "{}", &text[..text.len().min(200)]);
        assert_eq!(rpc.honest_block_count(), 0);
    }
    // Still up, and still mining what it is asked for.
    let mined = rpc.call("generatetoaddress", json!([2, miner]));
    assert_eq!(mined["result"].as_array().unwrap().len(), 2);
    assert_eq!(rpc.honest_block_count(), 2);
    rpc.stop();
}

#[test]
fn a_long_generatetoaddress_leaves_a_thread_for_others_and_ends_on_stop() {
    let mut rpc = Rpc::start(RpcConfig {
        threads: 2,
        ..RpcConfig::default()
    });
    let (addr, auth) = (rpc.addr, rpc.auth.clone());
    let miner = miner();
    let mining = std::thread::spawn(move || {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "generatetoaddress", "params": [MAX_GENERATE_BLOCKS, miner]}).to_string();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic {auth}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        exchange(
            addr,
            format!("{head}{body}").as_bytes(),
            Duration::from_secs(120),
        )
    });
    // The miner holds one of the two call threads; the other answers.
    assert!(eventually(Duration::from_secs(60), || rpc
        .honest_block_count()
        >= 5));
    let stopped = rpc.call("stop", json!([]));
    assert_eq!(stopped["result"], json!("chain-node stopping"));
    let (status, text) = mining.join().unwrap().unwrap();
    assert_eq!(status, 200);
    let reply: Value = serde_json::from_str(body_of(&text)).unwrap();
    assert_eq!(reply["error"]["code"], json!(-28), "{reply}");
    rpc.server.take().unwrap().wait().unwrap();
    // The `stop` call shut the node down; the tip it closed at is still told.
    assert!(rpc.node.tip().is_err());
    let height = u64::from(rpc.node.shutdown().unwrap().0.0);
    assert!((5..MAX_GENERATE_BLOCKS).contains(&height), "{height}");
    assert!(!rpc._dir.path().join(".cookie").exists());
}

#[test]
fn sigterm_stops_the_binary_cleanly_and_removes_the_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = crate::process::NodeProcess::start(dir.path());
    assert!(dir.path().join(".cookie").exists());
    let child = &mut node.child;
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let end = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < end, "the node did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    assert!(!dir.path().join(".cookie").exists());
}
