//! Anchors (docs/anchoring.md): the bytes written against the layout assembled here
//! by hand, the signed checkpoint an anchor stands for rebuilt byte for byte, every
//! tampered field refused, hostile bytes never a panic; the `/anchors` list's round
//! trip and its refusals.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use merkle_log::anchor::{ANCHOR_LEN, AnchorRecord, MAX_ANCHOR_RECORDS};
use merkle_log::{Anchor, AnchorError, AnchorList, Checkpoint, Hash, NoteSigner, VerifierKey};
use proptest::prelude::*;

/// The published Go test key "Log" (transparency-dev/formats log/note_test.go).
const SKEY: &str = "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ";
const VKEY: &str = "Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs";
/// Another published test key, "PeterNeumann" (golang.org/x/mod/sumdb/note).
const OTHER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

fn signed(size: u64, root: Hash) -> String {
    let signer = NoteSigner::from_private_key(SKEY).unwrap();
    signer
        .sign(&Checkpoint::new("Log", size, root).unwrap().to_text())
        .unwrap()
}

/// The signature bytes of the note's only line, read here from its base64.
fn signature_of(note: &str) -> Vec<u8> {
    let line = note.lines().last().unwrap();
    let b64 = line.rsplit(' ').next().unwrap();
    B64.decode(b64).unwrap()
}

#[test]
fn an_anchor_is_the_documented_bytes_and_stands_for_its_signed_checkpoint() {
    let key: VerifierKey = VKEY.parse().unwrap();
    let root = Hash::leaf(b"hello world");
    let note = signed(123_456_789_012, root);
    let anchor = Anchor::from_signed_checkpoint(&note, &key).unwrap();

    // docs/anchoring.md: "OTLA", 0x01, key ID, size u64 big-endian, root, signature.
    let sig = signature_of(&note); // key ID (4 bytes) then the signature (64)
    let mut expected = b"OTLA\x01".to_vec();
    expected.extend_from_slice(&hex::decode("2271c621").unwrap());
    expected.extend_from_slice(&[0x00, 0x00, 0x00, 0x1c, 0xbe, 0x99, 0x1a, 0x14]);
    expected.extend_from_slice(
        &hex::decode("4eccf34608d31bac5c7becf6006df59005d828181056d092084e341e6bb005bd").unwrap(),
    );
    expected.extend_from_slice(&sig[4..]);
    assert_eq!(&sig[..4], &expected[5..9]);
    let bytes = anchor.encode();
    assert_eq!(bytes, expected);
    assert_eq!(bytes.len(), 113);
    assert_eq!(ANCHOR_LEN, 113);

    let back = Anchor::decode(&bytes).unwrap();
    assert_eq!(back, anchor);
    assert_eq!(back.signed_note(&key).unwrap(), note);
    let cp = back.verify(&key).unwrap();
    assert_eq!(
        (cp.origin(), cp.size(), cp.root()),
        ("Log", 123_456_789_012, root)
    );
}

