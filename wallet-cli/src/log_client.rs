//! Reading a tiled transparency log over HTTP, trusting nothing it serves: every
//! checkpoint is verified against the caller's keys, and every proof is computed
//! here from tiles and checked against signed roots.

use base64::Engine as _;
use merkle_log::note::VerifierKey;
use merkle_log::tiles::{TILE_WIDTH, decode_bundle};
use merkle_log::tree_math::ProofPlan;
use merkle_log::{
    Checkpoint, FetchedTiles, Hash, MAX_CHECKPOINT_LEN, NodeStore as _, Policy, TileId,
    TileNodeStore, tiles_for_nodes,
};

use crate::http::Client;

/// A hash tile is at most 256 hashes.
const MAX_TILE: u64 = 256 * 32;
/// An entry bundle is at most 256 entries of 64 KiB with their length prefixes.
const MAX_BUNDLE: u64 = 256 * (2 + 65_535);
/// JSON answers (proofs, entries) stay small.
const MAX_JSON: u64 = 4 << 20;

/// What went wrong reading from the log.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The log could not be reached or answered with an error status.
    #[error("{0}")]
    Transport(String),
    /// The log served something that does not verify or does not parse.
    #[error("{0}")]
    Invalid(String),
}

/// A log at a base URL.
pub struct LogClient {
    base: String,
    http: Client,
}

/// What an auditor trusts: log keys, and optionally a witness policy.
#[derive(Debug, Clone)]
pub struct Trust {
    /// Log keys given directly (the policy's `log` lines add more).
    pub keys: Vec<VerifierKey>,
    /// The witness policy whose quorum every checkpoint must meet.
    pub policy: Option<Policy>,
}

impl Trust {
    /// Every log key: the ones given and the policy's.
    pub fn log_keys(&self) -> Vec<VerifierKey> {
        let from_policy = self
            .policy
            .iter()
            .flat_map(|p| p.logs().iter().map(|l| &l.key));
        self.keys.iter().chain(from_policy).cloned().collect()
    }
}

/// The witnesses whose cosignatures met a policy's quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The quorum's name.
    pub quorum: String,
    /// The policy's witnesses whose cosignature verified, with the time each carries.
    pub by: Vec<(String, u64)>,
}

/// A checkpoint whose signature verified under a key named like its origin (and,
/// with a policy, whose cosignatures met its quorum).
#[derive(Debug, Clone)]
pub struct VerifiedCheckpoint {
    /// The parsed checkpoint.
    pub checkpoint: Checkpoint,
    /// The signed note as served.
    pub note: String,
    /// With a policy: who cosigned it.
    pub cosigned: Option<Cosigned>,
}

impl LogClient {
    /// A client for the log whose tiles and checkpoint are under `base`.
    pub fn new(base: &str) -> Self {
        LogClient {
            base: base.trim_end_matches('/').to_string(),
            http: Client::default(),
        }
    }

    fn get(&self, path: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        let url = format!("{}/{}", self.base, path);
        let resp = self
            .http
            .get(&url, limit)
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        if resp.status != 200 {
            let reason = String::from_utf8_lossy(&resp.body);
            let reason: String = reason.chars().take(200).collect();
            return Err(FetchError::Transport(format!(
                "{url} answered HTTP {}: {}",
                resp.status,
                reason.trim()
            )));
        }
        Ok(resp.body)
    }

    /// Fetches the checkpoint and verifies it: a signature by one of the trusted
    /// log keys whose name is the checkpoint's origin, and, with a policy,
    /// cosignatures that meet its quorum.
    ///
    /// # Errors
    /// [`FetchError::Invalid`] when no such signature verifies.
    pub fn checkpoint(&self, trust: &Trust) -> Result<VerifiedCheckpoint, FetchError> {
        let body = self.get("checkpoint", MAX_CHECKPOINT_LEN as u64)?;
        let note = String::from_utf8(body)
            .map_err(|_| FetchError::Invalid("the checkpoint is not UTF-8".into()))?;
        verify_checkpoint(&note, trust).map_err(FetchError::Invalid)
    }

    /// Builds the proof a plan describes for the tree of `size` leaves, from the
    /// hash tiles it needs.
    ///
    /// # Errors
    /// When a tile cannot be fetched or is malformed.
    pub fn proof(&self, size: u64, plan: &ProofPlan) -> Result<Vec<Hash>, FetchError> {
        let mut tiles = FetchedTiles::new();
        for tile in tiles_for_nodes(size, plan.nodes()) {
            let bytes = self.tile(tile)?;
            tiles
                .insert_bytes(tile, &bytes)
                .map_err(|e| FetchError::Invalid(format!("tile {}: {e}", tile.path())))?;
        }
        let store = TileNodeStore::new(size, tiles);
        let mut hashes = Vec::with_capacity(plan.nodes().len());
        store
            .get_nodes(plan.nodes(), &mut hashes)
            .map_err(|e| FetchError::Invalid(e.to_string()))?;
        plan.assemble(&hashes)
            .ok_or_else(|| FetchError::Invalid("tiles did not cover the proof".into()))
    }

