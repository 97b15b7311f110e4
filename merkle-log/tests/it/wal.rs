//! The write-ahead log under SIGKILL and on damaged segments, through the
//! `merkle-log` binary: a kill between the commit point and the files, a torn
//! record at the tail, a damaged record before a sound one, a truncated segment.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use merkle_log::{Checkpoint, verify_receipt};

use crate::common::{
    assert_consistent_over_http, fsck, http, http_within, serve_log, setup, test_signer,
};
use crate::oracle;

const BIN: &str = env!("CARGO_BIN_EXE_merkle-log");

fn entry(i: u64) -> Vec<u8> {
    format!("wal entry {i}").into_bytes()
}

/// Starts `merkle-log serve` with `MERKLE_LOG_STOP_AFTER_WAL_APPEND` as given.
fn serve_env(data: &Path, key: &Path, stop_after_append: bool) -> (Child, SocketAddr) {
    if !stop_after_append {
        return serve_log(data, key, &[]);
    }
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--key")
        .arg(key)
        .env("MERKLE_LOG_STOP_AFTER_WAL_APPEND", "1")
        .stderr(Stdio::null());
    crate::common::spawn_command(command)
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// The newest segment of the write-ahead log.
fn segment(data: &Path) -> PathBuf {
    let segments = merkle_log::wal::list_segments(&data.join("wal")).unwrap();
    segments.last().unwrap().1.clone()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Adds entries `from..to` one request at a time (one batch, so one record,
/// each); returns the checkpoints of the receipts.
fn add_each(addr: SocketAddr, from: u64, to: u64) -> Vec<Checkpoint> {
    let vkey = test_signer().verifier().clone();
    (from..to)
        .map(|i| {
            let e = entry(i);
            let r = http(addr, "POST", "/add", &e).unwrap();
            assert_eq!(r.status, 200, "{}", r.text());
            let (receipt, cp) = verify_receipt(&r.text(), &e, &vkey).unwrap();
            assert_eq!(receipt.index, i);
            cp
        })
        .collect()
}

/// After a restart: every entry `0..n` is at its index (it comes back as a
/// duplicate there), the head has the naive root of those entries plus the
/// ones added since, and it is consistent with every checkpoint in `seen`.
fn check_reopened(addr: SocketAddr, n: u64, seen: &[Checkpoint]) {
    let vkey = test_signer().verifier().clone();
    // Before anything is submitted again, the published tree already holds
    // all `n` entries.
    let note = http(addr, "GET", "/checkpoint", b"").unwrap().text();
    let (published, _) = Checkpoint::from_signed_note(&note, std::slice::from_ref(&vkey)).unwrap();
    assert_eq!(published.size(), n);
    let mut head = None;
    for i in 0..n {
        let e = entry(i);
        let r = http(addr, "POST", "/add", &e).unwrap();
        assert_eq!(r.status, 200, "entry {i}: {}", r.text());
        let (receipt, cp) = verify_receipt(&r.text(), &e, &vkey).unwrap();
        assert_eq!(receipt.index, i, "entry {i}");
        head = Some(cp);
    }
    let head = head.unwrap();
    assert_eq!(head.size(), n);
    let leaves: Vec<[u8; 32]> = (0..n).map(|i| oracle::leaf(&entry(i))).collect();
    assert_eq!(head.root().0, oracle::mth(&leaves));
    for cp in seen {
        assert_consistent_over_http(addr, cp.size(), &cp.root(), &head);
    }
}

#[test]
fn a_kill_between_the_wal_append_and_the_tile_writes_loses_nothing() {
    let (_dir, key, data) = setup("wal-kill");
    let (child, addr) = serve_env(&data, &key, false);
    let seen = add_each(addr, 0, 300);
    kill(child);

    // The next server stops for good right after its first append: the entry
    // is durable in the write-ahead log, and nothing else of its batch exists.
    let (child, addr) = serve_env(&data, &key, true);
    let before = std::fs::read_to_string(data.join("checkpoint")).unwrap();
    let waiting = std::thread::spawn(move || {
        // No answer comes: the sequencer stopped before the receipt.
        http_within(addr, "POST", "/add", &entry(300), Duration::from_secs(30))
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let record = loop {
        let read = merkle_log::wal::read_segment(&segment(&data)).unwrap();
        if let Some(r) = read.records.last().filter(|r| r.size == 301) {
            break r.clone();
        }
        assert!(Instant::now() < deadline, "the append never happened");
        std::thread::sleep(Duration::from_millis(10));
    };
    kill(child);
    assert!(waiting.join().unwrap().is_err(), "a receipt was handed out");
    // The record holds the entry and the naive root of the 301 entries.
    assert_eq!(record.entries, [entry(300)]);
    let leaves: Vec<[u8; 32]> = (0..301).map(|i| oracle::leaf(&entry(i))).collect();
    assert_eq!(record.root.0, oracle::mth(&leaves));
    // No file of the batch was written, the checkpoint is the old one.
    assert!(!data.join("tile/0/001.p/45").exists());
    assert!(!data.join("tile/entries/001.p/45").exists());
    assert_eq!(
        std::fs::read_to_string(data.join("checkpoint")).unwrap(),
        before
    );
    let (code, out) = fsck(&data);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: size 300"), "{out}");
    assert!(
        out.contains("holds committed entries up to size 301"),
        "{out}"
    );

    // The restart replays the record: the entry is at index 300.
    let (child, addr) = serve_env(&data, &key, false);
    check_reopened(addr, 301, &seen);
    kill(child);
    let (code, out) = fsck(&data);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: size 301"), "{out}");
}

#[test]
fn a_torn_record_at_the_tail_is_dropped_and_the_log_goes_on() {
    let (_dir, key, data) = setup("wal-torn");
    let (child, addr) = serve_env(&data, &key, false);
    let seen = add_each(addr, 0, 40);
    kill(child);
    // The first bytes of one more record, as a cut append leaves them: a length,
    // a checksum, part of the body; zeros after it.
    let path = segment(&data);
    let read = merkle_log::wal::read_segment(&path).unwrap();
    assert_eq!(read.records.len(), 40);
    let mut torn = 80u64.to_be_bytes().to_vec();
    torn.extend_from_slice(&[0xab; 4]);
    torn.extend_from_slice(&41u64.to_be_bytes());
    torn.extend_from_slice(&[0x5c; 20]);
    {
        use std::os::unix::fs::FileExt as _;
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(&torn, read.end).unwrap();
    }
    let read = merkle_log::wal::read_segment(&path).unwrap();
    assert_eq!((read.records.len(), read.torn_at), (40, Some(read.end)));
    let (code, out) = fsck(&data);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ends in a torn record"), "{out}");

    let (child, addr) = serve_env(&data, &key, false);
    check_reopened(addr, 40, &seen);
    let more = add_each(addr, 40, 45);
    kill(child);
    let (child, addr) = serve_env(&data, &key, false);
    let all: Vec<Checkpoint> = seen.into_iter().chain(more).collect();
    check_reopened(addr, 45, &all);
    kill(child);
    let (code, out) = fsck(&data);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: size 45"), "{out}");
}

/// Runs `merkle-log serve` expecting it to refuse to start; returns its exit
/// code and standard error.
fn serve_refused(data: &Path, key: &Path) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--key")
        .arg(key)
        .output()
        .unwrap();
    assert!(out.stdout.is_empty(), "it must not start listening");
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_damaged_record_before_a_sound_one_or_a_truncated_segment_is_refused() {
    let (_dir, key, data) = setup("wal-damage");
    let (child, addr) = serve_env(&data, &key, false);
    add_each(addr, 0, 20);
    kill(child);
    let path = segment(&data);
    let name = path.display().to_string();
    let original = std::fs::read(&path).unwrap();
    let read = merkle_log::wal::read_segment(&path).unwrap();
    assert_eq!(read.records.len(), 20);

    let damaged: [(&str, Vec<u8>, &str); 3] = [
        // A bit of the second record's entry: records after it check.
        (
            "a flipped bit",
            {
                let mut b = original.clone();
                // Header (64), first record (12 + 44 + 2 + 11 bytes), second's prefix
                // and body head, then into its entry.
                b[64 + 69 + 12 + 44 + 4] ^= 0x10;
                b
            },
            "records after it check",
        ),
        (
            "a cut file",
            original[..original.len() / 2].to_vec(),
            "truncated",
        ),
        (
            "a cut header",
            original[..40].to_vec(),
            "shorter than its header",
        ),
    ];
    for (what, bytes, says) in damaged {
        std::fs::write(&path, &bytes).unwrap();
        let before = snapshot(&data);
        let (code, err) = serve_refused(&data, &key);
        assert_eq!(code, Some(2), "{what}: {err}");
        assert!(err.contains(&name) && err.contains(says), "{what}: {err}");
        assert_eq!(snapshot(&data), before, "{what}: the refusal changed files");
        let (code, out) = fsck(&data);
        assert_eq!(code, 1, "{what}: {out}");
        assert!(
            out.contains("damaged: wal/0:") && out.contains(says),
            "{what}: {out}"
        );
        assert_eq!(snapshot(&data), before, "{what}: fsck changed files");
    }
    // Restored, the log opens with every entry.
    std::fs::write(&path, &original).unwrap();
    let (child, addr) = serve_env(&data, &key, false);
    check_reopened(addr, 20, &[]);
    kill(child);
}

#[test]
fn a_partial_file_grown_in_place_still_answers_every_narrower_width() {
    use merkle_log::{Log, LogConfig, TileId};
    let dir = crate::common::Scratch::new("wal-grow");
    let data = dir.path();
    let mut log = Log::open(data, test_signer(), LogConfig::default()).unwrap();
    for k in 0..3u64 {
        let batch: Vec<Vec<u8>> = (k * 10..k * 10 + 10).map(entry).collect();
        log.integrate(&batch).unwrap();
    }
    // One file per partial tile, at the latest width: the narrower ones were
    // renamed to it and grown.
    assert!(!data.join("tile/0/000.p/10").exists());
    assert!(!data.join("tile/0/000.p/20").exists());
    assert!(data.join("tile/0/000.p/30").exists());
    assert!(!data.join("tile/entries/000.p/20").exists());
    let leaves: Vec<[u8; 32]> = (0..30).map(|i| oracle::leaf(&entry(i))).collect();
    let check = |dir: &merkle_log::storage::DataDir| {
        for size in [10u64, 20, 30] {
            let tile = TileId {
                level: 0,
                index: 0,
                width: size as u16,
            };
            let hashes = dir.read_hash_tile(tile, size).unwrap();
            let got: Vec<[u8; 32]> = hashes.iter().map(|h| h.0).collect();
            assert_eq!(got, leaves[..size as usize], "size {size}");
            let (bytes, width) = dir.read_bundle(0, size).unwrap();
            assert_eq!(width, size as u16);
            let entries = merkle_log::tiles::decode_bundle(&bytes, width).unwrap();
            let want: Vec<Vec<u8>> = (0..size).map(entry).collect();
            assert_eq!(entries, want, "size {size}");
        }
    };
    check(log.dir());
    // Closed in order (a flush), reopened: the same answers, fsck clean.
    drop(log);
    let report = merkle_log::fsck::fsck(data, &mut |_, _| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.damage);
    let log = Log::open(data, test_signer(), LogConfig::default()).unwrap();
    check(log.dir());
}
