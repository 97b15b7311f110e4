//! The real server on an ephemeral port: receipts, dedup, every endpoint against
//! a naive tree computed here, and hostile requests.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use merkle_log::server::{self, ServerConfig};
use merkle_log::tiles::{TileId, decode_bundle, decode_hash_tile, tiles_for_size};
use merkle_log::tree_math::consistency_plan;
use merkle_log::{
    Checkpoint, FetchedTiles, Hash, Log, LogConfig, TileNodeStore, Tree, VerifierKey,
    tiles_for_nodes, verify_receipt,
};

use crate::common::{Scratch, http, test_signer};
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
    // Partials of tiles that filled are pruned (C2SP allows it) and still
    // served, from the full tile.
    assert!(!dir.path().join("tile/0/000.p").exists());
    assert!(!dir.path().join("tile/entries/001.p").exists());
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

#[test]
fn silent_connections_are_closed_and_the_connection_cap_queues_the_rest() {
    use std::io::{Read as _, Write as _};
    use std::time::{Duration, Instant};
    let dir = Scratch::new("idle");
    let log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
    let config = ServerConfig {
        max_connections: 2,
        idle_timeout: Duration::from_millis(600),
        ..ServerConfig::default()
    };
    let srv = server::start(log, "127.0.0.1:0".parse().unwrap(), config).unwrap();
    let addr = srv.addr;
    // Two clients take both slots and send half a request each.
    let mut stuck: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /checkpoint HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    // A third client is served only once the idle ones are closed.
    let start = Instant::now();
    let r = get(addr, "/checkpoint");
    assert_eq!(r.status, 200);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "served before a slot freed"
    );
    for s in &mut stuck {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = Vec::new();
        // The server closed it: EOF (possibly after an error response) or a reset.
        let _ = s.read_to_end(&mut buf);
        assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    }
    srv.stop().unwrap();
}