    /// Fetches a hash tile's bytes.
    ///
    /// # Errors
    /// When it cannot be fetched.
    pub fn tile(&self, tile: TileId) -> Result<Vec<u8>, FetchError> {
        self.get(&tile.path(), MAX_TILE)
    }

    /// Fetches the entries of level-0 tile `index` in a tree of `size` leaves.
    ///
    /// # Errors
    /// When the bundle cannot be fetched or does not hold the tile's width.
    pub fn entries(&self, index: u64, size: u64) -> Result<Vec<Vec<u8>>, FetchError> {
        let tile = TileId::at_size(0, index, size).ok_or_else(|| {
            FetchError::Invalid(format!("no entry bundle {index} in a tree of {size}"))
        })?;
        let bytes = self.get(&tile.entries_path(), MAX_BUNDLE)?;
        let entries = decode_bundle(&bytes, tile.width)
            .map_err(|e| FetchError::Invalid(format!("{}: {e}", tile.entries_path())))?;
        Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
    }

    /// The entry at `index` of a tree of `size` leaves.
    ///
    /// # Errors
    /// When its bundle cannot be fetched.
    pub fn entry(&self, index: u64, size: u64) -> Result<Vec<u8>, FetchError> {
        let bundle = self.entries(index / TILE_WIDTH, size)?;
        usize::try_from(index % TILE_WIDTH)
            .ok()
            .and_then(|i| bundle.into_iter().nth(i))
            .ok_or_else(|| FetchError::Invalid(format!("bundle lacks entry {index}")))
    }

    /// Asks the log for the index and audit path of a leaf hash (RFC 6962
    /// `get-proof-by-hash`).
    ///
    /// # Errors
    /// When the log does not know the hash or answers malformed JSON.
    pub fn proof_by_hash(&self, leaf: &Hash, size: u64) -> Result<(u64, Vec<Hash>), FetchError> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(leaf.as_bytes());
        let query = b64
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        let body = self.get(
            &format!("ct/v1/get-proof-by-hash?hash={query}&tree_size={size}"),
            MAX_JSON,
        )?;
        let bad = |why: &str| FetchError::Invalid(format!("get-proof-by-hash: {why}"));
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|_| bad("not JSON"))?;
        let index = v
            .get("leaf_index")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| bad("no leaf_index"))?;
        let path = v
            .get("audit_path")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| bad("no audit_path"))?
            .iter()
            .take(merkle_log::MAX_PROOF_LEN + 1)
            .map(|h| h.as_str().and_then(|s| s.parse().ok()))
            .collect::<Option<Vec<Hash>>>()
            .ok_or_else(|| bad("audit_path holds a malformed hash"))?;
        Ok((index, path))
    }
}

/// Verifies a signed checkpoint note: some trusted log key named as the origin
/// must have signed it, and, with a policy, the cosignatures of its witnesses must
/// meet its quorum (under the signed-note rules: a failing signature by a known
/// key rejects the note, signatures by unknown keys are ignored).
///
/// # Errors
/// A message saying what failed.
pub fn verify_checkpoint(note: &str, trust: &Trust) -> Result<VerifiedCheckpoint, String> {
    if let Some(policy) = &trust.policy {
        let w = policy
            .verify_checkpoint(note, &trust.keys)
            .map_err(|e| format!("checkpoint under the witness policy: {e}"))?;
        return Ok(VerifiedCheckpoint {
            checkpoint: w.checkpoint,
            note: note.to_string(),
            cosigned: Some(Cosigned {
                quorum: policy.quorum_name().to_owned(),
                by: w.cosigned_by,
            }),
        });
    }
    let keys = &trust.keys;
    let (checkpoint, verified) =
        Checkpoint::from_signed_note(note, keys).map_err(|e| e.to_string())?;
    let by_origin = verified
        .verified
        .iter()
        .any(|v| v.key.name().as_str() == checkpoint.origin());
    if !by_origin {
        return Err(format!(
            "no verified signature by a key named {:?}, the checkpoint's origin",
            checkpoint.origin()
        ));
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        note: note.to_string(),
        cosigned: None,
    })
}
