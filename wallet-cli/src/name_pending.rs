//! Registrations the wallet started and that are not final yet, kept in
//! `WALLET_DIR/names-pending.json` (mode 0600, replaced atomically): the name, its
//! salt, the signed preorder and its output, the zone-file hash to reveal, and once
//! sent the signed reveal. A later `wallet name register` or `wallet name list` finds
//! them there and follows each against the node (`name_follow.rs`): it sends the reveal,
//! sends the preorder or the reveal again when a reorg took them away, and forgets an
//! entry only once its reveal is buried or the registration cannot succeed any more. A
//! restart or a reorg loses no registration.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;

/// The file name in the wallet directory.
pub const PENDING_FILE: &str = "names-pending.json";

/// The most pending registrations kept (the file is read whole).
pub const MAX_PENDING: usize = 1_000;

/// Most bytes read from the file (and written: the wallet never writes a file it
/// would refuse to read).
const MAX_FILE: u64 = 4 << 20;

/// The most earlier reveals an entry remembers.
pub const MAX_EARLIER_REVEALS: usize = 32;

/// The format version written; version 1 (no signed transactions, entries forgotten
/// when the reveal was sent) is read too.
const VERSION: u32 = 2;

/// One registration between its preorder and a buried reveal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The signed preorder, hex: sent again if it leaves both the chain and the node's
    /// pool. `None` in entries written by version 1.
    #[serde(default)]
    pub preorder_tx: Option<String>,
    /// The height of the preorder's block when the reveal was sent: a reveal of it can
    /// only be in the blocks `preorder_min_depth` to `preorder_max_age` above.
    #[serde(default)]
    pub preorder_height: Option<u64>,
    /// That block's hash, to tell whether it is still on the active chain.
    #[serde(default)]
    pub preorder_block: Option<String>,
    /// The reveal's txid, recorded before it is broadcast.
    #[serde(default)]
    pub reveal_txid: Option<String>,
    /// The signed reveal, hex: sent again after a reorg that takes it away, when a new
    /// one cannot be made.
    #[serde(default)]
    pub reveal_tx: Option<String>,
    /// The txids of reveals sent before the last one (each sent again after a reorg is
    /// a new transaction), at most [`MAX_EARLIER_REVEALS`]: whichever is mined
    /// registers the name.
    #[serde(default)]
    pub earlier_reveals: Vec<String>,
    /// How many times the wallet found the preorder or the reveal taken off the chain
    /// and sent it again.
    #[serde(default)]
    pub sent_again: u32,
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
        if parsed.version != 1 && parsed.version != VERSION {
            return Err(format!(
                "{} has format version {}; this wallet reads versions 1 and {VERSION}",
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

    /// Records (or replaces) the pending registration of its name, durably; nothing
    /// changes when it cannot be written.
    ///
    /// # Errors
    /// The file cannot be written, or too many are pending.
    pub fn put(&mut self, entry: Pending) -> Result<(), String> {
        let mut entries: Vec<Pending> = self
            .entries
            .iter()
            .filter(|p| p.name != entry.name)
            .cloned()
            .collect();
        if entries.len() >= MAX_PENDING {
            return Err(format!(
                "{MAX_PENDING} registrations are pending already; reveal them first"
            ));
        }
        entries.push(entry);
        self.save(entries)
    }

    /// Forgets the pending registration of `name`, durably.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn remove(&mut self, name: &str) -> Result<(), String> {
        if self.get(name).is_none() {
            return Ok(());
        }
        let entries = self
            .entries
            .iter()
            .filter(|p| p.name != name)
            .cloned()
            .collect();
        self.save(entries)
    }

    /// Writes `entries` and makes them the store's once they are on disk.
    fn save(&mut self, entries: Vec<Pending>) -> Result<(), String> {
        let file = PendingFile {
            version: VERSION,
            pending: entries,
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        if bytes.len() as u64 > MAX_FILE {
            return Err(format!(
                "the pending registrations would take over {MAX_FILE} bytes in {}; let some become final first",
                self.path.display()
            ));
        }
        write_atomic(&self.path, &bytes, 0o600)
            .map_err(|(step, e)| format!("{step} {}: {e}", self.path.display()))?;
        self.entries = file.pending;
        Ok(())
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
            preorder_tx: Some("22".repeat(200)),
            ..Pending::default()
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
    fn a_version_1_file_is_read_and_written_back_as_version_2() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = r#"{"version":1,"pending":[{"name":"old.id","salt":"00000000000000000000000000000000","preorder_txid":"1111111111111111111111111111111111111111111111111111111111111111","preorder_vout":1,"preorder_amount":1000,"zonefile_hash":null}]}"#;
        std::fs::write(dir.path().join(PENDING_FILE), v1).unwrap();
        let mut store = PendingStore::open(dir.path()).unwrap();
        let old = store.get("old.id").unwrap().clone();
        assert_eq!(
            (old.preorder_tx, old.reveal_txid, old.sent_again),
            (None, None, 0)
        );
        store.put(entry("new.id")).unwrap();
        let text = std::fs::read_to_string(dir.path().join(PENDING_FILE)).unwrap();
        let written: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(written["version"], 2);
        assert_eq!(written["pending"][0]["name"], "old.id");
        assert_eq!(PendingStore::open(dir.path()).unwrap().entries().len(), 2);
        std::fs::write(
            dir.path().join(PENDING_FILE),
            r#"{"version":3,"pending":[]}"#,
        )
        .unwrap();
        let err = PendingStore::open(dir.path()).unwrap_err();
        assert!(err.contains("format version 3"), "{err}");
    }

    #[test]
    fn a_file_too_large_to_read_back_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = PendingStore::open(dir.path()).unwrap();
        let mut big = entry("big.id");
        big.zonefile = Some("ab".repeat(usize::try_from(MAX_FILE).unwrap() / 2));
        let err = store.put(big).unwrap_err();
        assert!(err.contains("would take over"), "{err}");
        assert!(!dir.path().join(PENDING_FILE).exists());
        assert!(store.entries().is_empty(), "the store is as it was");
    }

    #[test]
    fn a_damaged_file_is_named_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PENDING_FILE), b"{not json").unwrap();
        let err = PendingStore::open(dir.path()).unwrap_err();
        assert!(err.contains("damaged"), "{err}");
    }
}
