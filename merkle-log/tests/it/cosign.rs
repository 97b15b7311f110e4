//! Known answers for witnessing: C2SP tlog-cosignature v1 bytes and the
//! tlog-witness request body (tests/data/c2sp, sources in the README there).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use merkle_log::cosignature::{MAX_COSIGNATURE_TIME, cosigned_message};
use merkle_log::note::{KeyName, Note, VerifierKind};
use merkle_log::tlog_witness::{
    AddCheckpoint, MAX_WITNESS_PROOF_LINES, encode_size, parse_size, take_cosignature,
};
use merkle_log::{
    CosignError, Cosigner, Hash, KeyError, NoteError, NoteSigner, VerifierKey, WitnessWireError,
    verify_note,
};

use crate::formats::{load, s};

/// The cosigner of the generated known answer (seed of the Go test key
/// PeterNeumann).
fn kat_cosigner() -> (Cosigner, serde_json::Value) {
    let v = load("checkpoint-cosig-tiles.json")["cosignature_generated_kat"].clone();
    let seed: [u8; 32] = hex::decode(s(&v["ed25519_seed_hex"]))
        .unwrap()
        .try_into()
        .unwrap();
    let name = KeyName::new(s(&v["cosigner_name"])).unwrap();
    (Cosigner::from_seed(name, &seed), v)
}

#[test]
fn cosignature_v1_reproduces_the_known_answer_byte_for_byte() {
    let (cosigner, v) = kat_cosigner();
    let vkey = cosigner.verifier();
    assert_eq!(vkey.to_string(), s(&v["vkey"]));
    let VerifierKind::Cosignature(pk) = vkey.kind() else {
        panic!("not a cosignature key");
    };
    assert_eq!(hex::encode(pk.as_bytes()), s(&v["public_key_hex"]));
    assert_eq!(vkey.to_string().parse::<VerifierKey>().unwrap(), *vkey);

    let ts = v["timestamp"].as_u64().unwrap();
    let text = s(&v["checkpoint_text"]);
    assert_eq!(
        cosigned_message(ts, text),
        s(&v["signed_message"]).as_bytes()
    );
    let line = cosigner.signature_line(text, ts).unwrap();
    assert_eq!(line, format!("{}\n", s(&v["signature_line"])));

    // Verifies as a note signature, carrying its time.
    let note = format!("{text}\n{line}");
    let verified = verify_note(&note, std::slice::from_ref(vkey)).unwrap();
    assert_eq!(verified.verified[0].cosigned_at, Some(ts));
    assert_eq!(verified.verified[0].timestamp_ms, None);
}

#[test]
fn cosignature_fails_on_any_change_and_under_a_plain_ed25519_key() {
    let (cosigner, v) = kat_cosigner();
    let text = s(&v["checkpoint_text"]);
    let ts = v["timestamp"].as_u64().unwrap();
    let line = cosigner.signature_line(text, ts).unwrap();
    let keys = [cosigner.verifier().clone()];
    // Another time, another text, a flipped bit: each is a bad signature by a
    // known key, which rejects the note.
    let other_time = format!("{text}\n{}", cosigner.signature_line(text, ts + 1).unwrap());
    assert!(verify_note(&other_time, &keys).is_ok());
    let other_text = text.replace("20852163", "20852164");
    let moved = format!("{other_text}\n{line}");
    assert!(matches!(
        verify_note(&moved, &keys),
        Err(NoteError::BadSignature { .. })
    ));
    let (name, b64) = line.trim_end().rsplit_once(' ').unwrap();
    let mut raw = B64.decode(b64).unwrap();
    for i in [4usize, 11, 12, 75] {
        raw[i] ^= 1;
        let flipped = format!("{text}\n{name} {}\n", B64.encode(&raw));
        assert!(
            matches!(
                verify_note(&flipped, &keys),
                Err(NoteError::BadSignature { .. })
            ),
            "byte {i}"
        );
        raw[i] ^= 1;
    }
    // The same key as a plain Ed25519 (type 0x01) key has another key ID: the
    // cosignature is not its signature.
    let VerifierKind::Cosignature(pk) = cosigner.verifier().kind() else {
        panic!()
    };
    let plain = VerifierKey::ed25519(cosigner.name().clone(), *pk);
    assert_ne!(plain.id(), cosigner.verifier().id());
    assert_eq!(
        verify_note(&format!("{text}\n{line}"), &[plain]),
        Err(NoteError::NoVerifiedSignature)
    );
}

