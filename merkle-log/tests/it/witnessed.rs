//! A log with a witness policy, over real TCP: witnesses are real witness servers
//! (in-process, or `merkle-log witness serve`), stopped and restarted to be "down";
//! the log publishes only checkpoints its quorum cosigned, and never loses an
//! entry it acknowledged. Roots come from the naive tree in `oracle.rs`.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use merkle_log::server::{self, ServerConfig, ServerHandle};
use merkle_log::witnessing::WitnessingConfig;
use merkle_log::{Checkpoint, Hash, Log, LogConfig, Policy, keyfile, verify_receipt};

use crate::common::{Response, Scratch, http, serve_log, spawn_listening, test_signer};
use crate::oracle;
use crate::witness::{cosigner, start_witness};

/// A policy over witnesses 1..=n at `addrs`, with the quorum line `quorum`.
fn policy(addrs: &[SocketAddr], groups: &str) -> Policy {
    let mut text = format!("log {}\n", test_signer().verifier());
    for (i, a) in addrs.iter().enumerate() {
        text += &format!(
            "witness w{} {} http://{a}\n",
            i + 1,
            cosigner(i as u8 + 1).verifier()
        );
    }
    Policy::parse(&(text + groups)).unwrap()
}

const TWO_OF_THREE: &str = "group two 2 w1 w2 w3\nquorum two\n";

fn config(policy: Policy, receipt_wait: Duration) -> ServerConfig {
    let mut w = WitnessingConfig::new(policy);
    w.request_timeout = Duration::from_secs(5);
    w.retry_min = Duration::from_millis(20);
    w.retry_max = Duration::from_millis(200);
    w.receipt_wait = receipt_wait;
    ServerConfig {
        witnessing: Some(w),
        ..ServerConfig::default()
    }
}

fn start_log(data: &Path, config: ServerConfig) -> ServerHandle {
    let log = Log::open(data, test_signer(), LogConfig::default()).unwrap();
    server::start(log, "127.0.0.1:0".parse().unwrap(), config).unwrap()
}

/// Witnesses 1, 2 and 3 with their data under `dir`, and their addresses.
fn three_witnesses(dir: &Path) -> (Vec<ServerHandle>, Vec<SocketAddr>) {
    let ws: Vec<ServerHandle> = (1..=3)
        .map(|i| {
            start_witness(
                &dir.join(format!("w{i}")),
                i,
                "127.0.0.1:0".parse().unwrap(),
            )
        })
        .collect();
    let addrs = ws.iter().map(|w| w.addr).collect();
    (ws, addrs)
}

/// An address nothing listens on.
fn dead_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn entry(i: usize) -> Vec<u8> {
    format!("witnessed entry {i}").into_bytes()
}

fn add(addr: SocketAddr, e: &[u8]) -> Response {
    http(addr, "POST", "/add", e).unwrap()
}

/// Checks a 200 `/add` answer: a receipt for `e` whose checkpoint meets `policy`;
/// returns its index, the checkpoint's size and the witnesses that cosigned.
fn receipt_ok(r: &Response, e: &[u8], policy: &Policy) -> (u64, u64, Vec<String>) {
    assert_eq!(r.status, 200, "{}", r.text());
    let (receipt, cp) = verify_receipt(&r.text(), e, test_signer().verifier()).unwrap();
    let w = policy.verify_checkpoint(&receipt.checkpoint, &[]).unwrap();
    assert_eq!(w.checkpoint, cp);
    let names = w.cosigned_by.into_iter().map(|(n, _)| n).collect();
    (receipt.index, cp.size(), names)
}

/// The published checkpoint, verified under `policy`, once `/checkpoint` answers.
fn published(addr: SocketAddr, policy: &Policy) -> (Checkpoint, Vec<String>, String) {
    let r = http(addr, "GET", "/checkpoint", b"").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let w = policy.verify_checkpoint(&r.text(), &[]).unwrap();
    let names = w.cosigned_by.into_iter().map(|(n, _)| n).collect();
    (w.checkpoint, names, r.text())
}

