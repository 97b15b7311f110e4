//! A whole-program measurement of the chain node on the network, in one process over
//! real TCP on 127.0.0.1: block propagation along a line of nodes (each block mined on
//! the first node, timed from its own `BlockConnected` event to the last node's), and
//! the rate at which a fresh node syncs a chain headers first from one peer.
//!
//! ```text
//! cargo run --release -p chain-node --example p2p_measure -- [NODES] [BLOCKS] [SYNC_BLOCKS]
//! ```
//!
//! Defaults: 5 nodes, 100 blocks, 5,000 blocks to sync (from one peer, then from two). Numbers depend on the machine
//! and on whatever else runs on it.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use chain_node::p2p::{P2p, P2pConfig};
use chain_node::{Address, Network, Node, NodeConfig, NodeEvent, Subscription};

fn arg(n: usize, default: u32) -> u32 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

struct Peer {
    node: Node,
    p2p: P2p,
    _dir: tempfile::TempDir,
}

fn start(peers: &[String]) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = NodeConfig::new(Network::Regtest, dir.path().to_owned());
    config.mining_threads = 1;
    let node = Node::open(config).unwrap();
    let mut p2p = P2pConfig::new(Network::Regtest, dir.path());
    p2p.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    p2p.peers = peers.iter().map(|p| p.parse().unwrap()).collect();
    let p2p = P2p::start(node.clone(), p2p).unwrap();
    Peer {
        node,
        p2p,
        _dir: dir,
    }
}

fn addr(p: &Peer) -> String {
    p.p2p.listen_addrs().unwrap()[0].to_string()
}

fn wait(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !check() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for `hash` to connect on `events`; the instant it did.
fn connected(events: &mut Subscription, hash: chain_node::BlockHash) -> Instant {
    loop {
        match events.recv_timeout(Duration::from_secs(60)) {
            Ok(NodeEvent::BlockConnected { hash: h, .. }) if h == hash => return Instant::now(),
            Ok(_) => {}
            Err(e) => panic!("no event for {hash}: {e}"),
        }
    }
}

/// The physical limit of a synced block: a 1-byte write and `fsync` in a temporary
/// directory on the same disk, the median of a 2-second loop.
fn fsync_latency() -> Duration {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut file = std::fs::File::create(dir.path().join("probe")).unwrap();
    let mut times = Vec::new();
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let t = Instant::now();
        file.write_all(b"x").unwrap();
        file.sync_all().unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    percentile(&times, 0.5)
}

/// The physical limit of a hop: a 1-byte message and a 1-byte answer over loopback TCP,
/// the median of 2,000 round trips.
fn loopback_round_trip() -> Duration {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = listener.local_addr().unwrap();
    let echo = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut b = [0u8; 1];
        while s.read_exact(&mut b).is_ok() {
            s.write_all(&b).unwrap();
        }
    });
    let mut c = std::net::TcpStream::connect(at).unwrap();
    c.set_nodelay(true).unwrap();
    let mut times = Vec::new();
    let mut b = [0u8; 1];
    for _ in 0..2000 {
        let t = Instant::now();
        c.write_all(b"x").unwrap();
        c.read_exact(&mut b).unwrap();
        times.push(t.elapsed());
    }
    drop(c);
    echo.join().unwrap();
    times.sort();
    percentile(&times, 0.5)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() {
    let (nodes, blocks, sync) = (arg(1, 5).max(2), arg(2, 100).max(1), arg(3, 5000));
    let to = Address([7; 32]);
    let (fsync, rtt) = (fsync_latency(), loopback_round_trip());
    println!(
        "physical limits, this run: fsync of a 1-byte write p50 {fsync:?}; loopback TCP round trip p50 {rtt:?}"
    );

    // Propagation along a line: node i dials node i - 1.
    let mut line: Vec<Peer> = vec![start(&[])];
    for i in 1..nodes as usize {
        let prev = addr(&line[i - 1]);
        line.push(start(&[prev]));
    }
    wait("the line connected, meshes formed", || {
        line.iter().enumerate().all(|(i, p)| {
            let want = if i == 0 || i + 1 == line.len() { 1 } else { 2 };
            let peers = p.p2p.peers().unwrap();
            peers.len() == want && peers.iter().all(|q| q.mesh_topics.len() == 2)
        })
    });
    let mut subs: Vec<Subscription> = line.iter().map(|p| p.node.subscribe()).collect();
    let mut to_last = Vec::new();
    for _ in 0..blocks {
        let hash = line[0].node.generate(1, to).unwrap()[0];
        let start = connected(&mut subs[0], hash);
        let mut last = start;
        for s in subs.iter_mut().skip(1) {
            last = last.max(connected(s, hash));
        }
        to_last.push(last - start);
    }
    to_last.sort();
    let p50 = percentile(&to_last, 0.5);
    println!(
        "propagation over {} hops ({nodes} nodes in a line), {blocks} blocks: p50 {p50:?}, p99 {:?}, max {:?}; p50 per hop = {:.1} loopback round trips",
        nodes - 1,
        percentile(&to_last, 0.99),
        to_last.last().copied().unwrap_or_default(),
        p50.as_secs_f64() / f64::from(nodes - 1) / rtt.as_secs_f64()
    );
    for p in &line {
        p.p2p.shutdown();
        p.node.shutdown().unwrap();
    }

    // Initial sync of `sync` empty blocks from one peer.
    if sync > 0 {
        let a = start(&[]);
        let mined = a.node.generate(sync, to).unwrap();
        let last = *mined.last().unwrap();
        let started = Instant::now();
        let b = start(&[addr(&a)]);
        wait("the fresh node at the tip", || {
            b.node.tip().is_ok_and(|t| t.1 == last)
        });
        let took = started.elapsed();
        println!(
            "initial sync of {sync} empty blocks from one peer: {took:?}, {:.0} blocks/s (start-up and connection included); {:.2} fsync latencies per block",
            f64::from(sync) / took.as_secs_f64(),
            took.as_secs_f64() / f64::from(sync) / fsync.as_secs_f64()
        );
        // The same from two peers at once.
        let started = Instant::now();
        let c = start(&[addr(&a), addr(&b)]);
        wait("the second fresh node at the tip", || {
            c.node.tip().is_ok_and(|t| t.1 == last)
        });
        let took = started.elapsed();
        let from: Vec<String> = c
            .p2p
            .peers()
            .unwrap()
            .iter()
            .map(|p| format!("highest block from peer {}: {}", p.id, p.synced_blocks))
            .collect();
        println!(
            "initial sync of {sync} empty blocks from two peers: {took:?}, {:.0} blocks/s, {:.2} fsync latencies per block ({})",
            f64::from(sync) / took.as_secs_f64(),
            took.as_secs_f64() / f64::from(sync) / fsync.as_secs_f64(),
            from.join(", ")
        );
        for p in [a, b, c] {
            p.p2p.shutdown();
            p.node.shutdown().unwrap();
        }
    }
}
