//! Zone files through in-process nodes over real TCP on 127.0.0.1: a file put on one
//! node reaches its peers by itself and outlives the node it was put on; a peer that
//! answers bytes of another hash, or a file over the bound, is banned and the file comes
//! from an honest peer; `putzonefile` refuses unreferenced, oversized and non-hex data
//! and stores nothing, and what it acknowledged survives SIGKILL.
//! Expected hashes are SHA-256 computed here with the `sha2` crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chain_node::p2p::{ChainProtocol, ChainStatus, P2p, SyncRequest, SyncResponse};
use chain_node::u256::U256;
use chain_node::{Height, Network, Node};
use gossip::{Config, Keypair, Network as Gossip};
use naming::{Name, ZoneFileHash};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Scratch, key, start_in_process};
use crate::hostile::Responder;
use crate::name_flow::Registrar;
use crate::network::wait_for;

/// A zone file in the spirit of RFC 1035 master files.
const FILE: &[u8] =
    b"$ORIGIN alice.id\n$TTL 3600\n_http._tcp URI 10 1 \"https://alice.example/\"\n";

/// The price of `alice.id` under `names::test_terms`.
const PRICE: u64 = 2_000;

fn start(name: &str, peers: &[String]) -> (Node, P2p, Scratch) {
    start_in_process(name, peers, |p2p| {
        p2p.zone_file_retry = Duration::from_millis(500);
    })
}

fn addr(p2p: &P2p) -> String {
    format!("{}/p2p/{}", p2p.listen_addrs().unwrap()[0], p2p.peer_id())
}

fn rpc(node: &Node, method: &str, params: Value) -> Result<Value, (i64, String)> {
    chain_node::rpc::dispatch(node, method, &params).map_err(|e| (e.code, e.message))
}

/// SHA-256 of `data` (the oracle for the zone-file hash).
fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// The node's copy of the file with `hash`, `None` on -5.
fn zone_file(node: &Node, hash: &[u8; 32]) -> Option<Vec<u8>> {
    match rpc(node, "getzonefile", json!([hex::encode(hash)])) {
        Ok(v) => Some(hex::decode(v.as_str().unwrap()).unwrap()),
        Err((-5, message)) => {
            assert!(message.contains("Zone file not found"), "{message}");
            None
        }
        Err(e) => panic!("getzonefile: {e:?}"),
    }
}

/// Launches `id`, preorders `alice.id` with `FILE`'s hash and returns the register
/// transaction, not sent.
fn prepare_alice(reg: &Registrar<'_>) -> chain_node::Transaction {
    reg.launch_namespace(&key(2), &"id".parse().unwrap());
    let name: Name = "alice.id".parse().unwrap();
    reg.preorder(&key(3), &name, PRICE, Some(ZoneFileHash(sha256(FILE))))
}

fn stop(node: Node, p2p: P2p) {
    p2p.shutdown();
    node.shutdown().unwrap();
}

#[test]
fn a_zone_file_put_on_one_node_reaches_its_peers_and_outlives_it() {
    let hash = sha256(FILE);
    let (a, a_p2p, _da) = start("zone-a", &[]);
    let reg = Registrar::new(&a);
    let register = prepare_alice(&reg);
    // Nothing references it yet: refused, nothing stored.
    let (code, message) = rpc(&a, "putzonefile", json!([hex::encode(FILE)])).unwrap_err();
    assert_eq!(code, -8);
    assert!(
        message.contains("referenced by no name record"),
        "{message}"
    );
    assert_eq!(zone_file(&a, &hash), None);
    // The register in the mempool references it: stored, its hash answered.
    a.submit_transaction(register).unwrap();
    assert_eq!(
        rpc(&a, "putzonefile", json!([hex::encode(FILE)])).unwrap(),
        json!(hex::encode(hash))
    );
    reg.generate(1);
    let info = rpc(&a, "getnameinfo", json!(["alice.id"])).unwrap();
    assert_eq!(info["zonefilehash"], json!(hex::encode(hash)));
    assert_eq!(zone_file(&a, &hash).as_deref(), Some(FILE));

    // B, peered to A, gets the chain and then the file by itself.
    let (b, b_p2p, _db) = start("zone-b", &[addr(&a_p2p)]);
    let top = a.tip().unwrap();
    wait_for("B at A's tip", 60, || b.tip().unwrap() == top);
    wait_for("the zone file on B", 60, || zone_file(&b, &hash).is_some());
    assert_eq!(zone_file(&b, &hash).as_deref(), Some(FILE));

    // A goes away; C, peered to B only, gets it from B.
    drop(reg);
    stop(a, a_p2p);
    let (c, c_p2p, _dc) = start("zone-c", &[addr(&b_p2p)]);
    wait_for("C at B's tip", 60, || c.tip().unwrap() == top);
    wait_for("the zone file on C", 60, || zone_file(&c, &hash).is_some());
    assert_eq!(zone_file(&c, &hash).as_deref(), Some(FILE));
    stop(c, c_p2p);
    stop(b, b_p2p);
}

