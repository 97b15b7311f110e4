//! Block requests are paced under the rate a peer's gossip layer accepts: in-process
//! nodes over real TCP on 127.0.0.1 whose request budget is small enough that an
//! unpaced download of 1,100 blocks (69 requests of 16) would be refused as a flood.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use chain_node::Node;
use chain_node::p2p::P2p;

use crate::helpers::{Scratch, address, key, start_in_process};

/// Requests a peer accepts per second, and its burst: far below the defaults.
const RATE: u32 = 20;

fn start(name: &str, peers: Vec<String>, block_requests_per_second: u32) -> (Node, P2p, Scratch) {
    start_in_process(name, &peers, |p2p| {
        p2p.limits.requests_per_second = RATE;
        p2p.limits.request_burst = RATE;
        p2p.block_requests_per_second = block_requests_per_second;
    })
}

/// Syncs 1,100 blocks from a peer that accepts `RATE` requests a second, asking at
/// `block_requests_per_second`; returns the serving peer's penalty of the syncing node
/// (`None`: it was banned or disconnected) and whether the sync finished within 60 s.
fn sync_at(block_requests_per_second: u32) -> (Option<u32>, bool) {
    let (a, a_p2p, _da) = start("pacing-a", vec![], RATE * 3 / 4);
    let mined = a.generate(1_100, address(&key(1))).unwrap();
    let last = *mined.last().unwrap();
    let a_addr = a_p2p.listen_addrs().unwrap()[0].to_string();
    let (b, b_p2p, _db) = start("pacing-b", vec![a_addr], block_requests_per_second);
    let b_id = b_p2p.peer_id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut synced = false;
    while Instant::now() < deadline {
        if b.tip().unwrap().1 == last {
            synced = true;
            break;
        }
        if a_p2p.banned().iter().any(|r| r.peer == b_id) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let penalty = a_p2p
        .peers()
        .unwrap()
        .iter()
        .find(|p| p.peer == b_id)
        .map(|p| p.penalty);
    for (node, p2p) in [(a, a_p2p), (b, b_p2p)] {
        p2p.shutdown();
        node.shutdown().unwrap();
    }
    (penalty, synced)
}

#[test]
fn block_requests_stay_under_the_peers_request_rate() {
    // Paced at three quarters of what the peer accepts: no request refused.
    assert_eq!(sync_at(RATE * 3 / 4), (Some(0), true));
}

#[test]
fn block_requests_over_the_peers_rate_are_refused_as_a_flood() {
    // The control: five times the rate is refused, penalised and the sync stalls.
    let (penalty, synced) = sync_at(RATE * 5);
    assert!(penalty.is_none_or(|p| p > 0), "penalty {penalty:?}");
    assert!(!synced, "an unpaced download was not refused");
}
