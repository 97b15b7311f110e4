//! `wallet log hash-leaf | verify-inclusion | verify-consistency` against the RFC 6962
//! reference tree (merkle-log/tests/data/rfc6962-reference-tree.json, whose sources
//! are named in that folder's README).

use std::process::Output;

use crate::common::wallet;

use base64::Engine as _;
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!(
        "../../../merkle-log/tests/data/rfc6962-reference-tree.json"
    ))
    .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn hex_list(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect()
}

fn to_b64(hex_hash: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hex::decode(hex_hash).unwrap())
}

/// One line, exit code as given.
fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}

#[test]
fn hash_leaf_matches_the_rfc_answers() {
    let v = vectors();
    for case in v["hasher"].as_array().unwrap() {
        if case["kind"] != "leaf" {
            continue;
        }
        let o = wallet(&[
            "log",
            "hash-leaf",
            "--data-hex",
            case["input_hex"].as_str().unwrap(),
        ]);
        assert_exit(&o, 0);
        assert_eq!(stdout(&o).trim(), case["want"].as_str().unwrap());
        let o = wallet(&[
            "log",
            "hash-leaf",
            "--json",
            "--data-hex",
            case["input_hex"].as_str().unwrap(),
        ]);
        let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(j["leaf_hash"], case["want"]);
    }
}

fn inclusion_args(case: &Value, proof: &[String], b64: bool) -> Vec<String> {
    let enc = |h: &str| if b64 { to_b64(h) } else { h.to_string() };
    vec![
        "log".into(),
        "verify-inclusion".into(),
        "--leaf-hash".into(),
        enc(case["leaf_hash"].as_str().unwrap()),
        "--index".into(),
        case["leaf_index"].to_string(),
        "--tree-size".into(),
        case["tree_size"].to_string(),
        "--root".into(),
        enc(case["root"].as_str().unwrap()),
        "--proof".into(),
        proof.iter().map(|h| enc(h)).collect::<Vec<_>>().join(","),
    ]
}

fn run(args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    wallet(&args)
}

#[test]
fn published_inclusion_proofs_verify_in_hex_and_base64() {
    let v = vectors();
    for case in v["inclusion_proofs"].as_array().unwrap() {
        let proof = hex_list(&case["audit_path"]);
        for b64 in [false, true] {
            let o = run(&inclusion_args(case, &proof, b64));
            assert_exit(&o, 0);
            let out = stdout(&o);
            assert!(out.starts_with("ok "), "{out}");
            assert_eq!(out.lines().count(), 1);
        }
        let mut args = inclusion_args(case, &proof, false);
        args.push("--json".into());
        let j: Value = serde_json::from_str(&stdout(&run(&args))).unwrap();
        assert_eq!(j["ok"], true);
        assert_eq!(j["leaf_index"], case["leaf_index"]);
    }
}

#[test]
fn a_corrupted_inclusion_proof_exits_1_with_one_line() {
    let v = vectors();
    // 5@8 has a three-hash path; corrupt each hash in turn, then the root.
    let case = &v["inclusion_proofs"][2];
    assert_eq!(case["leaf_index"], 5);
    let proof = hex_list(&case["audit_path"]);
    for i in 0..proof.len() {
        let mut bad = proof.clone();
        let flipped = if bad[i].starts_with('0') { "1" } else { "0" };
        bad[i].replace_range(0..1, flipped);
        let o = run(&inclusion_args(case, &bad, false));
        assert_exit(&o, 1);
        assert!(stdout(&o).is_empty());
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        assert!(stderr(&o).contains("does not match"), "{}", stderr(&o));
    }
    // A missing hash is an invalid proof too, and says what was expected.
    let o = run(&inclusion_args(case, &proof[..2], false));
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("has 2 hashes"), "{}", stderr(&o));
    let mut args = inclusion_args(case, &proof[..2], false);
    args.push("--json".into());
    let o = run(&args);
    assert_exit(&o, 1);
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["ok"], false);
    assert_eq!(j["status"], "invalid");
}

