//! C2SP signed notes: keys, signing and verification.
//!
//! A note is a UTF-8 text ending in a newline, a blank line, and one or more
//! signature lines `— <key name> <base64(key ID || signature)>`. Three signature
//! types are understood: Ed25519 (type `0x01`, what our log signs with), the
//! timestamped Ed25519 cosignature of C2SP tlog-cosignature (type `0x04`, what
//! witnesses sign with; see [`crate::cosignature`]) and the RFC 6962 tree-head
//! signature (type `0x05`, ECDSA P-256, what static-ct-api logs such as Sunlight
//! publish). Verification follows the signed-note rules: a
//! signature by a key the verifier does not know is ignored; a signature by a known
//! key that does not verify rejects the whole note; a note with no verified
//! signature by a known key is rejected.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signer as _;
use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::DecodePublicKey as _;
use sha2::{Digest, Sha256};

use crate::checkpoint::Checkpoint;
use crate::error::{KeyError, NoteError};

/// Signature type byte of Ed25519 note keys.
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of C2SP tlog-cosignature v1 Ed25519 cosignatures.
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;
/// Signature type byte of RFC 6962 tree-head note signatures (static-ct-api).
pub const SIG_TYPE_RFC6962: u8 = 0x05;
/// At most this many signature lines are read (as Go's `sumdb/note` does).
pub const MAX_SIGNATURES: usize = 100;
/// The prefix of every signature line: an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Prefix of the Go / C2SP private-key encoding.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// A key name: non-empty, no whitespace, no `+`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyName(String);

