//! Targets for `merkle-log`'s formats: signed notes, verifier and signer keys,
//! checkpoints, tile paths, hash tiles, entry bundles, receipts, chain anchors and
//! anchor lists.
//!
//! Property of every target: parsing never panics, and whatever parses is written
//! back by the crate's own encoder to exactly the input (the text formats are
//! canonical), or, for keys that tolerate surrounding space and upper-case hex, to a
//! text that parses to the same value. Verification of what parsed never panics.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use merkle_log::anchor::AnchorRecord;
use merkle_log::note::{KeyName, Note, Rfc6962Key};
use merkle_log::tiles::{
    TileRequest, decode_bundle, decode_hash_tile, encode_hash_tile, index_path, parse_index_path,
    parse_tile_path, push_bundle_entry,
};
use merkle_log::{
    Anchor, AnchorList, Checkpoint, Cosigner, Hash, MemoryStore, NoteSigner, Receipt, TileId, Tree,
    VerifierKey, verify_receipt,
};

/// The keys notes and receipts are verified against: published test keys, one of
/// them an RFC 6962 (type 0x05) key, and the key that signs the generated seeds.
fn keys() -> Vec<VerifierKey> {
    [
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "ct.googleapis.com/logs/us1/argon2024+7deb49d0+BTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABB25bKnLaZTFXOa2pgO70rjcVEMXKJkMBgFQHZ1kwFlGK9zIAx0FtC2oCfeZQe0E++VXuiYE9hFSzhRlOy92K8A=",
    ]
    .iter()
    .filter_map(|k| k.parse().ok())
    .chain(rome())
    .chain(std::iter::once(signer().verifier().clone()))
    .chain(cosigner().map(|c| c.verifier().clone()))
    .collect()
}

/// A witness key (type 0x04), which cosigns one of the generated notes.
fn cosigner() -> Option<Cosigner> {
    Some(Cosigner::from_seed(
        KeyName::new("witness.fuzz/w").ok()?,
        &[3; 32],
    ))
}

/// The type 0x05 key of the Sunlight log "Rome 2024h1", from its published SPKI.
fn rome() -> Option<VerifierKey> {
    let spki = BASE64
        .decode("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAXM8Ld9qn64g1zVFDh5FtgxS3zj5sqQDwYMs3wrBV3MCBiFhK/iRLxdKF4YsAcJaEglMlu4Lewvzxs0xO2uwEw==")
        .ok()?;
    let key = Rfc6962Key::from_spki_der(&spki).ok()?;
    Some(VerifierKey::rfc6962(
        KeyName::new("rome.ct.filippo.io/2024h1").ok()?,
        key,
    ))
}

