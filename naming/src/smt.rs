//! The commitment to the whole name state: a binary sparse Merkle tree of 256 levels keyed
//! by [`StateKey`], in which a subtree holding one record is that record's leaf (the leaf
//! sits at the shortest prefix of its key that no other key shares) and an empty subtree
//! is [`EMPTY_SUBTREE`]. Nodes are stored by their path ([`NodePath`]) behind [`SmtStore`];
//! the tree's root is [`StateRoot`]. Design: ADR 0034; hashes byte by byte:
//! `docs/naming.md`.

use std::collections::BTreeMap;
use std::convert::Infallible;

use sha2::{Digest, Sha256};

use crate::changes::Change;
use crate::encoding::{Reader, Writer};
use crate::error::{DecodeError, SmtError};
use crate::name::{Name, NamespaceId};
use crate::records::{NameRecord, NamespaceRecord, PreorderRecord};
use crate::values::{Commitment, NodeHash, StateKey, StateRoot};

/// Number of levels: the bits of a [`StateKey`].
pub const KEY_BITS: u16 = 256;

/// The hash of an empty subtree, at every level: 32 zero bytes (no SHA-256 output anyone
/// can find a preimage of).
pub const EMPTY_SUBTREE: NodeHash = NodeHash([0; 32]);

/// Domain tag of [`StateKey`] derivation.
const KEY_TAG: &[u8] = b"open-trust/naming/state-key/v1";
/// First byte of a leaf preimage.
const LEAF_PREFIX: u8 = 0x00;
/// First byte of an inner node preimage.
const NODE_PREFIX: u8 = 0x01;

/// Which kind of record a key is for; its byte goes into the key derivation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A namespace record, keyed by its id (byte 0).
    Namespace,
    /// A name record, keyed by the name (byte 1).
    Name,
    /// A preorder record, keyed by its commitment (byte 2).
    Preorder,
}

impl KeyKind {
    fn byte(self) -> u8 {
        match self {
            KeyKind::Namespace => 0,
            KeyKind::Name => 1,
            KeyKind::Preorder => 2,
        }
    }
}

impl StateKey {
    /// `SHA-256("open-trust/naming/state-key/v1" ‖ kind ‖ key bytes)`, the key bytes
    /// being the canonical encoding of the id, name or commitment.
    fn derive(kind: KeyKind, write: impl FnOnce(&mut Writer)) -> StateKey {
        let mut w = Writer::default();
        w.bytes(KEY_TAG);
        w.u8(kind.byte());
        write(&mut w);
        StateKey(Sha256::digest(&w.0).into())
    }

    /// The key of a name record.
    pub fn name(name: &Name) -> StateKey {
        StateKey::derive(KeyKind::Name, |w| w.name(name))
    }

    /// The key of a namespace record.
    pub fn namespace(id: &NamespaceId) -> StateKey {
        StateKey::derive(KeyKind::Namespace, |w| w.namespace(id))
    }

    /// The key of a preorder record.
    pub fn preorder(commitment: &Commitment) -> StateKey {
        StateKey::derive(KeyKind::Preorder, |w| w.bytes(commitment.as_bytes()))
    }

    /// Bit `index` of the key, most significant bit of the first byte first; `false`
    /// (left) past the last bit.
    pub fn bit(&self, index: u16) -> bool {
        bit_of(&self.0, index)
    }
}

/// Bit `index` of `bytes`, most significant first; `false` past the end.
fn bit_of(bytes: &[u8; 32], index: u16) -> bool {
    let byte = bytes.get(usize::from(index / 8)).copied().unwrap_or(0);
    byte & (0x80 >> (index % 8)) != 0
}

/// The hash of a record's canonical bytes (what a leaf commits to).
pub fn value_hash(record: &[u8]) -> NodeHash {
    NodeHash(Sha256::digest(record).into())
}

/// `SHA-256(0x00 ‖ key ‖ value hash)`.
pub fn leaf_hash(key: &StateKey, value: &NodeHash) -> NodeHash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(key.0);
    h.update(value.0);
    NodeHash(h.finalize().into())
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &NodeHash, right: &NodeHash) -> NodeHash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    NodeHash(h.finalize().into())
}