#[test]
fn cosigner_refuses_what_is_not_a_checkpoint_and_times_past_2_63() {
    let (cosigner, v) = kat_cosigner();
    let text = s(&v["checkpoint_text"]);
    assert!(matches!(
        cosigner.signature_line("just a note\n", 1),
        Err(CosignError::NotACheckpoint(_))
    ));
    assert!(matches!(
        cosigner.signature_line("a\n\n1\n", 1),
        Err(CosignError::NotANote(_))
    ));
    assert_eq!(
        cosigner.signature_line(text, MAX_COSIGNATURE_TIME + 1),
        Err(CosignError::Timestamp { timestamp: 1 << 63 })
    );
    assert!(cosigner.signature_line(text, MAX_COSIGNATURE_TIME).is_ok());
}

#[test]
fn cosigner_private_keys_round_trip_and_accept_go_ed25519_keys() {
    let (cosigner, _) = kat_cosigner();
    let again = Cosigner::from_private_key(&cosigner.to_private_key()).unwrap();
    assert_eq!(again.verifier(), cosigner.verifier());
    // The Go test key PeterNeumann in its plain Ed25519 form (golang/mod
    // sumdb/note note_test.go) is the same seed: as a cosigner it has the 0x04
    // key of the known answer, under its own name.
    let go = Cosigner::from_private_key(
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    )
    .unwrap();
    let VerifierKind::Cosignature(a) = go.verifier().kind() else {
        panic!()
    };
    let VerifierKind::Cosignature(b) = cosigner.verifier().kind() else {
        panic!()
    };
    assert_eq!(a, b);
    // A wrong key ID, a log signer's key of another type, not a private key.
    let mut wrong = cosigner.to_private_key();
    let at = "PRIVATE+KEY+witness.example/test+".len();
    wrong.replace_range(at..at + 8, "00000000");
    assert_eq!(
        Cosigner::from_private_key(&wrong).err(),
        Some(KeyError::KeyIdMismatch)
    );
    assert_eq!(
        Cosigner::from_private_key("Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs")
            .err(),
        Some(KeyError::NotPrivate)
    );
    // A log signer refuses a cosigner's private key (type 0x04).
    assert_eq!(
        NoteSigner::from_private_key(&cosigner.to_private_key()).err(),
        Some(KeyError::UnknownType(0x04))
    );
}

#[test]
fn published_cosignature_keys_and_lines_parse() {
    let v = load("cosignature-v1.json");
    for k in v["cosignature_vkeys"]["valid"].as_array().unwrap() {
        let key: VerifierKey = s(k).parse().unwrap();
        assert!(matches!(key.kind(), VerifierKind::Cosignature(_)));
        assert_eq!(key.to_string(), s(k));
    }
    for k in v["cosignature_vkeys"]["invalid"].as_array().unwrap() {
        assert!(s(&k["vkey"]).parse::<VerifierKey>().is_err(), "{k}");
    }
    // The C2SP example: key ID and timestamp of the witness's line.
    let c = load("checkpoint-cosig-tiles.json");
    let cp = &c["checkpoint_example"];
    let parse = &c["cosignature_parse"];
    let note = format!(
        "{}\n{}\n{}\n",
        s(&cp["text"]),
        s(&cp["log_signature_line"]),
        s(&parse["line"])
    );
    let note = Note::parse(&note).unwrap();
    let sig = &note.signatures()[1];
    assert_eq!(sig.name, "witness.example.com/w1");
    assert_eq!(sig.key_id.to_string(), s(&parse["key_id_hex"]));
    assert_eq!(
        u64::from_be_bytes(sig.signature[..8].try_into().unwrap()),
        parse["timestamp"].as_u64().unwrap()
    );
    assert_eq!(hex::encode(&sig.signature[8..]), s(&parse["signature_hex"]));
    for t in v["cosignature_timestamps"]["valid"].as_array().unwrap() {
        let raw = B64.decode(s(&t["signature_b64"])).unwrap();
        assert_eq!(raw.len(), 4 + 8 + 64);
        assert_eq!(
            u64::from_be_bytes(raw[4..12].try_into().unwrap()),
            t["timestamp"].as_u64().unwrap()
        );
    }
}

