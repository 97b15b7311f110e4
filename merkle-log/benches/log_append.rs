//! Whole-program benchmark of the durable log: appends/s through the real HTTP
//! server with concurrent clients, submit-to-receipt latency, and, measured in
//! the same run on the same disk, the fsync rate and the raw SHA-256 rate.
//! Then the sequencer alone (no HTTP) up to larger sizes with its peak RSS, and
//! proof-serving latency at the largest size.
//!
//! `cargo bench -p merkle-log --bench log_append` (env: `BENCH_CLIENTS` (64),
//! `BENCH_PER_CLIENT` (400), `BENCH_SIZES` (comma list, default `1000000,10000000`),
//! `BENCH_DIR` (a directory on the disk to measure, default the system temp dir)).
//! The HTTP phase prints its batches (one checkpoint each) and its wall-clock
//! window, so that a trace of the fsync calls can be cut to it.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use merkle_log::server::{self, ServerConfig};
use merkle_log::{Hash, Log, LogConfig, NoteSigner};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn signer() -> NoteSigner {
    let name = merkle_log::note::KeyName::new("bench.example/log").unwrap();
    NoteSigner::from_seed(name, &[7u8; 32])
}

fn scratch(base: &Path, tag: &str) -> PathBuf {
    let dir = base.join(format!("merkle-log-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// SHA-256 compressions of 65-byte node inputs per second, single core.
fn sha256_rate() -> f64 {
    let (l, r) = (Hash::leaf(b"l"), Hash::leaf(b"r"));
    let mut acc = l;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..10_000 {
            acc = Hash::node(&acc, &r);
        }
        n += 10_000;
    }
    std::hint::black_box(acc);
    n as f64 / start.elapsed().as_secs_f64()
}

/// Ed25519 `verify_strict` per second, single core.
fn verify_rate() -> f64 {
    let s = signer();
    let note = s
        .sign("bench\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
        .unwrap();
    let keys = [s.verifier().clone()];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        merkle_log::verify_note(&note, &keys).unwrap();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Durable 4 KiB writes (write + fdatasync) per second on `dir`'s disk.
fn fsync_rate(dir: &Path) -> f64 {
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = [0x5au8; 4096];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        f.write_all(&block).unwrap();
        f.sync_data().unwrap();
        n += 1;
    }
    let _ = std::fs::remove_file(path);
    n as f64 / start.elapsed().as_secs_f64()
}

/// A keep-alive HTTP/1.1 client for `POST /add`.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        Client {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        }
    }

    fn add(&mut self, entry: &[u8]) -> (u16, Vec<u8>) {
        let head = format!(
            "POST /add HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n\r\n",
            entry.len()
        );
        self.writer.write_all(head.as_bytes()).unwrap();
        self.writer.write_all(entry).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut len = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).unwrap();
        (status, body)
    }
}

