//! Property tests against the naive recursive oracle and rs_merkle, with a fixed
//! seed so every run checks the same cases.

use merkle_log::{Hash, MemoryStore, Tree, verify_consistency, verify_inclusion};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use crate::oracle::{self, Rfc6962};

const MAX_N: usize = 300;

/// The proptest configuration of this suite: fixed seed, no persistence.
pub(crate) fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x6962_9162),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Distinct leaves: leaf i is the RFC 6962 hash of the 8 bytes of i.
fn leaves(n: usize) -> Vec<[u8; 32]> {
    (0..n as u64)
        .map(|i| oracle::leaf(&i.to_be_bytes()))
        .collect()
}

fn tree(n: usize) -> Tree<MemoryStore> {
    let mut t = Tree::default();
    for h in leaves(n) {
        t.append_hash(Hash(h));
    }
    t
}

/// Which side each audit-path hash is on (true = sibling on the left), read off
/// the recursive definition of PATH in RFC 6962 §2.1.1.
fn path_shape(m: usize, n: usize) -> Vec<bool> {
    if n <= 1 {
        return vec![];
    }
    let k = oracle::k_of(n);
    if m < k {
        let mut s = path_shape(m, k);
        s.push(false);
        s
    } else {
        let mut s = path_shape(m - k, n - k);
        s.push(true);
        s
    }
}

/// What a verifier does with each consistency-proof hash, read off SUBPROOF in
/// RFC 6962 §2.1.2: 'S' seed, 'B' left sibling in both trees, 'R' right sibling only
/// in the new tree. A leading 'O' means the old root itself is the seed.
fn proof_shape(m: usize, n: usize, b: bool) -> String {
    if m == n {
        return if b { "O".into() } else { "S".into() };
    }
    let k = oracle::k_of(n);
    if m <= k {
        proof_shape(m, k, b) + "R"
    } else {
        proof_shape(m - k, n - k, false) + "B"
    }
}

fn flip(h: &mut Hash, bit: usize) {
    h.0[(bit / 8) % 32] ^= 1 << (bit % 8);
}

#[test]
fn inclusion_matches_oracles_and_mutations_fail() {
    let all = leaves(2 * MAX_N);
    let strategy =
        (1..=MAX_N).prop_flat_map(|n| (Just(n), 0..n, any::<usize>(), 1..=2 * MAX_N, 0..2 * MAX_N));
    proptest!(config(2000), |((n, i, r, other_n, other_i) in strategy)| {
        let t = tree(n);
        let root = t.root();
        let proof = t.inclusion_proof(i as u64, n as u64).unwrap();
        let leaf = Hash(all[i]);
        prop_assert_eq!(root, Hash(oracle::mth(&all[..n])));
        prop_assert_eq!(&proof, &oracle::to_hashes(&oracle::path(i, &all[..n])));
        prop_assert!(verify_inclusion(&leaf, i as u64, n as u64, &proof, &root).is_ok());

        // rs_merkle, an independent implementation, agrees on root and path.
        let rs = rs_merkle::MerkleTree::<Rfc6962>::from_leaves(&all[..n]);
        prop_assert_eq!(rs.root().map(Hash), Some(root));
        prop_assert_eq!(&oracle::to_hashes(rs.proof(&[i]).proof_hashes()), &proof);

        // A flipped bit anywhere in the proof.
        if !proof.is_empty() {
            let mut bad = proof.clone();
            flip(&mut bad[r % proof.len()], r / proof.len());
            prop_assert!(verify_inclusion(&leaf, i as u64, n as u64, &bad, &root).is_err());
        }
        // A flipped bit in the leaf or the root.
        let mut bad_leaf = leaf;
        flip(&mut bad_leaf, r);
        prop_assert!(verify_inclusion(&bad_leaf, i as u64, n as u64, &proof, &root).is_err());
        let mut bad_root = root;
        flip(&mut bad_root, r);
        prop_assert!(verify_inclusion(&leaf, i as u64, n as u64, &proof, &bad_root).is_err());

        // Another index or size: accepted exactly when the recursion of PATH puts
        // every hash on the same side, since the proof then hashes identically.
        for (j, m) in [(other_i, n), (i, other_n), (other_i % other_n, other_n)] {
            if (j, m) == (i, n) || j >= m {
                continue;
            }
            let same = path_shape(j, m) == path_shape(i, n);
            let ok = verify_inclusion(&leaf, j as u64, m as u64, &proof, &root).is_ok();
            prop_assert_eq!(ok, same, "index {} size {} for proof of {}@{}", j, m, i, n);
        }

        // An extra hash, at either end; a missing one; two swapped.
        let extra = Hash(oracle::leaf(b"extra"));
        let mut longer = proof.clone();
        longer.push(extra);
        prop_assert!(verify_inclusion(&leaf, i as u64, n as u64, &longer, &root).is_err());
        longer.pop();
        longer.insert(0, extra);
        prop_assert!(verify_inclusion(&leaf, i as u64, n as u64, &longer, &root).is_err());
        if !proof.is_empty() {
            let mut shorter = proof.clone();
            shorter.remove(r % proof.len());
            prop_assert!(verify_inclusion(&leaf, i as u64, n as u64, &shorter, &root).is_err());
        }
        if proof.len() >= 2 {
            let mut swapped = proof.clone();
            let a = r % proof.len();
            let b = (a + 1 + (r / 7) % (proof.len() - 1)) % proof.len();
            swapped.swap(a, b);
            prop_assert!(verify_inclusion(&leaf, i as u64, n as u64, &swapped, &root).is_err());
        }
    });
}

