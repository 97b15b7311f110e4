//! The name-state tree and its proofs against a naive oracle written here: the root and
//! every proof recomputed from the whole set of leaves by the plain recursive definition
//! (no leaves: 32 zero bytes; one: its leaf hash; more: the node hash of the two halves
//! split on the next key bit). Hashes, keys and proof bytes are built by hand from the
//! layout in `docs/naming.md`. Seeded, so every run is the same.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use std::collections::BTreeMap;
use std::convert::Infallible;

use naming::{
    DecodeError, EMPTY_SUBTREE, Height, LeafChange, MAX_PROOF_LEN, MemoryStore, NameStatus, Node,
    NodeHash, NodePath, Operation, Proof, ProofError, SmtError, SmtStore, StateKey, StateRoot,
    Terminal, lookup, prove, update, verify, verify_name,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use sha2::{Digest, Sha256};

use crate::helpers::*;

// ---- the oracle ----

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn bit(k: &[u8; 32], i: usize) -> bool {
    (k[i / 8] >> (7 - i % 8)) & 1 == 1
}

fn o_leaf(k: &[u8; 32], v: &[u8; 32]) -> [u8; 32] {
    sha(&[&[0x00], k, v])
}

/// The root of the subtree at `depth` holding `leaves` (key, value hash).
fn o_root(leaves: &[([u8; 32], [u8; 32])], depth: usize) -> [u8; 32] {
    match leaves {
        [] => [0; 32],
        [(k, v)] => o_leaf(k, v),
        _ => {
            let (l, r): (Vec<_>, Vec<_>) = leaves.iter().partition(|(k, _)| !bit(k, depth));
            sha(&[&[0x01], &o_root(&l, depth + 1), &o_root(&r, depth + 1)])
        }
    }
}

/// The proof of `key`: walk down splitting the set, the sibling being the other half's
/// root, until at most one leaf is left.
fn o_proof(leaves: &[([u8; 32], [u8; 32])], key: &[u8; 32]) -> (Vec<[u8; 32]>, Terminal) {
    let mut set: Vec<_> = leaves.to_vec();
    let mut siblings = Vec::new();
    let mut depth = 0;
    loop {
        match set.as_slice() {
            [] => return (siblings, Terminal::Empty),
            [(k, v)] if k == key => {
                let _ = v;
                return (siblings, Terminal::Member);
            }
            [(k, v)] => {
                return (
                    siblings,
                    Terminal::Neighbour {
                        key: StateKey(*k),
                        value: NodeHash(*v),
                    },
                );
            }
            _ => {
                let (mine, other): (Vec<_>, Vec<_>) = set
                    .iter()
                    .partition(|(k, _)| bit(k, depth) == bit(key, depth));
                siblings.push(o_root(&other, depth + 1));
                set = mine;
                depth += 1;
            }
        }
    }
}

/// How many nodes the tree of `leaves` stores: one per leaf and per subtree of two or
/// more leaves.
fn o_nodes(leaves: &[([u8; 32], [u8; 32])], depth: usize) -> usize {
    match leaves {
        [] => 0,
        [_] => 1,
        _ => {
            let (l, r): (Vec<_>, Vec<_>) = leaves.iter().partition(|(k, _)| !bit(k, depth));
            1 + o_nodes(&l, depth + 1) + o_nodes(&r, depth + 1)
        }
    }
}

fn model_leaves(model: &BTreeMap<[u8; 32], [u8; 32]>) -> Vec<([u8; 32], [u8; 32])> {
    model.iter().map(|(k, v)| (*k, *v)).collect()
}

fn insert(key: [u8; 32], value: [u8; 32]) -> LeafChange {
    LeafChange {
        key: StateKey(key),
        before: None,
        after: Some(NodeHash(value)),
    }
}

/// The value hash of record bytes, by hand.
fn vh(record: &[u8]) -> [u8; 32] {
    sha(&[record])
}

// ---- strategies ----

const BASE: [u8; 32] = [0xa5; 32];

/// A key sharing its first `shared` bits with [`BASE`], random after: sets of these make
/// deep trees, down to keys that differ only in their last bit.
fn arb_key() -> impl Strategy<Value = [u8; 32]> {
    (0usize..=256, any::<[u8; 32]>()).prop_map(|(shared, random)| {
        let mut k = random;
        for i in 0..shared.min(256) {
            let mask = 0x80u8 >> (i % 8);
            k[i / 8] = (k[i / 8] & !mask) | (BASE[i / 8] & mask);
        }
        k
    })
}

fn arb_leaves(max: usize) -> impl Strategy<Value = BTreeMap<[u8; 32], [u8; 32]>> {
    prop::collection::btree_map(arb_key(), any::<[u8; 32]>(), 0..max)
}

fn store_of(model: &BTreeMap<[u8; 32], [u8; 32]>) -> MemoryStore {
    let mut s = MemoryStore::new();
    let changes: Vec<_> = model.iter().map(|(k, v)| insert(*k, *v)).collect();
    s.apply(&changes).unwrap();
    s
}

fn record_of(key: &[u8; 32]) -> Vec<u8> {
    let mut r = b"record of ".to_vec();
    r.extend_from_slice(key);
    r
}

proptest! {
    #![proptest_config(Config { rng_seed: RngSeed::Fixed(34), cases: 120, ..Config::default() })]

    /// The root equals the oracle's whether the leaves go in one batch, one at a time, or
    /// one at a time in reverse; the store holds one node per leaf and inner node.
    #[test]
    fn root_matches_the_oracle_in_any_insertion_order(model in arb_leaves(40)) {
        let expected = o_root(&model_leaves(&model), 0);
        let batch = store_of(&model);
        prop_assert_eq!(batch.root().0, expected);
        let mut forward = MemoryStore::new();
        for (k, v) in &model {
            forward.apply(&[insert(*k, *v)]).unwrap();
        }
        let mut backward = MemoryStore::new();
        for (k, v) in model.iter().rev() {
            backward.apply(&[insert(*k, *v)]).unwrap();
        }
        prop_assert_eq!(forward.root().0, expected);
        prop_assert_eq!(&forward, &batch);
        prop_assert_eq!(&backward, &batch);
        prop_assert_eq!(batch.len(), o_nodes(&model_leaves(&model), 0));
    }

    /// Every key present proves membership with exactly the oracle's siblings, and only
    /// with its own record; keys absent (random, and each present key with its last or
    /// first bit flipped) prove absence.
    #[test]
    fn proofs_match_the_oracle_and_verify(model in arb_leaves(30), absent in prop::collection::vec(arb_key(), 0..10)) {
        let mut model = model;
        for k in model.clone().keys() {
            model.insert(*k, vh(&record_of(k)));
        }
        let leaves = model_leaves(&model);
        let store = store_of(&model);
        let root = store.root();
        for k in model.keys() {
            let proof = prove(&store, &StateKey(*k)).unwrap();
            let (siblings, terminal) = o_proof(&leaves, k);
            prop_assert_eq!(proof.siblings().iter().map(|s| s.0).collect::<Vec<_>>(), siblings);
            prop_assert_eq!(proof.terminal(), &terminal);
            let record = record_of(k);
            prop_assert_eq!(verify(&root, &StateKey(*k), Some(&record), &proof), Ok(()));
            prop_assert_eq!(verify(&root, &StateKey(*k), None, &proof), Err(ProofError::MissingRecord));
            prop_assert_eq!(verify(&root, &StateKey(*k), Some(b"another"), &proof), Err(ProofError::RootMismatch));
            prop_assert_eq!(lookup(&store, &StateKey(*k)).unwrap(), Some(NodeHash(vh(&record))));
            prop_assert_eq!(Proof::decode(&proof.encode()).unwrap(), proof);
        }
        let mut others = absent;
        for k in model.keys() {
            let mut a = *k;
            a[31] ^= 1;
            let mut b = *k;
            b[0] ^= 0x80;
            others.extend([a, b]);
        }
        for k in others.iter().filter(|k| !model.contains_key(*k)) {
            let proof = prove(&store, &StateKey(*k)).unwrap();
            let (siblings, terminal) = o_proof(&leaves, k);
            prop_assert_eq!(proof.siblings().iter().map(|s| s.0).collect::<Vec<_>>(), siblings);
            prop_assert_eq!(proof.terminal(), &terminal);
            prop_assert!(!proof.is_membership());
            prop_assert_eq!(verify(&root, &StateKey(*k), None, &proof), Ok(()));
            prop_assert_eq!(verify(&root, &StateKey(*k), Some(&record_of(k)), &proof), Err(ProofError::UnexpectedRecord));
            prop_assert_eq!(lookup(&store, &StateKey(*k)).unwrap(), None);
        }
    }

}

proptest! {
    #![proptest_config(Config { rng_seed: RngSeed::Fixed(35), cases: 24, ..Config::default() })]

    /// Flipping any single bit of a proof's bytes, of the record, of the root or of the
    /// key makes verification fail, for a membership and an absence proof.
    #[test]
    fn any_flipped_bit_fails(model in arb_leaves(12), absent in arb_key()) {
        prop_assume!(!model.is_empty() && !model.contains_key(&absent));
        let mut model = model;
        for k in model.clone().keys() {
            model.insert(*k, vh(&record_of(k)));
        }
        let store = store_of(&model);
        let root = store.root();
        let member = *model.keys().next().unwrap();
        let record = record_of(&member);
        for (key, record) in [(member, Some(record.as_slice())), (absent, None)] {
            let bytes = prove(&store, &StateKey(key)).unwrap().encode();
            let check = |root: &StateRoot, key: &[u8; 32], record: Option<&[u8]>, bytes: &[u8]| {
                Proof::decode(bytes).ok().is_some_and(|p| verify(root, &StateKey(*key), record, &p).is_ok())
            };
            prop_assert!(check(&root, &key, record, &bytes));
            for i in 0..bytes.len() * 8 {
                let mut b = bytes.clone();
                b[i / 8] ^= 0x80 >> (i % 8);
                prop_assert!(!check(&root, &key, record, &b), "proof bit {}", i);
            }
            for i in 0..256 {
                let mut r = root;
                r.0[i / 8] ^= 0x80 >> (i % 8);
                prop_assert!(!check(&r, &key, record, &bytes), "root bit {}", i);
                // Another key holds another record or none. (Absence of another key
                // on the same path is a true statement, so absence proofs are not
                // flipped here.)
                if record.is_some() {
                    let mut k = key;
                    k[i / 8] ^= 0x80 >> (i % 8);
                    prop_assert!(!check(&root, &k, record, &bytes), "key bit {}", i);
                }
            }
            if let Some(record) = record {
                for i in 0..record.len() * 8 {
                    let mut r = record.to_vec();
                    r[i / 8] ^= 0x80 >> (i % 8);
                    prop_assert!(!check(&root, &key, Some(&r), &bytes), "record bit {}", i);
                }
            }
        }
    }

}

proptest! {
    #![proptest_config(Config { rng_seed: RngSeed::Fixed(36), cases: 150, ..Config::default() })]

    /// Random batches of inserts, updates and deletes: after each, the root is the
    /// oracle's over a plain map; undoing the batches in reverse restores every earlier
    /// root and, at the end, an empty store.
    #[test]
    fn updates_match_the_oracle_and_undo_restores(
        batches in prop::collection::vec(prop::collection::vec((arb_key(), any::<u8>(), 0u8..3), 1..12), 1..8),
    ) {
        let mut store = MemoryStore::new();
        let mut model: BTreeMap<[u8; 32], [u8; 32]> = BTreeMap::new();
        let mut applied = Vec::new();
        let mut roots = vec![store.root()];
        for batch in &batches {
            let mut changes = Vec::new();
            for (key, value, op) in batch {
                // Op 0 deletes a present key (the first of the model at or after `key`).
                let (k, after) = match op {
                    0 => match model.range(*key..).next().or_else(|| model.iter().next()) {
                        Some((k, _)) => (*k, None),
                        None => (*key, Some([*value; 32])),
                    },
                    _ => (*key, Some([*value; 32])),
                };
                let before = model.get(&k).copied();
                match after {
                    Some(v) => model.insert(k, v),
                    None => model.remove(&k),
                };
                changes.push(LeafChange { key: StateKey(k), before: before.map(NodeHash), after: after.map(NodeHash) });
            }
            let root = store.apply(&changes).unwrap();
            prop_assert_eq!(root.0, o_root(&model_leaves(&model), 0));
            prop_assert_eq!(store.len(), o_nodes(&model_leaves(&model), 0));
            applied.push(changes);
            roots.push(root);
        }
        roots.pop();
        for changes in applied.iter().rev() {
            let root = store.undo(changes).unwrap();
            prop_assert_eq!(Some(root), roots.pop());
        }
        prop_assert!(store.is_empty());
    }

    /// Decoding arbitrary bytes never panics, and what decodes re-encodes to the same
    /// bytes; verifying arbitrary proofs (any depth) never panics.
    #[test]
    fn decoding_and_verifying_arbitrary_input_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..700),
        siblings in prop::collection::vec(any::<[u8; 32]>(), 0..300),
        key in any::<[u8; 32]>(),
        other in any::<[u8; 32]>(),
        tag in 0u8..3,
    ) {
        let mut framed = vec![1, tag];
        framed.extend_from_slice(&bytes);
        for b in [&bytes, &framed] {
            if let Ok(p) = Proof::decode(b) {
                prop_assert_eq!(&p.encode(), b);
            }
            let _ = Node::decode(b);
            let _ = NodePath::from_bytes(b);
        }
        let terminal = match tag {
            0 => Terminal::Member,
            1 => Terminal::Empty,
            _ => Terminal::Neighbour { key: StateKey(other), value: NodeHash(key) },
        };
        let proof = Proof::new(siblings.into_iter().map(NodeHash).collect(), terminal);
        let root = StateRoot(other);
        prop_assert!(verify(&root, &StateKey(key), Some(&bytes), &proof).is_err());
        prop_assert!(verify(&root, &StateKey(key), None, &proof).is_err());
        let encoded = proof.encode();
        prop_assert!(encoded.len() <= MAX_PROOF_LEN);
    }
}

