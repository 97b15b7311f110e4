//! The data directory: files laid out exactly as the C2SP tile URLs, written
//! durably (write to a temporary file, fsync, rename, fsync the directory).
//!
//! See `docs/storage.md` for the layout and its format version.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::error::StorageError;
use crate::hash::Hash;
use crate::tile_store::TileSource;
use crate::tiles::{self, TILE_WIDTH, TileId};

/// The contents of `FORMAT` for the layout this code writes.
pub const FORMAT_V3: &str = "merkle-log data v3\n";
/// The contents of `FORMAT` of the layout before the write-ahead log, which
/// this code opens and upgrades: its checkpoint was the commit point, so its
/// files are all durable and the first segment starts from its checkpoint.
pub const FORMAT_V2: &str = "merkle-log data v2\n";
/// The contents of `FORMAT` of the first layout, which this code opens and
/// upgrades: it differs from v2 only in the dedup index, which is rebuilt.
pub const FORMAT_V1: &str = "merkle-log data v1\n";

/// A locked data directory.
#[derive(Debug)]
pub struct DataDir {
    root: PathBuf,
    // Held for the life of the value: one process per data directory.
    _lock: File,
}

impl DataDir {
    /// Opens (creating if needed) a data directory and locks it. A directory of
    /// format v1 or v2 is upgraded: `FORMAT` is rewritten to v3 before anything
    /// else, so that older programs refuse it from then on (they would ignore
    /// the write-ahead log); a v1 dedup index is never used (the log rebuilds
    /// it).
    ///
    /// # Errors
    /// [`StorageError::Format`] for a directory of another format,
    /// [`StorageError::Locked`] when another process holds it, I/O errors.
    pub fn open(root: &Path) -> Result<Self, StorageError> {
        fs::create_dir_all(root).map_err(|e| StorageError::io(root, e))?;
        let (dir, version) = Self::open_locked(root)?;
        if version < 3 {
            write_atomic(&root.join("FORMAT"), FORMAT_V3.as_bytes())?;
        }
        Ok(dir)
    }

    /// Opens and locks an existing data directory of format v1, v2 or v3, changing
    /// nothing in it (except writing `FORMAT` into an empty one).
    ///
    /// # Errors
    /// As [`DataDir::open`], and when the directory does not exist.
    pub fn open_existing(root: &Path) -> Result<Self, StorageError> {
        Self::open_locked(root).map(|(dir, _)| dir)
    }

