//! Memory of a node syncing a long chain: a `chain-node` process holding N empty blocks
//! (written into its store before it starts), and a fresh `chain-node` process that syncs them from it headers
//! first. The syncing process's resident memory (`VmRSS` in `/proc/PID/status`) is
//! sampled as it goes and reported at every tenth of the chain; the figure of interest is
//! how much it still grows after the first 10^4 blocks.
//!
//! ```text
//! cargo bench -p chain-node --bench sync_memory -- [BLOCKS]
//! ```
//!
//! Default: 100,000 blocks (a few minutes on two cores). Linux only (`/proc`).
//! `SYNC_NODE_ARGS` adds options to the syncing node's command line.
#![allow(
    missing_docs,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use chain_node::{Address, ChainState, Network};
use serde_json::json;

#[path = "common/blocks.rs"]
mod blocks;
#[allow(dead_code)]
#[path = "../tests/it/process.rs"]
mod process;

use process::NodeProcess;

const LISTEN: &str = "/ip4/127.0.0.1/tcp/0";

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn count(node: &NodeProcess) -> u64 {
    node.ok("getblockcount", json!([])).as_u64().unwrap()
}

fn main() {
    let blocks: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The history is written into the serving node's store before it starts: blocks
    // one second apart, as a chain's past, since mining them now would run their times
    // past the two hours a node accepts ahead of its clock.
    let built = Instant::now();
    let history = blocks::empty_history(blocks, Address([7; 32]));
    let mut chain = ChainState::open(&da.path().join("chain"), Network::Regtest.params()).unwrap();
    for part in history.chunks(1_000) {
        let (outcomes, _) = chain
            .submit_downloaded_blocks(part, chain_node::unix_now())
            .unwrap();
        assert!(outcomes.iter().all(Result::is_ok));
    }
    chain.flush().unwrap();
    drop(chain);
    drop(history);
    println!(
        "built and stored {blocks} empty blocks in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let a = NodeProcess::start_with(da.path(), &["--p2p-listen", LISTEN]);
    assert_eq!(count(&a), u64::from(blocks));
    println!(
        "the serving node, just started on the {blocks} blocks: RSS {:.1} MiB",
        rss_kib(a.child.id()) as f64 / 1024.0
    );
    let info = a.ok("getnetworkinfo", json!([]));
    let a_addr = info["localaddresses"][0]["address"]
        .as_str()
        .unwrap()
        .to_owned();

    let started = Instant::now();
    // Extra options for the syncing node, e.g. `SYNC_NODE_ARGS="--dbcache 8"`.
    let extra = std::env::var("SYNC_NODE_ARGS").unwrap_or_default();
    let mut args = vec!["--p2p-listen", LISTEN, "--peer", &a_addr];
    args.extend(extra.split_whitespace());
    let b = NodeProcess::start_with(db.path(), &args);
    let pid = b.child.id();
    let step = (blocks / 10).max(1);
    let mut next = step;
    let mut rows = Vec::new();
    let deadline = started + Duration::from_secs(3_600);
    loop {
        let (have, rss) = (count(&b), rss_kib(pid));
        while u64::from(next) <= have && next <= blocks {
            rows.push((next, rss, started.elapsed()));
            println!(
                "{next:>7} blocks synced: RSS {:>6.1} MiB at {:>6.1} s",
                rss as f64 / 1024.0,
                started.elapsed().as_secs_f64()
            );
            next += step;
        }
        if have >= u64::from(blocks) {
            break;
        }
        assert!(Instant::now() < deadline, "the sync did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = started.elapsed();
    let first = rows.first().map(|r| r.1).unwrap_or(1).max(1);
    let peak = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let last = rows.last().map(|r| r.1).unwrap_or(0);
    println!(
        "synced {blocks} blocks in {:.1} s ({:.0} blocks/s, start-up included); RSS after the first tenth {:.1} MiB, highest sample after it {:.1} MiB ({:.2} x), at the end {:.1} MiB ({:.2} x)",
        took.as_secs_f64(),
        f64::from(blocks) / took.as_secs_f64(),
        first as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak as f64 / first as f64,
        last as f64 / 1024.0,
        last as f64 / first as f64,
    );
    b.stop();
    // The synced node again, restarted on what it stored: memory the chain's length
    // explains, against memory the sync itself left behind.
    let b = NodeProcess::start_with(db.path(), &[]);
    assert_eq!(count(&b), u64::from(blocks));
    println!(
        "the synced node, restarted on its {blocks} blocks: RSS {:.1} MiB",
        rss_kib(b.child.id()) as f64 / 1024.0
    );
    b.stop();
    a.stop();
}
