//! The encrypted keystore file: the mnemonic sealed with a passphrase.
//!
//! `DIR/keystore.json` holds, in the clear, the format version, the network, the
//! key-derivation parameters and the public keys handed out so far (so a balance
//! needs no passphrase); the mnemonic is sealed with XChaCha20-Poly1305 under a key
//! stretched from the passphrase by Argon2id. The associated data binds the version,
//! network and KDF parameters, so none can be changed without the passphrase
//! noticing. Public keys are re-derived and compared whenever the keystore is
//! unlocked. The file is written 0600, atomically (temporary file, fsync, rename,
//! fsync of the directory).

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bip39::Mnemonic;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::fsutil::write_atomic;
use crate::keys::{self, DerivationPath, ExtendedKey};

/// The keystore's file name inside the wallet directory.
pub const FILE_NAME: &str = "keystore.json";
const FORMAT_VERSION: u32 = 1;
/// The largest keystore file read (a keystore is a few kilobytes).
const MAX_FILE_LEN: u64 = 1 << 20;

/// What goes wrong with a keystore.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// No keystore in the directory.
    #[error("no wallet in {dir}: create one with `wallet create` or `wallet restore`")]
    Missing {
        /// The wallet directory.
        dir: PathBuf,
    },
    /// A keystore is already there.
    #[error("a wallet already exists in {dir}; choose another directory with --wallet")]
    Exists {
        /// The wallet directory.
        dir: PathBuf,
    },
    /// The passphrase does not open the keystore (or the file was altered).
    #[error("wrong passphrase (or the keystore file was altered)")]
    WrongPassphrase,
    /// The file is not a keystore this program can read.
    #[error("keystore {path} is damaged or of an unknown format: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The operating system gave no randomness.
    #[error("no randomness from the operating system: {0}")]
    Random(getrandom::Error),
}

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfCost {
    /// 64 MiB, 3 passes, 1 lane: a few hundred milliseconds per unlock.
    pub const DEFAULT: KdfCost = KdfCost {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    fn check(&self) -> Result<Params, String> {
        // Refuse absurd costs from a hostile file before allocating anything.
        if self.memory_kib > 4 * 1024 * 1024 || self.iterations > 100 || self.parallelism > 16 {
            return Err("key-derivation cost is out of range".into());
        }
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| format!("key-derivation parameters: {e}"))
    }
}

/// One key handed out: its path index and public key (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyEntry {
    /// Child index under the account's receiving path.
    pub index: u32,
    /// The Ed25519 public key, hex.
    pub public_key: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    version: u32,
    network: String,
    kdf: String,
    kdf_cost: KdfCost,
    salt: String,
    cipher: String,
    nonce: String,
    ciphertext: String,
    keys: Vec<PublicKeyEntry>,
}

/// An opened keystore: the public part in memory, the secret still sealed.
#[derive(Debug)]
pub struct Keystore {
    path: PathBuf,
    file: FileFormat,
}

/// The unsealed secret: wiped from memory when dropped.
pub struct Unlocked {
    seed: Zeroizing<[u8; 64]>,
    mnemonic: Zeroizing<String>,
}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.write_str("Unlocked(..)")
    }
}

impl Unlocked {
    /// The account's key at `index`.
    pub fn key(&self, index: u32) -> ExtendedKey {
        ExtendedKey::master(&*self.seed).derive(&DerivationPath::receiving(0, index))
    }

    /// The mnemonic's words (for an explicit export only).
    pub fn mnemonic(&self) -> &str {
        &self.mnemonic
    }
}

fn aad(version: u32, network: &str, cost: &KdfCost, salt: &str) -> Vec<u8> {
    format!(
        "open-trust keystore v{version}\nnetwork {network}\nargon2id m={} t={} p={}\nsalt {salt}\n",
        cost.memory_kib, cost.iterations, cost.parallelism
    )
    .into_bytes()
}

