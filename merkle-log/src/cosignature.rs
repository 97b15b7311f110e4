//! C2SP tlog-cosignature v1 with Ed25519: a witness's timestamped statement that
//! a checkpoint is the largest consistent tree it has seen of that log.
//!
//! A cosignature is a signed-note signature line of type `0x04` whose signature
//! bytes are `u64 timestamp (big-endian) || Ed25519 signature`, and whose signed
//! message is
//!
//! ```text
//! cosignature/v1
//! time <timestamp in decimal>
//! <the whole checkpoint note text, ending in its newline>
//! ```
//!
//! [`cosigned_message`] is the one encoder of that message; [`Cosigner`] signs,
//! [`crate::VerifierKey`]s of kind [`crate::note::VerifierKind::Cosignature`]
//! verify (through [`crate::note::Note::verify`]).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signer as _;

use crate::checkpoint::Checkpoint;
use crate::error::{CosignError, KeyError};
use crate::note::{
    KeyId, KeyName, PrivateKey, SIG_TYPE_COSIGNATURE_V1, SIG_TYPE_ED25519, VerifierKey,
};

/// The header line of the signed message, without its newline.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1";
/// The largest timestamp a cosignature may carry (2^63 - 1).
pub const MAX_COSIGNATURE_TIME: u64 = i64::MAX as u64;
/// Bytes of a cosignature after the key ID: timestamp and Ed25519 signature.
const COSIGNATURE_LEN: usize = 8 + 64;

/// The message a v1 cosignature at `timestamp` signs over the note text `text`
/// (which ends in its newline): `cosignature/v1\ntime <timestamp>\n<text>`.
pub fn cosigned_message(timestamp: u64, text: &str) -> Vec<u8> {
    let time = timestamp.to_string();
    let mut m = Vec::with_capacity(COSIGNATURE_V1_HEADER.len() + 7 + time.len() + text.len());
    m.extend_from_slice(COSIGNATURE_V1_HEADER.as_bytes());
    m.extend_from_slice(b"\ntime ");
    m.extend_from_slice(time.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(text.as_bytes());
    m
}

/// Verifies a v1 cosignature (the signature bytes after the key ID) by `key` over
/// the note text `text`; returns its timestamp.
pub(crate) fn verify_v1(key: &ed25519_dalek::VerifyingKey, text: &str, sig: &[u8]) -> Option<u64> {
    let bytes = <&[u8; COSIGNATURE_LEN]>::try_from(sig).ok()?;
    let (time, sig) = bytes.split_first_chunk::<8>()?;
    let timestamp = u64::from_be_bytes(*time);
    if timestamp > MAX_COSIGNATURE_TIME {
        return None;
    }
    let sig = ed25519_dalek::Signature::from_bytes(&<[u8; 64]>::try_from(sig).ok()?);
    key.verify_strict(&cosigned_message(timestamp, text), &sig)
        .ok()?;
    Some(timestamp)
}

/// A witness's signing key: makes timestamped v1 cosignatures of checkpoints.
pub struct Cosigner {
    key: ed25519_dalek::SigningKey,
    verifier: VerifierKey,
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the seed.
        write!(f, "Cosigner({})", self.verifier)
    }
}

impl Cosigner {
    /// The cosigner named `name` with the 32-byte Ed25519 seed.
    pub fn from_seed(name: KeyName, seed: &[u8; 32]) -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let verifier = VerifierKey::cosignature(name, key.verifying_key());
        Cosigner { key, verifier }
    }

    /// Reads the private-key form `PRIVATE+KEY+name+hex8(keyID)+base64(type||seed)`.
    /// The type is `0x04` (what [`Cosigner::to_private_key`] writes) or `0x01` (a
    /// plain Ed25519 note key, as Go's `note.GenerateKey` writes, used as a
    /// cosigner); the key ID must be the one of that type.
    ///
    /// # Errors
    /// [`KeyError`] naming what is malformed; the message never includes the key.
    pub fn from_private_key(s: &str) -> Result<Self, KeyError> {
        let key = PrivateKey::parse(s, &[SIG_TYPE_COSIGNATURE_V1, SIG_TYPE_ED25519])?;
        let cosigner = Cosigner::from_seed(key.name, &key.seed);
        let public = cosigner.key.verifying_key();
        if KeyId::derive(cosigner.name(), key.alg, public.as_bytes()) != key.id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(cosigner)
    }

    /// The private-key form with type `0x04`, to be stored in a file readable only
    /// by its owner.
    pub fn to_private_key(&self) -> String {
        PrivateKey::format(&self.verifier, SIG_TYPE_COSIGNATURE_V1, self.key.as_bytes())
    }

    /// The matching verifier key (type `0x04`).
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The cosigner's name.
    pub fn name(&self) -> &KeyName {
        self.verifier.name()
    }

    /// The cosignature line (with its newline) over the checkpoint note text
    /// `text`, made at `timestamp` (seconds since the epoch).
    ///
    /// # Errors
    /// [`CosignError::NotANote`] or [`CosignError::NotACheckpoint`] when `text` is
    /// not a checkpoint note text,
    /// [`CosignError::Timestamp`] for a timestamp past 2^63 - 1.
    pub fn signature_line(&self, text: &str, timestamp: u64) -> Result<String, CosignError> {
        crate::note::check_text(text).map_err(CosignError::NotANote)?;
        Checkpoint::parse(text).map_err(CosignError::NotACheckpoint)?;
        if timestamp > MAX_COSIGNATURE_TIME {
            return Err(CosignError::Timestamp { timestamp });
        }
        let sig = self.key.sign(&cosigned_message(timestamp, text));
        let mut bytes = Vec::with_capacity(4 + COSIGNATURE_LEN);
        bytes.extend_from_slice(&self.verifier.id().0);
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "\u{2014} {} {}\n",
            self.verifier.name(),
            BASE64.encode(bytes)
        ))
    }
}
