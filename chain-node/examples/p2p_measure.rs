//! A whole-program measurement of the chain node on the network, in one process over
//! real TCP on 127.0.0.1: block propagation along a line of nodes (each block mined on
//! the first node, timed from its own `BlockConnected` event to the last node's), and
//! the rate at which a fresh node syncs a chain headers first from one peer.
//!
//! Then the same sync of blocks of 2,000 transactions each, set against the rate at which
//! one node alone connects the same blocks (`submit_block`, no network).
//!
//! ```text
//! cargo run --release -p chain-node --example p2p_measure -- [NODES] [BLOCKS] [SYNC_BLOCKS] [FULL_BLOCKS]
//! ```
//!
//! Defaults: 5 nodes, 100 blocks, 5,000 blocks to sync (from one peer, then from two),
//! 20 blocks of 2,000 transactions. Numbers depend on the machine and on whatever else
//! runs on it.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use chain_node::p2p::{P2p, P2pConfig};
use chain_node::{Address, Block, Network, Node, NodeConfig, NodeEvent, Subscription};

#[path = "../benches/common/blocks.rs"]
mod blocks;

/// Transactions in each block of the full-block sync.
const FULL_TXS: usize = 2_000;

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
    start_with(peers, &[])
}

/// A node that holds `blocks` (submitted directly) before it joins the network.
fn start_with(peers: &[String], blocks: &[Block]) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path());
    for b in blocks {
        node.submit_block(b).unwrap();
    }
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

fn open(dir: &std::path::Path) -> Node {
    let mut config = NodeConfig::new(Network::Regtest, dir.to_owned());
    config.mining_threads = 1;
    Node::open(config).unwrap()
}

/// The active chain's blocks above genesis.
fn active_blocks(node: &Node) -> Vec<Block> {
    node.read(|v| {
        let chain = v.chain();
        let (tip, _) = chain.tip();
        (1..=tip.0)
            .map(|h| {
                let hash = chain.hash_at(chain_node::Height(h)).unwrap();
                chain.block(&hash).unwrap().unwrap()
            })
            .collect()
    })
    .unwrap()
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
    let (nodes, blocks, sync, full) = (
        arg(1, 5).max(2),
        arg(2, 100).max(1),
        arg(3, 5000),
        arg(4, 20),
    );
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
    if full > 0 {
        full_blocks(full, fsync);
    }
}

/// Blocks of [`FULL_TXS`] one-input transactions, each spending the coins the previous
/// one created: connected by one node alone, then synced by a node that holds the
/// blocks before them.
fn full_blocks(full: u32, fsync: Duration) {
    let a = start(&[]);
    let k = blocks::key(1);
    let mut coins = blocks::fan_out(&a.node, &k, FULL_TXS);
    let base = active_blocks(&a.node);
    for _ in 0..full {
        coins = blocks::mine_spends(&a.node, &k, &coins, &k).1;
    }
    let all = active_blocks(&a.node);
    let (before, heavy) = all.split_at(base.len());
    let bytes: usize = heavy.iter().map(|b| b.to_bytes().len()).sum();
    let last = heavy.last().unwrap().hash();

    // One node alone, no network: the same blocks through `submit_block`.
    let dir = tempfile::tempdir().unwrap();
    let alone = open(dir.path());
    for b in before {
        alone.submit_block(b).unwrap();
    }
    let started = Instant::now();
    for b in heavy {
        alone.submit_block(b).unwrap();
    }
    let connect = started.elapsed();
    alone.shutdown().unwrap();

    // A node holding the blocks below them syncs them from `a`.
    let b = start_with(&[addr(&a)], before);
    let started = Instant::now();
    wait("the node at the tip of the full blocks", || {
        b.node.tip().is_ok_and(|t| t.1 == last)
    });
    let took = started.elapsed();
    let per = |d: Duration| f64::from(full) / d.as_secs_f64();
    println!(
        "{full} blocks of {FULL_TXS} transactions ({:.0} kB each): one node alone connects them at {:.1} blocks/s ({:.0} tx/s); synced from one peer at {:.1} blocks/s ({:.0} tx/s, start-up and connection included): {:.2} of the single-node rate; fsync p50 {fsync:?}",
        bytes as f64 / f64::from(full) / 1000.0,
        per(connect),
        per(connect) * FULL_TXS as f64,
        per(took),
        per(took) * FULL_TXS as f64,
        connect.as_secs_f64() / took.as_secs_f64(),
    );
    for p in [a, b] {
        p.p2p.shutdown();
        p.node.shutdown().unwrap();
    }
}
