//! How the `chain-node` binary behaves as a Unix program: signals stop it cleanly
//! and it says so, one process per data directory (said at once), a failed start
//! leaves nothing behind, help pages list what applies, a closed pipe is no error.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chain_node::Network;
use serde_json::{Value, json};

use crate::helpers::{address, key, temp_dir};
use crate::process::{call_in_background, http};

fn chain_node() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chain-node"))
}

/// A node started with `--json`, its first line read, its stdout kept open.
struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
    port: u16,
}

impl Running {
    fn start(dir: &Path, json: bool) -> Running {
        let mut cmd = chain_node();
        cmd.arg("--data")
            .arg(dir)
            .args(["--rpc-listen", "127.0.0.1:0", "--mining-threads", "1"]);
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "chain-node did not start");
        let rpc = if json {
            serde_json::from_str::<Value>(&line).unwrap()["rpc"]
                .as_str()
                .unwrap()
                .to_owned()
        } else {
            // "chain-node regtest listening on ADDR (cookie ...".
            line.split_whitespace().nth(4).unwrap().to_owned()
        };
        let port = rpc.rsplit(':').next().unwrap().parse().unwrap();
        Running {
            child,
            stdout,
            port,
        }
    }

    fn call(&self, dir: &Path, method: &str, params: Value) -> Value {
        let cookie = std::fs::read_to_string(dir.join(".cookie")).unwrap();
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let (status, text) = http(self.port, "POST", &body, Some(&cookie));
        assert_eq!(status, 200, "{text}");
        serde_json::from_str::<Value>(&text).unwrap()["result"].clone()
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args([format!("-{name}"), pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit; returns the exit code and what the node printed after its
    /// first line, on each stream.
    fn finish(mut self) -> (Option<i32>, String, String) {
        let status = wait(&mut self.child, Duration::from_secs(120));
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status.code(), rest, err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the process did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn miner() -> String {
    address(&key(31)).encode(Network::Regtest)
}

/// Mines in the background until the node is at `height` at least.
fn mine_until(node: &Running, dir: &Path, height: u64) -> std::thread::JoinHandle<()> {
    let cookie = std::fs::read_to_string(dir.join(".cookie")).unwrap();
    let worker = call_in_background(
        node.port,
        cookie,
        "generatetoaddress",
        json!([100_000, miner()]),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while node.call(dir, "getblockcount", json!([])).as_u64().unwrap() < height {
        assert!(Instant::now() < deadline, "mining did not progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    worker
}

#[test]
fn sigint_while_mining_stops_accepting_flushes_removes_the_cookie_and_says_so() {
    let dir = temp_dir("sigint");
    let node = Running::start(&dir, true);
    let worker = mine_until(&node, &dir, 3);
    node.signal("INT");
    let (code, rest, err) = node.finish();
    worker.join().unwrap();
    assert_eq!(code, Some(0), "{err}");
    // One line, and it names the signal.
    let lines: Vec<&str> = rest.lines().collect();
    assert_eq!(lines.len(), 1, "{rest}");
    let stopped: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(stopped["stopped"], json!("SIGINT"));
    assert!(!dir.join(".cookie").exists(), "the cookie is left behind");
    // Everything the node said it had is there after a restart.
    let height = stopped["height"].as_u64().unwrap();
    assert!(height >= 3);
    let again = Running::start(&dir, true);
    assert_eq!(again.call(&dir, "getblockcount", json!([])), json!(height));
    assert_eq!(
        again.call(&dir, "getbestblockhash", json!([])),
        stopped["bestblockhash"]
    );
    again.signal("TERM");
    assert_eq!(again.finish().0, Some(0));
}

#[test]
fn sigterm_stops_the_node_with_one_line_of_text() {
    let dir = temp_dir("sigterm");
    let node = Running::start(&dir, false);
    node.signal("TERM");
    let (code, rest, err) = node.finish();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(rest.lines().count(), 1, "{rest}");
    assert!(
        rest.starts_with("chain-node stopped (SIGTERM) at height 0"),
        "{rest}"
    );
    assert!(rest.contains("cookie removed"), "{rest}");
    assert!(!dir.join(".cookie").exists());
    // The lock went with the process: the directory can be used again.
    let again = Running::start(&dir, false);
    again.signal("INT");
    let (code, rest, _) = again.finish();
    assert_eq!(code, Some(0));
    assert!(rest.starts_with("chain-node stopped (SIGINT)"), "{rest}");
}

#[test]
fn a_second_node_on_the_same_directory_is_told_at_once() {
    let dir = temp_dir("second");
    let first = Running::start(&dir, true);
    let started = Instant::now();
    let second = chain_node()
        .arg("--data")
        .arg(&*dir)
        .args(["--rpc-listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    // The chain store would have waited 10 s for its own lock; the directory's lock
    // answers without waiting.
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    let expected = format!(
        "the data directory {} is in use by another chain-node (process {})",
        dir.display(),
        first.child.id()
    );
    assert!(err.contains(&expected), "{err}");
    // The same directory and the same port: the directory is what the user hears of.
    let same_port = chain_node()
        .arg("--data")
        .arg(&*dir)
        .args(["--rpc-listen", &format!("127.0.0.1:{}", first.port)])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&same_port.stderr).contains(&expected));
    // reindex too, and the running node's cookie is untouched.
    let cookie = std::fs::read_to_string(dir.join(".cookie")).unwrap();
    let reindex = chain_node()
        .args(["reindex", "--data"])
        .arg(&*dir)
        .output()
        .unwrap();
    assert_eq!(reindex.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&reindex.stderr).contains(&expected));
    assert_eq!(
        std::fs::read_to_string(dir.join(".cookie")).unwrap(),
        cookie
    );
    assert_eq!(first.call(&dir, "getblockcount", json!([])), json!(0));
    first.signal("TERM");
    assert_eq!(first.finish().0, Some(0));
}

#[test]
fn a_start_on_a_busy_port_writes_nothing() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let scratch = temp_dir("busy-port");
    // A directory that does not exist yet is not created.
    let fresh = scratch.join("fresh");
    let out = chain_node()
        .arg("--data")
        .arg(&fresh)
        .args(["--rpc-listen", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!fresh.exists(), "a failed start created the data directory");
    // A directory in use before gets no cookie.
    let used = scratch.join("used");
    let node = Running::start(&used, true);
    node.signal("TERM");
    assert_eq!(node.finish().0, Some(0));
    let out = chain_node()
        .arg("--data")
        .arg(&used)
        .args(["--rpc-listen", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !used.join(".cookie").exists(),
        "a failed start wrote a cookie"
    );
    drop(busy);
}

fn help(args: &[&str]) -> String {
    let out = chain_node().args(args).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

const RUN_OPTIONS: [&str; 4] = [
    "--rpc-listen",
    "--rpc-allow-remote",
    "--rpc-threads",
    "--mining-threads",
];

#[test]
fn help_pages_list_only_what_applies_and_old_command_lines_still_work() {
    let top = help(&["--help"]);
    for flag in RUN_OPTIONS.iter().chain(&["--network", "--data", "--json"]) {
        assert!(top.contains(flag), "chain-node --help lacks {flag}");
    }
    let reindex = help(&["reindex", "--help"]);
    for flag in ["--network", "--data", "--json"] {
        assert!(reindex.contains(flag), "reindex --help lacks {flag}");
    }
    for flag in RUN_OPTIONS {
        assert!(!reindex.contains(flag), "reindex --help lists {flag}");
    }
    let keygen = help(&["keygen", "--help"]);
    for flag in ["--network", "--out", "--json"] {
        assert!(keygen.contains(flag), "keygen --help lacks {flag}");
    }
    for flag in RUN_OPTIONS.iter().chain(&["--data"]) {
        assert!(!keygen.contains(flag), "keygen --help lists {flag}");
    }
    // An option before a command that does not use it is refused, naming it.
    let dir = temp_dir("help");
    let out = chain_node()
        .args(["--rpc-listen", "127.0.0.1:0", "reindex", "--data"])
        .arg(&*dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--rpc-listen does not apply to `chain-node reindex`"),
        "{err}"
    );
    // The command lines of the README and of earlier versions.
    let node = Running::start(&dir, true);
    node.signal("INT");
    assert_eq!(node.finish().0, Some(0));
    for args in [
        vec!["reindex", "--json", "--data"],
        vec!["--data"],
        vec!["--network", "regtest", "reindex", "--json", "--data"],
    ] {
        let mut cmd = chain_node();
        cmd.args(&args).arg(&*dir);
        if args.len() == 1 {
            // `chain-node --data DIR reindex --json`: --data before the command.
            cmd.args(["reindex", "--json"]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["height"], json!(0));
    }
    let key = dir.join("try.key");
    let out = chain_node()
        .args(["--network", "testnet", "keygen", "--json", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(printed["address"].as_str().unwrap().starts_with("tcn1"));
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
    let dir = temp_dir("pipe");
    let key = dir.join("k.key");
    for out in [
        with_closed_stdout(chain_node().args(["keygen", "--out"]).arg(&key)),
        with_closed_stdout(chain_node().arg("--help")),
        with_closed_stdout(chain_node().args(["reindex", "--help"])),
    ] {
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    }
    assert!(key.exists());
    // A running node whose start line cannot be printed runs on, and stops cleanly.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = dir.join("node");
    let mut child = chain_node()
        .arg("--data")
        .arg(&data)
        .args(["--rpc-listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !data.join(".cookie").exists() {
        assert!(Instant::now() < deadline, "the node did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let cookie = std::fs::read_to_string(data.join(".cookie")).unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "stop"}).to_string();
    assert_eq!(http(port, "POST", &body, Some(&cookie)).0, 200);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!((out.status.code(), err.as_ref()), (Some(0), ""));
}
