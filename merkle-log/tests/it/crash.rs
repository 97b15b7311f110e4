//! The `merkle-log` binary under SIGKILL and on damaged data.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use merkle_log::{Checkpoint, Hash, verify_receipt};

use crate::common::{Scratch, assert_consistent_over_http, fsck, http, serve_log, test_signer};

const BIN: &str = env!("CARGO_BIN_EXE_merkle-log");

/// Starts `merkle-log serve` on an ephemeral port; returns the child and address.
fn serve(data: &Path, key: &Path) -> (Child, SocketAddr) {
    serve_log(data, key, &[])
}

/// Runs `merkle-log serve` expecting it to refuse to start; returns its output.
fn serve_to_exit(data: &Path, key: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--key")
        .arg(key)
        .output()
        .unwrap()
}

use crate::common::setup;

#[test]
fn sigkill_during_concurrent_submissions_loses_nothing_receipted() {
    let (_dir, key, data) = setup("crash");
    let vkey = test_signer().verifier().clone();
    let (mut child, addr) = serve(&data, &key);
    type Receipts = Arc<Mutex<Vec<(Vec<u8>, u64, Checkpoint)>>>;
    let receipts: Receipts = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let killed_at = std::thread::scope(|s| {
        for t in 0..16 {
            let (receipts, stop, vkey) = (Arc::clone(&receipts), Arc::clone(&stop), vkey.clone());
            s.spawn(move || {
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let e = format!("crash client {t} entry {i}").into_bytes();
                    let Ok(r) = http(addr, "POST", "/add", &e) else {
                        break;
                    };
                    if r.status != 200 {
                        break;
                    }
                    // Every receipt handed out must verify offline.
                    let (rc, cp) = verify_receipt(&r.text(), &e, &vkey).unwrap();
                    receipts.lock().unwrap().push((e, rc.index, cp));
                }
            });
        }
        // Kill while submissions are in flight, after some have been receipted.
        let deadline = Instant::now() + Duration::from_secs(20);
        while receipts.lock().unwrap().len() < 400 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let n = receipts.lock().unwrap().len();
        stop.store(true, Ordering::Relaxed);
        n
    });
    assert!(
        killed_at >= 400,
        "only {killed_at} receipts before the deadline"
    );
    let receipts = receipts.lock().unwrap().clone();

    // Restart: every receipted entry is at its index; the new head is consistent
    // with every checkpoint ever handed out.
    let (mut child, addr) = serve(&data, &key);
    let r = http(addr, "POST", "/add", b"after the crash").unwrap();
    let (_, head) = verify_receipt(&r.text(), b"after the crash", &vkey).unwrap();
    let max_seen = receipts.iter().map(|(_, _, cp)| cp.size()).max().unwrap();
    assert!(head.size() > max_seen);
    for (e, index, _) in &receipts {
        let v = http(
            addr,
            "GET",
            &format!(
                "/ct/v1/get-entry-and-proof?leaf_index={index}&tree_size={}",
                head.size()
            ),
            b"",
        )
        .unwrap()
        .json();
        assert_eq!(&B64.decode(v["leaf_input"].as_str().unwrap()).unwrap(), e);
    }
    let mut heads: Vec<(u64, Hash)> = receipts
        .iter()
        .map(|(_, _, c)| (c.size(), c.root()))
        .collect();
    heads.sort();
    heads.dedup();
    for (size, root) in heads {
        assert_consistent_over_http(addr, size, &root, &head);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (code, out) = fsck(&data);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with(&format!("ok: size {}", head.size())),
        "{out}"
    );
}

