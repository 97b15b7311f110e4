//! Hostile peers against two honest `chain-node` processes: a libp2p peer built in the
//! test with the gossip crate and the chain protocol's own types sends garbage, headers
//! with invalid proof of work, or a mutated copy of a valid block; each is banned and
//! disconnected, and the honest nodes keep agreeing (the valid block is still accepted).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use chain_node::p2p::{ChainProtocol, ChainStatus, SyncRequest, SyncResponse, blocks_topic};
use chain_node::pow::Target;
use chain_node::u256::U256;
use chain_node::{Amount, Block, Header, Height, Network};
use gossip::{Config, Event, Events, Keypair, Limits, Network as Gossip, Reply};
use serde_json::json;

use crate::helpers::{Scratch, address, coinbase, key, make_block, temp_dir};
use crate::network::{block, p2p_addr, start, tip, wait_for};
use crate::process::NodeProcess;

fn tip_block(node: &NodeProcess) -> Block {
    block(node, &tip(node))
}

/// An honest-looking status (the regtest genesis) claiming `work` and a tip at height
/// 1,000.
fn status(work: U256) -> ChainStatus {
    let genesis = Network::Regtest.params().genesis_hash();
    ChainStatus {
        network: "regtest".into(),
        genesis,
        best_height: Height(1_000),
        best_hash: genesis,
        best_work: work,
        tip_height: Height(1_000),
        tip_hash: genesis,
    }
}

/// What to do with an event.
enum Step {
    Go,
    Stop,
    Answer(Reply<ChainProtocol>, SyncResponse),
}

/// A peer of our own that dials `target`.
struct Hostile {
    rt: tokio::runtime::Runtime,
    net: Gossip<ChainProtocol>,
    events: Events<ChainProtocol>,
}

impl Hostile {
    fn dial(target: &str, status: ChainStatus) -> Self {
        Self::dial_with(target, status, Limits::default())
    }

    /// Dials with limits of its own choosing (looser than the honest nodes').
    fn dial_with(target: &str, status: ChainStatus, limits: Limits) -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut config = Config::new(Keypair::generate_ed25519(), "regtest");
        config.limits = limits;
        config.static_peers = vec![target.parse().unwrap()];
        config.topics = vec![blocks_topic("regtest")];
        let (net, events) = rt.block_on(Gossip::start(config, status)).unwrap();
        let mut h = Hostile { rt, net, events };
        h.until(|e| match e {
            Event::PeerReady { .. } => Step::Stop,
            _ => Step::Go,
        });
        h
    }

    fn peer_id(&self) -> String {
        self.net.local_peer_id().to_string()
    }

    /// Handles events as `step` says until it says stop.
    fn until(&mut self, mut step: impl FnMut(Event<ChainProtocol>) -> Step) {
        let Hostile { rt, events, .. } = self;
        rt.block_on(async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                let event = tokio::time::timeout_at(deadline, events.recv())
                    .await
                    .expect("timed out waiting for an event")
                    .expect("the hostile network stopped");
                match step(event) {
                    Step::Go => {}
                    Step::Stop => return,
                    Step::Answer(reply, response) => {
                        let _ = reply.send(response).await;
                    }
                }
            }
        });
    }

    /// Publishes `data` on the block topic, retrying until the node's subscription is
    /// known.
    fn publish(&self, data: Vec<u8>) {
        self.rt.block_on(async {
            for _ in 0..200 {
                if self
                    .net
                    .publish(blocks_topic("regtest"), data.clone())
                    .await
                    .is_ok()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("could not publish");
        });
    }
}

/// What a [`Responder`] does with a request: the reply and the response to send, or
/// `None` when it keeps the reply (the request then waits until the responder stops).
pub(crate) type Answer = Option<(Reply<ChainProtocol>, SyncResponse)>;

/// A peer of the test's own that answers every request as `answer` says, on a thread
/// of its own, until stopped.
pub(crate) struct Responder {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Responder {
    pub(crate) fn start(
        rt: tokio::runtime::Runtime,
        net: Gossip<ChainProtocol>,
        mut events: Events<ChainProtocol>,
        mut answer: impl FnMut(SyncRequest, Reply<ChainProtocol>) -> Answer + Send + 'static,
    ) -> Responder {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stop2 = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            rt.block_on(async move {
                while !stop2.load(Ordering::Relaxed) {
                    let Ok(Some(event)) =
                        tokio::time::timeout(Duration::from_millis(100), events.recv()).await
                    else {
                        continue;
                    };
                    if let Event::Request { request, reply, .. } = event
                        && let Some((reply, response)) = answer(request, reply)
                    {
                        let _ = reply.send(response).await;
                    }
                }
                // Kept replies go first, then the network.
                drop(answer);
                drop(net);
            });
        });
        Responder { stop, thread }
    }

    pub(crate) fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap();
    }
}