/// The published Go test key "Log" (transparency-dev/formats), which signs the
/// generated checkpoints and receipts.
fn signer() -> NoteSigner {
    #[allow(clippy::expect_used)]
    NoteSigner::from_private_key(
        "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ",
    )
    .expect("the published test key parses")
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Signed notes: what parses is exactly its text, a blank line and its signature
/// lines; verification against known keys never panics, and a verified note's
/// text is what was parsed.
pub fn note(data: &[u8]) -> bool {
    let Some(msg) = text(data) else {
        return false;
    };
    let Ok(note) = Note::parse(msg) else {
        return false;
    };
    let mut again = format!("{}\n", note.text());
    for sig in note.signatures() {
        let mut bytes = sig.key_id.0.to_vec();
        bytes.extend_from_slice(&sig.signature);
        again.push_str(&format!("\u{2014} {} {}\n", sig.name, BASE64.encode(bytes)));
    }
    assert_eq!(again, msg, "a note re-assembled from its parts differs");
    if let Ok(v) = note.verify(&keys()) {
        assert_eq!(v.text, note.text());
        assert!(!v.verified.is_empty());
        // A verified checkpoint note either parses or is refused, without panicking.
        let _ = Checkpoint::parse(&v.text);
    }
    true
}

/// Verifier keys (`name+id+base64`) and signer keys (`PRIVATE+KEY+...`): what
/// parses is written back as the trimmed input (key ID hex in any case), and parses
/// again to the same key.
pub fn verifier_key(data: &[u8]) -> bool {
    let Some(s) = text(data) else {
        return false;
    };
    let same_text = |written: &str, read: &str| {
        let w: Vec<&str> = written.splitn(3, '+').collect();
        let r: Vec<&str> = read.splitn(3, '+').collect();
        w.len() == 3
            && r.len() == 3
            && w.first() == r.first()
            && w.get(1)
                .zip(r.get(1))
                .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
            && w.get(2) == r.get(2)
    };
    let mut accepted = false;
    if let Ok(key) = s.parse::<VerifierKey>() {
        let written = key.to_string();
        assert!(same_text(&written, s.trim()), "{written} written for {s:?}");
        assert_eq!(written.parse::<VerifierKey>().ok(), Some(key));
        accepted = true;
    }
    if let Ok(cosigner) = Cosigner::from_private_key(s) {
        let again = Cosigner::from_private_key(&cosigner.to_private_key()).ok();
        assert_eq!(
            again.map(|k| k.verifier().clone()),
            Some(cosigner.verifier().clone())
        );
        accepted = true;
    }
    if let Ok(signer) = NoteSigner::from_private_key(s) {
        let written = signer.to_private_key();
        let (w, r) = (
            written.strip_prefix("PRIVATE+KEY+").unwrap_or_default(),
            s.trim().strip_prefix("PRIVATE+KEY+").unwrap_or_default(),
        );
        assert!(same_text(w, r), "a signer key is written back differently");
        let again = NoteSigner::from_private_key(&written).ok();
        assert_eq!(
            again.map(|k| k.verifier().clone()),
            Some(signer.verifier().clone())
        );
        accepted = true;
    }
    accepted
}

/// Checkpoint bodies: canonical, so what parses is written back byte for byte.
pub fn checkpoint(data: &[u8]) -> bool {
    let Some(s) = text(data) else {
        return false;
    };
    let Ok(cp) = Checkpoint::parse(s) else {
        return false;
    };
    assert_eq!(cp.to_text(), s);
    true
}

/// Tile paths (`tile/L/N[.p/W]`, `tile/entries/N[.p/W]`) and index paths: only
/// canonical forms parse, so what parses is written back byte for byte.
pub fn tile_path(data: &[u8]) -> bool {
    let Some(s) = text(data) else {
        return false;
    };
    let mut accepted = false;
    if let Some(rest) = s.strip_prefix("tile/")
        && let Ok(request) = parse_tile_path(rest)
    {
        let written = match request {
            TileRequest::Hashes(tile) => {
                assert!(tile.width >= 1 && tile.width <= 256 && tile.level <= 7);
                tile.path()
            }
            TileRequest::Entries { index, width } => TileId {
                level: 0,
                index,
                width,
            }
            .entries_path(),
        };
        assert_eq!(written, s);
        accepted = true;
    }
    let tail = s.strip_prefix("tile/0/").unwrap_or(s);
    if let Some(n) = parse_index_path(tail) {
        assert_eq!(index_path(n), tail);
        accepted = true;
    }
    accepted
}

/// Hash tiles; the first byte is the expected width minus one (1 to 256 hashes):
/// what decodes has that many hashes and encodes back to the same bytes.
pub fn hash_tile(data: &[u8]) -> bool {
    let Some((&w, bytes)) = data.split_first() else {
        return false;
    };
    let width = u16::from(w) + 1;
    let Ok(hashes) = decode_hash_tile(bytes, width) else {
        return false;
    };
    assert_eq!(hashes.len(), usize::from(width));
    assert_eq!(encode_hash_tile(&hashes), bytes);
    true
}

/// Entry bundles; the first two bytes are the expected entry count (big-endian):
/// what decodes has that many entries and is rebuilt to the same bytes.
pub fn entry_bundle(data: &[u8]) -> bool {
    let Some((w, bytes)) = data.split_first_chunk::<2>() else {
        return false;
    };
    let width = u16::from_be_bytes(*w);
    let Ok(entries) = decode_bundle(bytes, width) else {
        return false;
    };
    assert_eq!(entries.len(), usize::from(width));
    let mut again = Vec::with_capacity(bytes.len());
    for e in &entries {
        assert!(
            push_bundle_entry(&mut again, e).is_ok(),
            "a decoded entry is too long"
        );
    }
    assert_eq!(again, bytes);
    true
}

/// The entries of the generated receipts.
fn receipt_entries() -> Vec<Vec<u8>> {
    (0..5u8).map(|i| vec![b'e', i]).collect()
}

/// Receipts: canonical, so what parses is written back byte for byte; verification
/// against a known key, for the generated entries, never panics, and a receipt that
/// verifies has an index inside the tree it proves.
pub fn receipt(data: &[u8]) -> bool {
    let Some(s) = text(data) else {
        return false;
    };
    let Ok(r) = Receipt::parse(s) else {
        return false;
    };
    assert_eq!(r.encode(), s);
    for key in keys() {
        for entry in receipt_entries() {
            if let Ok((parsed, cp)) = verify_receipt(s, &entry, &key) {
                assert_eq!(parsed, r);
                assert!(r.index < cp.size());
            }
        }
    }
    true
}

/// Seeds of [`note`]: generated checkpoints signed with the test key.
pub fn note_seeds() -> Vec<Vec<u8>> {
    let mut notes: Vec<String> = checkpoints()
        .iter()
        .filter_map(|cp| signer().sign(&cp.to_text()).ok())
        .collect();
    // The first one cosigned too.
    if let (Some(first), Some(c), Some(cp)) = (notes.first(), cosigner(), checkpoints().first())
        && let Ok(line) = c.signature_line(&cp.to_text(), 1_700_000_000)
    {
        notes.push(format!("{first}{line}"));
    }
    notes.into_iter().map(String::into_bytes).collect()
}

/// Seeds of [`verifier_key`]: a fresh signer key and its verifier key.
pub fn verifier_key_seeds() -> Vec<Vec<u8>> {
    let Ok(name) = KeyName::new("example.org/fuzz") else {
        return Vec::new();
    };
    let s = NoteSigner::from_seed(name.clone(), &[7; 32]);
    let c = Cosigner::from_seed(name, &[8; 32]);
    vec![
        s.to_private_key().into_bytes(),
        s.verifier().to_string().into_bytes(),
        c.to_private_key().into_bytes(),
        c.verifier().to_string().into_bytes(),
    ]
}

fn checkpoints() -> Vec<Checkpoint> {
    let mut tree: Tree<MemoryStore> = Tree::default();
    for e in receipt_entries() {
        tree.append(&e);
    }
    [
        Checkpoint::new("Log", tree.size(), tree.root()),
        Checkpoint::new("example.org/log", 0, Hash::empty_root()),
        Checkpoint::new("example.org/log", u64::MAX, Hash([0xff; 32])),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Seeds of [`checkpoint`].
pub fn checkpoint_seeds() -> Vec<Vec<u8>> {
    checkpoints()
        .iter()
        .map(|cp| cp.to_text().into_bytes())
        .collect()
}

/// Seeds of [`tile_path`]: paths of hash tiles and bundles at the format's edges.
pub fn tile_path_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (level, index, width) in [(0, 0, 256), (7, u64::MAX, 1), (3, 999_999, 255)] {
        let tile = TileId {
            level,
            index,
            width,
        };
        out.push(tile.path().into_bytes());
        out.push(tile.entries_path().into_bytes());
    }
    out
}

/// Seeds of [`hash_tile`]: a partial and a full tile of leaf hashes.
pub fn hash_tile_seeds() -> Vec<Vec<u8>> {
    [1usize, 3, 256]
        .iter()
        .map(|&n| {
            let hashes: Vec<Hash> = (0..n).map(|i| Hash::leaf(&i.to_le_bytes())).collect();
            let mut out = vec![u8::try_from(n - 1).unwrap_or(u8::MAX)];
            out.extend(encode_hash_tile(&hashes));
            out
        })
        .collect()
}

/// Seeds of [`entry_bundle`]: bundles of empty, small and largest entries.
pub fn entry_bundle_seeds() -> Vec<Vec<u8>> {
    let sets: [Vec<Vec<u8>>; 3] = [
        vec![Vec::new()],
        receipt_entries(),
        vec![vec![0xab; usize::from(u16::MAX)], b"x".to_vec()],
    ];
    sets.iter()
        .map(|entries| {
            let width = u16::try_from(entries.len()).unwrap_or(u16::MAX);
            let mut out = width.to_be_bytes().to_vec();
            for e in entries {
                let _ = push_bundle_entry(&mut out, e);
            }
            out
        })
        .collect()
}

/// Seeds of [`receipt`]: receipts for every generated entry, with and without extra
/// data, that verify against the test key.
pub fn receipt_seeds() -> Vec<Vec<u8>> {
    let mut tree: Tree<MemoryStore> = Tree::default();
    let entries = receipt_entries();
    for e in &entries {
        tree.append(e);
    }
    let size = tree.size();
    let Ok(cp) = Checkpoint::new("Log", size, tree.root()) else {
        return Vec::new();
    };
    let Ok(note) = signer().sign(&cp.to_text()) else {
        return Vec::new();
    };
    (0..size)
        .filter_map(|index| {
            let proof = tree.inclusion_proof(index, size).ok()?;
            let r = Receipt {
                extra: (index % 2 == 0).then(|| vec![index as u8; 3]),
                index,
                proof,
                checkpoint: note.clone(),
            };
            Some(r.encode().into_bytes())
        })
        .collect()
}

/// Chain anchors (data-output payloads): what decodes is encoded back byte for
/// byte, and checking it against a log key never panics.
pub fn anchor(data: &[u8]) -> bool {
    let Ok(a) = Anchor::decode(data) else {
        return false;
    };
    assert_eq!(a.encode(), data);
    let _ = a.verify(signer().verifier());
    true
}

/// Seeds of [`anchor`]: the anchors of the seed checkpoints signed by the seed key.
pub fn anchor_seeds() -> Vec<Vec<u8>> {
    let signer = signer();
    checkpoints()
        .iter()
        .filter(|cp| cp.origin() == signer.name().as_str())
        .filter_map(|cp| signer.sign(&cp.to_text()).ok())
        .filter_map(|note| Anchor::from_signed_checkpoint(&note, signer.verifier()).ok())
        .map(|a| a.encode())
        .collect()
}

/// Anchor list texts: canonical, so what parses is written back byte for byte.
pub fn anchor_list(data: &[u8]) -> bool {
    let Some(s) = text(data) else {
        return false;
    };
    let Ok(list) = AnchorList::parse(s) else {
        return false;
    };
    assert_eq!(list.to_text().ok().as_deref(), Some(s));
    true
}

/// Seeds of [`anchor_list`]: an empty list and one with records at the edges.
pub fn anchor_list_seeds() -> Vec<Vec<u8>> {
    let record = |height: u64, size: u64| AnchorRecord {
        height,
        block: format!("{height:064x}"),
        txid: format!("{:064x}", u64::MAX - height),
        size,
        root: Hash([0xab; 32]),
    };
    [
        AnchorList {
            origin: "Log".into(),
            records: vec![],
        },
        AnchorList {
            origin: "example.org/log".into(),
            records: vec![record(0, 0), record(101, 5), record(u64::MAX, u64::MAX)],
        },
    ]
    .iter()
    .filter_map(|l| l.to_text().ok())
    .map(String::into_bytes)
    .collect()
}