#[test]
fn a_flipped_byte_is_named_by_fsck_and_refused_by_the_server() {
    let (_dir, key, data) = setup("flip");
    let (mut child, addr) = serve(&data, &key);
    for i in 0..300 {
        let r = http(addr, "POST", "/add", format!("flip {i}").as_bytes()).unwrap();
        assert_eq!(r.status, 200);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(fsck(&data).0, 0);
    for file in ["tile/entries/001.p/44", "tile/0/001.p/44", "tile/0/000"] {
        let path = data.join(file);
        let original = std::fs::read(&path).unwrap();
        let mut bytes = original.clone();
        bytes[20] ^= 0x80;
        std::fs::write(&path, &bytes).unwrap();
        let (code, out) = fsck(&data);
        assert_eq!(code, 1, "{file}: {out}");
        assert!(out.contains(&format!("damaged: {file}:")), "{file}: {out}");
        std::fs::write(&path, &original).unwrap();
    }
    // The kill left the batches in the write-ahead log: a start replays them
    // (rewriting the files they describe) and flushes, so that the right edge is
    // now the durable base the next checkpoint builds on.
    let (mut child, _) = serve(&data, &key);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(fsck(&data).0, 0);
    // Damage on that edge: the server refuses to start rather than sign.
    let path = data.join("tile/0/001.p/44");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20] ^= 0x80;
    std::fs::write(&path, &bytes).unwrap();
    let out = serve_to_exit(&data, &key);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("damaged") && err.contains("tile"), "{err}");
    assert!(out.stdout.is_empty(), "it must not start listening");
}

#[test]
fn a_flipped_byte_in_the_dedup_table_never_lets_serve_add_an_entry_twice() {
    use crate::dedup_recovery::{Layout, flip, table_file};
    let (_dir, key, data) = setup("dedup-flip");
    let (mut child, addr) = serve(&data, &key);
    let entries: Vec<Vec<u8>> = (0..300).map(|i| format!("flip {i}").into_bytes()).collect();
    let vkey = test_signer().verifier().clone();
    for (i, e) in entries.iter().enumerate() {
        let r = http(addr, "POST", "/add", e).unwrap();
        let (receipt, _) = verify_receipt(&r.text(), e, &vkey).unwrap();
        assert_eq!(receipt.index, i as u64);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // One byte of the slot of entry 63: fsck names the table.
    let table = table_file(&data);
    flip(&table, Layout::read(&table).slot_of(63) + 4);
    let (code, out) = fsck(&data);
    assert_eq!(code, 1, "{out}");
    let table_name = table.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        out.contains(&format!("damaged: dedup/{table_name}: ")),
        "{out}"
    );
    // The server starts, and every entry comes back at its first index.
    let (mut child, addr) = serve(&data, &key);
    for (i, e) in entries.iter().enumerate() {
        let r = http(addr, "POST", "/add", e).unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let (receipt, cp) = verify_receipt(&r.text(), e, &vkey).unwrap();
        assert_eq!((receipt.index, cp.size()), (i as u64, 300), "entry {i}");
    }
    let r = http(addr, "POST", "/add", b"one more").unwrap();
    let (receipt, _) = verify_receipt(&r.text(), b"one more", &vkey).unwrap();
    assert_eq!(receipt.index, 300);
    child.kill().unwrap();
    child.wait().unwrap();
    let (code, out) = fsck(&data);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: size 301"), "{out}");
}

#[test]
fn keygen_writes_an_owner_only_key_and_serve_refuses_a_readable_one() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = Scratch::new("keygen");
    let key = dir.path().join("k");
    let out = Command::new(BIN)
        .args(["keygen", "--origin", "log.example/test", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let vkey: merkle_log::VerifierKey = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(vkey.name().as_str(), "log.example/test");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("PRIVATE+KEY+log.example/test+"));
    let signer = merkle_log::NoteSigner::from_private_key(&text).unwrap();
    assert_eq!(signer.verifier(), &vkey);
    // Never overwrites; a bad origin is refused.
    let again = Command::new(BIN)
        .args(["keygen", "--origin", "x", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text);
    let bad = Command::new(BIN)
        .args(["keygen", "--origin", "has space", "--out"])
        .arg(dir.path().join("k2"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    // A key others can read is refused, without printing it.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = serve_to_exit(&dir.path().join("data"), &key);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("chmod 600"), "{err}");
    assert!(!err.contains(text.trim()), "the key was printed");
}