/// A peer that answers every `GetZoneFiles` with `file` (bytes of another hash, or
/// over the size bound), and has no blocks; counts the zone-file requests it got.
struct Liar {
    addr: String,
    id: gossip::PeerId,
    asked: Arc<AtomicUsize>,
    responder: Responder,
}

impl Liar {
    fn start(file: Vec<u8>) -> Liar {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut config = Config::new(Keypair::generate_ed25519(), "regtest");
        config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
        let genesis = Network::Regtest.params().genesis_hash();
        let status = ChainStatus {
            network: "regtest".into(),
            genesis,
            best_height: Height(0),
            best_hash: genesis,
            best_work: U256::ZERO,
            tip_height: Height(0),
            tip_hash: genesis,
        };
        let (net, events) = rt
            .block_on(Gossip::<ChainProtocol>::start(config, status))
            .unwrap();
        let id = net.local_peer_id();
        let addr = format!("{}/p2p/{id}", rt.block_on(net.listen_addrs()).unwrap()[0]);
        let asked = Arc::new(AtomicUsize::new(0));
        let asked2 = Arc::clone(&asked);
        let responder = Responder::start(rt, net, events, move |request, reply| {
            let response = match request {
                SyncRequest::GetHeaders { .. } => SyncResponse::Headers(Vec::new()),
                SyncRequest::GetBlocks(_) => SyncResponse::Blocks(Vec::new()),
                SyncRequest::GetZoneFiles(_) => {
                    asked2.fetch_add(1, Ordering::Relaxed);
                    SyncResponse::ZoneFiles(vec![file.clone()])
                }
            };
            Some((reply, response))
        });
        Liar {
            addr,
            id,
            asked,
            responder,
        }
    }
}

#[test]
fn peers_answering_other_or_oversized_bytes_are_banned_and_the_file_comes_from_an_honest_peer() {
    let hash = sha256(FILE);
    let liar = Liar::start(b"not the file".to_vec());
    // One byte over the bound: its answer does not decode.
    let oversized = Liar::start(vec![b'x'; 4097]);
    // B mines the name; its only peers are the liars, which it asks for the file.
    let (b, b_p2p, _db) = start("liar-b", &[liar.addr.clone(), oversized.addr.clone()]);
    let reg = Registrar::new(&b);
    let register = prepare_alice(&reg);
    reg.mine(register);
    let ban_of = |peer: gossip::PeerId| {
        b_p2p
            .banned()
            .into_iter()
            .find(|r| r.peer == peer)
            .map(|r| r.reason)
    };
    wait_for("B bans both liars", 60, || {
        ban_of(liar.id).is_some() && ban_of(oversized.id).is_some()
    });
    let reason = ban_of(liar.id).unwrap();
    assert!(reason.contains("not asked for"), "{reason}");
    assert!(liar.asked.load(Ordering::Relaxed) >= 1);
    assert!(oversized.asked.load(Ordering::Relaxed) >= 1);
    assert_eq!(zone_file(&b, &hash), None, "the lie was not stored");
    assert_eq!(zone_file(&b, &sha256(b"not the file")), None);

    // An honest A syncs from B; the file is put there, and B fetches it from A.
    let (a, a_p2p, _da) = start("liar-a", &[addr(&b_p2p)]);
    let top = b.tip().unwrap();
    wait_for("A at B's tip", 60, || a.tip().unwrap() == top);
    assert_eq!(
        rpc(&a, "putzonefile", json!([hex::encode(FILE)])).unwrap(),
        json!(hex::encode(hash))
    );
    wait_for("the zone file on B", 60, || zone_file(&b, &hash).is_some());
    assert_eq!(zone_file(&b, &hash).as_deref(), Some(FILE));
    drop(reg);
    stop(a, a_p2p);
    stop(b, b_p2p);
    liar.responder.stop();
    oversized.responder.stop();
}

#[test]
fn putzonefile_refuses_oversized_and_malformed_data_and_a_reorg_drops_the_reference() {
    let node = crate::helpers::TestNode::open(Network::Regtest, "zone-refusals", |c| {
        c.mining_threads = 1;
    });
    let hash = ZoneFileHash(sha256(FILE));
    let reg = Registrar::new(&node);
    let register = prepare_alice(&reg);
    let referenced = || {
        node.read(move |v| v.chain().zone_file_referenced(&hash))
            .unwrap()
    };
    assert!(!referenced().unwrap());
    reg.mine(register);
    assert!(referenced().unwrap());

    // 4,097 bytes: over the bound, refused before anything is looked up.
    let big = vec![b'x'; 4097];
    let (code, message) = rpc(&node, "putzonefile", json!([hex::encode(&big)])).unwrap_err();
    assert_eq!(code, -8);
    assert!(
        message.contains("4097 bytes exceeds the maximum"),
        "{message}"
    );
    assert_eq!(zone_file(&node, &sha256(&big)), None);
    // Not hex; a hash that is not 32 bytes.
    let (code, _) = rpc(&node, "putzonefile", json!(["zz"])).unwrap_err();
    assert_eq!(code, -22);
    let (code, _) = rpc(&node, "getzonefile", json!(["abcd"])).unwrap_err();
    assert_eq!(code, -8);
    // Exactly 4,096 bytes is within the bound, but referenced by nothing.
    let (code, message) =
        rpc(&node, "putzonefile", json!([hex::encode(vec![b'y'; 4096])])).unwrap_err();
    assert_eq!(code, -8);
    assert!(
        message.contains("referenced by no name record"),
        "{message}"
    );
    assert_eq!(zone_file(&node, &sha256(&vec![b'y'; 4096])), None);

    // Disconnecting the register's block removes the reference; reconnecting restores it.
    let (_, tip) = node.tip().unwrap();
    node.invalidate_block(&tip).unwrap();
    assert!(!referenced().unwrap());
    node.reconsider_block(&tip).unwrap();
    assert!(referenced().unwrap());
    assert_eq!(
        rpc(&node, "putzonefile", json!([hex::encode(FILE)])).unwrap(),
        json!(hex::encode(hash.as_bytes()))
    );
    assert_eq!(zone_file(&node, hash.as_bytes()).as_deref(), Some(FILE));
}

