//! How the `merkle-log` binary behaves as a Unix program: a busy port changes
//! nothing, SIGINT and SIGTERM stop the server cleanly with one line, counts are
//! in good English, both refused entry sizes name the limit, a closed pipe is no
//! error.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{http, serve_bin, setup};

const BIN: &str = env!("CARGO_BIN_EXE_merkle-log");

/// A server whose standard error is kept to read its last words.
struct Served {
    child: Child,
    addr: SocketAddr,
    stderr: BufReader<ChildStderr>,
}

fn serve(data: &Path, key: &Path) -> Served {
    let (mut child, addr) = serve_bin(data, key, Stdio::piped());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut serving = String::new();
    stderr.read_line(&mut serving).unwrap();
    assert!(serving.starts_with("merkle-log: serving "), "{serving}");
    Served {
        child,
        addr,
        stderr,
    }
}

impl Served {
    /// Sends `signal` and returns the exit code and the rest of standard error.
    fn stop_with(mut self, signal: &str) -> (Option<i32>, String) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = String::new();
        self.stderr.read_to_string(&mut rest).unwrap();
        (status.code(), rest)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a clean `fsck` prints.
fn fsck_ok(data: &Path) -> String {
    let out = Command::new(BIN)
        .args(["fsck", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_busy_port_creates_and_changes_nothing() {
    let (dir, key, data) = setup("busy");
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", &addr.to_string(), "--data"])
        .arg(&data)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("listening on {addr}")), "{err}");
    assert!(!data.exists(), "a failed start created the data directory");
    // An existing log is not touched either: no file added, none rewritten.
    let served = serve(&data, &key);
    assert_eq!(served.stop_with("TERM").0, Some(0));
    let before: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let checkpoint = std::fs::read(data.join("checkpoint")).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", &addr.to_string(), "--data"])
        .arg(&data)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let after: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after);
    assert_eq!(std::fs::read(data.join("checkpoint")).unwrap(), checkpoint);
    drop((busy, dir));
}

#[test]
fn sigint_and_sigterm_stop_the_server_cleanly_with_one_line() {
    let (_dir, key, data) = setup("signals");
    for signal in ["INT", "TERM"] {
        let served = serve(&data, &key);
        let added = http(served.addr, "POST", "/add", signal.as_bytes()).unwrap();
        assert_eq!(added.status, 200, "{}", added.text());
        let (code, rest) = served.stop_with(signal);
        assert_eq!(code, Some(0), "{rest}");
        assert_eq!(rest.lines().count(), 1, "{rest}");
        assert!(
            rest.starts_with(&format!("merkle-log: stopped (SIG{signal}): ")),
            "{rest}"
        );
    }
    // Both acknowledged entries are there, and the log is whole.
    let text = fsck_ok(&data);
    assert!(
        text.starts_with("ok: size 2, 2 entries and 1 tile re-hashed"),
        "{text}"
    );
}

#[test]
fn fsck_counts_in_good_english() {
    let (_dir, key, data) = setup("english");
    let served = serve(&data, &key);
    assert_eq!(
        http(served.addr, "POST", "/add", b"one").unwrap().status,
        200
    );
    assert_eq!(served.stop_with("TERM").0, Some(0));
    let text = fsck_ok(&data);
    // One entry: one level-0 hash tile (C2SP tlog-tiles), nothing above it.
    assert!(
        text.starts_with("ok: size 1, 1 entry and 1 tile re-hashed, root "),
        "{text}"
    );
}

#[test]
fn entries_too_long_and_empty_name_the_same_limit() {
    let (_dir, key, data) = setup("limits");
    let served = serve(&data, &key);
    let empty = http(served.addr, "POST", "/add", b"").unwrap();
    assert_eq!(empty.status, 400);
    assert_eq!(empty.text().trim(), "empty entry: send 1 to 65535 bytes");
    let long = http(served.addr, "POST", "/add", &vec![7u8; 65_536]).unwrap();
    assert_eq!(long.status, 413);
    assert_eq!(
        long.text().trim(),
        "entry too long: more than 65535 bytes; send 1 to 65535 bytes"
    );
    // The longest entry is taken.
    let longest = http(served.addr, "POST", "/add", &vec![7u8; 65_535]).unwrap();
    assert_eq!(longest.status, 200);
    assert_eq!(served.stop_with("TERM").0, Some(0));
}

/// Runs `cmd` with its standard output closed before it writes.
fn with_closed_stdout(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_is_no_error() {
    let (dir, key, data) = setup("pipe");
    let served = serve(&data, &key);
    assert_eq!(served.stop_with("TERM").0, Some(0));
    let new_key = dir.path().join("other.key");
    for out in [
        with_closed_stdout(
            Command::new(BIN)
                .args(["keygen", "--origin", "pipe.example/1", "--out"])
                .arg(&new_key),
        ),
        with_closed_stdout(Command::new(BIN).args(["fsck", "--data"]).arg(&data)),
        with_closed_stdout(Command::new(BIN).arg("--help")),
    ] {
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    }
    assert!(new_key.exists());
    drop(key);
}
