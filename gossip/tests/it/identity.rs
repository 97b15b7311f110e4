//! The node key file: created 0600, loaded back, refused when exposed or malformed.

use std::{fs, os::unix::fs::PermissionsExt};

use gossip::{KeyError, load_or_create_keypair};

#[test]
fn key_file_is_created_private_and_loads_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("node.key");
    let first = load_or_create_keypair(&path).expect("created");
    let mode = fs::metadata(&path).expect("exists").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = load_or_create_keypair(&path).expect("loaded");
    assert_eq!(first.public().to_peer_id(), again.public().to_peer_id());
    // libp2p's private key encoding: protobuf KeyType=Ed25519 (1), 64-byte Data field.
    let bytes = fs::read(&path).expect("read");
    assert_eq!(bytes.get(..4), Some(&[0x08, 0x01, 0x12, 0x40][..]));
    assert_eq!(bytes.len(), 68);

    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(matches!(
        load_or_create_keypair(&path),
        Err(KeyError::Permissions { mode: 0o644, .. })
    ));

    let junk = dir.path().join("junk.key");
    fs::write(&junk, b"not a key").expect("write");
    fs::set_permissions(&junk, fs::Permissions::from_mode(0o600)).expect("chmod");
    assert!(matches!(
        load_or_create_keypair(&junk),
        Err(KeyError::Malformed { .. })
    ));
}
