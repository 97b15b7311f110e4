//! The durable log: sequences batches of entries into tiles on disk and signs
//! checkpoints over them. Blocking I/O; one value per data directory.
//!
//! Integration of a batch, in order: hash and deduplicate; append to the compact
//! range, collecting completed hashes into the right-edge tiles; check that the
//! new tree is consistent with the last published checkpoint; append the batch's
//! new entries to the write-ahead log and `fdatasync` it (**the commit point**);
//! sign the new checkpoint; write the new and grown tiles and bundles, the dedup
//! slots and the checkpoint file without waiting for the disk. Only then are
//! receipts handed out. When a segment of the write-ahead log is full, every
//! file written since it began is fsynced, the checkpoint is written durably,
//! and a new segment starts from that tree (a flush). At open, the records of
//! the segment are replayed over the tree it starts from, whose files are
//! durable: a crash loses no batch whose record was synced, and the files of
//! the previous tree are never rewritten (a new partial tile gets a new name).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::checkpoint::Checkpoint;
use crate::consistency::verify_consistency;
use crate::dedup::{DedupIndex, RebuildStage};
use crate::error::{LogError, StorageError};
use crate::hash::Hash;
use crate::log_edge::{EdgeSink, EdgeTiles, check_edge, load_edge};
use crate::log_index::{RebuildReason, open_index, rebuild_index, recheck_index, record_in_index};
use crate::note::NoteSigner;
use crate::receipt::Receipt;
use crate::storage::{DataDir, grow_unsynced, write_atomic, write_over, write_unsynced};
use crate::tile_store::{CachedTiles, TileNodeStore};
use crate::tiles::{self, TILE_HEIGHT, TILE_WIDTH, TileId};
use crate::tree::{CompactRange, Tree};
use crate::wal::{self, Wal};

mod recovery;

/// Tuning of the log.
#[derive(Clone, Copy, Debug)]
pub struct LogConfig {
    /// Most entries integrated under one checkpoint: [`Log::integrate`] splits a
    /// longer slice into several batches, bounding the memory of one batch.
    pub max_batch: usize,
    /// Length of a write-ahead log segment: the files written while a segment
    /// fills are made durable together when it is full. A longer segment means
    /// fewer flushes and a longer replay at start.
    pub wal_segment_bytes: u64,
    /// For crash tests only: the sequencer stops for good right after the
    /// write-ahead log append of its first batch, before any file of that batch
    /// is written, so that a kill lands between the commit point and the files.
    /// The binary sets it from `MERKLE_LOG_STOP_AFTER_WAL_APPEND=1` when built with the
    /// `crash-points` feature (this crate's tests turn it on).
    pub stop_after_wal_append: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            max_batch: 1 << 16,
            wal_segment_bytes: wal::DEFAULT_SEGMENT_BYTES,
            stop_after_wal_append: false,
        }
    }
}

/// The latest signed checkpoint.
#[derive(Clone, Debug)]
pub struct Published {
    /// The checkpoint body.
    pub checkpoint: Checkpoint,
    /// The signed note, as served at `/checkpoint`.
    pub note: String,
}

/// What happened to one submitted entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sequenced {
    /// Newly added at this index.
    Added(u64),
    /// Already in the log at this index.
    Duplicate(u64),
}

impl Sequenced {
    /// The entry's index either way.
    pub fn index(self) -> u64 {
        match self {
            Sequenced::Added(i) | Sequenced::Duplicate(i) => i,
        }
    }
}

/// What happened at open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Batches replayed from the write-ahead log.
    pub batches: u64,
    /// Entries those batches added.
    pub entries: u64,
    /// Offset of a torn record dropped from the tail of the write-ahead log
    /// (an append cut short, never acknowledged), if there was one.
    pub torn_at: Option<u64>,
}

/// The files one batch writes, and what it changed in memory.
struct Extension {
    /// Full tiles and bundles completed, and the grown partial ones.
    files: Vec<(PathBuf, Vec<u8>)>,
    /// Tiles completed by the batch, by (level, index).
    recent: HashMap<(u8, u64), Vec<Hash>>,
    /// Tiles (level, index, is an entry bundle) that became full.
    filled: Vec<(u8, u64, bool)>,
    /// Leaf hashes of the added entries, with their indices.
    new_hashes: Vec<(Hash, u64)>,
}