#[test]
fn add_checkpoint_request_of_the_spec_parses_and_re_encodes_exactly() {
    let c = load("checkpoint-cosig-tiles.json");
    let ex = &c["witness_add_checkpoint_request_example"];
    let body = s(&ex["body"]);
    let req = AddCheckpoint::parse(body.as_bytes()).unwrap();
    assert_eq!(req.old_size, 20852014);
    assert_eq!(req.proof.len(), 4);
    assert_eq!(
        req.proof[0],
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw="
            .parse::<Hash>()
            .unwrap()
    );
    assert!(
        req.checkpoint
            .starts_with(s(&c["checkpoint_example"]["text"]))
    );
    assert!(req.checkpoint.ends_with(&format!(
        "{}\n",
        s(&c["checkpoint_example"]["log_signature_line"])
    )));
    assert_eq!(req.encode(), body);
}

#[test]
fn add_checkpoint_requests_that_break_the_format_are_refused() {
    let c = load("checkpoint-cosig-tiles.json");
    let body = s(&c["witness_add_checkpoint_request_example"]["body"]);
    let h = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=";
    let ckpt = body.split_once("\n\n").unwrap().1;
    let too_many = format!("old 1\n{}\n{ckpt}", format!("{h}\n").repeat(64));
    let max = format!(
        "old 1\n{}\n{ckpt}",
        format!("{h}\n").repeat(MAX_WITNESS_PROOF_LINES)
    );
    assert!(AddCheckpoint::parse(max.as_bytes()).is_ok());
    let cases: Vec<(String, &str)> = vec![
        (body.replacen("old ", "old  ", 1), "double space"),
        (
            body.replacen("old 20852014", "old 020852014", 1),
            "leading zero",
        ),
        (body.replacen("old 20852014", "old -1", 1), "negative"),
        (body.replacen("old 20852014", "new 20852014", 1), "not old"),
        (
            body.replacen("old 20852014", "old 18446744073709551616", 1),
            "past u64",
        ),
        (body.replacen(h, &h[..43], 1), "short hash"),
        (
            body.replacen(h, "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw", 1),
            "no padding",
        ),
        (body.replacen("\n\n", "\n", 1), "no blank line"),
        (
            body.split_once("\n\n").unwrap().0.to_owned() + "\n\n",
            "no checkpoint",
        ),
        (too_many, "64 proof lines"),
        (String::new(), "empty"),
    ];
    for (bad, what) in cases {
        assert!(
            matches!(
                AddCheckpoint::parse(bad.as_bytes()),
                Err(WitnessWireError::Malformed { .. })
            ),
            "{what}"
        );
    }
    assert!(matches!(
        AddCheckpoint::parse(&[0xff, b'\n', b'\n']),
        Err(WitnessWireError::Malformed { .. })
    ));
    let huge = vec![b'a'; merkle_log::tlog_witness::MAX_ADD_CHECKPOINT_LEN + 1];
    assert!(matches!(
        AddCheckpoint::parse(&huge),
        Err(WitnessWireError::TooLong { .. })
    ));
}

#[test]
fn conflict_sizes_and_cosignature_answers() {
    assert_eq!(encode_size(20852163), "20852163\n");
    assert_eq!(parse_size(b"20852163\n"), Ok(20852163));
    for bad in [&b"20852163"[..], b"020\n", b"\n", b"1 \n", b"-1\n", b""] {
        assert!(parse_size(bad).is_err(), "{bad:?}");
    }
    let (cosigner, v) = kat_cosigner();
    let text = s(&v["checkpoint_text"]);
    let line = cosigner.signature_line(text, 7).unwrap();
    let other = Cosigner::from_seed(KeyName::new("other").unwrap(), &[9; 32]);
    let other_line = other.signature_line(text, 8).unwrap();
    // The witness's line is taken out of an answer holding others too.
    let got = take_cosignature(text, &format!("{other_line}{line}"), cosigner.verifier()).unwrap();
    assert_eq!(got.line, line);
    assert_eq!(got.timestamp, 7);
    // Missing, or over another text, or not signature lines.
    assert!(take_cosignature(text, &other_line, cosigner.verifier()).is_err());
    let other_text = text.replace("20852163", "20852164");
    assert!(take_cosignature(&other_text, &line, cosigner.verifier()).is_err());
    for junk in [
        "",
        "\n",
        "hello\n",
        &format!("{line}\n{line}"),
        line.trim_end(),
    ] {
        assert!(
            take_cosignature(text, junk, cosigner.verifier()).is_err(),
            "{junk:?}"
        );
    }
}
