//! Key derivation against SLIP-0010 and BIP39 published vectors; the keystore's
//! promises (0600, wrong passphrase, tampering, no secrets in the file).

use std::os::unix::fs::PermissionsExt as _;

use serde_json::Value;
use wallet_cli::keys::{self, DerivationPath, ExtendedKey};
use wallet_cli::keystore::{KdfCost, Keystore, KeystoreError, MAX_KEYS};

/// A cheap cost so tests stay fast; the default is exercised by the CLI tests.
const TEST_COST: KdfCost = KdfCost {
    memory_kib: 1024,
    iterations: 1,
    parallelism: 1,
};

#[test]
fn slip10_ed25519_vectors() {
    let v: Value = serde_json::from_str(include_str!("../data/slip10-ed25519.json")).unwrap();
    let mut checked = 0;
    for vector in v["vectors"].as_array().unwrap() {
        let seed = hex::decode(vector["seed"].as_str().unwrap()).unwrap();
        let master = ExtendedKey::master(&seed);
        for chain in vector["chains"].as_array().unwrap() {
            let path: DerivationPath = chain["path"].as_str().unwrap().parse().unwrap();
            let k = master.derive(&path);
            assert_eq!(
                hex::encode(k.chain_code()),
                chain["chain_code"].as_str().unwrap()
            );
            assert_eq!(
                hex::encode(k.private_key()),
                chain["private"].as_str().unwrap()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

#[test]
fn bip39_vectors() {
    let v: Value = serde_json::from_str(include_str!("../data/bip39-trezor.json")).unwrap();
    let pass = v["passphrase"].as_str().unwrap();
    for t in v["vectors"].as_array().unwrap() {
        let entropy = hex::decode(t[0].as_str().unwrap()).unwrap();
        let m = bip39::Mnemonic::from_entropy(&entropy).unwrap();
        assert_eq!(m.to_string(), t[1].as_str().unwrap());
        // Typed sloppily, it still reads as the same words.
        let sloppy = format!(
            "  {}  ",
            t[1].as_str().unwrap().to_uppercase().replace(' ', "\t ")
        );
        let parsed = keys::parse_mnemonic(&sloppy).unwrap();
        assert_eq!(*keys::phrase_of(&parsed), t[1].as_str().unwrap());
        assert_eq!(
            hex::encode(parsed.to_seed_normalized(pass)),
            t[2].as_str().unwrap()
        );
    }
    // A wrong checksum word and an unknown word are refused.
    assert!(keys::parse_mnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon").is_err());
    assert!(keys::parse_mnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abbot").is_err());
}

#[test]
fn paths_parse_and_print() {
    let p: DerivationPath = "m/44'/1'/0'/0'/7'".parse().unwrap();
    assert_eq!(p, DerivationPath::receiving(0, 7));
    assert_eq!(p.to_string(), "m/44'/1'/0'/0'/7'");
    for bad in ["", "44'", "m/0", "m/x'", "m/2147483648'", "m//1'"] {
        assert!(bad.parse::<DerivationPath>().is_err(), "{bad:?}");
    }
}

#[test]
fn keystore_seals_and_guards_the_mnemonic() {
    let dir = tempfile::tempdir().unwrap();
    let wdir = dir.path().join("w");
    let m = keys::parse_mnemonic(
        "legal winner thank year wave sausage worth useful legal winner thank yellow",
    )
    .unwrap();
    let mut unlocked =
        Keystore::create(&wdir, "regtest", &m, "correct horse", TEST_COST, 1).unwrap();
    let path = wdir.join("keystore.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Neither the words nor any private key appear in the file.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("legal") && !text.contains("sausage"));
    let seed = keys::seed_of(&m);
    let k0 = ExtendedKey::master(&*seed).derive(&DerivationPath::receiving(0, 0));
    assert!(!text.contains(&hex::encode(k0.private_key())));

    // A second wallet in the same place is refused.
    assert!(matches!(
        Keystore::create(&wdir, "regtest", &m, "x", TEST_COST, 1),
        Err(KeystoreError::Exists { .. })
    ));

    // Right and wrong passphrases.
    let reopened = Keystore::open(&wdir)
        .unwrap()
        .unlock("correct horse")
        .unwrap();
    assert_eq!(reopened.mnemonic(), m.to_string());
    assert!(matches!(
        Keystore::open(&wdir).unwrap().unlock("wrong"),
        Err(KeystoreError::WrongPassphrase)
    ));

    // A new key is recorded and survives reopening; the file is unchanged by a
    // failed unlock.
    let e = unlocked.add_key().unwrap();
    assert_eq!(e.index, 1);
    let before = std::fs::read(&path).unwrap();
    assert!(Keystore::open(&wdir).unwrap().unlock("nope").is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let reopened = Keystore::open(&wdir)
        .unwrap()
        .unlock("correct horse")
        .unwrap();
    assert_eq!(reopened.keys().len(), 2);
    // Key 1 is the SLIP-0010 key at m/44'/1'/0'/0'/1' of the BIP39 seed.
    assert_eq!(
        reopened.keys()[1].public_key,
        ExtendedKey::master(&*seed)
            .derive(&DerivationPath::receiving(0, 1))
            .signing_key()
            .verifying_key()
            .to_bytes()
    );

    // Changing the network in the file breaks the seal.
    let tampered = String::from_utf8(before)
        .unwrap()
        .replace("\"regtest\"", "\"testnet\"");
    std::fs::write(&path, tampered).unwrap();
    assert!(matches!(
        Keystore::open(&wdir).unwrap().unlock("correct horse"),
        Err(KeystoreError::WrongPassphrase)
    ));
}

/// The keystore of a fresh wallet with `n` keys, and its file as JSON.
fn wallet_with_keys(dir: &std::path::Path, n: u32) -> Value {
    let m = keys::new_mnemonic().unwrap();
    Keystore::create(dir, "regtest", &m, "pw", TEST_COST, n).unwrap();
    serde_json::from_str(&std::fs::read_to_string(dir.join("keystore.json")).unwrap()).unwrap()
}

#[test]
fn keystore_rejects_any_change_to_the_key_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keystore.json");
    let genuine = wallet_with_keys(dir.path(), 3);
    let other = tempfile::tempdir().unwrap();
    let foreign = wallet_with_keys(other.path(), 1)["public_keys"][0].clone();
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut swapped = genuine.clone();
    swapped["public_keys"][0] = foreign.clone();
    cases.push(("a swapped key", swapped));
    let mut appended = genuine.clone();
    appended["public_keys"]
        .as_array_mut()
        .unwrap()
        .push(foreign.clone());
    cases.push(("an appended key", appended));
    let mut dropped = genuine.clone();
    dropped["public_keys"].as_array_mut().unwrap().pop();
    cases.push(("a dropped key", dropped));
    let mut reordered = genuine.clone();
    reordered["public_keys"].as_array_mut().unwrap().swap(1, 2);
    cases.push(("reordered keys", reordered));
    for (what, v) in cases {
        std::fs::write(&path, v.to_string()).unwrap();
        let err = Keystore::open(dir.path())
            .unwrap()
            .unlock("pw")
            .unwrap_err();
        assert!(
            matches!(err, KeystoreError::Altered { .. }),
            "{what}: {err}"
        );
        assert!(err.to_string().contains("recovery words"), "{what}: {err}");
    }
    // The genuine file still opens.
    std::fs::write(&path, genuine.to_string()).unwrap();
    assert_eq!(
        Keystore::open(dir.path())
            .unwrap()
            .unlock("pw")
            .unwrap()
            .keys()
            .len(),
        3
    );
}

#[test]
fn a_version_1_keystore_is_checked_and_upgraded() {
    // Written by the version-1 code from the BIP39 vector words below, with
    // passphrase "version one" and three keys.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keystore.json");
    let v1 = include_str!("../data/keystore-v1.json");
    std::fs::write(&path, v1).unwrap();
    let m = keys::parse_mnemonic(
        "legal winner thank year wave sausage worth useful legal winner thank yellow",
    )
    .unwrap();
    let seed = keys::seed_of(&m);
    let expected: Vec<[u8; 32]> = (0..3)
        .map(|i| {
            ExtendedKey::master(&*seed)
                .derive(&DerivationPath::receiving(0, i))
                .signing_key()
                .verifying_key()
                .to_bytes()
        })
        .collect();

    // A swapped key in a version-1 file is caught by re-deriving it.
    let mut v: Value = serde_json::from_str(v1).unwrap();
    v["keys"][1]["public_key"] = Value::String("11".repeat(32));
    std::fs::write(&path, v.to_string()).unwrap();
    let err = Keystore::open(dir.path())
        .unwrap()
        .unlock("version one")
        .unwrap_err();
    assert!(matches!(err, KeystoreError::Altered { .. }), "{err}");

    std::fs::write(&path, v1).unwrap();
    let ks = Keystore::open(dir.path()).unwrap();
    assert_eq!(ks.version(), 1);
    let mut unlocked = ks.unlock("version one").unwrap();
    assert!(unlocked.is_upgraded());
    let got: Vec<[u8; 32]> = unlocked.keys().iter().map(|k| k.public_key).collect();
    assert_eq!(got, expected);
    // Nothing is written until asked.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), v1);
    unlocked.save_upgrade().unwrap();
    let ks = Keystore::open(dir.path()).unwrap();
    assert_eq!(ks.version(), 2);
    let again = ks.unlock("version one").unwrap();
    assert!(!again.is_upgraded());
    assert_eq!(again.mnemonic(), m.to_string());
    let got: Vec<[u8; 32]> = again.keys().iter().map(|k| k.public_key).collect();
    assert_eq!(got, expected);
    // Downgrading the upgraded file back to version 1 breaks the seal.
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let keys: Vec<Value> = v["public_keys"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, k)| serde_json::json!({"index": i, "public_key": k}))
        .collect();
    let o = v.as_object_mut().unwrap();
    o.remove("public_keys");
    o.remove("keys_mac");
    o.insert("keys".into(), Value::Array(keys));
    o.insert("version".into(), Value::from(1));
    std::fs::write(&path, v.to_string()).unwrap();
    assert!(matches!(
        Keystore::open(dir.path()).unwrap().unlock("version one"),
        Err(KeystoreError::WrongPassphrase)
    ));
}

#[test]
fn the_key_list_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let m = keys::new_mnemonic().unwrap();
    assert!(matches!(
        Keystore::create(dir.path(), "regtest", &m, "pw", TEST_COST, MAX_KEYS + 1),
        Err(KeystoreError::KeyCount { count: 10_001 })
    ));
    assert!(matches!(
        Keystore::create(dir.path(), "regtest", &m, "pw", TEST_COST, 0),
        Err(KeystoreError::KeyCount { count: 0 })
    ));
    assert!(!dir.path().join("keystore.json").exists());
    let mut full = Keystore::create(dir.path(), "regtest", &m, "pw", TEST_COST, MAX_KEYS).unwrap();
    assert!(matches!(full.add_key(), Err(KeystoreError::TooManyKeys)));
    // A key that is not the next one is not recorded.
    let dir2 = tempfile::tempdir().unwrap();
    let mut w = Keystore::create(dir2.path(), "regtest", &m, "pw", TEST_COST, 1).unwrap();
    let mut skip = w.next_key().unwrap();
    skip.index += 1;
    assert!(matches!(
        w.record_key(skip),
        Err(KeystoreError::NotNext { index: 2 })
    ));
    assert_eq!(w.keys().len(), 1);
}

#[test]
fn hostile_keystore_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keystore.json");
    assert!(matches!(
        Keystore::open(dir.path()),
        Err(KeystoreError::Missing { .. })
    ));
    for text in [
        "",
        "{}",
        "[]",
        "not json",
        "{\"version\":2}",
        "{\"version\":3}",
    ] {
        std::fs::write(&path, text).unwrap();
        assert!(
            matches!(
                Keystore::open(dir.path()),
                Err(KeystoreError::Format { .. })
            ),
            "{text}"
        );
    }
    let genuine = wallet_with_keys(&dir.path().join("g"), 2);
    let hostile: Vec<(&str, Value)> = vec![
        // An absurd KDF cost is refused before any memory is allocated.
        (
            "kdf_cost",
            serde_json::json!({"memory_kib": u32::MAX, "iterations": 1, "parallelism": 1}),
        ),
        ("public_keys", serde_json::json!([])),
        ("public_keys", serde_json::json!(["00"])),
        (
            "public_keys",
            serde_json::json!(vec!["00".repeat(32); MAX_KEYS as usize + 1]),
        ),
        ("keys_mac", serde_json::json!("abcd")),
        ("nonce", serde_json::json!("AAAA")),
        ("salt", serde_json::json!("AAAA")),
        ("ciphertext", serde_json::json!("A".repeat(4000))),
        ("cipher", serde_json::json!("aes-gcm")),
        // A version-1 key list in a version-2 file.
        (
            "keys",
            serde_json::json!([{"index": 0, "public_key": "00".repeat(32)}]),
        ),
    ];
    for (field, value) in hostile {
        let mut v = genuine.clone();
        v[field] = value;
        let bytes = v.to_string().into_bytes();
        let err = Keystore::parse(&path, &bytes).unwrap_err();
        assert!(
            matches!(err, KeystoreError::Format { .. }),
            "{field}: {err}"
        );
    }
    // Unknown fields are refused too.
    let mut v = genuine.clone();
    v["extra"] = Value::from(1);
    assert!(Keystore::parse(&path, v.to_string().as_bytes()).is_err());
    // And the genuine one parses.
    assert!(Keystore::parse(&path, genuine.to_string().as_bytes()).is_ok());
}

#[test]
fn secrets_wipe_themselves() {
    // Compile-time: each type that holds key material zeroizes itself when dropped
    // (bip39's `Mnemonic` only with its `zeroize` feature, which the wallet turns on).
    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    wiped_on_drop::<bip39::Mnemonic>();
    wiped_on_drop::<ExtendedKey>();
    wiped_on_drop::<keys::Account>();
    wiped_on_drop::<ed25519_dalek::SigningKey>();
    wiped_on_drop::<wallet_cli::keystore::Unlocked>();
    wiped_on_drop::<zeroize::Zeroizing<[u8; 64]>>();
    // Debug output never shows key material.
    let m = keys::new_mnemonic().unwrap();
    let account = keys::Account::from_seed(&*keys::seed_of(&m), 0);
    assert_eq!(format!("{account:?}"), "Account(..)");
    assert_eq!(format!("{:?}", account.key(0)), "ExtendedKey(..)");
}

#[test]
fn account_keys_are_the_slip10_keys_of_the_receiving_path() {
    // The account's shortcut (the receiving chain kept) gives the keys of the full
    // path, as derived step by step from the master key.
    let seed = [7u8; 64];
    let account = keys::Account::from_seed(&seed, 0);
    for i in [0, 1, 19, 9_999] {
        let full = ExtendedKey::master(&seed).derive(&DerivationPath::receiving(0, i));
        assert_eq!(account.key(i).private_key(), full.private_key());
        assert_eq!(
            account.public_key(i),
            full.signing_key().verifying_key().to_bytes()
        );
    }
}

#[test]
fn words_outside_ascii_are_refused() {
    assert!(keys::parse_mnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abo\u{00fa}t").is_err());
}
