//! Index arithmetic: which perfect subtrees make up a range, and which nodes a proof needs.
//!
//! Everything here is pure arithmetic over leaf indices. Proof construction is split
//! in two: a [`ProofPlan`] names the perfect subtrees ([`NodeId`]s) whose hashes a
//! proof needs, a store fetches them, and [`ProofPlan::assemble`] folds them into
//! proof elements. A proof element that covers the ragged right edge of a tree is the
//! hash of several perfect subtrees folded right to left.

use crate::error::BoundsError;
use crate::hash::Hash;

/// A perfect subtree of `2^level` leaves, the `index`-th one at that level: it covers
/// leaves `index * 2^level .. (index + 1) * 2^level`. Level 0 is a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves, 0 to 63.
    pub level: u8,
    /// Position among the nodes of the same level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node of a single leaf.
    pub const fn leaf(index: u64) -> NodeId {
        NodeId { level: 0, index }
    }

    /// The parent of this node, or `None` for a node of level 63 or more: its
    /// parent would cover 2^64 leaves, more than any tree of a `u64` size holds.
    pub const fn parent(self) -> Option<NodeId> {
        if self.level >= 63 {
            return None;
        }
        Some(NodeId {
            level: self.level + 1,
            index: self.index >> 1,
        })
    }

    /// Whether this node is the right child of its parent.
    pub const fn is_right_child(self) -> bool {
        self.index & 1 == 1
    }

    /// The first leaf this node covers, or `None` when that leaf's index does
    /// not fit in a `u64` (no tree of a `u64` size holds the node).
    pub const fn first_leaf(self) -> Option<u64> {
        if self.level >= 64 {
            return None;
        }
        self.index.checked_mul(1 << self.level)
    }
}

/// The largest power of two strictly less than `n`.
///
/// INVARIANT: callers pass `n >= 2`.
const fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The maximal perfect subtrees that exactly cover leaves `begin..end`, left to right.
/// For `0..size` these are the subtrees whose roots make up the tree's frontier. An
/// empty range (`begin >= end`, as for Rust ranges) has none.
pub fn range_nodes(begin: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut at = begin;
    while at < end {
        let mut level = if at == 0 { 63 } else { at.trailing_zeros() };
        while (1u64 << level) > end - at {
            level -= 1;
        }
        // INVARIANT: level <= 63, so it fits in a u8.
        nodes.push(NodeId {
            level: level as u8,
            index: at >> level,
        });
        at += 1u64 << level;
    }
    nodes
}

/// Folds the hashes of adjacent subtrees, left to right, into the hash of the range
/// they cover: the rightmost two are combined first, as RFC 6962's MTH does on the
/// ragged right edge. An empty slice gives `None`.
pub fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| Hash::node(h, &acc)))
}

/// The nodes a proof needs and how to fold them into proof elements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    /// Every needed node, in proof order.
    nodes: Vec<NodeId>,
    /// For each proof element, how many consecutive entries of `nodes` fold into it.
    widths: Vec<usize>,
}

impl ProofPlan {
    fn new() -> Self {
        ProofPlan {
            nodes: Vec::new(),
            widths: Vec::new(),
        }
    }

    fn push_range(&mut self, begin: u64, end: u64) {
        let range = range_nodes(begin, end);
        self.widths.push(range.len());
        self.nodes.extend(range);
    }

    /// Reverses the element order (plans are built top-down, proofs list bottom-up),
    /// keeping each element's nodes left to right.
    fn into_bottom_up(self) -> Self {
        let mut nodes = Vec::with_capacity(self.nodes.len());
        let mut end = self.nodes.len();
        for &w in self.widths.iter().rev() {
            nodes.extend_from_slice(self.nodes.get(end - w..end).unwrap_or_default());
            end -= w;
        }
        let mut widths = self.widths;
        widths.reverse();
        ProofPlan { nodes, widths }
    }

    /// The nodes whose hashes the proof needs, in order.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// How many hashes the finished proof has.
    pub fn proof_len(&self) -> usize {
        self.widths.len()
    }

    /// Folds the fetched node hashes (in the order of [`ProofPlan::nodes`]) into the
    /// proof. Returns `None` if `hashes` does not have one hash per node.
    pub fn assemble(&self, hashes: &[Hash]) -> Option<Vec<Hash>> {
        if hashes.len() != self.nodes.len() {
            return None;
        }
        let mut proof = Vec::with_capacity(self.widths.len());
        let mut at = 0;
        for &w in &self.widths {
            proof.push(fold_right(hashes.get(at..at + w)?)?);
            at += w;
        }
        Some(proof)
    }
}

