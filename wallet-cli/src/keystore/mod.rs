//! The encrypted keystore file: the mnemonic sealed with a passphrase, and the list
//! of keys handed out, authenticated by the sealed words.
//!
//! `DIR/keystore.json` holds the format version, the network, the key-derivation
//! parameters, the sealed mnemonic and the public keys handed out so far. The
//! mnemonic is sealed with XChaCha20-Poly1305 under a key stretched from the
//! passphrase by Argon2id; the associated data binds the version, network and KDF
//! parameters. The key list carries an HMAC-SHA256 under a key derived from the
//! sealed words' seed, so that whoever can write the file but not unseal it can
//! neither swap, add, drop nor reorder keys unnoticed.
//!
//! Nothing in the file is trusted before [`Keystore::unlock`]: it checks the
//! authentication code, then re-derives every key from the words, and only the
//! [`Unlocked`] keystore hands keys out ([`Unlocked::keys`]). The wallet pays to and
//! counts no other key. The file is written 0600, atomically (temporary file,
//! fsync, rename, fsync of the directory). A version-1 file (no authentication
//! code) is upgraded in memory at unlock, after every key was re-derived, and saved
//! by [`Unlocked::save_upgrade`].

mod seal;
mod unlocked;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use argon2::Params;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bip39::Mnemonic;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::fsutil::write_atomic;
use crate::keys::{self, Account};
use seal::{KEY_LIST_LABEL, aad, key_list_bytes, mac_key_of, seal, stretch, verify_tag};
pub use unlocked::Unlocked;

/// The keystore's file name inside the wallet directory.
pub const FILE_NAME: &str = "keystore.json";
/// The format written: version 2 authenticates the key list.
const FORMAT_VERSION: u32 = 2;
/// The most keys a wallet holds (and the most key discovery derives).
pub const MAX_KEYS: u32 = 10_000;
/// The largest keystore file read (`MAX_KEYS` keys take about 700 KB).
const MAX_FILE_LEN: u64 = 2 << 20;
/// The longest sealed text accepted (24 words take at most 215 bytes, plus the tag).
const MAX_CIPHERTEXT: usize = 1024;

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
    /// The key list does not match the sealed words.
    #[error(
        "the key list in {path} does not match the sealed recovery words ({reason}): someone without the passphrase may have edited it, so no key of it is used; restore the wallet from its recovery words into a new directory"
    )]
    Altered {
        /// The file.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
    /// The wallet holds as many keys as it ever will.
    #[error("the wallet already holds {MAX_KEYS} keys, the most it keeps")]
    TooManyKeys,
    /// A new keystore cannot record this many keys.
    #[error("a wallet holds 1 to {MAX_KEYS} keys, not {count}")]
    KeyCount {
        /// The count asked for.
        count: u32,
    },
    /// A key to record is not the wallet's next one.
    #[error("key {index} is not the next key of the wallet")]
    NotNext {
        /// The key's index.
        index: u32,
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

    /// The least Argon2 allows (8 KiB, 1 pass): for a keystore sealed with the empty
    /// passphrase (a regtest development wallet), where stretching protects nothing.
    pub const EMPTY_PASSPHRASE: KdfCost = KdfCost {
        memory_kib: 8,
        iterations: 1,
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

/// One wallet key: its index on the receiving chain and its public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalletKey {
    /// Child index under the account's receiving path.
    pub index: u32,
    /// The Ed25519 public key.
    pub public_key: [u8; 32],
}

impl WalletKey {
    /// The address that pays this key.
    pub fn address(&self) -> chain_node::Address {
        chain_node::Address::from_pubkey(&self.public_key)
    }
}

/// A key as version 1 listed it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryV1 {
    index: u32,
    public_key: String,
}

/// The file, in either version: version 1 lists `keys`; version 2 (written now)
/// lists `public_keys` and their `keys_mac`.
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
    /// Version 1: the keys with their indices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keys: Option<Vec<EntryV1>>,
    /// Version 2: public keys, hex; entry `i` is key `i` of the receiving chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_keys: Option<Vec<String>>,
    /// Version 2: HMAC-SHA256 of the key list (see `key_list_bytes`), hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keys_mac: Option<String>,
}

