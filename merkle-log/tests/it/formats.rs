//! Known answers for the formats: signed notes, checkpoints, tiles, receipts
//! (tests/data/c2sp, see the README there for sources).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use merkle_log::note::{Note, Rfc6962Key, VerifierKind};
use merkle_log::tiles::{
    TileRequest, decode_bundle, decode_hash_tile, index_path, parse_index_path, parse_tile_path,
    push_bundle_entry, tiles_for_size,
};
use merkle_log::{
    Checkpoint, FetchedTiles, Hash, NoteError, NoteSigner, Receipt, ReceiptError, TileId,
    TileNodeStore, Tree, VerifierKey, verify_note,
};
use serde_json::Value;

pub(crate) fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/c2sp/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub(crate) fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn keys(v: &Value) -> Vec<VerifierKey> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| s(k).parse().unwrap())
        .collect()
}

#[test]
fn verifier_key_ids_and_encoding() {
    let v = load("signed-note.json");
    for case in v["key_id_cases"].as_array().unwrap() {
        let key: VerifierKey = s(&case["vkey"]).parse().unwrap();
        assert_eq!(key.name().as_str(), s(&case["name"]));
        assert_eq!(key.id().to_string(), s(&case["key_id_hex"]));
        let VerifierKind::Ed25519(pk) = key.kind() else {
            panic!("{case}: not ed25519");
        };
        assert_eq!(hex::encode(pk.as_bytes()), s(&case["public_key_hex"]));
        assert_eq!(key.to_string(), s(&case["vkey"]));
    }
    for case in v["bad_vkeys"].as_array().unwrap() {
        assert!(
            s(&case["vkey"]).parse::<VerifierKey>().is_err(),
            "accepted {case}"
        );
    }
}

#[test]
fn private_keys_round_trip_and_match_their_verifiers() {
    let v = load("signed-note.json");
    for case in v["key_pairs"].as_array().unwrap() {
        let signer = NoteSigner::from_private_key(s(&case["skey"])).unwrap();
        assert_eq!(signer.verifier().to_string(), s(&case["vkey"]));
        assert_eq!(signer.to_private_key(), s(&case["skey"]));
        assert!(!format!("{signer:?}").contains(s(&case["skey"])));
    }
    // A private key whose key ID is altered is refused.
    let skey = "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    assert!(NoteSigner::from_private_key(skey).is_err());
    assert!(NoteSigner::from_private_key("PeterNeumann+c74f20a3+AYEK").is_err());
}

#[test]
fn signing_reproduces_go_output_byte_for_byte() {
    let v = load("signed-note.json");
    let signer = NoteSigner::from_private_key(s(&v["key_pairs"][0]["skey"])).unwrap();
    let want = s(&v["notes"][1]["note"]);
    let text = want.split_once("\n\n").unwrap().0.to_owned() + "\n";
    assert_eq!(signer.sign(&text).unwrap(), want);
    // The C2SP-style checkpoint of the tlog-checkpoint spec, signed by a test key,
    // verifies with the matching verifier and not with another.
    let other = NoteSigner::from_private_key(s(&v["key_pairs"][1]["skey"])).unwrap();
    let note = signer.sign("a\nb\n").unwrap();
    assert!(verify_note(&note, &[signer.verifier().clone()]).is_ok());
    assert_eq!(
        verify_note(&note, &[other.verifier().clone()]),
        Err(NoteError::NoVerifiedSignature)
    );
    assert!(signer.sign("no newline").is_err());
    assert!(signer.sign("blank\n\nline\n").is_err());
}

#[test]
fn note_verification_rules() {
    let v = load("signed-note.json");
    let notes = v["notes"].as_array().unwrap();
    let mut checked = 0;
    for case in notes {
        let keys = keys(&case["verifier_keys"]);
        let expect = s(&case["expect"]);
        let msg = match case.get("note") {
            Some(n) => s(n).to_owned(),
            None => {
                // "TEXT + '\n' + PSIG*101"
                let base = s(&notes[1]["note"]);
                let (text, sig) = base.split_once("\n\n").unwrap();
                format!("{text}\n\n{}", sig.repeat(101))
            }
        };
        let got = verify_note(&msg, &keys);
        if expect.starts_with("valid") {
            let got = got.unwrap_or_else(|e| panic!("{}: {e}", case["desc"]));
            if expect.contains("2 verified") {
                assert_eq!(got.verified.len(), 2);
            }
            if expect.contains("all 4 verify") {
                assert_eq!(got.verified.len(), 4);
            }
            if expect.contains("1 verified + 1 unverified") {
                assert_eq!((got.verified.len(), got.unverified), (1, 1));
            }
        } else if expect.contains("no verifiable") {
            assert_eq!(got, Err(NoteError::NoVerifiedSignature), "{}", case["desc"]);
        } else if expect.contains("invalid signature") {
            assert!(
                matches!(got, Err(NoteError::BadSignature { .. })),
                "{}: {got:?}",
                case["desc"]
            );
        } else if expect.contains("malformed") {
            assert!(
                matches!(got, Err(NoteError::Malformed { .. })),
                "{}: {got:?}",
                case["desc"]
            );
        } else {
            panic!("unknown expectation {expect}");
        }
        checked += 1;
    }
    assert_eq!(checked, notes.len());
    assert!(checked >= 14);
}

