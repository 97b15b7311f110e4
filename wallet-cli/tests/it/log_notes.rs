//! `wallet log verify-note` and `verify-sth` on published notes and real tree heads
//! (merkle-log/tests/data/c2sp/, whose README names the sources).

use std::path::PathBuf;
use std::process::Output;

use crate::common::wallet;

use base64::Engine as _;
use serde_json::Value;

fn data(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../merkle-log/tests/data/c2sp")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

#[test]
fn every_published_note_gets_its_verdict() {
    let v = data("signed-note.json");
    let unrelated = v["key_pairs"][2]["vkey"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let notes = v["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 15);
    for (i, case) in notes.iter().enumerate() {
        let file = dir.path().join(format!("note{i}"));
        let text = match case["note"].as_str() {
            Some(t) => t.to_string(),
            None => {
                // "TEXT + '\n' + PSIG*101": the signed text and signature line of the
                // Go TestSign note, the signature repeated 101 times.
                assert_eq!(case["note_construction"], "TEXT + '\\n' + PSIG*101");
                let sign = notes[1]["note"].as_str().unwrap();
                let (body, sig) = sign.split_once("\n\n").unwrap();
                format!("{body}\n\n{}", sig.repeat(101))
            }
        };
        std::fs::write(&file, text).unwrap();
        let mut args = vec!["log".to_string(), "verify-note".to_string()];
        let mut keys: Vec<String> = case["verifier_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        if keys.is_empty() {
            keys.push(unrelated.clone());
        }
        for k in keys {
            args.push("--vkey".into());
            args.push(k);
        }
        args.push(file.to_str().unwrap().into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = wallet(&args);
        let expect = case["expect"].as_str().unwrap();
        let want = if expect.starts_with("valid") {
            0
        } else if expect.contains("malformed") {
            2
        } else {
            1
        };
        assert_eq!(
            code(&o),
            want,
            "{}: {}",
            case["desc"],
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn two_verified_signatures_are_reported() {
    let v = data("signed-note.json");
    let case = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["expect"]
                .as_str()
                .unwrap()
                .starts_with("valid (2 verified)")
        })
        .unwrap()
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note");
    std::fs::write(&file, case["note"].as_str().unwrap()).unwrap();
    let keys = case["verifier_keys"].as_array().unwrap();
    let o = wallet(&[
        "--json",
        "log",
        "verify-note",
        "--vkey",
        keys[0].as_str().unwrap(),
        "--vkey",
        keys[1].as_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0);
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["signed_by"].as_array().unwrap().len(), 2);
}

#[test]
fn a_real_static_ct_checkpoint_verifies_with_its_rfc6962_key() {
    let v = data("real-ct-logs.json");
    let rome = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["checkpoint"].is_string())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoint");
    let note = rome["checkpoint"].as_str().unwrap();
    std::fs::write(&file, note).unwrap();
    let vkey = rome["rfc6962_note_vkey"].as_str().unwrap();
    let o = wallet(&["log", "verify-note", "--vkey", vkey, file.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    // A key file works as well as the key itself.
    let keyfile = dir.path().join("vkey");
    std::fs::write(&keyfile, format!("# the log\n{vkey}\n")).unwrap();
    let o = wallet(&[
        "log",
        "verify-note",
        "--vkey",
        keyfile.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    // One changed digit of the size breaks the signature.
    std::fs::write(&file, note.replacen("115474666", "115474667", 1)).unwrap();
    let o = wallet(&["log", "verify-note", "--vkey", vkey, file.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
}

fn write_sth(dir: &std::path::Path, sth: &Value, key_b64: &str, pem: bool) -> (PathBuf, PathBuf) {
    let sth_file = dir.join("sth.json");
    std::fs::write(&sth_file, sth.to_string()).unwrap();
    let key_file = dir.join(if pem { "key.pem" } else { "key.der" });
    if pem {
        let body = key_b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(
            &key_file,
            format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"),
        )
        .unwrap();
    } else {
        let der = base64::engine::general_purpose::STANDARD
            .decode(key_b64)
            .unwrap();
        std::fs::write(&key_file, der).unwrap();
    }
    (sth_file, key_file)
}

fn verify_sth(sth: &std::path::Path, key: &std::path::Path, json: bool) -> Output {
    let mut args = vec!["log", "verify-sth", "--sth", sth.to_str().unwrap()];
    args.extend(["--log-key", key.to_str().unwrap()]);
    if json {
        args.insert(0, "--json");
    }
    wallet(&args)
}

#[test]
fn real_tree_heads_verify_and_tampering_is_caught() {
    let v = data("real-ct-logs.json");
    let sths: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["get_sth"].is_object())
        .collect();
    assert_eq!(sths.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    for item in sths {
        let key = item["log_public_key_spki_b64"].as_str().unwrap();
        for pem in [true, false] {
            let (s, k) = write_sth(dir.path(), &item["get_sth"], key, pem);
            let o = verify_sth(&s, &k, true);
            assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
            let j: Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(j["log_id"], item["log_id_b64"]);
            assert_eq!(j["tree_size"], item["get_sth"]["tree_size"]);
        }
        // Another size, or another log's key: the signature fails.
        let mut forged = item["get_sth"].clone();
        forged["tree_size"] = Value::from(forged["tree_size"].as_u64().unwrap() + 1);
        let (s, k) = write_sth(dir.path(), &forged, key, true);
        let o = verify_sth(&s, &k, false);
        assert_eq!(code(&o), 1);
        // Malformed inputs are bad input.
        let mut broken = item["get_sth"].clone();
        broken["sha256_root_hash"] = Value::from("not-a-hash");
        let (s, k) = write_sth(dir.path(), &broken, key, true);
        let o = verify_sth(&s, &k, false);
        assert_eq!(code(&o), 2);
    }
}
