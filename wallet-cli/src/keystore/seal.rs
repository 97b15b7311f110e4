//! The keystore's cryptography: Argon2id stretching, XChaCha20-Poly1305 sealing
//! with the version's associated data, and the HMAC-SHA256 codes under the
//! wallet's file key that authenticate its key list and its other files.

use argon2::{Algorithm, Argon2, Block, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::KdfCost;
use crate::keys;

pub(super) fn aad(version: u32, network: &str, cost: &KdfCost, salt: &[u8]) -> Vec<u8> {
    format!(
        "open-trust keystore v{version}\nnetwork {network}\nargon2id m={} t={} p={}\nsalt {}\n",
        cost.memory_kib,
        cost.iterations,
        cost.parallelism,
        B64.encode(salt)
    )
    .into_bytes()
}

pub(super) fn stretch(
    passphrase: &str,
    salt: &[u8],
    cost: &KdfCost,
) -> Result<Zeroizing<[u8; 32]>, String> {
    let params = cost.check()?;
    let mut key = Zeroizing::new([0u8; 32]);
    // Argon2's memory determines the key; it is ours to wipe.
    let mut memory = Zeroizing::new(vec![Block::default(); params.block_count()]);
    let hashed = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into_with_memory(
            passphrase.as_bytes(),
            salt,
            &mut *key,
            memory.as_mut_slice(),
        );
    drop(memory);
    keys::scrub_stack();
    hashed.map_err(|e| format!("key derivation: {e}"))?;
    Ok(key)
}

/// The key that authenticates the wallet's files: HMAC-SHA256 keyed by the seed.
pub(super) fn mac_key_of(seed: &[u8; 64]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    let mut tag = hmac_sha256(seed, &[b"open-trust wallet file authentication"]);
    out.copy_from_slice(&tag);
    tag.zeroize();
    out
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = new_mac(key);
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn new_mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

/// The bytes the key list's authentication code covers: the network, the count and
/// every public key in order.
pub(super) fn key_list_bytes(network: &str, keys: &[[u8; 32]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(network.len() + 5 + 32 * keys.len());
    out.extend_from_slice(network.as_bytes());
    out.push(0);
    let count = u32::try_from(keys.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    for k in keys {
        out.extend_from_slice(k);
    }
    out
}

/// The domain of each authentication code made with the wallet's file key.
pub(super) const KEY_LIST_LABEL: &str = "keystore key list";

pub(super) fn tag(mac_key: &[u8; 32], label: &str, data: &[u8]) -> [u8; 32] {
    hmac_sha256(mac_key, &[label.as_bytes(), &[0], data])
}

/// Whether `code` is the tag of `data` in the domain `label` (constant time).
pub(super) fn verify_tag(mac_key: &[u8; 32], label: &str, data: &[u8], code: &[u8]) -> bool {
    let mut mac = new_mac(mac_key);
    mac.update(label.as_bytes());
    mac.update(&[0]);
    mac.update(data);
    mac.verify_slice(code).is_ok()
}

/// Encrypts the words under the stretched key with the version's associated data.
pub(super) fn seal(
    key: &[u8; 32],
    nonce: &[u8; 24],
    version: u32,
    network: &str,
    cost: &KdfCost,
    salt: &[u8],
    phrase: &str,
) -> Result<Vec<u8>, String> {
    let ad = aad(version, network, cost, salt);
    XChaCha20Poly1305::new(key.into())
        .encrypt(
            &XNonce::from(*nonce),
            Payload {
                msg: phrase.as_bytes(),
                aad: &ad,
            },
        )
        .map_err(|_| "encryption failed".to_string())
}
