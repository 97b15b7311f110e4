//! Public functions are total: inputs that used to overflow, panic in debug
//! builds or answer wrongly now get an error or `None`, checked against naive
//! oracles written here (in u128 arithmetic and from the RFC 6962 recursion).

use std::convert::Infallible;

use merkle_log::tiles::locate_node;
use merkle_log::tree_math::{consistency_plan, inclusion_plan, range_nodes};
use merkle_log::{
    BoundsError, CompactRange, Hash, MemoryStore, MissingNode, NodeId, NodeSink, NodeStore,
    ProofError, Tree, VerifyError, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

use crate::properties::config;

/// Leaves a perfect subtree covers, in u128 (no overflow).
fn span(n: NodeId) -> u128 {
    1u128 << n.level.min(127)
}

/// The first leaf of a node in u128, `None` past what u128 can hold.
fn first_leaf_u128(n: NodeId) -> Option<u128> {
    (n.level < 64).then(|| u128::from(n.index) << n.level)
}

/// The largest power of two below n (n >= 2), without overflowing.
fn k_of(n: u64) -> u64 {
    let mut k = 1u64;
    while k < n - k {
        k *= 2;
    }
    k
}

/// |PATH(m, D[n])| from the RFC 6962 §2.1.1 recursion.
fn path_len(m: u64, n: u64) -> usize {
    if n <= 1 {
        return 0;
    }
    let k = k_of(n);
    1 + if m < k {
        path_len(m, k)
    } else {
        path_len(m - k, n - k)
    }
}

/// |SUBPROOF(m, D[n], b)| from the RFC 6962 §2.1.2 recursion.
fn subproof_len(m: u64, n: u64, b: bool) -> usize {
    if m == n {
        return usize::from(!b);
    }
    let k = k_of(n);
    1 + if m <= k {
        subproof_len(m, k, b)
    } else {
        subproof_len(m - k, n - k, false)
    }
}

/// Sizes near the edges of u64 as often as arbitrary ones.
fn size() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..300,
        any::<u64>(),
        (0u64..300).prop_map(|d| u64::MAX - d),
        (0u32..64, 0u64..3).prop_map(|(b, d)| (1u64 << b).wrapping_add(d).wrapping_sub(1)),
    ]
}

#[test]
fn plans_never_panic_and_agree_with_the_verifiers_bounds() {
    let h = Hash::leaf(b"x");
    proptest!(config(4000), |(a in size(), b in size())| {
        // Consistency from a to b.
        match consistency_plan(a, b) {
            Err(e) => {
                prop_assert!(a > b);
                prop_assert_eq!(&e, &BoundsError::SizesOutOfOrder { old: a, new: b });
                let v = verify_consistency(a, b, &h, &h, &[]).unwrap_err();
                prop_assert_eq!(v, VerifyError::Bounds(e));
            }
            Ok(plan) => {
                prop_assert!(a <= b);
                let want = if a == 0 { 0 } else { subproof_len(a, b, true) };
                prop_assert_eq!(plan.proof_len(), want);
                for n in plan.nodes() {
                    let first = first_leaf_u128(*n).unwrap();
                    prop_assert!(first + span(*n) <= u128::from(b), "{:?} beyond {}", n, b);
                }
                match verify_consistency(a, b, &h, &h, &[]) {
                    Err(VerifyError::WrongProofLength { got: 0, want: w }) => prop_assert_eq!(w, want),
                    Err(VerifyError::Bounds(e)) => prop_assert!(false, "bounds error {e} for a plan"),
                    _ => prop_assert_eq!(want, 0),
                }
            }
        }
        // Inclusion of leaf a in a tree of b.
        match inclusion_plan(a, b) {
            Err(e) => {
                prop_assert!(a >= b);
                prop_assert_eq!(&e, &BoundsError::IndexOutOfRange { index: a, size: b });
                let v = verify_inclusion(&h, a, b, &[], &h).unwrap_err();
                prop_assert_eq!(v, VerifyError::Bounds(e));
            }
            Ok(plan) => {
                prop_assert!(a < b);
                prop_assert_eq!(plan.proof_len(), path_len(a, b));
                for n in plan.nodes() {
                    let first = first_leaf_u128(*n).unwrap();
                    prop_assert!(first + span(*n) <= u128::from(b));
                }
            }
        }
    });
}

#[test]
fn the_reported_inputs_get_errors() {
    assert_eq!(
        consistency_plan(5, 3).unwrap_err(),
        BoundsError::SizesOutOfOrder { old: 5, new: 3 }
    );
    assert_eq!(
        inclusion_plan(3, 3).unwrap_err(),
        BoundsError::IndexOutOfRange { index: 3, size: 3 }
    );
    assert_eq!(
        inclusion_plan(0, 0).unwrap_err(),
        BoundsError::IndexOutOfRange { index: 0, size: 0 }
    );
    let mut tree: Tree<MemoryStore> = Tree::default();
    for i in 0..5u8 {
        assert_eq!(tree.append(&[i]), Some(u64::from(i)));
    }
    assert!(matches!(
        tree.consistency_proof(5, 3),
        Err(ProofError::Bounds(BoundsError::SizesOutOfOrder {
            old: 5,
            new: 3
        }))
    ));
    assert!(matches!(
        tree.inclusion_proof(5, 5),
        Err(ProofError::Bounds(BoundsError::IndexOutOfRange { .. }))
    ));
}

