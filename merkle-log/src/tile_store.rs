//! A [`NodeStore`] over hash tiles, so proofs over a tiled log reuse the core.
//!
//! Whoever holds the tiles (files on the server, tiles fetched over HTTP by an
//! auditor) implements [`TileSource`]; [`TileNodeStore`] maps each node a proof
//! plan asks for to its tile and folds sub-tile nodes from the tile's hashes.
//! [`tiles_for_nodes`] names the tiles a plan needs up front, so a client can
//! fetch them (in parallel, with caching) before building the proof offline.

use std::collections::{BTreeSet, HashMap};

use crate::error::TileError;
use crate::hash::Hash;
use crate::store::NodeStore;
use crate::tiles::{TileId, locate_node, perfect_root};
use crate::tree_math::NodeId;

/// Something that can produce hash tiles.
pub trait TileSource {
    /// What goes wrong when reading a tile.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The hashes of `tile`: exactly `tile.width` of them, or more when the source
    /// holds a wider version of the same tile (the first `width` are the same).
    ///
    /// # Errors
    /// When the tile cannot be read.
    fn read_tile(&self, tile: TileId) -> Result<Vec<Hash>, Self::Error>;
}

/// A node store over the tiles of a tree of a fixed size.
#[derive(Clone, Debug)]
pub struct TileNodeStore<T> {
    size: u64,
    source: T,
}

impl<T: TileSource> TileNodeStore<T> {
    /// The store of the tree of `size` leaves whose tiles `source` holds.
    pub fn new(size: u64, source: T) -> Self {
        TileNodeStore { size, source }
    }

    /// The tree size the store answers for.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tile source.
    pub fn source(&self) -> &T {
        &self.source
    }
}

/// Why a tile-backed store could not produce a node.
#[derive(Debug, thiserror::Error)]
pub enum TileStoreError<E: std::error::Error + 'static> {
    /// The node is not complete in the tree the store answers for.
    #[error("node at level {} index {} is not in a tree of {size} leaves", .node.level, .node.index)]
    NotInTree {
        /// The node asked for.
        node: NodeId,
        /// The store's tree size.
        size: u64,
    },
    /// The source returned fewer hashes than the tile's width.
    #[error("tile {} has {got} hashes, expected {}", .tile.path(), .tile.width)]
    ShortTile {
        /// The tile read.
        tile: TileId,
        /// Hashes it held.
        got: usize,
    },
    /// The source failed.
    #[error("reading tile {}", .tile.path())]
    Source {
        /// The tile read.
        tile: TileId,
        /// What the source reported.
        #[source]
        source: E,
    },
}

impl<T: TileSource> NodeStore for TileNodeStore<T> {
    type Error = TileStoreError<T::Error>;

    fn get_nodes(&self, ids: &[NodeId], out: &mut Vec<Hash>) -> Result<(), Self::Error> {
        // Proofs ask for a few nodes per tile; read each tile once per call.
        let mut cache: HashMap<TileId, Vec<Hash>> = HashMap::new();
        for &node in ids {
            let (tile, range) = locate_node(node, self.size).ok_or(TileStoreError::NotInTree {
                node,
                size: self.size,
            })?;
            if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(tile) {
                let hashes = self
                    .source
                    .read_tile(tile)
                    .map_err(|source| TileStoreError::Source { tile, source })?;
                if hashes.len() < usize::from(tile.width) {
                    return Err(TileStoreError::ShortTile {
                        tile,
                        got: hashes.len(),
                    });
                }
                slot.insert(hashes);
            }
            let hash = cache
                .get(&tile)
                .and_then(|h| h.get(range))
                .and_then(perfect_root)
                .ok_or(TileStoreError::ShortTile { tile, got: 0 })?;
            out.push(hash);
        }
        Ok(())
    }
}

/// The tiles (at their width in a tree of `size` leaves) that hold `nodes`,
/// each once, in a stable order. Nodes not complete in that tree are skipped.
pub fn tiles_for_nodes(size: u64, nodes: &[NodeId]) -> Vec<TileId> {
    let set: BTreeSet<TileId> = nodes
        .iter()
        .filter_map(|&n| locate_node(n, size).map(|(t, _)| t))
        .collect();
    set.into_iter().collect()
}

/// Tiles a caller fetched, keyed by tile coordinates: the [`TileSource`] of an
/// auditor that computes proofs client-side.
#[derive(Clone, Debug, Default)]
pub struct FetchedTiles {
    tiles: HashMap<(u8, u64), Vec<Hash>>,
}

impl FetchedTiles {
    /// No tiles yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tile from its bytes as served.
    ///
    /// # Errors
    /// [`TileError::TileLength`] when the bytes are not `32 * tile.width` long.
    pub fn insert_bytes(&mut self, tile: TileId, bytes: &[u8]) -> Result<(), TileError> {
        let hashes = crate::tiles::decode_hash_tile(bytes, tile.width)?;
        self.insert(tile, hashes);
        Ok(())
    }

    /// Adds a tile's hashes, keeping the wider of two versions of the same tile.
    pub fn insert(&mut self, tile: TileId, hashes: Vec<Hash>) {
        let slot = self.tiles.entry((tile.level, tile.index)).or_default();
        if hashes.len() > slot.len() {
            *slot = hashes;
        }
    }
}

/// A tile the caller did not fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("tile {} was not fetched", .0.path())]
pub struct MissingTile(pub TileId);

impl TileSource for FetchedTiles {
    type Error = MissingTile;

    fn read_tile(&self, tile: TileId) -> Result<Vec<Hash>, MissingTile> {
        self.tiles
            .get(&(tile.level, tile.index))
            .filter(|h| h.len() >= usize::from(tile.width))
            .cloned()
            .ok_or(MissingTile(tile))
    }
}

/// A tile source that remembers every tile it read (for building many proofs
/// over the same tree in one go).
#[derive(Debug)]
pub struct CachedTiles<T> {
    inner: T,
    cache: std::cell::RefCell<HashMap<TileId, Vec<Hash>>>,
}

impl<T: TileSource> CachedTiles<T> {
    /// Wraps `inner` with an empty cache.
    pub fn new(inner: T) -> Self {
        CachedTiles {
            inner,
            cache: std::cell::RefCell::new(HashMap::new()),
        }
    }
}

impl<T: TileSource> TileSource for CachedTiles<T> {
    type Error = T::Error;

    fn read_tile(&self, tile: TileId) -> Result<Vec<Hash>, T::Error> {
        if let Some(h) = self.cache.borrow().get(&tile) {
            return Ok(h.clone());
        }
        let h = self.inner.read_tile(tile)?;
        self.cache.borrow_mut().insert(tile, h.clone());
        Ok(h)
    }
}