/// The size of the checkpoint a receipt ends with (the line after the origin).
fn checkpoint_size(receipt: &[u8]) -> u64 {
    let text = std::str::from_utf8(receipt).unwrap();
    let mut lines = text.lines().skip_while(|l| *l != "bench.example/log");
    lines.nth(1).unwrap().parse().unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn http_appends(base: &Path, sha: f64, fsync: f64) {
    let clients = env_or("BENCH_CLIENTS", 64);
    let per_client = env_or("BENCH_PER_CLIENT", 400);
    let dir = scratch(base, "http");
    let log = Log::open(&dir, signer(), LogConfig::default()).unwrap();
    let srv = server::start(log, "127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let addr = srv.addr;
    let unix = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    let start_unix = unix();
    let start = Instant::now();
    let results: Vec<(Duration, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                s.spawn(move || {
                    let mut client = Client::connect(addr);
                    let mut lat = Vec::with_capacity(per_client);
                    for i in 0..per_client {
                        let entry = format!("bench client {c} entry {i} {:0>64}", i);
                        let t = Instant::now();
                        let (status, body) = client.add(entry.as_bytes());
                        lat.push((t.elapsed(), checkpoint_size(&body)));
                        assert_eq!(status, 200);
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let end_unix = unix();
    srv.stop().unwrap();
    // Each batch publishes one checkpoint, of a size of its own.
    let mut sizes: Vec<u64> = results.iter().map(|&(_, size)| size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let batches = sizes.len();
    let mut latencies: Vec<Duration> = results.into_iter().map(|(d, _)| d).collect();
    latencies.sort();
    let n = latencies.len();
    let rate = n as f64 / elapsed;
    println!(
        "http appends: {n} entries from {clients} clients in {elapsed:.2} s = {rate:.0} appends/s"
    );
    println!(
        "  {batches} batches ({:.1} entries per batch), unix time {start_unix:.3} to {end_unix:.3}",
        n as f64 / batches as f64
    );
    println!(
        "  submit-to-receipt p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies[n - 1].as_secs_f64() * 1e3
    );
    println!(
        "  ratios: {:.1} appends per fsync-time unit (appends/s / fsync/s), {:.4} of the SHA-256 rate",
        rate / fsync,
        rate / sha
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn sequencer_growth(base: &Path) {
    let sizes: Vec<u64> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let dir = scratch(base, "grow");
    let mut log = Log::open(&dir, signer(), LogConfig::default()).unwrap();
    let mut next = 0u64;
    for target in sizes {
        let start = Instant::now();
        let from = next;
        while next < target {
            let n = (target - next).min(4096);
            let batch: Vec<Vec<u8>> = (next..next + n)
                .map(|i| format!("grow entry {i}").into_bytes())
                .collect();
            log.integrate(&batch).unwrap();
            next += n;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "sequencer alone: size {target}: {:.0} appends/s over the last {} (batches of 4096), RSS {} KiB, peak RSS {} KiB",
            (target - from) as f64 / secs,
            target - from,
            rss_kib("VmRSS:"),
            rss_kib("VmHWM:")
        );
    }
    let size = log.published().checkpoint.size();
    drop(log);
    dedup_start_up(&dir, size);
    // Proof serving at the largest size, through HTTP.
    let log = Log::open(&dir, signer(), LogConfig::default()).unwrap();
    let srv = server::start(log, "127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let mut lat = Vec::new();
    for k in 0..500u64 {
        let i = (k * 7_919_993) % size;
        let h = Hash::leaf(format!("grow entry {i}").as_bytes()).to_hex();
        let path = format!("/ct/v1/get-proof-by-hash?hash={h}&tree_size={size}");
        let mut s = TcpStream::connect(srv.addr).unwrap();
        let t = Instant::now();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        lat.push(t.elapsed());
        assert!(out.starts_with(b"HTTP/1.1 200"));
    }
    srv.stop().unwrap();
    lat.sort();
    println!(
        "get-proof-by-hash at size {size}: p50 {:.2} ms, p99 {:.2} ms (new connection per request)",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Start-up of a log of `size` entries: with a sound index (header and tail
/// checks), then with the index removed (a full rebuild from the tiles), next to
/// the raw SHA-256 rate (a rebuild computes one keyed SHA-256 per entry).
fn dedup_start_up(dir: &Path, size: u64) {
    let start = Instant::now();
    let log = Log::open(dir, signer(), LogConfig::default()).unwrap();
    let open = start.elapsed();
    assert!(log.last_rebuild().is_none());
    drop(log);
    std::fs::remove_dir_all(dir.join("dedup")).unwrap();
    let _ = std::process::Command::new("sync").status();
    let start = Instant::now();
    let log = Log::open(dir, signer(), LogConfig::default()).unwrap();
    let rebuild = start.elapsed().as_secs_f64();
    assert!(log.last_rebuild().is_some());
    drop(log);
    let sha = sha256_rate();
    let rate = size as f64 / rebuild;
    println!(
        "dedup at size {size}: open with the index checked {:.1} ms; rebuild {rebuild:.1} s = {rate:.0} entries/s = {:.3} of the SHA-256 rate ({sha:.0} node hashes/s, this run)",
        open.as_secs_f64() * 1e3,
        rate / sha
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not run this.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let base = std::env::var("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    // The sequencer alone first, so its peak RSS is not the HTTP phase's.
    sequencer_growth(&base);
    // Let the kernel write back what that phase dirtied, then measure the limits
    // right before the HTTP phase, on the same disk.
    let _ = std::process::Command::new("sync").status();
    let probe = scratch(&base, "probe");
    let sha = sha256_rate();
    let verify = verify_rate();
    let fsync = fsync_rate(&probe);
    let _ = std::fs::remove_dir_all(probe);
    println!(
        "physical limits, this run: SHA-256 {sha:.0} node hashes/s (1 core), Ed25519 verify_strict {verify:.0}/s, fsync (4 KiB write + fdatasync) {fsync:.0}/s"
    );
    http_appends(&base, sha, fsync);
}
