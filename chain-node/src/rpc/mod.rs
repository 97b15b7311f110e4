//! JSON-RPC 2.0 over HTTP POST with cookie authentication, as bitcoind serves it.
//!
//! The server binds where it is told (the binary refuses non-loopback addresses unless
//! asked), writes `DIR/.cookie` (`__cookie__:<64 hex>`, mode 0600) at every start and
//! removes it on a clean stop, and answers 401 to missing or wrong credentials. Method
//! dispatch lives in `methods.rs` ([`dispatch`]); this module only speaks HTTP.

mod methods;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use base64::Engine;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tiny_http::{Header, Method, Request, Response, Server};

pub use methods::{Call, RpcError, dispatch, parse_call};

use crate::node::Node;

/// Largest request body accepted, in bytes (a maximal block in hex is 2 MB).
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// The user name in the cookie file.
pub const COOKIE_USER: &str = "__cookie__";

/// Why the RPC server could not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcStartError {
    /// Writing the cookie file failed.
    #[error("cannot write the cookie file {path}")]
    Cookie {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        reason: String,
    },
    /// No random bytes for the cookie.
    #[error("no randomness for the cookie: {0}")]
    Random(String),
}

/// A running RPC server.
pub struct RpcServer {
    server: Arc<Server>,
    addr: SocketAddr,
    workers: Vec<JoinHandle<()>>,
    cookie_path: PathBuf,
}

/// Writes a fresh cookie file readable only by the owner; returns the password.
///
/// # Errors
/// I/O errors or missing randomness.
pub fn write_cookie(path: &Path) -> Result<String, RpcStartError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| RpcStartError::Random(e.to_string()))?;
    let password = hex::encode(secret);
    let err = |source| RpcStartError::Cookie {
        path: path.to_owned(),
        source,
    };
    // Replace atomically: write a private temporary file, then rename over the old one.
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(err)?;
    file.write_all(format!("{COOKIE_USER}:{password}").as_bytes())
        .map_err(err)?;
    file.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(password)
}

impl std::fmt::Debug for RpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcServer")
            .field("addr", &self.addr)
            .field("cookie_path", &self.cookie_path)
            .finish_non_exhaustive()
    }
}

impl RpcServer {
    /// Writes `DIR/.cookie` and serves JSON-RPC on `listen` with `threads` workers.
    ///
    /// # Errors
    /// [`RpcStartError`].
    pub fn start(
        node: Arc<Node>,
        listen: SocketAddr,
        threads: usize,
    ) -> Result<Self, RpcStartError> {
        let cookie_path = node.config().data_dir.join(".cookie");
        let password = write_cookie(&cookie_path)?;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{COOKIE_USER}:{password}"))
        );
        let server = Server::http(listen).map_err(|e| RpcStartError::Bind {
            addr: listen,
            reason: e.to_string(),
        })?;
        let addr = server.server_addr().to_ip().unwrap_or(listen);
        let server = Arc::new(server);
        let count = threads.max(1);
        let workers = (0..count)
            .map(|_| {
                let server = server.clone();
                let node = node.clone();
                let expected = expected.clone();
                std::thread::spawn(move || worker(&server, &node, &expected, count))
            })
            .collect();
        Ok(RpcServer {
            server,
            addr,
            workers,
            cookie_path,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The cookie file.
    pub fn cookie_path(&self) -> &Path {
        &self.cookie_path
    }

    /// Waits until a `stop` request ends every worker, then removes the cookie.
    pub fn wait(self) {
        for w in self.workers {
            let _ = w.join();
        }
        let _ = std::fs::remove_file(&self.cookie_path);
    }

    /// Stops the workers without a request.
    pub fn stop(self, node: &Node) {
        node.shutdown();
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        self.wait();
    }
}

fn worker(server: &Server, node: &Node, expected_auth: &str, workers: usize) {
    while !node.is_shutting_down() {
        let Ok(request) = server.recv() else {
            break;
        };
        let stop = handle(request, node, expected_auth);
        if stop {
            node.shutdown();
            // Wake every other worker so that it sees the shutdown.
            for _ in 0..workers {
                server.unblock();
            }
        }
    }
}

fn respond(request: Request, status: u16, body: String) {
    let mut response = Response::from_string(body).with_status_code(status);
    if status == 401 {
        if let Ok(h) = Header::from_bytes(&b"WWW-Authenticate"[..], &b"Basic realm=\"jsonrpc\""[..])
        {
            response.add_header(h);
        }
    } else if let Ok(h) = Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]) {
        response.add_header(h);
    }
    let _ = request.respond(response);
}

/// Serves one request; returns whether it asked the node to stop.
fn handle(mut request: Request, node: &Node, expected_auth: &str) -> bool {
    let authorized = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .is_some_and(|h| bool::from(h.value.as_str().as_bytes().ct_eq(expected_auth.as_bytes())));
    if !authorized {
        respond(request, 401, String::new());
        return false;
    }
    if *request.method() != Method::Post {
        respond(
            request,
            405,
            error_body(Value::Null, &RpcError::invalid_request("use HTTP POST")),
        );
        return false;
    }
    let mut body = Vec::new();
    let read = request
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body);
    if read.is_err() || body.len() > MAX_BODY {
        respond(
            request,
            413,
            error_body(
                Value::Null,
                &RpcError::invalid_request("request body too large or unreadable"),
            ),
        );
        return false;
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            respond(
                request,
                200,
                error_body(Value::Null, &RpcError::parse(e.to_string())),
            );
            return false;
        }
    };
    let mut stop = false;
    let reply = match parsed {
        Value::Array(calls) if !calls.is_empty() => {
            let replies: Vec<Value> = calls
                .iter()
                .filter_map(|c| call(node, c, &mut stop))
                .collect();
            (!replies.is_empty()).then_some(Value::Array(replies))
        }
        Value::Array(_) => {
            respond(
                request,
                200,
                error_body(Value::Null, &RpcError::invalid_request("empty batch")),
            );
            return false;
        }
        single => call(node, &single, &mut stop),
    };
    match reply {
        Some(reply) => respond(request, 200, reply.to_string()),
        // Only notifications: JSON-RPC 2.0 sends no response body.
        None => respond(request, 204, String::new()),
    }
    stop
}

fn error_body(id: Value, e: &RpcError) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}}).to_string()
}

/// Runs one call; `None` for a JSON-RPC 2.0 notification (no `id`), which gets no reply.
fn call(node: &Node, request: &Value, stop: &mut bool) -> Option<Value> {
    let notification = request.get("jsonrpc") == Some(&json!("2.0")) && request.get("id").is_none();
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        let e = RpcError::invalid_request("missing method");
        return Some(
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}}),
        );
    };
    let params = request
        .get("params")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    if method == "stop" {
        *stop = true;
    }
    let reply = match dispatch(node, method, &params) {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}})
        }
    };
    (!notification).then_some(reply)
}
