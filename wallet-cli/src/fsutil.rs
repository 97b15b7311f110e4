//! Writing a small file so that a crash leaves either the old or the new content:
//! temporary file (created with the final mode), fsync, rename, fsync of the
//! directory.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Replaces `path` with `bytes` atomically and durably; the file gets `mode`.
///
/// # Errors
/// The failing step and its cause.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: u32,
) -> Result<(), (&'static str, std::io::Error)> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    let _ = fs::remove_file(tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp)
        .map_err(|e| ("creating", e))?;
    f.write_all(bytes).map_err(|e| ("writing", e))?;
    f.sync_all().map_err(|e| ("syncing", e))?;
    drop(f);
    fs::rename(tmp, path).map_err(|e| ("replacing", e))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ("syncing the directory of", e))
}
