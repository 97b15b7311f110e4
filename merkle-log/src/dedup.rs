//! The dedup index: leaf hash → leaf index, an on-disk hash table with O(1)
//! memory, a checksum on every page, and a rebuild that is all or nothing.
//!
//! The table is one file, `table-<k>`: a header page (magic, version, `k`, the
//! 32-byte secret, CRC-32) and 2^k data pages of 4 KiB. A data page holds 255
//! slots of 16 bytes, `key = SHA-256(secret || leaf hash)[..8]` and `index + 1`
//! (both big-endian; an all-zero index field is an empty slot), then a trailer
//! whose last four bytes are the CRC-32 of the table's `k`, the page number and
//! the page. A leaf hash lives in page `key >> (64 - k)`; the secret is random per
//! table, so submitters cannot aim entries at one page. Every page read is checked
//! against its checksum, so a damaged page is an error, never a silent miss.
//! When a page fills, the table doubles into `table-<k+1>` (written, fsynced and
//! renamed before the old file is removed).
//!
//! A rebuild ([`DedupIndex::rebuild`]) writes a complete table into the sibling
//! directory `<dir>.new`, fsyncs it, moves the old directory aside to
//! `<dir>.old`, renames the new one into place and fsyncs the parent: the name
//! `<dir>` only ever holds a finished table. Opening removes what an interrupted
//! rebuild left (`<dir>.new`, `<dir>.old`).
//!
//! The index only ever proposes candidates: a caller trusts a hit only when the
//! level-0 tile holds that leaf hash at that index, so slots from a batch that
//! never committed are harmless, and key collisions are resolved by checking every
//! candidate.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::StorageError;
use crate::hash::Hash;
use crate::storage::{create_dirs_synced, sync_dir};

const PAGE: usize = 4096;
const SLOT: usize = 16;
/// Slots of a data page; the page's last 16 bytes are its trailer.
const SLOTS: usize = PAGE / SLOT - 1;
/// Where a page's checksum sits (its last four bytes).
const CHECKSUM_AT: usize = PAGE - 4;
/// First bytes of the header page.
const MAGIC: &[u8; 16] = b"merkle-log-dedup";
/// Version of the table layout, in the header page.
const TABLE_VERSION: u32 = 2;
/// Pages of a new empty table: 2^INITIAL_BITS.
const INITIAL_BITS: u32 = 4;
const MAX_BITS: u32 = 40;
/// A rebuilt table starts with about this many entries per page (half full).
const REBUILD_LOAD: u64 = 128;

/// The on-disk dedup table.
#[derive(Debug)]
pub struct DedupIndex {
    dir: PathBuf,
    secret: [u8; 32],
    // INVARIANT: INITIAL_BITS <= bits <= MAX_BITS, and `file` holds a header page
    // and 2^bits data pages.
    bits: u32,
    file: File,
}

/// How far a rebuild got; passed to the caller's progress function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RebuildStage {
    /// `done` of `total` leaf hashes are in the new table, which is not in place yet.
    Indexed {
        /// Leaf hashes recorded so far.
        done: u64,
        /// Leaf hashes to record.
        total: u64,
    },
    /// The new table is complete and durable beside the old one, not in place yet.
    Written,
    /// The old table has been moved aside; the new one is not in place yet.
    MovedAside,
}

/// Results of checking every page of a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageCheck {
    /// Data pages checked.
    pub pages: u64,
    /// Pages whose checksum fails.
    pub damaged: u64,
    /// The first few damaged page numbers.
    pub first_damaged: Vec<u64>,
}

fn table_path(dir: &Path, bits: u32) -> PathBuf {
    dir.join(format!("table-{bits}"))
}

/// `<dir>.<suffix>`, beside `dir`.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    dir.with_file_name(name)
}

fn remove_dir_if_present(dir: &Path) -> Result<(), StorageError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io(dir, e)),
    }
}

