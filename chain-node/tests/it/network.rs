//! Nodes on the peer-to-peer network: real `chain-node` processes peered over TCP on
//! 127.0.0.1 with ephemeral ports. Blocks and transactions spread by gossip, a late
//! node syncs headers first, a partition heals onto the most-work branch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use chain_node::encoding::decode_exact;
use chain_node::validation::Coin;
use chain_node::{Amount, Block, Height, Network, OutPoint, Transaction, TxOut};
use serde_json::json;

use crate::helpers::{address, key, spend, temp_dir};
use crate::process::NodeProcess;

const LISTEN: &str = "/ip4/127.0.0.1/tcp/0";

/// Starts a node on the network, dialling `peers`.
pub(crate) fn start(dir: &std::path::Path, peers: &[String]) -> NodeProcess {
    let mut args = vec!["--p2p-listen", LISTEN];
    for p in peers {
        args.push("--peer");
        args.push(p);
    }
    NodeProcess::start_with(dir, &args)
}

/// The node's own listen multiaddr, ending in `/p2p/<peer id>`.
pub(crate) fn p2p_addr(node: &NodeProcess) -> String {
    let info = node.ok("getnetworkinfo", json!([]));
    let addr = info["localaddresses"][0]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(addr.starts_with("/ip4/127.0.0.1/tcp/"), "{addr}");
    assert!(
        addr.ends_with(&format!("/p2p/{}", info["peerid"].as_str().unwrap())),
        "{addr}"
    );
    addr
}

