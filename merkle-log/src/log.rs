//! The durable log: sequences batches of entries into tiles on disk and signs
//! checkpoints over them. Blocking I/O; one value per data directory.
//!
//! Integration of a batch, in order: hash and deduplicate; append to the compact
//! range, collecting completed hashes into the right-edge tiles; write every new
//! or grown tile and entry bundle durably; record leaf hashes in the dedup index
//! and flush it; check that the new tree is consistent with the last published
//! checkpoint; sign the new checkpoint and replace the checkpoint file durably.
//! Only then are receipts handed out. The checkpoint file is the commit point: a
//! crash before its rename leaves the previous checkpoint, whose tiles are never
//! rewritten (a new partial tile gets a new name), so recovery is reading it.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::checkpoint::Checkpoint;
use crate::consistency::verify_consistency;
use crate::dedup::{DedupIndex, RebuildStage};
use crate::error::{LogError, StorageError};
use crate::hash::Hash;
use crate::log_index::{RebuildReason, open_index, rebuild_index, record_in_index};
use crate::note::NoteSigner;
use crate::receipt::Receipt;
use crate::storage::{DataDir, write_all_durably, write_atomic};
use crate::store::NodeSink;
use crate::tile_store::{CachedTiles, TileNodeStore, TileSource};
use crate::tiles::{self, TILE_HEIGHT, TILE_WIDTH, TileId};
use crate::tree::{CompactRange, Tree};
use crate::tree_math::NodeId;

/// Tuning of the log.
#[derive(Clone, Copy, Debug)]
pub struct LogConfig {
    /// Most entries integrated under one checkpoint: [`Log::integrate`] splits a
    /// longer slice into several batches, bounding the memory of one batch.
    pub max_batch: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { max_batch: 1 << 16 }
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
    // Set when an integration failed: memory may be ahead of the disk.
    halted: bool,
    last_rebuild: Option<RebuildReason>,
}

