//! The witness over real TCP: one test per C2SP tlog-witness status code, hostile
//! requests, concurrent requests for one head, and a crash of the `merkle-log
//! witness serve` process between persisting a head and answering. Roots and
//! proofs come from the naive tree in `oracle.rs`.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;

use merkle_log::http::Limits;
use merkle_log::note::KeyName;
use merkle_log::server::ServerHandle;
use merkle_log::tlog_witness::AddCheckpoint;
use merkle_log::witness::{Witness, server};
use merkle_log::{
    Checkpoint, Cosigner, Hash, NoteSigner, Policy, VerifierKey, keyfile, verify_note,
};

use crate::common::{Response, Scratch, http, spawn_listening, test_signer};
use crate::oracle;

const BIN: &str = env!("CARGO_BIN_EXE_merkle-log");

pub(crate) fn cosigner(i: u8) -> Cosigner {
    Cosigner::from_seed(
        KeyName::new(&format!("witness.test/w{i}")).unwrap(),
        &[i; 32],
    )
}

/// Leaves of a log, and of a fork of it that differs from entry `fork_at` on.
pub(crate) fn leaves(n: usize, fork: u8) -> Vec<[u8; 32]> {
    (0..n)
        .map(|i| oracle::leaf(format!("entry {i} of history {fork}").as_bytes()))
        .collect()
}

/// The checkpoint of the first `n` leaves, signed by `signer` with origin `origin`.
fn signed_by(signer: &NoteSigner, origin: &str, leaves: &[[u8; 32]], n: usize) -> String {
    let cp = Checkpoint::new(origin, n as u64, Hash(oracle::mth(&leaves[..n]))).unwrap();
    signer.sign(&cp.to_text()).unwrap()
}

/// The request for the checkpoint of `n` leaves of the test log, from `old`.
pub(crate) fn request(leaves: &[[u8; 32]], old: usize, n: usize) -> String {
    AddCheckpoint {
        old_size: old as u64,
        proof: oracle::to_hashes(&oracle::proof(old, &leaves[..n])),
        checkpoint: signed_by(&test_signer(), "Log", leaves, n),
    }
    .encode()
}

pub(crate) fn start_witness(data: &Path, i: u8, at: SocketAddr) -> ServerHandle {
    let w = Witness::open(data, cosigner(i), vec![test_signer().verifier().clone()]).unwrap();
    server::start(Arc::new(w), at, Limits::default()).unwrap()
}

fn post(addr: SocketAddr, body: &str) -> Response {
    http(addr, "POST", "/add-checkpoint", body.as_bytes()).unwrap()
}

/// Checks a 200 answer: one cosignature line by witness `i` over the checkpoint of
/// `n` leaves, which a policy requiring that witness accepts.
fn assert_cosigned(r: &Response, leaves: &[[u8; 32]], n: usize, i: u8) {
    assert_eq!(r.status, 200, "{}", r.text());
    let line = r.text();
    assert_eq!(line.lines().count(), 1);
    let note = format!("{}{line}", signed_by(&test_signer(), "Log", leaves, n));
    let w = cosigner(i);
    let policy = Policy::parse(&format!(
        "log {}\nwitness W {}\nquorum W\n",
        test_signer().verifier(),
        w.verifier()
    ))
    .unwrap();
    let ok = policy.verify_checkpoint(&note, &[]).unwrap();
    assert_eq!(ok.checkpoint.size(), n as u64);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(ok.cosigned_by[0].1.abs_diff(now) < 60);
}

/// The 409 answer: the witness's size, typed `text/x.tlog.size`.
fn assert_conflict(r: &Response, size: u64) {
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/x.tlog.size"));
    assert_eq!(r.text(), format!("{size}\n"));
}

fn head_file(data: &Path) -> Option<String> {
    let dir = data.join("logs");
    let mut files = std::fs::read_dir(dir).ok()?;
    let f = files.next()?.ok()?;
    std::fs::read_to_string(f.path()).ok()
}

struct Fixture {
    _dir: Scratch,
    data: std::path::PathBuf,
    srv: ServerHandle,
    leaves: Vec<[u8; 32]>,
}

fn fixture(tag: &str) -> Fixture {
    let dir = Scratch::new(tag);
    let data = dir.path().join("witness");
    let srv = start_witness(&data, 1, "127.0.0.1:0".parse().unwrap());
    Fixture {
        _dir: dir,
        data,
        srv,
        leaves: leaves(40, 0),
    }
}