#[test]
fn real_sumdb_checkpoint_parses() {
    let v = load("signed-note.json");
    let case = &v["notes"][13];
    let (cp, _) =
        Checkpoint::from_signed_note(s(&case["note"]), &keys(&case["verifier_keys"])).unwrap();
    assert_eq!(cp.origin(), "go.sum database tree");
    assert_eq!(cp.size(), 6_476_701);
}

#[test]
fn checkpoint_bodies() {
    let v = load("checkpoint-cosig-tiles.json");
    let ex = &v["checkpoint_example"];
    let cp = Checkpoint::parse(s(&ex["text"])).unwrap();
    assert_eq!(cp.origin(), s(&ex["origin"]));
    assert_eq!(cp.size(), ex["size"].as_u64().unwrap());
    assert_eq!(cp.root().to_base64(), s(&ex["root_b64"]));
    assert_eq!(cp.to_text(), s(&ex["text"]));
    // Its signature line parses as a note signature (the key is not published).
    let note = format!("{}\n{}\n", s(&ex["text"]), s(&ex["log_signature_line"]));
    assert_eq!(Note::parse(&note).unwrap().signatures().len(), 1);

    let tree = &v["sumdb_tree_note"];
    let cp = Checkpoint::parse(s(&tree["text"])).unwrap();
    assert_eq!(cp.size(), tree["size"].as_u64().unwrap());
    assert_eq!(cp.root(), Hash::leaf(b"hello world"));
    assert_eq!(cp.root().to_hex(), s(&tree["root_hex"]));

    let built = Checkpoint::new(cp.origin(), cp.size(), cp.root()).unwrap();
    assert_eq!(built.to_text(), s(&tree["text"]));

    let with_ext = "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\next one\n";
    assert_eq!(
        Checkpoint::parse(with_ext).unwrap().extensions(),
        ["ext one"]
    );
    for bad in [
        "",
        "o\n",
        "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
    ] {
        assert!(Checkpoint::parse(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn real_rfc6962_tree_heads_verify() {
    let v = load("real-ct-logs.json");
    let items = v["items"].as_array().unwrap();
    for item in items.iter().take(2) {
        let der = B64.decode(s(&item["log_public_key_spki_b64"])).unwrap();
        let key = Rfc6962Key::from_spki_der(&der).unwrap();
        assert_eq!(B64.encode(key.log_id()), s(&item["log_id_b64"]));
        let sth = &item["get_sth"];
        let root: Hash = s(&sth["sha256_root_hash"]).parse().unwrap();
        let sig = B64.decode(s(&sth["tree_head_signature"])).unwrap();
        let (ts, size) = (
            sth["timestamp"].as_u64().unwrap(),
            sth["tree_size"].as_u64().unwrap(),
        );
        key.verify_tree_head(ts, size, &root, &sig).unwrap();
        assert!(key.verify_tree_head(ts, size + 1, &root, &sig).is_err());
        assert!(key.verify_tree_head(ts + 1, size, &root, &sig).is_err());
    }
    // Argon2024's RFC 6962 note key is derived from its origin and SPKI.
    let argon = &items[0];
    let der = B64.decode(s(&argon["log_public_key_spki_b64"])).unwrap();
    let name = merkle_log::note::KeyName::new("ct.googleapis.com/logs/us1/argon2024").unwrap();
    let vkey = VerifierKey::rfc6962(name, Rfc6962Key::from_spki_der(&der).unwrap());
    assert_eq!(vkey.to_string(), s(&argon["rfc6962_note_vkey"]));
}

#[test]
fn real_static_ct_checkpoint_verifies_with_type_0x05() {
    let v = load("real-ct-logs.json");
    let rome = &v["items"][2];
    let vkey: VerifierKey = s(&rome["rfc6962_note_vkey"]).parse().unwrap();
    assert_eq!(vkey.id().to_string(), s(&rome["decoded"]["key_id_hex"]));
    let note = s(&rome["checkpoint"]);
    let (cp, verified) = Checkpoint::from_signed_note(note, std::slice::from_ref(&vkey)).unwrap();
    assert_eq!(cp.origin(), "rome.ct.filippo.io/2024h1");
    assert_eq!(cp.size(), 115_474_666);
    assert_eq!(
        verified.verified[0].timestamp_ms,
        rome["decoded"]["timestamp_ms"].as_u64()
    );
    // Another size under the same signature is rejected, not ignored.
    let forged = note.replace("115474666", "115474667");
    assert!(matches!(
        verify_note(&forged, std::slice::from_ref(&vkey)),
        Err(NoteError::BadSignature { .. })
    ));
    // An extension line is not covered by an RFC 6962 signature: rejected.
    let (text, sigs) = note.split_once("\n\n").unwrap();
    let extended = format!("{text}\nextra claim\n\n{sigs}");
    assert!(verify_note(&extended, &[vkey]).is_err());
}

#[test]
fn tile_paths() {
    let v = load("checkpoint-cosig-tiles.json");
    for case in v["tile_index_paths"].as_array().unwrap() {
        let n = case["n"].as_u64().unwrap();
        assert_eq!(index_path(n), s(&case["path"]));
        assert_eq!(parse_index_path(s(&case["path"])), Some(n));
    }
    for case in v["c2sp_tile_urls"].as_array().unwrap() {
        let url = s(&case["url"]);
        let index = case["index"].as_u64().unwrap();
        let width = u16::try_from(case["width"].as_u64().unwrap()).unwrap();
        let rest = url.strip_prefix("tile/").unwrap();
        if let Some(level) = case.get("level") {
            let level = u8::try_from(level.as_u64().unwrap()).unwrap();
            let want = TileId {
                level,
                index,
                width,
            };
            assert_eq!(parse_tile_path(rest), Ok(TileRequest::Hashes(want)));
            assert_eq!(want.path(), url);
        } else if s(&case["kind"]).starts_with("entry bundle") {
            assert_eq!(
                parse_tile_path(rest),
                Ok(TileRequest::Entries { index, width })
            );
            let tile = TileId {
                level: 0,
                index,
                width,
            };
            assert_eq!(tile.entries_path(), url);
        } else {
            // static-ct-api data tiles are not part of tlog-tiles.
            assert!(parse_tile_path(rest).is_err());
        }
    }
    for bad in [
        "0/5",
        "0/0005",
        "0/x000/005",
        "0/005.p/0",
        "0/005.p/256",
        "0/005.p/01",
        "0/005.p/",
        "8/000",
        "-1/000",
        "0/x1/005",
        "0/x001/x002/x003/x004/x005/x006/x007/008",
        "0/x018/x446/x744/x073/x709/x551/616",
        "entries/abc",
        "0/005/",
        "",
    ] {
        assert!(parse_tile_path(bad).is_err(), "accepted {bad:?}");
    }
    // The largest index round-trips.
    assert_eq!(parse_index_path(&index_path(u64::MAX)), Some(u64::MAX));
}

#[test]
fn tiles_for_sizes_match_the_spec() {
    let v = load("checkpoint-cosig-tiles.json");
    let cases = v["tiles_for_size"].as_object().unwrap();
    assert!(cases.len() >= 4);
    for (size, levels) in cases {
        let Ok(size) = size.parse::<u64>() else {
            continue; // the "source" field
        };
        let want: Vec<(u8, u64, u16)> = levels
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    u8::try_from(l["level"].as_u64().unwrap()).unwrap(),
                    l["full_tiles"].as_u64().unwrap(),
                    u16::try_from(l["partial_width"].as_u64().unwrap()).unwrap(),
                )
            })
            .collect();
        assert_eq!(tiles_for_size(size), want, "size {size}");
    }
}

fn navigli_tile(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/c2sp/static-ct-navigli2025h2/tile/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn real_static_ct_tiles_give_published_roots() {
    let v = load("static-ct-navigli2025h2.json");
    let mut tiles = FetchedTiles::new();
    for i in 0..4u64 {
        let tile = TileId {
            level: 0,
            index: i,
            width: 256,
        };
        tiles
            .insert_bytes(tile, &navigli_tile(&format!("0/{i:03}")))
            .unwrap();
    }
    // The partial tile is the prefix of the full one.
    let partial = decode_hash_tile(&navigli_tile("0/003.p/10"), 10).unwrap();
    let full = decode_hash_tile(&navigli_tile("0/003"), 256).unwrap();
    assert_eq!(partial[..], full[..10]);
    assert!(decode_hash_tile(&navigli_tile("0/003.p/10"), 11).is_err());
    for ex in v["leaf_examples"].as_array().unwrap() {
        let leaf = hex::decode(s(&ex["merkle_tree_leaf_hex"])).unwrap();
        let index = usize::try_from(ex["index"].as_u64().unwrap()).unwrap();
        assert_eq!(Hash::leaf(&leaf).to_hex(), s(&ex["leaf_hash"]));
        let tile = decode_hash_tile(&navigli_tile(&format!("0/{:03}", index / 256)), 256).unwrap();
        assert_eq!(tile[index % 256].to_hex(), s(&ex["leaf_hash"]));
    }
    let level1: Vec<Hash> = v["level1_hashes_derived"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| s(h).parse().unwrap())
        .collect();
    tiles.insert(
        TileId {
            level: 1,
            index: 0,
            width: 4,
        },
        level1,
    );
    for (size, root) in v["derived_roots"].as_object().unwrap() {
        let size: u64 = size.parse().unwrap();
        let tree = Tree::open(size, TileNodeStore::new(size, tiles.clone())).unwrap();
        assert_eq!(tree.root().to_hex(), s(root), "size {size}");
    }
    // An old root read through the tiles of a bigger tree is the same root.
    let tree = Tree::open(1024, TileNodeStore::new(1024, tiles)).unwrap();
    let want: Hash = s(&v["derived_roots"]["778"]).parse().unwrap();
    assert_eq!(tree.root_at(778).unwrap(), want);
}

#[test]
fn entry_bundles() {
    let mut bundle = Vec::new();
    for e in [&b"a"[..], b"", b"xyz"] {
        push_bundle_entry(&mut bundle, e).unwrap();
    }
    assert_eq!(bundle, b"\x00\x01a\x00\x00\x00\x03xyz");
    assert_eq!(
        decode_bundle(&bundle, 3).unwrap(),
        vec![&b"a"[..], b"", b"xyz"]
    );
    assert!(decode_bundle(&bundle, 2).is_err());
    assert!(decode_bundle(&bundle, 4).is_err());
    assert!(decode_bundle(&bundle[..bundle.len() - 1], 3).is_err());
    assert!(decode_bundle(b"\x00", 1).is_err());
    assert!(push_bundle_entry(&mut bundle, &vec![0u8; 65_536]).is_err());
    let mut max = Vec::new();
    push_bundle_entry(&mut max, &vec![7u8; 65_535]).unwrap();
    assert_eq!(decode_bundle(&max, 1).unwrap()[0].len(), 65_535);
}

const SPEC_RECEIPT_HEAD: &str = "c2sp.org/tlog-proof@v1\nextra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\nindex 73894\ngSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\nB95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n";

#[test]
fn receipts_parse_and_verify() {
    // The head of the tlog-proof spec example (its signatures are elided there).
    let text = format!(
        "{SPEC_RECEIPT_HEAD}\nexample.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n— x AAAAAAA=\n"
    );
    let r = Receipt::parse(&text).unwrap();
    assert_eq!(r.index, 73894);
    assert_eq!(r.proof.len(), 2);
    assert_eq!(
        r.proof[0].to_base64(),
        "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ="
    );
    assert_eq!(
        B64.encode(r.extra.as_ref().unwrap()),
        "YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ"
    );
    assert_eq!(r.encode(), text);

    // A receipt built over the 5-leaf tree of independent leaves, signed with a
    // published test key, verifies for its entry only.
    let v = load("signed-note.json");
    let signer = NoteSigner::from_private_key(s(&v["key_pairs"][1]["skey"])).unwrap();
    let entries: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 3]).collect();
    let mut tree: Tree<merkle_log::MemoryStore> = Tree::default();
    for e in &entries {
        tree.append(e);
    }
    let cp = Checkpoint::new(signer.name().as_str(), 5, tree.root()).unwrap();
    let receipt = Receipt {
        extra: None,
        index: 3,
        proof: tree.inclusion_proof(3, 5).unwrap(),
        checkpoint: signer.sign(&cp.to_text()).unwrap(),
    };
    let text = receipt.encode();
    let vkey = signer.verifier().clone();
    let (_, got) = merkle_log::verify_receipt(&text, &entries[3], &vkey).unwrap();
    assert_eq!(got.size(), 5);
    assert!(matches!(
        merkle_log::verify_receipt(&text, &entries[2], &vkey),
        Err(ReceiptError::Proof(_))
    ));
    let other = NoteSigner::from_private_key(s(&v["key_pairs"][2]["skey"])).unwrap();
    assert!(merkle_log::verify_receipt(&text, &entries[3], other.verifier()).is_err());
    for bad in [
        text.replacen("index 3", "index 03", 1),
        text.replacen("index 3", "index 4", 1),
        text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
        text.replacen("\n\n", "\n", 1),
        text.replacen("index 3\n", "index 3\nnot base64\n", 1),
    ] {
        assert!(
            merkle_log::verify_receipt(&bad, &entries[3], &vkey).is_err(),
            "accepted {bad}"
        );
    }
}
