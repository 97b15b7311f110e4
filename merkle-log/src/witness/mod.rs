//! A C2SP tlog-witness: cosigns a log's checkpoint only after checking that it
//! extends the last checkpoint it cosigned for that log.
//!
//! [`Witness::add_checkpoint`] is the whole protocol over a request body; the
//! HTTP face is in [`server`]. For each log the witness keeps one head (size and
//! root) behind a lock: the old size of a request is compared with it, the proof is
//! checked against its root, the new head is written durably ([`state`]), and only
//! then is the cosignature made. So the witness never cosigns a smaller size than
//! one it cosigned, nor a second root for one size, even across crashes.

pub mod server;
pub mod state;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use crate::checkpoint::Checkpoint;
use crate::consistency::verify_consistency;
use crate::cosignature::Cosigner;
use crate::error::{AddCheckpointError, WitnessError};
use crate::hash::Hash;
use crate::note::{Note, VerifierKey, VerifierKind};
use crate::tlog_witness::AddCheckpoint;
use state::WitnessDir;

/// The head of one log: the latest checkpoint cosigned (size 0 and the empty root
/// when none was).
#[derive(Clone, Copy, Debug)]
struct Head {
    size: u64,
    root: Hash,
    // Set when writing a new head failed: what the disk holds is then unknown,
    // so the log is refused until the witness restarts and reads it again.
    failed: bool,
}

#[derive(Debug)]
struct KnownLog {
    keys: Vec<VerifierKey>,
    head: Mutex<Head>,
}

/// Called after a new head is durable and before the cosignature is made.
pub type AfterPersist = Box<dyn Fn() + Send + Sync>;

/// A witness: its key, its data directory and the logs it witnesses.
pub struct Witness {
    cosigner: Cosigner,
    dir: WitnessDir,
    logs: HashMap<String, KnownLog>,
    after_persist: Option<AfterPersist>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("cosigner", &self.cosigner)
            .field("dir", &self.dir)
            .field("logs", &self.logs.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Witness {
    /// Opens the witness's data directory `data` (creating it if needed) for the
    /// logs whose keys are `logs` (type 0x01 or 0x05; a key's name is its log's
    /// origin, and a log may have several keys), and reads the head of each.
    ///
    /// # Errors
    /// [`WitnessError`]: no log, a cosigning key given as a log key, a directory of
    /// another kind or in use, a damaged head file.
    pub fn open(
        data: &Path,
        cosigner: Cosigner,
        logs: Vec<VerifierKey>,
    ) -> Result<Witness, WitnessError> {
        if logs.is_empty() {
            return Err(WitnessError::NoLogs);
        }
        let dir = WitnessDir::open(data)?;
        let mut known: HashMap<String, KnownLog> = HashMap::new();
        for key in logs {
            if matches!(key.kind(), VerifierKind::Cosignature(_)) {
                return Err(WitnessError::LogKey {
                    key: key.to_string(),
                });
            }
            let origin = key.name().as_str().to_owned();
            if let Some(log) = known.get_mut(&origin) {
                if !log.keys.contains(&key) {
                    log.keys.push(key);
                }
                continue;
            }
            let head = match dir.read_head(&origin)? {
                Some(cp) => Head {
                    size: cp.size(),
                    root: cp.root(),
                    failed: false,
                },
                None => Head {
                    size: 0,
                    root: Hash::empty_root(),
                    failed: false,
                },
            };
            known.insert(
                origin,
                KnownLog {
                    keys: vec![key],
                    head: Mutex::new(head),
                },
            );
        }
        Ok(Witness {
            cosigner,
            dir,
            logs: known,
            after_persist: None,
        })
    }

    /// Runs `hook` each time a new head is durable, before the cosignature is
    /// made and answered (a crash test stops the process there).
    pub fn set_after_persist(&mut self, hook: AfterPersist) {
        self.after_persist = Some(hook);
    }

    /// The witness's verifier key (type 0x04).
    pub fn verifier(&self) -> &VerifierKey {
        self.cosigner.verifier()
    }

    /// The data directory.
    pub fn dir(&self) -> &WitnessDir {
        &self.dir
    }

    /// The size and root of the latest checkpoint cosigned for `origin`, if the
    /// log is known.
    pub fn head(&self, origin: &str) -> Option<(u64, Hash)> {
        let head = self.logs.get(origin)?.head.lock().ok()?;
        Some((head.size, head.root))
    }

    /// Handles one `add-checkpoint` request body at time `now` (seconds since the
    /// epoch) and returns the cosignature line to answer with.
    ///
    /// The checks, in the order of C2SP tlog-witness: a malformed body (400); an
    /// unknown origin (404); no valid signature by a key of the log, or a failing
    /// one (403); an old size above the checkpoint's (400); an old size that is
    /// not the witness's (409, with its size); a checkpoint of size 0 whose root
    /// is not the empty tree's, a proof that does not verify (422); a root other
    /// than the witness's at its own size (409). Then the new head is written
    /// durably, and only then cosigned.
    ///
    /// # Errors
    /// [`AddCheckpointError`], whose [`AddCheckpointError::status`] is the HTTP
    /// status to answer.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, AddCheckpointError> {
        let bad = |e: &dyn std::fmt::Display| AddCheckpointError::BadRequest(e.to_string());
        let request = AddCheckpoint::parse(body).map_err(|e| bad(&e))?;
        let note = Note::parse(&request.checkpoint).map_err(|e| bad(&e))?;
        let origin = note.text().split('\n').next().unwrap_or_default();
        let log = self
            .logs
            .get(origin)
            .ok_or_else(|| AddCheckpointError::UnknownLog {
                origin: origin.to_owned(),
            })?;
        let verified = note
            .verify(&log.keys)
            .map_err(|e| AddCheckpointError::Forbidden(e.to_string()))?;
        let checkpoint = Checkpoint::parse(&verified.text).map_err(|e| bad(&e))?;
        let (old, size, root) = (request.old_size, checkpoint.size(), checkpoint.root());
        if old > size {
            return Err(AddCheckpointError::BadRequest(format!(
                "old size {old} is larger than the checkpoint's size {size}"
            )));
        }
        let mut head = log.head.lock().map_err(|_| AddCheckpointError::Halted)?;
        if head.failed {
            return Err(AddCheckpointError::Halted);
        }
        if old != head.size {
            return Err(AddCheckpointError::Conflict { size: head.size });
        }
        if size == 0 && !root.ct_eq(&Hash::empty_root()) {
            return Err(AddCheckpointError::Unprocessable(
                "a tree of size 0 has the empty root".to_owned(),
            ));
        }
        if size == head.size && !root.ct_eq(&head.root) {
            // Another root for the size it cosigned: the log forked.
            return Err(AddCheckpointError::Conflict { size: head.size });
        }
        verify_consistency(old, size, &head.root, &root, &request.proof)
            .map_err(|e| AddCheckpointError::Unprocessable(format!("consistency proof: {e}")))?;
        if size > head.size {
            if let Err(e) = self.dir.write_head(&checkpoint) {
                head.failed = true;
                return Err(AddCheckpointError::Storage(e));
            }
            *head = Head {
                size,
                root,
                failed: false,
            };
            if let Some(hook) = &self.after_persist {
                hook();
            }
        }
        drop(head);
        self.cosigner
            .signature_line(&verified.text, now)
            .map_err(AddCheckpointError::Cosign)
    }
}
