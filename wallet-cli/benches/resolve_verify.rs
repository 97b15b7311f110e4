//! `wallet name resolve NAME --verify` end to end on a long chain: a regtest
//! `chain-node` process, the `wallet` binary, and a name registered through the
//! wallet's own commands (namespace create, then register with a zone file) on a chain
//! mined to BLOCKS blocks.
//!
//! ```text
//! cargo bench -p wallet-cli --bench resolve_verify -- [BLOCKS]
//! ```
//!
//! Default: 10,000 blocks, 20 runs of each command (`BENCH_RUNS`). Each run is a whole
//! `wallet` process, timed from spawn to exit. Printed:
//!
//! - p50 and p90 of `resolve --verify`, of the plain `resolve`, of `wallet --version`
//!   (a process that starts and exits) and of `wallet address` (one unlock of a
//!   wallet sealed with a passphrase, which `resolve` did before it used `NodeLink`);
//! - the physical limit measured in the same run: the raw double SHA-256 of as many
//!   80-byte headers as the proof needs (genesis to the tip), one core;
//! - the bytes each command moves between the wallet and the node, counted by a TCP
//!   relay in front of the node;
//! - where the time goes: the wallet's proven lookup (`name_verify::verify_lookup`)
//!   in this process, then its parts one by one: the RPC calls (the header pages read
//!   as bytes, their JSON parsed, their hex decoded), the node's hex encoding of the
//!   same headers, and the light verifier's header checks. The hex rows also time
//!   `hex::decode` and `hex::encode`, which the wallet and the node used before.
#![allow(
    missing_docs,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use wallet_cli::rpc::RpcClient;

#[allow(dead_code)]
#[path = "../tests/it/common.rs"]
mod common;
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/names.rs"]
mod names;
#[allow(dead_code)]
#[path = "../tests/it/node_flows.rs"]
mod node_flows;

use names::W;
use node_flows::Node;

const NAME: &str = "alice.id";
const ZONE: &str = "$ORIGIN alice.id\n@ 3600 IN TXT \"hello\"\n";

/// A TCP relay on 127.0.0.1 in front of the node that counts the bytes each way.
struct Relay {
    url: String,
    to_node: Arc<AtomicU64>,
    from_node: Arc<AtomicU64>,
}

impl Relay {
    fn start(node_url: &str) -> Relay {
        let target = node_url.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (to_node, from_node) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (up, down) = (to_node.clone(), from_node.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let client = client.unwrap();
                let server = TcpStream::connect(&target).unwrap();
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (up, down) = (up.clone(), down.clone());
                std::thread::spawn(move || pump(client, server, &up));
                std::thread::spawn(move || pump(s2, c2, &down));
            }
        });
        Relay {
            url,
            to_node,
            from_node,
        }
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.to_node.load(Ordering::SeqCst),
            self.from_node.load(Ordering::SeqCst),
        )
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, count: &AtomicU64) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                count.fetch_add(n as u64, Ordering::SeqCst);
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// The `p`-th percentile (nearest rank) of `samples`, in milliseconds.
fn percentile(samples: &[Duration], p: f64) -> f64 {
    let mut s: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    s.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
    s[rank.min(s.len()) - 1]
}

fn report(what: &str, samples: &[Duration]) -> f64 {
    let p50 = percentile(samples, 50.0);
    println!(
        "{what:<52} p50 {p50:>8.1} ms   p90 {:>8.1} ms   ({} runs)",
        percentile(samples, 90.0),
        samples.len()
    );
    p50
}

/// Runs `wallet` with `args` once; returns how long the process took and its output.
fn timed(cmd: &mut Command) -> (Duration, std::process::Output) {
    let started = Instant::now();
    let out = cmd.output().unwrap();
    (started.elapsed(), out)
}

