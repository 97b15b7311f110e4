//! The log's blocking side of witnessing: asking one witness to cosign (the
//! request with its consistency proof, over HTTP), and the tile reads around it.

use std::time::Duration;

use crate::error::WitnessingError;
use crate::receipt::Receipt;
use crate::storage::DataDir;
use crate::tile_store::{CachedTiles, TileNodeStore};
use crate::tlog_witness::{AddCheckpoint, MAX_WITNESS_ANSWER_LEN};
use crate::tree::Tree;

/// A witness's answer: status, whether it is typed `text/x.tlog.size`, body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) size_typed: bool,
    pub(crate) body: Vec<u8>,
}

/// An HTTP client for witnesses: one agent (connections kept alive), every request
/// bounded in time, every answer in size.
#[derive(Clone)]
pub(crate) struct Client {
    agent: ureq::Agent,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Client")
    }
}

impl Client {
    pub(crate) fn new(timeout: Duration) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// POSTs an `add-checkpoint` body to the witness whose submission prefix is
    /// `prefix`.
    pub(crate) fn add_checkpoint(&self, prefix: &str, body: &str) -> Result<Answer, String> {
        let url = format!("{}/add-checkpoint", prefix.trim_end_matches('/'));
        let mut resp = self
            .agent
            .post(&url)
            .header("Content-Type", "text/plain; charset=utf-8")
            .send(body)
            .map_err(|e| format!("{url}: {e}"))?;
        let size_typed = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == crate::tlog_witness::TLOG_SIZE_CONTENT_TYPE);
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_WITNESS_ANSWER_LEN as u64)
            .read_to_vec()
            .map_err(|e| format!("{url}: {e}"))?;
        Ok(Answer {
            status,
            size_typed,
            body,
        })
    }
}

/// The `add-checkpoint` body for the signed checkpoint `note` of `size` leaves,
/// with the proof from `old` (read from the tiles of the tree of `size`).
pub(crate) fn request_body(
    dir: &DataDir,
    old: u64,
    size: u64,
    note: &str,
) -> Result<String, WitnessingError> {
    let proof = if old == 0 {
        // The proof from the empty tree is empty.
        Vec::new()
    } else {
        let tree = Tree::open(size, TileNodeStore::new(size, dir.tiles(size)))
            .map_err(|e| WitnessingError::Proof(format!("{e:#}")))?;
        tree.consistency_proof(old, size)
            .map_err(|e| WitnessingError::Proof(format!("{e:#}")))?
    };
    Ok(AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: note.to_owned(),
    }
    .encode())
}

/// Receipts for the entries at `indices` against the published checkpoint
/// `note` of `size` leaves, reading each tile at most once.
pub(crate) fn receipts(
    dir: &DataDir,
    size: u64,
    note: &str,
    indices: &[u64],
) -> Vec<Result<String, WitnessingError>> {
    let tree = match Tree::open(
        size,
        TileNodeStore::new(size, CachedTiles::new(dir.tiles(size))),
    ) {
        Ok(t) => t,
        Err(e) => {
            let e = format!("{e:#}");
            return indices
                .iter()
                .map(|_| Err(WitnessingError::Proof(e.clone())))
                .collect();
        }
    };
    indices
        .iter()
        .map(|&index| {
            let proof = tree
                .inclusion_proof(index, size)
                .map_err(|e| WitnessingError::Proof(format!("{e:#}")))?;
            Ok(Receipt {
                extra: None,
                index,
                proof,
                checkpoint: note.to_owned(),
            }
            .encode())
        })
        .collect()
}