fn banned(node: &NodeProcess, peer: &str) -> Option<String> {
    node.ok("listbanned", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["address"] == json!(peer))
        .map(|b| b["ban_reason"].as_str().unwrap().to_owned())
}

fn connected(node: &NodeProcess, peer: &str) -> bool {
    node.ok("getpeerinfo", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["peerid"] == json!(peer))
}

/// Two honest nodes, B peered to A, agreeing on `blocks` blocks mined on A; returns
/// their directories, A, A's address and B.
fn two_nodes(tag: &str, blocks: u32) -> ([Scratch; 2], NodeProcess, String, NodeProcess) {
    let dirs = [temp_dir(&format!("{tag}-a")), temp_dir(&format!("{tag}-b"))];
    let a = start(dirs[0].as_ref(), &[]);
    let a_addr = p2p_addr(&a);
    let b = start(dirs[1].as_ref(), std::slice::from_ref(&a_addr));
    let to = address(&key(1)).encode(Network::Regtest);
    a.ok("generatetoaddress", json!([blocks, to]));
    let top = tip(&a);
    wait_for("B at A's tip", 60, || tip(&b) == top);
    (dirs, a, a_addr, b)
}

/// A block mined on `miner` reaches `follower`, and each has only the other as a peer.
fn still_agree(miner: &NodeProcess, follower: &NodeProcess) {
    let to = address(&key(2)).encode(Network::Regtest);
    let next = miner.ok("generatetoaddress", json!([1, to]))[0]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for("the follower at the miner's new tip", 60, || {
        tip(follower) == next
    });
    for node in [miner, follower] {
        assert_eq!(
            node.ok("getpeerinfo", json!([])).as_array().unwrap().len(),
            1
        );
    }
}

#[test]
fn hostile_peers_are_banned_and_honest_nodes_keep_agreeing() {
    let (_dirs, a, a_addr, b) = two_nodes("hostile", 5);
    let five = tip(&a);

    // Garbage on the block topic.
    let mut garbage = Hostile::dial(&a_addr, status(U256::ZERO));
    let id = garbage.peer_id();
    assert!(connected(&a, &id));
    garbage.publish(b"not a block at all".to_vec());
    garbage.until(|e| match e {
        Event::PeerDisconnected { .. } => Step::Stop,
        _ => Step::Go,
    });
    wait_for("the garbage sender banned", 60, || {
        banned(&a, &id).is_some()
    });
    assert!(banned(&a, &id).unwrap().contains("undecodable block"));
    assert!(!connected(&a, &id));

    // Headers with invalid proof of work, sent when A asks (its status claims work).
    let mut liar = Hostile::dial(&a_addr, status(U256::MAX));
    let id = liar.peer_id();
    let params = Network::Regtest.params();
    let target = Target::from_compact(params.pow_limit).unwrap();
    let top = tip_block(&a).header;
    let mut bad = Header {
        version: 1,
        prev: top.hash(),
        merkle_root: [7; 32],
        time: top.time + 1,
        bits: params.pow_limit,
        nonce: 0,
    };
    while target.is_met_by(&bad.hash()) {
        bad.nonce += 1;
    }
    let mut asked = false;
    liar.until(|e| match e {
        Event::Request { request, reply, .. } => {
            assert!(matches!(request, SyncRequest::GetHeaders { .. }));
            asked = true;
            Step::Answer(reply, SyncResponse::Headers(vec![bad]))
        }
        Event::PeerDisconnected { .. } => Step::Stop,
        _ => Step::Go,
    });
    assert!(
        asked,
        "the node never asked the peer that claimed more work"
    );
    wait_for("the invalid-PoW sender banned", 60, || {
        banned(&a, &id).is_some()
    });
    let reason = banned(&a, &id).unwrap();
    assert!(reason.contains("headers refused"), "{reason}");
    assert_eq!(tip(&a), five);

    // A mutated copy of a valid block: refused, sender banned, the real block accepted.
    let mutant = Hostile::dial(&a_addr, status(U256::ZERO));
    let id = mutant.peer_id();
    let real = make_block(
        &params,
        &top,
        top.time + 1,
        vec![coinbase(6, address(&key(9)), Amount::from_units(1))],
    );
    let mut copy = real.clone();
    copy.txs[0] = coinbase(6, address(&key(9)), Amount::from_units(2));
    assert_eq!(copy.hash(), real.hash());
    mutant.publish(copy.to_bytes());
    wait_for("the mutated block's sender banned", 60, || {
        banned(&a, &id).is_some()
    });
    let reason = banned(&a, &id).unwrap();
    assert!(reason.contains("mutated"), "{reason}");
    assert_eq!(tip(&a), five);
    assert_eq!(
        b.ok("submitblock", json!([hex::encode(real.to_bytes())])),
        json!(null)
    );
    let real_hash = real.hash().to_hex();
    wait_for("the real block at A", 60, || tip(&a) == real_hash);

    // A request over its bound (17 block hashes where 16 is the most): the frame does
    // not decode at A, and its sender is banned by the gossip layer.
    let mut greedy = Hostile::dial(&a_addr, status(U256::ZERO));
    let id = greedy.peer_id();
    let a_peer: gossip::PeerId = a_addr.rsplit('/').next().unwrap().parse().unwrap();
    let too_many = SyncRequest::GetBlocks(vec![real.hash(); 17]);
    let answer = greedy
        .rt
        .block_on(async { greedy.net.request(a_peer, too_many).await });
    assert!(answer.is_err(), "{answer:?}");
    greedy.until(|e| match e {
        Event::PeerDisconnected { .. } => Step::Stop,
        _ => Step::Go,
    });
    wait_for("the greedy requester banned", 60, || {
        banned(&a, &id).is_some()
    });

    // The honest nodes keep agreeing.
    still_agree(&a, &b);
    assert_eq!(b.ok("getblockcount", json!([])), json!(7));
    drop((garbage, liar, mutant, greedy));
    a.stop();
    b.stop();
}