    /// Opens and locks a directory; returns it with its format version.
    fn open_locked(root: &Path) -> Result<(Self, u8), StorageError> {
        if !root.is_dir() {
            return Err(StorageError::io(
                root,
                io::Error::new(io::ErrorKind::NotFound, "no such data directory"),
            ));
        }
        let format = root.join("FORMAT");
        let version = match fs::read_to_string(&format) {
            Ok(s) if s == FORMAT_V3 => 3,
            Ok(s) if s == FORMAT_V2 => 2,
            Ok(s) if s == FORMAT_V1 => 1,
            Ok(s) => {
                return Err(StorageError::Format {
                    found: s.lines().next().unwrap_or_default().to_owned(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let non_empty = fs::read_dir(root)
                    .map_err(|e| StorageError::io(root, e))?
                    .next()
                    .is_some();
                if non_empty {
                    return Err(StorageError::Format {
                        found: "a non-empty directory without FORMAT".to_owned(),
                    });
                }
                write_atomic(&format, FORMAT_V3.as_bytes())?;
                3
            }
            Err(e) => return Err(StorageError::io(&format, e)),
        };
        let dir = DataDir {
            root: root.to_path_buf(),
            _lock: lock(root)?,
        };
        Ok((dir, version))
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of the latest signed checkpoint.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// Path of the latest checkpoint cosigned by the witness quorum (with a
    /// witness policy: what `/checkpoint` serves).
    pub fn witnessed_checkpoint_path(&self) -> PathBuf {
        self.root.join("checkpoint.witnessed")
    }

    /// Path of the log's public verifier key (written at first start).
    pub fn vkey_path(&self) -> PathBuf {
        self.root.join("vkey")
    }

    /// Path of the write-ahead log's segments.
    pub fn wal_path(&self) -> PathBuf {
        self.root.join("wal")
    }

    /// Path of the dedup index.
    pub fn dedup_path(&self) -> PathBuf {
        self.root.join("dedup")
    }

    /// Path of a file named by its C2SP URL path (`tile/...`).
    pub fn file(&self, url_path: &str) -> PathBuf {
        self.root.join(url_path)
    }

    /// The tile source over this directory for a tree of `size` leaves.
    pub fn tiles(&self, size: u64) -> DiskTiles<'_> {
        DiskTiles { dir: self, size }
    }

    /// Reads the hashes of `tile` as stored for a tree of `size` leaves: the full
    /// file when the tile is full at that size, else the partial file of that
    /// width, truncated to `tile.width`.
    ///
    /// # Errors
    /// [`StorageError::Io`] for a missing or unreadable file,
    /// [`StorageError::Damaged`] for a file of the wrong length.
    pub fn read_hash_tile(&self, tile: TileId, size: u64) -> Result<Vec<Hash>, StorageError> {
        let stored = TileId::at_size(tile.level, tile.index, size)
            .ok_or(StorageError::NotYetInLog { path: tile.path() })?;
        if stored.width < tile.width {
            return Err(StorageError::NotYetInLog { path: tile.path() });
        }
        let (path, bytes, width) = self.read_stored(stored, TileId::path, hash_tile_prefix)?;
        let mut hashes =
            tiles::decode_hash_tile(&bytes, width).map_err(|e| StorageError::Damaged {
                path: path.clone(),
                what: e.to_string(),
            })?;
        hashes.truncate(usize::from(tile.width));
        Ok(hashes)
    }

    /// Reads the raw bytes of entry bundle `index` as stored for a tree of `size`
    /// leaves, and its width at that size.
    ///
    /// # Errors
    /// As [`DataDir::read_hash_tile`].
    pub fn read_bundle(&self, index: u64, size: u64) -> Result<(Vec<u8>, u16), StorageError> {
        let stored = TileId::at_size(0, index, size).ok_or(StorageError::NotYetInLog {
            path: format!("tile/entries/{}", tiles::index_path(index)),
        })?;
        let (path, bytes, width) = self.read_stored(stored, TileId::entries_path, bundle_prefix)?;
        if width == stored.width {
            return Ok((bytes, width));
        }
        // Read from the full bundle: keep the entries the partial one had.
        let entries = tiles::decode_bundle(&bytes, width).map_err(|e| StorageError::Damaged {
            path,
            what: e.to_string(),
        })?;
        let mut out = Vec::new();
        for e in entries.iter().take(usize::from(stored.width)) {
            tiles::push_bundle_entry(&mut out, e).map_err(|e| StorageError::Damaged {
                path: self.file(&stored.entries_path()),
                what: e.to_string(),
            })?;
        }
        Ok((out, stored.width))
    }

    /// Reads the file of `stored` (named by `name`), falling back to the full
    /// tile when a partial one was removed because the tile has since filled
    /// (C2SP allows that). Returns the path read, its bytes and its width.
    ///
    /// Within a segment of the write-ahead log, a partial file grows in place
    /// under its new width's name (see `Log`), so the file of a width between
    /// two flushes may be gone while a wider one holds it as a prefix, which
    /// `prefix` (the length of the first `width` items of a file) cuts out.
    fn read_stored(
        &self,
        stored: TileId,
        name: fn(&TileId) -> String,
        prefix: fn(&[u8], u16) -> Option<usize>,
    ) -> Result<(PathBuf, Vec<u8>, u16), StorageError> {
        let path = self.file(&name(&stored));
        match fs::read(&path) {
            Ok(bytes) => Ok((path, bytes, stored.width)),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !stored.is_full() => {
                if let Some(found) = self.read_wider_partial(stored, name, prefix) {
                    return Ok(found);
                }
                let full = TileId {
                    width: 256,
                    ..stored
                };
                let full_path = self.file(&name(&full));
                match fs::read(&full_path) {
                    Ok(bytes) => Ok((full_path, bytes, 256)),
                    Err(_) => Err(StorageError::io(&path, e)),
                }
            }
            Err(e) => Err(StorageError::io(&path, e)),
        }
    }

    /// The first `stored.width` items of the narrowest partial file wider than
    /// `stored` that holds them, if there is one: its path, those bytes and
    /// `stored.width`. A file renamed away meanwhile is looked for again, a few
    /// times.
    fn read_wider_partial(
        &self,
        stored: TileId,
        name: fn(&TileId) -> String,
        prefix: fn(&[u8], u16) -> Option<usize>,
    ) -> Option<(PathBuf, Vec<u8>, u16)> {
        let own = self.file(&name(&stored));
        let dir = own.parent()?;
        for _ in 0..4 {
            let mut widths: Vec<u16> = fs::read_dir(dir)
                .ok()?
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|&w: &u16| w > stored.width && w < 256)
                .collect();
            widths.sort_unstable();
            for w in widths {
                let path = dir.join(w.to_string());
                let Ok(mut bytes) = fs::read(&path) else {
                    continue;
                };
                if let Some(len) = prefix(&bytes, stored.width) {
                    bytes.truncate(len);
                    return Some((path, bytes, stored.width));
                }
            }
        }
        None
    }

    /// The directory of the partial versions of a tile (or, with `entries`, of
    /// an entry bundle): `<tile path>.p/`.
    pub fn partials_dir(&self, level: u8, index: u64, entries: bool) -> PathBuf {
        let full = TileId {
            level,
            index,
            width: 256,
        };
        let path = if entries {
            full.entries_path()
        } else {
            full.path()
        };
        self.file(&format!("{path}.p"))
    }

    /// Removes the partial versions of a tile (or, with `entries`, of an entry
    /// bundle) that has become full and whose full file is durable. Best
    /// effort: a leftover partial file is still correct.
    pub fn prune_partials(&self, level: u8, index: u64, entries: bool) {
        let _ = fs::remove_dir_all(self.partials_dir(level, index, entries));
    }

    /// Reads entry `index` of a tree of `size` leaves.
    ///
    /// # Errors
    /// As [`DataDir::read_bundle`]; [`StorageError::Damaged`] for a bad bundle.
    pub fn read_entry(&self, index: u64, size: u64) -> Result<Vec<u8>, StorageError> {
        let bundle = index / TILE_WIDTH;
        let (bytes, width) = self.read_bundle(bundle, size)?;
        let entries = tiles::decode_bundle(&bytes, width).map_err(|e| StorageError::Damaged {
            path: self.file(&format!("tile/entries/{}", tiles::index_path(bundle))),
            what: e.to_string(),
        })?;
        let at = usize::try_from(index % TILE_WIDTH).unwrap_or(usize::MAX);
        entries
            .get(at)
            .map(|e| e.to_vec())
            .ok_or(StorageError::NotYetInLog {
                path: format!("entry {index}"),
            })
    }
}

/// Takes the exclusive lock of a directory (its `LOCK` file), held as long as the
/// returned file is open.
///
/// # Errors
/// [`StorageError::Locked`] when another process holds it, I/O errors.
pub(crate) fn lock(root: &Path) -> Result<File, StorageError> {
    let lock_path = root.join("LOCK");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StorageError::io(&lock_path, e))?;
    lock.try_lock().map_err(|_| StorageError::Locked {
        path: root.to_path_buf(),
    })?;
    Ok(lock)
}

/// The tiles of a data directory, for a tree of a given size.
#[derive(Debug, Clone, Copy)]
pub struct DiskTiles<'a> {
    dir: &'a DataDir,
    size: u64,
}

