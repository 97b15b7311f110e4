//! The dedup index: leaf hash → first leaf index, an on-disk hash table with O(1)
//! memory.
//!
//! The table is one file of 2^k pages of 4 KiB; a page holds 256 slots of 16
//! bytes: `key = SHA-256(secret || leaf hash)[..8]` and `index + 1` (both
//! big-endian; an all-zero index field is an empty slot). A leaf hash lives in page
//! `key >> (64 - k)`; the secret is random per data directory and kept beside the
//! table, so submitters cannot aim entries at one page. When a page fills, the table doubles
//! into a new file (`index-<k+1>`, written, fsynced and renamed before the old one
//! is removed).
//!
//! The index only ever proposes candidates: a caller trusts a hit only when the
//! level-0 tile holds that leaf hash at that index, so stale or torn slots (from a
//! batch that never committed) are harmless, and prefix collisions are resolved by
//! checking every candidate.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::StorageError;
use crate::hash::Hash;
use crate::storage::write_atomic;

const PAGE: usize = 4096;
const SLOT: usize = 16;
const SLOTS: usize = PAGE / SLOT;
/// Pages of a new table: 2^INITIAL_BITS.
const INITIAL_BITS: u32 = 4;
const MAX_BITS: u32 = 40;

/// The on-disk dedup table.
#[derive(Debug)]
pub struct DedupIndex {
    dir: PathBuf,
    secret: [u8; 32],
    bits: u32,
    file: File,
}

fn table_path(dir: &Path, bits: u32) -> PathBuf {
    dir.join(format!("index-{bits}"))
}

