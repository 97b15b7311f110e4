//! Key derivation against SLIP-0010 and BIP39 published vectors; the keystore's
//! promises (0600, wrong passphrase, tampering, no secrets in the file).

use std::os::unix::fs::PermissionsExt as _;

use serde_json::Value;
use wallet_cli::keys::{self, DerivationPath, ExtendedKey};
use wallet_cli::keystore::{KdfCost, Keystore, KeystoreError};

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
    let mut ks = Keystore::create(&wdir, "regtest", &m, "correct horse", TEST_COST).unwrap();
    let path = wdir.join("keystore.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Neither the words nor any private key appear in the file.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("legal") && !text.contains("sausage"));
    let seed = keys::seed_of(&m);
    let k0 = ExtendedKey::master(&seed).derive(&DerivationPath::receiving(0, 0));
    assert!(!text.contains(&hex::encode(k0.private_key())));

    // A second wallet in the same place is refused.
    assert!(matches!(
        Keystore::create(&wdir, "regtest", &m, "x", TEST_COST),
        Err(KeystoreError::Exists { .. })
    ));

    // Right and wrong passphrases.
    let unlocked = ks.unlock("correct horse").unwrap();
    assert_eq!(unlocked.mnemonic(), m.to_string());
    assert!(matches!(
        ks.unlock("wrong"),
        Err(KeystoreError::WrongPassphrase)
    ));

    // A new key is recorded and survives reopening; the file is unchanged by a
    // failed unlock.
    let e = ks.add_key(&unlocked).unwrap();
    assert_eq!(e.index, 1);
    let before = std::fs::read(&path).unwrap();
    let reopened = Keystore::open(&wdir).unwrap();
    assert!(reopened.unlock("nope").is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(reopened.keys().len(), 2);
    assert_eq!(
        reopened.keys()[1].public_key,
        hex::encode(
            ExtendedKey::master(&seed)
                .derive(&DerivationPath::receiving(0, 1))
                .signing_key()
                .verifying_key()
                .as_bytes()
        )
    );

    // Changing the network in the file breaks the seal.
    let tampered = text.replace("\"regtest\"", "\"testnet\"");
    std::fs::write(&path, tampered).unwrap();
    assert!(matches!(
        Keystore::open(&wdir).unwrap().unlock("correct horse"),
        Err(KeystoreError::WrongPassphrase)
    ));
}

#[test]
fn keystore_rejects_a_swapped_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let m = keys::new_mnemonic().unwrap();
    Keystore::create(dir.path(), "regtest", &m, "pw", TEST_COST).unwrap();
    let path = dir.path().join("keystore.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["keys"][0]["public_key"] = Value::String("00".repeat(32));
    std::fs::write(&path, v.to_string()).unwrap();
    let err = Keystore::open(dir.path())
        .unwrap()
        .unlock("pw")
        .unwrap_err();
    assert!(err.to_string().contains("does not derive"), "{err}");
}

#[test]
fn hostile_keystore_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keystore.json");
    assert!(matches!(
        Keystore::open(dir.path()),
        Err(KeystoreError::Missing { .. })
    ));
    for text in ["", "{}", "[]", "not json", "{\"version\":2}"] {
        std::fs::write(&path, text).unwrap();
        assert!(
            matches!(
                Keystore::open(dir.path()),
                Err(KeystoreError::Format { .. })
            ),
            "{text}"
        );
    }
    // An absurd KDF cost is refused before any memory is allocated.
    let m = keys::new_mnemonic().unwrap();
    std::fs::remove_file(&path).unwrap();
    Keystore::create(dir.path(), "regtest", &m, "pw", TEST_COST).unwrap();
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["kdf_cost"]["memory_kib"] = Value::from(u32::MAX);
    std::fs::write(&path, v.to_string()).unwrap();
    let err = Keystore::open(dir.path())
        .unwrap()
        .unlock("pw")
        .unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
}
