//! The log's side of the dedup index: whether the index found at open can be
//! trusted, and rebuilding it from the level-0 tiles when it cannot (at open, or
//! when a batch meets a damaged page).
//!
//! The index is derived data: everything in it is in the tiles. So a missing,
//! unfinished, damaged or outdated index is never an error for the log, only a
//! reason to rebuild it before the next entry is accepted.

use std::path::Path;
use std::sync::RwLock;

use crate::dedup::{DedupIndex, RebuildStage};
use crate::error::{LogError, StorageError};
use crate::hash::Hash;
use crate::storage::DataDir;
use crate::tiles::{self, TILE_WIDTH, TileId};

/// Why the dedup index was rebuilt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RebuildReason {
    /// There was no finished index: it was removed, lost, or its rebuild was
    /// interrupted (what such a rebuild left was discarded).
    Missing,
    /// The index failed a check: a damaged header or page, a wrong length, or
    /// the index of a data directory of format v1, which has no checksums.
    Damaged(String),
    /// An entry of the checked right edge was not in the index: the index is
    /// older than the log.
    Behind {
        /// The first entry found missing.
        index: u64,
    },
}

impl std::fmt::Display for RebuildReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RebuildReason::Missing => f.write_str("there was no finished index"),
            RebuildReason::Damaged(what) => write!(f, "{what}"),
            RebuildReason::Behind { index } => {
                write!(f, "entry {index} was not in the index")
            }
        }
    }
}

/// Opens the dedup index of a tree of `size` leaves whose right edge has been
/// checked, or rebuilds it when it cannot be trusted. Returns why it was
/// rebuilt (also for a tree of size 0, whose replayed batches may follow: the
/// caller drops the reason of a log that stays empty).
pub(crate) fn open_index(
    dir: &DataDir,
    size: u64,
    progress: &mut dyn FnMut(RebuildStage),
) -> Result<(DedupIndex, Option<RebuildReason>), LogError> {
    let reason = match DedupIndex::open(&dir.dedup_path()) {
        Ok(Some(index)) => match check_tail(&index, dir, size)? {
            None => return Ok((index, None)),
            Some(reason) => reason,
        },
        Ok(None) => RebuildReason::Missing,
        Err(e @ StorageError::IndexDamaged { .. }) => RebuildReason::Damaged(e.to_string()),
        Err(e) => return Err(e.into()),
    };
    let index = rebuild_index(dir, size, progress)?;
    Ok((index, Some(reason)))
}

/// Checks the tail of the tree of `size` leaves in an index already open (after
/// the write-ahead log was replayed into it), and rebuilds it from the tiles,
/// which must be durable, when the check fails. Returns why it was rebuilt.
pub(crate) fn recheck_index(
    dir: &DataDir,
    dedup: &RwLock<DedupIndex>,
    size: u64,
    progress: &mut dyn FnMut(RebuildStage),
) -> Result<Option<RebuildReason>, LogError> {
    let mut index = dedup
        .write()
        .map_err(|_| LogError::Internal("dedup lock poisoned"))?;
    let Some(reason) = check_tail(&index, dir, size)? else {
        return Ok(None);
    };
    *index = rebuild_index(dir, size, progress)?;
    Ok(Some(reason))
}

/// Checks that every entry of the last full level-0 tile and of the partial
/// one (the tail that open checks against the checkpoint) is in the index at
/// its index: a few hundred lookups, whatever the size of the log.
fn check_tail(
    index: &DedupIndex,
    dir: &DataDir,
    size: u64,
) -> Result<Option<RebuildReason>, LogError> {
    let first = (size / TILE_WIDTH).saturating_sub(1);
    for k in first..size.div_ceil(TILE_WIDTH) {
        let tile = TileId::at_size(0, k, size).ok_or(LogError::Internal("tile beyond the tree"))?;
        let hashes = dir.read_hash_tile(tile, size)?;
        for (h, i) in hashes.iter().zip(k * TILE_WIDTH..) {
            match index.candidates(h) {
                Ok(c) if c.contains(&i) => {}
                Ok(_) => return Ok(Some(RebuildReason::Behind { index: i })),
                Err(e @ StorageError::IndexDamaged { .. }) => {
                    return Ok(Some(RebuildReason::Damaged(e.to_string())));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(None)
}

/// Rebuilds the dedup index from the level-0 tiles of the tree of `size`
/// leaves, all or nothing (see [`DedupIndex::rebuild`]).
pub(crate) fn rebuild_index(
    dir: &DataDir,
    size: u64,
    progress: &mut dyn FnMut(RebuildStage),
) -> Result<DedupIndex, StorageError> {
    let chunks = || {
        (0..size.div_ceil(TILE_WIDTH)).map(move |k| {
            let tile = TileId::at_size(0, k, size).ok_or_else(|| StorageError::NotYetInLog {
                path: format!("tile/0/{}", tiles::index_path(k)),
            })?;
            dir.read_hash_tile(tile, size)
        })
    };
    DedupIndex::rebuild(&dir.dedup_path(), size, chunks, progress)
}

/// Records a batch's leaf hashes in the index, without syncing it (the
/// write-ahead log holds the batch; the next flush syncs the index). With
/// `replaying`, pairs already in the index are left out, so that a batch
/// replayed over slots it had written takes no second slot. When the index
/// turns out damaged on the way, it is rebuilt from the tiles of the tree of
/// `published` leaves (which the batch in flight does not change) and the
/// batch recorded in the new one; returns why, then.
pub(crate) fn record_in_index(
    dir: &DataDir,
    dedup: &RwLock<DedupIndex>,
    published: u64,
    records: &[(Hash, u64)],
    replaying: bool,
) -> Result<Option<RebuildReason>, StorageError> {
    let poisoned = || {
        StorageError::io(
            Path::new("dedup"),
            std::io::Error::other("dedup lock poisoned"),
        )
    };
    let mut index = dedup.write().map_err(|_| poisoned())?;
    let missing = |index: &DedupIndex| -> Result<Vec<(Hash, u64)>, StorageError> {
        if !replaying {
            return Ok(records.to_vec());
        }
        let mut out = Vec::new();
        for &(h, i) in records {
            if !index.candidates(&h)?.contains(&i) {
                out.push((h, i));
            }
        }
        Ok(out)
    };
    match missing(&index).and_then(|m| index.insert(&m)) {
        Ok(()) => Ok(None),
        Err(e @ StorageError::IndexDamaged { .. }) => {
            let mut fresh = rebuild_index(dir, published, &mut |_| {})?;
            fresh.insert(records)?;
            *index = fresh;
            Ok(Some(RebuildReason::Damaged(e.to_string())))
        }
        Err(e) => Err(e),
    }
}
