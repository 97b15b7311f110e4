//! Whole-program benchmark of both HTTP servers under hostile connections: the
//! latency of honest requests (`getblockcount` on the chain node's RPC; `POST /add`
//! and `GET /checkpoint` on the log) with no attack, with 1,500 idle connections,
//! with 1,000 connections dripping one header byte a second, and (RPC) with 64
//! unauthenticated stalled bodies, (log) with 4 readers that never read a 16 MiB
//! entry bundle. The limit each figure is set against is the same request's
//! latency with no attack, and for `/add` the fsync latency, both measured in the
//! same run.
//!
//! `cargo bench -p chain-node --bench http_attack` (env: `BENCH_REQUESTS`, honest
//! requests per scenario, default 300).
#![allow(
    missing_docs,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chain_node::rpc::{RpcConfig, RpcServer};
use chain_node::{Network, Node, NodeConfig};
use merkle_log::http::Stats;
use merkle_log::http::probe::Siege;
use merkle_log::server::{self, ServerConfig};
use merkle_log::{Log, LogConfig, NoteSigner};

/// One request on a new connection; returns the status.
fn request(addr: SocketAddr, raw: &[u8]) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(raw).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    String::from_utf8_lossy(&got[..got.len().min(12)])
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn post(path: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n{extra_headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// Latencies of `n` honest requests, one after the other, made by `make(i)`.
fn measure(addr: SocketAddr, n: usize, make: impl Fn(usize) -> Vec<u8>) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..n)
        .map(|i| {
            let raw = make(i);
            let start = Instant::now();
            let status = request(addr, &raw);
            assert_eq!(status, 200, "an honest request failed");
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Waits (at most 30 s) until `stats` says `done`.
fn settle(stats: impl Fn() -> Stats, done: impl Fn(&Stats) -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while !done(&stats()) {
        assert!(
            Instant::now() < end,
            "the server did not settle: {:?}",
            stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Mean latency of a 4 KiB write + fdatasync in `dir`, over one second.
fn fsync_latency(dir: &std::path::Path) -> Duration {
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).unwrap();
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_secs(1) {
        f.write_all(&[0xa5; 4096]).unwrap();
        f.sync_data().unwrap();
        n += 1;
    }
    std::fs::remove_file(path).unwrap();
    start.elapsed() / n
}

/// A row: scenario, p50, p99, max, and p99 over the unloaded p99.
fn row(what: &str, scenario: &str, t: &[Duration], base_p99: Duration) {
    let p99 = percentile(t, 0.99);
    println!(
        "| {what} | {scenario} | {} | {} | {} | {:.1} x |",
        ms(percentile(t, 0.5)),
        ms(p99),
        ms(*t.last().unwrap()),
        p99.as_secs_f64() / base_p99.as_secs_f64()
    );
}

/// Runs the attack scenarios against a server at `addr`; `extra` adds
/// server-specific ones. Returns nothing: prints rows.
fn scenarios(
    what: &str,
    addr: SocketAddr,
    n: usize,
    stats: &dyn Fn() -> Stats,
    make: &dyn Fn(usize) -> Vec<u8>,
    offset: &mut usize,
) -> Duration {
    let mut run = |count: usize| {
        let t = measure(addr, count, |i| make(*offset + i));
        *offset += count;
        t
    };
    let base = run(n);
    let base_p99 = percentile(&base, 0.99);
    row(what, "no attack", &base, base_p99);
    let before = stats().accepted;
    let idle = Siege::silent(addr, 1500, b"").unwrap();
    settle(stats, |s| s.accepted >= before + 1500);
    let t = run(n);
    row(what, "1,500 idle connections", &t, base_p99);
    drop(idle);
    settle(stats, |s| s.open == 0);
    let drip = Siege::drip(addr, 1000, Duration::from_secs(1)).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let t = run(n);
    row(what, "1,000 dripping connections", &t, base_p99);
    drop(drip);
    settle(stats, |s| s.open == 0);
    base_p99
}

fn main() {
    let n: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let work = tempfile::tempdir().unwrap();
    let fsync = fsync_latency(work.path());
    println!("fsync (4 KiB write + fdatasync) in this run: {}", ms(fsync));
    println!();
    println!("| server: honest request | attack | p50 | p99 | max | p99 / unloaded p99 |");
    println!("| --- | --- | --- | --- | --- | --- |");

    // The chain node's RPC.
    let dir = work.path().join("node");
    let mut config = NodeConfig::new(Network::Regtest, dir.clone());
    config.mining_threads = 1;
    let node = Node::open(config).unwrap();
    let rpc = RpcServer::start_with(
        node.clone(),
        "127.0.0.1:0".parse().unwrap(),
        RpcConfig::default(),
    )
    .unwrap();
    let auth = format!(
        "Authorization: Basic {}\r\n",
        base64::engine::general_purpose::STANDARD
            .encode(std::fs::read_to_string(rpc.cookie_path()).unwrap())
    );
    let call = post(
        "/",
        &auth,
        br#"{"jsonrpc":"2.0","id":1,"method":"getblockcount"}"#,
    );
    let addr = rpc.local_addr();
    let stats = || rpc.http_stats();
    let mut offset = 0;
    let base = scenarios(
        "RPC: getblockcount",
        addr,
        n,
        &stats,
        &|_| call.clone(),
        &mut offset,
    );
    let stalled = Siege::silent(
        addr,
        64,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
    )
    .unwrap();
    let t = measure(addr, n, |_| call.clone());
    row(
        "RPC: getblockcount",
        "64 unauthenticated stalled bodies",
        &t,
        base,
    );
    drop(stalled);
    rpc.stop(&node).unwrap();

    // The log.
    let name = merkle_log::note::KeyName::new("bench.example/log").unwrap();
    let mut log = Log::open(
        &work.path().join("log"),
        NoteSigner::from_seed(name, &[7u8; 32]),
        LogConfig::default(),
    )
    .unwrap();
    // A full bundle of maximal entries for the readers that never read.
    let big: Vec<Vec<u8>> = (0..256u32)
        .map(|i| {
            let mut e = vec![0x5a; 65_535];
            e[..4].copy_from_slice(&i.to_be_bytes());
            e
        })
        .collect();
    log.integrate(&big).unwrap();
    let srv = server::start(log, "127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let addr = srv.addr;
    let stats = || srv.http_stats();
    let add = |i: usize| post("/add", "", format!("bench entry {i}").as_bytes());
    let base = scenarios("log: POST /add", addr, n, &stats, &add, &mut offset);
    let checkpoint =
        b"GET /checkpoint HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".to_vec();
    let cp_base = scenarios(
        "log: GET /checkpoint",
        addr,
        n,
        &stats,
        &|_| checkpoint.clone(),
        &mut offset,
    );
    let stuck: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /tile/entries/000 HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            s
        })
        .collect();
    settle(stats, |s| s.response_bytes_held > 0);
    let t = measure(addr, n, |_| checkpoint.clone());
    row(
        "log: GET /checkpoint",
        "4 readers that never read a 16 MiB bundle",
        &t,
        cp_base,
    );
    let held = stats().response_bytes_held;
    let t = measure(addr, n, |i| add(offset + i));
    row(
        "log: POST /add",
        "4 readers that never read a 16 MiB bundle",
        &t,
        base,
    );
    drop(stuck);
    srv.stop().unwrap();
    println!();
    println!(
        "response bytes held by the 4 stuck readers: {held} (budget {}); /add p99 without attack is {:.1} fsyncs",
        merkle_log::http::DEFAULT_RESPONSE_BUDGET,
        base.as_secs_f64() / fsync.as_secs_f64()
    );
}
