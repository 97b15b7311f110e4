//! The log's blocking side of anchoring: the chain node's JSON-RPC (its height, and
//! where a transaction's data output landed) and the `wallet` binary that pays for
//! an anchor (ADR 0031).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

/// The largest JSON-RPC answer read (a page of data outputs).
const MAX_ANSWER: u64 = 64 << 20;
/// Most pages read to find one transaction.
const MAX_PAGES: usize = 64;

/// A chain node's JSON-RPC endpoint, its cookie read at each call (a restarted node
/// writes a new one).
pub(crate) struct Chain {
    url: String,
    cookie: PathBuf,
    agent: ureq::Agent,
}

/// Where a transaction's data output is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Landed {
    pub(crate) height: u64,
    pub(crate) block: String,
}

impl Chain {
    pub(crate) fn new(url: &str, cookie: &Path, timeout: Duration) -> Chain {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        Chain {
            url: url.to_owned(),
            cookie: cookie.to_owned(),
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// Calls `method`; a message saying what failed and what to do otherwise.
    pub(crate) fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let cookie = std::fs::read_to_string(&self.cookie).map_err(|e| {
            format!(
                "cannot read the chain node's cookie {}: {e} (is chain-node running with that \
                 data directory? see --anchor-cookie)",
                self.cookie.display()
            )
        })?;
        let auth = format!("Basic {}", BASE64.encode(cookie.trim()));
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut resp = self
            .agent
            .post(&self.url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(|e| {
                format!(
                    "cannot reach the chain node at {}: {e} (is chain-node running? see \
                     --anchor-rpc)",
                    self.url
                )
            })?;
        if resp.status().as_u16() == 401 {
            return Err(format!(
                "the chain node at {} refused the cookie {} (401)",
                self.url,
                self.cookie.display()
            ));
        }
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(|e| format!("reading the chain node's answer: {e}"))?;
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("the chain node's answer is not JSON: {e}"))?;
        if let Some(err) = answer.get("error").filter(|e| !e.is_null()) {
            return Err(format!("the chain node refused {method}: {err}"));
        }
        answer
            .get("result")
            .cloned()
            .ok_or_else(|| format!("the chain node's {method} answer has no result"))
    }

    /// The active chain's height.
    pub(crate) fn height(&self) -> Result<u64, String> {
        self.call("getblockcount", json!([]))?
            .as_u64()
            .ok_or_else(|| "the chain node's getblockcount answer is not a height".to_owned())
    }

    /// The node's network name (`regtest`, `testnet`).
    pub(crate) fn network(&self) -> Result<String, String> {
        self.call("getblockchaininfo", json!([]))?
            .get("chain")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| "the chain node's getblockchaininfo names no chain".to_owned())
    }

    /// The block of the active chain, from height `from` on, that holds a data output
    /// of `txid` starting with `prefix`; `None` when none does yet.
    pub(crate) fn find(
        &self,
        prefix: &[u8],
        txid: &str,
        from: u64,
    ) -> Result<Option<Landed>, String> {
        let mut from = from;
        for _ in 0..MAX_PAGES {
            let page = self.call("listdataoutputs", json!([hex::encode(prefix), from]))?;
            let outputs = page.get("outputs").and_then(Value::as_array);
            for o in outputs.into_iter().flatten() {
                if o.get("txid").and_then(Value::as_str) == Some(txid) {
                    let height = o.get("height").and_then(Value::as_u64);
                    let block = o.get("blockhash").and_then(Value::as_str);
                    if let (Some(height), Some(block)) = (height, block) {
                        return Ok(Some(Landed {
                            height,
                            block: block.to_owned(),
                        }));
                    }
                }
            }
            let next = page.get("next").and_then(Value::as_u64).unwrap_or(from);
            if page.get("complete").and_then(Value::as_bool) != Some(false) || next <= from {
                return Ok(None);
            }
            from = next;
        }
        Ok(None)
    }
}

/// The `wallet` binary and the wallet directory that pays for anchors.
pub(crate) struct Wallet {
    pub(crate) binary: PathBuf,
    pub(crate) dir: PathBuf,
}

impl Wallet {
    /// Has the wallet publish `data` in a transaction through the node at `url`
    /// (cookie `cookie`, network `network`); the txid, or the wallet's own words.
    pub(crate) fn publish(
        &self,
        data: &[u8],
        network: &str,
        url: &str,
        cookie: &Path,
    ) -> Result<String, String> {
        let out = Command::new(&self.binary)
            .arg("--json")
            .arg("publish")
            .arg("--network")
            .arg(network)
            .arg("--wallet")
            .arg(&self.dir)
            .arg("--rpc")
            .arg(url)
            .arg("--rpc-cookie")
            .arg(cookie)
            .arg("--data-hex")
            .arg(hex::encode(data))
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| {
                format!(
                    "cannot run the wallet binary {}: {e} (put `wallet` next to merkle-log or \
                     on PATH)",
                    self.binary.display()
                )
            })?;
        let answer: Value = serde_json::from_slice(&out.stdout).map_err(|_| {
            format!(
                "the wallet ({}) said: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
        match answer.get("txid").and_then(Value::as_str) {
            Some(txid) if out.status.success() => Ok(txid.to_owned()),
            _ => Err(answer
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no txid in its answer")
                .to_owned()),
        }
    }
}
