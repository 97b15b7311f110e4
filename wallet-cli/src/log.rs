//! `wallet log ...`: offline Merkle proof checks.

use merkle_log::{Hash, MAX_PROOF_LEN, VerifyError, verify_consistency, verify_inclusion};
use serde_json::json;

use crate::cli::{HashLeafArgs, LogCommand, VerifyConsistencyArgs, VerifyInclusionArgs};
use crate::log_audit;
use crate::output::{Outcome, Report};

/// Runs one `wallet log` command.
pub(crate) fn run(cmd: LogCommand) -> Report {
    let result = match cmd {
        LogCommand::HashLeaf(args) => hash_leaf(&args),
        LogCommand::VerifyInclusion(args) => verify_inclusion_cmd(&args),
        LogCommand::VerifyConsistency(args) => verify_consistency_cmd(&args),
        LogCommand::Checkpoint(args) => return Report::from_result(log_audit::checkpoint(&args)),
        LogCommand::Prove(args) => return Report::from_result(log_audit::prove(&args)),
        LogCommand::Audit(args) => return Report::from_result(log_audit::audit(&args)),
        LogCommand::VerifyReceipt(args) => {
            return Report::from_result(log_audit::verify_receipt_cmd(&args));
        }
        LogCommand::VerifyNote(args) => {
            return Report::from_result(log_audit::verify_note_cmd(&args));
        }
        LogCommand::VerifySth(args) => {
            return Report::from_result(log_audit::verify_sth_cmd(&args));
        }
    };
    result.unwrap_or_else(|reason| Report::failed(Outcome::BadInput, reason))
}

/// Input that could not be read: the message names the option and what to fix.
type BadInput = String;

fn parse_hash(option: &str, text: &str) -> Result<Hash, BadInput> {
    text.parse()
        .map_err(|e| format!("{option}: {e} (give 64 hex digits or base64 of 32 bytes)"))
}

/// Parses a comma-separated proof; the empty string is the empty proof.
fn parse_proof(text: &str) -> Result<Vec<Hash>, BadInput> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let count = text.split(',').count();
    if count > MAX_PROOF_LEN {
        return Err(format!(
            "--proof: {count} hashes, more than any proof can have ({MAX_PROOF_LEN})"
        ));
    }
    text.split(',')
        .enumerate()
        .map(|(i, part)| parse_hash(&format!("--proof element {}", i + 1), part))
        .collect()
}

fn parse_hex_data(text: &str) -> Result<Vec<u8>, BadInput> {
    let t = text.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    hex::decode(t).map_err(|e| format!("--data-hex: {e} (give the entry's bytes as hex digits)"))
}

/// Maps a verifier's verdict to a report: malformed inputs are bad input (exit 2),
/// anything else an invalid proof (exit 1).
fn verdict(result: Result<(), VerifyError>, ok: Report) -> Report {
    match result {
        Ok(()) => ok,
        Err(e) if e.is_malformed_input() => Report::failed(Outcome::BadInput, e.to_string()),
        Err(e) => Report::failed(Outcome::Invalid, e.to_string()),
    }
}

fn hash_leaf(args: &HashLeafArgs) -> Result<Report, BadInput> {
    let data = parse_hex_data(&args.data_hex)?;
    let leaf = Hash::leaf(&data);
    Ok(Report::ok(
        leaf.to_hex(),
        json!({ "leaf_hash": leaf.to_hex() }),
    ))
}

fn verify_inclusion_cmd(args: &VerifyInclusionArgs) -> Result<Report, BadInput> {
    let leaf = parse_hash("--leaf-hash", &args.leaf_hash)?;
    let root = parse_hash("--root", &args.root)?;
    let proof = parse_proof(&args.proof)?;
    let (index, size) = (args.index, args.tree_size);
    let ok = Report::ok(
        format!("ok leaf {index} is included in the tree of size {size} with root {root}"),
        json!({
            "leaf_hash": leaf.to_hex(),
            "leaf_index": index,
            "tree_size": size,
            "root": root.to_hex(),
        }),
    );
    Ok(verdict(
        verify_inclusion(&leaf, index, size, &proof, &root),
        ok,
    ))
}

fn verify_consistency_cmd(args: &VerifyConsistencyArgs) -> Result<Report, BadInput> {
    let old_root = parse_hash("--old-root", &args.old_root)?;
    let new_root = parse_hash("--new-root", &args.new_root)?;
    let proof = parse_proof(&args.proof)?;
    let (old, new) = (args.old_size, args.new_size);
    let ok = Report::ok(
        format!(
            "ok the tree of size {old} with root {old_root} is a prefix of the tree of size {new} with root {new_root}"
        ),
        json!({
            "old_size": old,
            "old_root": old_root.to_hex(),
            "new_size": new,
            "new_root": new_root.to_hex(),
        }),
    );
    Ok(verdict(
        verify_consistency(old, new, &old_root, &new_root, &proof),
        ok,
    ))
}