#[test]
fn status_200_cosigns_each_consistent_checkpoint_and_persists_it() {
    let f = fixture("w200");
    let r = post(f.srv.addr, &request(&f.leaves, 0, 5));
    assert_cosigned(&r, &f.leaves, 5, 1);
    let r = post(f.srv.addr, &request(&f.leaves, 5, 19));
    assert_cosigned(&r, &f.leaves, 19, 1);
    // The same checkpoint again, from the size the witness holds: cosigned again.
    let r = post(f.srv.addr, &request(&f.leaves, 19, 19));
    assert_cosigned(&r, &f.leaves, 19, 1);
    let root = Hash(oracle::mth(&f.leaves[..19])).to_base64();
    assert_eq!(head_file(&f.data).unwrap(), format!("Log\n19\n{root}\n"));
}

#[test]
fn status_400_for_malformed_bodies_and_an_old_size_past_the_checkpoint() {
    let f = fixture("w400");
    assert_cosigned(
        &post(f.srv.addr, &request(&f.leaves, 0, 5)),
        &f.leaves,
        5,
        1,
    );
    let good = request(&f.leaves, 5, 9);
    let bad_old = AddCheckpoint {
        old_size: 12,
        proof: vec![],
        checkpoint: signed_by(&test_signer(), "Log", &f.leaves, 9),
    }
    .encode();
    let cases = [
        "garbage".to_owned(),
        String::new(),
        good.replacen("old 5", "old 05", 1),
        good.replacen("old 5\n", "old 5\nnot a hash\n", 1),
        good.replacen("\n\n", "\n", 1),
        good.replacen("\n\u{2014} Log", "\n\u{2014}Log", 1),
        bad_old,
    ];
    for body in &cases {
        let r = post(f.srv.addr, body);
        assert_eq!(r.status, 400, "{body:?}: {}", r.text());
    }
    let r = http(
        f.srv.addr,
        "POST",
        "/add-checkpoint",
        &[0xff, 0xfe, b'\n', b'\n'],
    )
    .unwrap();
    assert_eq!(r.status, 400);
    // Nothing changed: the head is still 5.
    assert_cosigned(&post(f.srv.addr, &good), &f.leaves, 9, 1);
}

#[test]
fn status_403_without_a_valid_signature_of_the_log() {
    let f = fixture("w403");
    // A key with the log's name that the witness does not trust.
    let stranger = NoteSigner::from_seed(KeyName::new("Log").unwrap(), &[42; 32]);
    let forged = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: signed_by(&stranger, "Log", &f.leaves, 5),
    }
    .encode();
    assert_eq!(post(f.srv.addr, &forged).status, 403);
    // A mutated checkpoint under the log's real signature.
    let good = request(&f.leaves, 0, 5);
    let mutated = good.replacen("\n5\n", "\n6\n", 1);
    assert_ne!(mutated, good);
    assert_eq!(post(f.srv.addr, &mutated).status, 403);
    // A flipped signature byte.
    let sig_at = good.rfind(' ').unwrap() + 10;
    let mut flipped = good.clone().into_bytes();
    flipped[sig_at] = if flipped[sig_at] == b'A' { b'B' } else { b'A' };
    let r = http(f.srv.addr, "POST", "/add-checkpoint", &flipped).unwrap();
    assert_eq!(r.status, 403, "{}", r.text());
    // Refused requests changed nothing.
    assert_cosigned(&post(f.srv.addr, &good), &f.leaves, 5, 1);
}

#[test]
fn status_404_for_a_log_the_witness_does_not_know() {
    let f = fixture("w404");
    let other = NoteSigner::from_seed(KeyName::new("other.log").unwrap(), &[7; 32]);
    let body = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: signed_by(&other, "other.log", &f.leaves, 5),
    }
    .encode();
    let r = post(f.srv.addr, &body);
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("other.log"));
    assert!(head_file(&f.data).is_none());
}

#[test]
fn status_409_names_the_witness_size_for_stale_replayed_and_forked_requests() {
    let f = fixture("w409");
    let first = request(&f.leaves, 0, 5);
    assert_cosigned(&post(f.srv.addr, &first), &f.leaves, 5, 1);
    // Replayed, and from a size the witness does not hold.
    assert_conflict(&post(f.srv.addr, &first), 5);
    assert_conflict(&post(f.srv.addr, &request(&f.leaves, 3, 9)), 5);
    // Another root at the size it cosigned (a fork): 409, never a cosignature.
    let fork = leaves(40, 1);
    let forked = AddCheckpoint {
        old_size: 5,
        proof: vec![],
        checkpoint: signed_by(&test_signer(), "Log", &fork, 5),
    }
    .encode();
    assert_conflict(&post(f.srv.addr, &forked), 5);
    assert_cosigned(
        &post(f.srv.addr, &request(&f.leaves, 5, 6)),
        &f.leaves,
        6,
        1,
    );
}

