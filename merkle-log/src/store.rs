//! The narrow storage interface through which a tree reads old node hashes.

use crate::hash::Hash;
use crate::tree_math::NodeId;

/// Reads hashes of perfect subtrees. A store only ever holds complete subtrees,
/// which never change once written, so a store may cache freely.
pub trait NodeStore {
    /// What goes wrong when reading (I/O, damage found, a missing node).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Appends the hash of each node in `ids`, in order, to `out`.
    ///
    /// # Errors
    /// When any node cannot be read; `out` is then unspecified.
    fn get_nodes(&self, ids: &[NodeId], out: &mut Vec<Hash>) -> Result<(), Self::Error>;
}

/// Receives the hashes of perfect subtrees as they complete.
pub trait NodeSink {
    /// Records one completed node. Nodes arrive bottom-up, left to right.
    fn put_node(&mut self, id: NodeId, hash: Hash);
}

/// A node was asked of a store that does not hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no node at level {} index {}", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

/// Every node hash in memory, one vector per level: for tests and small trees.
/// Nodes are kept only when they arrive in order, as [`CompactRange::append`]
/// sends them; a node that is not the next one of its level is not kept, and
/// reading it fails with [`MissingNode`].
///
/// [`CompactRange::append`]: crate::CompactRange::append
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    levels: Vec<Vec<Hash>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl NodeStore for MemoryStore {
    type Error = MissingNode;

    fn get_nodes(&self, ids: &[NodeId], out: &mut Vec<Hash>) -> Result<(), MissingNode> {
        for &id in ids {
            let hash = usize::try_from(id.index)
                .ok()
                .and_then(|i| self.levels.get(usize::from(id.level))?.get(i))
                .ok_or(MissingNode(id))?;
            out.push(*hash);
        }
        Ok(())
    }
}

impl NodeSink for MemoryStore {
    fn put_node(&mut self, id: NodeId, hash: Hash) {
        let level = usize::from(id.level);
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        if let Some(row) = self.levels.get_mut(level)
            && row.len() as u64 == id.index
        {
            row.push(hash);
        }
    }
}

/// Sinks that keep nothing (a tree that only needs its root).
impl NodeSink for () {
    fn put_node(&mut self, _: NodeId, _: Hash) {}
}
