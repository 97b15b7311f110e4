//! The append-only tree: O(log n) state in memory, older nodes read through a store.

use crate::error::ProofError;
use crate::hash::Hash;
use crate::store::{NodeSink, NodeStore};
use crate::tree_math::{self, NodeId, ProofPlan};

/// The right edge of a tree: the roots of the perfect subtrees that make up its
/// leaves, largest first (one per set bit of the size). This is all that appending
/// needs, so it is all a tree keeps in memory.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    // INVARIANT: `frontier[i]` is the hash of `range_nodes(0, size)[i]`.
    frontier: Vec<Hash>,
}

impl CompactRange {
    /// The range of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the range of a tree of `size` leaves from its store, reading
    /// one node per set bit of `size`.
    ///
    /// # Errors
    /// When the store cannot produce a node.
    pub fn from_store<S: NodeStore>(size: u64, store: &S) -> Result<Self, ProofError<S::Error>> {
        let ids = tree_math::range_nodes(0, size);
        let frontier = fetch(store, &ids)?;
        Ok(CompactRange { size, frontier })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier hashes, largest subtree first.
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// The RFC 6962 root of the tree: `MTH(D[0:size])`.
    pub fn root(&self) -> Hash {
        tree_math::fold_right(&self.frontier).unwrap_or_else(Hash::empty_root)
    }

    /// Appends a leaf hash, passing every node it completes (the leaf itself first,
    /// then each new parent) to `sink`. Returns the new leaf's index, or `None`,
    /// appending nothing, when the tree already holds `u64::MAX` leaves (the most
    /// a `u64` size counts).
    pub fn append(&mut self, leaf_hash: Hash, sink: &mut impl NodeSink) -> Option<u64> {
        let index = self.size;
        let size = index.checked_add(1)?;
        let mut id = NodeId::leaf(index);
        let mut hash = leaf_hash;
        sink.put_node(id, hash);
        while id.is_right_child() {
            // A right child always has its left sibling on the frontier, and a
            // parent below level 64.
            let (Some(left), Some(parent)) = (self.frontier.pop(), id.parent()) else {
                break;
            };
            hash = Hash::node(&left, &hash);
            id = parent;
            sink.put_node(id, hash);
        }
        self.frontier.push(hash);
        self.size = size;
        Some(index)
    }
}

/// Fetches the hashes of `ids` from `store`, checking the answer's length.
fn fetch<S: NodeStore>(store: &S, ids: &[NodeId]) -> Result<Vec<Hash>, ProofError<S::Error>> {
    let mut out = Vec::with_capacity(ids.len());
    if let Err(source) = store.get_nodes(ids, &mut out) {
        let node = ids.first().copied().unwrap_or(NodeId::leaf(0));
        return Err(ProofError::Store { node, source });
    }
    if out.len() != ids.len() {
        return Err(ProofError::StoreAnswer {
            got: out.len(),
            want: ids.len(),
        });
    }
    Ok(out)
}

/// An append-only Merkle tree over a node store.
#[derive(Clone, Debug)]
pub struct Tree<S> {
    range: CompactRange,
    store: S,
}

impl<S: NodeStore> Tree<S> {
    /// A tree made of a range and the store that holds every node below it.
    /// The caller vouches that they describe the same tree.
    pub fn from_parts(range: CompactRange, store: S) -> Self {
        Tree { range, store }
    }

    /// Opens a tree of `size` leaves whose nodes are all in `store`.
    ///
    /// # Errors
    /// When the store cannot produce a frontier node.
    pub fn open(size: u64, store: S) -> Result<Self, ProofError<S::Error>> {
        let range = CompactRange::from_store(size, &store)?;
        Ok(Tree { range, store })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// The compact range (right edge) of the current tree.
    pub fn range(&self) -> &CompactRange {
        &self.range
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError<S::Error>> {
        if size > self.size() {
            return Err(ProofError::SizeBeyondTree {
                requested: size,
                current: self.size(),
            });
        }
        Ok(())
    }

    fn run(&self, plan: &ProofPlan) -> Result<Vec<Hash>, ProofError<S::Error>> {
        let hashes = fetch(&self.store, plan.nodes())?;
        plan.assemble(&hashes).ok_or(ProofError::StoreAnswer {
            got: hashes.len(),
            want: plan.nodes().len(),
        })
    }

    /// The root the tree had when it held `size` leaves.
    ///
    /// # Errors
    /// When `size` is beyond the tree or the store fails.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError<S::Error>> {
        self.check_size(size)?;
        if size == self.size() {
            return Ok(self.root());
        }
        let hashes = fetch(&self.store, &tree_math::range_nodes(0, size))?;
        Ok(tree_math::fold_right(&hashes).unwrap_or_else(Hash::empty_root))
    }

    /// The audit path of leaf `index` in the tree of `size` leaves, bottom-up.
    ///
    /// # Errors
    /// When `index >= size`, `size` is beyond the tree, or the store fails.
    pub fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, ProofError<S::Error>> {
        self.check_size(size)?;
        self.run(&tree_math::inclusion_plan(index, size)?)
    }

    /// The consistency proof from the tree of `old` leaves to that of `new` leaves.
    ///
    /// # Errors
    /// When `old > new`, `new` is beyond the tree, or the store fails.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError<S::Error>> {
        self.check_size(new)?;
        self.run(&tree_math::consistency_plan(old, new)?)
    }
}

impl<S: NodeStore + NodeSink> Tree<S> {
    /// Appends a leaf given by its leaf hash; returns its index, or `None`
    /// (appending nothing) when the tree already holds `u64::MAX` leaves.
    pub fn append_hash(&mut self, leaf_hash: Hash) -> Option<u64> {
        self.range.append(leaf_hash, &mut self.store)
    }

    /// Appends an entry, hashing it as an RFC 6962 leaf; returns its index, or
    /// `None` (appending nothing) when the tree already holds `u64::MAX` leaves.
    pub fn append(&mut self, entry: &[u8]) -> Option<u64> {
        self.append_hash(Hash::leaf(entry))
    }
}

impl<S: NodeStore + Default> Default for Tree<S> {
    fn default() -> Self {
        Tree {
            range: CompactRange::new(),
            store: S::default(),
        }
    }
}
