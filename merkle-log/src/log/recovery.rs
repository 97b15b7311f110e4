//! Recovery and flushes of the log: the replay of the write-ahead log at open,
//! the check of the checkpoint file against the replayed trees, and the flush
//! that makes a segment's files durable and starts the next segment.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::{Log, sign};
use crate::checkpoint::Checkpoint;
use crate::error::{LogError, StorageError};
use crate::hash::Hash;
use crate::storage::{in_parallel, sync_dir, write_atomic};
use crate::tiles;
use crate::wal::{SegmentContents, Wal};

impl Log {
    /// Replays the records of the segment the log was opened at, then makes
    /// everything durable and starts a new segment (unless there was nothing
    /// to replay).
    pub(super) fn replay(&mut self, segment: SegmentContents) -> Result<(), LogError> {
        let mut roots: HashMap<u64, Hash> = HashMap::new();
        roots.insert(segment.base_size, segment.base_root);
        for record in &segment.records {
            let before = self.range.size();
            let added: Vec<(&[u8], Hash)> = record
                .entries
                .iter()
                .map(|e| (e.as_slice(), Hash::leaf(e)))
                .collect();
            if added.iter().any(|(e, _)| e.len() > tiles::MAX_ENTRY_LEN) {
                return Err(LogError::Damaged {
                    path: segment.path.clone(),
                    what: format!("a record after size {before} holds an entry too long"),
                });
            }
            let ext = self.extend(&added)?;
            let root = self.range.root();
            if self.range.size() != record.size || !root.ct_eq(&record.root) {
                return Err(LogError::Damaged {
                    path: segment.path.clone(),
                    what: format!(
                        "replaying the batch after size {before} gives size {} root {root}, \
                         the record says size {} root {}",
                        self.range.size(),
                        record.size,
                        record.root
                    ),
                });
            }
            self.materialise(ext, before, true)?;
            roots.insert(record.size, root);
            self.recovery.batches += 1;
            self.recovery.entries += record.entries.len() as u64;
        }
        self.recovery.torn_at = segment.torn_at;
        let size = self.range.size();
        self.published = sign(&self.signer, size, self.range.root())?;
        self.check_checkpoint_file(&roots)?;
        if segment.records.is_empty() && segment.torn_at.is_none() {
            return Ok(());
        }
        // Durable files, a durable checkpoint, a fresh segment without the
        // replayed (or torn) records.
        self.flush()
    }

    /// Compares the checkpoint file with the tree: a checkpoint the log signed
    /// is of one of the trees in `roots` (the segment's base and each replayed
    /// batch) or of the current one. A file that does not verify is the torn
    /// write of an unsynced replace, rewritten from the tree; one of another
    /// tree is damage. Writes the current checkpoint when the file differs.
    pub(super) fn check_checkpoint_file(&self, roots: &HashMap<u64, Hash>) -> Result<(), LogError> {
        let path = self.dir.checkpoint_path();
        let note = &self.published.note;
        match std::fs::read_to_string(&path) {
            Ok(stored) if stored == *note => return Ok(()),
            Ok(stored) => {
                let verifier = std::slice::from_ref(self.signer.verifier());
                if let Ok((cp, _)) = Checkpoint::from_signed_note(&stored, verifier) {
                    let known = roots.get(&cp.size());
                    if cp.origin() == self.signer.name().as_str()
                        && !known.is_some_and(|r| r.ct_eq(&cp.root()))
                    {
                        return Err(LogError::Damaged {
                            path,
                            what: format!(
                                "it is of size {} root {}, which is not a tree of this log \
                                 (its data ends at size {})",
                                cp.size(),
                                cp.root(),
                                self.range.size()
                            ),
                        });
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StorageError::io(&path, e).into()),
        }
        write_atomic(&path, note.as_bytes())?;
        Ok(())
    }

    /// Makes every file written since the segment began durable, then the
    /// checkpoint, and starts a new segment from the published tree (which
    /// removes the old one). Called when a segment is full, and at open after a
    /// replay.
    ///
    /// # Errors
    /// [`LogError`] when a sync or a write fails; the caller halts.
    pub(super) fn flush(&mut self) -> Result<(), LogError> {
        let dir = &self.dir;
        let going: Vec<PathBuf> = self
            .filled
            .iter()
            .map(|&(level, index, entries)| dir.partials_dir(level, index, entries))
            .collect();
        let keep: Vec<&PathBuf> = self
            .unsynced
            .iter()
            .filter(|p| !going.iter().any(|g| p.starts_with(g)))
            .collect();
        let mut dirs: BTreeSet<&Path> = BTreeSet::new();
        for p in &keep {
            let mut at = p.parent();
            while let Some(d) = at.filter(|d| d.starts_with(dir.root()) && *d != dir.root()) {
                if !dirs.insert(d) {
                    break;
                }
                at = d.parent();
            }
        }
        let workers = keep.len().clamp(1, 8);
        let per = keep.len().div_ceil(workers).max(1);
        in_parallel(keep.chunks(per).map(|chunk| {
            move || {
                for p in chunk {
                    std::fs::File::open(p)
                        .and_then(|f| f.sync_data())
                        .map_err(|e| StorageError::io(p, e))?;
                }
                Ok(())
            }
        }))?;
        let dirs: Vec<&Path> = dirs.into_iter().collect();
        let per = dirs.len().div_ceil(8).max(1);
        in_parallel(
            dirs.chunks(per)
                .map(|chunk| move || chunk.iter().try_for_each(|d| sync_dir(d))),
        )?;
        self.dedup
            .read()
            .map_err(|_| LogError::Internal("dedup lock poisoned"))?
            .sync()?;
        write_atomic(&dir.checkpoint_path(), self.published.note.as_bytes())?;
        let cp = &self.published.checkpoint;
        self.wal = Wal::create(
            &dir.wal_path(),
            cp.size(),
            &cp.root(),
            self.config.wal_segment_bytes,
        )?;
        // The full tiles are durable and no segment replays over the partials.
        for (level, index, entries) in self.filled.drain(..) {
            dir.prune_partials(level, index, entries);
        }
        self.unsynced.clear();
        // Those files are durable now: the segment's base, never renamed.
        self.grown.clear();
        Ok(())
    }
}
