//! The node's identity: an Ed25519 keypair in a 0600 file, created on first use.
//!
//! The file holds the key in libp2p's private-key encoding (the protobuf `PrivateKey`
//! message of the peer-id specification, as go-libp2p and js-libp2p marshal keys). The
//! secret is never logged or printed; only the peer id derived from it is shown.

use std::{
    fs::{self, File, OpenOptions},
    io::{ErrorKind, Read, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

use libp2p::identity::Keypair;

use crate::error::KeyError;

/// The largest key file read (an Ed25519 key encodes to 68 bytes).
const MAX_KEY_FILE_BYTES: u64 = 1024;

/// Loads the keypair in `path`, or creates a new one there (mode 0600, fsynced with its
/// directory) when the file does not exist.
///
/// # Errors
/// [`KeyError::Permissions`] when an existing file can be read by group or others,
/// [`KeyError::Malformed`] when it does not hold an Ed25519 key, [`KeyError::Io`] when it
/// cannot be read or written.
pub fn load_or_create_keypair(path: &Path) -> Result<Keypair, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    match File::open(path) {
        Ok(file) => read_keypair(path, file),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let keypair = Keypair::generate_ed25519();
            let bytes = keypair
                .to_protobuf_encoding()
                .map_err(|_| KeyError::Malformed {
                    path: path.to_path_buf(),
                })?;
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(io)?;
            file.write_all(&bytes).map_err(io)?;
            file.sync_all().map_err(io)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
            }
            Ok(keypair)
        }
        Err(e) => Err(io(e)),
    }
}

fn read_keypair(path: &Path, file: File) -> Result<Keypair, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mode = fs::metadata(path).map_err(io)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_path_buf(),
            mode: mode & 0o777,
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let malformed = || KeyError::Malformed {
        path: path.to_path_buf(),
    };
    let keypair = Keypair::from_protobuf_encoding(&bytes).map_err(|_| malformed())?;
    if keypair.clone().try_into_ed25519().is_err() {
        return Err(malformed());
    }
    Ok(keypair)
}
