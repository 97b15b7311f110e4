//! `wallet log checkpoint | prove | audit | verify-receipt | verify-note | verify-sth`:
//! auditing a transparency log, online and offline.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use indicatif::{ProgressBar, ProgressStyle};
use merkle_log::note::{Rfc6962Key, VerifierKey};
use merkle_log::policy::MAX_POLICY_LEN;
use merkle_log::tiles::{TILE_WIDTH, tiles_for_size};
use merkle_log::tree_math::{consistency_plan, inclusion_plan};
use merkle_log::{
    CompactRange, Hash, MAX_RECEIPT_LEN, NodeId, NodeSink, Policy, QuorumError, TileId,
    verify_consistency, verify_inclusion, verify_note, verify_receipt,
};
use serde_json::json;

use crate::audit_state::{AuditState, StoredHead};
use crate::cli::{
    AuditArgs, ProveArgs, RemoteLogArgs, VerifyNoteArgs, VerifyReceiptArgs, VerifySthArgs,
};
use crate::fsutil::write_atomic;
use crate::log_anchors;
use crate::log_client::{
    Cosigned, FetchError, LogClient, Trust, VerifiedCheckpoint, verify_checkpoint,
};
use crate::output::{Failure, Outcome, Report, bad, count, invalid};

/// The largest note, STH or key file read.
const MAX_SMALL_FILE: u64 = 128 * 1024;

fn from_fetch(e: FetchError) -> Failure {
    match e {
        FetchError::Transport(m) => (Outcome::Failed, m),
        FetchError::Invalid(m) => (Outcome::Invalid, m),
    }
}