fn damaged(path: &Path, what: impl Into<String>) -> StorageError {
    StorageError::IndexDamaged {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

fn page_offset(page_no: u64) -> u64 {
    // Page 0 of the file is the header.
    (page_no + 1) * PAGE as u64
}

fn page_checksum(bits: u32, page_no: u64, page: &[u8; PAGE]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&bits.to_be_bytes());
    h.update(&page_no.to_be_bytes());
    h.update(page.get(..CHECKSUM_AT).unwrap_or_default());
    h.finalize()
}

fn stored_checksum(page: &[u8; PAGE]) -> u32 {
    let (_, sum) = page.split_last_chunk::<4>().unwrap_or((&[], &[0; 4]));
    u32::from_be_bytes(*sum)
}

fn seal(bits: u32, page_no: u64, page: &mut [u8; PAGE]) {
    let sum = page_checksum(bits, page_no, page);
    if let Some((_, tail)) = page.split_last_chunk_mut::<4>() {
        *tail = sum.to_be_bytes();
    }
}

fn header_page(bits: u32, secret: &[u8; 32]) -> Box<[u8; PAGE]> {
    let mut page = Box::new([0u8; PAGE]);
    let fields = [
        &MAGIC[..],
        &TABLE_VERSION.to_be_bytes(),
        &bits.to_be_bytes(),
        secret,
    ];
    let mut at = 0;
    for f in fields {
        if let Some(dst) = page.get_mut(at..at + f.len()) {
            dst.copy_from_slice(f);
        }
        at += f.len();
    }
    let sum = crc32fast::hash(page.get(..CHECKSUM_AT).unwrap_or_default());
    if let Some((_, tail)) = page.split_last_chunk_mut::<4>() {
        *tail = sum.to_be_bytes();
    }
    page
}

/// Reads a header page: the table's bits and secret.
fn parse_header(path: &Path, page: &[u8; PAGE]) -> Result<(u32, [u8; 32]), StorageError> {
    let sum = crc32fast::hash(page.get(..CHECKSUM_AT).unwrap_or_default());
    if sum != stored_checksum(page) {
        return Err(damaged(path, "the header page fails its checksum"));
    }
    let field = |at: usize, len: usize| page.get(at..at + len).unwrap_or_default();
    if field(0, 16) != MAGIC {
        return Err(damaged(path, "not a dedup table (bad magic)"));
    }
    let word = |at| {
        <[u8; 4]>::try_from(field(at, 4))
            .ok()
            .map(u32::from_be_bytes)
    };
    if word(16) != Some(TABLE_VERSION) {
        return Err(damaged(path, "dedup table of an unknown version"));
    }
    let bits = word(20).unwrap_or(0);
    let secret =
        <[u8; 32]>::try_from(field(24, 32)).map_err(|_| damaged(path, "short header page"))?;
    Ok((bits, secret))
}

/// The occupied slots of a data page, as `(slot, key, index)`.
fn slots(page: &[u8; PAGE]) -> impl Iterator<Item = (usize, u64, u64)> + '_ {
    page.chunks_exact(SLOT)
        .take(SLOTS)
        .enumerate()
        .filter_map(|(s, slot)| {
            let (key, index) = slot.split_first_chunk::<8>()?;
            let index = u64::from_be_bytes(index.try_into().ok()?);
            Some((s, u64::from_be_bytes(*key), index.checked_sub(1)?))
        })
}

fn free_slots(page: &[u8; PAGE]) -> impl Iterator<Item = usize> + '_ {
    page.chunks_exact(SLOT)
        .take(SLOTS)
        .enumerate()
        .filter(|(_, slot)| slot.get(8..).is_some_and(|v| v.iter().all(|&b| b == 0)))
        .map(|(s, _)| s)
}

fn set_slot(page: &mut [u8; PAGE], slot: usize, key: u64, index: u64) -> Option<()> {
    let stored = index.checked_add(1)?;
    let dst = page.get_mut(slot * SLOT..(slot + 1) * SLOT)?;
    let (k, i) = dst.split_at_mut(8);
    k.copy_from_slice(&key.to_be_bytes());
    i.copy_from_slice(&stored.to_be_bytes());
    Some(())
}

/// The page of `key` in a table of 2^bits pages.
fn page_of(key: u64, bits: u32) -> u64 {
    key.checked_shr(64 - bits).unwrap_or(0)
}

/// Pages for a table that will hold `count` entries at about half load.
fn bits_for(count: u64) -> u32 {
    let pages = count.div_ceil(REBUILD_LOAD).max(1);
    let bits = 64 - (pages - 1).leading_zeros();
    bits.clamp(INITIAL_BITS, MAX_BITS)
}

/// Creates (or empties) the table file at `path` and writes its header page.
fn create_table_file(path: &Path, bits: u32, secret: &[u8; 32]) -> Result<File, StorageError> {
    let io = |e| StorageError::io(path, e);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io)?;
    file.write_all_at(&header_page(bits, secret)[..], 0)
        .map_err(io)?;
    Ok(file)
}

