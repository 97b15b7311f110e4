//! Consistency proof verification, exactly as RFC 9162 §2.1.4.2.

use crate::error::{BoundsError, VerifyError};
use crate::hash::Hash;
use crate::inclusion::{check_len, check_root};
use crate::tree_math;

/// Verifies that the tree of `old_size` leaves with root `old_root` is a prefix of
/// the tree of `new_size` leaves with root `new_root`.
///
/// Equal sizes need an empty proof and equal roots; an empty old tree needs an empty
/// proof and the empty-tree root as its old root.
///
/// # Errors
/// [`VerifyError`] saying why the proof fails; `old_size > new_size` and over-long
/// proofs are told apart by [`VerifyError::is_malformed_input`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old_size > new_size {
        return Err(BoundsError::SizesOutOfOrder {
            old: old_size,
            new: new_size,
        }
        .into());
    }
    check_len(
        proof.len(),
        tree_math::consistency_proof_len(old_size, new_size),
    )?;
    if old_size == new_size {
        return check_root(old_root, new_root);
    }
    if old_size == 0 {
        return check_root(old_root, &Hash::empty_root());
    }

    // Step 2: a power-of-two old tree is itself a node of the new tree, so its root
    // seeds the walk; otherwise the proof's first hash does.
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (first, rest),
            None => return Err(VerifyError::WrongProofLength { got: 0, want: 1 }),
        }
    };
    // Steps 3 and 4.
    let (mut f_n, mut s_n) = (old_size - 1, new_size - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // Steps 5 and 6.
    let (mut f_r, mut s_r) = (*seed, *seed);
    for c in rest {
        if s_n == 0 {
            return Err(VerifyError::WrongProofLength {
                got: proof.len(),
                want: tree_math::consistency_proof_len(old_size, new_size),
            });
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = Hash::node(c, &f_r);
            s_r = Hash::node(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = Hash::node(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 7.
    if s_n != 0 {
        return Err(VerifyError::WrongProofLength {
            got: proof.len(),
            want: tree_math::consistency_proof_len(old_size, new_size),
        });
    }
    if !f_r.ct_eq(old_root) {
        return Err(VerifyError::OldRootMismatch {
            computed: f_r.to_hex(),
            expected: old_root.to_hex(),
        });
    }
    check_root(&s_r, new_root)
}