/// Reads a file of at most `limit` bytes.
fn read_file(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, Failure> {
    let meta = fs::metadata(path).map_err(|e| bad(format!("{what} {}: {e}", path.display())))?;
    if meta.len() > limit {
        return Err(bad(format!(
            "{what} {} is {} bytes, more than the {limit} allowed",
            path.display(),
            meta.len()
        )));
    }
    fs::read(path).map_err(|e| bad(format!("{what} {}: {e}", path.display())))
}

/// Reads an entry file. A log entry is 1 to 65535 bytes: a file outside that is
/// refused with the same words whether it is empty or too long.
fn read_entry(path: &Path) -> Result<Vec<u8>, Failure> {
    let max = merkle_log::tiles::MAX_ENTRY_LEN;
    let refuse = |len: u64| {
        bad(format!(
            "entry file {} is {len} bytes; a log entry is 1 to {max} bytes",
            path.display()
        ))
    };
    let len = fs::metadata(path)
        .map_err(|e| bad(format!("entry file {}: {e}", path.display())))?
        .len();
    if len == 0 || len > max as u64 {
        return Err(refuse(len));
    }
    let entry = fs::read(path).map_err(|e| bad(format!("entry file {}: {e}", path.display())))?;
    if entry.is_empty() || entry.len() > max {
        return Err(refuse(entry.len() as u64));
    }
    Ok(entry)
}

fn read_text(path: &Path, what: &str) -> Result<String, Failure> {
    String::from_utf8(read_file(path, MAX_SMALL_FILE, what)?)
        .map_err(|_| bad(format!("{what} {} is not UTF-8 text", path.display())))
}

/// Reads `--vkey` values and `--policy`: the log keys and the witness policy.
fn load_trust(values: &[String], policy: Option<&Path>) -> Result<Trust, Failure> {
    let keys = read_keys(values)?;
    let policy = policy.map(load_policy).transpose()?;
    let trust = Trust { keys, policy };
    if trust.log_keys().is_empty() {
        return Err(bad(
            "give the log's verifier key with --vkey, or a policy with a log line",
        ));
    }
    Ok(trust)
}

/// Reads a tlog-policy file.
fn load_policy(path: &Path) -> Result<Policy, Failure> {
    let text = String::from_utf8(read_file(path, MAX_POLICY_LEN as u64, "policy file")?)
        .map_err(|_| bad(format!("policy file {} is not UTF-8 text", path.display())))?;
    Policy::parse(&text).map_err(|e| bad(format!("policy file {}: {e}", path.display())))
}

/// Reads `--vkey` values: each a verifier key, or a file holding one key per line.
fn read_keys(values: &[String]) -> Result<Vec<VerifierKey>, Failure> {
    let mut keys = Vec::new();
    for v in values {
        let path = Path::new(v);
        let texts: Vec<String> = if !v.contains('+') && path.is_file() {
            read_text(path, "key file")?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        } else {
            vec![v.clone()]
        };
        for t in texts {
            let key: VerifierKey = t
                .parse()
                .map_err(|e| bad(format!("--vkey {t:?}: {e} (expected name+hex8+base64)")))?;
            keys.push(key);
        }
    }
    Ok(keys)
}

fn checkpoint_fields(v: &VerifiedCheckpoint) -> serde_json::Map<String, serde_json::Value> {
    let cp = &v.checkpoint;
    let mut m = serde_json::Map::new();
    m.insert("origin".into(), json!(cp.origin()));
    m.insert("tree_size".into(), json!(cp.size()));
    m.insert("root".into(), json!(cp.root().to_hex()));
    m.insert("root_b64".into(), json!(cp.root().to_base64()));
    if let Some(c) = &v.cosigned {
        cosigned_fields(&mut m, c);
    }
    m
}

/// The witnesses that cosigned, as JSON fields.
fn cosigned_fields(m: &mut serde_json::Map<String, serde_json::Value>, c: &Cosigned) {
    let by: Vec<serde_json::Value> =
        c.by.iter()
            .map(|(name, time)| json!({"witness": name, "timestamp": time}))
            .collect();
    m.insert("quorum".into(), json!(c.quorum));
    m.insert("cosigned_by".into(), json!(by));
}

/// `; cosigned by w1, w2 (quorum q)` after a line, when a policy was checked.
fn cosigned_text(c: Option<&Cosigned>) -> String {
    c.map(|c| {
        let names: Vec<&str> = c.by.iter().map(|(n, _)| n.as_str()).collect();
        let names = if names.is_empty() {
            "no witness".to_owned()
        } else {
            names.join(", ")
        };
        format!("; cosigned by {names} (quorum {})", c.quorum)
    })
    .unwrap_or_default()
}

/// `wallet log checkpoint`.
pub(crate) fn checkpoint(args: &RemoteLogArgs) -> Result<Report, Failure> {
    let trust = load_trust(&args.vkey, args.policy.as_deref())?;
    let v = LogClient::new(&args.log)
        .checkpoint(&trust)
        .map_err(from_fetch)?;
    let cp = &v.checkpoint;
    Ok(Report::ok(
        format!(
            "ok origin {} size {} root {}{}",
            cp.origin(),
            cp.size(),
            cp.root(),
            cosigned_text(v.cosigned.as_ref())
        ),
        checkpoint_fields(&v).into(),
    ))
}

/// `wallet log prove`.
pub(crate) fn prove(args: &ProveArgs) -> Result<Report, Failure> {
    let trust = load_trust(&args.remote.vkey, args.remote.policy.as_deref())?;
    let client = LogClient::new(&args.remote.log);
    let v = client.checkpoint(&trust).map_err(from_fetch)?;
    let (size, root) = (v.checkpoint.size(), v.checkpoint.root());
    let (index, leaf, proof) = match (args.index, &args.entry_file) {
        (Some(index), None) => {
            if index >= size {
                return Err(bad(format!(
                    "index {index} is beyond the log's verified size {size}"
                )));
            }
            let entry = client.entry(index, size).map_err(from_fetch)?;
            let proof = client
                .proof(
                    size,
                    &inclusion_plan(index, size).map_err(|e| bad(e.to_string()))?,
                )
                .map_err(from_fetch)?;
            (index, Hash::leaf(&entry), proof)
        }
        (None, Some(file)) => {
            let entry = read_entry(file)?;
            let leaf = Hash::leaf(&entry);
            let (index, proof) = client.proof_by_hash(&leaf, size).map_err(from_fetch)?;
            (index, leaf, proof)
        }
        _ => return Err(bad("give exactly one of --index I or --entry-file F")),
    };
    verify_inclusion(&leaf, index, size, &proof, &root)
        .map_err(|e| invalid(format!("inclusion proof for entry {index}: {e}")))?;
    let mut fields = checkpoint_fields(&v);
    fields.insert("leaf_index".into(), json!(index));
    fields.insert("leaf_hash".into(), json!(leaf.to_hex()));
    Ok(Report::ok(
        format!(
            "ok entry {index} (leaf {leaf}) is in {} at size {size}, root {root}{}",
            v.checkpoint.origin(),
            cosigned_text(v.cosigned.as_ref())
        ),
        fields.into(),
    ))
}

fn load_state(path: &Path) -> Result<AuditState, Failure> {
    if !path.exists() {
        return Ok(AuditState::default());
    }
    let text = read_text(path, "state file")?;
    AuditState::parse(&text).map_err(|e| bad(format!("state file {}: {e:#}", path.display())))
}

/// Writes the state atomically and durably.
fn save_state(path: &Path, state: &AuditState) -> Result<(), Failure> {
    let text = state
        .to_text()
        .map_err(|e| (Outcome::Failed, e.to_string()))?;
    write_atomic(path, text.as_bytes(), 0o644)
        .map_err(|(action, e)| (Outcome::Failed, format!("{action} {}: {e}", path.display())))
}

fn inconsistent(msg: String) -> Failure {
    (Outcome::Inconsistent, msg)
}

/// `wallet log audit`: one monitoring step.
pub(crate) fn audit(args: &AuditArgs) -> Result<Report, Failure> {
    let trust = load_trust(&args.remote.vkey, args.remote.policy.as_deref())?;
    let mut state = load_state(&args.state)?;
    let client = LogClient::new(&args.remote.log);
    let v = client.checkpoint(&trust).map_err(from_fetch)?;
    let cp = &v.checkpoint;
    let (new_size, new_root) = (cp.size(), cp.root());
    let head = |size: u64, root: &str| format!("size {size} root {root}");

    let previous = state.head(cp.origin()).cloned();
    if let Some(old) = &previous {
        let old_root = old
            .root_hash()
            .map_err(|e| bad(format!("state file: stored root: {e}")))?;
        let old_head = head(old.size, &old.root);
        let new_head = head(new_size, &new_root.to_hex());
        if new_size < old.size {
            return Err(inconsistent(format!(
                "log {} shrank: it showed {old_head} before and now shows {new_head}",
                cp.origin()
            )));
        }
        let proof = client
            .proof(
                new_size,
                &consistency_plan(old.size, new_size).map_err(|e| inconsistent(e.to_string()))?,
            )
            .map_err(from_fetch)?;
        verify_consistency(old.size, new_size, &old_root, &new_root, &proof).map_err(|e| {
            inconsistent(format!(
                "log {} is inconsistent with its own past: {old_head} before, {new_head} now: {e}",
                cp.origin()
            ))
        })?;
    }
    let full = if args.full {
        Some(full_check(&client, &v)?)
    } else {
        None
    };
    let anchored = match (&args.chain_rpc, &args.chain_cookie) {
        (Some(url), Some(cookie)) => {
            let keys: Vec<_> = trust
                .log_keys()
                .into_iter()
                .filter(|k| k.name().as_str() == cp.origin())
                .collect();
            let scan = log_anchors::scan(url, cookie, &keys)?;
            log_anchors::check(&client, cp.origin(), new_size, &new_root, &scan.anchors)?;
            Some(scan)
        }
        _ => None,
    };
    state.record(
        cp.origin(),
        StoredHead {
            size: new_size,
            root: new_root.to_hex(),
            checkpoint: v.note.clone(),
        },
    );
    save_state(&args.state, &state)?;

    let mut fields = checkpoint_fields(&v);
    fields.insert(
        "previous_size".into(),
        json!(previous.as_ref().map(|p| p.size)),
    );
    fields.insert("full".into(), json!(args.full));
    if let Some(f) = &full {
        fields.insert(
            "recomputed".into(),
            json!({
                "entries": f.entries,
                "entry_bundles": f.bundles,
                "hash_tiles": f.tiles,
                "root": f.root.to_hex(),
            }),
        );
    }
    let cosigned = cosigned_text(v.cosigned.as_ref());
    let mut line = match &previous {
        Some(p) if p.size == new_size => format!(
            "ok {} unchanged at size {new_size}, root {new_root}",
            cp.origin()
        ),
        Some(p) => format!(
            "ok {} grew consistently from size {} to {new_size}, root {new_root}",
            cp.origin(),
            p.size
        ),
        None => format!(
            "ok {} first seen at size {new_size}, root {new_root}; state saved",
            cp.origin()
        ),
    };
    if let Some(f) = &full {
        line.push_str(&format!(
            "; full check: recomputed root {} from {} in {}, and {} match it",
            f.root,
            count(f.entries, "entry", "entries"),
            count(f.bundles, "entry bundle", "entry bundles"),
            count(f.tiles, "hash tile", "hash tiles"),
        ));
    }
    line.push_str(&cosigned);
    if let Some(scan) = &anchored {
        line.push_str(&log_anchors::text(scan));
        fields.insert("chain".into(), log_anchors::fields(scan));
    }
    Ok(Report::ok(line, fields.into()))
}

/// Collects the hashes of tree levels 8, 16, ... as the recomputed tree completes
/// them, to compare with the log's upper tiles.
#[derive(Default)]
struct UpperNodes(BTreeMap<(u8, u64), Hash>);

impl NodeSink for UpperNodes {
    fn put_node(&mut self, id: NodeId, hash: Hash) {
        if id.level > 0 && id.level.is_multiple_of(8) {
            self.0.insert((id.level, id.index), hash);
        }
    }
}

/// What a full check recomputed.
struct FullCheck {
    /// Entries downloaded and hashed.
    entries: u64,
    /// Entry bundles downloaded.
    bundles: u64,
    /// Hash tiles (every level) compared with the recomputed tree.
    tiles: u64,
    /// The root recomputed from the entries (equal to the checkpoint's).
    root: Hash,
}

/// Downloads every entry bundle and hash tile of the verified tree, recomputes the
/// root from the entries, and compares every served tile hash with the recomputed
/// one.
fn full_check(client: &LogClient, v: &VerifiedCheckpoint) -> Result<FullCheck, Failure> {
    let size = v.checkpoint.size();
    let bundles = size.div_ceil(TILE_WIDTH);
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} entries ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("recomputing");
    let mut range = CompactRange::new();
    let mut upper = UpperNodes::default();
    for b in 0..bundles {
        let entries = client.entries(b, size).map_err(from_fetch)?;
        let tile = TileId::at_size(0, b, size)
            .ok_or_else(|| invalid(format!("no level-0 tile {b} at size {size}")))?;
        let served = merkle_log::tiles::decode_hash_tile(
            &client.tile(tile).map_err(from_fetch)?,
            tile.width,
        )
        .map_err(|e| invalid(format!("{}: {e}", tile.path())))?;
        for (i, (entry, served)) in entries.iter().zip(&served).enumerate() {
            let leaf = Hash::leaf(entry);
            if leaf != *served {
                return Err(inconsistent(format!(
                    "entry {} hashes to {leaf} but the log's tile {} says {served}",
                    b * TILE_WIDTH + i as u64,
                    tile.path()
                )));
            }
            range.append(leaf, &mut upper);
        }
        bar.inc(entries.len() as u64);
    }
    bar.finish_and_clear();
    // Every level-0 tile was compared entry by entry above.
    let mut tiles = bundles;
    if range.root() != v.checkpoint.root() {
        return Err(inconsistent(format!(
            "the entries recompute to root {} but the signed checkpoint says {}",
            range.root(),
            v.checkpoint.root()
        )));
    }
    for (level, full, partial) in tiles_for_size(size) {
        if level == 0 {
            continue;
        }
        let count = full + u64::from(partial > 0);
        for index in 0..count {
            let Some(tile) = TileId::at_size(level, index, size) else {
                continue;
            };
            let served = merkle_log::tiles::decode_hash_tile(
                &client.tile(tile).map_err(from_fetch)?,
                tile.width,
            )
            .map_err(|e| invalid(format!("{}: {e}", tile.path())))?;
            tiles += 1;
            for (i, h) in served.iter().enumerate() {
                let node = index * TILE_WIDTH + i as u64;
                if upper.0.get(&(level * 8, node)) != Some(h) {
                    return Err(inconsistent(format!(
                        "tile {} hash {i} does not match the tree recomputed from the entries",
                        tile.path()
                    )));
                }
            }
        }
    }
    Ok(FullCheck {
        entries: size,
        bundles,
        tiles,
        root: range.root(),
    })
}

