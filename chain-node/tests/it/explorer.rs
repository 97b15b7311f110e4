//! The block explorer over real TCP on 127.0.0.1: every page, bad input of every kind
//! (each a clear 4xx page that changes nothing), escaping of attacker-chosen data,
//! per-client rates, slow clients, live streams and the binary's flag.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use chain_node::explorer::{Explorer, ExplorerConfig, MAX_QUERY, Rate};
use chain_node::{Amount, COIN, Network, OutputKind, TxOut};
use merkle_log::http::probe::Siege;
use serde_json::json;

use crate::helpers::{Reads as _, TestNode, address, coinbase_coin, key, spend, temp_dir};
use crate::process::NodeProcess;
use crate::rpc::eventually;

/// A node with an explorer on an ephemeral port; the explorer stops first.
pub(crate) struct Served {
    pub(crate) explorer: Option<Explorer>,
    pub(crate) node: TestNode,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(e) = self.explorer.take() {
            e.stop().unwrap();
        }
    }
}

/// One HTTP answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// Sends `request` (a whole request head) and reads the answer to its end.
pub(crate) fn raw(addr: SocketAddr, request: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Reply {
        status: head.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0),
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

pub(crate) fn get(addr: SocketAddr, path: &str) -> Reply {
    raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
    )
}

/// A regtest node of one mining thread with an explorer configured by `configure`.
pub(crate) fn serve(name: &str, configure: impl FnOnce(&mut ExplorerConfig)) -> Served {
    let node = TestNode::open(Network::Regtest, name, |c| c.mining_threads = 1);
    let mut config = ExplorerConfig {
        sample_interval: Duration::from_millis(50),
        ..ExplorerConfig::default()
    };
    configure(&mut config);
    let listener = Explorer::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let explorer = Explorer::start((*node).clone(), None, listener, config).unwrap();
    Served {
        explorer: Some(explorer),
        node,
    }
}

impl Served {
    pub(crate) fn addr(&self) -> SocketAddr {
        self.explorer.as_ref().unwrap().local_addr()
    }

    pub(crate) fn get(&self, path: &str) -> Reply {
        get(self.addr(), path)
    }
}

/// The amount as the pages write it, from base units (written here, not by the
/// explorer's code): whole coins, a dot, eight digits.
pub(crate) fn coins(units: u64) -> String {
    format!("{}.{:08} coins", units / COIN, units % COIN)
}

const SCRIPT: &[u8] = b"<script>alert('burn')</script>";