/// `putzonefile` answers only once the file is on disk: a `chain-node` process killed
/// with SIGKILL right after the answer still has it when started again.
#[test]
fn a_zone_file_acknowledged_by_putzonefile_survives_kill_9() {
    let hash = sha256(FILE);
    let node = crate::helpers::TestNode::open(Network::Regtest, "zone-kill9", |c| {
        c.mining_threads = 1;
    });
    let reg = Registrar::new(&node);
    let register = prepare_alice(&reg);
    reg.mine(register);
    drop(reg);
    let (_config, dir) = node.close();
    let process = crate::process::NodeProcess::start(dir.as_ref());
    assert_eq!(
        process.ok("putzonefile", json!([hex::encode(FILE)])),
        json!(hex::encode(hash))
    );
    process.kill9();
    let process = crate::process::NodeProcess::start(dir.as_ref());
    assert_eq!(
        process.ok("getzonefile", json!([hex::encode(hash)])),
        json!(hex::encode(FILE))
    );
    process.stop();
}

/// The sweep removes a stored file only once nothing (name records of the tip, name
/// operations in the mempool) has referenced it for the grace period, and a reference
/// that comes back in time (a reorganisation) keeps it.
#[test]
fn a_zone_file_nothing_references_for_the_grace_period_is_removed() {
    const GRACE: u32 = 3;
    let node = crate::helpers::TestNode::open(Network::Regtest, "zone-sweep", |c| {
        c.mining_threads = 1;
        c.zone_file_grace = GRACE;
    });
    let reg = Registrar::new(&node);
    let register = prepare_alice(&reg);
    reg.mine(register);
    rpc(&node, "putzonefile", json!([hex::encode(FILE)])).unwrap();
    let second: &[u8] = b"$ORIGIN alice.id\n@ TXT \"moved\"\n";
    let (old, new) = (sha256(FILE), sha256(second));
    let sweep_until_tip_moves = |blocks: u32| {
        for _ in 0..blocks {
            assert_eq!(node.sweep_zone_files().unwrap(), 0);
            reg.generate(1);
        }
    };
    // Referenced by the record: kept however long the sweep runs.
    sweep_until_tip_moves(GRACE + 2);
    assert_eq!(zone_file(&node, &old).as_deref(), Some(FILE));

    // The update to a second file waits in the mempool: both are in use.
    let name: Name = "alice.id".parse().unwrap();
    let update = reg.op(
        &key(3),
        naming::Operation::NameUpdate {
            name,
            zone_file: ZoneFileHash(new),
        },
        0,
    );
    let txid = node.submit_transaction(update).unwrap();
    rpc(&node, "putzonefile", json!([hex::encode(second)])).unwrap();
    for _ in 0..2 {
        assert_eq!(node.sweep_zone_files().unwrap(), 0);
    }
    assert_eq!(zone_file(&node, &new).as_deref(), Some(second));
    reg.generate(1);
    assert_eq!(
        rpc(&node, "getrawmempool", json!([])).unwrap(),
        json!([]),
        "the update {txid} is mined"
    );
    // Now nothing references the first file: the sweep first notes it, keeps it for
    // the grace period, and a reorganisation that restores the old record in time
    // restarts its clock.
    let (_, update_block) = node.tip().unwrap();
    sweep_until_tip_moves(GRACE - 1);
    node.invalidate_block(&update_block).unwrap();
    assert_eq!(node.sweep_zone_files().unwrap(), 0);
    node.reconsider_block(&update_block).unwrap();
    sweep_until_tip_moves(GRACE);
    assert_eq!(zone_file(&node, &old).as_deref(), Some(FILE));
    // Unreferenced for the whole grace period since: removed; the second file stays.
    assert_eq!(node.sweep_zone_files().unwrap(), 1);
    assert_eq!(zone_file(&node, &old), None);
    assert_eq!(zone_file(&node, &new).as_deref(), Some(second));
    assert_eq!(node.sweep_zone_files().unwrap(), 0);
}
