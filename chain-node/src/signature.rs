//! Ed25519 checks with `verify_strict` semantics, singly, in parallel, or batched.
//!
//! `verify_strict` rejects small-order keys and nonces, non-canonical `s`, and checks
//! the cofactorless equation. Batch verification checks a random linear combination,
//! which can accept a signature with a small-order component that the single check
//! rejects. The batch path here is therefore only a fast path: an item joins the batch
//! only if its key and nonce are canonically encoded, not of small order and torsion-free
//! (then both equations agree), every other item is checked singly, and a failed batch
//! falls back to single strict checks. It can never accept what `verify_strict` rejects.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use ed25519_dalek::{Signature, VerifyingKey};

/// One signature to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigCheck {
    /// Public key bytes.
    pub pubkey: [u8; 32],
    /// Signature bytes.
    pub signature: [u8; 64],
    /// The signed 32-byte digest.
    pub message: [u8; 32],
}

/// How a set of signatures is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigMode {
    /// One `verify_strict` per signature, spread over `threads` threads.
    Strict {
        /// Worker threads (1 = on the calling thread).
        threads: usize,
    },
    /// Batch fast path with strict fallback.
    Batch,
}

impl Default for SigMode {
    fn default() -> Self {
        SigMode::Strict {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// `verify_strict` on one item.
pub fn verify_one(check: &SigCheck) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(&check.pubkey) else {
        return false;
    };
    key.verify_strict(&check.message, &Signature::from_bytes(&check.signature))
        .is_ok()
}

/// Checks all items; `Err(i)` names the first item (lowest index) that strict rejects.
///
/// # Errors
/// The index of the first invalid item.
pub fn verify_all(checks: &[SigCheck], mode: SigMode) -> Result<(), usize> {
    match mode {
        SigMode::Strict { threads } => verify_parallel(checks, threads.max(1)),
        SigMode::Batch => verify_batch_strict(checks),
    }
}

fn first_invalid(checks: &[SigCheck]) -> Result<(), usize> {
    match checks.iter().position(|c| !verify_one(c)) {
        Some(i) => Err(i),
        None => Ok(()),
    }
}

fn verify_parallel(checks: &[SigCheck], threads: usize) -> Result<(), usize> {
    // Below this many items a thread costs more than it saves.
    const MIN_PER_THREAD: usize = 16;
    let threads = threads.min(checks.len() / MIN_PER_THREAD).max(1);
    if threads == 1 {
        return first_invalid(checks);
    }
    let chunk = checks.len().div_ceil(threads);
    let results: Vec<Result<(), usize>> = std::thread::scope(|s| {
        let handles: Vec<_> = checks
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| s.spawn(move || first_invalid(part).map_err(|i| i + n * chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(0)))
            .collect()
    });
    results.into_iter().collect()
}

/// A point that is canonically encoded, not of small order and in the prime-order subgroup.
fn prime_order_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    let compressed = CompressedEdwardsY(*bytes);
    let point = compressed.decompress()?;
    let ok = point.compress() == compressed && !point.is_small_order() && point.is_torsion_free();
    ok.then_some(point)
}

fn batchable(check: &SigCheck) -> bool {
    let r: [u8; 32] = check.signature[..32].try_into().unwrap_or([0; 32]);
    prime_order_point(&check.pubkey).is_some() && prime_order_point(&r).is_some()
}

fn verify_batch_strict(checks: &[SigCheck]) -> Result<(), usize> {
    let mut batch = Vec::with_capacity(checks.len());
    for (i, check) in checks.iter().enumerate() {
        if batchable(check) {
            batch.push(i);
        } else if !verify_one(check) {
            // Not eligible for the batch: the single strict check decides, but an earlier
            // batch item might be the first failure, so finish the scan singly.
            return first_invalid(checks);
        }
    }
    let mut keys = Vec::with_capacity(batch.len());
    let mut sigs = Vec::with_capacity(batch.len());
    let mut msgs: Vec<&[u8]> = Vec::with_capacity(batch.len());
    for &i in &batch {
        let Some(c) = checks.get(i) else { continue };
        let Ok(key) = VerifyingKey::from_bytes(&c.pubkey) else {
            return first_invalid(checks);
        };
        keys.push(key);
        sigs.push(Signature::from_bytes(&c.signature));
        msgs.push(&c.message);
    }
    if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok() {
        Ok(())
    } else {
        first_invalid(checks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(seed: u8, msg: [u8; 32]) -> SigCheck {
        let key = SigningKey::from_bytes(&[seed; 32]);
        SigCheck {
            pubkey: key.verifying_key().to_bytes(),
            signature: key.sign(&msg).to_bytes(),
            message: msg,
        }
    }

    #[test]
    fn all_modes_accept_valid_and_name_the_first_invalid() {
        let mut checks: Vec<SigCheck> = (0..40).map(|i| signed(i + 1, [i; 32])).collect();
        for mode in [
            SigMode::Batch,
            SigMode::Strict { threads: 1 },
            SigMode::Strict { threads: 3 },
        ] {
            assert_eq!(verify_all(&checks, mode), Ok(()), "{mode:?}");
        }
        checks[33].message[0] ^= 1;
        checks[37].signature[40] ^= 1;
        for mode in [
            SigMode::Batch,
            SigMode::Strict { threads: 1 },
            SigMode::Strict { threads: 3 },
        ] {
            assert_eq!(verify_all(&checks, mode), Err(33), "{mode:?}");
        }
    }

    #[test]
    fn weak_key_is_rejected_in_every_mode() {
        // The identity point (y = 1) is a small-order key: with R = identity and s = 0 the
        // cofactorless equation R = sB - kA holds for any message, yet strict must reject.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&identity);
        let weak = SigCheck {
            pubkey: identity,
            signature,
            message: [5; 32],
        };
        let mut checks: Vec<SigCheck> = (0..20).map(|i| signed(i + 1, [i; 32])).collect();
        checks.push(weak);
        for mode in [
            SigMode::Batch,
            SigMode::Strict { threads: 1 },
            SigMode::Strict { threads: 2 },
        ] {
            assert_eq!(verify_all(&checks, mode), Err(20), "{mode:?}");
        }
        assert!(!verify_one(&weak));
    }

    #[test]
    fn mixed_order_nonce_is_rejected_though_a_raw_batch_may_accept_it() {
        use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
        use curve25519_dalek::scalar::Scalar;
        use sha2::{Digest, Sha512};

        let secret = Scalar::from_bytes_mod_order([42; 32]);
        let pubkey = (ED25519_BASEPOINT_POINT * secret).compress().to_bytes();
        // The point of order 2, (0, -1): y = p - 1.
        let mut t = [0xffu8; 32];
        t[0] = 0xec;
        t[31] = 0x7f;
        let torsion = CompressedEdwardsY(t).decompress().unwrap();
        let mut raw_batch_accepts = 0;
        for m in 0..32u8 {
            let message = [m; 32];
            // R' = rB + T; s = r + k a satisfies the cofactored equation only.
            let r = Scalar::from_bytes_mod_order([m.wrapping_add(100); 32]);
            let big_r = (ED25519_BASEPOINT_POINT * r + torsion).compress();
            let hram: [u8; 64] = Sha512::new()
                .chain_update(big_r.as_bytes())
                .chain_update(pubkey)
                .chain_update(message)
                .finalize()
                .into();
            let s = r + Scalar::from_bytes_mod_order_wide(&hram) * secret;
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(big_r.as_bytes());
            signature[32..].copy_from_slice(s.as_bytes());
            let check = SigCheck {
                pubkey,
                signature,
                message,
            };
            assert!(!verify_one(&check));
            assert_eq!(verify_all(&[check], SigMode::Batch), Err(0));
            let key = VerifyingKey::from_bytes(&pubkey).unwrap();
            let raw = ed25519_dalek::verify_batch(
                &[&message[..]],
                &[Signature::from_bytes(&signature)],
                &[key],
            );
            raw_batch_accepts += usize::from(raw.is_ok());
        }
        // The gap the fast path guards against is real: the raw batch accepts some.
        assert!(raw_batch_accepts > 0);
    }
}
