//! The unlocked keystore: the keys checked against the sealed words, and what it
//! takes to derive, sign and authenticate.

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use super::seal::{KEY_LIST_LABEL, key_list_bytes, tag, verify_tag};
use super::{Keystore, KeystoreError, MAX_KEYS, WalletKey};
use crate::keys::Account;

/// The unsealed keystore: the keys checked against the sealed words, and what it
/// takes to derive, sign and authenticate. Secrets are wiped when it is dropped.
pub struct Unlocked {
    pub(super) store: Keystore,
    pub(super) account: Account,
    pub(super) mac_key: Zeroizing<[u8; 32]>,
    pub(super) mnemonic: Zeroizing<String>,
    /// INVARIANT: key `i` is at position `i`, derived from the sealed words, and
    /// `1 <= keys.len() <= MAX_KEYS`.
    pub(super) keys: Vec<WalletKey>,
    pub(super) upgraded: bool,
}

// Every secret field (account key, file key, words) wipes itself when dropped.
impl zeroize::ZeroizeOnDrop for Unlocked {}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.write_str("Unlocked(..)")
    }
}

impl Unlocked {
    /// The keys handed out, oldest first, each checked against the sealed words.
    pub fn keys(&self) -> &[WalletKey] {
        &self.keys
    }

    /// The newest key handed out.
    pub fn newest(&self) -> WalletKey {
        // INVARIANT: at least one key (checked at parse and create).
        self.keys.last().copied().unwrap_or(WalletKey {
            index: 0,
            public_key: self.account.public_key(0),
        })
    }

    /// The network this wallet belongs to.
    pub fn network(&self) -> &str {
        &self.store.network
    }

    /// The signing key of wallet key `index`.
    pub fn signing_key(&self, index: u32) -> SigningKey {
        self.account.key(index).signing_key()
    }

    /// The mnemonic's words (for an explicit export only).
    pub fn mnemonic(&self) -> &str {
        &self.mnemonic
    }

    /// Whether unlocking upgraded a version-1 file in memory (see
    /// [`Unlocked::save_upgrade`]).
    pub fn is_upgraded(&self) -> bool {
        self.upgraded
    }

    /// Saves the file if unlocking upgraded it from version 1.
    ///
    /// # Errors
    /// On I/O failure; the file on disk is then the old one.
    pub fn save_upgrade(&mut self) -> Result<(), KeystoreError> {
        if self.upgraded {
            self.store.save()?;
            self.upgraded = false;
        }
        Ok(())
    }

    /// An authentication code for `data` under the wallet's file key, in the domain
    /// `label` (each kind of file has its own).
    pub fn authenticate(&self, label: &str, data: &[u8]) -> [u8; 32] {
        tag(&self.mac_key, label, data)
    }

    /// Whether `code` authenticates `data` in the domain `label` (constant time).
    pub fn verify(&self, label: &str, data: &[u8], code: &[u8]) -> bool {
        verify_tag(&self.mac_key, label, data, code)
    }

    pub(super) fn seal_key_list(&mut self) {
        let data = key_list_bytes(&self.store.network, &self.store.public_keys);
        self.store.keys_mac = Some(tag(&self.mac_key, KEY_LIST_LABEL, &data));
    }

    /// The next key, derived but not yet recorded.
    ///
    /// # Errors
    /// [`KeystoreError::TooManyKeys`] when the wallet holds [`MAX_KEYS`] keys.
    pub fn next_key(&self) -> Result<WalletKey, KeystoreError> {
        let index = u32::try_from(self.keys.len())
            .ok()
            .filter(|&i| i < MAX_KEYS)
            .ok_or(KeystoreError::TooManyKeys)?;
        Ok(WalletKey {
            index,
            public_key: self.account.public_key(index),
        })
    }

    /// Records a key from [`Unlocked::next_key`] and saves the file.
    ///
    /// # Errors
    /// [`KeystoreError::NotNext`] when `key` is not the next key; on I/O
    /// failure, the keystore is unchanged.
    pub fn record_key(&mut self, key: WalletKey) -> Result<(), KeystoreError> {
        if key != self.next_key()? {
            return Err(KeystoreError::NotNext { index: key.index });
        }
        self.keys.push(key);
        self.store.public_keys.push(key.public_key);
        let old_mac = self.store.keys_mac;
        self.seal_key_list();
        let saved = self.store.save();
        if saved.is_err() {
            self.keys.pop();
            self.store.public_keys.pop();
            self.store.keys_mac = old_mac;
        }
        saved
    }

    /// Forgets the newest key if it is `key` (a change key whose transaction the
    /// node refused), and saves the file.
    ///
    /// # Errors
    /// On I/O failure.
    pub fn forget_key(&mut self, key: &WalletKey) -> Result<(), KeystoreError> {
        if self.keys.last() == Some(key) && self.keys.len() > 1 {
            self.keys.pop();
            self.store.public_keys.pop();
            self.seal_key_list();
            return self.store.save();
        }
        Ok(())
    }

    /// Derives the next receiving key, records it and saves the file.
    ///
    /// # Errors
    /// As [`Unlocked::next_key`] and [`Unlocked::record_key`].
    pub fn add_key(&mut self) -> Result<WalletKey, KeystoreError> {
        let key = self.next_key()?;
        self.record_key(key)?;
        Ok(key)
    }
}
