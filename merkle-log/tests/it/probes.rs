//! The transparency-dev/merkle probes: every valid proof verifies and every
//! corrupted one is rejected, exactly as `wantErr` says.

use std::fs;
use std::path::{Path, PathBuf};

use merkle_log::{Hash, verify_consistency, verify_inclusion};
use serde_json::Value;

/// The one probe whose expectation this crate departs from (see tests/data/README.md).
const KNOWN_DIVERGENCE: &str = "sizes-are-equal-one-and-proof-is-empty.json";

fn probe_files(kind: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/transparency-dev")
        .join(kind);
    let mut out = vec![];
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Decodes a base64 hash; `None` when it is not exactly 32 bytes (a corrupted probe).
fn hash(v: &Value) -> Option<Hash> {
    let s = v.as_str()?;
    if s.is_empty() {
        return None;
    }
    s.parse().ok()
}

fn proof(v: &Value) -> Option<Vec<Hash>> {
    match v {
        Value::Null => Some(vec![]),
        Value::Array(items) => items.iter().map(hash).collect(),
        _ => None,
    }
}

fn run(kind: &str, check: impl Fn(&Value) -> bool) {
    let files = probe_files(kind);
    assert!(
        files.len() >= 90,
        "{kind}: only {} probes found",
        files.len()
    );
    let mut wrong = vec![];
    for file in &files {
        let probe: Value = serde_json::from_str(&fs::read_to_string(file).unwrap()).unwrap();
        let want_err = probe["wantErr"].as_bool().unwrap();
        let got_err = !check(&probe);
        let divergent = file.ends_with(KNOWN_DIVERGENCE);
        if divergent {
            assert!(got_err, "the 12-byte-root probe must be rejected");
        } else if got_err != want_err {
            wrong.push(format!("{} (wantErr {want_err})", file.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} probes disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn inclusion_probes() {
    run("inclusion", |p| {
        let (Some(leaf), Some(root), Some(proof)) =
            (hash(&p["leafHash"]), hash(&p["root"]), proof(&p["proof"]))
        else {
            return false;
        };
        let index = p["leafIdx"].as_u64().unwrap();
        let size = p["treeSize"].as_u64().unwrap();
        verify_inclusion(&leaf, index, size, &proof, &root).is_ok()
    });
}

#[test]
fn consistency_probes() {
    run("consistency", |p| {
        let (Some(r1), Some(r2), Some(proof)) =
            (hash(&p["root1"]), hash(&p["root2"]), proof(&p["proof"]))
        else {
            return false;
        };
        let s1 = p["size1"].as_u64().unwrap();
        let s2 = p["size2"].as_u64().unwrap();
        verify_consistency(s1, s2, &r1, &r2, &proof).is_ok()
    });
}
