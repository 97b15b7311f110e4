//! The real server on an ephemeral port: receipts, dedup, every endpoint against
//! a naive tree computed here, and hostile requests.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use merkle_log::http::Limits;
use merkle_log::http::probe::Siege;
use merkle_log::server::{self, ServerConfig};
use merkle_log::tiles::{TileId, decode_bundle, decode_hash_tile, tiles_for_size};
use merkle_log::tree_math::consistency_plan;
use merkle_log::{
    Checkpoint, FetchedTiles, Hash, Log, LogConfig, TileNodeStore, Tree, VerifierKey,
    tiles_for_nodes, verify_receipt,
};

use crate::common::{Scratch, http, http_within, test_signer};
use crate::oracle;

pub(crate) fn start(dir: &Scratch) -> server::ServerHandle {
    let log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
    server::start(log, "127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap()
}

fn vkey() -> VerifierKey {
    test_signer().verifier().clone()
}

fn get(addr: SocketAddr, path: &str) -> crate::common::Response {
    http(addr, "GET", path, b"").unwrap()
}

fn b64s(v: &serde_json::Value) -> Vec<[u8; 32]> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
        .collect()
}

fn entry(t: usize, i: usize) -> Vec<u8> {
    format!("client {t} entry {i}").into_bytes()
}

