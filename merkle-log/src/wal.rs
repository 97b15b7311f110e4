//! The write-ahead log: one durable append per batch commits the batch's new
//! entries; the tiles, bundles, dedup slots and checkpoint derived from them are
//! written afterwards without waiting for the disk, and made durable together
//! once per segment.
//!
//! A segment is one file, `wal/<base size>`, made before it is used: filled with
//! zeros to its full length, given its header, fsynced and renamed into place,
//! so that an append overwrites blocks the file system already holds and its
//! `fdatasync` flushes data only. The header (64 bytes) names the tree the
//! segment starts from, whose files are all durable:
//!
//! | bytes | field |
//! |---|---|
//! | 0-7 | `mlog-wal` |
//! | 8-11 | version 1 (u32 big-endian) |
//! | 12-19 | base tree size (u64 big-endian) |
//! | 20-51 | base root hash |
//! | 52-59 | length the segment was made with (u64 big-endian) |
//! | 60-63 | CRC-32 (IEEE) of bytes 0-59 |
//!
//! A segment never shrinks: a file shorter than the length in its header was
//! truncated, which is damage, unlike a torn record at the tail.
//!
//! Records follow, one per batch: the body length (u64 big-endian), the CRC-32
//! of the record's file offset (u64 big-endian) followed by the body, and the
//! body: the new tree size (u64), the new root (32 bytes), the number of entries
//! (u32) and each entry as a u16 length and its bytes, all big-endian. An
//! all-zero length ends the records. A record that does not check is the torn
//! tail of an append that never finished (and was never acknowledged) unless a
//! record that checks follows it, which only damage can explain.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use crate::error::StorageError;
use crate::hash::Hash;
use crate::storage::{create_dirs_synced, sync_dir};
use crate::tiles::MAX_ENTRY_LEN;

/// First bytes of a segment.
const MAGIC: &[u8; 8] = b"mlog-wal";
/// Version of the segment layout.
const VERSION: u32 = 1;
/// Length of a segment's header.
const HEADER: u64 = 64;
/// Length of a record's prefix: body length and checksum.
const PREFIX: u64 = 12;
/// Body bytes before the entries: size, root, count.
const BODY_HEAD: usize = 8 + 32 + 4;

/// Default length of a segment: records of this many bytes are made durable
/// with data-only syncs before the files they describe are synced together.
pub const DEFAULT_SEGMENT_BYTES: u64 = 4 << 20;

/// One batch as the write-ahead log holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalRecord {
    /// Tree size after the batch.
    pub size: u64,
    /// Root after the batch.
    pub root: Hash,
    /// The entries the batch added, in index order.
    pub entries: Vec<Vec<u8>>,
}

/// What reading a segment found.
#[derive(Debug)]
pub struct SegmentContents {
    /// The segment's file.
    pub path: PathBuf,
    /// Size of the tree the segment starts from.
    pub base_size: u64,
    /// Root of that tree.
    pub base_root: Hash,
    /// The records that check, in order.
    pub records: Vec<WalRecord>,
    /// Offset of a torn record at the tail (an append that never finished),
    /// if there is one.
    pub torn_at: Option<u64>,
    /// Offset where the records that check end.
    pub end: u64,
    /// Length of the file.
    pub len: u64,
}

/// The segment being appended to.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    // INVARIANT: HEADER <= at; records end at `at`, zeros follow up to `len`.
    at: u64,
    len: u64,
    base_size: u64,
}