// ---- known answers, by hand from docs/naming.md ----

#[test]
fn keys_and_hashes_follow_the_documented_layout() {
    let tag = b"open-trust/naming/state-key/v1";
    let alice = sha(&[tag, &[1], &[5], b"alice", &[2], b"id"]);
    assert_eq!(StateKey::name(&name("alice.id")).0, alice);
    assert_eq!(
        StateKey::namespace(&ns("id")).0,
        sha(&[tag, &[0], &[2], b"id"])
    );
    let c = naming::Commitment([9; 32]);
    assert_eq!(StateKey::preorder(&c).0, sha(&[tag, &[2], &[9; 32]]));
    assert_eq!(
        naming::leaf_hash(&StateKey([1; 32]), &NodeHash([2; 32])).0,
        sha(&[&[0], &[1; 32], &[2; 32]])
    );
    assert_eq!(
        naming::node_hash(&NodeHash([1; 32]), &NodeHash([2; 32])).0,
        sha(&[&[1], &[1; 32], &[2; 32]])
    );
    assert_eq!(EMPTY_SUBTREE.0, [0; 32]);
    assert_eq!(MemoryStore::new().root().0, [0; 32]);
}

#[test]
fn proof_bytes_follow_the_documented_layout() {
    // Three keys: 00.., 01.. and 1...: the proof of 01.. has siblings [leaf(1..), leaf(00..)].
    let k0 = [0x00; 32];
    let k1 = [0x40; 32];
    let k2 = [0x80; 32];
    let store = store_of(&[(k0, [1; 32]), (k1, [2; 32]), (k2, [3; 32])].into());
    let proof = prove(&store, &StateKey(k1)).unwrap();
    let mut expected = vec![1, 0, 2, 0, 0b1100_0000];
    expected.extend_from_slice(&o_leaf(&k2, &[3; 32]));
    expected.extend_from_slice(&o_leaf(&k0, &[1; 32]));
    assert_eq!(proof.encode(), expected);
    // Absence of 0x20..: the walk ends at leaf 00.. (the key's prefix 00) at depth 2.
    let absent = [0x20; 32];
    let proof = prove(&store, &StateKey(absent)).unwrap();
    let mut expected = vec![1, 2, 2, 0, 0b1100_0000];
    expected.extend_from_slice(&o_leaf(&k2, &[3; 32]));
    expected.extend_from_slice(&o_leaf(&k1, &[2; 32]));
    expected.extend_from_slice(&k0);
    expected.extend_from_slice(&[1; 32]);
    assert_eq!(proof.encode(), expected);
    // Absence of 0xc0..: empty right child of the inner node at 1? No: 1.. is a single
    // leaf at depth 1, so the walk ends at that neighbour after one sibling.
    let proof = prove(&store, &StateKey([0xc0; 32])).unwrap();
    let mut expected = vec![1, 2, 1, 0, 0b1000_0000];
    expected.extend_from_slice(&sha(&[
        &[1],
        &o_leaf(&k0, &[1; 32]),
        &o_leaf(&k1, &[2; 32]),
    ]));
    expected.extend_from_slice(&k2);
    expected.extend_from_slice(&[3; 32]);
    assert_eq!(proof.encode(), expected);
    // Two keys sharing 9 bits: the walk towards a third key under the same 8 bits but
    // bit 8 = 1 ends in an empty subtree with empty siblings in between.
    let a = [0x00; 32];
    let mut b = [0x00; 32];
    b[1] = 0x40;
    let two = store_of(&[(a, [1; 32]), (b, [2; 32])].into());
    let mut c = [0x00; 32];
    c[1] = 0x80;
    let proof = prove(&two, &StateKey(c)).unwrap();
    assert_eq!(proof.terminal(), &Terminal::Empty);
    let mut expected = vec![1, 1, 9, 0, 0, 0b1000_0000];
    expected.extend_from_slice(&sha(&[&[1], &o_leaf(&a, &[1; 32]), &o_leaf(&b, &[2; 32])]));
    assert_eq!(proof.encode(), expected);
    assert_eq!(verify(&two.root(), &StateKey(c), None, &proof), Ok(()));
}

