//! Offline check of a data directory: re-hashes every entry and every tile and
//! names the files that are damaged.
//!
//! Each stored tile is compared with what its children (the entry bundle for
//! level 0, the tiles one level down otherwise) fold to, and the tree the tiles
//! make is compared with the signed checkpoint. A disagreement is an edge
//! between two files; the damaged one is the file that disagrees with more of
//! its neighbours, or, when a single pair disagrees, the lower one (the upper
//! file is then vouched for by its own parent). Memory is O(1) tiles.

use std::collections::BTreeMap;
use std::path::Path;

use crate::checkpoint::Checkpoint;
use crate::error::StorageError;
use crate::hash::Hash;
use crate::note::VerifierKey;
use crate::storage::DataDir;
use crate::tile_store::{FetchedTiles, TileNodeStore, TileSource};
use crate::tiles::{self, TILE_WIDTH, TileId, perfect_root};
use crate::tree::Tree;

/// How to repair the dedup index.
const REBUILD: &str = "remove the dedup directory and start the server: it rebuilds the index \
     from the tiles (a running server also rebuilds it when a lookup meets the damage)";

/// One damaged file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// The file, relative to the data directory.
    pub path: String,
    /// What is wrong with it.
    pub what: String,
}

/// The result of a check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsckReport {
    /// Tree size of the checkpoint.
    pub size: u64,
    /// Root of the checkpoint.
    pub root: Option<Hash>,
    /// Entries re-hashed.
    pub entries_checked: u64,
    /// Hash tiles checked.
    pub tiles_checked: u64,
    /// Damaged files; empty when the directory is clean.
    pub damage: Vec<Damage>,
    /// The tree size the write-ahead log takes the log to, when that is past
    /// the checkpoint's: batches committed but not yet in the files (a crash
    /// came between the two), which `merkle-log serve` replays at start.
    pub wal_pending: Option<u64>,
    /// Offset of a torn record at the tail of the write-ahead log (an append
    /// cut short, never acknowledged), which the next start drops.
    pub wal_torn_at: Option<u64>,
}

impl FsckReport {
    /// Whether nothing is damaged.
    pub fn is_clean(&self) -> bool {
        self.damage.is_empty()
    }
}

/// Disagreements between pairs of files, lower file first.
#[derive(Default)]
struct Disagreements {
    edges: Vec<(String, String, String)>,
    direct: Vec<Damage>,
}

impl Disagreements {
    fn edge(&mut self, lower: String, upper: String, what: String) {
        if !self
            .edges
            .iter()
            .any(|(l, u, _)| *l == lower && *u == upper)
        {
            self.edges.push((lower, upper, what));
        }
    }

    fn file(&mut self, path: String, what: String) {
        self.direct.push(Damage { path, what });
    }

    fn blame(self) -> Vec<Damage> {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for (l, u, _) in &self.edges {
            *count.entry(l).or_default() += 1;
            *count.entry(u).or_default() += 1;
        }
        let mut out = self.direct.clone();
        for (l, u, what) in &self.edges {
            let (cl, cu) = (count.get(l.as_str()), count.get(u.as_str()));
            let path = if cu > cl { u } else { l };
            if !out.iter().any(|d| d.path == *path) {
                out.push(Damage {
                    path: path.clone(),
                    what: what.clone(),
                });
            }
        }
        out
    }
}

