//! What a wallet directory may say about itself in `settings.json`: the node it talks
//! to, and, for a regtest development wallet (`wallet testnet up`), that its keystore
//! is sealed with the empty passphrase, so that no command asks for one.
//!
//! Options on the command line win over the file. The file is not secret and not
//! authenticated: it names nothing that the keystore's checks rely on. A wallet
//! whose keystore does not open with the empty passphrase is unlocked as any other.

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;

/// The file's name in the wallet directory.
pub const FILE_NAME: &str = "settings.json";
/// The largest settings file read.
const MAX_LEN: u64 = 64 << 10;

/// A wallet directory's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The node's JSON-RPC URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_url: Option<String>,
    /// The node's cookie file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_file: Option<PathBuf>,
    /// The keystore is sealed with the empty passphrase (regtest development
    /// wallets only; ignored on other networks).
    #[serde(default)]
    pub empty_passphrase: bool,
}

impl Settings {
    /// The settings of the wallet in `dir`: the defaults when it has no file.
    ///
    /// # Errors
    /// A file that cannot be read, is larger than 64 KiB, or is not the format.
    pub fn load(dir: &Path) -> Result<Settings, String> {
        let path = dir.join(FILE_NAME);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut text = String::new();
        file.take(MAX_LEN + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if text.len() as u64 > MAX_LEN {
            return Err(format!(
                "{} is larger than {MAX_LEN} bytes; it holds a few settings",
                path.display()
            ));
        }
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a wallet settings file ({e}); fix or remove it",
                path.display()
            )
        })
    }

    /// Writes the settings of the wallet in `dir` (atomically, mode 0644).
    ///
    /// # Errors
    /// The failing step.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        let path = dir.join(FILE_NAME);
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes, 0o644)
            .map_err(|(step, e)| format!("{step} {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_unknown_or_oversized_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap(), Settings::default());
        let s = Settings {
            rpc_url: Some("http://127.0.0.1:1234".into()),
            cookie_file: Some("/x/.cookie".into()),
            empty_passphrase: true,
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap(), s);
        std::fs::write(dir.path().join(FILE_NAME), r#"{"rpc":"x"}"#).unwrap();
        assert!(
            Settings::load(dir.path())
                .unwrap_err()
                .contains("not a wallet settings file")
        );
        std::fs::write(dir.path().join(FILE_NAME), vec![b' '; 70_000]).unwrap();
        assert!(
            Settings::load(dir.path())
                .unwrap_err()
                .contains("larger than")
        );
    }
}