/// The position of a node: its depth (0 for the root, at most [`KEY_BITS`]) and the
/// first `depth` bits of every key below it.
///
/// INVARIANT: `depth <= KEY_BITS` and every bit of `prefix` from `depth` on is zero, so
/// equal positions have equal values and equal bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NodePath {
    depth: u16,
    prefix: [u8; 32],
}

/// Length of [`NodePath::to_bytes`].
pub const NODE_PATH_LEN: usize = 34;

impl NodePath {
    /// The root.
    pub const ROOT: NodePath = NodePath {
        depth: 0,
        prefix: [0; 32],
    };

    /// The node at `depth` on the way to `key`; `None` past [`KEY_BITS`].
    pub fn of_key(key: &StateKey, depth: u16) -> Option<NodePath> {
        if depth > KEY_BITS {
            return None;
        }
        let mut prefix = [0u8; 32];
        for (i, byte) in prefix.iter_mut().enumerate() {
            let start = u16::try_from(i * 8).unwrap_or(u16::MAX);
            let keep = depth.saturating_sub(start).min(8);
            let mask = if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
            *byte = key.0.get(i).copied().unwrap_or(0) & mask;
        }
        Some(NodePath { depth, prefix })
    }

    /// Its depth.
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// Whether `key` passes through this node.
    pub fn is_prefix_of(&self, key: &StateKey) -> bool {
        NodePath::of_key(key, self.depth).is_some_and(|p| p == *self)
    }

    /// Its child on side `right`; `None` below the last level.
    pub fn child(&self, right: bool) -> Option<NodePath> {
        if self.depth >= KEY_BITS {
            return None;
        }
        let mut prefix = self.prefix;
        if right && let Some(byte) = prefix.get_mut(usize::from(self.depth / 8)) {
            *byte |= 0x80 >> (self.depth % 8);
        }
        Some(NodePath {
            depth: self.depth + 1,
            prefix,
        })
    }

    /// Fixed-width bytes for a store key: the depth (u16 big-endian) and the 32 prefix
    /// bytes. Distinct paths have distinct bytes.
    pub fn to_bytes(&self) -> [u8; NODE_PATH_LEN] {
        let mut out = [0u8; NODE_PATH_LEN];
        let (depth, prefix) = out.split_at_mut(2);
        depth.copy_from_slice(&self.depth.to_be_bytes());
        prefix.copy_from_slice(&self.prefix);
        out
    }

    /// Parses [`NodePath::to_bytes`].
    ///
    /// # Errors
    /// [`DecodeError`] for another length, a depth over [`KEY_BITS`], or a prefix bit set
    /// at or past the depth.
    pub fn from_bytes(bytes: &[u8]) -> Result<NodePath, DecodeError> {
        let mut r = Reader::new(bytes);
        let depth = u16::from_be_bytes(r.array("node path depth")?);
        let prefix: [u8; 32] = r.array("node path prefix")?;
        r.finish()?;
        if depth > KEY_BITS {
            return Err(DecodeError::TooLong {
                what: "node path depth",
                len: usize::from(depth),
                max: usize::from(KEY_BITS),
            });
        }
        let path = NodePath::of_key(&StateKey(prefix), depth)
            .ok_or(DecodeError::NonCanonical { what: "node path" })?;
        if path.prefix != prefix {
            return Err(DecodeError::NonCanonical { what: "node path" });
        }
        Ok(path)
    }
}

impl std::fmt::Debug for NodePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bits: String = (0..self.depth)
            .map(|i| if bit_of(&self.prefix, i) { '1' } else { '0' })
            .collect();
        write!(f, "NodePath({bits})")
    }
}

impl std::fmt::Display for NodePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.depth, hex::encode(self.prefix))
    }
}

/// A stored node. An empty subtree is not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A subtree with at least two records: the hashes of its two children
    /// ([`EMPTY_SUBTREE`] for an empty one).
    Inner {
        /// Left child (bit 0).
        left: NodeHash,
        /// Right child (bit 1).
        right: NodeHash,
    },
    /// A subtree with exactly one record.
    Leaf {
        /// The record's key.
        key: StateKey,
        /// The hash of its canonical bytes.
        value: NodeHash,
    },
}

