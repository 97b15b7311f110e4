//! Inclusion proof verification, exactly as RFC 9162 §2.1.3.2.

use crate::error::{BoundsError, VerifyError};
use crate::hash::Hash;
use crate::tree_math;

/// No proof in a tree of fewer than 2^64 leaves has more hashes than this.
pub const MAX_PROOF_LEN: usize = 64;

/// Checks the proof's length before any hashing: the bound first, then the exact
/// length the sizes call for.
pub(crate) fn check_len(got: usize, want: usize) -> Result<(), VerifyError> {
    if got > MAX_PROOF_LEN {
        return Err(VerifyError::ProofTooLong {
            len: got,
            limit: MAX_PROOF_LEN,
        });
    }
    if got != want {
        return Err(VerifyError::WrongProofLength { got, want });
    }
    Ok(())
}

pub(crate) fn check_root(computed: &Hash, expected: &Hash) -> Result<(), VerifyError> {
    if computed.ct_eq(expected) {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch {
            computed: computed.to_hex(),
            expected: expected.to_hex(),
        })
    }
}

/// Verifies that `leaf_hash` is the leaf at `index` in the tree of `size` leaves
/// whose root is `root`, given its audit path `proof` (bottom-up).
///
/// # Errors
/// [`VerifyError`] saying why the proof fails; inputs that can never form a proof
/// (`index >= size`, an over-long proof) are told apart by
/// [`VerifyError::is_malformed_input`].
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    check_root(&computed, root)
}

/// The root that an audit path leads to (RFC 9162 §2.1.3.2 steps 1 to 4).
///
/// # Errors
/// When `index >= size` or the proof has the wrong length.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(BoundsError::IndexOutOfRange { index, size }.into());
    }
    check_len(proof.len(), tree_math::inclusion_proof_len(index, size))?;
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s_n == 0 {
            // Unreachable after the length check; kept as the RFC states it.
            return Err(VerifyError::WrongProofLength {
                got: proof.len(),
                want: tree_math::inclusion_proof_len(index, size),
            });
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = Hash::node(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = Hash::node(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(VerifyError::WrongProofLength {
            got: proof.len(),
            want: tree_math::inclusion_proof_len(index, size),
        });
    }
    Ok(r)
}
