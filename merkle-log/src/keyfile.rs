//! Private-key files: generated from the OS random source, written `0600`, and
//! refused when others can read them.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use crate::error::KeyFileError;
use crate::note::{KeyName, NoteSigner};

/// A new Ed25519 log key named `origin`, from the OS random source.
///
/// # Errors
/// [`KeyFileError::Name`] for an origin that cannot be a key name,
/// [`KeyFileError::Random`] when the OS has no randomness to give.
pub fn generate(origin: &str) -> Result<NoteSigner, KeyFileError> {
    let name = KeyName::new(origin).map_err(|_| KeyFileError::Name {
        origin: origin.to_owned(),
    })?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyFileError::Random(e.to_string()))?;
    Ok(NoteSigner::from_seed(name, &seed))
}

/// Writes the private key to a new file readable only by its owner. An existing
/// file is never overwritten.
///
/// # Errors
/// [`KeyFileError::Io`] (including when the file exists).
pub fn write_private_key(path: &Path, signer: &NoteSigner) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    f.write_all(format!("{}\n", signer.to_private_key()).as_bytes())
        .map_err(io)?;
    f.sync_all().map_err(io)
}

/// Reads a private-key file, refusing one that group or others can access.
///
/// # Errors
/// [`KeyFileError`] saying what is wrong; never the key itself.
pub fn read_private_key(path: &Path) -> Result<NoteSigner, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions {
            path: path.to_path_buf(),
            mode: mode & 0o777,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    NoteSigner::from_private_key(&text).map_err(|source| KeyFileError::Key {
        path: path.to_path_buf(),
        source,
    })
}