#[test]
fn status_422_for_proofs_that_do_not_verify() {
    let f = fixture("w422");
    // A fresh witness: a tree of size 0 has the empty root.
    let empty_bad = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: test_signer()
            .sign(
                &Checkpoint::new("Log", 0, Hash::leaf(b"x"))
                    .unwrap()
                    .to_text(),
            )
            .unwrap(),
    }
    .encode();
    assert_eq!(post(f.srv.addr, &empty_bad).status, 422);
    assert_cosigned(
        &post(f.srv.addr, &request(&f.leaves, 0, 5)),
        &f.leaves,
        5,
        1,
    );
    let good = AddCheckpoint::parse(request(&f.leaves, 5, 13).as_bytes()).unwrap();
    let mut cases = Vec::new();
    for i in 0..good.proof.len() {
        let mut r = good.clone();
        r.proof[i].0[0] ^= 1;
        cases.push(r);
    }
    let mut short = good.clone();
    short.proof.pop();
    let mut long = good.clone();
    long.proof.push(Hash::leaf(b"extra"));
    let mut none = good.clone();
    none.proof.clear();
    // The proof of another fork to this fork's checkpoint.
    let fork = leaves(40, 1);
    let mut other_history = good.clone();
    other_history.proof = oracle::to_hashes(&oracle::proof(5, &fork[..13]));
    cases.extend([short, long, none, other_history]);
    for r in &cases {
        let resp = post(f.srv.addr, &r.encode());
        assert_eq!(resp.status, 422, "{}", resp.text());
    }
    // A checkpoint of another history, extending the witness's size: 422.
    let fork_req = AddCheckpoint {
        old_size: 5,
        proof: oracle::to_hashes(&oracle::proof(5, &fork[..13])),
        checkpoint: signed_by(&test_signer(), "Log", &fork, 13),
    };
    assert_eq!(post(f.srv.addr, &fork_req.encode()).status, 422);
    assert_cosigned(&post(f.srv.addr, &good.encode()), &f.leaves, 13, 1);
}

#[test]
fn hostile_requests_get_clear_errors_and_change_nothing() {
    let f = fixture("whostile");
    assert_cosigned(
        &post(f.srv.addr, &request(&f.leaves, 0, 5)),
        &f.leaves,
        5,
        1,
    );
    let before = head_file(&f.data);
    let huge = vec![b'a'; merkle_log::tlog_witness::MAX_ADD_CHECKPOINT_LEN + 1];
    let r = http(f.srv.addr, "POST", "/add-checkpoint", &huge).unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(
        http(f.srv.addr, "GET", "/add-checkpoint", b"")
            .unwrap()
            .status,
        405
    );
    assert_eq!(http(f.srv.addr, "POST", "/add", b"x").unwrap().status, 404);
    // 64 proof lines, an old size past u64, a NUL in the checkpoint.
    let many = format!(
        "old 1\n{}\n{}",
        format!("{}\n", Hash::leaf(b"p").to_base64()).repeat(64),
        signed_by(&test_signer(), "Log", &f.leaves, 9)
    );
    let past = request(&f.leaves, 5, 9).replacen("old 5", "old 18446744073709551616", 1);
    let nul = request(&f.leaves, 5, 9).replacen("Log\n", "Log\0\n", 1);
    for body in [many, past, nul] {
        assert_eq!(post(f.srv.addr, &body).status, 400);
    }
    assert_eq!(head_file(&f.data), before);
}