#[test]
fn published_consistency_proofs_verify() {
    let v = vectors();
    for case in v["consistency_proofs"].as_array().unwrap() {
        let proof = hex_list(&case["consistency"]).join(",");
        let args = [
            "log",
            "verify-consistency",
            "--old-size",
            &case["first"].to_string(),
            "--old-root",
            case["first_root"].as_str().unwrap(),
            "--new-size",
            &case["second"].to_string(),
            "--new-root",
            case["second_root"].as_str().unwrap(),
            "--proof",
            &proof,
        ]
        .map(str::to_string);
        let o = run(&args);
        assert_exit(&o, 0);
        assert!(stdout(&o).starts_with("ok "));
        // Swapping the roots breaks it (exit 1), unless they are equal.
        if case["first_root"] != case["second_root"] {
            let mut swapped = args.clone();
            swapped.swap(5, 9);
            assert_exit(&run(&swapped), 1);
        }
    }
}

#[test]
fn malformed_input_exits_2_with_a_clear_message() {
    let v = vectors();
    let root8 = v["roots_by_size"]["8"].as_str().unwrap();
    let leaf = v["inclusion_proofs"][1]["leaf_hash"].as_str().unwrap();
    let base = |leaf: &str, index: &str, size: &str, root: &str, proof: &str| {
        let args = [
            "log",
            "verify-inclusion",
            "--leaf-hash",
            leaf,
            "--index",
            index,
            "--tree-size",
            size,
            "--root",
            root,
            "--proof",
            proof,
        ]
        .map(str::to_string);
        run(&args)
    };
    let cases: Vec<(Output, &str)> = vec![
        (base("zz", "0", "8", root8, ""), "--leaf-hash"),
        (base(&leaf[..62], "0", "8", root8, ""), "--leaf-hash"),
        (base(leaf, "0", "8", &to_b64(root8)[..40], ""), "--root"),
        (base(leaf, "8", "8", root8, ""), "not below tree size"),
        (base(leaf, "0", "8", root8, "abc,"), "--proof element 1"),
        (
            base(leaf, "0", "8", root8, &vec![leaf; 65].join(",")),
            "65 hashes",
        ),
        (base(leaf, "-1", "8", root8, ""), "-1"),
        (base(leaf, "x", "8", root8, ""), "invalid value"),
        (
            wallet(&["log", "hash-leaf", "--data-hex", "abc"]),
            "--data-hex",
        ),
        (
            wallet(&[
                "log",
                "verify-consistency",
                "--old-size",
                "9",
                "--old-root",
                root8,
                "--new-size",
                "8",
                "--new-root",
                root8,
                "--proof",
                "",
            ]),
            "larger than new size",
        ),
        (wallet(&["log", "verify-inclusion"]), "required"),
    ];
    for (o, needle) in cases {
        assert_exit(&o, 2);
        assert!(stdout(&o).is_empty(), "stdout: {}", stdout(&o));
        assert!(
            stderr(&o).contains(needle),
            "want {needle:?} in {}",
            stderr(&o)
        );
    }
}

#[test]
fn empty_proof_string_is_an_empty_proof() {
    let v = vectors();
    let root1 = v["roots_by_size"]["1"].as_str().unwrap();
    let o = wallet(&[
        "log",
        "verify-inclusion",
        "--leaf-hash",
        root1,
        "--index",
        "0",
        "--tree-size",
        "1",
        "--root",
        root1,
        "--proof",
        "",
    ]);
    assert_exit(&o, 0);
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["log", "--help"],
        vec!["log", "hash-leaf", "--help"],
        vec!["log", "verify-inclusion", "--help"],
        vec!["log", "verify-consistency", "--help"],
    ] {
        let o = wallet(&args);
        assert_exit(&o, 0);
        assert!(stdout(&o).contains("Usage:"));
    }
}