#[test]
fn a_tampered_or_foreign_anchor_is_refused() {
    let key: VerifierKey = VKEY.parse().unwrap();
    let other: VerifierKey = OTHER_VKEY.parse().unwrap();
    let bytes = Anchor::from_signed_checkpoint(&signed(10, Hash::leaf(b"x")), &key)
        .unwrap()
        .encode();
    // Every byte after the key ID: size, root, signature.
    for i in 9..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let a = Anchor::decode(&b).unwrap();
        assert!(
            matches!(a.verify(&key), Err(AnchorError::Signature(_))),
            "byte {i} flipped"
        );
    }
    // The key ID names another log.
    let a = Anchor::decode(&bytes).unwrap();
    assert!(matches!(
        a.verify(&other),
        Err(AnchorError::OtherKey { .. })
    ));
    // Framing.
    assert_eq!(Anchor::decode(b"OTLB\x01"), Err(AnchorError::Magic));
    assert_eq!(Anchor::decode(b""), Err(AnchorError::Magic));
    assert_eq!(Anchor::decode(b"OTLA"), Err(AnchorError::Length { len: 4 }));
    let mut v2 = bytes.clone();
    v2[4] = 2;
    assert_eq!(
        Anchor::decode(&v2),
        Err(AnchorError::Version { version: 2 })
    );
    assert_eq!(
        Anchor::decode(&bytes[..112]),
        Err(AnchorError::Length { len: 112 })
    );
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(Anchor::decode(&long), Err(AnchorError::Length { len: 114 }));
    // Not a checkpoint of this key, or one with extension lines.
    assert!(Anchor::from_signed_checkpoint(&signed(1, Hash::leaf(b"x")), &other).is_err());
    let signer = NoteSigner::from_private_key(SKEY).unwrap();
    let with_ext = signer
        .sign(&format!(
            "Log\n1\n{}\nextension\n",
            Hash::leaf(b"x").to_base64()
        ))
        .unwrap();
    assert_eq!(
        Anchor::from_signed_checkpoint(&with_ext, &key),
        Err(AnchorError::Extensions)
    );
}

proptest! {
    #[test]
    fn any_bytes_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..300), magic in any::<bool>()) {
        let mut b = bytes;
        if magic {
            let mut m = b"OTLA\x01".to_vec();
            m.extend_from_slice(&b);
            b = m;
        }
        let key: VerifierKey = VKEY.parse().unwrap();
        if let Ok(a) = Anchor::decode(&b) {
            prop_assert_eq!(a.encode(), b);
            let _ = a.verify(&key);
        }
    }
}

fn record(i: u64) -> AnchorRecord {
    AnchorRecord {
        height: i,
        block: format!("{i:064x}"),
        txid: format!("{:064x}", i + 1000),
        size: i * 7,
        root: Hash::leaf(&i.to_be_bytes()),
    }
}

#[test]
fn the_anchor_list_round_trips_and_refuses_what_it_cannot_read() {
    let key: VerifierKey = VKEY.parse().unwrap();
    let signer = NoteSigner::from_private_key(SKEY).unwrap();
    let list = AnchorList {
        origin: "Log".into(),
        records: (1..=3).map(record).collect(),
    };
    let text = list.to_text().unwrap();
    let first = format!(
        "1 {:064x} {:064x} 7 {}",
        1,
        1001,
        Hash::leaf(&1u64.to_be_bytes()).to_base64()
    );
    assert!(text.starts_with(&format!("open-trust.org/anchors/v1\nLog\n{first}\n")));
    let note = signer.sign(&text).unwrap();
    assert_eq!(AnchorList::from_signed_note(&note, &key).unwrap(), list);
    // Another key's list, or a list of another origin, is refused.
    let other: VerifierKey = OTHER_VKEY.parse().unwrap();
    assert!(AnchorList::from_signed_note(&note, &other).is_err());
    let bad_lines = [
        "open-trust.org/anchors/v2\nLog\n".to_owned(),
        "open-trust.org/anchors/v1\n".to_owned(),
        "open-trust.org/anchors/v1\nexample.o\u{2}g/log\n".to_owned(),
        format!("open-trust.org/anchors/v1\nLog\n{first} extra\n"),
        format!(
            "open-trust.org/anchors/v1\nLog\n{}\n",
            first.replace(" 7 ", " 07 ")
        ),
        format!(
            "open-trust.org/anchors/v1\nLog\n{}\n",
            first.replace(&format!("{:064x}", 1), &format!("{:064X}", 10))
        ),
        "open-trust.org/anchors/v1\nLog\n1 2 3\n".to_owned(),
        "open-trust.org/anchors/v1\nLog".to_owned(),
    ];
    for text in bad_lines {
        assert!(AnchorList::parse(&text).is_err(), "{text:?}");
    }
    let too_many = AnchorList {
        origin: "Log".into(),
        records: (0..=MAX_ANCHOR_RECORDS as u64).map(record).collect(),
    };
    assert!(too_many.to_text().is_err());
}