impl Log {
    /// Opens (or creates) the log in `data`, signing with `signer`. Reads the
    /// latest checkpoint and the right edge of the tree, and checks them against
    /// each other: a damaged edge is refused rather than signed over. The dedup
    /// index is checked too (its header, and that every entry of the checked
    /// edge is in it) and rebuilt from the tiles when it is missing, unfinished,
    /// of format v1, damaged or behind the log; see [`Log::last_rebuild`].
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
        let cp_path = dir.checkpoint_path();
        let published = match std::fs::read_to_string(&cp_path) {
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
                Published { checkpoint, note }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if dir.file("tile").exists() {
                    return Err(LogError::Damaged {
                        path: cp_path,
                        what: "tiles exist but the checkpoint is missing".to_owned(),
                    });
                }
                let checkpoint = Checkpoint::new(signer.name().as_str(), 0, Hash::empty_root())
                    .map_err(|_| LogError::Origin)?;
                let note = signer
                    .sign(&checkpoint.to_text())
                    .map_err(|_| LogError::Origin)?;
                write_atomic(&cp_path, note.as_bytes())?;
                Published { checkpoint, note }
            }
            Err(e) => return Err(StorageError::io(&cp_path, e).into()),
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
                    "the tiles give root {} for size {size}, the checkpoint says {}",
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
        Ok(Log {
            dir: Arc::new(dir),
            signer,
            dedup: Arc::new(RwLock::new(index)),
            range,
            edge,
            bundle,
            published,
            config,
            halted: false,
            last_rebuild,
        })
    }

    /// Why the dedup index was last rebuilt by this value (at open or when a
    /// batch met a damaged page), if it was.
    pub fn last_rebuild(&self) -> Option<&RebuildReason> {
        self.last_rebuild.as_ref()
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

    /// Sequences a batch: deduplicates, writes new entries and tiles durably,
    /// signs and stores a new checkpoint. Returns one outcome per entry, in order.
    ///
    /// # Errors
    /// [`LogError`] when anything fails. The log then refuses further batches
    /// ([`LogError::Halted`]) until it is reopened, since its in-memory state may
    /// be ahead of the disk; entries of the failed batch were not acknowledged.
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

    fn integrate_batch(&mut self, entries: &[Vec<u8>]) -> Result<Vec<Sequenced>, LogError> {
        let old = self.published.checkpoint.clone();
        // Every entry is classified before anything changes, so that a damaged
        // index met on the way can be rebuilt and the lookups redone.
        let hashes: Vec<Hash> = entries.iter().map(|e| Hash::leaf(e)).collect();
        let outcomes = self.classify(&hashes, old.size())?;
        let mut sink = EdgeSink {
            edge: &mut self.edge,
            full: Vec::new(),
            changed: BTreeSet::new(),
        };
        let mut full_bundles: Vec<(TileId, Vec<u8>)> = Vec::new();
        let mut new_hashes: Vec<(Hash, u64)> = Vec::new();
        let mut bundle_changed = false;
        for ((entry, &h), outcome) in entries.iter().zip(&hashes).zip(&outcomes) {
            let Sequenced::Added(index) = *outcome else {
                continue;
            };
            if self.range.append(h, &mut sink) != Some(index) {
                return Err(LogError::Internal("the tree grew out of step"));
            }
            new_hashes.push((h, index));
            self.bundle.push(entry.clone());
            bundle_changed = true;
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
        if new_hashes.is_empty() {
            return Ok(outcomes);
        }
        let size = self.range.size();
        let EdgeSink { full, changed, .. } = sink;
        // Files: full tiles and bundles completed by this batch, the grown partials.
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        for (tile, hashes) in &full {
            files.push((self.dir.file(&tile.path()), tiles::encode_hash_tile(hashes)));
        }
        let filled_bundles: Vec<u64> = full_bundles.iter().map(|(t, _)| t.index).collect();
        for (tile, bytes) in full_bundles {
            files.push((self.dir.file(&tile.entries_path()), bytes));
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
        if bundle_changed && !self.bundle.is_empty() {
            let mut bytes = Vec::new();
            for e in &self.bundle {
                tiles::push_bundle_entry(&mut bytes, e)
                    .map_err(|_| LogError::Internal("entry too long"))?;
            }
            if let Some(tile) = TileId::at_size(0, size / TILE_WIDTH, size) {
                files.push((self.dir.file(&tile.entries_path()), bytes));
            }
        }
        // Tiles and the dedup table are independent: make them durable together.
        let (dir, dedup) = (&*self.dir, &*self.dedup);
        let index_job = || record_in_index(dir, dedup, old.size(), &new_hashes);
        let (tiles_done, index_done) = std::thread::scope(|s| {
            let tiles = s.spawn(|| write_all_durably(&files));
            let index = index_job();
            (tiles.join(), index)
        });
        tiles_done.unwrap_or_else(|_| {
            Err(StorageError::io(
                Path::new("tile"),
                std::io::Error::other("a writer thread panicked"),
            ))
        })?;
        if let Some(reason) = index_done? {
            self.last_rebuild = Some(reason);
        }

        // Never sign a tree that does not extend the published one.
        let recent: HashMap<(u8, u64), Vec<Hash>> = full
            .into_iter()
            .map(|(t, h)| ((t.level, t.index), h))
            .collect();
        let new_root = self.range.root();
        {
            let source = EdgeTiles {
                dir: &self.dir,
                size,
                edge: &self.edge,
                recent: Some(&recent),
            };
            let tree = Tree::from_parts(self.range.clone(), TileNodeStore::new(size, source));
            let proof = tree
                .consistency_proof(old.size(), size)
                .map_err(|e| LogError::Inconsistent(format!("{e:#}")))?;
            verify_consistency(old.size(), size, &old.root(), &new_root, &proof)
                .map_err(|e| LogError::Inconsistent(e.to_string()))?;
        }
        let checkpoint = Checkpoint::new(self.signer.name().as_str(), size, new_root)
            .map_err(|_| LogError::Origin)?;
        let note = self
            .signer
            .sign(&checkpoint.to_text())
            .map_err(|_| LogError::Origin)?;
        write_atomic(&self.dir.checkpoint_path(), note.as_bytes())?;
        self.published = Published { checkpoint, note };
        // Tiles that filled are now published in full: their partials may go.
        for &(level, index) in recent.keys() {
            self.dir.prune_partials(level, index, false);
        }
        for index in filled_bundles {
            self.dir.prune_partials(0, index, true);
        }
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

/// Checks the right edge against what is above it: the partial bundle hashes
/// to the partial level-0 tile, and the last full tile of each level folds to
/// its hash in the level above.
fn check_edge(
    dir: &DataDir,
    size: u64,
    edge: &[Vec<Hash>],
    bundle: &[Vec<u8>],
) -> Result<(), LogError> {
    let bundle_hashes: Vec<Hash> = bundle.iter().map(|e| Hash::leaf(e)).collect();
    if edge.first().map_or(&[][..], |e| &e[..]) != bundle_hashes.as_slice() {
        return Err(LogError::Damaged {
            path: dir.file(
                &TileId::at_size(0, size / TILE_WIDTH, size)
                    .map(|t| t.entries_path())
                    .unwrap_or_default(),
            ),
            what: "entries do not hash to the level-0 tile".to_owned(),
        });
    }
    let source = EdgeTiles {
        dir,
        size,
        edge,
        recent: None,
    };
    for (level, full, _) in tiles::tiles_for_size(size) {
        let Some(last) = full.checked_sub(1) else {
            continue;
        };
        let tile = TileId {
            level,
            index: last,
            width: 256,
        };
        let hashes = dir.read_hash_tile(tile, size)?;
        let parent = NodeId {
            level: (level + 1) * TILE_HEIGHT,
            index: last,
        };
        let mut want = Vec::new();
        let store = TileNodeStore::new(size, source);
        if crate::store::NodeStore::get_nodes(&store, &[parent], &mut want).is_err() {
            // The parent is not complete yet only when `full` is 0; skip.
            continue;
        }
        if tiles::perfect_root(&hashes).as_ref() != want.first() {
            return Err(LogError::Damaged {
                path: dir.file(&tile.path()),
                what: "tile does not hash to its parent in the level above".to_owned(),
            });
        }
    }
    Ok(())
}

/// Reads the partial tiles and the partial entry bundle of a tree of `size`.
/// The partial tiles (one per level) and the entries of the partial bundle.
type Edge = (Vec<Vec<Hash>>, Vec<Vec<u8>>);

fn load_edge(dir: &DataDir, size: u64) -> Result<Edge, LogError> {
    let mut edge = Vec::new();
    for (level, full, partial) in tiles::tiles_for_size(size) {
        let mut hashes = Vec::new();
        if partial > 0 {
            let tile = TileId {
                level,
                index: full,
                width: partial,
            };
            hashes = dir.read_hash_tile(tile, size)?;
        }
        edge.push(hashes);
    }
    let mut bundle = Vec::new();
    if !size.is_multiple_of(TILE_WIDTH) {
        let (bytes, width) = dir.read_bundle(size / TILE_WIDTH, size)?;
        let entries = tiles::decode_bundle(&bytes, width).map_err(|e| LogError::Damaged {
            path: dir.file(&format!(
                "tile/entries/{}.p/{width}",
                tiles::index_path(size / TILE_WIDTH)
            )),
            what: e.to_string(),
        })?;
        bundle = entries.into_iter().map(<[u8]>::to_vec).collect();
    }
    Ok((edge, bundle))
}

/// Collects hashes at tile levels (tree levels that are multiples of 8).
struct EdgeSink<'a> {
    edge: &'a mut Vec<Vec<Hash>>,
    full: Vec<(TileId, Vec<Hash>)>,
    changed: BTreeSet<u8>,
}

impl NodeSink for EdgeSink<'_> {
    fn put_node(&mut self, id: NodeId, hash: Hash) {
        if !id.level.is_multiple_of(TILE_HEIGHT) {
            return;
        }
        let level = id.level / TILE_HEIGHT;
        let l = usize::from(level);
        if self.edge.len() <= l {
            self.edge.resize_with(l + 1, Vec::new);
        }
        let Some(tile) = self.edge.get_mut(l) else {
            return;
        };
        tile.push(hash);
        self.changed.insert(level);
        if tile.len() as u64 == TILE_WIDTH {
            let hashes = std::mem::take(tile);
            self.full.push((
                TileId {
                    level,
                    index: id.index / TILE_WIDTH,
                    width: 256,
                },
                hashes,
            ));
        }
    }
}

/// Tiles of the live log: the partial tiles from memory, tiles completed by the
/// batch in flight from memory, everything else from disk.
#[derive(Clone, Copy)]
struct EdgeTiles<'a> {
    dir: &'a DataDir,
    size: u64,
    edge: &'a [Vec<Hash>],
    recent: Option<&'a HashMap<(u8, u64), Vec<Hash>>>,
}

impl TileSource for EdgeTiles<'_> {
    type Error = StorageError;

    fn read_tile(&self, tile: TileId) -> Result<Vec<Hash>, StorageError> {
        if !tile.is_full()
            && let Some(e) = self.edge.get(usize::from(tile.level))
            && e.len() >= usize::from(tile.width)
        {
            return Ok(e.clone());
        }
        if let Some(h) = self.recent.and_then(|r| r.get(&(tile.level, tile.index))) {
            return Ok(h.clone());
        }
        self.dir.read_hash_tile(tile, self.size)
    }
}