/// `wallet log verify-receipt`.
pub(crate) fn verify_receipt_cmd(args: &VerifyReceiptArgs) -> Result<Report, Failure> {
    let trust = load_trust(&args.vkey, args.policy.as_deref())?;
    let entry = read_entry(&args.entry_file)?;
    let receipt = String::from_utf8(read_file(&args.receipt, MAX_RECEIPT_LEN as u64, "receipt")?)
        .map_err(|_| bad("the receipt is not UTF-8 text"))?;
    let mut last = None;
    for key in &trust.log_keys() {
        match verify_receipt(&receipt, &entry, key) {
            Ok((r, cp)) => {
                let cosigned = match &trust.policy {
                    Some(_) => {
                        verify_checkpoint(&r.checkpoint, &trust)
                            .map_err(|e| invalid(format!("receipt: {e}")))?
                            .cosigned
                    }
                    None => None,
                };
                let mut fields = serde_json::Map::new();
                fields.insert("leaf_index".into(), json!(r.index));
                fields.insert("origin".into(), json!(cp.origin()));
                fields.insert("tree_size".into(), json!(cp.size()));
                fields.insert("root".into(), json!(cp.root().to_hex()));
                if let Some(c) = &cosigned {
                    cosigned_fields(&mut fields, c);
                }
                return Ok(Report::ok(
                    format!(
                        "ok entry {} is in {} at size {}, root {}{}",
                        r.index,
                        cp.origin(),
                        cp.size(),
                        cp.root(),
                        cosigned_text(cosigned.as_ref())
                    ),
                    fields.into(),
                ));
            }
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e @ merkle_log::ReceiptError::Malformed { .. }) => Err(bad(format!("receipt: {e}"))),
        Some(e) => Err(invalid(format!("receipt: {e}"))),
        None => Err(bad("give the log's verifier key with --vkey")),
    }
}