/// The log's sequencer state: O(log n) in memory.
#[derive(Debug)]
pub struct Log {
    dir: Arc<DataDir>,
    signer: NoteSigner,
    dedup: Arc<RwLock<DedupIndex>>,
    range: CompactRange,
    // INVARIANT: edge[L] holds the (size >> 8L) % 256 hashes of the partial tile
    // at level L, for every level that has nodes.
    edge: Vec<Vec<Hash>>,
    // INVARIANT: the size % 256 entries of the partial entry bundle.
    bundle: Vec<Vec<u8>>,
    published: Published,
    config: LogConfig,
    // INVARIANT: the segment starts from a tree whose files are all durable,
    // and its records take it to `published`.
    wal: Wal,
    // Files written since the segment began, made durable at the next flush.
    unsynced: BTreeSet<PathBuf>,
    // The partial file of each `<tile>.p/` directory written since the segment
    // began: the next width renames it and grows it in place. Files of the
    // segment's base are never in it.
    grown: HashMap<PathBuf, PathBuf>,
    // Tiles that filled since the segment began: their partial files are
    // removed once the full ones are durable.
    filled: Vec<(u8, u64, bool)>,
    // Set when an integration failed: memory may be ahead of the disk.
    halted: bool,
    last_rebuild: Option<RebuildReason>,
    recovery: Recovery,
}

fn damaged_storage(e: StorageError) -> LogError {
    match e {
        StorageError::Damaged { path, what } => LogError::Damaged { path, what },
        e => e.into(),
    }
}

impl Log {
    /// Opens (or creates) the log in `data`, signing with `signer`. Reads the
    /// tree that the write-ahead log starts from (or, in a directory written
    /// before it, the latest checkpoint) and the right edge of the tree, and
    /// checks them against each other: a damaged edge is refused rather than
    /// signed over. Then the batches of the write-ahead log are replayed (see
    /// [`Log::recovery`]). The dedup index is checked too (its header, and
    /// that every entry of the checked edge is in it) and rebuilt from the
    /// tiles when it is missing, unfinished, of format v1, damaged or behind
    /// the log; see [`Log::last_rebuild`].
    ///
    /// # Errors
    /// [`LogError`] naming what is wrong and where.
    pub fn open(data: &Path, signer: NoteSigner, config: LogConfig) -> Result<Log, LogError> {
        Self::open_with_progress(data, signer, config, &mut |_| {})
    }