#[test]
fn explorer_pages_show_blocks_transactions_addresses_and_escape_burn_data() {
    let served = serve("explorer-pages", |_| {});
    let node = &served.node;
    let (alice, bob) = (key(1), key(2));
    node.generate(101, address(&alice)).unwrap();
    let (op, coin) = coinbase_coin(node, 1);
    // Outputs and fee chosen here; the expectations below are these numbers.
    let to_bob = 10 * COIN;
    let burned = COIN;
    let fee = 100_000;
    let change = coin.amount.units() - to_bob - burned - fee;
    let tx = spend(
        node.params(),
        &[(op, coin, &alice)],
        vec![
            TxOut::pay(Amount::from_units(to_bob), address(&bob)),
            TxOut {
                amount: Amount::from_units(burned),
                kind: OutputKind::Burn(SCRIPT.to_vec()),
            },
            TxOut::pay(Amount::from_units(change), address(&alice)),
        ],
    );
    let txid = node.submit_transaction(tx.clone()).unwrap();
    let txid_hex = txid.to_hex();

    // In the mempool: the data is shown as text, escaped, and the fee is the one paid.
    let page = served.get(&format!("/tx/{txid_hex}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("unconfirmed (in the mempool)"));
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(
        page.body
            .contains("&lt;script&gt;alert(&#39;burn&#39;)&lt;/script&gt;")
            || page
                .body
                .contains("&lt;script&gt;alert('burn')&lt;/script&gt;"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&hex::encode(SCRIPT)));
    assert!(page.body.contains(&coins(fee)), "{}", page.body);
    assert!(page.body.contains(&coins(to_bob)));
    assert!(page.body.contains(&coins(coin.amount.units())));
    let mempool = served.get("/mempool");
    assert_eq!(mempool.status, 200);
    assert!(mempool.body.contains(&txid_hex));
    assert!(mempool.body.contains(&coins(fee)));

    // Confirmed: found without a hint (by its unspent outputs), fee from the undo data.
    let mined = node.generate(1, address(&alice)).unwrap()[0];
    let page = served.get(&format!("/tx/{txid_hex}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&mined.to_hex()));
    assert!(page.body.contains(r#"<td id="confirmations">1</td>"#));
    assert!(page.body.contains(&coins(fee)), "{}", page.body);
    assert!(!page.body.contains("<script>alert"));

    // The block: its header fields, its Merkle root and both transactions.
    let block = node.block(&mined).unwrap();
    let page = served.get(&format!("/block/{}", mined.to_hex()));
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&hex::encode(block.header.merkle_root)));
    assert!(page.body.contains("matches the transactions"));
    assert!(page.body.contains(&block.txs[0].txid().to_hex()));
    assert!(page.body.contains(&txid_hex));
    assert!(
        page.body
            .contains(&format!("<td>{}</td>", block.header.nonce))
    );
    assert!(page.body.contains(&block.header.prev.to_hex()));

    // Bob's address: his balance is what he was paid, and the payment is in his history.
    let bob_addr = address(&bob).encode(Network::Regtest);
    let page = served.get(&format!("/address/{bob_addr}"));
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains(&format!(r#"<td id="balance">{}</td>"#, coins(to_bob))),
        "{}",
        page.body
    );
    assert!(page.body.contains(&txid_hex));

    // The front page lists the new tip and draws its charts.
    let home = served.get("/");
    assert_eq!(home.status, 200);
    assert!(home.body.contains(&mined.to_hex()));
    assert!(home.body.contains(r#"<span id="tip-height">102</span>"#));
    assert!(home.body.matches("<polyline").count() >= 2);
    assert!(
        home.header("content-security-policy")
            .unwrap()
            .contains("default-src 'self'")
    );
    // Assets come from the binary.
    let css = served.get("/static/style.css");
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert!(served.get("/static/live.js").body.contains("EventSource"));

    // Search: each kind goes to its page.
    let at = |q: &str| served.get(&format!("/search?q={q}"));
    let r = at("102");
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some(format!("/block/{}", mined.to_hex())))
    );
    let r = at(&mined.to_hex().to_uppercase());
    assert_eq!(
        r.header("location"),
        Some(format!("/block/{}", mined.to_hex()))
    );
    let r = at(&txid_hex);
    assert_eq!(
        r.header("location"),
        Some(format!("/tx/{txid_hex}?block={}", mined.to_hex()))
    );
    let r = at(&bob_addr);
    assert_eq!(r.header("location"), Some(format!("/address/{bob_addr}")));
    // No name is registered on this chain: the search says so instead of redirecting.
    let r = at("alice.id");
    assert_eq!((r.status, r.header("location")), (404, None));
    assert!(r.body.contains("no such name: alice.id"), "{}", r.body);

    // Tips and peers.
    let tips = served.get("/tips");
    assert!(tips.body.contains(&mined.to_hex()));
    assert!(tips.body.contains("<td>active</td>"));
    let peers = served.get("/peers");
    assert_eq!(peers.status, 200);
    assert!(peers.body.contains("does no networking"));
}

#[test]
fn bad_requests_get_clear_pages_and_leave_the_node_unharmed() {
    let served = serve("explorer-bad", |_| {});
    let tip = served.node.tip().unwrap();
    let zeros = "0".repeat(64);
    let good = address(&key(3)).encode(Network::Regtest);
    let mut broken = good.clone();
    let last = broken.pop().unwrap();
    broken.push(if last == 'q' { 'p' } else { 'q' });
    let long_query = "1".repeat(MAX_QUERY + 1);
    let cases: Vec<(String, u16, &str)> = vec![
        ("/block/zz".into(), 400, "64 hexadecimal digits"),
        (format!("/block/{zeros}"), 404, "knows no block"),
        (
            "/block-height/99999".into(),
            404,
            "no block at height 99999",
        ),
        ("/block-height/-1".into(), 400, "not a block height"),
        ("/tx/123".into(), 400, "a txid is 64 hexadecimal digits"),
        (format!("/tx/{zeros}"), 404, "keeps no transaction index"),
        (format!("/tx/{zeros}?block=xyz"), 400, "block parameter"),
        ("/address/hello".into(), 400, "not a regtest address"),
        (format!("/address/{broken}"), 400, "not a regtest address"),
        ("/search?q=".into(), 400, "type a height"),
        ("/search?q=%3Cscript%3E".into(), 404, "nothing matches"),
        (format!("/search?q={long_query}"), 400, "at most 128"),
        ("/search?q=%ff".into(), 400, "does not decode"),
        ("/search?q=99999999999".into(), 400, "not a block height"),
        ("/search?q=42".into(), 404, "no block at height 42"),
        (
            format!("/search?q={zeros}"),
            404,
            "no block and no transaction",
        ),
        (format!("/search?q={broken}"), 400, "not a valid address"),
        ("/name/%3Cb%3E".into(), 400, "invalid name"),
        ("/name/alice.id".into(), 404, "no such name: alice.id"),
        ("/nowhere".into(), 404, "does not exist"),
        (format!("/{}", "a".repeat(300)), 414, "longer than 256"),
    ];
    for (path, status, says) in &cases {
        let r = served.get(path);
        assert_eq!(r.status, *status, "{path}: {}", r.body);
        assert!(r.body.contains(says), "{path}: {}", r.body);
        assert!(
            r.header("content-type").unwrap().starts_with("text/html"),
            "{path}"
        );
        // Whatever was typed is never markup on the page.
        assert!(
            !r.body.contains("<script>") && !r.body.contains("<b>"),
            "{path}"
        );
    }
    // Writes are refused; so is a head larger than the HTTP layer takes.
    let post = raw(
        served.addr(),
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow").as_deref(), Some("GET, HEAD"));
    let huge = raw(
        served.addr(),
        &format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
            "a".repeat(64 << 10)
        ),
    );
    assert!(huge.status == 431 || huge.status == 0, "{}", huge.status);
    // Garbage bytes get an HTTP error or a closed connection, and nothing else.
    let garbage = raw(served.addr(), "\x00\x01garbage\r\n\r\n");
    assert!(garbage.status == 400 || garbage.status == 0);
    // Nothing changed, and the explorer still serves.
    assert_eq!(served.node.tip().unwrap(), tip);
    assert_eq!(served.get("/").status, 200);
}

#[test]
fn a_client_past_its_rate_is_answered_429_until_its_bucket_refills() {
    let served = serve("explorer-rate", |c| {
        c.rate = Rate {
            per_second: 2.0,
            burst: 4.0,
        };
    });
    let statuses: Vec<u16> = (0..6).map(|_| served.get("/tips").status).collect();
    assert_eq!(&statuses[..4], &[200; 4]);
    assert_eq!(statuses[5], 429);
    let r = served.get("/tips");
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert!(r.body.contains("too many requests"));
    assert!(eventually(Duration::from_secs(5), || served
        .get("/tips")
        .status
        == 200));
}

#[test]
fn idle_and_dripping_clients_do_not_keep_others_out() {
    let served = serve("explorer-siege", |c| c.http.max_connections = 8);
    let _silent = Siege::silent(served.addr(), 8, b"").unwrap();
    let _drip = Siege::drip(served.addr(), 8, Duration::from_millis(200)).unwrap();
    for _ in 0..3 {
        assert_eq!(served.get("/").status, 200);
    }
    let stats = served.explorer.as_ref().unwrap().http_stats();
    assert!(stats.shed > 0, "{stats:?}");
    assert!(stats.open <= 8, "{stats:?}");
}

/// Reads a server-sent events stream until `want` appears in a `data:` line.
fn stream_until(stream: &mut TcpStream, want: &str, deadline: Duration) -> String {
    let end = Instant::now() + deadline;
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        stream
            .set_read_timeout(Some(
                end.saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(10)),
            ))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                if seen
                    .lines()
                    .any(|l| l.starts_with("data:") && l.contains(want))
                {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no event with {want} within {deadline:?}: {seen}");
}

fn open_stream(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    s
}

#[test]
fn live_streams_announce_new_blocks_and_are_bounded() {
    let served = serve("explorer-live", |c| c.max_streams = 2);
    let genesis = served.node.tip().unwrap().1;
    let mut a = open_stream(served.addr());
    let head = stream_until(&mut a, &genesis.to_hex(), Duration::from_secs(10));
    assert!(head.contains("text/event-stream"));
    let mut b = open_stream(served.addr());
    stream_until(&mut b, &genesis.to_hex(), Duration::from_secs(10));
    // A third stream is refused while two are open.
    let third = served.get("/events");
    assert_eq!(third.status, 503);
    assert!(third.body.contains("live-update streams are open"));
    // A new block reaches both open streams.
    let mined = served.node.generate(1, address(&key(4))).unwrap()[0];
    for s in [&mut a, &mut b] {
        let seen = stream_until(s, &mined.to_hex(), Duration::from_secs(10));
        assert!(seen.contains("\"height\":1"), "{seen}");
    }
    // A closed stream gives its place back.
    drop(a);
    assert!(eventually(Duration::from_secs(10), || {
        let mut c = open_stream(served.addr());
        let mut buf = [0u8; 64];
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        matches!(c.read(&mut buf), Ok(n) if n > 12 && buf.starts_with(b"HTTP/1.1 200"))
    }));
}

#[test]
fn the_tips_page_shows_a_reorganisation_seen_while_serving() {
    let served = serve("explorer-reorg", |_| {});
    let node = &served.node;
    let first = node.generate(2, address(&key(5))).unwrap();
    let old_tip = first[1];
    node.invalidate_block(&old_tip).unwrap();
    // With no block connected after it, live pages hear of the tip it left: block 1.
    let mut stream = open_stream(served.addr());
    let seen = stream_until(&mut stream, &first[0].to_hex(), Duration::from_secs(10));
    assert!(seen.contains("\"height\":1"), "{seen}");
    drop(stream);
    let new = node.generate(2, address(&key(6))).unwrap();
    assert!(eventually(Duration::from_secs(10), || {
        let page = served.get("/tips");
        page.body.contains(r#"<table id="reorgs">"#)
            && page.body.contains(&old_tip.to_hex())
            && page.body.contains(&new[1].to_hex())
    }));
    let page = served.get("/tips");
    assert!(page.body.contains("<td>invalid</td>"), "{}", page.body);
}

#[test]
fn the_binary_serves_the_explorer_on_loopback_only_unless_told() {
    let dir = temp_dir("explorer-binary");
    let node = NodeProcess::start_with(&dir, &["--explorer-listen", "127.0.0.1:0"]);
    let url = node.info["explorer"].as_str().unwrap().to_owned();
    let addr: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let mined = node.ok(
        "generatetoaddress",
        json!([1, address(&key(7)).encode(Network::Regtest)]),
    );
    let hash = mined[0].as_str().unwrap();
    assert!(get(addr, "/").body.contains(hash));
    node.stop();
    // Stopped with the node.
    assert!(TcpStream::connect(addr).is_err());

    let other = temp_dir("explorer-remote");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chain-node"))
        .args(["--network", "regtest", "--data"])
        .arg(other.join("node"))
        .args([
            "--rpc-listen",
            "127.0.0.1:0",
            "--explorer-listen",
            "0.0.0.0:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--explorer-allow-remote"), "{err}");
    assert!(
        !other.join("node").exists(),
        "a refused start created its directory"
    );
}

/// A zone file whose owner chose markup for it.
const HOSTILE_ZONE: &[u8] = b"$ORIGIN alice.id\n; <script>alert('zone')</script>\n$TTL 3600\n";

/// Height of the tip, read through the node (not the explorer).
fn tip_height(node: &chain_node::Node) -> u32 {
    node.tip().unwrap().0.0
}

#[test]
fn name_pages_show_a_registered_name_escaped_and_refuse_unknown_and_invalid_ones() {
    use naming::{Name, ZoneFileHash};
    use sha2::{Digest as _, Sha256};

    let served = serve("explorer-names", |_| {});
    let node = &served.node;
    let reg = crate::name_flow::Registrar::new(node);
    reg.launch_namespace(&key(2), &"id".parse().unwrap());
    let name: Name = "alice.id".parse().unwrap();
    // SHA-256 of the file is the zone-file hash (the oracle, computed here).
    let hash: [u8; 32] = Sha256::digest(HOSTILE_ZONE).into();
    // 2,000 units: the price of `alice.id` under `names::test_terms`.
    let register = reg.preorder(&key(3), &name, 2_000, Some(ZoneFileHash(hash)));

    // Not yet registered: 404, and the search does not redirect.
    let r = served.get("/name/alice.id");
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("no such name: alice.id"));
    assert_eq!(served.get("/search?q=alice.id").status, 404);

    reg.mine(register);
    let registered = tip_height(node);
    // The owner's address on regtest, linked to its address page.
    let owner = crate::names::owner_text(&key(3));
    let hash_hex = hex::encode(hash);
    // Registered, file not yet uploaded: the hash is shown, the file is missing.
    let r = served.get("/name/alice.id");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(&owner), "{}", r.body);
    assert!(r.body.contains(&hash_hex));
    assert!(r.body.contains("does not have the zone file"));

    node.put_zone_file(HOSTILE_ZONE.to_vec()).unwrap();
    let r = served.get("/name/alice.id");
    assert_eq!(r.status, 200, "{}", r.body);
    let field = |id: &str| {
        let from = r.body.find(&format!("id=\"{id}\">")).unwrap();
        let rest = &r.body[from..];
        let start = rest.find('>').unwrap() + 1;
        let end = rest.find('<').unwrap();
        rest[start..end].to_owned()
    };
    assert_eq!(field("name"), "alice.id");
    assert_eq!(field("owner"), owner);
    assert!(
        r.body
            .contains(&format!("href=\"/address/{owner}\" id=\"owner\"")),
        "{}",
        r.body
    );
    assert_eq!(field("status"), "active");
    // Lifetime 8 and grace 4 blocks under `names::test_terms`.
    assert_eq!(field("expires"), (registered + 8).to_string());
    assert_eq!(field("grace"), (registered + 12).to_string());
    assert_eq!(field("namespace"), "id (ready)");
    assert_eq!(field("zonefilehash"), hash_hex);
    // The file is on the page as text: every markup character escaped.
    let escaped = String::from_utf8(HOSTILE_ZONE.to_vec())
        .unwrap()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;");
    assert!(!r.body.contains("<script>alert"), "{}", r.body);
    assert!(
        r.body
            .contains(&format!("<pre id=\"zonefile\">{escaped}</pre>"))
            || r.body.contains(&format!(
                "<pre id=\"zonefile\">{}</pre>",
                escaped.replace("&#39;", "'")
            )),
        "{}",
        r.body
    );

    // The search finds it.
    let r = served.get("/search?q=alice.id");
    assert_eq!(
        (r.status, r.header("location").as_deref()),
        (303, Some("/name/alice.id"))
    );

    // Past its expiry the status changes with the height, before and after the grace.
    reg.generate(registered + 7 - tip_height(node));
    assert_eq!(tip_height(node) + 1, registered + 8);
    assert!(
        served
            .get("/name/alice.id")
            .body
            .contains("id=\"status\">grace")
    );
    reg.generate(4);
    assert!(
        served
            .get("/name/alice.id")
            .body
            .contains("id=\"status\">expired")
    );

    // Unknown and invalid names.
    let r = served.get("/name/bob.id");
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("no such name: bob.id"));
    for bad in ["Alice.id", "alice", "a..id", ".id"] {
        let r = served.get(&format!("/name/{bad}"));
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.body.contains("invalid name"), "{bad}: {}", r.body);
    }
    // A search that looks like a name but breaks the naming rules says why.
    let r = served.get("/search?q=alice");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("invalid name"), "{}", r.body);
}