#[test]
fn non_canonical_and_oversized_proofs_are_refused() {
    let refused = |b: &[u8]| Proof::decode(b).unwrap_err();
    assert_eq!(
        refused(&[2, 0, 0, 0]),
        DecodeError::UnsupportedVersion { version: 2 }
    );
    assert!(matches!(
        refused(&[1, 3, 0, 0]),
        DecodeError::BadFlag { .. }
    ));
    assert!(matches!(
        refused(&[1, 1, 1, 1, 0]),
        DecodeError::TooLong { len: 257, .. }
    ));
    // Depth 1, bitmap bit of sibling 1 (past the depth) set.
    assert!(matches!(
        refused(&[1, 1, 1, 0, 0b0100_0000]),
        DecodeError::NonCanonical { .. }
    ));
    // A listed sibling that is the empty hash.
    let mut b = vec![1, 1, 1, 0, 0b1000_0000];
    b.extend_from_slice(&[0; 32]);
    assert!(matches!(refused(&b), DecodeError::NonCanonical { .. }));
    assert!(matches!(
        refused(&[1, 1, 0, 0, 7]),
        DecodeError::TrailingBytes { count: 1 }
    ));
    assert!(matches!(
        refused(&[1, 2, 0, 0]),
        DecodeError::Truncated { .. }
    ));
    let huge = vec![0u8; MAX_PROOF_LEN + 1];
    assert!(matches!(refused(&huge), DecodeError::TooLong { .. }));
    // The largest proof: 256 non-empty siblings and a neighbour.
    let proof = Proof::new(
        vec![NodeHash([7; 32]); 256],
        Terminal::Neighbour {
            key: StateKey([1; 32]),
            value: NodeHash([2; 32]),
        },
    );
    assert_eq!(proof.encode().len(), MAX_PROOF_LEN);
    assert_eq!(Proof::decode(&proof.encode()).unwrap(), proof);
    let too_deep = Proof::new(vec![NodeHash([7; 32]); 257], Terminal::Empty);
    assert_eq!(
        verify(&StateRoot([0; 32]), &StateKey([0; 32]), None, &too_deep),
        Err(ProofError::TooDeep { depth: 257 })
    );
}