fn damaged(path: &Path, what: impl Into<String>) -> StorageError {
    StorageError::Damaged {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

fn segment_path(dir: &Path, base_size: u64) -> PathBuf {
    dir.join(base_size.to_string())
}

fn header(base_size: u64, base_root: &Hash, len: u64) -> [u8; HEADER as usize] {
    let mut h = [0u8; HEADER as usize];
    let mut at = 0;
    for field in [
        &MAGIC[..],
        &VERSION.to_be_bytes(),
        &base_size.to_be_bytes(),
        base_root.as_bytes(),
        &len.to_be_bytes(),
    ] {
        if let Some(dst) = h.get_mut(at..at + field.len()) {
            dst.copy_from_slice(field);
        }
        at += field.len();
    }
    let sum = crc32fast::hash(h.get(..60).unwrap_or_default());
    if let Some(dst) = h.get_mut(60..64) {
        dst.copy_from_slice(&sum.to_be_bytes());
    }
    h
}

fn record_checksum(offset: u64, body: &[u8]) -> u32 {
    let mut c = crc32fast::Hasher::new();
    c.update(&offset.to_be_bytes());
    c.update(body);
    c.finalize()
}

/// The bytes of one record written at `offset`.
///
/// # Errors
/// [`StorageError::Damaged`] naming `path` when an entry is longer than a
/// bundle can hold (the log refuses those before it gets here).
fn encode_record(
    path: &Path,
    offset: u64,
    size: u64,
    root: &Hash,
    entries: &[&[u8]],
) -> Result<Vec<u8>, StorageError> {
    let body_len = BODY_HEAD + entries.iter().map(|e| 2 + e.len()).sum::<usize>();
    let mut out = Vec::with_capacity(PREFIX as usize + body_len);
    out.extend_from_slice(&(body_len as u64).to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(root.as_bytes());
    let count = u32::try_from(entries.len())
        .map_err(|_| damaged(path, "more than 2^32 - 1 entries in one record"))?;
    out.extend_from_slice(&count.to_be_bytes());
    for e in entries {
        let len = u16::try_from(e.len())
            .ok()
            .filter(|_| e.len() <= MAX_ENTRY_LEN)
            .ok_or_else(|| damaged(path, format!("an entry of {} bytes", e.len())))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    let sum = record_checksum(offset, out.get(PREFIX as usize..).unwrap_or_default());
    if let Some(dst) = out.get_mut(8..12) {
        dst.copy_from_slice(&sum.to_be_bytes());
    }
    Ok(out)
}

/// A record's body decoded, or `None` when it is malformed.
fn decode_body(body: &[u8]) -> Option<WalRecord> {
    let (size, rest) = body.split_first_chunk::<8>()?;
    let (root, rest) = rest.split_first_chunk::<32>()?;
    let (count, mut rest) = rest.split_first_chunk::<4>()?;
    let count = u32::from_be_bytes(*count);
    // Each entry takes at least its two length bytes: the count is bounded by
    // the body before anything is allocated for it.
    if u64::from(count) > rest.len() as u64 / 2 {
        return None;
    }
    let mut entries = Vec::with_capacity(usize::try_from(count).ok()?);
    for _ in 0..count {
        let (len, tail) = rest.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return None;
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry.to_vec());
        rest = tail;
    }
    rest.is_empty().then(|| WalRecord {
        size: u64::from_be_bytes(*size),
        root: Hash(*root),
        entries,
    })
}

/// The record at `at` in `bytes`: `Ok(Some((record, next offset)))`, `Ok(None)`
/// at the end of the records (a zero length or the end of the file), `Err(())`
/// when the bytes there are not a record that checks.
fn record_at(bytes: &[u8], at: u64) -> Result<Option<(WalRecord, u64)>, ()> {
    let start = usize::try_from(at).map_err(|_| ())?;
    let Some(rest) = bytes.get(start..) else {
        return Ok(None);
    };
    let Some((len, rest)) = rest.split_first_chunk::<8>() else {
        return if rest.iter().all(|&b| b == 0) {
            Ok(None)
        } else {
            Err(())
        };
    };
    let len = u64::from_be_bytes(*len);
    if len == 0 {
        return Ok(None);
    }
    let (sum, rest) = rest.split_first_chunk::<4>().ok_or(())?;
    let body_len = usize::try_from(len).map_err(|_| ())?;
    let body = rest.get(..body_len).ok_or(())?;
    if record_checksum(at, body) != u32::from_be_bytes(*sum) {
        return Err(());
    }
    let record = decode_body(body).ok_or(())?;
    Ok(Some((record, at + PREFIX + len)))
}

/// Whether a record that checks starts anywhere in `bytes` past `from`: a
/// scan for the evidence that a bad record is damage rather than a torn tail.
fn checked_record_after(bytes: &[u8], from: u64) -> bool {
    (from..bytes.len() as u64).any(|at| matches!(record_at(bytes, at), Ok(Some(_))))
}

/// Reads and checks a whole segment.
///
/// # Errors
/// [`StorageError::Damaged`] when the header does not check, or a record that
/// does not check is followed by one that does (an acknowledged batch would
/// be lost); [`StorageError::Io`] when the file cannot be read.
pub fn read_segment(path: &Path) -> Result<SegmentContents, StorageError> {
    let bytes = fs::read(path).map_err(|e| StorageError::io(path, e))?;
    let head = bytes
        .first_chunk::<{ HEADER as usize }>()
        .ok_or_else(|| damaged(path, "shorter than its header"))?;
    let sum = crc32fast::hash(head.get(..60).unwrap_or_default());
    if head.get(60..64) != Some(&sum.to_be_bytes()[..]) {
        return Err(damaged(path, "the header fails its checksum"));
    }
    if head.get(..8) != Some(&MAGIC[..]) {
        return Err(damaged(path, "not a write-ahead log segment (bad magic)"));
    }
    if head.get(8..12) != Some(&VERSION.to_be_bytes()[..]) {
        return Err(damaged(
            path,
            "write-ahead log segment of an unknown version",
        ));
    }
    let word = |from: usize| {
        head.get(from..from + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes)
    };
    let base_size = word(12);
    let made = word(52);
    if (bytes.len() as u64) < made {
        return Err(damaged(
            path,
            format!(
                "truncated: {} bytes, the segment was made with {made}",
                bytes.len()
            ),
        ));
    }
    let mut root = [0u8; 32];
    root.copy_from_slice(head.get(20..52).unwrap_or(&[0; 32]));
    let base_root = Hash(root);
    let mut records = Vec::new();
    let mut at = HEADER;
    let mut size = base_size;
    let torn_at = loop {
        match record_at(&bytes, at) {
            Ok(None) => break None,
            Ok(Some((record, next))) => {
                let added = record.entries.len() as u64;
                if size.checked_add(added) != Some(record.size) || added == 0 {
                    return Err(damaged(
                        path,
                        format!(
                            "the record at offset {at} takes the tree from {size} to {} \
                             with {added} entries",
                            record.size
                        ),
                    ));
                }
                size = record.size;
                records.push(record);
                at = next;
            }
            Err(()) => {
                if checked_record_after(&bytes, at + 1) {
                    return Err(damaged(
                        path,
                        format!(
                            "the record at offset {at} fails its checksum, and records \
                             after it check"
                        ),
                    ));
                }
                break Some(at);
            }
        }
    };
    Ok(SegmentContents {
        path: path.to_path_buf(),
        base_size,
        base_root,
        records,
        torn_at,
        end: at,
        len: bytes.len() as u64,
    })
}

/// The segments in `dir` (the data directory's `wal/`) by base size, ignoring
/// files left by an interrupted creation (`*.tmp`).
///
/// # Errors
/// [`StorageError::Io`] when the directory cannot be listed;
/// [`StorageError::Damaged`] for a file that is not named as a segment.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StorageError> {
    let listing = match fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StorageError::io(dir, e)),
    };
    let mut segments = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| StorageError::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".tmp") {
            continue;
        }
        let base = crate::checkpoint::parse_decimal(&name)
            .ok_or_else(|| damaged(&entry.path(), "not a write-ahead log segment name"))?;
        segments.push((base, entry.path()));
    }
    segments.sort();
    Ok(segments)
}