/// Every header from genesis to `tip`, through `getblockheaders` (2,000 a call).
fn headers(rpc: &RpcClient, tip: u64) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    while (all.len() as u64) <= tip {
        let start = all.len() as u64;
        let count = (tip + 1 - start).min(2_000);
        let page = rpc.call("getblockheaders", json!([start, count])).unwrap();
        let list = page
            .as_array()
            .or_else(|| page.get("headers").and_then(Value::as_array))
            .unwrap();
        all.extend(
            list.iter()
                .map(|h| hex::decode(h.as_str().unwrap()).unwrap()),
        );
    }
    all
}

fn main() {
    let blocks: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let tmp = tempfile::tempdir().unwrap();
    let node = Node::start(&tmp.path().join("node"));
    let rpc = RpcClient::new(&node.url, &node.data.join(".cookie")).unwrap();
    let height = || {
        rpc.call("getblockcount", json!([]))
            .unwrap()
            .as_u64()
            .unwrap()
    };

    // The name, registered through the wallet's own commands while a second wallet
    // mines, then the chain mined on to `blocks`.
    let built = Instant::now();
    let alice = W::through(
        tmp.path().join("alice"),
        &node.url,
        &node.data,
        Some("pass"),
    );
    let miner = W::through(
        tmp.path().join("miner"),
        &node.url,
        &node.data,
        Some("pass"),
    );
    alice.ok(&["create"]);
    miner.ok(&["create"]);
    alice.ok(&["mine", "101"]);
    alice.ok_mining(&["namespace", "create", "id"], &miner);
    let zone = tmp.path().join("alice.zone");
    std::fs::write(&zone, ZONE).unwrap();
    let reg = alice.ok_mining(
        &[
            "name",
            "register",
            NAME,
            "--zonefile",
            zone.to_str().unwrap(),
        ],
        &miner,
    );
    assert_eq!(reg["state"], "revealed");
    let registered = height();
    assert!(
        registered < blocks,
        "{blocks} blocks is fewer than the set-up"
    );
    let mined = Instant::now();
    while height() < blocks {
        let n = (blocks - height()).min(1_000);
        miner.ok(&["mine", &n.to_string()]);
    }
    let mining = mined.elapsed();
    assert_eq!(height(), blocks);
    let tip = rpc
        .call("getblockheaders", json!([blocks, 1]))
        .unwrap()
        .as_array()
        .unwrap()[0]
        .as_str()
        .map(|h| hex::decode(h).unwrap())
        .unwrap();
    let tip_time = u32::from_le_bytes(tip[68..72].try_into().unwrap());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    println!(
        "chain of {blocks} blocks built in {:.1} s (name registered at height {registered}; \
         {} blocks mined by generatetoaddress in {:.1} s); the tip's time is {} s ahead of the \
         clock (a node accepts up to 7,200)",
        built.elapsed().as_secs_f64(),
        blocks - registered,
        mining.as_secs_f64(),
        i64::from(tip_time) - now as i64,
    );

    // Both commands answer, and answer the same.
    let verified = alice.ok(&["name", "resolve", NAME, "--verify"]);
    assert_eq!(verified["status"], "active");
    assert_eq!(verified["verified_height"], blocks);
    assert_eq!(verified["zonefile"], ZONE);
    let plain = alice.ok(&["name", "resolve", NAME]);
    assert_eq!(plain["owner"], verified["owner"]);
    assert_eq!(plain["zonefile"], ZONE);

    // Bytes between the wallet and the node, through the counting relay.
    let relay = Relay::start(&node.url);
    let through = W::through(
        tmp.path().join("alice"),
        &relay.url,
        &node.data,
        Some("pass"),
    );
    let mut bytes = Vec::new();
    for args in [
        vec!["name", "resolve", NAME, "--verify"],
        vec!["name", "resolve", NAME],
    ] {
        let before = relay.counts();
        through.ok(&args);
        let after = relay.counts();
        bytes.push((after.0 - before.0, after.1 - before.1));
    }

    // The whole programs, alternated so that both see the same load.
    let wallet = env!("CARGO_BIN_EXE_wallet");
    let (mut verify, mut resolve, mut version, mut unlock) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let command = |args: &[&str]| {
        let mut c = Command::new(wallet);
        c.arg("--json")
            .args(args)
            .arg("--wallet")
            .arg(tmp.path().join("alice"))
            .args(["--rpc", &node.url, "--node-data"])
            .arg(&node.data)
            .env("WALLET_PASSPHRASE", "pass");
        c
    };
    for _ in 0..runs {
        let (t, out) = timed(&mut command(&["name", "resolve", NAME, "--verify"]));
        assert!(out.status.success());
        verify.push(t);
        let (t, out) = timed(&mut command(&["name", "resolve", NAME]));
        assert!(out.status.success());
        resolve.push(t);
        let (t, out) = timed(Command::new(wallet).arg("--version"));
        assert!(out.status.success());
        version.push(t);
        let (t, out) = timed(&mut command(&["address"]));
        assert!(out.status.success());
        unlock.push(t);
    }

    // The physical limit: every header of the proof hashed once (double SHA-256 of
    // its 80 bytes), one core, the same headers.
    let all = headers(&rpc, blocks);
    assert_eq!(all.len() as u64, blocks + 1);
    let mut hashing = Vec::new();
    for _ in 0..runs.max(5) {
        let started = Instant::now();
        let mut acc = 0u8;
        for h in &all {
            acc ^= Sha256::digest(Sha256::digest(h))[0];
        }
        hashing.push(started.elapsed());
        std::hint::black_box(acc);
    }

    // Where the time goes, from this process: the RPC calls the verify makes, and the
    // light verifier on their answers.
    let cfg = wallet_cli::Config {
        network: chain_node::Network::Regtest,
        wallet_dir: tmp.path().join("alice"),
        rpc_url: node.url.clone(),
        cookie: node.data.join(".cookie"),
        empty_passphrase: false,
    };
    let link = wallet_cli::name_lookup::NodeLink::open(&cfg).unwrap();
    let name: naming::Name = NAME.parse().unwrap();
    let http = wallet_cli::http::Client::default();
    let auth = {
        use base64::Engine as _;
        let cookie = std::fs::read_to_string(node.data.join(".cookie")).unwrap();
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(cookie.trim())
        )
    };
    let params = chain_node::Network::Regtest.params();
    let mut parts = Breakdown::default();
    for _ in 0..runs {
        let started = Instant::now();
        let proven = wallet_cli::name_verify::verify_lookup(&link, &name).unwrap();
        parts.in_process.push(started.elapsed());
        assert_eq!(u64::from(proven.height.0), blocks);
        let started = Instant::now();
        rpc.call("getnameproof", json!([NAME])).unwrap();
        parts.proof_call.push(started.elapsed());
        // The header pages as the wallet asks for them: the HTTP round trips alone
        // (answers read as bytes), then their JSON parsed, then the hex decoded.
        let started = Instant::now();
        let bodies: Vec<Vec<u8>> = (0..=blocks)
            .step_by(2_000)
            .map(|start| {
                let count = (blocks + 1 - start).min(2_000);
                let body = json!({"jsonrpc": "2.0", "id": 1, "method": "getblockheaders",
                    "params": [start, count]});
                let answer = http
                    .post_json(
                        &node.url,
                        Some(&auth),
                        body.to_string().as_bytes(),
                        64 << 20,
                    )
                    .unwrap();
                assert_eq!(answer.status, 200);
                answer.body
            })
            .collect();
        parts.header_http.push(started.elapsed());
        let started = Instant::now();
        let parsed: Vec<Value> = bodies
            .iter()
            .map(|b| serde_json::from_slice(b).unwrap())
            .collect();
        parts.header_json.push(started.elapsed());
        let texts: Vec<&str> = parsed
            .iter()
            .flat_map(|page| page["result"].as_array().unwrap())
            .map(|h| h.as_str().unwrap())
            .collect();
        // As the wallet decodes them (in place), and as it did before (`hex::decode`).
        let started = Instant::now();
        let decoded: Vec<chain_node::Header> = texts
            .iter()
            .map(|t| {
                let mut bytes = [0u8; chain_node::HEADER_SIZE];
                hex::decode_to_slice(t, &mut bytes).unwrap();
                chain_node::encoding::decode_exact(&bytes).unwrap()
            })
            .collect();
        parts.header_decode.push(started.elapsed());
        let started = Instant::now();
        let before: Vec<chain_node::Header> = texts
            .iter()
            .map(|t| chain_node::encoding::decode_exact(&hex::decode(t).unwrap()).unwrap())
            .collect();
        parts.header_decode_before.push(started.elapsed());
        assert_eq!(decoded.len(), all.len());
        assert_eq!(decoded, before);
        // The node's side of the same: as it encodes them (in place), and as it did
        // before (`hex::encode`).
        let started = Instant::now();
        let encoded: Vec<String> = decoded
            .iter()
            .map(|h| {
                let mut text = [0u8; 2 * chain_node::HEADER_SIZE];
                hex::encode_to_slice(h.to_bytes(), &mut text).unwrap();
                String::from_utf8_lossy(&text).into_owned()
            })
            .collect();
        parts.header_encode.push(started.elapsed());
        let started = Instant::now();
        let encoded_before: Vec<String> =
            decoded.iter().map(|h| hex::encode(h.to_bytes())).collect();
        parts.header_encode_before.push(started.elapsed());
        assert_eq!(encoded, encoded_before);
        assert_eq!(encoded, texts);
        let started = Instant::now();
        chain_node::light::verify_header_chain(&params, &decoded).unwrap();
        parts.light.push(started.elapsed());
        let started = Instant::now();
        rpc.call("getzonefile", json!([verified["zonefilehash"].clone()]))
            .unwrap();
        parts.zone_call.push(started.elapsed());
    }

    println!();
    let v = report("wallet name resolve --verify", &verify);
    let r = report("wallet name resolve", &resolve);
    let p = report("wallet --version (process start)", &version);
    report(
        "wallet address (an unlock, which resolve did before)",
        &unlock,
    );
    let h = report(&format!("raw SHA-256d of {} headers", all.len()), &hashing);
    println!(
        "--verify: {:.1} x the plain resolve, {:.0} x the hashing floor; \
         {:.1} ms over the plain resolve ({:.0} x the floor)",
        v / r,
        v / h,
        v - r,
        (v - r) / h,
    );
    println!(
        "--verify less the process start: {:.1} ms ({:.0} x the floor)",
        v - p,
        (v - p) / h
    );
    for (label, (up, down)) in ["resolve --verify", "resolve"].iter().zip(&bytes) {
        println!("{label:<52} {up} bytes to the node, {down} bytes from it");
    }
    println!(
        "headers on the wire as 80 raw bytes each: {} bytes",
        80 * all.len()
    );
    println!();
    println!("from this process (no wallet process):");
    report(
        "  the whole proven lookup (verify_lookup)",
        &parts.in_process,
    );
    report("  getnameproof", &parts.proof_call);
    let pages = all.len().div_ceil(2_000);
    report(
        &format!("  getblockheaders x {pages}: HTTP, bytes only"),
        &parts.header_http,
    );
    report("  ... their JSON parsed", &parts.header_json);
    report("  ... the hex decoded in place", &parts.header_decode);
    report(
        "  ... (by hex::decode, as before)",
        &parts.header_decode_before,
    );
    report("  the node's hex encoding in place", &parts.header_encode);
    report(
        "  ... (by hex::encode, as before)",
        &parts.header_encode_before,
    );
    report("  ... the light verifier's header checks", &parts.light);
    report("  getzonefile", &parts.zone_call);
}

/// Where the time of a proven lookup goes, one sample per run.
#[derive(Default)]
struct Breakdown {
    in_process: Vec<Duration>,
    proof_call: Vec<Duration>,
    header_http: Vec<Duration>,
    header_json: Vec<Duration>,
    header_decode: Vec<Duration>,
    header_decode_before: Vec<Duration>,
    header_encode: Vec<Duration>,
    header_encode_before: Vec<Duration>,
    light: Vec<Duration>,
    zone_call: Vec<Duration>,
}
