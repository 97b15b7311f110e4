//! Whole-program benchmark: how long a 100 KB gossip message takes to cross five
//! in-process nodes in a line (four hops, each validated by the application before it
//! is forwarded) on loopback TCP; and, measured in the same run, the physical limit: a
//! 100 KB transfer plus a one-byte answer over a plain loopback TCP socket.
//!
//! `cargo bench -p gossip --bench propagation` (env: `BENCH_MESSAGES` (200)).
#![allow(
    missing_docs,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use gossip::{
    Config, DecodeError, Event, Keypair, Limits, Network, PeerId, Protocol, Verdict, Wire,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};

const NODES: usize = 5;
const SIZE: usize = 100_000;
const TOPIC: &str = "bench";

#[derive(Debug, Clone)]
struct Empty;

impl Wire for Empty {
    const MAX_BYTES: usize = 0;
    fn to_bytes(&self) -> Vec<u8> {
        Vec::new()
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            Ok(Empty)
        } else {
            Err(DecodeError::new("empty"))
        }
    }
}

struct Bench;

impl Protocol for Bench {
    type Status = Empty;
    type Request = Empty;
    type Response = Empty;
    const STATUS_VERSION: &'static str = "1";
    const REQUEST_PROTOCOL: &'static str = "none/1";
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn loopback_transfer(trials: usize) -> Vec<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = vec![0u8; SIZE];
        loop {
            if s.read_exact(&mut buf).await.is_err() {
                return;
            }
            s.write_all(&[1]).await.unwrap();
        }
    });
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let data = vec![7u8; SIZE];
    let mut ack = [0u8; 1];
    let mut out = Vec::new();
    for _ in 0..trials {
        let t0 = Instant::now();
        s.write_all(&data).await.unwrap();
        s.read_exact(&mut ack).await.unwrap();
        out.push(t0.elapsed());
    }
    out.sort();
    out
}

async fn run() {
    let messages: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut nets: Vec<Network<Bench>> = Vec::new();
    let mut ids: Vec<PeerId> = Vec::new();
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel::<(u64, Instant)>();
    for i in 0..NODES {
        let mut config = Config::new(Keypair::generate_ed25519(), "bench");
        config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
        config.topics = vec![TOPIC.to_owned()];
        config.limits = Limits {
            heartbeat: Duration::from_millis(200),
            ..Limits::default()
        };
        if let Some(prev) = nets.last() {
            config.static_peers = vec![prev.listen_addrs().await.unwrap()[0].clone()];
        }
        let (net, mut events) = Network::<Bench>::start(config, Empty).await.unwrap();
        let validator = net.clone();
        let last = i == NODES - 1;
        let tx = arrived_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let Event::Message { id, data, .. } = event {
                    let at = Instant::now();
                    validator.validate(id, Verdict::Accept).await.unwrap();
                    if last {
                        let n = u64::from_be_bytes(data[..8].try_into().unwrap());
                        let _ = tx.send((n, at));
                    }
                }
            }
        });
        ids.push(net.local_peer_id());
        nets.push(net);
    }
    // Wait for every link of the line to be in both meshes.
    for i in 1..NODES {
        for (a, b) in [(i - 1, i), (i, i - 1)] {
            loop {
                let peers = nets[a].peers().await.unwrap();
                if peers
                    .iter()
                    .any(|p| p.peer == ids[b] && !p.mesh_topics.is_empty())
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let mut latencies = Vec::with_capacity(messages);
    for n in 0..messages as u64 {
        let mut data = vec![0u8; SIZE];
        data[..8].copy_from_slice(&n.to_be_bytes());
        data[8..16].copy_from_slice(&rand_tag().to_be_bytes());
        let t0 = Instant::now();
        nets[0].publish(TOPIC, data).await.unwrap();
        loop {
            let (got, at) = tokio::time::timeout(Duration::from_secs(10), arrived.recv())
                .await
                .expect("message crossed the line")
                .unwrap();
            if got == n {
                latencies.push(at - t0);
                break;
            }
        }
    }
    latencies.sort();
    let limit = loopback_transfer(messages).await;
    let hops = (NODES - 1) as f64;
    let lim50 = percentile(&limit, 0.5);
    let p50 = percentile(&latencies, 0.5);
    let p99 = percentile(&latencies, 0.99);
    println!("propagation of {SIZE} bytes across {NODES} nodes in a line ({messages} messages):");
    println!(
        "  p50 {:>10.3?}   p99 {:>10.3?}   max {:>10.3?}",
        p50,
        p99,
        latencies[latencies.len() - 1]
    );
    println!("loopback TCP, {SIZE} bytes + 1-byte answer (the limit per hop):");
    println!(
        "  p50 {:>10.3?}   p99 {:>10.3?}",
        lim50,
        percentile(&limit, 0.99)
    );
    println!(
        "ratio p50 / ({} hops x loopback p50): {:.1}",
        NODES - 1,
        p50.as_secs_f64() / (hops * lim50.as_secs_f64())
    );
}

/// Distinct content for every run (message ids are content hashes).
fn rand_tag() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
