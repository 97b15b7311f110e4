//! Shared helpers: scratch directories, a test key, a minimal HTTP/1.1 client.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use merkle_log::NoteSigner;

/// A directory under the system temp dir, removed on drop.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "merkle-log-it-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The published Go test key "Log" (transparency-dev/formats), as a log key.
pub(crate) fn test_signer() -> NoteSigner {
    NoteSigner::from_private_key(
        "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ",
    )
    .unwrap()
}

/// Spawns `merkle-log` with `args` (a server that prints `listening on ADDR` first)
/// and returns the child and that address.
pub(crate) fn spawn_listening(args: &[&std::ffi::OsStr]) -> (std::process::Child, SocketAddr) {
    spawn_listening_with(args, std::process::Stdio::null())
}

/// [`spawn_listening`] with the child's standard error as `stderr` says.
pub(crate) fn spawn_listening_with(
    args: &[&std::ffi::OsStr],
    stderr: std::process::Stdio,
) -> (std::process::Child, SocketAddr) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_merkle-log"));
    command.args(args).stderr(stderr);
    spawn_command(command)
}

/// Spawns a prepared `merkle-log` command line (its standard output is taken) and
/// returns the child and the address it prints first (`listening on ADDR`).
pub(crate) fn spawn_command(
    mut command: std::process::Command,
) -> (std::process::Child, SocketAddr) {
    use std::io::BufRead as _;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
    (child, addr)
}

/// Starts `merkle-log serve` on an ephemeral port with `extra` arguments.
pub(crate) fn serve_log(
    data: &Path,
    key: &Path,
    extra: &[&std::ffi::OsStr],
) -> (std::process::Child, SocketAddr) {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "serve".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ];
    args.extend_from_slice(extra);
    spawn_listening(&args)
}

/// An HTTP response: status, headers (lower-case names), body.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Sends one request (Connection: close) and reads the whole response.
pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<Response> {
    http_within(addr, method, path, body, Duration::from_secs(30))
}

/// [`http`] that fails with `TimedOut` unless the whole answer arrives within
/// `limit` of the start.
pub(crate) fn http_within(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    limit: Duration,
) -> std::io::Result<Response> {
    let deadline = std::time::Instant::now() + limit;
    let mut s = TcpStream::connect_timeout(&addr, limit)?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.set_write_timeout(Some(limit))?;
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        s.set_read_timeout(Some(left))?;
        match s.read(&mut buf)? {
            0 => break,
            n => raw.extend_from_slice(&buf[..n]),
        }
    }
    parse_response(&raw)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad HTTP response"))
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n")?;
        let len = usize::from_str_radix(std::str::from_utf8(&b[..nl]).ok()?.trim(), 16).ok()?;
        b = &b[nl + 2..];
        if len == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..len)?);
        b = b.get(len + 2..)?;
    }
}

/// A scratch directory holding the test key as `log.key`, and the path `data` in it
/// (not created).
pub(crate) fn setup(tag: &str) -> (Scratch, PathBuf, PathBuf) {
    let dir = Scratch::new(tag);
    let key = dir.path().join("log.key");
    merkle_log::keyfile::write_private_key(&key, &test_signer()).unwrap();
    let data = dir.path().join("data");
    (dir, key, data)
}

/// Starts the `merkle-log serve` binary on an ephemeral port with its standard
/// error as `stderr` says; returns the child and the address it printed.
pub(crate) fn serve_bin(
    data: &Path,
    key: &Path,
    stderr: std::process::Stdio,
) -> (std::process::Child, SocketAddr) {
    let args: [&std::ffi::OsStr; 7] = [
        "serve".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ];
    spawn_listening_with(&args, stderr)
}

/// Asks the server at `addr` for the consistency proof from (`old_size`, `old_root`) to
/// `new` and verifies it (RFC 9162), panicking with the reason when it fails.
pub(crate) fn assert_consistent_over_http(
    addr: SocketAddr,
    old_size: u64,
    old_root: &merkle_log::Hash,
    new: &merkle_log::Checkpoint,
) {
    let v = http(
        addr,
        "GET",
        &format!(
            "/ct/v1/get-sth-consistency?first={old_size}&second={}",
            new.size()
        ),
        b"",
    )
    .unwrap()
    .json();
    let proof: Vec<merkle_log::Hash> = v["consistency"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().parse().unwrap())
        .collect();
    merkle_log::verify_consistency(old_size, new.size(), old_root, &new.root(), &proof).unwrap();
}

/// `merkle-log fsck --data DIR` of the binary: its exit code and standard output.
pub(crate) fn fsck(data: &Path) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_merkle-log"))
        .args(["fsck", "--data"])
        .arg(data)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}
