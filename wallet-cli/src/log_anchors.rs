//! `wallet log audit --chain-rpc`: every anchor of the log on the chain
//! (docs/anchoring.md), found through the node's `listdataoutputs`, verified with the
//! log's own key, and checked against the checkpoint the log serves both ways: an
//! older anchor must be a prefix of the served tree (a consistency proof from the
//! log's tiles), a newer or equal one must not be ahead of it or differ from it.
//!
//! Nothing here trusts the node or the log's `/anchors` list: an anchor counts only
//! when the log's signature over its checkpoint verifies, so whoever paid for it and
//! whatever the node says, it is a checkpoint the log signed.

use merkle_log::anchor::ANCHOR_MAGIC;
use merkle_log::note::VerifierKey;
use merkle_log::tree_math::consistency_plan;
use merkle_log::{Anchor, Hash, verify_consistency};
use serde_json::{Value, json};

use crate::log_client::{FetchError, LogClient};
use crate::output::{Failure, Outcome, failed};
use crate::rpc::{RpcClient, RpcError};

/// How many times a scan starts again when the chain reorganises under it.
const SCAN_ATTEMPTS: usize = 3;
/// Most pages one scan reads (a million blocks at the node's default page).
const MAX_PAGES: usize = 1_000_000;

/// One anchor of the log, verified, and where it is.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    /// The block's height.
    pub(crate) height: u64,
    /// The block's hash, as the node wrote it.
    pub(crate) block: String,
    /// The transaction and output.
    pub(crate) txid: String,
    pub(crate) vout: u64,
    /// The anchored checkpoint.
    pub(crate) size: u64,
    pub(crate) root: Hash,
}

impl Found {
    fn block_text(&self) -> String {
        format!("block {} (height {})", self.block, self.height)
    }

    fn json(&self) -> Value {
        json!({
            "height": self.height,
            "block": self.block,
            "txid": self.txid,
            "vout": self.vout,
            "tree_size": self.size,
            "root": self.root.to_hex(),
        })
    }
}

/// What a scan of the chain found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// The log's anchors, in chain order.
    pub(crate) anchors: Vec<Found>,
    /// Outputs with the anchor prefix that were skipped, and why.
    pub(crate) warnings: Vec<String>,
    /// Anchors of other logs (other key IDs), ignored.
    pub(crate) other_logs: u64,
    /// The tip the scan reached.
    pub(crate) tip_height: u64,
    pub(crate) tip_hash: String,
}

/// The chain node's errors, with the flags of this command.
fn chain_failure(url: &str, e: RpcError) -> Failure {
    match e {
        RpcError::Unreachable(e) => failed(format!(
            "cannot reach the chain node at {url} ({e}): start chain-node (or `wallet testnet up`) \
             and pass its RPC URL with --chain-rpc and its cookie file with --chain-cookie"
        )),
        RpcError::Cookie { path, source } => failed(format!(
            "cannot read the chain node's cookie file {}: {source}: pass the cookie of the node \
             at --chain-rpc with --chain-cookie FILE (DATA_DIR/.cookie)",
            path.display()
        )),
        RpcError::Unauthorized { .. } => failed(format!(
            "the chain node at {url} refused the credentials: pass its own cookie file with \
             --chain-cookie"
        )),
        RpcError::Node { code: -32601, .. } => failed(format!(
            "the chain node at {url} has no listdataoutputs method: it is older than anchoring; \
             upgrade it"
        )),
        e => failed(format!("chain node at {url}: {e}")),
    }
}

fn answer_error(url: &str, what: &str) -> Failure {
    failed(format!(
        "the chain node at {url} gave an impossible listdataoutputs answer: {what}"
    ))
}

/// Finds every anchor on the chain of the node at `url` made with one of `keys`.
///
/// # Errors
/// A [`Failure`] (exit 1) when the node cannot be reached or answers what cannot
/// be true, or the chain keeps reorganising under the scan.
pub(crate) fn scan(
    url: &str,
    cookie: &std::path::Path,
    keys: &[VerifierKey],
) -> Result<Scan, Failure> {
    let rpc = RpcClient::new(url, cookie).map_err(|e| chain_failure(url, e))?;
    for _ in 0..SCAN_ATTEMPTS {
        if let Some(scan) = scan_once(&rpc, url, keys)? {
            return Ok(scan);
        }
    }
    Err(failed(format!(
        "the chain at {url} reorganised during each of {SCAN_ATTEMPTS} scans; try again"
    )))
}

/// One scan from the genesis block; `None` when the chain reorganised under it.
fn scan_once(rpc: &RpcClient, url: &str, keys: &[VerifierKey]) -> Result<Option<Scan>, Failure> {
    let mut scan = Scan::default();
    let mut from = 0u64;
    let mut last: Option<String> = None;
    let prefix = hex::encode(ANCHOR_MAGIC);
    for _ in 0..MAX_PAGES {
        let page = rpc
            .call("listdataoutputs", json!([prefix, from]))
            .map_err(|e| chain_failure(url, e))?;
        if page.get("from").and_then(Value::as_u64) != Some(from) {
            return Err(answer_error(url, "a page that does not start where asked"));
        }
        let prev = page
            .get("prevhash")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if prev != last {
            return Ok(None);
        }
        let outputs = page
            .get("outputs")
            .and_then(Value::as_array)
            .ok_or_else(|| answer_error(url, "no list of outputs"))?;
        for o in outputs {
            read_output(o, keys, &mut scan).map_err(|w| answer_error(url, w))?;
        }
        let next = page
            .get("next")
            .and_then(Value::as_u64)
            .filter(|&n| n >= from)
            .ok_or_else(|| answer_error(url, "no next height"))?;
        let complete = page.get("complete").and_then(Value::as_bool) == Some(true);
        if complete {
            scan.tip_height = page.get("tipheight").and_then(Value::as_u64).unwrap_or(0);
            scan.tip_hash = page
                .get("tiphash")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            return Ok(Some(scan));
        }
        if next == from {
            return Err(answer_error(url, "a page that scanned no block"));
        }
        last = page
            .get("lasthash")
            .and_then(Value::as_str)
            .map(str::to_owned);
        from = next;
    }
    Err(answer_error(url, "more pages than any chain has"))
}

