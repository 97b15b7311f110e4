//! A minimal key file for trying the node without a wallet: one Ed25519 secret key in
//! hex, written with mode 0600 and never overwritten. The wallet supersedes it.

use std::io::Write;
use std::path::Path;

use ed25519_dalek::SigningKey;

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file exists already; it is never overwritten.
    #[error("{path} already exists; choose another --out file")]
    Exists {
        /// The path.
        path: String,
    },
    /// File-system error.
    #[error("cannot access the key file {path}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No randomness available.
    #[error("no randomness for a new key: {0}")]
    Random(String),
    /// The file is not 64 hex characters.
    #[error("{path} is not a key file (64 hex characters expected)")]
    Malformed {
        /// The path.
        path: String,
    },
}

/// Creates a new random key in a new file readable only by its owner.
///
/// # Errors
/// [`KeyFileError`]; an existing file is never touched.
pub fn create(path: &Path) -> Result<SigningKey, KeyFileError> {
    let shown = path.display().to_string();
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| KeyFileError::Random(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists {
                path: shown.clone(),
            }
        } else {
            KeyFileError::Io {
                path: shown.clone(),
                source,
            }
        }
    })?;
    let io = |source| KeyFileError::Io {
        path: shown.clone(),
        source,
    };
    file.write_all(hex::encode(secret).as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(SigningKey::from_bytes(&secret))
}

/// Reads a key written by [`create`].
///
/// # Errors
/// [`KeyFileError`].
pub fn read(path: &Path) -> Result<SigningKey, KeyFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: shown.clone(),
        source,
    })?;
    let mut secret = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut secret)
        .map_err(|_| KeyFileError::Malformed { path: shown })?;
    Ok(SigningKey::from_bytes(&secret))
}