/// Length of [`Node::encode`].
pub const NODE_LEN: usize = 65;

impl Node {
    /// Its hash: [`node_hash`] or [`leaf_hash`].
    pub fn hash(&self) -> NodeHash {
        match self {
            Node::Inner { left, right } => node_hash(left, right),
            Node::Leaf { key, value } => leaf_hash(key, value),
        }
    }

    /// Store bytes: the preimage of its hash, `0x01 ‖ left ‖ right` or
    /// `0x00 ‖ key ‖ value hash`.
    pub fn encode(&self) -> [u8; NODE_LEN] {
        let (tag, a, b) = match self {
            Node::Inner { left, right } => (NODE_PREFIX, left.0, right.0),
            Node::Leaf { key, value } => (LEAF_PREFIX, key.0, value.0),
        };
        let mut out = [0u8; NODE_LEN];
        let (t, rest) = out.split_at_mut(1);
        let (x, y) = rest.split_at_mut(32);
        t.copy_from_slice(&[tag]);
        x.copy_from_slice(&a);
        y.copy_from_slice(&b);
        out
    }

    /// Parses [`Node::encode`].
    ///
    /// # Errors
    /// [`DecodeError`] for another length or a tag other than 0 and 1.
    pub fn decode(bytes: &[u8]) -> Result<Node, DecodeError> {
        let mut r = Reader::new(bytes);
        let tag = r.u8("node tag")?;
        let a = r.array("node left or key")?;
        let b = r.array("node right or value")?;
        r.finish()?;
        match tag {
            NODE_PREFIX => Ok(Node::Inner {
                left: NodeHash(a),
                right: NodeHash(b),
            }),
            LEAF_PREFIX => Ok(Node::Leaf {
                key: StateKey(a),
                value: NodeHash(b),
            }),
            value => Err(DecodeError::BadFlag {
                what: "node tag",
                value,
            }),
        }
    }
}

/// Where the tree's nodes live, by path. The node backs it with its database; tests
/// use [`MemoryStore`]. Reads only: an update returns its writes as a
/// [`StateUpdate`] for the caller to write in the same batch as the rest of a block.
pub trait SmtStore {
    /// What a read can fail with.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The node at `path`, if one is stored.
    ///
    /// # Errors
    /// The store's own.
    fn node(&self, path: &NodePath) -> Result<Option<Node>, Self::Error>;
}

/// What one batch of changes does to the store: the new root and every node to write
/// (`Some`) or delete (`None`), by path. A delete may name a path that holds nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateUpdate {
    /// The root after the batch.
    pub root: StateRoot,
    /// Node writes, by path.
    pub writes: BTreeMap<NodePath, Option<Node>>,
}

/// The tree's nodes in an ordered map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStore {
    nodes: BTreeMap<NodePath, Node>,
}

impl MemoryStore {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes an update's nodes.
    pub fn write(&mut self, update: &StateUpdate) {
        for (path, node) in &update.writes {
            match node {
                Some(node) => self.nodes.insert(*path, *node),
                None => self.nodes.remove(path),
            };
        }
    }

    /// How many nodes are stored.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is stored (the empty tree).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

impl SmtStore for MemoryStore {
    type Error = Infallible;
    fn node(&self, path: &NodePath) -> Result<Option<Node>, Infallible> {
        Ok(self.nodes.get(path).copied())
    }
}

/// A change of one leaf: the record's value hash before and after (`None` is absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeafChange {
    /// The record's key.
    pub key: StateKey,
    /// Its value hash before the change.
    pub before: Option<NodeHash>,
    /// Its value hash after the change.
    pub after: Option<NodeHash>,
}

impl LeafChange {
    /// The same change backwards.
    pub fn inverse(&self) -> LeafChange {
        LeafChange {
            key: self.key,
            before: self.after,
            after: self.before,
        }
    }

    /// What undoes `changes`: the inverse of each, in reverse order.
    pub fn undo(changes: &[LeafChange]) -> Vec<LeafChange> {
        changes.iter().rev().map(LeafChange::inverse).collect()
    }
}

