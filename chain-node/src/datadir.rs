//! The data directory's lock: one `chain-node` process per directory, and a second
//! one told so at once.
//!
//! The lock is an advisory lock on `DIR/.lock`, taken before anything else in the
//! directory is opened, so a second process never reaches the chain store (whose own
//! lock it would wait for). The file holds the process id of its holder, for the
//! message. The lock ends with the [`DataDirLock`] value or the process, even after
//! `kill -9`; the file itself stays.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = ".lock";

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error("the data directory {} is in use by another chain-node{}; stop it, or pass another --data", .dir.display(), .pid.map(|p| format!(" (process {p})")).unwrap_or_default())]
    InUse {
        /// The directory.
        dir: PathBuf,
        /// The holder's process id, when its lock file names one.
        pid: Option<u32>,
    },
    /// The lock file could not be opened or written.
    #[error("cannot lock the data directory with {}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A held lock on a data directory; dropping it releases the lock.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Locks the existing directory `dir` without waiting.
    ///
    /// # Errors
    /// [`LockError::InUse`] when another process holds it, [`LockError::Io`] when
    /// the lock file cannot be opened or written.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if file.try_lock().is_err() {
            // The holder wrote its process id; at most a few bytes are read.
            let mut text = String::new();
            let _ = (&mut file).take(32).read_to_string(&mut text);
            return Err(LockError::InUse {
                dir: dir.to_owned(),
                pid: text.trim().parse().ok(),
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DataDirLock { _file: file })
    }
}