/// Waits until `check` holds, polling; panics with `what` after `secs` seconds.
pub(crate) fn wait_for(what: &str, secs: u64, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

/// Three nodes peered in a triangle, each with both others in its gossip mesh; the
/// scratch directories live as long as the nodes must.
fn triangle(name: &str) -> (Vec<crate::helpers::Scratch>, [NodeProcess; 3]) {
    let dirs: Vec<_> = (0..3).map(|i| temp_dir(&format!("{name}-{i}"))).collect();
    let a = start(dirs[0].as_ref(), &[]);
    let a_addr = p2p_addr(&a);
    let b = start(dirs[1].as_ref(), std::slice::from_ref(&a_addr));
    let b_addr = p2p_addr(&b);
    let c = start(dirs[2].as_ref(), &[a_addr, b_addr]);
    for n in [&a, &b, &c] {
        wait_peers(n, 2);
    }
    (dirs, [a, b, c])
}

/// Waits until `node` has `n` peers, each in its gossip mesh for blocks and
/// transactions (so that a publication reaches them).
fn wait_peers(node: &NodeProcess, n: usize) {
    wait_for("peers in the gossip mesh", 60, || {
        let peers = node.ok("getpeerinfo", json!([]));
        let peers = peers.as_array().unwrap();
        peers.len() == n
            && peers
                .iter()
                .all(|p| p["gossip_mesh"].as_array().is_some_and(|m| m.len() == 2))
    });
}

pub(crate) fn tip(node: &NodeProcess) -> String {
    node.ok("getbestblockhash", json!([]))
        .as_str()
        .unwrap()
        .to_owned()
}

fn mine(node: &NodeProcess, n: u32, seed: u8) -> Vec<String> {
    let to = address(&key(seed)).encode(Network::Regtest);
    node.ok("generatetoaddress", json!([n, to]))
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect()
}

fn mempool(node: &NodeProcess) -> Vec<String> {
    node.ok("getrawmempool", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn block(node: &NodeProcess, hash: &str) -> Block {
    let hex = node.ok("getblock", json!([hash, 0]));
    decode_exact(&hex::decode(hex.as_str().unwrap()).unwrap()).unwrap()
}

/// A transaction paying `amount` from the coinbase of the block at `height` (mined to
/// `key(seed)`) back to the same key, with a fee.
fn spend_coinbase(node: &NodeProcess, height: u32, seed: u8, fee: u64) -> Transaction {
    let hash = node.ok("getblockhash", json!([height]));
    let b = block(node, hash.as_str().unwrap());
    let coinbase = &b.txs[0];
    let out = &coinbase.outputs[0];
    let coin = Coin {
        amount: out.amount,
        address: address(&key(seed)),
        height: Height(height),
        is_coinbase: true,
    };
    let op = OutPoint {
        txid: coinbase.txid(),
        vout: 0,
    };
    let k = key(seed);
    let pay = Amount::from_units(out.amount.units() - fee);
    spend(
        &Network::Regtest.params(),
        &[(op, coin, &k)],
        vec![TxOut::pay(pay, address(&k))],
    )
}

/// Three nodes in a triangle: a block mined on one reaches the others; a transaction
/// sent to one reaches the others' mempools and is mined by another.
#[test]
fn three_nodes_share_blocks_and_transactions() {
    let (_dirs, [a, b, c]) = triangle("net3");
    let nodes = [&a, &b, &c];

    // One block, then enough for a coinbase to mature.
    let first = mine(&a, 1, 1);
    let took = wait_for("the first block everywhere", 30, || {
        nodes.iter().all(|n| tip(n) == first[0])
    });
    eprintln!("one block reached both peers in {took:?} (poll interval 50 ms)");
    let more = mine(&a, 100, 1);
    let last = more.last().unwrap().clone();
    wait_for("101 blocks everywhere", 60, || {
        nodes.iter().all(|n| tip(n) == last)
    });
    for n in nodes {
        assert_eq!(n.ok("getblockcount", json!([])), json!(101));
        assert_eq!(n.ok("getblockhash", json!([1])), json!(first[0]));
    }

    // A transaction sent to A reaches B's and C's mempools.
    let tx = spend_coinbase(&a, 1, 1, 1_000);
    let txid = a
        .ok("sendrawtransaction", json!([hex::encode(tx.to_bytes())]))
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(txid, tx.txid().to_hex());
    wait_for("the transaction in every mempool", 30, || {
        nodes.iter().all(|n| mempool(n) == vec![txid.clone()])
    });

    // C mines it; the block reaches A and B and empties their mempools.
    let mined = mine(&c, 1, 3);
    wait_for("C's block everywhere", 30, || {
        nodes.iter().all(|n| tip(n) == mined[0])
    });
    let b_block = block(&b, &mined[0]);
    assert!(b_block.txs.iter().any(|t| t.txid() == tx.txid()));
    wait_for("empty mempools", 30, || {
        nodes.iter().all(|n| mempool(n).is_empty())
    });

    // Each peer of A says who it is and how far it synced.
    let peers = a.ok("getpeerinfo", json!([]));
    assert_eq!(peers.as_array().unwrap().len(), 2);
    for p in peers.as_array().unwrap() {
        assert_eq!(p["inbound"], json!(true));
        assert!(
            p["addr"]
                .as_str()
                .unwrap()
                .starts_with("/ip4/127.0.0.1/tcp/")
        );
        assert!(p["peerid"].as_str().unwrap().starts_with("12D3KooW"));
    }
    let info = a.ok("getnetworkinfo", json!([]));
    assert_eq!(info["connections"], json!(2));
    assert_eq!(info["connections_in"], json!(2));
    assert_eq!(info["networkactive"], json!(true));
    for n in [a, b, c] {
        n.stop();
    }
}

/// A node started after 1,100 blocks were mined syncs them headers first and leaves
/// initial block download.
#[test]
fn late_node_syncs_headers_first() {
    const BLOCKS: u64 = 1_100;
    let (da, db) = (temp_dir("late-a"), temp_dir("late-b"));
    let a = start(da.as_ref(), &[]);
    let a_addr = p2p_addr(&a);
    let mined = mine(&a, BLOCKS as u32, 1);
    let last = mined.last().unwrap().clone();

    let started = Instant::now();
    let b = start(db.as_ref(), &[a_addr]);
    wait_for("the late node at the tip", 300, || tip(&b) == last);
    let took = started.elapsed();
    eprintln!(
        "synced {BLOCKS} empty blocks in {took:?} ({:.0} blocks/s, debug build, start-up included)",
        BLOCKS as f64 / took.as_secs_f64()
    );
    let info = b.ok("getblockchaininfo", json!([]));
    assert_eq!(info["blocks"], json!(BLOCKS));
    assert_eq!(info["headers"], json!(BLOCKS));
    assert_eq!(info["initialblockdownload"], json!(false));
    // Headers came first, from A: it is the peer B stored them from.
    let peers = b.ok("getpeerinfo", json!([]));
    let peer = &peers.as_array().unwrap()[0];
    assert_eq!(peer["synced_headers"], json!(BLOCKS));
    assert_eq!(peer["synced_blocks"], json!(BLOCKS));
    assert_eq!(peer["startingheight"], json!(BLOCKS));
    assert_eq!(peer["inbound"], json!(false));
    // Every block is the one A mined.
    for h in [1u64, 500, BLOCKS] {
        assert_eq!(
            b.ok("getblockhash", json!([h])),
            a.ok("getblockhash", json!([h]))
        );
    }

    // The node key is private and survives a restart: B comes back with the same peer
    // id and catches up on the blocks mined while it was down.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(db.join("p2p.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let b_id = b.ok("getnetworkinfo", json!([]))["peerid"].clone();
    b.stop();
    let more = mine(&a, 50, 1);
    let b = start(db.as_ref(), &[p2p_addr(&a)]);
    assert_eq!(b.ok("getnetworkinfo", json!([]))["peerid"], b_id);
    wait_for("the restarted node at the tip", 120, || {
        tip(&b) == *more.last().unwrap()
    });
    assert_eq!(b.ok("getblockcount", json!([])), json!(BLOCKS + 50));
    a.stop();
    b.stop();
}

/// Without --p2p-listen the node does no networking and says so.
#[test]
fn without_p2p_the_network_methods_say_so() {
    let dir = temp_dir("nop2p");
    let n = NodeProcess::start(dir.as_ref());
    assert_eq!(n.ok("getpeerinfo", json!([])), json!([]));
    assert_eq!(
        n.ok("getnetworkinfo", json!([]))["networkactive"],
        json!(false)
    );
    let r = n.call("setnetworkactive", json!([false]));
    assert_eq!(r["error"]["code"], json!(-9));
    let r = n.call("addnode", json!(["/ip4/127.0.0.1/tcp/1", "add"]));
    assert_eq!(r["error"]["code"], json!(-9));
    n.stop();
}

/// Waits until `node` has exactly `n` peers.
fn wait_connections(node: &NodeProcess, n: usize) {
    wait_for("a number of peers", 60, || {
        node.ok("getpeerinfo", json!([])).as_array().unwrap().len() == n
    });
}

/// A 2 + 1 partition with `setnetworkactive`: both sides mine, the single node more
/// work; after healing all three follow its branch, and the losing branch's
/// transaction returns to the mempools and is mined again.
#[test]
fn partition_heals_onto_the_most_work_branch() {
    let (_dirs, [a, b, c]) = triangle("part");
    let nodes = [&a, &b, &c];
    let mined = mine(&a, 101, 1);
    let common = mined.last().unwrap().clone();
    wait_for("101 blocks everywhere", 60, || {
        nodes.iter().all(|n| tip(n) == common)
    });

    // Split: C alone.
    assert_eq!(c.ok("setnetworkactive", json!([false])), json!(false));
    wait_connections(&c, 0);
    wait_connections(&a, 1);
    wait_connections(&b, 1);
    let info = c.ok("getnetworkinfo", json!([]));
    assert_eq!(info["networkactive"], json!(false));
    assert_eq!(info["connections"], json!(0));

    // A and B: a transaction and one block holding it.
    let tx = spend_coinbase(&a, 1, 1, 1_000);
    let txid = tx.txid().to_hex();
    a.ok("sendrawtransaction", json!([hex::encode(tx.to_bytes())]));
    wait_for("the transaction at B", 30, || {
        mempool(&b) == vec![txid.clone()]
    });
    let ab = mine(&a, 1, 1);
    wait_for("A's block at B", 30, || tip(&b) == ab[0]);
    assert!(block(&b, &ab[0]).txs.iter().any(|t| t.txid() == tx.txid()));
    assert!(mempool(&c).is_empty());

    // C: three blocks, more work than A and B's one.
    let cb = mine(&c, 3, 3);
    let c_tip = cb.last().unwrap().clone();
    assert_eq!(tip(&a), ab[0]);

    // Heal: C dials its peers again; everyone follows C's branch.
    assert_eq!(c.ok("setnetworkactive", json!([true])), json!(true));
    wait_for("every node on C's branch", 60, || {
        nodes.iter().all(|n| tip(n) == c_tip)
    });
    for n in nodes {
        assert_eq!(n.ok("getblockcount", json!([])), json!(104));
    }
    // The losing branch's transaction is back in A's and B's mempools ...
    wait_for("the transaction back in the mempools", 30, || {
        mempool(&a) == vec![txid.clone()] && mempool(&b) == vec![txid.clone()]
    });
    let tips = a.ok("getchaintips", json!([]));
    assert!(
        tips.as_array()
            .unwrap()
            .iter()
            .any(|t| t["hash"] == json!(ab[0]) && t["status"] == json!("valid-fork")),
        "{tips}"
    );
    // ... and is mined again, on the winning branch, by B.
    let again = mine(&b, 1, 2);
    wait_for("B's block everywhere", 30, || {
        nodes.iter().all(|n| tip(n) == again[0])
    });
    assert!(
        block(&c, &again[0])
            .txs
            .iter()
            .any(|t| t.txid() == tx.txid())
    );
    wait_for("empty mempools", 30, || {
        nodes.iter().all(|n| mempool(n).is_empty())
    });

    // addnode and disconnectnode: A stops being C's added peer; disconnected, it
    // stays away, and `onetry` brings it back once.
    let a_addr = p2p_addr(&a);
    let a_id = a.ok("getnetworkinfo", json!([]))["peerid"].clone();
    assert_eq!(c.ok("addnode", json!([a_addr, "remove"])), json!(null));
    let r = c.call("addnode", json!([a_addr, "remove"]));
    assert_eq!(r["error"]["code"], json!(-24), "{r}");
    assert_eq!(
        c.ok("disconnectnode", json!([a_id.as_str().unwrap()])),
        json!(null)
    );
    wait_connections(&c, 1);
    let r = c.call("disconnectnode", json!([a_id.as_str().unwrap()]));
    assert_eq!(r["error"]["code"], json!(-29), "{r}");
    assert_eq!(c.ok("addnode", json!([a_addr, "onetry"])), json!(null));
    wait_for("A back at C, its status read", 60, || {
        let peers = c.ok("getpeerinfo", json!([]));
        let peers = peers.as_array().unwrap();
        peers.len() == 2 && peers.iter().all(|p| p["id"].as_u64() > Some(0))
    });
    // By the node's number for the peer; an unknown number is -29.
    let peers = c.ok("getpeerinfo", json!([]));
    let id = peers[0]["id"].as_u64().unwrap();
    assert_eq!(c.ok("disconnectnode", json!(["", id])), json!(null));
    let r = c.call("disconnectnode", json!(["", 999_999]));
    assert_eq!(r["error"]["code"], json!(-29));
    for n in [a, b, c] {
        n.stop();
    }
}

/// SIGTERM stops a node on the network cleanly: it exits 0 and its peer sees the
/// connection close.
#[test]
fn sigterm_stops_the_network_too() {
    let (da, db) = (temp_dir("term-a"), temp_dir("term-b"));
    let mut a = start(da.as_ref(), &[]);
    let b = start(db.as_ref(), &[p2p_addr(&a)]);
    wait_peers(&b, 1);
    let status = std::process::Command::new("kill")
        .args(["-TERM".to_owned(), a.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let exit = loop {
        if let Some(exit) = a.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "node did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success());
    assert!(!da.join(".cookie").exists());
    wait_connections(&b, 0);
    b.stop();
}