/// `wallet log verify-note`.
pub(crate) fn verify_note_cmd(args: &VerifyNoteArgs) -> Result<Report, Failure> {
    let trust = load_trust(&args.vkey, args.policy.as_deref())?;
    let text = read_text(&args.file, "note")?;
    if let Some(policy) = &trust.policy {
        return verify_cosigned_note(&text, &args.file, policy, &trust.keys);
    }
    let keys = trust.keys;
    let verified = verify_note(&text, &keys).map_err(|e| {
        let msg = format!("note {}: {e}", args.file.display());
        match e {
            merkle_log::NoteError::Malformed { .. } => bad(msg),
            _ => invalid(msg),
        }
    })?;
    let signers: Vec<String> = verified
        .verified
        .iter()
        .map(|s| s.key.name().to_string())
        .collect();
    Ok(Report::ok(
        format!(
            "ok note signed by {} ({} ignored)",
            signers.join(", "),
            count(
                verified.unverified as u64,
                "unknown signature",
                "unknown signatures"
            )
        ),
        json!({
            "signed_by": signers,
            "unknown_signatures": verified.unverified,
            "text": verified.text,
        }),
    ))
}

/// `wallet log verify-note --policy`: a checkpoint whose cosignatures meet the
/// policy's quorum.
fn verify_cosigned_note(
    text: &str,
    file: &Path,
    policy: &Policy,
    keys: &[VerifierKey],
) -> Result<Report, Failure> {
    let w = policy.verify_checkpoint(text, keys).map_err(|e| {
        let msg = format!("note {}: {e}", file.display());
        match e {
            QuorumError::Note(merkle_log::NoteError::Malformed { .. })
            | QuorumError::Checkpoint(_) => bad(msg),
            _ => invalid(msg),
        }
    })?;
    let cosigned = Cosigned {
        quorum: policy.quorum_name().to_owned(),
        by: w.cosigned_by,
    };
    let cp = &w.checkpoint;
    let mut fields = serde_json::Map::new();
    fields.insert("origin".into(), json!(cp.origin()));
    fields.insert("tree_size".into(), json!(cp.size()));
    fields.insert("root".into(), json!(cp.root().to_hex()));
    fields.insert("signed_by".into(), json!([w.log_key.name().as_str()]));
    fields.insert("unknown_signatures".into(), json!(w.ignored));
    cosigned_fields(&mut fields, &cosigned);
    Ok(Report::ok(
        format!(
            "ok checkpoint of {} at size {} signed by the log{} ({} unknown signature(s) ignored)",
            cp.origin(),
            cp.size(),
            cosigned_text(Some(&cosigned)),
            w.ignored
        ),
        fields.into(),
    ))
}