#[test]
fn receipts_dedup_and_every_endpoint_match_a_naive_tree() {
    let dir = Scratch::new("server");
    let srv = start(&dir);
    let addr = srv.addr;
    let vkey = vkey();
    // 8 concurrent clients, 75 entries each: 600 entries, crossing tile edges.
    type Got = Arc<Mutex<Vec<(Vec<u8>, u64)>>>;
    let got: Got = Arc::default();
    std::thread::scope(|s| {
        for t in 0..8 {
            let got = Arc::clone(&got);
            let vkey = vkey.clone();
            s.spawn(move || {
                for i in 0..75 {
                    let e = entry(t, i);
                    let r = http(addr, "POST", "/add", &e).unwrap();
                    assert_eq!(r.status, 200, "{}", r.text());
                    let (receipt, _) = verify_receipt(&r.text(), &e, &vkey).unwrap();
                    got.lock().unwrap().push((e, receipt.index));
                }
            });
        }
    });
    let mut by_index = got.lock().unwrap().clone();
    by_index.sort_by_key(|(_, i)| *i);
    let indices: Vec<u64> = by_index.iter().map(|(_, i)| *i).collect();
    assert_eq!(indices, (0..600).collect::<Vec<u64>>());
    let entries: Vec<Vec<u8>> = by_index.into_iter().map(|(e, _)| e).collect();
    let leaves: Vec<[u8; 32]> = entries.iter().map(|e| oracle::leaf(e)).collect();

    // Dedup: the same entry again gets the receipt of its first index.
    for i in [0usize, 255, 256, 599] {
        let r = http(addr, "POST", "/add", &entries[i]).unwrap();
        let (receipt, cp) = verify_receipt(&r.text(), &entries[i], &vkey).unwrap();
        assert_eq!(receipt.index, i as u64);
        assert_eq!(cp.size(), 600);
    }

    // The checkpoint: signed, no-cache, root of the naive tree.
    let r = get(addr, "/checkpoint");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let (cp, _) = Checkpoint::from_signed_note(&r.text(), &[vkey]).unwrap();
    assert_eq!(cp.size(), 600);
    assert_eq!(cp.root().0, oracle::mth(&leaves));

    // Tiles and bundles: every one of the tree of 600, against the naive tree.
    for (level, full, partial) in tiles_for_size(600) {
        for index in 0..full + u64::from(partial > 0) {
            let tile = TileId::at_size(level, index, 600).unwrap();
            let r = get(addr, &format!("/{}", tile.path()));
            assert_eq!(r.status, 200, "{}", tile.path());
            assert!(r.header("cache-control").unwrap().contains("immutable"));
            let hashes = decode_hash_tile(&r.body, tile.width).unwrap();
            let span = 1usize << (8 * level);
            for (j, h) in hashes.iter().enumerate() {
                let first = (index as usize * 256 + j) * span;
                assert_eq!(
                    h.0,
                    oracle::mth(&leaves[first..first + span]),
                    "{}",
                    tile.path()
                );
            }
            if level == 0 {
                let r = get(addr, &format!("/{}", tile.entries_path()));
                let got = decode_bundle(&r.body, tile.width).unwrap();
                let first = index as usize * 256;
                for (j, e) in got.iter().enumerate() {
                    assert_eq!(*e, &entries[first + j][..]);
                }
            }
        }
    }
    // A narrower partial than the latest is served as the prefix.
    let r = get(addr, "/tile/0/002.p/5");
    let hashes = decode_hash_tile(&r.body, 5).unwrap();
    assert_eq!(hashes[4].0, leaves[516]);
    let r = get(addr, "/tile/entries/002.p/3");
    assert_eq!(decode_bundle(&r.body, 3).unwrap()[2], &entries[514][..]);
    // Partials of tiles that filled are served from the full tile, whether or
    // not they are pruned yet (C2SP allows it; they go once the full tile is
    // durable, at the next flush of the write-ahead log).
    let r = get(addr, "/tile/0/001.p/7");
    let hashes = decode_hash_tile(&r.body, 7).unwrap();
    assert_eq!(
        hashes.iter().map(|h| h.0).collect::<Vec<_>>(),
        leaves[256..263]
    );
    let r = get(addr, "/tile/entries/000.p/2");
    assert_eq!(
        decode_bundle(&r.body, 2).unwrap(),
        [&entries[0][..], &entries[1][..]]
    );

    // RFC 6962 JSON endpoints against the naive PATH and PROOF.
    for (i, n) in [
        (0usize, 1usize),
        (5, 600),
        (255, 256),
        (256, 300),
        (599, 600),
    ] {
        let h = Hash(leaves[i]).to_base64();
        let q = format!(
            "/ct/v1/get-proof-by-hash?hash={}&tree_size={n}",
            h.replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D")
        );
        let v = get(addr, &q).json();
        assert_eq!(v["leaf_index"], i as u64);
        assert_eq!(b64s(&v["audit_path"]), oracle::path(i, &leaves[..n]));
        let v = get(
            addr,
            &format!("/ct/v1/get-entry-and-proof?leaf_index={i}&tree_size={n}"),
        )
        .json();
        assert_eq!(
            B64.decode(v["leaf_input"].as_str().unwrap()).unwrap(),
            entries[i]
        );
        assert_eq!(b64s(&v["audit_path"]), oracle::path(i, &leaves[..n]));
    }
    for (m, n) in [
        (1usize, 600usize),
        (256, 600),
        (300, 513),
        (600, 600),
        (0, 7),
    ] {
        let v = get(
            addr,
            &format!("/ct/v1/get-sth-consistency?first={m}&second={n}"),
        )
        .json();
        assert_eq!(
            b64s(&v["consistency"]),
            oracle::proof(m, &leaves[..n]),
            "{m}->{n}"
        );
    }
    let v = get(addr, "/ct/v1/get-entries?start=250&end=260").json();
    let got: Vec<Vec<u8>> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| B64.decode(e["leaf_input"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(got, entries[250..=260]);
    let v = get(addr, "/ct/v1/get-entries?start=0&end=599").json();
    assert_eq!(v["entries"].as_array().unwrap().len(), 256);

    // An auditor's client-side consistency proof from fetched tiles.
    for (m, n) in [(100u64, 600u64), (256, 600), (599, 600)] {
        let mut needed = tiles_for_nodes(600, consistency_plan(m, n).unwrap().nodes());
        needed.extend(tiles_for_nodes(
            600,
            &merkle_log::tree_math::range_nodes(0, 600),
        ));
        let mut fetched = FetchedTiles::new();
        for t in needed {
            fetched
                .insert_bytes(t, &get(addr, &format!("/{}", t.path())).body)
                .unwrap();
        }
        let tree = Tree::open(600, TileNodeStore::new(600, fetched)).unwrap();
        let proof: Vec<[u8; 32]> = tree
            .consistency_proof(m, n)
            .unwrap()
            .iter()
            .map(|h| h.0)
            .collect();
        assert_eq!(proof, oracle::proof(m as usize, &leaves[..n as usize]));
    }
    srv.stop().unwrap();
    // A server stopped in order flushed: the partials of filled tiles are gone.
    assert!(!dir.path().join("tile/0/000.p").exists());
    assert!(!dir.path().join("tile/entries/001.p").exists());
}

#[test]
fn hostile_requests_get_4xx_with_a_reason_and_the_server_keeps_serving() {
    let dir = Scratch::new("hostile");
    let srv = start(&dir);
    let addr = srv.addr;
    assert_eq!(http(addr, "POST", "/add", b"seed").unwrap().status, 200);
    assert_eq!(http(addr, "POST", "/add", b"seed 2").unwrap().status, 200);
    let huge = vec![7u8; 65_536];
    // (method, path, body, status): everything but GETs without a body.
    let mut cases: Vec<(&str, String, &[u8], u16)> = vec![
        ("POST", "/add".into(), b"", 400),
        ("POST", "/add".into(), &huge, 413),
    ];
    let gets: Vec<(String, u16)> = vec![
        ("/add".into(), 405),
        ("/tile/0/001".into(), 404),
        ("/tile/0/000".into(), 404),
        ("/tile/0/000.p/3".into(), 404),
        ("/tile/entries/000.p/3".into(), 404),
        ("/tile/0/0".into(), 400),
        ("/tile/0/x000/000".into(), 400),
        ("/tile/0/000.p/0".into(), 400),
        ("/tile/0/000.p/256".into(), 400),
        ("/tile/9/000".into(), 400),
        ("/tile/-1/000".into(), 400),
        ("/tile/../checkpoint".into(), 400),
        ("/tile/0/..%2F..%2FFORMAT".into(), 400),
        ("/tile/entries/x999999/x999/999/999/999/999/999".into(), 400),
        ("/ct/v1/get-proof-by-hash?hash=abc&tree_size=1".into(), 400),
        ("/ct/v1/get-proof-by-hash?tree_size=1".into(), 400),
        (
            format!(
                "/ct/v1/get-proof-by-hash?hash={}&tree_size=2",
                "00".repeat(32)
            ),
            404,
        ),
        (
            format!(
                "/ct/v1/get-proof-by-hash?hash={}&tree_size=3",
                Hash::leaf(b"seed").to_hex()
            ),
            400,
        ),
        ("/ct/v1/get-sth-consistency?first=2&second=1".into(), 400),
        ("/ct/v1/get-sth-consistency?first=-1&second=1".into(), 400),
        ("/ct/v1/get-sth-consistency?first=1&second=3".into(), 400),
        (
            "/ct/v1/get-sth-consistency?first=1&second=99999999999999999999999".into(),
            400,
        ),
        ("/ct/v1/get-sth-consistency?first=01&second=2".into(), 400),
        ("/ct/v1/get-sth-consistency".into(), 400),
        ("/ct/v1/get-entries?start=1&end=0".into(), 400),
        ("/ct/v1/get-entries?start=0&end=2".into(), 400),
        ("/ct/v1/get-entries?start=x&end=1".into(), 400),
        (
            "/ct/v1/get-entry-and-proof?leaf_index=2&tree_size=2".into(),
            400,
        ),
        (
            "/ct/v1/get-entry-and-proof?leaf_index=0&tree_size=3".into(),
            400,
        ),
        ("/ct/v1/get-entry-and-proof?leaf_index=0".into(), 400),
        ("/nope".into(), 404),
    ];
    cases.extend(gets.into_iter().map(|(p, w)| ("GET", p, &b""[..], w)));
    for (method, path, body, want) in &cases {
        let r = http(addr, method, path, body).unwrap();
        assert_eq!(r.status, *want, "{method} {path}: {}", r.text());
        if *want != 405 {
            assert!(
                !r.text().trim().is_empty(),
                "{method} {path}: no reason given"
            );
        }
        assert_eq!(get(addr, "/checkpoint").status, 200, "after {path}");
    }
    // Bytes that are not HTTP at all, and a connection dropped mid-request.
    for junk in [
        &b"\x00\xff garbage\r\n\r\n"[..],
        b"POST /add HTTP/1.1\r\nContent-Length: 10\r\n\r\nab",
    ] {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(junk).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    }
    // Nothing was added by any of it; the log still takes entries.
    let r = http(addr, "POST", "/add", b"after").unwrap();
    let (receipt, cp) = verify_receipt(&r.text(), b"after", &vkey()).unwrap();
    assert_eq!((receipt.index, cp.size()), (2, 3));
    srv.stop().unwrap();
}

// ---- Limits: deadlines, shedding, the response budget, absurd requests ----

/// How long an honest request may take while the server is under attack.
const HONEST: Duration = Duration::from_secs(1);

fn start_with(dir: &Scratch, http: Limits) -> server::ServerHandle {
    let log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
    let config = ServerConfig {
        http,
        ..ServerConfig::default()
    };
    server::start(log, "127.0.0.1:0".parse().unwrap(), config).unwrap()
}

/// Checks `f` every 20 ms until it holds or `limit` passes; returns whether it held.
fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An `/add` that must be answered with a valid receipt within [`HONEST`].
fn honest_add(addr: SocketAddr, entry: &[u8]) -> u64 {
    let r = http_within(addr, "POST", "/add", entry, HONEST)
        .unwrap_or_else(|e| panic!("no answer to an honest /add within {HONEST:?}: {e}"));
    assert_eq!(r.status, 200, "{}", r.text());
    verify_receipt(&r.text(), entry, &vkey()).unwrap().0.index
}

/// A `/checkpoint` that must be answered within [`HONEST`]; returns its size.
fn honest_checkpoint(addr: SocketAddr) -> u64 {
    let r = http_within(addr, "GET", "/checkpoint", b"", HONEST)
        .unwrap_or_else(|e| panic!("no checkpoint within {HONEST:?}: {e}"));
    assert_eq!(r.status, 200);
    Checkpoint::from_signed_note(&r.text(), &[vkey()])
        .unwrap()
        .0
        .size()
}

/// Whether the server closed `s` (end of stream or reset) without answering 200.
fn closed_without_answer(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    match s.read_to_end(&mut buf) {
        Ok(_) => !String::from_utf8_lossy(&buf).contains(" 200 "),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn a_full_server_sheds_the_oldest_waiting_connection_for_a_new_one() {
    let dir = Scratch::new("shed");
    let srv = start_with(
        &dir,
        Limits {
            max_connections: 2,
            header_timeout: Duration::from_secs(60),
            ..Limits::default()
        },
    );
    let addr = srv.addr;
    let half_head = b"GET /checkpoint HTTP/1.1\r\nHost: x\r\n";
    let mut oldest = TcpStream::connect(addr).unwrap();
    oldest.write_all(half_head).unwrap();
    assert!(eventually(Duration::from_secs(5), || srv.http_stats().open == 1));
    let mut younger = TcpStream::connect(addr).unwrap();
    younger.write_all(half_head).unwrap();
    assert!(eventually(Duration::from_secs(5), || srv.http_stats().open == 2));
    // A third client is served at once; the oldest waiting one made room.
    assert_eq!(honest_checkpoint(addr), 0);
    assert!(closed_without_answer(&mut oldest));
    assert_eq!(srv.http_stats().shed, 1);
    // The younger one is still open, and is served when it finishes its head.
    younger.write_all(b"Connection: close\r\n\r\n").unwrap();
    younger
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    younger.read_to_end(&mut answer).unwrap();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200 "));
    srv.stop().unwrap();
}

#[test]
fn a_crowd_of_stalled_bodies_cannot_push_out_a_fresh_client() {
    let dir = Scratch::new("shed-bodies");
    let srv = start_with(
        &dir,
        Limits {
            max_connections: 8,
            body_timeout: Duration::from_secs(60),
            ..Limits::default()
        },
    );
    let addr = srv.addr;
    let stalled_head = b"POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab";
    let crowd = Siege::silent(addr, 8, stalled_head).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    // A client connects, and takes 50 ms to send its request, while the attacker
    // opens five more stalled bodies: each sheds one of the old stalled bodies
    // (2 s into a 60 s allowance), not the fresh client (50 ms into 10 s).
    let mut honest = TcpStream::connect(addr).unwrap();
    assert!(eventually(Duration::from_secs(5), || srv.http_stats().shed >= 1));
    let more: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(stalled_head).unwrap();
            std::thread::sleep(Duration::from_millis(10));
            s
        })
        .collect();
    assert!(eventually(Duration::from_secs(5), || srv.http_stats().shed >= 6));
    honest
        .write_all(b"POST /add HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 6\r\n\r\nhonest")
        .unwrap();
    honest.set_read_timeout(Some(HONEST)).unwrap();
    let mut answer = Vec::new();
    honest.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    let receipt = answer.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(
        verify_receipt(receipt, b"honest", &vkey()).unwrap().0.index,
        0
    );
    // The five shed were the oldest stalled bodies.
    assert_eq!(crowd.closed_by_server(), 6);
    drop((crowd, more));
    srv.stop().unwrap();
}

#[test]
fn heads_and_bodies_that_outlive_their_deadlines_are_cut_off_even_while_bytes_arrive() {
    let dir = Scratch::new("deadlines");
    let srv = start_with(
        &dir,
        Limits {
            header_timeout: Duration::from_millis(400),
            body_timeout: Duration::from_millis(400),
            ..Limits::default()
        },
    );
    let addr = srv.addr;
    // A head dripped one byte every 50 ms: every byte is progress, none ends it.
    let drip = Siege::drip(addr, 1, Duration::from_millis(50)).unwrap();
    // A body announced and never sent.
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled
        .write_all(b"POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab")
        .unwrap();
    // A body dripped one byte every 50 ms: it would take 5 s.
    let trickle = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            .unwrap();
        let mut sent = 0;
        while sent < 100 && s.write_all(b"x").is_ok() {
            sent += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        sent
    });
    assert!(eventually(Duration::from_secs(5), || drip
        .closed_by_server()
        == 1));
    assert!(closed_without_answer(&mut stalled));
    let sent = trickle.join().unwrap();
    assert!(sent < 100, "a body trickled for 5 s was accepted");
    assert!(srv.http_stats().timed_out >= 3, "{:?}", srv.http_stats());
    // Nothing half-sent was added; the log goes on.
    assert_eq!(honest_add(addr, b"after the slow ones"), 0);
    srv.stop().unwrap();
}

#[test]
fn idle_and_dripping_crowds_do_not_keep_honest_clients_waiting() {
    let dir = Scratch::new("crowds");
    let srv = start(&dir);
    let addr = srv.addr;
    let cap = Limits::default().max_connections;
    // 1,500 connections that send nothing: more than the cap.
    let idle = Siege::silent(addr, 1500, b"").unwrap();
    assert!(eventually(Duration::from_secs(10), || srv
        .http_stats()
        .accepted
        >= 1500));
    assert!(srv.http_stats().open <= cap);
    assert_eq!(honest_add(addr, b"honest among idle connections"), 0);
    assert_eq!(honest_checkpoint(addr), 1);
    drop(idle);
    // 1,000 connections that drip one header byte a second.
    let drip = Siege::drip(addr, 1000, Duration::from_secs(1)).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(honest_add(addr, b"honest among dripping connections"), 1);
    assert_eq!(honest_checkpoint(addr), 2);
    assert!(srv.http_stats().open <= cap);
    drop(drip);
    srv.stop().unwrap();
}

#[test]
fn a_reader_that_never_reads_holds_at_most_its_response_within_the_budget() {
    let dir = Scratch::new("never-reads");
    // A full entry bundle of 256 maximal entries: 16,777,472 bytes.
    let entries: Vec<Vec<u8>> = (0..256u32)
        .map(|i| {
            let mut e = vec![(i % 251) as u8; 65_535];
            e[..4].copy_from_slice(&i.to_be_bytes());
            e
        })
        .collect();
    let mut bundle = Vec::new();
    for e in &entries {
        bundle.extend_from_slice(&(e.len() as u16).to_be_bytes());
        bundle.extend_from_slice(e);
    }
    let mut log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
    log.integrate(&entries).unwrap();
    let limits = Limits {
        response_budget: 20 << 20,
        budget_wait: Duration::from_millis(300),
        write_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let config = ServerConfig {
        http: limits,
        ..ServerConfig::default()
    };
    let srv = server::start(log, "127.0.0.1:0".parse().unwrap(), config).unwrap();
    let addr = srv.addr;
    // Ask for the bundle and never read a byte.
    let mut stuck = TcpStream::connect(addr).unwrap();
    stuck
        .write_all(b"GET /tile/entries/000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(eventually(Duration::from_secs(10), || srv
        .http_stats()
        .response_bytes_held
        == bundle.len()));
    // A second copy does not fit next to it: it waits, then gets 503.
    let r = http(addr, "GET", "/tile/entries/000", b"").unwrap();
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(srv.http_stats().response_bytes_held <= limits.response_budget);
    // Small answers do not wait for the budget.
    assert_eq!(honest_checkpoint(addr), 256);
    assert_eq!(honest_add(addr, b"while a reader is stuck"), 256);
    // Once its writes make no progress for the write timeout, the stuck reader is
    // closed and its bytes return to the budget.
    assert!(eventually(Duration::from_secs(20), || srv
        .http_stats()
        .response_bytes_held
        == 0));
    let r = http(addr, "GET", "/tile/entries/000", b"").unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body == bundle, "the bundle differs from the entries");
    assert!(srv.http_stats().timed_out >= 1);
    drop(stuck);
    srv.stop().unwrap();
}