#[test]
fn node_arithmetic_is_checked() {
    proptest!(config(4000), |(level in any::<u8>(), index in any::<u64>())| {
        let n = NodeId { level, index };
        // first_leaf: exactly when index * 2^level fits a u64.
        let want = first_leaf_u128(n).and_then(|f| u64::try_from(f).ok());
        prop_assert_eq!(n.first_leaf(), want);
        // parent: none from level 63 up (it would cover 2^64 leaves).
        match n.parent() {
            Some(p) => {
                prop_assert!(level < 63);
                prop_assert_eq!(p, NodeId { level: level + 1, index: index / 2 });
            }
            None => prop_assert!(level >= 63),
        }
    });
    // Each of these overflowed (a panic in debug builds).
    assert_eq!(
        NodeId {
            level: 255,
            index: 0
        }
        .parent(),
        None
    );
    assert_eq!(
        NodeId {
            level: 200,
            index: 1
        }
        .first_leaf(),
        None
    );
    assert_eq!(
        NodeId {
            level: 1,
            index: u64::MAX
        }
        .first_leaf(),
        None
    );
}

#[test]
fn locate_node_finds_only_nodes_of_the_tree() {
    proptest!(config(4000), |(level in 0u8..70, index in any::<u64>(), size in size(), small in 0u64..600)| {
        for index in [index, small] {
            let n = NodeId { level, index };
            let complete = first_leaf_u128(n)
                .is_some_and(|f| f + span(n) <= u128::from(size));
            match locate_node(n, size) {
                Some((tile, range)) => {
                    prop_assert!(complete, "{:?} is not in a tree of {}", n, size);
                    prop_assert!(range.end <= usize::from(tile.width));
                    prop_assert_eq!(range.len() as u128, span(n) >> (8 * u32::from(level / 8)));
                }
                None => prop_assert!(!complete, "{:?} is in a tree of {}", n, size),
            }
        }
    });
    // Used to wrap: index * 2 overflowed to leaf 2, which is in a tree of 10.
    let wrapped = NodeId {
        level: 1,
        index: (1 << 63) + 1,
    };
    assert_eq!(locate_node(wrapped, 10), None);
}

#[test]
fn ranges_cover_exactly_or_are_empty() {
    proptest!(config(4000), |(a in size(), b in size())| {
        let nodes = range_nodes(a, b);
        if a >= b {
            prop_assert!(nodes.is_empty());
        } else {
            let mut at = u128::from(a);
            for n in &nodes {
                prop_assert_eq!(first_leaf_u128(*n), Some(at));
                at += span(*n);
            }
            prop_assert_eq!(at, u128::from(b));
            prop_assert!(nodes.len() <= 128);
        }
    });
}

/// A store in which every node of a level has the same hash: a real tree of
/// identical leaves, of any size, that costs no memory.
struct SameLeaves;

impl NodeStore for SameLeaves {
    type Error = Infallible;

    fn get_nodes(&self, ids: &[NodeId], out: &mut Vec<Hash>) -> Result<(), Infallible> {
        for id in ids {
            let mut h = Hash::leaf(b"same");
            for _ in 0..id.level {
                h = Hash::node(&h, &h);
            }
            out.push(h);
        }
        Ok(())
    }
}

#[test]
fn a_full_tree_refuses_to_grow() {
    let mut range = CompactRange::from_store(u64::MAX - 1, &SameLeaves).unwrap();
    assert_eq!(
        range.append(Hash::leaf(b"same"), &mut ()),
        Some(u64::MAX - 1)
    );
    assert_eq!(range.size(), u64::MAX);
    let root = range.root();
    // The next append used to overflow the size (a panic in debug builds).
    assert_eq!(range.append(Hash::leaf(b"more"), &mut ()), None);
    assert_eq!(range.size(), u64::MAX);
    assert_eq!(range.root(), root);
    // The root of 2^64 - 1 identical leaves, folded naively from its 64 subtrees.
    let mut subtree = Hash::leaf(b"same");
    let mut subtrees = Vec::new();
    for _ in 0..64 {
        subtrees.push(subtree);
        subtree = Hash::node(&subtree, &subtree);
    }
    let mut want = subtrees[0];
    for h in &subtrees[1..] {
        want = Hash::node(h, &want);
    }
    assert_eq!(root, want);
}

#[test]
fn a_memory_store_ignores_nodes_out_of_order() {
    let mut store = MemoryStore::new();
    let h = Hash::leaf(b"a");
    // Used to fail a debug assertion.
    store.put_node(NodeId { level: 0, index: 5 }, h);
    store.put_node(
        NodeId {
            level: 255,
            index: u64::MAX,
        },
        h,
    );
    let mut out = Vec::new();
    assert_eq!(
        store.get_nodes(&[NodeId { level: 0, index: 5 }], &mut out),
        Err(MissingNode(NodeId { level: 0, index: 5 }))
    );
    store.put_node(NodeId { level: 0, index: 0 }, h);
    store
        .get_nodes(&[NodeId { level: 0, index: 0 }], &mut out)
        .unwrap();
    assert_eq!(out, [h]);
}
