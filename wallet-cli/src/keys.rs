//! Hierarchical keys: BIP39 mnemonics and SLIP-0010 Ed25519 derivation.
//!
//! SLIP-0010 for Ed25519 defines hardened derivation only: each child key is
//! `HMAC-SHA512(chain_code, 0x00 || key || index | 2^31)`, split into key and chain
//! code. Wallet keys live at `m/44'/1'/account'/0'/index'` (coin type 1: the one every
//! test network shares).

use std::fmt;
use std::str::FromStr;

use bip39::Mnemonic;
use ed25519_dalek::SigningKey;
use hmac::{Hmac, Mac};
use sha2::Sha512;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The first hardened child index.
pub const HARDENED: u32 = 0x8000_0000;

/// What goes wrong with words or paths.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The words are not a valid BIP39 English mnemonic.
    #[error("not a valid BIP39 mnemonic: {0}")]
    Mnemonic(String),
    /// The derivation path does not parse.
    #[error("bad derivation path {path:?}: {reason}")]
    Path {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A private key with its chain code. Wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ExtendedKey {
    key: [u8; 32],
    chain_code: [u8; 32],
}

impl fmt::Debug for ExtendedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.write_str("ExtendedKey(..)")
    }
}

fn hmac_split(key: &[u8], parts: &[&[u8]]) -> ExtendedKey {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha512>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    for p in parts {
        mac.update(p);
    }
    let mut out = mac.finalize().into_bytes();
    let mut ext = ExtendedKey {
        key: [0; 32],
        chain_code: [0; 32],
    };
    let (k, c) = out.split_at(32);
    ext.key.copy_from_slice(k);
    ext.chain_code.copy_from_slice(c);
    out.as_mut_slice().zeroize();
    ext
}

impl ExtendedKey {
    /// The master key of a seed: `HMAC-SHA512("ed25519 seed", seed)`.
    pub fn master(seed: &[u8]) -> Self {
        hmac_split(b"ed25519 seed", &[seed])
    }

    /// The hardened child `index` (the hardened bit is added if missing).
    pub fn child(&self, index: u32) -> Self {
        let i = (index | HARDENED).to_be_bytes();
        hmac_split(&self.chain_code, &[&[0u8], &self.key, &i])
    }

    /// Follows a path of child indices from this key.
    pub fn derive(&self, path: &DerivationPath) -> Self {
        path.0.iter().fold(self.clone(), |k, &i| k.child(i))
    }

    /// The 32-byte Ed25519 private key (the seed of RFC 8032).
    pub fn private_key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The chain code.
    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }

    /// The Ed25519 signing key.
    pub fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(&self.key)
    }
}

/// The receiving chain of one account, `m/44'/1'/account'/0'`: the parent of every
/// wallet key. Holding it saves four derivations per key. Wiped when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Account {
    chain: ExtendedKey,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Account(..)")
    }
}

impl Account {
    /// The receiving chain of `account` under the master key of `seed`.
    pub fn from_seed(seed: &[u8], account: u32) -> Self {
        let path = [44 | HARDENED, 1 | HARDENED, account | HARDENED, HARDENED];
        let chain = path
            .iter()
            .fold(ExtendedKey::master(seed), |k, &i| k.child(i));
        scrub_stack();
        Account { chain }
    }

    /// Key `index` (the key at `m/44'/1'/account'/0'/index'`).
    pub fn key(&self, index: u32) -> ExtendedKey {
        self.chain.child(index)
    }

    /// The Ed25519 public key of key `index`.
    pub fn public_key(&self, index: u32) -> [u8; 32] {
        self.key(index).signing_key().verifying_key().to_bytes()
    }
}

/// A SLIP-0010 path such as `m/44'/1'/0'/0'/7'`; every step hardened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivationPath(Vec<u32>);

impl DerivationPath {
    /// The path of receiving key `index` of `account`.
    pub fn receiving(account: u32, index: u32) -> Self {
        DerivationPath(vec![
            44 | HARDENED,
            1 | HARDENED,
            account | HARDENED,
            HARDENED,
            index | HARDENED,
        ])
    }

    /// The path of the name-owner key of `account`, `m/44'/1'/account'/2'/0'`: a
    /// chain of its own (2'), apart from the receiving keys (0'), so the key that
    /// signs name operations never pays or receives coins but a preorder's output.
    pub fn names(account: u32) -> Self {
        DerivationPath(vec![
            44 | HARDENED,
            1 | HARDENED,
            account | HARDENED,
            2 | HARDENED,
            HARDENED,
        ])
    }

