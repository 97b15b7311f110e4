//! The witness's data directory: for each log, the latest checkpoint it
//! cosigned, one small file per log replaced atomically and durably.
//!
//! ```text
//! DIR/FORMAT            "merkle-log witness v1\n"
//! DIR/LOCK              held by the running witness
//! DIR/logs/<hex(SHA-256(origin))>
//!                       "<origin>\n<size>\n<base64 root>\n" (a checkpoint body)
//! ```

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::checkpoint::Checkpoint;
use crate::error::{StorageError, WitnessError};
use crate::storage::{lock, write_atomic};

/// The contents of `FORMAT` in a witness's data directory.
pub const WITNESS_FORMAT: &str = "merkle-log witness v1\n";

/// A locked witness data directory.
#[derive(Debug)]
pub struct WitnessDir {
    root: PathBuf,
    // Held for the life of the value: one witness per directory.
    _lock: File,
}

impl WitnessDir {
    /// Opens (creating if needed) a witness data directory and locks it.
    ///
    /// # Errors
    /// [`WitnessError::Format`] for a directory of another kind,
    /// [`StorageError::Locked`] when another process holds it, I/O errors.
    pub fn open(root: &Path) -> Result<WitnessDir, WitnessError> {
        fs::create_dir_all(root).map_err(|e| StorageError::io(root, e))?;
        let format = root.join("FORMAT");
        match fs::read_to_string(&format) {
            Ok(s) if s == WITNESS_FORMAT => {}
            Ok(s) => {
                return Err(WitnessError::Format {
                    path: root.to_path_buf(),
                    found: s.lines().next().unwrap_or_default().to_owned(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let empty = fs::read_dir(root)
                    .map_err(|e| StorageError::io(root, e))?
                    .next()
                    .is_none();
                if !empty {
                    return Err(WitnessError::Format {
                        path: root.to_path_buf(),
                        found: "a non-empty directory without FORMAT".to_owned(),
                    });
                }
                write_atomic(&format, WITNESS_FORMAT.as_bytes())?;
            }
            Err(e) => return Err(StorageError::io(&format, e).into()),
        }
        Ok(WitnessDir {
            root: root.to_path_buf(),
            _lock: lock(root)?,
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file holding the latest cosigned checkpoint of the log `origin`.
    pub fn head_path(&self, origin: &str) -> PathBuf {
        self.root
            .join("logs")
            .join(hex::encode(Sha256::digest(origin.as_bytes())))
    }

    /// The latest checkpoint cosigned for `origin` (origin, size and root only),
    /// or `None` if the witness never cosigned one.
    ///
    /// # Errors
    /// [`WitnessError::Damaged`] for a file that is not the checkpoint of
    /// `origin`, I/O errors.
    pub fn read_head(&self, origin: &str) -> Result<Option<Checkpoint>, WitnessError> {
        let path = self.head_path(origin);
        let text = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::io(&path, e).into()),
        };
        let damaged = |what: String| WitnessError::Damaged {
            path: path.clone(),
            what,
        };
        let text = String::from_utf8(text).map_err(|_| damaged("not UTF-8".to_owned()))?;
        let cp = Checkpoint::parse(&text).map_err(|e| damaged(e.to_string()))?;
        if cp.origin() != origin || !cp.extensions().is_empty() {
            return Err(damaged(format!("holds the head of {:?}", cp.origin())));
        }
        Ok(Some(cp))
    }

    /// Replaces the latest cosigned checkpoint of its origin, durably: after this
    /// returns, a crash leaves the new head.
    ///
    /// # Errors
    /// I/O errors; the file then holds the old head or the new one.
    pub fn write_head(&self, head: &Checkpoint) -> Result<(), StorageError> {
        let bare = Checkpoint::new(head.origin(), head.size(), head.root())
            .map_err(|_| StorageError::io(&self.root, io::Error::other("bad origin")))?;
        write_atomic(&self.head_path(head.origin()), bare.to_text().as_bytes())
    }
}