#[test]
fn absurd_ranges_lengths_and_heads_get_4xx_and_the_server_keeps_serving() {
    let dir = Scratch::new("absurd");
    // 40 entries of 60,000 bytes: more than one get-entries answer carries.
    let entries: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 60_000]).collect();
    let mut log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
    log.integrate(&entries).unwrap();
    let srv = server::start(log, "127.0.0.1:0".parse().unwrap(), ServerConfig::default()).unwrap();
    let addr = srv.addr;
    // A huge range is answered with a prefix that fits the byte cap: entries are
    // added while fewer than MAX_GET_ENTRIES_BYTES bytes are in.
    let r = get(addr, "/ct/v1/get-entries?start=0&end=39");
    assert_eq!(r.status, 200);
    let got = r.json()["entries"].as_array().unwrap().clone();
    let mut expect = 0;
    let mut bytes = 0;
    while expect < entries.len() && bytes < server::MAX_GET_ENTRIES_BYTES {
        bytes += entries[expect].len();
        expect += 1;
    }
    assert_eq!(got.len(), expect);
    for (e, g) in entries.iter().zip(&got) {
        assert_eq!(&B64.decode(g["leaf_input"].as_str().unwrap()).unwrap(), e);
    }
    for path in [
        "/ct/v1/get-entries?start=0&end=18446744073709551615",
        "/ct/v1/get-entries?start=18446744073709551615&end=18446744073709551615",
        "/ct/v1/get-sth-consistency?first=0&second=18446744073709551615",
        "/ct/v1/get-entry-and-proof?leaf_index=18446744073709551614&tree_size=18446744073709551615",
    ] {
        assert_eq!(get(addr, path).status, 400, "{path}");
    }
    // Raw requests: (bytes, the status they must get).
    let long_header = format!(
        "GET /checkpoint HTTP/1.1\r\nHost: x\r\nX-Long: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (
            b"POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nx".to_vec(),
            400,
        ),
        (
            b"POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\nx"
                .to_vec(),
            400,
        ),
        (
            b"POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy"
                .to_vec(),
            400,
        ),
        (
            b"POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: 4294967296\r\n\r\nx".to_vec(),
            413,
        ),
        (
            b"POST /add HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n"
                .iter()
                .copied()
                .chain(std::iter::repeat_n(b'z', 65_536))
                .chain(*b"\r\n0\r\n\r\n")
                .collect(),
            413,
        ),
        (long_header.into_bytes(), 431),
    ];
    for (raw, want) in &cases {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(raw).unwrap();
        let mut answer = [0u8; 12];
        s.read_exact(&mut answer).unwrap();
        let status = String::from_utf8_lossy(&answer[9..12]).into_owned();
        assert_eq!(
            status,
            want.to_string(),
            "{}",
            String::from_utf8_lossy(&raw[..60])
        );
        assert_eq!(honest_checkpoint(addr), 40);
    }
    assert_eq!(honest_add(addr, b"after the absurd ones"), 40);
    srv.stop().unwrap();
}

