//! Private-key files: generated from the OS random source, written `0600`, and
//! refused when others can read them. Log keys ([`NoteSigner`]) and witness keys
//! ([`Cosigner`]) use the same file rules.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use crate::cosignature::Cosigner;
use crate::error::{KeyError, KeyFileError};
use crate::note::{KeyName, NoteSigner};

/// A key name and a seed from the OS random source.
fn name_and_seed(name: &str) -> Result<(KeyName, [u8; 32]), KeyFileError> {
    let key_name = KeyName::new(name).map_err(|_| KeyFileError::Name {
        origin: name.to_owned(),
    })?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyFileError::Random(e.to_string()))?;
    Ok((key_name, seed))
}

/// A new Ed25519 log key named `origin`, from the OS random source.
///
/// # Errors
/// [`KeyFileError::Name`] for an origin that cannot be a key name,
/// [`KeyFileError::Random`] when the OS has no randomness to give.
pub fn generate(origin: &str) -> Result<NoteSigner, KeyFileError> {
    let (name, seed) = name_and_seed(origin)?;
    Ok(NoteSigner::from_seed(name, &seed))
}

/// A new witness key named `name`, from the OS random source.
///
/// # Errors
/// As [`generate`].
pub fn generate_cosigner(name: &str) -> Result<Cosigner, KeyFileError> {
    let (name, seed) = name_and_seed(name)?;
    Ok(Cosigner::from_seed(name, &seed))
}

/// Writes `text` and a newline to a new file readable only by its owner. An
/// existing file is never overwritten.
fn write_secret(path: &Path, text: &str) -> Result<(), KeyFileError> {
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
    f.write_all(format!("{text}\n").as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Reads a private-key file with `parse`, refusing one that group or others can
/// access.
fn read_secret<T>(path: &Path, parse: fn(&str) -> Result<T, KeyError>) -> Result<T, KeyFileError> {
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
    parse(&text).map_err(|source| KeyFileError::Key {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the private key to a new file readable only by its owner. An existing
/// file is never overwritten.
///
/// # Errors
/// [`KeyFileError::Io`] (including when the file exists).
pub fn write_private_key(path: &Path, signer: &NoteSigner) -> Result<(), KeyFileError> {
    write_secret(path, &signer.to_private_key())
}

/// Writes a witness's private key as [`write_private_key`] does.
///
/// # Errors
/// As [`write_private_key`].
pub fn write_cosigner_key(path: &Path, cosigner: &Cosigner) -> Result<(), KeyFileError> {
    write_secret(path, &cosigner.to_private_key())
}

/// Reads a private-key file, refusing one that group or others can access.
///
/// # Errors
/// [`KeyFileError`] saying what is wrong; never the key itself.
pub fn read_private_key(path: &Path) -> Result<NoteSigner, KeyFileError> {
    read_secret(path, NoteSigner::from_private_key)
}

/// Reads a witness's private-key file as [`read_private_key`] does.
///
/// # Errors
/// As [`read_private_key`].
pub fn read_cosigner_key(path: &Path) -> Result<Cosigner, KeyFileError> {
    read_secret(path, Cosigner::from_private_key)
}