fn rel(dir: &DataDir, path: &Path) -> String {
    path.strip_prefix(dir.root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Checks the data directory `data`. `progress` is called with (entries done,
/// entries total) as the check goes.
///
/// # Errors
/// [`StorageError`] when the directory cannot be opened at all (wrong format,
/// in use by a running server). Damage is reported in the [`FsckReport`].
pub fn fsck(data: &Path, progress: &mut dyn FnMut(u64, u64)) -> Result<FsckReport, StorageError> {
    let dir = DataDir::open_existing(data)?;
    let mut report = FsckReport::default();
    let mut bad = Disagreements::default();

    let vkey = std::fs::read_to_string(dir.vkey_path())
        .ok()
        .and_then(|s| s.trim().parse::<VerifierKey>().ok());
    if vkey.is_none() {
        bad.file("vkey".into(), "missing or not a verifier key".into());
    }
    let note = match std::fs::read_to_string(dir.checkpoint_path()) {
        Ok(n) => n,
        Err(e) => {
            bad.file("checkpoint".into(), format!("unreadable: {e}"));
            report.damage = bad.blame();
            return Ok(report);
        }
    };
    let checkpoint = match &vkey {
        Some(k) => Checkpoint::from_signed_note(&note, std::slice::from_ref(k)).map(|(c, _)| c),
        None => crate::note::Note::parse(&note)
            .map_err(Into::into)
            .and_then(|n| Checkpoint::parse(n.text())),
    };
    let checkpoint = match checkpoint {
        Ok(c) => c,
        Err(e) => {
            bad.file("checkpoint".into(), e.to_string());
            report.damage = bad.blame();
            return Ok(report);
        }
    };
    let size = checkpoint.size();
    report.size = size;
    report.root = Some(checkpoint.root());
    check_wal(&dir, &checkpoint, &mut report, &mut bad);

    // The dedup index: its header and length, then the checksum of every page.
    let dedup = match crate::dedup::DedupIndex::open_read_only(&dir.dedup_path()) {
        Ok(Some(index)) => Ok(index),
        Ok(None) => Err("missing".to_owned()),
        Err(e) => Err(e.to_string()),
    };
    let mut dedup_pages_ok = true;
    match &dedup {
        Err(e) => bad.file(
            "dedup".into(),
            format!("the dedup index cannot be used ({e}); {REBUILD}"),
        ),
        Ok(index) => match index.check_pages() {
            Ok(check) if check.damaged == 0 => {}
            Ok(check) => {
                dedup_pages_ok = false;
                bad.file(
                    rel(&dir, &index.path()),
                    format!(
                        "{} of {} pages fail their checksum (pages {:?}{}); {REBUILD}",
                        check.damaged,
                        check.pages,
                        check.first_damaged,
                        if check.damaged > check.first_damaged.len() as u64 {
                            ", ..."
                        } else {
                            ""
                        }
                    ),
                );
            }
            Err(e) => bad.file(rel(&dir, &index.path()), format!("unreadable: {e}")),
        },
    }

    // What each partial tile should hold, recomputed from the level below: the
    // partial tiles are the right edge, vouched for by the checkpoint alone.
    let mut expected: FetchedTiles = FetchedTiles::new();

    // Level 0: entries against the level-0 tiles.
    let bundles = size.div_ceil(TILE_WIDTH);
    for k in 0..bundles {
        let Some(tile) = TileId::at_size(0, k, size) else {
            break;
        };
        let bundle_path = rel(&dir, &dir.file(&tile.entries_path()));
        let tile_path = rel(&dir, &dir.file(&tile.path()));
        let stored = read_tile(&dir, tile, size, &mut bad);
        let entries = std::fs::read(dir.file(&tile.entries_path()));
        let hashes: Option<Vec<Hash>> = match &entries {
            Ok(bytes) => match tiles::decode_bundle(bytes, tile.width) {
                Ok(es) => Some(es.iter().map(|e| Hash::leaf(e)).collect()),
                Err(e) => {
                    bad.file(bundle_path.clone(), e.to_string());
                    None
                }
            },
            Err(e) => {
                bad.file(bundle_path.clone(), format!("unreadable: {e}"));
                None
            }
        };
        if let (Some(hashes), false) = (&hashes, tile.is_full()) {
            expected.insert(tile, hashes.clone());
        }
        if let (Some(hashes), Some(stored)) = (&hashes, &stored)
            && let Some(j) = (0..hashes.len()).find(|&j| hashes.get(j) != stored.get(j))
        {
            {
                bad.edge(
                    bundle_path.clone(),
                    tile_path,
                    format!(
                        "entry {} does not hash to its leaf hash in the level-0 tile",
                        k * TILE_WIDTH + j as u64
                    ),
                );
            }
        }
        // The dedup index must map every leaf hash of the tile to its index
        // (checked where the entry and the tile agree on the hash, and once the
        // pages are known sound: a damaged page is reported above).
        if let (Ok(db), true, Some(stored), Some(hashes)) =
            (&dedup, dedup_pages_ok, &stored, &hashes)
        {
            let agreed = stored
                .iter()
                .zip(hashes)
                .enumerate()
                .filter(|(_, (s, h))| s == h);
            for (j, (h, _)) in agreed {
                let index = k * TILE_WIDTH + j as u64;
                let found = db.candidates(h).unwrap_or_default();
                if !found.contains(&index) {
                    bad.file(
                        rel(&dir, &db.path()),
                        format!("entry {index} is not indexed at its index; {REBUILD}"),
                    );
                    dedup_pages_ok = false;
                    break;
                }
            }
        }
        report.entries_checked += u64::from(tile.width);
        report.tiles_checked += 1;
        progress(report.entries_checked, size);
    }

    // Levels above: each tile against the folds of its children.
    for (level, full, partial) in tiles::tiles_for_size(size).into_iter().skip(1) {
        let count = full + u64::from(partial > 0);
        for k in 0..count {
            let Some(tile) = TileId::at_size(level, k, size) else {
                break;
            };
            let tile_path = rel(&dir, &dir.file(&tile.path()));
            let Some(stored) = read_tile(&dir, tile, size, &mut bad) else {
                continue;
            };
            let mut folds = Vec::with_capacity(stored.len());
            for (j, want) in stored.iter().enumerate() {
                let child = TileId {
                    level: level - 1,
                    index: k * TILE_WIDTH + j as u64,
                    width: 256,
                };
                let Some(hashes) = read_tile(&dir, child, size, &mut bad) else {
                    continue;
                };
                let fold = perfect_root(&hashes);
                folds.extend(fold);
                if fold.as_ref() != Some(want) {
                    bad.edge(
                        rel(&dir, &dir.file(&child.path())),
                        tile_path.clone(),
                        "tile does not hash to its parent hash in the level above".into(),
                    );
                }
            }
            if !tile.is_full() && folds.len() == stored.len() {
                expected.insert(tile, folds);
            }
            report.tiles_checked += 1;
        }
    }

    // The tree the tiles make must be the checkpoint's. If it is not, but the
    // partial tiles recomputed from below give the checkpoint's root, the stored
    // partial tiles that differ are the damaged ones.
    let root_of = |tiles: &dyn Fn(TileId) -> Result<Vec<Hash>, StorageError>| {
        let source = FnTiles(tiles);
        Tree::open(size, TileNodeStore::new(size, source)).map(|t| t.root())
    };
    let disk = dir.tiles(size);
    match root_of(&|t| disk.read_tile(t)) {
        Ok(root) if root.ct_eq(&checkpoint.root()) => {}
        Ok(root) => {
            let overlay = |t: TileId| match expected.read_tile(t) {
                Ok(h) if !t.is_full() => Ok(h),
                _ => disk.read_tile(t),
            };
            let explained = matches!(root_of(&overlay), Ok(r) if r.ct_eq(&checkpoint.root()));
            let mut named = false;
            if explained {
                for (level, full, partial) in tiles::tiles_for_size(size) {
                    let Some(tile) = (partial > 0)
                        .then(|| TileId::at_size(level, full, size))
                        .flatten()
                    else {
                        continue;
                    };
                    if disk.read_tile(tile).ok() != expected.read_tile(tile).ok() {
                        let path = rel(&dir, &dir.file(&tile.path()));
                        bad.edges.retain(|(_, u, _)| *u != path);
                        bad.file(path, "partial tile does not match the level below".into());
                        named = true;
                    }
                }
            }
            if !named {
                bad.file(
                    "checkpoint".into(),
                    format!(
                        "the tiles give root {root} but the checkpoint says {}",
                        checkpoint.root()
                    ),
                );
            }
        }
        Err(e) => bad.file("tile".into(), format!("{e:#}")),
    }
    report.damage = bad.blame();
    Ok(report)
}

/// Checks the newest segment of the write-ahead log against the checkpoint:
/// it must start at or below it, and, where a record ends at the checkpoint's
/// size, give its root. Records past the checkpoint are reported as pending.
fn check_wal(
    dir: &DataDir,
    checkpoint: &Checkpoint,
    report: &mut FsckReport,
    bad: &mut Disagreements,
) {
    let segments = match crate::wal::list_segments(&dir.wal_path()) {
        Ok(s) => s,
        Err(e) => {
            bad.file("wal".into(), e.to_string());
            return;
        }
    };
    let Some((_, path)) = segments.last() else {
        return;
    };
    let name = rel(dir, path);
    let segment = match crate::wal::read_segment(path) {
        Ok(s) => s,
        Err(StorageError::Damaged { what, .. }) => {
            bad.file(name, what);
            return;
        }
        Err(e) => {
            bad.file(name, format!("unreadable: {e}"));
            return;
        }
    };
    report.wal_torn_at = segment.torn_at;
    let size = checkpoint.size();
    if segment.base_size > size {
        bad.file(
            name,
            format!(
                "the write-ahead log starts at size {}, past the checkpoint's size {size}",
                segment.base_size
            ),
        );
        return;
    }
    let mut ends = std::iter::once((segment.base_size, segment.base_root))
        .chain(segment.records.iter().map(|r| (r.size, r.root)));
    if let Some((_, root)) = ends.find(|&(s, _)| s == size)
        && !root.ct_eq(&checkpoint.root())
    {
        bad.file(
            "checkpoint".into(),
            format!(
                "the write-ahead log gives root {root} at size {size}, the checkpoint says {}",
                checkpoint.root()
            ),
        );
    }
    let end = segment.records.last().map_or(segment.base_size, |r| r.size);
    if end > size {
        report.wal_pending = Some(end);
    }
}

fn read_tile(dir: &DataDir, tile: TileId, size: u64, bad: &mut Disagreements) -> Option<Vec<Hash>> {
    match dir.read_hash_tile(tile, size) {
        Ok(h) => Some(h),
        Err(e) => {
            let path = TileId::at_size(tile.level, tile.index, size)
                .unwrap_or(tile)
                .path();
            if !bad.direct.iter().any(|d| d.path == path) {
                bad.file(path, e.to_string());
            }
            None
        }
    }
}

/// A tile source from a closure.
struct FnTiles<'a>(&'a dyn Fn(TileId) -> Result<Vec<Hash>, StorageError>);

impl TileSource for FnTiles<'_> {
    type Error = StorageError;

    fn read_tile(&self, tile: TileId) -> Result<Vec<Hash>, StorageError> {
        (self.0)(tile)
    }
}