impl TileSource for DiskTiles<'_> {
    type Error = StorageError;

    fn read_tile(&self, tile: TileId) -> Result<Vec<Hash>, StorageError> {
        self.dir.read_hash_tile(tile, self.size)
    }
}

/// Writes `bytes` to `path` durably: a temporary file in the same directory,
/// fsync, rename over `path`, fsync of the directory. Parent directories are
/// created (and synced) as needed.
///
/// # Errors
/// [`StorageError::Io`] naming the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    write_all_durably(&[(path.to_path_buf(), bytes.to_vec())])
}

/// Writes several files: each to a temporary file and fsynced, then all renamed,
/// then each touched directory fsynced once.
///
/// # Errors
/// [`StorageError::Io`] naming the failing path.
pub fn write_all_durably(files: &[(PathBuf, Vec<u8>)]) -> Result<(), StorageError> {
    let mut dirs: Vec<&Path> = Vec::new();
    for (path, _) in files {
        let dir = path.parent().unwrap_or(Path::new("."));
        create_dirs_synced(dir)?;
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    // The disk serves several flushes at once: write and sync in parallel.
    in_parallel(files.iter().map(|(path, bytes)| {
        move || {
            let tmp = tmp_path(path);
            let write = || -> io::Result<()> {
                let mut f = File::create(&tmp)?;
                f.write_all(bytes)?;
                f.sync_data()
            };
            write().map_err(|e| StorageError::io(&tmp, e))
        }
    }))?;
    for (path, _) in files {
        fs::rename(tmp_path(path), path).map_err(|e| StorageError::io(path, e))?;
    }
    in_parallel(dirs.into_iter().map(|dir| move || sync_dir(dir)))
}

/// Length of the first `width` hashes of a hash tile's bytes, if it has them.
fn hash_tile_prefix(bytes: &[u8], width: u16) -> Option<usize> {
    let len = usize::from(width) * 32;
    (bytes.len() >= len).then_some(len)
}

/// Length of the first `width` entries of an entry bundle's bytes, if it has
/// them (each entry a big-endian u16 length and its bytes).
fn bundle_prefix(bytes: &[u8], width: u16) -> Option<usize> {
    let mut at = 0usize;
    for _ in 0..width {
        let len = bytes.get(at..at.checked_add(2)?)?;
        let len = usize::from(u16::from_be_bytes([*len.first()?, *len.get(1)?]));
        at = at.checked_add(2)?.checked_add(len)?;
        if at > bytes.len() {
            return None;
        }
    }
    Some(at)
}

/// Grows a partial file of a committed batch in place: renames the file of the
/// previous width (written since the last flush, never a file of the durable
/// base) to `path`, then writes `bytes`, of which its contents are a prefix, at
/// offset 0, without syncing. No new file: creating one per batch is what a
/// batch cost most once its fsyncs were gone.
pub(crate) fn grow_unsynced(from: &Path, path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    use std::os::unix::fs::FileExt as _;
    fs::rename(from, path).map_err(|e| StorageError::io(path, e))?;
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.write_all_at(bytes, 0))
        .map_err(|e| StorageError::io(path, e))
}