    /// As [`Log::open`], telling `progress` how a rebuild of the dedup index
    /// goes, if one is needed.
    ///
    /// # Errors
    /// As [`Log::open`].
    pub fn open_with_progress(
        data: &Path,
        signer: NoteSigner,
        config: LogConfig,
        progress: &mut dyn FnMut(RebuildStage),
    ) -> Result<Log, LogError> {
        let dir = DataDir::open(data)?;
        let vkey = signer.verifier().to_string();
        let vkey_path = dir.vkey_path();
        match std::fs::read_to_string(&vkey_path) {
            Ok(stored) if stored.trim() == vkey => {}
            Ok(stored) => {
                return Err(LogError::WrongKey {
                    stored: stored.trim().to_owned(),
                    given: vkey,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_atomic(&vkey_path, format!("{vkey}\n").as_bytes())?;
            }
            Err(e) => return Err(StorageError::io(&vkey_path, e).into()),
        }
        let segment = match wal::list_segments(&dir.wal_path())
            .map_err(damaged_storage)?
            .last()
        {
            Some((_, path)) => Some(wal::read_segment(path).map_err(damaged_storage)?),
            None => None,
        };
        let (published, base_of) = match &segment {
            // The segment's base is durable; the checkpoint file may be ahead
            // of it, or torn by a power loss: it is checked after the replay.
            Some(s) => (
                sign(&signer, s.base_size, s.base_root)?,
                "the write-ahead log starts from",
            ),
            None => (
                read_or_create_checkpoint(&dir, &signer)?,
                "the checkpoint says",
            ),
        };
        let size = published.checkpoint.size();
        let (edge, bundle) = load_edge(&dir, size)?;
        let range = CompactRange::from_store(size, &TileNodeStore::new(size, dir.tiles(size)))
            .map_err(|e| LogError::Damaged {
                path: dir.file("tile"),
                what: format!("{e:#}"),
            })?;
        if !range.root().ct_eq(&published.checkpoint.root()) {
            return Err(LogError::Damaged {
                path: dir.file("tile"),
                what: format!(
                    "the tiles give root {} for size {size}, {base_of} {}",
                    range.root(),
                    published.checkpoint.root()
                ),
            });
        }
        check_edge(&dir, size, &edge, &bundle)?;
        // Only now, with the edge vouched for by the checkpoint, is the index
        // checked against it (and rebuilt before anything is accepted, so that
        // no committed entry can be added twice).
        let (index, last_rebuild) = open_index(&dir, size, progress)?;
        let wal = match &segment {
            Some(s) => Wal::open_existing(s)?,
            None => Wal::create(
                &dir.wal_path(),
                size,
                &published.checkpoint.root(),
                config.wal_segment_bytes,
            )?,
        };
        let mut log = Log {
            dir: Arc::new(dir),
            signer,
            dedup: Arc::new(RwLock::new(index)),
            range,
            edge,
            bundle,
            published,
            config,
            wal,
            unsynced: BTreeSet::new(),
            grown: HashMap::new(),
            filled: Vec::new(),
            halted: false,
            last_rebuild,
            recovery: Recovery::default(),
        };
        if let Some(s) = segment {
            log.replay(s)?;
        } else {
            log.check_checkpoint_file(&HashMap::new())?;
        }
        let size = log.range.size();
        if log.recovery.batches > 0 {
            // The replayed batches are durable in the files now: the index is
            // checked at the tree they lead to, as at the open of a log whose
            // write-ahead log held nothing.
            if let Some(reason) = recheck_index(&log.dir, &log.dedup, size, progress)? {
                log.last_rebuild.get_or_insert(reason);
            }
        }
        if size == 0 {
            // The empty table of a new log is no rebuild.
            log.last_rebuild = None;
        }
        Ok(log)
    }

    /// Why the dedup index was last rebuilt by this value (at open or when a
    /// batch met a damaged page), if it was.
    pub fn last_rebuild(&self) -> Option<&RebuildReason> {
        self.last_rebuild.as_ref()
    }

    /// What the write-ahead log held at open.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The latest signed checkpoint.
    pub fn published(&self) -> &Published {
        &self.published
    }

    /// The data directory, shared with readers (files under `tile/` below the
    /// published size never change).
    pub fn dir(&self) -> &Arc<DataDir> {
        &self.dir
    }

    /// A handle on the dedup index, for concurrent readers.
    pub fn dedup(&self) -> &Arc<RwLock<DedupIndex>> {
        &self.dedup
    }

    /// The signer.
    pub fn signer(&self) -> &NoteSigner {
        &self.signer
    }

    /// The tile source that sees the in-memory edge and the disk.
    fn tiles(&self) -> EdgeTiles<'_> {
        EdgeTiles {
            dir: &self.dir,
            size: self.range.size(),
            edge: &self.edge,
            recent: None,
        }
    }

    /// Looks an entry's leaf hash up in the dedup index.
    ///
    /// # Errors
    /// When the index or a tile cannot be read.
    pub fn find(&self, leaf_hash: &Hash) -> Result<Option<u64>, LogError> {
        find_committed(&self.dedup, &self.dir, self.range.size(), leaf_hash)
    }

    /// Sequences a batch: deduplicates, makes the new entries durable in the
    /// write-ahead log, signs, writes the tiles and the checkpoint. Returns one
    /// outcome per entry, in order.
    ///
    /// # Errors
    /// [`LogError`] when anything fails. The log then refuses further batches
    /// ([`LogError::Halted`]) until it is reopened, since its in-memory state may
    /// be ahead of the disk; entries of the failed batch were not acknowledged
    /// (those whose record was synced are replayed at the next open).
    pub fn integrate(&mut self, entries: &[Vec<u8>]) -> Result<Vec<Sequenced>, LogError> {
        if self.halted {
            return Err(LogError::Halted);
        }
        // Refuse the whole call before anything changes.
        if let Some(e) = entries.iter().find(|e| e.len() > tiles::MAX_ENTRY_LEN) {
            return Err(LogError::EntryTooLong { len: e.len() });
        }
        let mut outcomes = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(self.config.max_batch.max(1)) {
            match self.integrate_batch(chunk) {
                Ok(o) => outcomes.extend(o),
                Err(e) => {
                    self.halted = true;
                    return Err(e);
                }
            }
        }
        Ok(outcomes)
    }

    /// Appends entries (each with its leaf hash) to the in-memory tree, and
    /// returns the files that describe the grown tree.
    fn extend(&mut self, added: &[(&[u8], Hash)]) -> Result<Extension, LogError> {
        let mut sink = EdgeSink {
            edge: &mut self.edge,
            full: Vec::new(),
            changed: BTreeSet::new(),
        };
        let mut full_bundles: Vec<(TileId, Vec<u8>)> = Vec::new();
        let mut new_hashes: Vec<(Hash, u64)> = Vec::with_capacity(added.len());
        for &(entry, h) in added {
            let Some(index) = self.range.append(h, &mut sink) else {
                return Err(LogError::Internal("the tree grew out of step"));
            };
            new_hashes.push((h, index));
            self.bundle.push(entry.to_vec());
            if self.bundle.len() as u64 == TILE_WIDTH {
                let mut bytes = Vec::new();
                for e in self.bundle.drain(..) {
                    tiles::push_bundle_entry(&mut bytes, &e)
                        .map_err(|_| LogError::Internal("entry too long"))?;
                }
                let tile = TileId {
                    level: 0,
                    index: index / TILE_WIDTH,
                    width: 256,
                };
                full_bundles.push((tile, bytes));
            }
        }
        let size = self.range.size();
        let EdgeSink { full, changed, .. } = sink;
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut filled: Vec<(u8, u64, bool)> = Vec::new();
        for (tile, hashes) in &full {
            files.push((self.dir.file(&tile.path()), tiles::encode_hash_tile(hashes)));
            filled.push((tile.level, tile.index, false));
        }
        for (tile, bytes) in full_bundles {
            files.push((self.dir.file(&tile.entries_path()), bytes));
            filled.push((0, tile.index, true));
        }
        for level in changed {
            let nodes = size >> (u32::from(level) * u32::from(TILE_HEIGHT));
            if let Some(tile) = TileId::at_size(level, nodes / TILE_WIDTH, size)
                && !tile.is_full()
            {
                let hashes = self.edge.get(usize::from(level)).map_or(&[][..], |v| v);
                files.push((self.dir.file(&tile.path()), tiles::encode_hash_tile(hashes)));
            }
        }
        if !added.is_empty() && !self.bundle.is_empty() {
            let mut bytes = Vec::new();
            for e in &self.bundle {
                tiles::push_bundle_entry(&mut bytes, e)
                    .map_err(|_| LogError::Internal("entry too long"))?;
            }
            if let Some(tile) = TileId::at_size(0, size / TILE_WIDTH, size) {
                files.push((self.dir.file(&tile.entries_path()), bytes));
            }
        }
        let recent = full
            .into_iter()
            .map(|(t, h)| ((t.level, t.index), h))
            .collect();
        Ok(Extension {
            files,
            recent,
            filled,
            new_hashes,
        })
    }

    /// Writes a committed batch's files and dedup slots, without waiting for
    /// the disk: the write-ahead log holds the batch, and the next flush makes
    /// them durable. `published` is the size before the batch; `replaying`
    /// skips slots already recorded.
    fn materialise(
        &mut self,
        ext: Extension,
        published: u64,
        replaying: bool,
    ) -> Result<(), LogError> {
        for (path, bytes) in ext.files {
            let partials = path
                .parent()
                .filter(|d| d.extension().is_some_and(|x| x == "p"))
                .map(Path::to_path_buf);
            match partials.as_ref().and_then(|d| self.grown.get(d)) {
                Some(previous) if *previous != path => {
                    grow_unsynced(previous, &path, &bytes)?;
                    self.unsynced.remove(previous);
                }
                _ => write_unsynced(&path, &bytes)?,
            }
            if let Some(d) = partials {
                self.grown.insert(d, path.clone());
            }
            self.unsynced.insert(path);
        }
        self.filled.extend(ext.filled);
        if let Some(reason) = record_in_index(
            &self.dir,
            &self.dedup,
            published,
            &ext.new_hashes,
            replaying,
        )? {
            self.last_rebuild = Some(reason);
        }
        Ok(())
    }

    fn integrate_batch(&mut self, entries: &[Vec<u8>]) -> Result<Vec<Sequenced>, LogError> {
        let old = self.published.checkpoint.clone();
        // Every entry is classified before anything changes, so that a damaged
        // index met on the way can be rebuilt and the lookups redone.
        let hashes: Vec<Hash> = entries.iter().map(|e| Hash::leaf(e)).collect();
        let outcomes = self.classify(&hashes, old.size())?;
        let added: Vec<(&[u8], Hash)> = entries
            .iter()
            .zip(&hashes)
            .zip(&outcomes)
            .filter(|(_, o)| matches!(o, Sequenced::Added(_)))
            .map(|((e, &h), _)| (e.as_slice(), h))
            .collect();
        if added.is_empty() {
            return Ok(outcomes);
        }
        let ext = self.extend(&added)?;
        let size = self.range.size();
        if outcomes.iter().rev().find_map(|o| match o {
            Sequenced::Added(i) => Some(*i),
            Sequenced::Duplicate(_) => None,
        }) != size.checked_sub(1)
        {
            return Err(LogError::Internal("the tree grew out of step"));
        }
        // Never sign a tree that does not extend the published one.
        let new_root = self.range.root();
        {
            let source = EdgeTiles {
                dir: &self.dir,
                size,
                edge: &self.edge,
                recent: Some(&ext.recent),
            };
            let tree = Tree::from_parts(self.range.clone(), TileNodeStore::new(size, source));
            let proof = tree
                .consistency_proof(old.size(), size)
                .map_err(|e| LogError::Inconsistent(format!("{e:#}")))?;
            verify_consistency(old.size(), size, &old.root(), &new_root, &proof)
                .map_err(|e| LogError::Inconsistent(e.to_string()))?;
        }
        // The commit point: the batch's entries are durable in one append.
        let bytes: Vec<&[u8]> = added.iter().map(|&(e, _)| e).collect();
        if !self.wal.is_empty() && !self.wal.fits(&bytes) {
            self.flush()?;
        }
        self.wal.append(size, &new_root, &bytes)?;
        if self.config.stop_after_wal_append {
            // Parked for good: a spurious wake-up parks again.
            loop {
                std::thread::park();
            }
        }
        let published = sign(&self.signer, size, new_root)?;
        self.materialise(ext, old.size(), false)?;
        write_over(&self.dir.checkpoint_path(), published.note.as_bytes())?;
        self.published = published;
        Ok(outcomes)
    }

    /// What each entry of a batch (given by its leaf hash) will be: a duplicate of an entry of the tree
    /// of `size` leaves or of an earlier entry of the batch, or added at the next
    /// free index. Changes nothing but, if a lookup meets a damaged page, the
    /// index (rebuilt from the tiles, then the lookup redone).
    fn classify(&mut self, hashes: &[Hash], size: u64) -> Result<Vec<Sequenced>, LogError> {
        let mut outcomes = Vec::with_capacity(hashes.len());
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        let mut next = size;
        for &h in hashes {
            if let Some(&i) = in_batch.get(&h) {
                outcomes.push(Sequenced::Duplicate(i));
                continue;
            }
            let found = match find_committed(&self.dedup, &self.dir, size, &h) {
                Err(LogError::Storage(e @ StorageError::IndexDamaged { .. })) => {
                    let fresh = rebuild_index(&self.dir, size, &mut |_| {})?;
                    *self
                        .dedup
                        .write()
                        .map_err(|_| LogError::Internal("dedup lock poisoned"))? = fresh;
                    self.last_rebuild = Some(RebuildReason::Damaged(e.to_string()));
                    find_committed(&self.dedup, &self.dir, size, &h)?
                }
                other => other?,
            };
            if let Some(i) = found {
                outcomes.push(Sequenced::Duplicate(i));
                continue;
            }
            in_batch.insert(h, next);
            outcomes.push(Sequenced::Added(next));
            // The last index a u64 tree size allows is u64::MAX - 1.
            next = next
                .checked_add(1)
                .filter(|&n| n < u64::MAX)
                .ok_or(LogError::Full)?;
        }
        Ok(outcomes)
    }

    /// Receipts for the entries at `indices` against the latest checkpoint,
    /// reading each tile at most once.
    pub fn receipts(&self, indices: &[u64]) -> Vec<Result<Receipt, LogError>> {
        let size = self.range.size();
        let source = CachedTiles::new(self.tiles());
        let tree = Tree::from_parts(self.range.clone(), TileNodeStore::new(size, source));
        indices
            .iter()
            .map(|&index| {
                let proof = tree
                    .inclusion_proof(index, size)
                    .map_err(|e| LogError::Proof(format!("{e:#}")))?;
                Ok(Receipt {
                    extra: None,
                    index,
                    proof,
                    checkpoint: self.published.note.clone(),
                })
            })
            .collect()
    }

    /// A receipt for the entry at `index` against the latest checkpoint.
    ///
    /// # Errors
    /// When `index` is not in the tree or a tile cannot be read.
    pub fn receipt(&self, index: u64) -> Result<Receipt, LogError> {
        self.receipts(&[index])
            .pop()
            .unwrap_or(Err(LogError::Internal("no receipt")))
    }
}

impl Drop for Log {
    /// A log closed in order (not killed) makes everything durable and starts a
    /// new segment, so that its next open has nothing to replay. Best effort: a
    /// failure leaves the segment, which the next open replays.
    fn drop(&mut self) {
        if !self.halted && !self.wal.is_empty() {
            let _ = self.flush();
        }
    }
}

/// Looks `leaf_hash` up in `dedup`, trusting the answer only when the level-0
/// tile of the tree of `size` holds that hash at that index.
///
/// # Errors
/// When the index or a tile cannot be read.
pub fn find_committed(
    dedup: &RwLock<DedupIndex>,
    dir: &DataDir,
    size: u64,
    leaf_hash: &Hash,
) -> Result<Option<u64>, LogError> {
    let mut candidates = dedup
        .read()
        .map_err(|_| LogError::Internal("dedup lock poisoned"))?
        .candidates(leaf_hash)?;
    // The first index wins, even in a tree that holds a hash twice (a directory
    // written before the index could be trusted).
    candidates.sort_unstable();
    // A mapping written by a batch that never committed may point past the
    // tree, or at an index since reused: trust it only if the tile agrees.
    for index in candidates.into_iter().filter(|&i| i < size) {
        let tile = TileId::at_size(0, index / TILE_WIDTH, size)
            .ok_or(LogError::Internal("leaf index beyond the tree"))?;
        let hashes = dir.read_hash_tile(tile, size)?;
        let at = usize::try_from(index % TILE_WIDTH).unwrap_or(usize::MAX);
        if hashes.get(at) == Some(leaf_hash) {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// The signed checkpoint of the tree of `size` leaves and `root`.
fn sign(signer: &NoteSigner, size: u64, root: Hash) -> Result<Published, LogError> {
    let checkpoint =
        Checkpoint::new(signer.name().as_str(), size, root).map_err(|_| LogError::Origin)?;
    let note = signer
        .sign(&checkpoint.to_text())
        .map_err(|_| LogError::Origin)?;
    Ok(Published { checkpoint, note })
}

/// The checkpoint of a directory that has no write-ahead log (new, or written
/// by a version without one, where the checkpoint was the commit point).
fn read_or_create_checkpoint(dir: &DataDir, signer: &NoteSigner) -> Result<Published, LogError> {
    let cp_path = dir.checkpoint_path();
    match std::fs::read_to_string(&cp_path) {
        Ok(note) => {
            let (checkpoint, _) =
                Checkpoint::from_signed_note(&note, std::slice::from_ref(signer.verifier()))
                    .map_err(|e| LogError::Damaged {
                        path: cp_path.clone(),
                        what: e.to_string(),
                    })?;
            if checkpoint.origin() != signer.name().as_str() {
                return Err(LogError::Damaged {
                    path: cp_path,
                    what: format!("origin {:?} is not the key name", checkpoint.origin()),
                });
            }
            Ok(Published { checkpoint, note })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if dir.file("tile").exists() {
                return Err(LogError::Damaged {
                    path: cp_path,
                    what: "tiles exist but the checkpoint is missing".to_owned(),
                });
            }
            let published = sign(signer, 0, Hash::empty_root())?;
            write_atomic(&cp_path, published.note.as_bytes())?;
            Ok(published)
        }
        Err(e) => Err(StorageError::io(&cp_path, e).into()),
    }
}