#[test]
fn neighbour_proofs_must_be_of_another_key_on_the_path() {
    let k0 = [0x00; 32];
    let k1 = [0x80; 32];
    let store = store_of(&[(k0, [1; 32]), (k1, [2; 32])].into());
    let root = store.root();
    // A proof that k1's leaf is where 0x00..01 would be: off the path at depth 1.
    let forged = Proof::new(
        vec![NodeHash(o_leaf(&k0, &[1; 32]))],
        Terminal::Neighbour {
            key: StateKey(k1),
            value: NodeHash([2; 32]),
        },
    );
    let mut key = [0; 32];
    key[31] = 1;
    assert_eq!(
        verify(&root, &StateKey(key), None, &forged),
        Err(ProofError::NeighbourOffPath { depth: 1 })
    );
    // The key's own leaf passed off as a neighbour.
    let own = Proof::new(
        vec![NodeHash(o_leaf(&k1, &[2; 32]))],
        Terminal::Neighbour {
            key: StateKey(k0),
            value: NodeHash([1; 32]),
        },
    );
    assert_eq!(
        verify(&root, &StateKey(k0), None, &own),
        Err(ProofError::NeighbourIsKey)
    );
}

#[test]
fn a_change_that_does_not_match_the_tree_is_refused_and_changes_nothing() {
    let mut store = store_of(&[([1; 32], [1; 32]), ([2; 32], [2; 32])].into());
    let before = store.clone();
    let wrong = LeafChange {
        key: StateKey([1; 32]),
        before: Some(NodeHash([9; 32])),
        after: None,
    };
    let err = store.apply(&[insert([3; 32], [3; 32]), wrong]).unwrap_err();
    assert!(matches!(err, SmtError::Conflict { found: Some(f), .. } if f == NodeHash([1; 32])));
    assert_eq!(store, before);
    // An insert of a present key, and a chain of changes of one key that does not link.
    assert!(store.apply(&[insert([2; 32], [5; 32])]).is_err());
    let a = insert([4; 32], [4; 32]);
    let b = insert([4; 32], [5; 32]);
    assert!(matches!(
        store.apply(&[a, b]).unwrap_err(),
        SmtError::Conflict { .. }
    ));
    assert_eq!(store, before);
    // One that links: insert then update then delete within one batch is no change.
    let c = LeafChange {
        key: StateKey([4; 32]),
        before: Some(NodeHash([4; 32])),
        after: Some(NodeHash([5; 32])),
    };
    let d = LeafChange {
        key: StateKey([4; 32]),
        before: Some(NodeHash([5; 32])),
        after: None,
    };
    let u = update(&store, &[a, c, d]).unwrap();
    assert_eq!(u.root, before.root());
}