impl DedupIndex {
    /// Opens the table in `dir`, creating it (with a new random secret) if absent.
    ///
    /// # Errors
    /// [`StorageError`] for I/O failures or a malformed table.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        fs::create_dir_all(dir).map_err(|e| StorageError::io(dir, e))?;
        let secret_path = dir.join("secret");
        let secret = match fs::read(&secret_path) {
            Ok(s) => <[u8; 32]>::try_from(s.as_slice()).map_err(|_| StorageError::Damaged {
                path: secret_path.clone(),
                what: "the dedup secret is not 32 bytes".into(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut s = [0u8; 32];
                getrandom::fill(&mut s).map_err(|e| {
                    StorageError::io(&secret_path, std::io::Error::other(e.to_string()))
                })?;
                write_atomic(&secret_path, &s)?;
                s
            }
            Err(e) => return Err(StorageError::io(&secret_path, e)),
        };
        // The largest complete table wins; leftovers of an interrupted doubling go.
        let mut bits = None;
        for entry in fs::read_dir(dir).map_err(|e| StorageError::io(dir, e))? {
            let entry = entry.map_err(|e| StorageError::io(dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            } else if let Some(b) = name.strip_prefix("index-").and_then(|b| b.parse().ok()) {
                bits = bits.max(Some(b));
            }
        }
        let bits = match bits {
            Some(b) => b,
            None => {
                write_atomic(
                    &table_path(dir, INITIAL_BITS),
                    &vec![0u8; PAGE << INITIAL_BITS],
                )?;
                INITIAL_BITS
            }
        };
        for stale in INITIAL_BITS..bits {
            let _ = fs::remove_file(table_path(dir, stale));
        }
        let path = table_path(dir, bits);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StorageError::io(&path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StorageError::io(&path, e))?
            .len();
        if len != (PAGE as u64) << bits {
            return Err(StorageError::Damaged {
                path,
                what: format!(
                    "dedup table is {len} bytes, expected {}",
                    (PAGE as u64) << bits
                ),
            });
        }
        Ok(DedupIndex {
            dir: dir.to_path_buf(),
            secret,
            bits,
            file,
        })
    }

    /// The keyed 64-bit key of a leaf hash; its top bits pick the page.
    fn key(&self, h: &Hash) -> u64 {
        let mut d = Sha256::new();
        d.update(self.secret);
        d.update(h.as_bytes());
        let out = d.finalize();
        let mut top = [0u8; 8];
        top.copy_from_slice(out.get(..8).unwrap_or(&[0; 8]));
        u64::from_be_bytes(top)
    }

    fn read_page(&self, page: u64) -> Result<Box<[u8; PAGE]>, StorageError> {
        let mut buf = Box::new([0u8; PAGE]);
        self.file
            .read_exact_at(&mut buf[..], page * PAGE as u64)
            .map_err(|e| StorageError::io(&table_path(&self.dir, self.bits), e))?;
        Ok(buf)
    }

    /// Every index recorded for a leaf hash with the same 8-byte prefix.
    ///
    /// # Errors
    /// [`StorageError::Io`] when the table cannot be read.
    pub fn candidates(&self, h: &Hash) -> Result<Vec<u64>, StorageError> {
        let key = self.key(h);
        let page = self.read_page(key >> (64 - self.bits))?;
        Ok(slots(&page)
            .filter(|&(k, _)| k == key)
            .map(|(_, index)| index)
            .collect())
    }

    /// Records `(leaf hash, index)` pairs (not yet durable: see [`Self::sync`]).
    ///
    /// # Errors
    /// [`StorageError::Io`] when the table cannot be written.
    pub fn insert(&mut self, records: &[(Hash, u64)]) -> Result<(), StorageError> {
        for (h, index) in records {
            let key = self.key(h);
            loop {
                let page_no = key >> (64 - self.bits);
                let page = self.read_page(page_no)?;
                let free = (0..SLOTS).find(|&s| {
                    page.get(s * SLOT + 8..s * SLOT + SLOT)
                        .is_some_and(|v| v.iter().all(|&b| b == 0))
                });
                let Some(free) = free else {
                    self.double()?;
                    continue;
                };
                let mut slot = [0u8; SLOT];
                slot[..8].copy_from_slice(&key.to_be_bytes());
                slot[8..].copy_from_slice(&(index + 1).to_be_bytes());
                let at = page_no * PAGE as u64 + (free * SLOT) as u64;
                self.file
                    .write_all_at(&slot, at)
                    .map_err(|e| StorageError::io(&table_path(&self.dir, self.bits), e))?;
                break;
            }
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
            .map_err(|e| StorageError::io(&table_path(&self.dir, self.bits), e))
    }

    /// Rewrites the table with twice the pages: each page splits into two.
    fn double(&mut self) -> Result<(), StorageError> {
        let bits = self.bits + 1;
        if bits > MAX_BITS {
            return Err(StorageError::Damaged {
                path: self.dir.clone(),
                what: "dedup table cannot grow further".into(),
            });
        }
        let path = table_path(&self.dir, bits);
        let tmp = self.dir.join(format!("index-{bits}.tmp"));
        let io = |e| StorageError::io(&tmp, e);
        let out = File::create(&tmp).map_err(io)?;
        out.set_len((PAGE as u64) << bits).map_err(io)?;
        for page_no in 0..(1u64 << self.bits) {
            let page = self.read_page(page_no)?;
            let mut halves = [[0u8; PAGE], [0u8; PAGE]];
            let mut fill = [0usize; 2];
            for s in 0..SLOTS {
                let Some(slot) = page.get(s * SLOT..(s + 1) * SLOT) else {
                    continue;
                };
                let Some((key, _)) = slots_of(slot).next() else {
                    continue;
                };
                // The next bit of the key picks the lower or upper new page.
                let side = usize::from((key >> (64 - bits)) & 1 == 1);
                if let (Some(half), Some(n)) = (halves.get_mut(side), fill.get_mut(side))
                    && let Some(dst) = half.get_mut(*n * SLOT..(*n + 1) * SLOT)
                {
                    dst.copy_from_slice(slot);
                    *n += 1;
                }
            }
            for (side, half) in halves.iter().enumerate() {
                out.write_all_at(half, (page_no * 2 + side as u64) * PAGE as u64)
                    .map_err(io)?;
            }
        }
        out.sync_all().map_err(io)?;
        fs::rename(&tmp, &path).map_err(|e| StorageError::io(&path, e))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StorageError::io(&self.dir, e))?;
        let old = table_path(&self.dir, self.bits);
        self.file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StorageError::io(&path, e))?;
        self.bits = bits;
        let _ = fs::remove_file(old);
        Ok(())
    }
}

/// The occupied slots of a page (or of one slot), as `(key, index)`.
fn slots_of(bytes: &[u8]) -> impl Iterator<Item = (u64, u64)> + '_ {
    bytes.chunks_exact(SLOT).filter_map(|slot| {
        let (key, index) = slot.split_at(8);
        let key = u64::from_be_bytes(key.try_into().ok()?);
        let index = u64::from_be_bytes(index.try_into().ok()?);
        index.checked_sub(1).map(|i| (key, i))
    })
}

fn slots(page: &[u8; PAGE]) -> impl Iterator<Item = (u64, u64)> + '_ {
    slots_of(&page[..])
}