/// Waits (up to 30 s) until the published checkpoint has at least `size` leaves.
fn wait_published(addr: SocketAddr, policy: &Policy, size: u64) -> (Checkpoint, Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http(addr, "GET", "/checkpoint", b"").unwrap();
        if r.status == 200 {
            let (cp, names, _) = published(addr, policy);
            if cp.size() >= size {
                return (cp, names);
            }
        }
        assert!(Instant::now() < deadline, "never published size {size}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn root_of(entries: &[Vec<u8>]) -> Hash {
    let leaves: Vec<[u8; 32]> = entries.iter().map(|e| oracle::leaf(e)).collect();
    Hash(oracle::mth(&leaves))
}

#[test]
fn two_of_three_with_one_witness_down_publishes_every_receipt() {
    let dir = Scratch::new("wlog-one-down");
    let w1 = start_witness(&dir.path().join("w1"), 1, "127.0.0.1:0".parse().unwrap());
    let w2 = start_witness(&dir.path().join("w2"), 2, "127.0.0.1:0".parse().unwrap());
    let policy = policy(&[w1.addr, w2.addr, dead_addr()], TWO_OF_THREE);
    let data = dir.path().join("log");
    let srv = start_log(&data, config(policy.clone(), Duration::from_secs(20)));
    // The empty tree is witnessed first.
    let (cp, _) = wait_published(srv.addr, &policy, 0);
    assert_eq!(cp.root(), Hash::empty_root());

    let got: Vec<(Vec<u8>, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let policy = &policy;
                s.spawn(move || {
                    (0..10)
                        .map(|i| {
                            let e = entry(t * 10 + i);
                            let (index, size, names) = receipt_ok(&add(srv.addr, &e), &e, policy);
                            assert!(index < size);
                            assert_eq!(names, ["w1", "w2"]);
                            (e, index)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut by_index = got;
    by_index.sort_by_key(|(_, i)| *i);
    assert_eq!(
        by_index.iter().map(|(_, i)| *i).collect::<Vec<_>>(),
        (0..40).collect::<Vec<u64>>()
    );
    let entries: Vec<Vec<u8>> = by_index.into_iter().map(|(e, _)| e).collect();
    let (cp, names, note) = published(srv.addr, &policy);
    assert_eq!(cp.size(), 40);
    assert_eq!(cp.root(), root_of(&entries));
    assert_eq!(names, ["w1", "w2"]);
    // What is served is what is durable.
    assert_eq!(
        std::fs::read_to_string(data.join("checkpoint.witnessed")).unwrap(),
        note
    );
    srv.stop().unwrap();
}

#[test]
fn two_witnesses_down_publication_waits_and_resumes_when_one_returns() {
    let dir = Scratch::new("wlog-two-down");
    let (ws, addrs) = three_witnesses(dir.path());
    let policy = policy(&addrs, TWO_OF_THREE);
    let data = dir.path().join("log");
    let srv = start_log(&data, config(policy.clone(), Duration::from_millis(500)));
    let mut entries = Vec::new();
    for i in 0..5 {
        let e = entry(i);
        let (index, _, _) = receipt_ok(&add(srv.addr, &e), &e, &policy);
        assert_eq!(index, i as u64);
        entries.push(e);
    }
    let mut ws = ws.into_iter();
    let w1 = ws.next().unwrap();
    for w in ws {
        w.stop().unwrap();
    }

    // Two of three down: the entry is durable (202, with its index), but no
    // checkpoint covering it is published.
    let x = entry(5);
    let r = add(srv.addr, &x);
    assert_eq!(r.status, 202, "{}", r.text());
    assert!(r.text().starts_with("index 5\n"), "{}", r.text());
    let signed = std::fs::read_to_string(data.join("checkpoint")).unwrap();
    let (on_disk, _) =
        Checkpoint::from_signed_note(&signed, std::slice::from_ref(test_signer().verifier()))
            .unwrap();
    assert_eq!(on_disk.size(), 6);
    std::thread::sleep(Duration::from_millis(300));
    let (cp, _, _) = published(srv.addr, &policy);
    assert_eq!(cp.size(), 5);
    assert_eq!(cp.root(), root_of(&entries));
    // Resubmitting while the witnesses are down: still durable, still pending.
    assert_eq!(add(srv.addr, &x).status, 202);
    entries.push(x.clone());

    // One returns (same address, same state): publication resumes.
    let w2 = start_witness(&dir.path().join("w2"), 2, addrs[1]);
    let (cp, names) = wait_published(srv.addr, &policy, 6);
    assert_eq!(cp.root(), root_of(&entries));
    assert_eq!(names, ["w1", "w2"]);
    let (index, size, _) = receipt_ok(&add(srv.addr, &x), &x, &policy);
    assert_eq!((index, size), (5, 6));
    srv.stop().unwrap();
    w1.stop().unwrap();
    w2.stop().unwrap();
}

#[test]
fn a_restarted_log_serves_its_witnessed_checkpoint_and_resends_from_the_witness_size() {
    let dir = Scratch::new("wlog-restart");
    let (ws, addrs) = three_witnesses(dir.path());
    let policy = policy(&addrs, "group all3 all w1 w2 w3\nquorum all3\n");
    let data = dir.path().join("log");
    let srv = start_log(&data, config(policy.clone(), Duration::from_secs(20)));
    for i in 0..7 {
        receipt_ok(&add(srv.addr, &entry(i)), &entry(i), &policy);
    }
    let (_, _, before) = published(srv.addr, &policy);
    srv.stop().unwrap();

    // At start the log serves what it had published, before asking anyone; the
    // witnesses hold size 7, so its first request (from 0) gets 409 and is sent
    // again from 7.
    let srv = start_log(&data, config(policy.clone(), Duration::from_secs(20)));
    let (cp, _, after) = published(srv.addr, &policy);
    assert_eq!(after, before);
    assert_eq!(cp.size(), 7);
    let (index, size, names) = receipt_ok(&add(srv.addr, &entry(7)), &entry(7), &policy);
    assert_eq!((index, size), (7, 8));
    assert_eq!(names, ["w1", "w2", "w3"]);
    srv.stop().unwrap();

    // A cosigned checkpoint of another history in its place is damage: the log
    // refuses to serve rather than publish it.
    let fork = Checkpoint::new("Log", 8, Hash::leaf(b"another history")).unwrap();
    let mut forged = test_signer().sign(&fork.to_text()).unwrap();
    for i in 1..=3 {
        forged += &cosigner(i).signature_line(&fork.to_text(), 1).unwrap();
    }
    policy.verify_checkpoint(&forged, &[]).unwrap();
    std::fs::write(data.join("checkpoint.witnessed"), forged).unwrap();
    let srv = start_log(&data, config(policy.clone(), Duration::from_secs(20)));
    assert!(matches!(
        srv.stop(),
        Err(merkle_log::ServerError::Witnessed { .. })
    ));
    for w in ws {
        w.stop().unwrap();
    }
}

/// A witness that answers every request 200 with a cosignature over another
/// checkpoint (a hostile peer, written here).
fn lying_witness() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = vec![0u8; 1 << 17];
            let mut got = 0;
            // Read the head and the body it announces.
            while let Ok(n) = s.read(&mut buf[got..]) {
                if n == 0 {
                    break;
                }
                got += n;
                let text = String::from_utf8_lossy(&buf[..got]).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if got >= end + 4 + len {
                        break;
                    }
                }
            }
            let other = Checkpoint::new("Log", 1, Hash::leaf(b"elsewhere")).unwrap();
            let line = cosigner(2).signature_line(&other.to_text(), 1).unwrap();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{line}",
                line.len()
            );
        }
    });
    addr
}