/// The plan of the audit path `PATH(index, D[0:size])` of RFC 6962 §2.1.1.
///
/// # Errors
/// [`BoundsError::IndexOutOfRange`] when `index >= size`, as the verifiers say.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, BoundsError> {
    if index >= size {
        return Err(BoundsError::IndexOutOfRange { index, size });
    }
    let mut plan = ProofPlan::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            plan.push_range(lo + k, hi);
            hi = lo + k;
        } else {
            plan.push_range(lo, lo + k);
            lo += k;
        }
    }
    Ok(plan.into_bottom_up())
}

/// The plan of the consistency proof `PROOF(old, D[0:new])` of RFC 6962 §2.1.2.
/// Equal sizes and an empty old tree need no proof.
///
/// # Errors
/// [`BoundsError::SizesOutOfOrder`] when `old > new`, as the verifiers say.
pub fn consistency_plan(old: u64, new: u64) -> Result<ProofPlan, BoundsError> {
    if old > new {
        return Err(BoundsError::SizesOutOfOrder { old, new });
    }
    let mut plan = ProofPlan::new();
    if old == 0 || old == new {
        return Ok(plan);
    }
    // SUBPROOF(old - lo, D[lo:hi], whole) unrolled; invariant lo < old <= hi.
    let (mut lo, mut hi, mut whole) = (0u64, new, true);
    loop {
        if old == hi {
            if !whole {
                plan.push_range(lo, hi);
            }
            break;
        }
        let k = split_point(hi - lo);
        if old <= lo + k {
            plan.push_range(lo + k, hi);
            hi = lo + k;
        } else {
            plan.push_range(lo, lo + k);
            lo += k;
            whole = false;
        }
    }
    Ok(plan.into_bottom_up())
}

/// The length of `PATH(index, D[0:size])`, without allocating.
///
/// INVARIANT: callers check `index < size`.
pub(crate) fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let (mut lo, mut hi, mut len) = (0u64, size, 0);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            hi = lo + k;
        } else {
            lo += k;
        }
        len += 1;
    }
    len
}

/// The length of `PROOF(old, D[0:new])`, without allocating.
///
/// INVARIANT: callers check `old <= new`.
pub(crate) fn consistency_proof_len(old: u64, new: u64) -> usize {
    if old == 0 || old == new {
        return 0;
    }
    let (mut lo, mut hi, mut whole, mut len) = (0u64, new, true, 0);
    while old != hi {
        let k = split_point(hi - lo);
        if old <= lo + k {
            hi = lo + k;
        } else {
            lo += k;
            whole = false;
        }
        len += 1;
    }
    len + usize::from(!whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_nodes_cover_exactly() {
        for begin in 0..70u64 {
            for end in begin..70 {
                let nodes = range_nodes(begin, end);
                let mut at = begin;
                for n in &nodes {
                    assert_eq!(n.first_leaf(), Some(at), "{begin}..{end}: gap before {n:?}");
                    at += 1 << n.level;
                }
                assert_eq!(at, end);
            }
        }
    }

    #[test]
    fn frontier_of_size_follows_its_bits() {
        // 13 = 0b1101: subtrees of 8, 4 and 1 leaves.
        let levels: Vec<u8> = range_nodes(0, 13).iter().map(|n| n.level).collect();
        assert_eq!(levels, vec![3, 2, 0]);
    }

    #[test]
    fn lengths_match_plans() {
        for size in 1..130u64 {
            for i in 0..size {
                assert_eq!(
                    inclusion_proof_len(i, size),
                    inclusion_plan(i, size).unwrap().proof_len()
                );
            }
            for old in 0..=size {
                assert_eq!(
                    consistency_proof_len(old, size),
                    consistency_plan(old, size).unwrap().proof_len()
                );
            }
        }
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let size = u64::MAX;
        assert_eq!(inclusion_proof_len(0, size), 64);
        assert_eq!(inclusion_proof_len(size - 1, size), 63);
        assert!(consistency_plan(size - 1, size).unwrap().proof_len() <= 65);
        assert_eq!(range_nodes(0, size).len(), 64);
    }
}