#[test]
fn consistency_matches_oracle_and_mutations_fail() {
    let all = leaves(MAX_N);
    let strategy = (1..=MAX_N).prop_flat_map(|n| (Just(n), 0..=n, any::<usize>(), 1..=MAX_N));
    proptest!(config(2000), |((n, m, r, other_m) in strategy)| {
        let t = tree(n);
        let (old_root, new_root) = (t.root_at(m as u64).unwrap(), t.root());
        prop_assert_eq!(old_root, Hash(oracle::mth(&all[..m])));
        let proof = t.consistency_proof(m as u64, n as u64).unwrap();
        prop_assert_eq!(&proof, &oracle::to_hashes(&oracle::proof(m, &all[..n])));
        prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &new_root, &proof).is_ok());

        let mut bad_old = old_root;
        flip(&mut bad_old, r);
        prop_assert!(verify_consistency(m as u64, n as u64, &bad_old, &new_root, &proof).is_err());
        // From the empty tree nothing binds the new root; otherwise it is checked.
        if m > 0 {
            let mut bad_new = new_root;
            flip(&mut bad_new, r);
            prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &bad_new, &proof).is_err());
        }
        if proof.is_empty() {
            return Ok(());
        }
        let mut bad = proof.clone();
        flip(&mut bad[r % proof.len()], r / proof.len());
        prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &new_root, &bad).is_err());

        // Another old size: accepted exactly when SUBPROOF gives every hash the
        // same role, since the verifier then computes the same two roots.
        if other_m != m && 0 < other_m && other_m < n {
            let same = proof_shape(other_m, n, true) == proof_shape(m, n, true);
            let ok = verify_consistency(other_m as u64, n as u64, &old_root, &new_root, &proof).is_ok();
            prop_assert_eq!(ok, same, "old size {} for proof of {}->{}", other_m, m, n);
        }

        let extra = Hash(oracle::leaf(b"extra"));
        let mut longer = proof.clone();
        longer.push(extra);
        prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &new_root, &longer).is_err());
        longer.pop();
        longer.insert(0, extra);
        prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &new_root, &longer).is_err());
        let mut shorter = proof.clone();
        shorter.remove(r % proof.len());
        prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &new_root, &shorter).is_err());
        if proof.len() >= 2 {
            let mut swapped = proof.clone();
            let a = r % proof.len();
            let b = (a + 1 + (r / 7) % (proof.len() - 1)) % proof.len();
            swapped.swap(a, b);
            prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &new_root, &swapped).is_err());
        }
    });
}