#[test]
fn concurrent_requests_from_one_head_cosign_exactly_one() {
    let f = fixture("wcas");
    assert_cosigned(
        &post(f.srv.addr, &request(&f.leaves, 0, 5)),
        &f.leaves,
        5,
        1,
    );
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (6..22)
            .map(|n| {
                let body = request(&f.leaves, 5, n);
                let addr = f.srv.addr;
                s.spawn(move || post(addr, &body).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        15,
        "{statuses:?}"
    );
}

/// A tiny deterministic generator for the random walk below.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn witness_never_cosigns_a_smaller_size_or_a_second_root_for_one_size() {
    let f = fixture("wwalk");
    let histories = [leaves(64, 0), leaves(64, 1), leaves(64, 2)];
    let mut cosigned: Vec<(u64, [u8; 32])> = Vec::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    // What the test learnt of the witness's size, from its answers.
    let mut known = 0usize;
    for _ in 0..300 {
        // Mostly the log's own history growing, sometimes a fork or any size.
        let h = match xorshift(&mut rng) % 4 {
            0 => &histories[(xorshift(&mut rng) % 3) as usize],
            _ => &histories[0],
        };
        let n = match xorshift(&mut rng) % 4 {
            0 => (xorshift(&mut rng) % 64) as usize,
            _ => (known + (xorshift(&mut rng) % 4) as usize).min(63),
        };
        let old = if xorshift(&mut rng).is_multiple_of(4) || known > n {
            (xorshift(&mut rng) % (n as u64 + 1)) as usize
        } else {
            known
        };
        let r = post(f.srv.addr, &request(h, old, n));
        match r.status {
            200 => {
                let root = oracle::mth(&h[..n]);
                // The answer cosigns exactly the checkpoint sent.
                let note = format!("{}{}", signed_by(&test_signer(), "Log", h, n), r.text());
                verify_note(&note, &[cosigner(1).verifier().clone()]).unwrap();
                cosigned.push((n as u64, root));
                known = n;
            }
            409 => known = r.text().trim().parse().unwrap(),
            422 => {}
            s => panic!("{s} {}", r.text()),
        }
    }
    assert!(cosigned.len() > 30, "only {} cosigned", cosigned.len());
    for pair in cosigned.windows(2) {
        let ((a, ra), (b, rb)) = (pair[0], pair[1]);
        assert!(a <= b, "cosigned size {b} after {a}");
        if a == b {
            assert_eq!(ra, rb, "two roots for size {a}");
        }
    }
}

/// Starts `merkle-log witness serve` for the test log; returns it and its address.
fn serve_witness(key: &Path, data: &Path, extra: &[&str], at: &str) -> (Child, SocketAddr) {
    let log = test_signer().verifier().to_string();
    let mut args: Vec<&OsStr> = vec![
        "witness".as_ref(),
        "serve".as_ref(),
        "--listen".as_ref(),
        at.as_ref(),
        "--key".as_ref(),
        key.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
        "--log".as_ref(),
        log.as_ref(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    spawn_listening(&args)
}

#[test]
fn witness_keygen_prints_a_cosigning_key_and_writes_a_private_file() {
    let dir = Scratch::new("wkeygen");
    let key = dir.path().join("w.key");
    let out = Command::new(BIN)
        .args(["witness", "keygen", "--name", "witness.example/w1", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let vkey: VerifierKey = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(vkey.name().as_str(), "witness.example/w1");
    assert!(
        vkey.to_string().contains("+B"),
        "type 0x04 encodes as base64 'B...'"
    );
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(keyfile::read_cosigner_key(&key).unwrap().verifier(), &vkey);
    let again = Command::new(BIN)
        .args(["witness", "keygen", "--name", "x", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(keyfile::read_cosigner_key(&key).unwrap().verifier(), &vkey);
    let bad = Command::new(BIN)
        .args(["witness", "keygen", "--name", "has space", "--out"])
        .arg(dir.path().join("other.key"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn crash_between_persisting_and_answering_keeps_the_head() {
    let dir = Scratch::new("wcrash");
    let key = dir.path().join("w.key");
    keyfile::write_cosigner_key(&key, &cosigner(1)).unwrap();
    let data = dir.path().join("data");
    let l = leaves(40, 0);
    let (mut child, addr) = serve_witness(&key, &data, &["--abort-after-persist"], "127.0.0.1:0");
    assert_cosigned(&post(addr, &request(&l, 0, 0)), &l, 0, 1);
    // The first new head is written, then the process dies before answering.
    let died = http(
        addr,
        "POST",
        "/add-checkpoint",
        request(&l, 0, 7).as_bytes(),
    );
    assert!(died.is_err() || died.as_ref().is_ok_and(|r| r.status != 200));
    let status = child.wait().unwrap();
    assert!(!status.success());
    let root = Hash(oracle::mth(&l[..7])).to_base64();
    assert_eq!(head_file(&data).unwrap(), format!("Log\n7\n{root}\n"));

    // Restarted, it holds size 7: the lost answer is recovered by asking again
    // from 7, and neither a smaller size nor another root at 7 gets cosigned.
    let (mut child, addr) = serve_witness(&key, &data, &[], "127.0.0.1:0");
    assert_conflict(&post(addr, &request(&l, 0, 7)), 7);
    assert_cosigned(&post(addr, &request(&l, 7, 7)), &l, 7, 1);
    let smaller = AddCheckpoint {
        old_size: 7,
        proof: vec![],
        checkpoint: signed_by(&test_signer(), "Log", &l, 5),
    };
    assert_eq!(post(addr, &smaller.encode()).status, 400);
    let fork = leaves(40, 1);
    let forked = AddCheckpoint {
        old_size: 7,
        proof: vec![],
        checkpoint: signed_by(&test_signer(), "Log", &fork, 7),
    };
    assert_conflict(&post(addr, &forked.encode()), 7);
    assert_cosigned(&post(addr, &request(&l, 7, 30)), &l, 30, 1);
    child.kill().unwrap();
    child.wait().unwrap();
}