fn stretch(passphrase: &str, salt: &[u8], cost: &KdfCost) -> Result<Zeroizing<[u8; 32]>, String> {
    let params = cost.check()?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut *key)
        .map_err(|e| format!("key derivation: {e}"))?;
    Ok(key)
}

fn public_key_hex(key: &ExtendedKey) -> String {
    hex::encode(key.signing_key().verifying_key().as_bytes())
}

impl Keystore {
    /// Creates the keystore of a new wallet in `dir` (made 0700 if missing).
    ///
    /// # Errors
    /// When a keystore exists there already, or on I/O failure.
    pub fn create(
        dir: &Path,
        network: &str,
        mnemonic: &Mnemonic,
        passphrase: &str,
        cost: KdfCost,
    ) -> Result<Keystore, KeystoreError> {
        let path = dir.join(FILE_NAME);
        if path.exists() {
            return Err(KeystoreError::Exists {
                dir: dir.to_path_buf(),
            });
        }
        fs::create_dir_all(dir).map_err(|source| KeystoreError::Io {
            action: "creating wallet directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));

        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut salt).map_err(KeystoreError::Random)?;
        getrandom::fill(&mut nonce).map_err(KeystoreError::Random)?;
        let salt_b64 = B64.encode(salt);
        let key = stretch(passphrase, &salt, &cost).map_err(|reason| KeystoreError::Format {
            path: path.clone(),
            reason,
        })?;
        let phrase = Zeroizing::new(mnemonic.to_string());
        let ad = aad(FORMAT_VERSION, network, &cost, &salt_b64);
        let ciphertext = XChaCha20Poly1305::new((&*key).into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: phrase.as_bytes(),
                    aad: &ad,
                },
            )
            .map_err(|_| KeystoreError::Format {
                path: path.clone(),
                reason: "encryption failed".into(),
            })?;
        let seed = Zeroizing::new(keys::seed_of(mnemonic));
        let first = ExtendedKey::master(&*seed).derive(&DerivationPath::receiving(0, 0));
        let store = Keystore {
            path,
            file: FileFormat {
                version: FORMAT_VERSION,
                network: network.to_string(),
                kdf: "argon2id".into(),
                kdf_cost: cost,
                salt: salt_b64,
                cipher: "xchacha20poly1305".into(),
                nonce: B64.encode(nonce),
                ciphertext: B64.encode(ciphertext),
                keys: vec![PublicKeyEntry {
                    index: 0,
                    public_key: public_key_hex(&first),
                }],
            },
        };
        store.save()?;
        Ok(store)
    }

