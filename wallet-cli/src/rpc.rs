//! The chain node's JSON-RPC 2.0 over HTTP, authenticated with its cookie file.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::http::{Client, HttpError};

/// The largest RPC answer read (a full block in JSON fits easily).
const MAX_RESPONSE: u64 = 64 << 20;

/// What goes wrong calling the node.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The cookie file could not be read.
    #[error(
        "cannot read the node's cookie file {path}: {source} (is chain-node running with that data directory? pass --node-data DIR or --rpc-cookie FILE)"
    )]
    Cookie {
        /// The cookie file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No connection to the node.
    #[error("{0} (is chain-node running? start it, or pass --rpc URL)")]
    Unreachable(HttpError),
    /// The node refused the credentials.
    #[error(
        "the node at {url} refused the credentials (401): pass the cookie of that node with --node-data DIR or --rpc-cookie FILE"
    )]
    Unauthorized {
        /// The node's URL.
        url: String,
    },
    /// The node answered with a JSON-RPC error.
    #[error("node error {code}: {message}")]
    Node {
        /// JSON-RPC error code.
        code: i64,
        /// The node's reason.
        message: String,
    },
    /// The answer is not JSON-RPC.
    #[error("unexpected answer from the node (HTTP {status}): {detail}")]
    Protocol {
        /// HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
}

/// A connection to one node.
pub struct RpcClient {
    url: String,
    authorization: String,
    http: Client,
}

impl RpcClient {
    /// A client for the node at `url`, with the credentials in `cookie_file`
    /// (`user:password`, as bitcoind writes it).
    ///
    /// # Errors
    /// [`RpcError::Cookie`] when the cookie cannot be read.
    pub fn new(url: &str, cookie_file: &Path) -> Result<Self, RpcError> {
        let cookie = fs::read_to_string(cookie_file).map_err(|source| RpcError::Cookie {
            path: cookie_file.to_path_buf(),
            source,
        })?;
        let authorization = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(cookie.trim())
        );
        Ok(RpcClient {
            url: url.to_string(),
            authorization,
            http: Client::default(),
        })
    }

    /// Calls `method` with positional `params` and returns its `result`.
    ///
    /// # Errors
    /// [`RpcError`] saying whether the node is unreachable, refused us, or refused
    /// the call.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp = self
            .http
            .post_json(
                &self.url,
                Some(&self.authorization),
                body.to_string().as_bytes(),
                MAX_RESPONSE,
            )
            .map_err(RpcError::Unreachable)?;
        if resp.status == 401 {
            return Err(RpcError::Unauthorized {
                url: self.url.clone(),
            });
        }
        let answer: Value = serde_json::from_slice(&resp.body).map_err(|e| RpcError::Protocol {
            status: resp.status,
            detail: e.to_string(),
        })?;
        if let Some(err) = answer.get("error").filter(|e| !e.is_null()) {
            return Err(RpcError::Node {
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
                    .to_string(),
            });
        }
        answer
            .get("result")
            .cloned()
            .ok_or_else(|| RpcError::Protocol {
                status: resp.status,
                detail: "no result and no error".into(),
            })
    }
}