/// A peer that floods the node with requests, and one that gossips blocks over the size
/// limit: each is banned, and the honest nodes keep agreeing.
#[test]
fn a_flood_of_requests_and_oversized_gossip_get_their_senders_banned() {
    let (_dirs, a, a_addr, b) = two_nodes("flood", 3);

    // A thousand header requests at once: far over the rate and the concurrency a peer
    // is allowed.
    let loose = Limits {
        max_outbound_requests_per_peer: 2_000,
        ..Limits::default()
    };
    // At genesis, so that the node never asks it for headers: its only offence is the
    // flood (a header request it left unanswered would cost it a penalty of its own,
    // which on a loaded machine could come first).
    let behind = ChainStatus {
        best_height: Height(0),
        tip_height: Height(0),
        ..status(U256::ZERO)
    };
    let flooder = Hostile::dial_with(&a_addr, behind, loose);
    let id = flooder.peer_id();
    let a_peer: gossip::PeerId = a_addr.rsplit('/').next().unwrap().parse().unwrap();
    let genesis = Network::Regtest.params().genesis_hash();
    flooder.rt.block_on(async {
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..1_000 {
            let net = flooder.net.clone();
            requests.spawn(async move {
                let ask = SyncRequest::GetHeaders {
                    locator: vec![genesis],
                    stop: None,
                };
                net.request(a_peer, ask).await.is_ok()
            });
        }
        let answered = requests.join_all().await.iter().filter(|ok| **ok).count();
        assert!(answered < 1_000, "every request of the flood was answered");
    });
    wait_for("the flooder banned", 60, || banned(&a, &id).is_some());
    let reason = banned(&a, &id).unwrap();
    assert!(reason.contains("request flood"), "{reason}");
    assert!(!connected(&a, &id));

    // Blocks over the limit, in gossip frames large enough to be read: never validated,
    // and their sender is banned.
    let loose = Limits {
        max_message_bytes: Limits::default().max_message_bytes * 3 / 2,
        ..Limits::default()
    };
    let big = Hostile::dial_with(&a_addr, status(U256::ZERO), loose);
    let id = big.peer_id();
    let over = Limits::default().max_message_bytes + 1;
    big.publish(vec![7; over]);
    wait_for("the oversized sender banned", 60, || {
        banned(&a, &id).is_some()
    });
    let reason = banned(&a, &id).unwrap();
    assert!(reason.contains("oversized gossip message"), "{reason}");
    assert!(!connected(&a, &id));

    // The honest nodes keep agreeing, in both directions.
    still_agree(&b, &a);
    drop((flooder, big));
    a.stop();
    b.stop();
}