impl Change {
    /// This record change as a change of its leaf: the key of its record and the hashes
    /// of the canonical bytes before and after.
    pub fn leaf_change(&self) -> LeafChange {
        /// The leaf change of `key` from the records before and after.
        fn of<T>(
            key: StateKey,
            before: &Option<T>,
            after: &Option<T>,
            encode: fn(&T) -> Vec<u8>,
        ) -> LeafChange {
            let hashed = |r: &Option<T>| r.as_ref().map(|r| value_hash(&encode(r)));
            LeafChange {
                key,
                before: hashed(before),
                after: hashed(after),
            }
        }
        match self {
            Change::Namespace { id, before, after } => of(
                StateKey::namespace(id),
                before,
                after,
                NamespaceRecord::encode,
            ),
            Change::Name {
                name,
                before,
                after,
            } => of(StateKey::name(name), before, after, NameRecord::encode),
            Change::Preorder {
                commitment,
                before,
                after,
            } => of(
                StateKey::preorder(commitment),
                before,
                after,
                PreorderRecord::encode,
            ),
        }
    }
}

/// What a subtree hashes to, read from the node at its path.
pub(crate) fn subtree_hash(node: Option<&Node>) -> NodeHash {
    node.map_or(EMPTY_SUBTREE, Node::hash)
}

/// The root of the tree in `store`.
///
/// # Errors
/// [`SmtError::Store`] when the store fails.
pub fn root<S: SmtStore>(store: &S) -> Result<StateRoot, SmtError<S::Error>> {
    let node = store.node(&NodePath::ROOT).map_err(SmtError::Store)?;
    Ok(StateRoot(subtree_hash(node.as_ref()).0))
}

/// Where a walk from the root towards a key ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Walk {
    /// The sibling hash at each depth passed, root side first.
    pub(crate) siblings: Vec<NodeHash>,
    /// The leaf the walk ended at, or `None` for an empty subtree.
    pub(crate) leaf: Option<(StateKey, NodeHash)>,
}

/// Walks from the root towards `key`, reading one node per level.
///
/// # Errors
/// [`SmtError::Store`] when the store fails; [`SmtError::Corrupt`] when it holds a tree
/// that cannot be (an inner node's child missing, a leaf off its key's path).
pub(crate) fn walk<S: SmtStore>(store: &S, key: &StateKey) -> Result<Walk, SmtError<S::Error>> {
    let mut path = NodePath::ROOT;
    let mut siblings = Vec::new();
    let mut node = store.node(&path).map_err(SmtError::Store)?;
    loop {
        match node {
            None if path == NodePath::ROOT => {
                return Ok(Walk {
                    siblings,
                    leaf: None,
                });
            }
            None => return Err(SmtError::Corrupt { path }),
            Some(Node::Leaf { key: k, value }) => {
                if !path.is_prefix_of(&k) {
                    return Err(SmtError::Corrupt { path });
                }
                return Ok(Walk {
                    siblings,
                    leaf: Some((k, value)),
                });
            }
            Some(Node::Inner { left, right }) => {
                let right_side = key.bit(path.depth());
                let (next, sibling) = if right_side {
                    (right, left)
                } else {
                    (left, right)
                };
                siblings.push(sibling);
                path = path.child(right_side).ok_or(SmtError::Corrupt { path })?;
                if next == EMPTY_SUBTREE {
                    return Ok(Walk {
                        siblings,
                        leaf: None,
                    });
                }
                node = store.node(&path).map_err(SmtError::Store)?;
                if node.as_ref().map(Node::hash) != Some(next) {
                    return Err(SmtError::Corrupt { path });
                }
            }
        }
    }
}

/// The value hash of the record at `key`, if any.
///
/// # Errors
/// As for [`prove`](crate::prove): the store failing or holding a tree that cannot be.
pub fn lookup<S: SmtStore>(
    store: &S,
    key: &StateKey,
) -> Result<Option<NodeHash>, SmtError<S::Error>> {
    Ok(walk(store, key)?
        .leaf
        .and_then(|(k, value)| (k == *key).then_some(value)))
}