/// An opened keystore: parsed and checked for shape; nothing in it is trusted and
/// nothing is decrypted.
#[derive(Debug, Clone)]
pub struct Keystore {
    path: PathBuf,
    version: u32,
    network: String,
    kdf_cost: KdfCost,
    salt: Vec<u8>,
    nonce: [u8; 24],
    ciphertext: Vec<u8>,
    /// As recorded; checked at unlock.
    public_keys: Vec<[u8; 32]>,
    /// Version 2 only.
    keys_mac: Option<[u8; 32]>,
}

fn random<const N: usize>() -> Result<[u8; N], KeystoreError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(KeystoreError::Random)?;
    Ok(out)
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

impl Keystore {
    /// Seals `mnemonic` under `passphrase` into a new keystore in `dir` (made 0700
    /// if missing) that records keys `0..key_count`, and writes it.
    ///
    /// # Errors
    /// [`KeystoreError::Exists`] when a keystore is there already,
    /// [`KeystoreError::KeyCount`] when `key_count` is 0 or over [`MAX_KEYS`], or
    /// on I/O failure.
    pub fn create(
        dir: &Path,
        network: &str,
        mnemonic: &Mnemonic,
        passphrase: &str,
        cost: KdfCost,
        key_count: u32,
    ) -> Result<Unlocked, KeystoreError> {
        let path = dir.join(FILE_NAME);
        if path.exists() {
            return Err(KeystoreError::Exists {
                dir: dir.to_path_buf(),
            });
        }
        if key_count == 0 || key_count > MAX_KEYS {
            return Err(KeystoreError::KeyCount { count: key_count });
        }
        let format_err = |reason: String| KeystoreError::Format {
            path: path.clone(),
            reason,
        };
        let salt: [u8; 16] = random()?;
        let nonce: [u8; 24] = random()?;
        let key = stretch(passphrase, &salt, &cost).map_err(format_err)?;
        let phrase = keys::phrase_of(mnemonic);
        let ciphertext = seal(&key, &nonce, FORMAT_VERSION, network, &cost, &salt, &phrase)
            .map_err(format_err)?;
        let seed = keys::seed_of(mnemonic);
        let account = Account::from_seed(&*seed, 0);
        let keys: Vec<WalletKey> = (0..key_count)
            .map(|index| WalletKey {
                index,
                public_key: account.public_key(index),
            })
            .collect();
        keys::scrub_stack();
        let mut unlocked = Unlocked {
            store: Keystore {
                path,
                version: FORMAT_VERSION,
                network: network.to_string(),
                kdf_cost: cost,
                salt: salt.to_vec(),
                nonce,
                ciphertext,
                public_keys: keys.iter().map(|k| k.public_key).collect(),
                keys_mac: None,
            },
            account,
            mac_key: mac_key_of(&seed),
            mnemonic: phrase,
            keys,
            upgraded: false,
        };
        unlocked.seal_key_list();

        fs::create_dir_all(dir).map_err(|source| KeystoreError::Io {
            action: "creating wallet directory",
            path: dir.to_path_buf(),
            source,
        })?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|source| {
            KeystoreError::Io {
                action: "restricting access to",
                path: dir.to_path_buf(),
                source,
            }
        })?;
        unlocked.store.save()?;
        Ok(unlocked)
    }

    /// Opens the keystore in `dir` (the public part; nothing is decrypted).
    ///
    /// # Errors
    /// When there is none, or it is not a keystore of this format.
    pub fn open(dir: &Path) -> Result<Keystore, KeystoreError> {
        let path = dir.join(FILE_NAME);
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
            return Err(KeystoreError::Format {
                path,
                reason: "file is too large to be a keystore".into(),
            });
        }
        let bytes = fs::read(&path).map_err(|source| KeystoreError::Io {
            action: "reading",
            path: path.clone(),
            source,
        })?;
        Keystore::parse(&path, &bytes)
    }

    /// Parses the bytes of a keystore file (`path` names it in errors). Checks its
    /// shape only: versions 1 and 2, known algorithms, KDF costs in range, lengths,
    /// at most [`MAX_KEYS`] keys numbered from 0. Total: any bytes give a value or an
    /// error.
    ///
    /// # Errors
    /// [`KeystoreError::Format`] saying what is wrong.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Keystore, KeystoreError> {
        let format_err = |reason: String| KeystoreError::Format {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() as u64 > MAX_FILE_LEN {
            return Err(format_err("file is too large to be a keystore".into()));
        }
        let v: FileFormat = serde_json::from_slice(bytes).map_err(|e| format_err(e.to_string()))?;
        let (listed, keys_mac) = match (v.version, &v.keys, &v.public_keys, &v.keys_mac) {
            (1, Some(keys), None, None) => {
                for (i, k) in keys.iter().enumerate() {
                    if usize::try_from(k.index).ok() != Some(i) {
                        return Err(format_err(format!(
                            "key {i} is listed as index {}",
                            k.index
                        )));
                    }
                }
                let listed: Vec<&str> = keys.iter().map(|k| k.public_key.as_str()).collect();
                (listed, None)
            }
            (FORMAT_VERSION, None, Some(keys), Some(mac)) => {
                let mac = hex32(mac).ok_or_else(|| {
                    format_err("the key list's authentication code is not 32 bytes of hex".into())
                })?;
                (keys.iter().map(String::as_str).collect(), Some(mac))
            }
            (1 | FORMAT_VERSION, ..) => {
                return Err(format_err(format!(
                    "the key list is not the one of format version {}",
                    v.version
                )));
            }
            (other, ..) => return Err(format_err(format!("format version {other}"))),
        };
        if v.kdf != "argon2id" || v.cipher != "xchacha20poly1305" {
            return Err(format_err(format!("algorithms {} / {}", v.kdf, v.cipher)));
        }
        v.kdf_cost.check().map_err(format_err)?;
        let salt = B64
            .decode(&v.salt)
            .map_err(|e| format_err(format!("salt: {e}")))?;
        if !(8..=64).contains(&salt.len()) {
            return Err(format_err("the salt is not 8 to 64 bytes".into()));
        }
        let nonce: [u8; 24] = B64
            .decode(&v.nonce)
            .map_err(|e| format_err(format!("nonce: {e}")))?
            .try_into()
            .map_err(|_| format_err("the nonce is not 24 bytes".into()))?;
        let ciphertext = B64
            .decode(&v.ciphertext)
            .map_err(|e| format_err(format!("ciphertext: {e}")))?;
        if ciphertext.len() > MAX_CIPHERTEXT {
            return Err(format_err("the sealed text is too long".into()));
        }
        if listed.is_empty() || listed.len() > MAX_KEYS as usize {
            return Err(format_err(format!(
                "{} keys listed; a wallet holds 1 to {MAX_KEYS}",
                listed.len()
            )));
        }
        let public_keys = listed
            .iter()
            .enumerate()
            .map(|(i, k)| {
                hex32(k).ok_or_else(|| format_err(format!("public key {i} is not 32 bytes of hex")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Keystore {
            path: path.to_path_buf(),
            version: v.version,
            network: v.network,
            kdf_cost: v.kdf_cost,
            salt,
            nonce,
            ciphertext,
            public_keys,
            keys_mac,
        })
    }

    /// The network this wallet belongs to.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The file's format version (2 is written; 1 is upgraded at unlock).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// How many keys the file lists (not yet checked against the sealed words).
    pub fn recorded_key_count(&self) -> usize {
        self.public_keys.len()
    }

    /// Unseals the mnemonic, checks the key list's authentication code, and
    /// re-derives every listed key from the words. The keys of the result are the
    /// only ones the wallet uses.
    ///
    /// # Errors
    /// [`KeystoreError::WrongPassphrase`] when the passphrase (or the sealed part)
    /// is wrong; [`KeystoreError::Altered`] when the key list does not match the
    /// words.
    pub fn unlock(self, passphrase: &str) -> Result<Unlocked, KeystoreError> {
        let path = self.path.clone();
        let format_err = |reason: String| KeystoreError::Format {
            path: path.clone(),
            reason,
        };
        let altered = |reason: String| KeystoreError::Altered {
            path: path.clone(),
            reason,
        };
        let key = stretch(passphrase, &self.salt, &self.kdf_cost).map_err(format_err)?;
        let ad = aad(self.version, &self.network, &self.kdf_cost, &self.salt);
        let plain = XChaCha20Poly1305::new((&*key).into())
            .decrypt(
                &XNonce::from(self.nonce),
                Payload {
                    msg: &self.ciphertext,
                    aad: &ad,
                },
            )
            .map_err(|_| KeystoreError::WrongPassphrase)?;
        let phrase = match String::from_utf8(plain) {
            Ok(p) => Zeroizing::new(p),
            Err(e) => {
                e.into_bytes().zeroize();
                return Err(format_err("the sealed words are not text".into()));
            }
        };
        let mnemonic = keys::parse_mnemonic(&phrase).map_err(|e| format_err(e.to_string()))?;
        let seed = keys::seed_of(&mnemonic);
        drop(mnemonic);
        let account = Account::from_seed(&*seed, 0);
        let mac_key = mac_key_of(&seed);
        drop(seed);

        if let Some(stored) = &self.keys_mac {
            let data = key_list_bytes(&self.network, &self.public_keys);
            if !verify_tag(&mac_key, KEY_LIST_LABEL, &data, stored) {
                return Err(altered(
                    "its authentication code does not match the words".into(),
                ));
            }
        }
        let mut keys = Vec::with_capacity(self.public_keys.len());
        for (i, recorded) in self.public_keys.iter().enumerate() {
            let index = u32::try_from(i).map_err(|_| KeystoreError::TooManyKeys)?;
            let public_key = account.public_key(index);
            if public_key != *recorded {
                return Err(altered(format!(
                    "public key {index} does not derive from the words"
                )));
            }
            keys.push(WalletKey { index, public_key });
        }
        keys::scrub_stack();
        let upgraded = self.version != FORMAT_VERSION;
        let mut unlocked = Unlocked {
            store: self,
            account,
            mac_key,
            mnemonic: phrase,
            keys,
            upgraded,
        };
        if upgraded {
            // Version 1 had no authentication code: seal again under the new
            // version's associated data and authenticate the checked list.
            let nonce: [u8; 24] = random()?;
            let s = &mut unlocked.store;
            s.ciphertext = seal(
                &key,
                &nonce,
                FORMAT_VERSION,
                &s.network,
                &s.kdf_cost,
                &s.salt,
                &unlocked.mnemonic,
            )
            .map_err(format_err)?;
            s.nonce = nonce;
            s.version = FORMAT_VERSION;
            unlocked.seal_key_list();
        }
        Ok(unlocked)
    }

    /// Writes the file atomically with mode 0600.
    fn save(&self) -> Result<(), KeystoreError> {
        let file = FileFormat {
            version: self.version,
            network: self.network.clone(),
            kdf: "argon2id".into(),
            kdf_cost: self.kdf_cost,
            salt: B64.encode(&self.salt),
            cipher: "xchacha20poly1305".into(),
            nonce: B64.encode(self.nonce),
            ciphertext: B64.encode(&self.ciphertext),
            keys: None,
            public_keys: Some(self.public_keys.iter().map(hex::encode).collect()),
            keys_mac: self.keys_mac.map(hex::encode),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| KeystoreError::Format {
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