/// A peer claiming more work answers with a valid chain from genesis far below the
/// node's: nothing of it is stored, and after three such answers the peer is banned.
#[test]
fn a_low_work_header_chain_is_never_stored_and_its_sender_is_banned() {
    let dir = temp_dir("hostile-lowwork");
    let a = start(dir.as_ref(), &[]);
    let a_addr = p2p_addr(&a);
    let to = address(&key(1)).encode(Network::Regtest);
    a.ok("generatetoaddress", json!([200, to]));
    let honest_tip = tip(&a);

    // Twenty headers with valid proof of work from genesis: 20 blocks of work where the
    // threshold is the tip's 200 minus 144.
    let params = Network::Regtest.params();
    let mut prev = params.genesis.header;
    let mut chain = Vec::new();
    for i in 0..20 {
        let header = make_block(
            &params,
            &prev,
            prev.time + 1,
            vec![coinbase(i + 1, address(&key(8)), Amount::from_units(1))],
        )
        .header;
        chain.push(header);
        prev = header;
    }
    let mut liar = Hostile::dial(&a_addr, status(U256::MAX));
    let id = liar.peer_id();
    let mut answers = 0;
    liar.until(|e| match e {
        Event::Request { reply, .. } => {
            answers += 1;
            Step::Answer(reply, SyncResponse::Headers(chain.clone()))
        }
        Event::PeerDisconnected { .. } => Step::Stop,
        _ => Step::Go,
    });
    assert!(answers >= 3, "banned after {answers} answers");
    wait_for("the low-work sender banned", 60, || {
        banned(&a, &id).is_some()
    });
    let reason = banned(&a, &id).unwrap();
    assert!(
        reason.contains("below the work and the tip height 1000 its status claimed"),
        "{reason}"
    );
    // Nothing of the chain was stored.
    let info = a.ok("getblockchaininfo", json!([]));
    assert_eq!(info["headers"], json!(200));
    assert_eq!(tip(&a), honest_tip);
    let tips = a.ok("getchaintips", json!([]));
    assert_eq!(tips.as_array().unwrap().len(), 1, "{tips}");
    for h in &chain {
        let r = a.call("getblockheader", json!([h.hash().to_hex()]));
        assert_eq!(r["error"]["code"], json!(-5), "{r}");
    }
    drop(liar);
    a.stop();
}

/// A peer that claims the chain, answers headers with nothing and never answers a
/// request for blocks: the blocks asked of it time out, go to the honest peer, and the
/// node syncs all the same; the withholding peer is reported.
#[test]
fn blocks_a_peer_withholds_are_fetched_from_another() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let (da, db) = (temp_dir("withhold-a"), temp_dir("withhold-b"));
    let a = start(da.as_ref(), &[]);
    let a_addr = p2p_addr(&a);
    let to = address(&key(1)).encode(Network::Regtest);
    a.ok("generatetoaddress", json!([1000, to]));
    let honest_tip = tip(&a);
    let info = a.ok("getblockchaininfo", json!([]));
    let work: [u8; 32] = hex::decode(info["chainwork"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();

    // The withholding peer listens; B dials it and A.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut config = Config::new(Keypair::generate_ed25519(), "regtest");
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    config.topics = vec![blocks_topic("regtest")];
    let mut claim = status(U256::from_be_bytes(&work));
    claim.tip_hash = honest_tip.parse().unwrap();
    claim.best_hash = claim.tip_hash;
    claim.tip_height = Height(1000);
    claim.best_height = Height(1000);
    let (net, events) = rt
        .block_on(Gossip::<ChainProtocol>::start(config, claim))
        .unwrap();
    let w_addr = rt.block_on(net.listen_addrs()).unwrap()[0].to_string();
    let w_id = net.local_peer_id().to_string();
    let withheld = Arc::new(AtomicUsize::new(0));
    let withheld2 = Arc::clone(&withheld);
    let mut held = Vec::new();
    let withholder = Responder::start(rt, net, events, move |request, reply| match request {
        SyncRequest::GetBlocks(hashes) => {
            withheld2.fetch_add(hashes.len(), Ordering::Relaxed);
            held.push(reply);
            None
        }
        SyncRequest::GetHeaders { .. } => Some((reply, SyncResponse::Headers(Vec::new()))),
        SyncRequest::GetZoneFiles(_) => Some((reply, SyncResponse::ZoneFiles(Vec::new()))),
    });

    let b = start(db.as_ref(), &[a_addr, w_addr]);
    wait_for("B at A's tip", 120, || tip(&b) == honest_tip);
    assert!(
        withheld.load(Ordering::Relaxed) > 0,
        "the withholding peer was never asked for blocks"
    );
    // Its timeouts were held against it, and it is asked for nothing more.
    let peers = b.ok("getpeerinfo", json!([]));
    let w = peers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["peerid"] == json!(w_id))
        .expect("the withholding peer is still connected");
    assert!(w["misbehavior"].as_u64().unwrap() >= 10, "{w}");
    assert_eq!(w["synced_blocks"], json!(-1), "{w}");
    assert_eq!(w["inflight"], json!([]), "{w}");
    assert!(
        withheld.load(Ordering::Relaxed) <= 2 * 32,
        "asked again while stalled"
    );
    withholder.stop();
    a.stop();
    b.stop();
}