impl KeyName {
    /// Validates a key name.
    ///
    /// # Errors
    /// [`KeyError::Name`] when it is empty or holds whitespace or `+`.
    pub fn new(name: &str) -> Result<Self, KeyError> {
        if is_valid_name(name) {
            // INVARIANT: non-empty, no Unicode whitespace, no '+'.
            Ok(KeyName(name.to_owned()))
        } else {
            Err(KeyError::Name)
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(char::is_whitespace) && !name.contains('+')
}

/// The 4-byte key ID that prefixes every signature: the first four bytes of
/// `SHA-256(name || 0x0A || type || key material)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    /// Derives the key ID of a key.
    pub fn derive(name: &KeyName, sig_type: u8, key_material: &[u8]) -> KeyId {
        let mut h = Sha256::new();
        h.update(name.as_str().as_bytes());
        h.update([b'\n', sig_type]);
        h.update(key_material);
        let digest = h.finalize();
        let mut id = [0u8; 4];
        id.copy_from_slice(digest.get(..4).unwrap_or(&[0; 4]));
        KeyId(id)
    }

    fn parse_hex(s: &str) -> Result<KeyId, KeyError> {
        let mut id = [0u8; 4];
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KeyError::KeyIdEncoding);
        }
        hex::decode_to_slice(s, &mut id).map_err(|_| KeyError::KeyIdEncoding)?;
        Ok(KeyId(id))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The public half of a note key, as written `name+hex8(keyID)+base64(type||key)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: KeyName,
    id: KeyId,
    kind: VerifierKind,
}

/// The algorithm of a verifier key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifierKind {
    /// Ed25519 (type 0x01), verified with `verify_strict`.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// An Ed25519 cosigner (type 0x04): timestamped `cosignature/v1` signatures,
    /// verified with `verify_strict`.
    Cosignature(ed25519_dalek::VerifyingKey),
    /// RFC 6962 tree-head signature (type 0x05) by an ECDSA P-256 key.
    Rfc6962(Rfc6962Key),
}

/// An RFC 6962 log's ECDSA P-256 public key with its log ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rfc6962Key {
    key: p256::ecdsa::VerifyingKey,
    spki_der: Vec<u8>,
    log_id: [u8; 32],
}

impl Rfc6962Key {
    /// Reads a SubjectPublicKeyInfo (DER) holding a P-256 key.
    ///
    /// # Errors
    /// [`KeyError::PublicKey`] when the DER is not a P-256 public key.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let key =
            p256::ecdsa::VerifyingKey::from_public_key_der(der).map_err(|_| KeyError::PublicKey)?;
        Ok(Rfc6962Key {
            key,
            spki_der: der.to_vec(),
            log_id: Sha256::digest(der).into(),
        })
    }

    /// The RFC 6962 log ID: SHA-256 of the SubjectPublicKeyInfo.
    pub fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    /// Verifies an RFC 6962 `digitally-signed` tree head (`TreeHeadSignature`, v1):
    /// `tree_head_signature` is the TLS `DigitallySigned` structure (SHA-256,
    /// ECDSA, 2-byte length, DER signature) exactly as `get-sth` returns it.
    ///
    /// # Errors
    /// [`NoteError::Rfc6962Encoding`] for a malformed structure,
    /// [`NoteError::BadSignature`] when the signature does not verify.
    pub fn verify_tree_head(
        &self,
        timestamp_ms: u64,
        tree_size: u64,
        root: &crate::Hash,
        tree_head_signature: &[u8],
    ) -> Result<(), NoteError> {
        let der = parse_digitally_signed(tree_head_signature)?;
        let sig = p256::ecdsa::Signature::from_der(der).map_err(|_| NoteError::Rfc6962Encoding)?;
        let mut msg = Vec::with_capacity(50);
        msg.extend_from_slice(&[0x00, 0x01]);
        msg.extend_from_slice(&timestamp_ms.to_be_bytes());
        msg.extend_from_slice(&tree_size.to_be_bytes());
        msg.extend_from_slice(root.as_bytes());
        self.key
            .verify(&msg, &sig)
            .map_err(|_| NoteError::BadSignature {
                key: "RFC 6962 log key".to_owned(),
            })
    }
}

/// Splits a TLS `DigitallySigned` (hash SHA-256 = 4, signature ECDSA = 3, u16
/// length, signature) and returns the signature bytes.
fn parse_digitally_signed(bytes: &[u8]) -> Result<&[u8], NoteError> {
    let (head, rest) = bytes
        .split_first_chunk::<4>()
        .ok_or(NoteError::Rfc6962Encoding)?;
    let [hash_alg, sig_alg, len_hi, len_lo] = *head;
    if hash_alg != 4
        || sig_alg != 3
        || usize::from(u16::from_be_bytes([len_hi, len_lo])) != rest.len()
    {
        return Err(NoteError::Rfc6962Encoding);
    }
    Ok(rest)
}

impl VerifierKey {
    /// The Ed25519 verifier key of `name`.
    pub fn ed25519(name: KeyName, key: ed25519_dalek::VerifyingKey) -> Self {
        let mut material = [0u8; 32];
        material.copy_from_slice(key.as_bytes());
        let id = KeyId::derive(&name, SIG_TYPE_ED25519, &material);
        VerifierKey {
            name,
            id,
            kind: VerifierKind::Ed25519(key),
        }
    }

    /// The cosigner (type 0x04) verifier key of `name`, for C2SP tlog-cosignature v1.
    pub fn cosignature(name: KeyName, key: ed25519_dalek::VerifyingKey) -> Self {
        let id = KeyId::derive(&name, SIG_TYPE_COSIGNATURE_V1, key.as_bytes());
        VerifierKey {
            name,
            id,
            kind: VerifierKind::Cosignature(key),
        }
    }

    /// The RFC 6962 (type 0x05) verifier key of a log whose origin is `name`.
    pub fn rfc6962(name: KeyName, key: Rfc6962Key) -> Self {
        let id = KeyId::derive(&name, SIG_TYPE_RFC6962, &key.log_id);
        VerifierKey {
            name,
            id,
            kind: VerifierKind::Rfc6962(key),
        }
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The algorithm and key.
    pub fn kind(&self) -> &VerifierKind {
        &self.kind
    }

    /// Checks one signature (the bytes after the key ID) over a note text and
    /// returns the time it carries, if its type carries one.
    fn verify(&self, text: &str, sig: &[u8]) -> Result<SignedTime, NoteError> {
        let bad = || NoteError::BadSignature {
            key: format!("{}+{}", self.name, self.id),
        };
        match &self.kind {
            VerifierKind::Ed25519(key) => {
                let bytes = <[u8; 64]>::try_from(sig).map_err(|_| bad())?;
                let sig = ed25519_dalek::Signature::from_bytes(&bytes);
                key.verify_strict(text.as_bytes(), &sig)
                    .map_err(|_| bad())?;
                Ok(SignedTime::None)
            }
            VerifierKind::Cosignature(key) => crate::cosignature::verify_v1(key, text, sig)
                .map(SignedTime::CosignedAt)
                .ok_or_else(bad),
            VerifierKind::Rfc6962(key) => {
                let (ts, rest) = sig.split_first_chunk::<8>().ok_or_else(bad)?;
                let timestamp = u64::from_be_bytes(*ts);
                let cp = Checkpoint::parse(text).map_err(|_| bad())?;
                // The tree-head signature covers origin, size and root only; a
                // checkpoint with more lines would carry unsigned claims.
                if cp.origin() != self.name.as_str() || !cp.extensions().is_empty() {
                    return Err(bad());
                }
                key.verify_tree_head(timestamp, cp.size(), &cp.root(), rest)
                    .map_err(|_| bad())?;
                Ok(SignedTime::Rfc6962Millis(timestamp))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = Vec::new();
        match &self.kind {
            VerifierKind::Ed25519(k) => {
                material.push(SIG_TYPE_ED25519);
                material.extend_from_slice(k.as_bytes());
            }
            VerifierKind::Cosignature(k) => {
                material.push(SIG_TYPE_COSIGNATURE_V1);
                material.extend_from_slice(k.as_bytes());
            }
            VerifierKind::Rfc6962(k) => {
                material.push(SIG_TYPE_RFC6962);
                material.extend_from_slice(&k.spki_der);
            }
        }
        write!(f, "{}+{}+{}", self.name, self.id, BASE64.encode(material))
    }
}

impl FromStr for VerifierKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        // A P-256 SPKI is 91 bytes; bound the decode well above that.
        let (name, id, material) = split_key(s.trim(), 256)?;
        let (&alg, key) = material.split_first().ok_or(KeyError::KeyEncoding)?;
        let vkey = match alg {
            SIG_TYPE_ED25519 => VerifierKey::ed25519(name, ed25519_key(key)?),
            SIG_TYPE_COSIGNATURE_V1 => VerifierKey::cosignature(name, ed25519_key(key)?),
            SIG_TYPE_RFC6962 => VerifierKey::rfc6962(name, Rfc6962Key::from_spki_der(key)?),
            other => return Err(KeyError::UnknownType(other)),
        };
        if vkey.id != id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(vkey)
    }
}

/// An Ed25519 public key from its 32 bytes.
fn ed25519_key(bytes: &[u8]) -> Result<ed25519_dalek::VerifyingKey, KeyError> {
    let bytes = <[u8; 32]>::try_from(bytes).map_err(|_| KeyError::KeyLength)?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::PublicKey)
}

/// Splits `name+hex8+base64` (the base64 may itself hold `+`) and decodes the
/// key material, refusing base64 longer than `max_b64` characters.
fn split_key(s: &str, max_b64: usize) -> Result<(KeyName, KeyId, Vec<u8>), KeyError> {
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyError::Parts);
    };
    let name = KeyName::new(name)?;
    let id = KeyId::parse_hex(id)?;
    if b64.len() > max_b64 {
        return Err(KeyError::KeyEncoding);
    }
    let material = BASE64.decode(b64).map_err(|_| KeyError::KeyEncoding)?;
    Ok((name, id, material))
}

/// The parts of an Ed25519 private key
/// `PRIVATE+KEY+name+hex8(keyID)+base64(type||seed)`.
pub(crate) struct PrivateKey {
    pub(crate) name: KeyName,
    pub(crate) id: KeyId,
    pub(crate) alg: u8,
    pub(crate) seed: [u8; 32],
}

impl PrivateKey {
    /// Reads a private key whose type is one of `types`.
    pub(crate) fn parse(s: &str, types: &[u8]) -> Result<PrivateKey, KeyError> {
        let rest = s
            .trim()
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(KeyError::NotPrivate)?;
        let (name, id, material) = split_key(rest, 64)?;
        let (&alg, seed) = material.split_first().ok_or(KeyError::KeyEncoding)?;
        if !types.contains(&alg) {
            return Err(KeyError::UnknownType(alg));
        }
        let seed = <[u8; 32]>::try_from(seed).map_err(|_| KeyError::KeyLength)?;
        Ok(PrivateKey {
            name,
            id,
            alg,
            seed,
        })
    }

    /// The private-key form of `seed` with type `alg`, for the key `verifier`.
    pub(crate) fn format(verifier: &VerifierKey, alg: u8, seed: &[u8; 32]) -> String {
        let mut material = vec![alg];
        material.extend_from_slice(seed);
        format!(
            "{PRIVATE_PREFIX}{}+{}+{}",
            verifier.name,
            verifier.id,
            BASE64.encode(material)
        )
    }
}

/// An Ed25519 note signer: the private half of a log key.
#[derive(Clone)]
pub struct NoteSigner {
    name: KeyName,
    key: ed25519_dalek::SigningKey,
    verifier: VerifierKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the seed.
        write!(f, "NoteSigner({})", self.verifier)
    }
}

impl NoteSigner {
    /// The signer of `name` with the 32-byte Ed25519 seed.
    pub fn from_seed(name: KeyName, seed: &[u8; 32]) -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let verifier = VerifierKey::ed25519(name.clone(), key.verifying_key());
        NoteSigner {
            name,
            key,
            verifier,
        }
    }

    /// Reads the private-key form `PRIVATE+KEY+name+hex8(keyID)+base64(0x01||seed)`.
    ///
    /// # Errors
    /// [`KeyError`] naming what is malformed; the message never includes the key.
    pub fn from_private_key(s: &str) -> Result<Self, KeyError> {
        let key = PrivateKey::parse(s, &[SIG_TYPE_ED25519])?;
        let signer = NoteSigner::from_seed(key.name, &key.seed);
        if signer.verifier.id != key.id {
            return Err(KeyError::KeyIdMismatch);
        }
        Ok(signer)
    }

    /// The private-key form, to be stored in a file readable only by its owner.
    pub fn to_private_key(&self) -> String {
        PrivateKey::format(&self.verifier, SIG_TYPE_ED25519, self.key.as_bytes())
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The signature line (with its newline) over `text`.
    pub fn signature_line(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut bytes = Vec::with_capacity(68);
        bytes.extend_from_slice(&self.verifier.id.0);
        bytes.extend_from_slice(&sig.to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(bytes))
    }

    /// Signs `text` (which must be a well-formed note text: non-empty lines, each
    /// ending in a newline) and returns the whole note.
    ///
    /// # Errors
    /// [`NoteError::Malformed`] when the text is not a valid note text.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        Ok(format!("{text}\n{}", self.signature_line(text)))
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name on the line.
    pub name: String,
    /// The key ID (first 4 bytes of the decoded signature).
    pub key_id: KeyId,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

/// A note split into its text and its signatures, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

fn malformed(why: &'static str) -> NoteError {
    NoteError::Malformed { why }
}

/// The note text rules: no control characters but newlines, ends in a newline,
/// no blank line.
pub(crate) fn check_text(text: &str) -> Result<(), NoteError> {
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(malformed("control character in note"));
    }
    if !text.ends_with('\n') {
        return Err(malformed("note text does not end in a newline"));
    }
    if text.starts_with('\n') || text.contains("\n\n") {
        return Err(malformed("blank line in note text"));
    }
    Ok(())
}

impl Note {
    /// Splits a signed note into its text and signature lines.
    ///
    /// # Errors
    /// [`NoteError::Malformed`] when the note breaks the format.
    pub fn parse(msg: &str) -> Result<Note, NoteError> {
        if msg.chars().any(|c| c < ' ' && c != '\n') {
            return Err(malformed("control character in note"));
        }
        let split = msg
            .rfind("\n\n")
            .ok_or(malformed("no blank line before the signatures"))?;
        let text = msg.get(..=split).ok_or(malformed("bad split"))?;
        let sigs = msg.get(split + 2..).ok_or(malformed("bad split"))?;
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(malformed("signatures do not end in a newline"));
        };
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(malformed("too many signatures"));
            }
            let line = line
                .strip_prefix(SIG_PREFIX)
                .ok_or(malformed("signature line does not start with an em dash"))?;
            let (name, b64) = line
                .split_once(' ')
                .ok_or(malformed("signature line has no key name"))?;
            if !is_valid_name(name) {
                return Err(malformed("invalid key name on signature line"));
            }
            let bytes = BASE64
                .decode(b64)
                .map_err(|_| malformed("signature is not base64"))?;
            let (id, sig) = bytes
                .split_first_chunk::<4>()
                .filter(|(_, sig)| !sig.is_empty())
                .ok_or(malformed("signature too short"))?;
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: KeyId(*id),
                signature: sig.to_vec(),
            });
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text (ending in its newline, without the blank line).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Verifies the note against `keys` under the signed-note rules.
    ///
    /// # Errors
    /// [`NoteError::BadSignature`] when a known key's signature fails,
    /// [`NoteError::NoVerifiedSignature`] when no known key signed.
    pub fn verify(&self, keys: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        let mut unverified = 0usize;
        for sig in &self.signatures {
            let key = keys
                .iter()
                .find(|k| k.name.as_str() == sig.name && k.id == sig.key_id);
            let Some(key) = key else {
                unverified += 1;
                continue;
            };
            let time = key.verify(&self.text, &sig.signature)?;
            if !verified.iter().any(|v| v.key == *key) {
                let (timestamp_ms, cosigned_at) = match time {
                    SignedTime::None => (None, None),
                    SignedTime::Rfc6962Millis(ms) => (Some(ms), None),
                    SignedTime::CosignedAt(s) => (None, Some(s)),
                };
                verified.push(VerifiedSignature {
                    key: key.clone(),
                    timestamp_ms,
                    cosigned_at,
                });
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoVerifiedSignature);
        }
        Ok(VerifiedNote {
            text: self.text.clone(),
            verified,
            unverified,
        })
    }
}

/// A signature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key that made it.
    pub key: VerifierKey,
    /// For RFC 6962 (type 0x05) signatures, the signed timestamp in milliseconds.
    pub timestamp_ms: Option<u64>,
    /// For cosignatures (type 0x04), the signed POSIX time in seconds.
    pub cosigned_at: Option<u64>,
}

/// The time a verified signature carries, by signature type.
enum SignedTime {
    /// Plain Ed25519: no time.
    None,
    /// An RFC 6962 tree-head signature: milliseconds since the epoch.
    Rfc6962Millis(u64),
    /// A cosignature: seconds since the epoch.
    CosignedAt(u64),
}

/// A note whose signatures were checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The signed text.
    pub text: String,
    /// Signatures by known keys, each verified (one per key).
    pub verified: Vec<VerifiedSignature>,
    /// Signature lines by keys the verifier does not know, ignored.
    pub unverified: usize,
}

/// Parses and verifies a signed note in one step.
///
/// # Errors
/// As [`Note::parse`] and [`Note::verify`].
pub fn verify_note(msg: &str, keys: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
    Note::parse(msg)?.verify(keys)
}