    /// The child indices, hardened bit included.
    pub fn indices(&self) -> &[u32] {
        &self.0
    }
}

impl FromStr for DerivationPath {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        let err = |reason| KeyError::Path {
            path: s.to_string(),
            reason,
        };
        let mut parts = s.split('/');
        if parts.next() != Some("m") {
            return Err(err("a path starts with \"m\""));
        }
        let mut out = Vec::new();
        for part in parts {
            let digits = part
                .strip_suffix('\'')
                .or_else(|| part.strip_suffix('h'))
                .or_else(|| part.strip_suffix('H'))
                .ok_or_else(|| {
                    err("Ed25519 keys derive only hardened children (end each step with '); ")
                })?;
            let i: u32 = digits.parse().map_err(|_| err("a step is not a number"))?;
            if i >= HARDENED {
                return Err(err("a step is 2^31 or more"));
            }
            if out.len() >= 255 {
                return Err(err("more than 255 steps"));
            }
            out.push(i | HARDENED);
        }
        Ok(DerivationPath(out))
    }
}

impl fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m")?;
        for i in &self.0 {
            write!(f, "/{}'", i & !HARDENED)?;
        }
        Ok(())
    }
}

/// Makes a new 24-word mnemonic from 256 bits of operating-system randomness.
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn new_mnemonic() -> Result<Mnemonic, getrandom::Error> {
    let mut entropy = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut *entropy)?;
    let m = Mnemonic::from_entropy(&*entropy);
    scrub_stack();
    // 32 bytes is a valid BIP39 entropy length, so this cannot fail.
    Ok(m.unwrap_or_else(|_| unreachable!("32 bytes of entropy make 24 words")))
}

/// Reads a mnemonic as a person types it: any case, any spacing.
///
/// The normalized copy (lower case, single spaces) is wiped after parsing; the
/// English word list is ASCII, so anything else is refused before any copy is made.
///
/// # Errors
/// [`KeyError::Mnemonic`] for unknown words, a wrong word count, a bad checksum or
/// characters outside ASCII.
pub fn parse_mnemonic(words: &str) -> Result<Mnemonic, KeyError> {
    if !words.is_ascii() {
        return Err(KeyError::Mnemonic(
            "the words contain a character that no English BIP39 word has".into(),
        ));
    }
    // Lower-casing ASCII and joining with single spaces never makes the text
    // longer, so this buffer never reallocates (which would leave a copy behind).
    let mut normalized = Zeroizing::new(String::with_capacity(words.len()));
    for word in words.split_ascii_whitespace() {
        if !normalized.is_empty() {
            normalized.push(' ');
        }
        normalized.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    }
    let parsed = Mnemonic::parse_normalized(&normalized);
    scrub_stack();
    parsed.map_err(|e| KeyError::Mnemonic(e.to_string()))
}

/// The words of a mnemonic, separated by single spaces, in a buffer that is wiped
/// when dropped (sized once, so no partial copy is left behind by growing it).
pub fn phrase_of(mnemonic: &Mnemonic) -> Zeroizing<String> {
    // English words have at most 8 letters; one separator each.
    let mut phrase = Zeroizing::new(String::with_capacity(mnemonic.word_count() * 9));
    for (i, word) in mnemonic.words().enumerate() {
        if i > 0 {
            phrase.push(' ');
        }
        phrase.push_str(word);
    }
    phrase
}

/// The BIP39 seed of a mnemonic (empty BIP39 passphrase), wiped when dropped.
pub fn seed_of(mnemonic: &Mnemonic) -> Zeroizing<[u8; 64]> {
    let seed = Zeroizing::new(mnemonic.to_seed_normalized(""));
    scrub_stack();
    seed
}

/// Overwrites the stack below the caller's frame, where the hash states of a
/// derivation that just returned (PBKDF2 in `bip39`, HMAC in `hmac`, which wipe
/// nothing themselves) were left. Best effort: it reaches the frames of functions
/// that returned to the caller, up to 16 KiB deep.
#[inline(never)]
pub(crate) fn scrub_stack() {
    let mut area = [0u8; 16 * 1024];
    // Volatile writes: the compiler cannot drop them.
    area.zeroize();
    std::hint::black_box(&area);
}