/// Writes a complete table (header and every data page, each sealed) to `path`
/// and fsyncs it. `page(n)` gives the unsealed contents of data page `n`.
fn write_table(
    path: &Path,
    bits: u32,
    secret: &[u8; 32],
    mut page: impl FnMut(u64) -> Result<Box<[u8; PAGE]>, StorageError>,
) -> Result<File, StorageError> {
    let io = |e| StorageError::io(path, e);
    let file = create_table_file(path, bits, secret)?;
    let mut out = BufWriter::with_capacity(1 << 20, &file);
    out.seek(SeekFrom::Start(page_offset(0))).map_err(io)?;
    for n in 0..(1u64 << bits) {
        let mut p = page(n)?;
        seal(bits, n, &mut p);
        out.write_all(&p[..]).map_err(io)?;
    }
    out.flush().map_err(io)?;
    drop(out);
    file.sync_all().map_err(io)?;
    Ok(file)
}

/// The keyed 64-bit key of a leaf hash under `secret`.
fn key_of(secret: &[u8; 32], h: &Hash) -> u64 {
    let mut d = Sha256::new();
    d.update(secret);
    d.update(h.as_bytes());
    let out = d.finalize();
    let mut top = [0u8; 8];
    top.copy_from_slice(out.get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(top)
}

/// Data pages a rebuild fills in memory per pass: 32 MiB.
const PASS_PAGES: u64 = 8192;

/// Where a rebuild writes, and how.
struct Build<'a> {
    path: &'a Path,
    bits: u32,
    secret: &'a [u8; 32],
    /// Data pages filled in memory per pass.
    pass_pages: u64,
}

/// Writes a complete table of 2^bits pages at `path` holding the `total` leaf
/// hashes of `chunks()`, pass by pass over ranges of pages, and fsyncs it.
/// Returns `None` when a page overflows (the caller retries with more pages).
fn build_table<F, I>(
    build: &Build<'_>,
    total: u64,
    chunks: &mut F,
    progress: &mut dyn FnMut(RebuildStage),
) -> Result<Option<File>, StorageError>
where
    F: FnMut() -> I,
    I: IntoIterator<Item = Result<Vec<Hash>, StorageError>>,
{
    let Build {
        path,
        bits,
        secret,
        pass_pages,
    } = *build;
    let io = |e| StorageError::io(path, e);
    let file = create_table_file(path, bits, secret)?;
    let pages = 1u64 << bits;
    let mut done = 0u64;
    progress(RebuildStage::Indexed { done, total });
    let mut first = 0u64;
    while first < pages {
        let count = pass_pages.clamp(1, pages - first);
        let mut buf = vec![[0u8; PAGE]; usize::try_from(count).unwrap_or(0)];
        let mut fill = vec![0usize; buf.len()];
        let mut next = 0u64;
        for chunk in chunks() {
            for h in chunk? {
                let (index, key) = (next, key_of(secret, &h));
                next += 1;
                let Some(at) = page_of(key, bits)
                    .checked_sub(first)
                    .filter(|&p| p < count)
                    .and_then(|p| usize::try_from(p).ok())
                else {
                    continue;
                };
                let (Some(page), Some(n)) = (buf.get_mut(at), fill.get_mut(at)) else {
                    continue;
                };
                if *n == SLOTS {
                    return Ok(None);
                }
                set_slot(page, *n, key, index)
                    .ok_or_else(|| damaged(path, format!("leaf index {index} is too large")))?;
                *n += 1;
                done += 1;
            }
            progress(RebuildStage::Indexed { done, total });
        }
        if next != total {
            return Err(StorageError::Damaged {
                path: path.to_path_buf(),
                what: format!("the rebuild read {next} leaf hashes, expected {total}"),
            });
        }
        for (page_no, page) in (first..).zip(buf.iter_mut()) {
            seal(bits, page_no, page);
        }
        file.write_all_at(buf.as_flattened(), page_offset(first))
            .map_err(io)?;
        first += count;
    }
    file.sync_all().map_err(io)?;
    Ok(Some(file))
}