    /// Opens the keystore in `dir` (the public part; nothing is decrypted).
    ///
    /// # Errors
    /// When there is none, or it is not a keystore of this format.
    pub fn open(dir: &Path) -> Result<Keystore, KeystoreError> {
        let path = dir.join(FILE_NAME);
        let format_err = |reason: String| KeystoreError::Format {
            path: path.clone(),
            reason,
        };
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeystoreError::Missing {
                    dir: dir.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(KeystoreError::Io {
                    action: "reading",
                    path,
                    source,
                });
            }
        };
        if meta.len() > MAX_FILE_LEN {
            return Err(format_err("file is too large to be a keystore".into()));
        }
        let text = fs::read_to_string(&path).map_err(|source| KeystoreError::Io {
            action: "reading",
            path: path.clone(),
            source,
        })?;
        let file: FileFormat =
            serde_json::from_str(&text).map_err(|e| format_err(e.to_string()))?;
        if file.version != FORMAT_VERSION {
            return Err(format_err(format!("format version {}", file.version)));
        }
        if file.kdf != "argon2id" || file.cipher != "xchacha20poly1305" {
            return Err(format_err(format!(
                "algorithms {} / {}",
                file.kdf, file.cipher
            )));
        }
        Ok(Keystore { path, file })
    }

    /// The network this wallet belongs to.
    pub fn network(&self) -> &str {
        &self.file.network
    }

    /// The public keys handed out so far, oldest first.
    pub fn keys(&self) -> &[PublicKeyEntry] {
        &self.file.keys
    }

    /// Unseals the mnemonic and checks every stored public key against it.
    ///
    /// # Errors
    /// [`KeystoreError::WrongPassphrase`] when the passphrase (or the file) is wrong.
    pub fn unlock(&self, passphrase: &str) -> Result<Unlocked, KeystoreError> {
        let format_err = |reason: String| KeystoreError::Format {
            path: self.path.clone(),
            reason,
        };
        let f = &self.file;
        let salt = B64
            .decode(&f.salt)
            .map_err(|e| format_err(format!("salt: {e}")))?;
        let nonce = B64
            .decode(&f.nonce)
            .map_err(|e| format_err(format!("nonce: {e}")))?;
        let ciphertext = B64
            .decode(&f.ciphertext)
            .map_err(|e| format_err(format!("ciphertext: {e}")))?;
        let nonce: [u8; 24] = nonce
            .try_into()
            .map_err(|_| format_err("the nonce is not 24 bytes".into()))?;
        if salt.len() < 8 {
            return Err(format_err("the salt is shorter than 8 bytes".into()));
        }
        let key = stretch(passphrase, &salt, &f.kdf_cost).map_err(format_err)?;
        let ad = aad(f.version, &f.network, &f.kdf_cost, &f.salt);
        let mut plain = XChaCha20Poly1305::new((&*key).into())
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &ad,
                },
            )
            .map_err(|_| KeystoreError::WrongPassphrase)?;
        let phrase = Zeroizing::new(String::from_utf8(plain.clone()).unwrap_or_default());
        plain.zeroize();
        let mnemonic = keys::parse_mnemonic(&phrase).map_err(|e| format_err(e.to_string()))?;
        let unlocked = Unlocked {
            seed: Zeroizing::new(keys::seed_of(&mnemonic)),
            mnemonic: phrase,
        };
        for entry in &f.keys {
            if public_key_hex(&unlocked.key(entry.index)) != entry.public_key {
                return Err(format_err(format!(
                    "stored public key {} does not derive from the sealed mnemonic",
                    entry.index
                )));
            }
        }
        Ok(unlocked)
    }

    /// The next key, derived but not yet recorded.
    pub fn next_key(&self, unlocked: &Unlocked) -> PublicKeyEntry {
        let index = self.file.keys.last().map_or(0, |k| k.index + 1);
        PublicKeyEntry {
            index,
            public_key: public_key_hex(&unlocked.key(index)),
        }
    }

    /// Records a key from [`Keystore::next_key`] and saves the file.
    ///
    /// # Errors
    /// On I/O failure; the keystore is then unchanged.
    pub fn record_key(&mut self, entry: PublicKeyEntry) -> Result<(), KeystoreError> {
        self.file.keys.push(entry);
        let saved = self.save();
        if saved.is_err() {
            self.file.keys.pop();
        }
        saved
    }

    /// Forgets the newest key if it is `entry` (a change key whose transaction the
    /// node refused), and saves the file.
    ///
    /// # Errors
    /// On I/O failure.
    pub fn forget_key(&mut self, entry: &PublicKeyEntry) -> Result<(), KeystoreError> {
        if self.file.keys.last() == Some(entry) && self.file.keys.len() > 1 {
            self.file.keys.pop();
            return self.save();
        }
        Ok(())
    }

    /// Derives the next receiving key, records its public key and saves the file.
    ///
    /// # Errors
    /// On I/O failure.
    pub fn add_key(&mut self, unlocked: &Unlocked) -> Result<PublicKeyEntry, KeystoreError> {
        let entry = self.next_key(unlocked);
        self.record_key(entry.clone())?;
        Ok(entry)
    }

    /// Writes the file atomically with mode 0600.
    fn save(&self) -> Result<(), KeystoreError> {
        let text = serde_json::to_string_pretty(&self.file).map_err(|e| KeystoreError::Format {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&self.path, text.as_bytes(), 0o600).map_err(|(action, source)| {
            KeystoreError::Io {
                action,
                path: self.path.clone(),
                source,
            }
        })
    }
}