/// Takes one listed output: an anchor of the log, of another log, or a warning.
fn read_output(o: &Value, keys: &[VerifierKey], scan: &mut Scan) -> Result<(), &'static str> {
    let height = o
        .get("height")
        .and_then(Value::as_u64)
        .ok_or("an output without a height")?;
    let block = o
        .get("blockhash")
        .and_then(Value::as_str)
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or("an output without a block hash")?;
    let txid = o
        .get("txid")
        .and_then(Value::as_str)
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or("an output without a txid")?;
    let vout = o
        .get("vout")
        .and_then(Value::as_u64)
        .ok_or("an output without vout")?;
    let data = o
        .get("data")
        .and_then(Value::as_str)
        .and_then(|d| hex::decode(d).ok())
        .ok_or("an output whose data is not hex")?;
    let place = format!("data output {txid}:{vout} in block {block} (height {height})");
    let anchor = match Anchor::decode(&data) {
        Ok(a) => a,
        Err(e) => {
            scan.warnings
                .push(format!("{place} is not a readable anchor ({e}); skipped"));
            return Ok(());
        }
    };
    let Some(key) = keys.iter().find(|k| k.id() == anchor.key_id) else {
        scan.other_logs += 1;
        return Ok(());
    };
    match anchor.verify(key) {
        Ok(cp) => scan.anchors.push(Found {
            height,
            block: block.to_owned(),
            txid: txid.to_owned(),
            vout,
            size: cp.size(),
            root: cp.root(),
        }),
        Err(e) => scan.warnings.push(format!(
            "{place} names this log's key ID but is not its signature ({e}); skipped"
        )),
    }
    Ok(())
}

/// Checks the served head (`size`, `root`) of `origin` against every anchor: an
/// anchor ahead of it is a rollback, one at its size with another root or one
/// behind it that its tree does not extend is a split view (exit 3).
///
/// # Errors
/// [`Outcome::Inconsistent`] naming the anchor's block and both heads; exit 1 when
/// a proof cannot be fetched.
pub(crate) fn check(
    client: &LogClient,
    origin: &str,
    size: u64,
    root: &Hash,
    anchors: &[Found],
) -> Result<(), Failure> {
    let served = format!("size {size} root {}", root.to_hex());
    let mut checked: Vec<(u64, Hash)> = Vec::new();
    for a in anchors {
        if checked.contains(&(a.size, a.root)) {
            continue;
        }
        let anchored = format!("size {} root {}", a.size, a.root.to_hex());
        if a.size > size {
            return Err((
                Outcome::Inconsistent,
                format!(
                    "rollback: {} anchors {origin} at {anchored}, but the log now serves {served}, \
                     a smaller tree",
                    a.block_text()
                ),
            ));
        }
        let split = |why: String| {
            (
                Outcome::Inconsistent,
                format!(
                    "split view: {} anchors {origin} at {anchored}, but the log serves {served}, \
                     which does not extend it: {why}",
                    a.block_text()
                ),
            )
        };
        if a.size == size {
            if !a.root.ct_eq(root) {
                return Err(split("same size, another root".into()));
            }
        } else if a.size > 0 {
            let plan = consistency_plan(a.size, size).map_err(|e| split(e.to_string()))?;
            let proof = client.proof(size, &plan).map_err(|e| match e {
                FetchError::Transport(m) => failed(format!(
                    "fetching the consistency proof from the anchored size {}: {m}",
                    a.size
                )),
                FetchError::Invalid(m) => split(m),
            })?;
            verify_consistency(a.size, size, &a.root, root, &proof)
                .map_err(|e| split(e.to_string()))?;
        }
        checked.push((a.size, a.root));
    }
    Ok(())
}

/// The JSON fields of a scan that passed.
pub(crate) fn fields(scan: &Scan) -> Value {
    json!({
        "anchors": scan.anchors.iter().map(Found::json).collect::<Vec<_>>(),
        "other_logs": scan.other_logs,
        "warnings": scan.warnings,
        "chain_tip": {"height": scan.tip_height, "hash": scan.tip_hash},
    })
}

/// The text after the audit's line for a scan that passed.
pub(crate) fn text(scan: &Scan) -> String {
    let mut s = match scan.anchors.last() {
        Some(newest) => format!(
            "; consistent with {} on the chain (newest: size {} in block {})",
            crate::output::count(scan.anchors.len() as u64, "anchor", "anchors"),
            newest.size,
            newest.block
        ),
        None => format!(
            "; no anchor of this log on the chain up to height {}",
            scan.tip_height
        ),
    };
    for w in &scan.warnings {
        s.push_str("\nwarning: ");
        s.push_str(w);
    }
    s
}
