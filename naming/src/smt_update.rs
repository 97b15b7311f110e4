//! Batch updates of the name-state tree: a block's leaf changes in, the new root and the
//! node writes out ([`update`]), each change checked against the value it replaces. Only
//! the paths of changed keys are read and rehashed; undo is the update of the inverse
//! changes ([`LeafChange::undo`]).

use std::collections::BTreeMap;
use std::convert::Infallible;

use crate::error::SmtError;
use crate::smt::{
    EMPTY_SUBTREE, KEY_BITS, LeafChange, MemoryStore, Node, NodePath, SmtStore, StateUpdate, root,
    subtree_hash,
};
use crate::values::{NodeHash, StateKey, StateRoot};

/// The net change of one key over a batch.
#[derive(Clone, Copy, Debug)]
struct Net {
    key: StateKey,
    before: Option<NodeHash>,
    after: Option<NodeHash>,
}

/// A subtree after the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sub {
    Empty,
    Leaf(StateKey, NodeHash),
    Inner(NodeHash),
}

impl Sub {
    fn of(node: Option<Node>) -> Sub {
        match node {
            None => Sub::Empty,
            Some(Node::Leaf { key, value }) => Sub::Leaf(key, value),
            Some(inner @ Node::Inner { .. }) => Sub::Inner(inner.hash()),
        }
    }

    fn hash(&self) -> NodeHash {
        match self {
            Sub::Empty => EMPTY_SUBTREE,
            Sub::Leaf(key, value) => crate::smt::leaf_hash(key, value),
            Sub::Inner(hash) => *hash,
        }
    }
}

/// Reads through the store and collects writes.
struct Batch<'a, S> {
    store: &'a S,
    writes: BTreeMap<NodePath, Option<Node>>,
}

impl<S: SmtStore> Batch<'_, S> {
    fn read(&self, path: &NodePath) -> Result<Option<Node>, SmtError<S::Error>> {
        match self.writes.get(path) {
            Some(written) => Ok(*written),
            None => self.store.node(path).map_err(SmtError::Store),
        }
    }

    /// The child on side `right` of the inner node at `path` whose hash is `hash`.
    fn child(
        &self,
        path: &NodePath,
        right: bool,
        hash: NodeHash,
    ) -> Result<(NodePath, Option<Node>), SmtError<S::Error>> {
        let child = path.child(right).ok_or(SmtError::Corrupt { path: *path })?;
        if hash == EMPTY_SUBTREE {
            return Ok((child, None));
        }
        let node = self.read(&child)?;
        if subtree_hash(node.as_ref()) != hash {
            return Err(SmtError::Corrupt { path: child });
        }
        Ok((child, node))
    }

    /// The subtree at `path`, now `current`, after `changes` (all on this path, sorted by
    /// key); writes the nodes at and below `path` that change.
    fn rebuild(
        &mut self,
        path: NodePath,
        current: Option<Node>,
        changes: &[Net],
    ) -> Result<Sub, SmtError<S::Error>> {
        if changes.is_empty() {
            return Ok(Sub::of(current));
        }
        match current {
            None => {
                let leaves = changes
                    .iter()
                    .map(|c| check(c, None).map(|()| c.after.map(|v| (c.key, v))))
                    .filter_map(Result::transpose)
                    .collect::<Result<Vec<_>, _>>()?;
                self.build(path, &leaves)
            }
            Some(Node::Leaf { key, value }) => {
                if !path.is_prefix_of(&key) {
                    return Err(SmtError::Corrupt { path });
                }
                let mut leaves = Vec::with_capacity(changes.len() + 1);
                let mut kept = Some((key, value));
                for c in changes {
                    if c.key == key {
                        check(c, Some(value))?;
                        kept = None;
                    } else {
                        check(c, None)?;
                    }
                    if let Some(after) = c.after {
                        leaves.push((c.key, after));
                    }
                }
                if let Some(leaf) = kept {
                    let at = leaves.partition_point(|(k, _)| *k < leaf.0);
                    leaves.insert(at, leaf);
                }
                let sub = self.build(path, &leaves)?;
                if sub == Sub::Empty {
                    self.writes.insert(path, None);
                }
                Ok(sub)
            }
            Some(Node::Inner { left, right }) => {
                let depth = path.depth();
                let split = changes.partition_point(|c| !c.key.bit(depth));
                let (lc, rc) = changes.split_at(split);
                let (lpath, lnode) = self.child(&path, false, left)?;
                let (rpath, rnode) = self.child(&path, true, right)?;
                let l = self.rebuild(lpath, lnode, lc)?;
                let r = self.rebuild(rpath, rnode, rc)?;
                let sub = match (l, r) {
                    (Sub::Empty, Sub::Empty) => {
                        self.writes.insert(path, None);
                        return Ok(Sub::Empty);
                    }
                    (Sub::Leaf(key, value), Sub::Empty) | (Sub::Empty, Sub::Leaf(key, value)) => {
                        // One record left below: its leaf moves up to here.
                        let from = if l == Sub::Empty { rpath } else { lpath };
                        self.writes.insert(from, None);
                        Node::Leaf { key, value }
                    }
                    (l, r) => Node::Inner {
                        left: l.hash(),
                        right: r.hash(),
                    },
                };
                self.writes.insert(path, Some(sub));
                Ok(Sub::of(Some(sub)))
            }
        }
    }

    /// Writes the subtree of `leaves` (sorted, distinct keys on this path) at `path`
    /// over nothing; writes nothing for no leaves.
    fn build(
        &mut self,
        path: NodePath,
        leaves: &[(StateKey, NodeHash)],
    ) -> Result<Sub, SmtError<S::Error>> {
        let node = match leaves {
            [] => return Ok(Sub::Empty),
            [(key, value)] => Node::Leaf {
                key: *key,
                value: *value,
            },
            _ => {
                // Distinct keys differ before the last level, so this never stops here.
                if path.depth() >= KEY_BITS {
                    return Err(SmtError::Corrupt { path });
                }
                let depth = path.depth();
                let split = leaves.partition_point(|(k, _)| !k.bit(depth));
                let (l, r) = leaves.split_at(split);
                let lpath = path.child(false).ok_or(SmtError::Corrupt { path })?;
                let rpath = path.child(true).ok_or(SmtError::Corrupt { path })?;
                let left = self.build(lpath, l)?.hash();
                let right = self.build(rpath, r)?.hash();
                Node::Inner { left, right }
            }
        };
        self.writes.insert(path, Some(node));
        Ok(Sub::of(Some(node)))
    }
}