impl DedupIndex {
    /// Opens the table in `dir` for reading and writing. Leftovers of an
    /// interrupted rebuild beside it (`<dir>.new`, `<dir>.old`) and of an
    /// interrupted doubling inside it are removed first. Returns `None` when
    /// `dir` does not exist.
    ///
    /// # Errors
    /// [`StorageError::IndexDamaged`] when `dir` holds no table, or one whose
    /// header or length is wrong; [`StorageError::Io`] for I/O failures.
    pub fn open(dir: &Path) -> Result<Option<Self>, StorageError> {
        remove_dir_if_present(&sibling(dir, "new"))?;
        remove_dir_if_present(&sibling(dir, "old"))?;
        Self::open_with(dir, true)
    }

    /// Opens the table in `dir` read-only, changing nothing on disk (for
    /// `fsck`). Returns `None` when `dir` does not exist.
    ///
    /// # Errors
    /// As [`DedupIndex::open`].
    pub fn open_read_only(dir: &Path) -> Result<Option<Self>, StorageError> {
        Self::open_with(dir, false)
    }

    fn open_with(dir: &Path, writable: bool) -> Result<Option<Self>, StorageError> {
        let listing = match fs::read_dir(dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::io(dir, e)),
        };
        // The largest complete table wins; leftovers of an interrupted doubling go.
        let mut bits: Option<u32> = None;
        let mut old_layout = false;
        for entry in listing {
            let entry = entry.map_err(|e| StorageError::io(dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".tmp") {
                if writable {
                    let _ = fs::remove_file(entry.path());
                }
            } else if let Some(b) = name.strip_prefix("table-").and_then(|b| b.parse().ok()) {
                bits = bits.max(Some(b));
            } else if name == "secret" || name.starts_with("index-") {
                old_layout = true;
            }
        }
        let Some(bits) = bits else {
            let what = if old_layout {
                "an index of data format v1, which has no checksums"
            } else {
                "no dedup table"
            };
            return Err(damaged(dir, what));
        };
        let path = table_path(dir, bits);
        if !(INITIAL_BITS..=MAX_BITS).contains(&bits) {
            return Err(damaged(&path, "table size out of range"));
        }
        if writable {
            for stale in INITIAL_BITS..bits {
                let _ = fs::remove_file(table_path(dir, stale));
            }
        }
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(&path)
            .map_err(|e| StorageError::io(&path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StorageError::io(&path, e))?
            .len();
        let want = page_offset(1u64 << bits);
        if len != want {
            return Err(damaged(
                &path,
                format!("the table is {len} bytes, expected {want}"),
            ));
        }
        let mut header = Box::new([0u8; PAGE]);
        file.read_exact_at(&mut header[..], 0)
            .map_err(|e| StorageError::io(&path, e))?;
        let (stored_bits, secret) = parse_header(&path, &header)?;
        if stored_bits != bits {
            return Err(damaged(
                &path,
                format!("the header says 2^{stored_bits} pages, the name 2^{bits}"),
            ));
        }
        Ok(Some(DedupIndex {
            dir: dir.to_path_buf(),
            secret,
            bits,
            file,
        }))
    }

    /// Builds a table of the `total` leaf hashes that `chunks()` yields (in
    /// index order from 0) and puts it in place of the table in `dir`, all or
    /// nothing: it is built in `<dir>.new`, made durable, and renamed to `dir`
    /// last. A crash at any point leaves either the old table or the new one at
    /// `dir`, and at worst a `<dir>.new` or `<dir>.old` that [`DedupIndex::open`]
    /// removes. `progress` is told each stage.
    ///
    /// The table is filled in passes of at most 32 MiB of pages held in memory,
    /// each written once, in order; `chunks` is called once per pass.
    ///
    /// # Errors
    /// [`StorageError`] from reading `chunks` or writing; [`StorageError::Damaged`]
    /// when a pass does not yield exactly `total` hashes. Nothing is then in
    /// place of the old table.
    pub fn rebuild<F, I>(
        dir: &Path,
        total: u64,
        mut chunks: F,
        progress: &mut dyn FnMut(RebuildStage),
    ) -> Result<Self, StorageError>
    where
        F: FnMut() -> I,
        I: IntoIterator<Item = Result<Vec<Hash>, StorageError>>,
    {
        let new_dir = sibling(dir, "new");
        let old_dir = sibling(dir, "old");
        remove_dir_if_present(&new_dir)?;
        create_dirs_synced(&new_dir)?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| StorageError::io(&new_dir, std::io::Error::other(e.to_string())))?;
        let mut bits = bits_for(total);
        let file = loop {
            let path = table_path(&new_dir, bits);
            let build = Build {
                path: &path,
                bits,
                secret: &secret,
                pass_pages: PASS_PAGES,
            };
            match build_table(&build, total, &mut chunks, progress)? {
                Some(file) => break file,
                // A page overflowed (most unlikely at half load): twice the pages.
                None if bits < MAX_BITS => {
                    fs::remove_file(&path).map_err(|e| StorageError::io(&path, e))?;
                    bits += 1;
                }
                None => return Err(damaged(&path, "the dedup table cannot grow further")),
            }
        };
        sync_dir(&new_dir)?;
        progress(RebuildStage::Written);
        if dir.exists() {
            remove_dir_if_present(&old_dir)?;
            fs::rename(dir, &old_dir).map_err(|e| StorageError::io(dir, e))?;
        }
        progress(RebuildStage::MovedAside);
        fs::rename(&new_dir, dir).map_err(|e| StorageError::io(dir, e))?;
        sync_dir(dir.parent().unwrap_or(Path::new(".")))?;
        // The new table is in place; a leftover old one is removed at next open.
        let _ = fs::remove_dir_all(&old_dir);
        Ok(DedupIndex {
            dir: dir.to_path_buf(),
            secret,
            bits,
            file,
        })
    }