#[test]
fn a_halted_sequencer_is_an_error_for_the_handle_and_the_binary() {
    // Replacing the tile directory with a file makes the next batch fail to write,
    // for any user, root included.
    fn break_tiles(data: &std::path::Path) {
        std::fs::rename(data.join("tile"), data.join("tile.moved")).unwrap();
        std::fs::write(data.join("tile"), b"not a directory").unwrap();
    }
    let dir = Scratch::new("halt");
    let srv = start(&dir);
    assert_eq!(honest_add(srv.addr, b"first"), 0);
    break_tiles(dir.path());
    let r = http(srv.addr, "POST", "/add", b"second").unwrap();
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("log halted"), "{}", r.text());
    let err = srv.stop().unwrap_err();
    assert!(
        matches!(err, merkle_log::ServerError::Halted { .. }),
        "{err:?}"
    );

    // The binary: stopped with SIGTERM after the failure, it exits non-zero and says
    // why.
    let dir = Scratch::new("halt-bin");
    let key = dir.path().join("log.key");
    merkle_log::keyfile::write_private_key(&key, &test_signer()).unwrap();
    let data = dir.path().join("data");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_merkle-log"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--key")
        .arg(&key)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(honest_add(addr, b"first"), 0);
    break_tiles(&data);
    assert_eq!(http(addr, "POST", "/add", b"second").unwrap().status, 503);
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the log halted while serving"), "{err}");
}