/// Checks that a change's `before` is what the tree holds.
fn check<E>(change: &Net, found: Option<NodeHash>) -> Result<(), SmtError<E>> {
    if change.before == found {
        Ok(())
    } else {
        Err(SmtError::Conflict {
            key: change.key,
            expected: change.before,
            found,
        })
    }
}

/// Applies `changes` (in order; a key may change more than once) to the tree in `store`
/// and returns the new root and the node writes, without writing them. Reads and hashes
/// only the paths of the changed keys: about `log2(records)` nodes each.
///
/// # Errors
/// [`SmtError::Conflict`] when a change's `before` is not the value it replaces (the
/// tree's, or the `after` of an earlier change of the same key); [`SmtError::Store`] and
/// [`SmtError::Corrupt`] as for reads. Nothing is written either way.
pub fn update<S: SmtStore>(
    store: &S,
    changes: &[LeafChange],
) -> Result<StateUpdate, SmtError<S::Error>> {
    let mut net: BTreeMap<StateKey, Net> = BTreeMap::new();
    for c in changes {
        match net.get_mut(&c.key) {
            Some(n) => {
                if n.after != c.before {
                    return Err(SmtError::Conflict {
                        key: c.key,
                        expected: c.before,
                        found: n.after,
                    });
                }
                n.after = c.after;
            }
            None => {
                net.insert(
                    c.key,
                    Net {
                        key: c.key,
                        before: c.before,
                        after: c.after,
                    },
                );
            }
        }
    }
    let net: Vec<Net> = net.into_values().collect();
    let mut batch = Batch {
        store,
        writes: BTreeMap::new(),
    };
    let current = batch.read(&NodePath::ROOT)?;
    let sub = batch.rebuild(NodePath::ROOT, current, &net)?;
    Ok(StateUpdate {
        root: StateRoot(sub.hash().0),
        writes: batch.writes,
    })
}

impl MemoryStore {
    /// Applies `changes` and returns the new root.
    ///
    /// # Errors
    /// As for [`update`]; nothing changes then.
    pub fn apply(&mut self, changes: &[LeafChange]) -> Result<StateRoot, SmtError<Infallible>> {
        let update = update(self, changes)?;
        self.write(&update);
        Ok(update.root)
    }

    /// Undoes `changes`, the last ones applied, and returns the root before them.
    ///
    /// # Errors
    /// As for [`update`]; nothing changes then.
    pub fn undo(&mut self, changes: &[LeafChange]) -> Result<StateRoot, SmtError<Infallible>> {
        self.apply(&LeafChange::undo(changes))
    }

    /// The root.
    pub fn root(&self) -> StateRoot {
        match root(self) {
            Ok(r) => r,
            Err(SmtError::Store(never)) => match never {},
            Err(_) => StateRoot(EMPTY_SUBTREE.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smt::node_hash;

    fn key(first: u8) -> StateKey {
        let mut k = [0u8; 32];
        k[0] = first;
        StateKey(k)
    }

    #[test]
    fn two_leaves_split_at_first_bit_and_collapse_back() {
        let mut s = MemoryStore::new();
        let a = LeafChange {
            key: key(0x00),
            before: None,
            after: Some(NodeHash([1; 32])),
        };
        let b = LeafChange {
            key: key(0x80),
            before: None,
            after: Some(NodeHash([2; 32])),
        };
        let one = s.apply(&[a]).unwrap();
        let leaf_a = crate::smt::leaf_hash(&a.key, &NodeHash([1; 32]));
        assert_eq!(one.0, leaf_a.0);
        let two = s.apply(&[b]).unwrap();
        let leaf_b = crate::smt::leaf_hash(&b.key, &NodeHash([2; 32]));
        assert_eq!(two.0, node_hash(&leaf_a, &leaf_b).0);
        assert_eq!(s.undo(&[b]).unwrap(), one);
        assert_eq!(s.len(), 1);
        assert_eq!(s.undo(&[a]).unwrap(), StateRoot([0; 32]));
        assert!(s.is_empty());
    }
}
