//! Registrations between preorder and reveal, kept in `WALLET_DIR/names-pending.json`
//! (mode 0600, replaced atomically): the name, its salt, the preorder's output and
//! the zone-file hash to reveal. A later `wallet name register NAME` or `wallet name
//! list` finds them there and sends the reveal, so a restart loses no registration.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;

/// The file name in the wallet directory.
pub const PENDING_FILE: &str = "names-pending.json";

/// The most pending registrations kept (the file is read whole).
pub const MAX_PENDING: usize = 1_000;

/// Most bytes read from the file.
const MAX_FILE: u64 = 1 << 20;

/// One registration waiting for its reveal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The name, `label.namespace`.
    pub name: String,
    /// The preorder's salt, hex.
    pub salt: String,
    /// The preorder transaction.
    pub preorder_txid: String,
    /// The preorder's output the reveal must spend.
    pub preorder_vout: u32,
    /// Its amount in base units.
    pub preorder_amount: u64,
    /// The zone-file hash to reveal, hex.
    pub zonefile_hash: Option<String>,
    /// The zone file, hex, uploaded after the reveal.
    #[serde(default)]
    pub zonefile: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PendingFile {
    version: u32,
    pending: Vec<Pending>,
}

/// The pending registrations of one wallet.
#[derive(Debug)]
pub struct PendingStore {
    path: PathBuf,
    entries: Vec<Pending>,
}

impl PendingStore {
    /// Reads the store of the wallet in `dir` (none yet: empty).
    ///
    /// # Errors
    /// A message naming the file when it cannot be read or is not this format.
    pub fn open(dir: &Path) -> Result<Self, String> {
        use std::io::Read as _;
        let path = dir.join(PENDING_FILE);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(PendingStore {
                    path,
                    entries: Vec::new(),
                });
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut bytes = Vec::new();
        file.take(MAX_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(format!(
                "{} is over {MAX_FILE} bytes; it is not the wallet's",
                path.display()
            ));
        }
        let parsed: PendingFile = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{} is damaged ({e}); move it away to start over",
                path.display()
            )
        })?;
        if parsed.version != 1 {
            return Err(format!(
                "{} has format version {}; this wallet reads version 1",
                path.display(),
                parsed.version
            ));
        }
        Ok(PendingStore {
            path,
            entries: parsed.pending,
        })
    }

    /// The pending registrations.
    pub fn entries(&self) -> &[Pending] {
        &self.entries
    }

    /// The pending registration of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Pending> {
        self.entries.iter().find(|p| p.name == name)
    }

    /// Records (or replaces) the pending registration of its name, durably.
    ///
    /// # Errors
    /// The file cannot be written, or too many are pending.
    pub fn put(&mut self, entry: Pending) -> Result<(), String> {
        self.entries.retain(|p| p.name != entry.name);
        if self.entries.len() >= MAX_PENDING {
            return Err(format!(
                "{MAX_PENDING} registrations are pending already; reveal them first"
            ));
        }
        self.entries.push(entry);
        self.save()
    }

    /// Forgets the pending registration of `name`, durably.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn remove(&mut self, name: &str) -> Result<(), String> {
        let before = self.entries.len();
        self.entries.retain(|p| p.name != name);
        if self.entries.len() == before {
            return Ok(());
        }
        self.save()
    }

    fn save(&self) -> Result<(), String> {
        let file = PendingFile {
            version: 1,
            pending: self.entries.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        write_atomic(&self.path, &bytes, 0o600)
            .map_err(|(step, e)| format!("{step} {}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Pending {
        Pending {
            name: name.into(),
            salt: "00".repeat(16),
            preorder_txid: "11".repeat(32),
            preorder_vout: 1,
            preorder_amount: 1_000,
            zonefile_hash: None,
            zonefile: None,
        }
    }

    #[test]
    fn entries_survive_reopening_and_the_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let mut store = PendingStore::open(dir.path()).unwrap();
        store.put(entry("alice.id")).unwrap();
        store.put(entry("bob.id")).unwrap();
        store.remove("alice.id").unwrap();
        let again = PendingStore::open(dir.path()).unwrap();
        assert_eq!(again.entries(), &[entry("bob.id")]);
        let mode = std::fs::metadata(dir.path().join(PENDING_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_damaged_file_is_named_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PENDING_FILE), b"{not json").unwrap();
        let err = PendingStore::open(dir.path()).unwrap_err();
        assert!(err.contains("damaged"), "{err}");
    }
}