    /// The table file.
    pub fn path(&self) -> PathBuf {
        table_path(&self.dir, self.bits)
    }

    /// The keyed 64-bit key of a leaf hash; its top bits pick the page.
    fn key(&self, h: &Hash) -> u64 {
        key_of(&self.secret, h)
    }

    /// Reads data page `page_no` and checks its checksum.
    fn read_page(&self, page_no: u64) -> Result<Box<[u8; PAGE]>, StorageError> {
        let mut buf = Box::new([0u8; PAGE]);
        self.file
            .read_exact_at(&mut buf[..], page_offset(page_no))
            .map_err(|e| StorageError::io(&self.path(), e))?;
        if page_checksum(self.bits, page_no, &buf) != stored_checksum(&buf) {
            return Err(damaged(
                &self.path(),
                format!("page {page_no} fails its checksum"),
            ));
        }
        Ok(buf)
    }

    fn write_page(&self, page_no: u64, page: &mut [u8; PAGE]) -> Result<(), StorageError> {
        seal(self.bits, page_no, page);
        self.file
            .write_all_at(&page[..], page_offset(page_no))
            .map_err(|e| StorageError::io(&self.path(), e))
    }

    /// Every index recorded for a leaf hash with the same 8-byte key, in slot
    /// order.
    ///
    /// # Errors
    /// [`StorageError::IndexDamaged`] when the page fails its checksum,
    /// [`StorageError::Io`] when it cannot be read.
    pub fn candidates(&self, h: &Hash) -> Result<Vec<u64>, StorageError> {
        let key = self.key(h);
        let page = self.read_page(page_of(key, self.bits))?;
        Ok(slots(&page)
            .filter(|&(_, k, _)| k == key)
            .map(|(_, _, index)| index)
            .collect())
    }

    /// Records `(leaf hash, index)` pairs (not yet durable: see [`Self::sync`]),
    /// writing each touched page once.
    ///
    /// # Errors
    /// [`StorageError::IndexDamaged`] when a page read on the way fails its
    /// checksum or an index is `u64::MAX`; [`StorageError::Io`] when the table
    /// cannot be read or written.
    pub fn insert(&mut self, records: &[(Hash, u64)]) -> Result<(), StorageError> {
        // Sorted by key, the records of one page are adjacent at any table size.
        let mut keyed: Vec<(u64, u64)> = records.iter().map(|(h, i)| (self.key(h), *i)).collect();
        keyed.sort_unstable();
        let mut at = 0;
        while let Some(&(first, _)) = keyed.get(at) {
            let page_no = page_of(first, self.bits);
            let group = keyed
                .get(at..)
                .unwrap_or_default()
                .iter()
                .take_while(|(k, _)| page_of(*k, self.bits) == page_no)
                .count();
            let mut page = self.read_page(page_no)?;
            let free: Vec<usize> = free_slots(&page).take(group).collect();
            if free.len() < group {
                self.double()?;
                continue;
            }
            for (&(key, index), slot) in keyed
                .get(at..at + group)
                .unwrap_or_default()
                .iter()
                .zip(free)
            {
                set_slot(&mut page, slot, key, index).ok_or_else(|| {
                    damaged(&self.path(), format!("leaf index {index} is too large"))
                })?;
            }
            self.write_page(page_no, &mut page)?;
            at += group;
        }
        Ok(())
    }