#[test]
fn a_cosignature_that_does_not_verify_never_counts_toward_the_quorum() {
    let dir = Scratch::new("wlog-liar");
    let w1 = start_witness(&dir.path().join("w1"), 1, "127.0.0.1:0".parse().unwrap());
    let policy = policy(
        &[w1.addr, lying_witness()],
        "group both all w1 w2\nquorum both\n",
    );
    let srv = start_log(
        &dir.path().join("log"),
        config(policy, Duration::from_millis(300)),
    );
    let r = add(srv.addr, b"an entry");
    assert_eq!(r.status, 202, "{}", r.text());
    // Nothing was ever published: not even the empty tree.
    let r = http(srv.addr, "GET", "/checkpoint", b"").unwrap();
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(
        http(srv.addr, "GET", "/tile/0/000.p/1", b"")
            .unwrap()
            .status,
        503
    );
    srv.stop().unwrap();
    w1.stop().unwrap();
}

#[test]
fn binaries_witness_next_to_a_log_and_survive_sigkill_of_the_log() {
    let dir = Scratch::new("wlog-bin");
    let wkey = dir.path().join("w1.key");
    keyfile::write_cosigner_key(&wkey, &cosigner(1)).unwrap();
    let lkey = dir.path().join("log.key");
    keyfile::write_private_key(&lkey, &test_signer()).unwrap();
    let log_vkey = test_signer().verifier().to_string();
    let (mut witness, waddr) = spawn_listening(&[
        "witness".as_ref(),
        "serve".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--key".as_ref(),
        wkey.as_os_str(),
        "--data".as_ref(),
        dir.path().join("wdata").as_os_str(),
        "--log".as_ref(),
        log_vkey.as_ref(),
    ]);
    let policy = policy(&[waddr], "quorum w1\n");
    let policy_file = dir.path().join("policy");
    std::fs::write(&policy_file, policy.to_string()).unwrap();
    let data = dir.path().join("data");
    let serve = |data: &Path| {
        serve_log(
            data,
            &lkey,
            &["--witness-policy".as_ref(), policy_file.as_os_str()],
        )
    };
    let (mut log, addr) = serve(&data);
    let mut entries = Vec::new();
    for i in 0..20 {
        let (index, _, names) = receipt_ok(&add(addr, &entry(i)), &entry(i), &policy);
        assert_eq!(index, i as u64);
        assert_eq!(names, ["w1"]);
        entries.push(entry(i));
    }
    log.kill().unwrap(); // SIGKILL
    log.wait().unwrap();
    let (mut log, addr) = serve(&data);
    let (cp, _, _) = published(addr, &policy);
    assert_eq!(cp.size(), 20);
    assert_eq!(cp.root(), root_of(&entries));
    receipt_ok(&add(addr, &entry(20)), &entry(20), &policy);
    // A policy the log cannot meet is refused at start, with the reason.
    let bad = dir.path().join("bad-policy");
    std::fs::write(
        &bad,
        format!("witness w1 {}\nquorum w1\n", cosigner(1).verifier()),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_merkle-log"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("other"))
        .arg("--key")
        .arg(&lkey)
        .arg("--witness-policy")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot meet the quorum"));
    log.kill().unwrap();
    log.wait().unwrap();
    witness.kill().unwrap();
    witness.wait().unwrap();
}
