//! A `chain-node` process on an ephemeral port and a minimal HTTP JSON-RPC client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// A running node process.
pub(crate) struct NodeProcess {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) dir: PathBuf,
    /// The start line the node printed (`--json`).
    pub(crate) info: Value,
}

impl NodeProcess {
    pub(crate) fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    /// Starts the node with `extra` arguments after the usual ones.
    pub(crate) fn start_with(dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chain-node"))
            .args(["--network", "regtest", "--data"])
            .arg(dir)
            .args([
                "--rpc-listen",
                "127.0.0.1:0",
                "--json",
                "--mining-threads",
                "1",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.is_empty() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("chain-node did not start: {err}");
        }
        let info: Value = serde_json::from_str(&line).unwrap();
        let port = info["rpc"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        NodeProcess {
            child,
            port,
            dir: dir.to_owned(),
            info,
        }
    }

    pub(crate) fn cookie(&self) -> String {
        std::fs::read_to_string(self.dir.join(".cookie")).unwrap()
    }

    /// Sends raw bytes as a POST body with `auth`; returns (status, body).
    pub(crate) fn post(&self, method: &str, body: &str, auth: Option<&str>) -> (u16, String) {
        http(self.port, method, body, auth)
    }

    /// A JSON-RPC call; returns the whole response object.
    pub(crate) fn call(&self, method: &str, params: Value) -> Value {
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let (status, text) = self.post("POST", &body, Some(&self.cookie()));
        assert_eq!(status, 200, "{method}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// A JSON-RPC call that must succeed; returns its result.
    pub(crate) fn ok(&self, method: &str, params: Value) -> Value {
        let r = self.call(method, params);
        assert!(
            r.get("error").is_none() || r["error"].is_null(),
            "{method}: {r}"
        );
        r["result"].clone()
    }

    /// Asks the node to stop and waits for the process to exit.
    pub(crate) fn stop(mut self) {
        assert_eq!(self.ok("stop", json!([])), json!("chain-node stopping"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success());
                return;
            }
            assert!(Instant::now() < deadline, "node did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, no chance to clean up.
    pub(crate) fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one JSON-RPC call from another thread and ignores the answer (the node may be
/// killed before it replies).
pub(crate) fn call_in_background(
    port: u16,
    cookie: String,
    method: &'static str,
    params: Value,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let auth = base64::engine::general_purpose::STANDARD.encode(&cookie);
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            return;
        };
        let _ = s.write_all(format!("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    })
}

/// One HTTP/1.1 request to 127.0.0.1:`port`; returns (status, body).
pub(crate) fn http(port: u16, method: &str, body: &str, auth: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut req = format!(
        "{method} / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(a) = auth {
        req.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(a)
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
