//! The right edge of the live tree: the partial tiles and bundle kept in
//! memory, read back and checked at open, and the tile source that sees them
//! before the disk.

use std::collections::{BTreeSet, HashMap};

use crate::error::{LogError, StorageError};
use crate::hash::Hash;
use crate::storage::DataDir;
use crate::store::NodeSink;
use crate::tile_store::{TileNodeStore, TileSource};
use crate::tiles::{self, TILE_HEIGHT, TILE_WIDTH, TileId};
use crate::tree_math::NodeId;

/// Checks the right edge against what is above it: the partial bundle hashes
/// to the partial level-0 tile, and the last full tile of each level folds to
/// its hash in the level above.
pub(crate) fn check_edge(
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
pub(crate) type Edge = (Vec<Vec<Hash>>, Vec<Vec<u8>>);

pub(crate) fn load_edge(dir: &DataDir, size: u64) -> Result<Edge, LogError> {
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
pub(crate) struct EdgeSink<'a> {
    pub(crate) edge: &'a mut Vec<Vec<Hash>>,
    pub(crate) full: Vec<(TileId, Vec<Hash>)>,
    pub(crate) changed: BTreeSet<u8>,
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
pub(crate) struct EdgeTiles<'a> {
    pub(crate) dir: &'a DataDir,
    pub(crate) size: u64,
    pub(crate) edge: &'a [Vec<Hash>],
    pub(crate) recent: Option<&'a HashMap<(u8, u64), Vec<Hash>>>,
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