/// A store of our own (as the node's database is), filled from the updates' writes, then
/// damaged: reads report the damage instead of a wrong proof.
#[derive(Default)]
struct MapStore(BTreeMap<[u8; 34], [u8; 65]>);

impl SmtStore for MapStore {
    type Error = Infallible;
    fn node(&self, path: &NodePath) -> Result<Option<Node>, Infallible> {
        Ok(self
            .0
            .get(&path.to_bytes())
            .map(|b| Node::decode(b).unwrap()))
    }
}

#[test]
fn another_store_gives_the_same_tree_and_damage_is_reported() {
    let model: BTreeMap<_, _> = (0u8..20).map(|i| (sha(&[&[i]]), [i; 32])).collect();
    let mut map = MapStore::default();
    let changes: Vec<_> = model.iter().map(|(k, v)| insert(*k, *v)).collect();
    let u = update(&map, &changes).unwrap();
    for (path, node) in &u.writes {
        assert_eq!(NodePath::from_bytes(&path.to_bytes()).unwrap(), *path);
        match node {
            Some(n) => {
                assert_eq!(Node::decode(&n.encode()).unwrap(), *n);
                map.0.insert(path.to_bytes(), n.encode());
            }
            None => {
                map.0.remove(&path.to_bytes());
            }
        }
    }
    assert_eq!(u.root.0, o_root(&model_leaves(&model), 0));
    assert_eq!(naming::root(&map).unwrap(), u.root);
    // Damage one inner node below the root: proofs through it are refused.
    let (victim, _) = map
        .0
        .iter()
        .find(|(p, n)| p[..2] == [0, 1] && n[0] == 1)
        .map(|(p, n)| (*p, *n))
        .unwrap();
    map.0.get_mut(&victim).unwrap()[40] ^= 1;
    let mut hit = 0;
    for k in model.keys() {
        if NodePath::from_bytes(&victim)
            .unwrap()
            .is_prefix_of(&StateKey(*k))
        {
            hit += 1;
            assert!(matches!(
                prove(&map, &StateKey(*k)),
                Err(SmtError::Corrupt { .. })
            ));
            assert!(matches!(
                update(
                    &map,
                    &[LeafChange {
                        key: StateKey(*k),
                        before: Some(NodeHash(model[k])),
                        after: None
                    }]
                ),
                Err(SmtError::Corrupt { .. })
            ));
        }
    }
    assert!(hit >= 2);
}