    /// Makes every insert so far durable.
    ///
    /// # Errors
    /// [`StorageError::Io`] when the sync fails.
    pub fn sync(&self) -> Result<(), StorageError> {
        self.file
            .sync_data()
            .map_err(|e| StorageError::io(&self.path(), e))
    }

    /// Checks the checksum of every data page (for `fsck`): one sequential read.
    ///
    /// # Errors
    /// [`StorageError::Io`] when the table cannot be read.
    pub fn check_pages(&self) -> Result<PageCheck, StorageError> {
        let mut check = PageCheck::default();
        for page_no in 0..(1u64 << self.bits) {
            check.pages += 1;
            match self.read_page(page_no) {
                Ok(_) => {}
                Err(StorageError::IndexDamaged { .. }) => {
                    check.damaged += 1;
                    if check.first_damaged.len() < 8 {
                        check.first_damaged.push(page_no);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(check)
    }

    /// Rewrites the table with twice the pages: each page splits into two by
    /// the next bit of its keys.
    fn double(&mut self) -> Result<(), StorageError> {
        let bits = self.bits + 1;
        if bits > MAX_BITS {
            return Err(damaged(&self.path(), "the dedup table cannot grow further"));
        }
        let path = table_path(&self.dir, bits);
        let tmp = self.dir.join(format!("table-{bits}.tmp"));
        let mut halves: Option<[Box<[u8; PAGE]>; 2]> = None;
        let file = write_table(&tmp, bits, &self.secret, |n| {
            // New pages 2p and 2p+1 come from old page p, read once.
            if n % 2 == 0 {
                let page = self.read_page(n / 2)?;
                let mut split = [Box::new([0u8; PAGE]), Box::new([0u8; PAGE])];
                let mut fill = [0usize; 2];
                for (_, key, index) in slots(&page) {
                    let side = usize::from(page_of(key, bits) % 2 == 1);
                    if let (Some(half), Some(n)) = (split.get_mut(side), fill.get_mut(side)) {
                        set_slot(half, *n, key, index);
                        *n += 1;
                    }
                }
                halves = Some(split);
            }
            let side = usize::try_from(n % 2).unwrap_or(0);
            Ok(halves
                .as_ref()
                .and_then(|h| h.get(side))
                .cloned()
                .unwrap_or_else(|| Box::new([0u8; PAGE])))
        })?;
        fs::rename(&tmp, &path).map_err(|e| StorageError::io(&path, e))?;
        sync_dir(&self.dir)?;
        let old = self.path();
        self.file = file;
        self.bits = bits;
        let _ = fs::remove_file(old);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn hashes(n: u64) -> Vec<Hash> {
        (0..n).map(|i| Hash::leaf(&i.to_be_bytes())).collect()
    }

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("merkle-log-dedup-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_build_in_many_passes_indexes_every_hash() {
        let dir = scratch("passes");
        let all = hashes(5000);
        let chunks = || all.chunks(300).map(|c| Ok(c.to_vec())).collect::<Vec<_>>();
        let path = dir.join("table-6");
        let build = Build {
            path: &path,
            bits: 6,
            secret: &[9; 32],
            pass_pages: 5,
        };
        let mut last = None;
        let file = build_table(&build, 5000, &mut { chunks }, &mut |s| last = Some(s))
            .unwrap()
            .unwrap();
        assert_eq!(
            last,
            Some(RebuildStage::Indexed {
                done: 5000,
                total: 5000
            })
        );
        let index = DedupIndex {
            dir: dir.clone(),
            secret: [9; 32],
            bits: 6,
            file,
        };
        assert_eq!(index.check_pages().unwrap().damaged, 0);
        for (i, h) in all.iter().enumerate() {
            assert_eq!(index.candidates(h).unwrap(), [i as u64]);
        }
        // Too few pages: a page overflows and the build says so.
        let small = Build {
            path: &dir.join("table-4"),
            bits: 4,
            ..build
        };
        assert!(
            build_table(&small, 5000, &mut { chunks }, &mut |_| {})
                .unwrap()
                .is_none()
        );
        // A source that yields fewer hashes than announced is refused.
        let short = build_table(&build, 5001, &mut { chunks }, &mut |_| {});
        assert!(matches!(short, Err(StorageError::Damaged { .. })));
        fs::remove_dir_all(dir).unwrap();
    }
}