impl Wal {
    /// Creates the segment of base `base_size` / `base_root` in `dir` (the data
    /// directory's `wal/`): zeros of `len` bytes and the header, written to a
    /// temporary file, fsynced, renamed into place, and `dir` fsynced. Segments
    /// of smaller bases are then removed: the files of this base are durable, so
    /// their records are no longer needed.
    ///
    /// # Errors
    /// [`StorageError::Io`] naming the file.
    pub fn create(
        dir: &Path,
        base_size: u64,
        base_root: &Hash,
        len: u64,
    ) -> Result<Wal, StorageError> {
        create_dirs_synced(dir)?;
        let path = segment_path(dir, base_size);
        let tmp = dir.join(format!("{base_size}.tmp"));
        let len = len.max(HEADER);
        {
            let io = |e| StorageError::io(&tmp, e);
            let mut f = File::create(&tmp).map_err(io)?;
            f.write_all(&header(base_size, base_root, len))
                .map_err(io)?;
            let zeros = vec![0u8; 1 << 16];
            let mut left = len - HEADER;
            while left > 0 {
                let n = left.min(zeros.len() as u64);
                f.write_all(zeros.get(..n as usize).unwrap_or_default())
                    .map_err(io)?;
                left -= n;
            }
            f.sync_all().map_err(io)?;
        }
        fs::rename(&tmp, &path).map_err(|e| StorageError::io(&path, e))?;
        sync_dir(dir)?;
        for (base, old) in list_segments(dir)? {
            if base < base_size {
                let _ = fs::remove_file(old);
            }
        }
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| StorageError::io(&path, e))?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            path,
            file,
            at: HEADER,
            len,
            base_size,
        })
    }

    /// Opens a segment read by [`read_segment`] to append after its records.
    ///
    /// # Errors
    /// [`StorageError::Io`] naming the file.
    pub fn open_existing(read: &SegmentContents) -> Result<Wal, StorageError> {
        let file = OpenOptions::new()
            .write(true)
            .open(&read.path)
            .map_err(|e| StorageError::io(&read.path, e))?;
        Ok(Wal {
            dir: read.path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            path: read.path.clone(),
            file,
            at: read.end,
            len: read.len.max(read.end),
            base_size: read.base_size,
        })
    }

    /// The segment's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory of the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Size of the tree the segment starts from.
    pub fn base_size(&self) -> u64 {
        self.base_size
    }

    /// Whether a record of `entries` fits in what is left of the segment.
    pub fn fits(&self, entries: &[&[u8]]) -> bool {
        let len =
            PREFIX + BODY_HEAD as u64 + entries.iter().map(|e| 2 + e.len() as u64).sum::<u64>();
        self.at + len <= self.len
    }

    /// Whether the segment holds no record yet.
    pub fn is_empty(&self) -> bool {
        self.at == HEADER
    }

    /// Appends the record of a batch that takes the tree to `size` / `root` by
    /// adding `entries`, and makes it durable (`fdatasync`). A record longer
    /// than what is left of the segment is written past its end.
    ///
    /// # Errors
    /// [`StorageError::Io`] naming the segment; after one, the segment must not
    /// be appended to again (the log halts).
    pub fn append(
        &mut self,
        size: u64,
        root: &Hash,
        entries: &[&[u8]],
    ) -> Result<(), StorageError> {
        let record = encode_record(&self.path, self.at, size, root, entries)?;
        let io = |e| StorageError::io(&self.path, e);
        self.file.write_all_at(&record, self.at).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.at += record.len() as u64;
        self.len = self.len.max(self.at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("merkle-log-wal-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn root(n: u8) -> Hash {
        Hash([n; 32])
    }

    #[test]
    fn records_round_trip_and_a_torn_tail_is_reported_not_fatal() {
        let dir = scratch("round");
        let mut wal = Wal::create(&dir, 5, &root(1), 4096).unwrap();
        wal.append(7, &root(2), &[b"a", b"bc"]).unwrap();
        wal.append(8, &root(3), &[b""]).unwrap();
        let read = read_segment(wal.path()).unwrap();
        assert_eq!((read.base_size, read.base_root), (5, root(1)));
        assert_eq!(read.torn_at, None);
        assert_eq!(
            read.records,
            [
                WalRecord {
                    size: 7,
                    root: root(2),
                    entries: vec![b"a".to_vec(), b"bc".to_vec()]
                },
                WalRecord {
                    size: 8,
                    root: root(3),
                    entries: vec![Vec::new()]
                }
            ]
        );
        // A third record cut short: the first two remain, the tail is torn.
        let end = wal.at;
        let third = encode_record(wal.path(), end, 9, &root(4), &[b"xyz"]).unwrap();
        let f = OpenOptions::new().write(true).open(wal.path()).unwrap();
        f.write_all_at(&third[..third.len() - 2], end).unwrap();
        let read = read_segment(wal.path()).unwrap();
        assert_eq!(read.records.len(), 2);
        assert_eq!(read.torn_at, Some(end));
        // A flipped bit in the first record, with the second still sound, is damage.
        let mut bytes = fs::read(wal.path()).unwrap();
        bytes[HEADER as usize + 20] ^= 1;
        fs::write(wal.path(), &bytes).unwrap();
        let err = read_segment(wal.path()).unwrap_err();
        assert!(err.to_string().contains("records after it check"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_record_moved_to_another_offset_does_not_check() {
        let dir = scratch("moved");
        let wal = Wal::create(&dir, 0, &root(0), 4096).unwrap();
        let record = encode_record(wal.path(), HEADER + 100, 1, &root(1), &[b"e"]).unwrap();
        let f = OpenOptions::new().write(true).open(wal.path()).unwrap();
        f.write_all_at(&record, HEADER).unwrap();
        let read = read_segment(wal.path()).unwrap();
        assert!(read.records.is_empty());
        assert_eq!(read.torn_at, Some(HEADER));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn hostile_counts_and_lengths_are_refused_before_allocating() {
        // A count of 2^32 - 1 entries in a 44-byte body.
        let mut body = vec![0u8; BODY_HEAD];
        body[40..44].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode_body(&body), None);
        // An entry longer than the body.
        let mut body = vec![0u8; BODY_HEAD];
        body[43] = 1;
        body.extend_from_slice(&[0xff, 0xff, 1]);
        assert_eq!(decode_body(&body), None);
        // A record length beyond the file.
        let mut bytes = vec![0u8; 64];
        bytes[..8].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(record_at(&bytes, 0), Err(()));
    }
}