/// Reads a PEM or DER SubjectPublicKeyInfo.
fn load_spki(path: &Path) -> Result<Vec<u8>, Failure> {
    let raw = read_file(path, MAX_SMALL_FILE, "log key")?;
    let Ok(text) = std::str::from_utf8(&raw) else {
        return Ok(raw);
    };
    if !text.contains("-----BEGIN") {
        return Ok(raw);
    }
    if text.contains("BEGIN RSA PUBLIC KEY") {
        return Err(bad("RSA log keys are not supported; only ECDSA P-256"));
    }
    let b64: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    B64.decode(b64)
        .map_err(|_| bad(format!("log key {}: malformed PEM", path.display())))
}

/// `wallet log verify-sth`.
pub(crate) fn verify_sth_cmd(args: &VerifySthArgs) -> Result<Report, Failure> {
    let text = read_text(&args.sth, "STH file")?;
    let sth: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("STH file: {e}")))?;
    let field = |name: &str| {
        sth.get(name)
            .ok_or_else(|| bad(format!("STH lacks {name}")))
    };
    let size = field("tree_size")?
        .as_u64()
        .ok_or_else(|| bad("tree_size is not a whole number"))?;
    let timestamp = field("timestamp")?
        .as_u64()
        .ok_or_else(|| bad("timestamp is not a whole number"))?;
    let root: Hash = field("sha256_root_hash")?
        .as_str()
        .ok_or_else(|| bad("sha256_root_hash is not a string"))?
        .parse()
        .map_err(|e| bad(format!("sha256_root_hash: {e}")))?;
    let sig = B64
        .decode(
            field("tree_head_signature")?
                .as_str()
                .ok_or_else(|| bad("tree_head_signature is not a string"))?,
        )
        .map_err(|_| bad("tree_head_signature is not base64"))?;
    let spki = load_spki(&args.log_key)?;
    let key = Rfc6962Key::from_spki_der(&spki).map_err(|e| {
        bad(format!(
            "log key {}: {e} (only ECDSA P-256 keys are supported)",
            args.log_key.display()
        ))
    })?;
    key.verify_tree_head(timestamp, size, &root, &sig)
        .map_err(|e| invalid(format!("tree head signature: {e}")))?;
    let log_id = B64.encode(key.log_id());
    Ok(Report::ok(
        format!("ok tree head of log {log_id}: size {size} root {root} at {timestamp} ms"),
        json!({
            "log_id": log_id,
            "tree_size": size,
            "timestamp": timestamp,
            "root": root.to_hex(),
            "root_b64": root.to_base64(),
        }),
    ))
}