#[test]
fn node_paths_are_canonical() {
    let mut bytes = [0u8; 34];
    bytes[1] = 3;
    bytes[2] = 0b1110_0000;
    let p = NodePath::from_bytes(&bytes).unwrap();
    assert_eq!(p.depth(), 3);
    bytes[2] = 0b1111_0000;
    assert!(matches!(
        NodePath::from_bytes(&bytes),
        Err(DecodeError::NonCanonical { .. })
    ));
    let mut deep = [0u8; 34];
    deep[0] = 1;
    deep[1] = 1;
    assert!(matches!(
        NodePath::from_bytes(&deep),
        Err(DecodeError::TooLong { .. })
    ));
    assert!(NodePath::from_bytes(&[0; 33]).is_err());
    assert!(matches!(
        Node::decode(&[2; 65]),
        Err(DecodeError::BadFlag { .. })
    ));
}

/// Real operations: the tree fed with `Change::leaf_change` of every accepted operation
/// commits to exactly the records of the name state; a light client proves a name, its
/// expiry at a later height, and a name that was never registered; undoing every
/// operation empties the tree.
#[test]
fn the_tree_commits_to_the_name_state_of_real_operations() {
    let mut w = World::new();
    let creator = key(1);
    let alice = key(2);
    let at = w.launch(&creator, &ns("id"), 10);
    let reg = w.register(&alice, &name("alice.id"), at + 1);
    w.register(&alice, &name("bob.id"), reg + 1);
    let ctx = w.ctx(reg + 5, 0, vec![]);
    let op = Operation::NameUpdate {
        name: name("alice.id"),
        zone_file: naming::ZoneFileHash([4; 32]),
    };
    w.submit(&alice, op, &ctx).unwrap();
    w.preorder_name(
        &alice,
        &name("carol.id"),
        naming::Salt([1; 16]),
        reg + 6,
        1_000_000,
    );

    let mut store = MemoryStore::new();
    let per_op: Vec<Vec<LeafChange>> = w
        .journal
        .iter()
        .map(|c| c.changes().iter().map(|c| c.leaf_change()).collect())
        .collect();
    for changes in &per_op {
        store.apply(changes).unwrap();
    }
    // The oracle's keys and leaves, from the documented derivation.
    let tag = b"open-trust/naming/state-key/v1";
    let mut leaves = BTreeMap::new();
    for (id, r) in &w.state.namespaces {
        let mut kb = vec![id.len() as u8];
        kb.extend_from_slice(id.as_str().as_bytes());
        leaves.insert(sha(&[tag, &[0], &kb]), vh(&r.encode()));
    }
    for (n, r) in &w.state.names {
        let mut kb = vec![n.label.len() as u8];
        kb.extend_from_slice(n.label.as_str().as_bytes());
        kb.push(n.namespace.len() as u8);
        kb.extend_from_slice(n.namespace.as_str().as_bytes());
        leaves.insert(sha(&[tag, &[1], &kb]), vh(&r.encode()));
    }
    for (c, r) in &w.state.preorders {
        leaves.insert(sha(&[tag, &[2], c.as_bytes()]), vh(&r.encode()));
    }
    assert_eq!(leaves.len(), 1 + 2 + 1);
    assert_eq!(store.root().0, o_root(&model_leaves(&leaves), 0));

    let root = store.root();
    let record = w.state.names[&name("alice.id")].clone();
    let bytes = record.encode();
    let proof = prove(&store, &StateKey::name(&name("alice.id"))).unwrap();
    let wire = Proof::decode(&proof.encode()).unwrap();
    let proven = verify_name(&root, &name("alice.id"), Some(&bytes), &wire)
        .unwrap()
        .unwrap();
    assert_eq!(proven, record);
    assert_eq!(proven.status(Height(reg)), NameStatus::Active);
    assert_eq!(
        proven.status(Height(reg + LIFETIME + GRACE)),
        NameStatus::Expired
    );
    // The proof of one name is no proof of another.
    assert_eq!(
        verify_name(&root, &name("bob.id"), Some(&bytes), &wire),
        Err(ProofError::RootMismatch)
    );
    let none = prove(&store, &StateKey::name(&name("zed.id"))).unwrap();
    assert_eq!(verify_name(&root, &name("zed.id"), None, &none), Ok(None));
    // Bytes that verify must still be a name record.
    let ns_record = w.state.namespaces[&ns("id")].encode();
    let ns_proof = prove(&store, &StateKey::namespace(&ns("id"))).unwrap();
    assert_eq!(
        verify(
            &root,
            &StateKey::namespace(&ns("id")),
            Some(&ns_record),
            &ns_proof
        ),
        Ok(())
    );

    for changes in per_op.iter().rev() {
        store.undo(changes).unwrap();
    }
    assert!(store.is_empty());
}