/// Every (index, size) and (old, new) pair up to 64 leaves, exhaustively.
#[test]
fn exhaustive_small_trees() {
    let all = leaves(64);
    let t = tree(64);
    for n in 0..=64usize {
        let root = Hash(oracle::mth(&all[..n]));
        assert_eq!(t.root_at(n as u64).unwrap(), root, "root at {n}");
        for i in 0..n {
            let proof = t.inclusion_proof(i as u64, n as u64).unwrap();
            assert_eq!(
                proof,
                oracle::to_hashes(&oracle::path(i, &all[..n])),
                "path {i}@{n}"
            );
            verify_inclusion(&Hash(all[i]), i as u64, n as u64, &proof, &root).unwrap();
        }
        for m in 0..=n {
            let proof = t.consistency_proof(m as u64, n as u64).unwrap();
            assert_eq!(
                proof,
                oracle::to_hashes(&oracle::proof(m, &all[..n])),
                "proof {m}->{n}"
            );
            let old = Hash(oracle::mth(&all[..m]));
            verify_consistency(m as u64, n as u64, &old, &root, &proof).unwrap();
        }
    }
}

#[test]
fn hostile_inputs_are_rejected_without_panic() {
    let leaf = Hash(oracle::leaf(b"x"));
    let many = vec![leaf; 1000];
    for (index, size) in [
        (0, 0),
        (5, 5),
        (u64::MAX, u64::MAX),
        (u64::MAX - 1, u64::MAX),
        (0, u64::MAX),
    ] {
        for len in [0, 1, 63, 64, 65, 1000] {
            let r = verify_inclusion(&leaf, index, size, &many[..len], &leaf);
            assert!(r.is_err(), "{index}@{size} with {len} hashes");
        }
    }
    for (old, new) in [
        (1, 0),
        (u64::MAX, 1),
        (u64::MAX - 1, u64::MAX),
        (1, u64::MAX),
        (0, u64::MAX),
    ] {
        for len in [0, 1, 64, 65, 1000] {
            let r = verify_consistency(old, new, &leaf, &leaf, &many[..len]);
            assert!(r.is_err(), "{old}->{new} with {len} hashes");
        }
    }
    // A malformed-input verdict for sizes out of order and over-long proofs.
    assert!(
        verify_consistency(2, 1, &leaf, &leaf, &[])
            .unwrap_err()
            .is_malformed_input()
    );
    assert!(
        verify_inclusion(&leaf, 3, 3, &[], &leaf)
            .unwrap_err()
            .is_malformed_input()
    );
    assert!(
        verify_inclusion(&leaf, 0, 3, &many[..65], &leaf)
            .unwrap_err()
            .is_malformed_input()
    );
}

#[test]
fn proofs_beyond_the_tree_are_refused() {
    let t = tree(10);
    assert!(t.inclusion_proof(3, 11).is_err());
    assert!(t.inclusion_proof(10, 10).is_err());
    assert!(t.consistency_proof(5, 11).is_err());
    assert!(t.consistency_proof(6, 5).is_err());
    assert!(t.root_at(11).is_err());
}

#[test]
fn reopened_tree_continues_identically() {
    // A tree reopened from its store at size n (reading only the frontier) and then
    // grown gives the same roots as one grown in a single go.
    let all = leaves(200);
    for n in [0usize, 1, 2, 3, 7, 8, 9, 100, 127, 128] {
        let t = tree(n);
        let store = t.store().clone();
        let mut reopened = Tree::open(n as u64, store).unwrap();
        for h in &all[n..] {
            reopened.append_hash(Hash(*h));
        }
        assert_eq!(reopened.root(), Hash(oracle::mth(&all)), "reopened at {n}");
    }
}