/// Writes a file of a committed batch in place, creating its directories,
/// without syncing. Readers never see it half written: they read only files of
/// the published tree, which this batch publishes after writing them.
pub(crate) fn write_unsynced(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let write =
        |p: &Path| fs::File::create(p).and_then(|mut f| io::Write::write_all(&mut f, bytes));
    match write(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = path.parent().unwrap_or(Path::new("."));
            fs::create_dir_all(parent).map_err(|e| StorageError::io(parent, e))?;
            write(path)
        }
        other => other,
    }
    .map_err(|e| StorageError::io(path, e))
}

/// Overwrites the checkpoint file with a note at least as long, in one
/// `pwrite` at offset 0 without syncing: no new file (and no freed one) per
/// batch. A kill lands before or after that one call; only a power loss can
/// tear it, and a torn checkpoint is rewritten from the write-ahead log at
/// open. A shorter note (which a growing tree of one key never signs) falls
/// back to [`write_replaced`].
pub(crate) fn write_over(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    use std::os::unix::fs::FileExt as _;
    let io = |e| StorageError::io(path, e);
    let f = fs::OpenOptions::new().write(true).open(path).map_err(io)?;
    if f.metadata().map_err(io)?.len() > bytes.len() as u64 {
        return write_replaced(path, bytes);
    }
    f.write_all_at(bytes, 0).map_err(io)
}

/// Replaces a file atomically (temporary file, rename) without syncing: the
/// checkpoint, which readers of the directory may read at any time.
pub(crate) fn write_replaced(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    fs::write(&tmp, bytes).map_err(|e| StorageError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| StorageError::io(path, e))
}

/// Runs each job on its own thread and returns the first error.
pub(crate) fn in_parallel<F>(jobs: impl Iterator<Item = F>) -> Result<(), StorageError>
where
    F: FnOnce() -> Result<(), StorageError> + Send,
{
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs.map(|job| s.spawn(job)).collect();
        let mut result = Ok(());
        for h in handles {
            let outcome = h.join().unwrap_or_else(|_| {
                Err(StorageError::io(
                    Path::new("."),
                    io::Error::other("a writer thread panicked"),
                ))
            });
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    })
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Creates `dir` and its missing parents, fsyncing each parent whose listing
/// changed so the new directory survives a crash.
pub(crate) fn create_dirs_synced(dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs_synced(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(StorageError::io(dir, e)),
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StorageError::io(dir, e))
}
