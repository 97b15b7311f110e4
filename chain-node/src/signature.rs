//! Ed25519 checks under the ZIP-215 rules, singly or in batches that agree by construction.
//!
//! The consensus rule (ZIP-215, as Zcash adopted it; `ed25519-zebra` implements it): the
//! key `A` and the nonce `R` must decode to curve points, non-canonical encodings included;
//! `s` must be canonical (`s < L`); and the cofactored equation `[8][s]B = [8]R + [8][k]A`
//! must hold, with `k = SHA-512(R bytes ‖ A bytes ‖ message)` over the bytes as given.
//!
//! A batch checks `[8](Σ zᵢ(sᵢB − Rᵢ − kᵢAᵢ)) = 0` for coefficients `zᵢ`. Every single
//! equation already multiplies by the cofactor, so a small-order component can never make
//! the batch and the single check disagree: a batch of valid items always passes, and a
//! batch with an invalid item fails except with probability below 2⁻¹²⁸. The coefficients
//! are derived from every byte of the batch (Fiat–Shamir), so verdicts are reproducible
//! and this module needs no system randomness. A failed batch is rechecked item by item,
//! only to name the first failure; the single checks are the rule.

use std::convert::Infallible;

use ed25519_zebra::batch;
use ed25519_zebra::{Signature, VerificationKey, VerificationKeyBytes};
use rand_core::{TryCryptoRng, TryRng};
use sha2::{Digest, Sha512};

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

/// How a set of signatures is checked. Every mode applies the same rule and gives the
/// same verdict; they differ only in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigMode {
    /// One single check per signature, spread over `threads` threads.
    Strict {
        /// Worker threads (1 = on the calling thread).
        threads: usize,
    },
    /// Batch verification in `threads` chunks on as many threads; single checks only to
    /// name the first invalid item of a failed chunk.
    Batch {
        /// Worker threads (1 = one batch on the calling thread).
        threads: usize,
    },
}

impl Default for SigMode {
    fn default() -> Self {
        SigMode::Batch {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// The single ZIP-215 check of one item.
pub fn verify_one(check: &SigCheck) -> bool {
    let Ok(key) = VerificationKey::try_from(check.pubkey) else {
        return false;
    };
    key.verify(&Signature::from_bytes(&check.signature), &check.message)
        .is_ok()
}

/// Checks all items; `Err(i)` names the first item (lowest index) that the single check
/// rejects. Every mode gives the same answer.
///
/// # Errors
/// The index of the first invalid item.
pub fn verify_all(checks: &[SigCheck], mode: SigMode) -> Result<(), usize> {
    match mode {
        SigMode::Strict { threads } => in_chunks(checks, threads, MIN_SINGLES, first_invalid),
        SigMode::Batch { threads } => in_chunks(checks, threads, MIN_BATCH, verify_chunk),
    }
}

/// Below this many items per thread a thread costs more than it saves.
const MIN_SINGLES: usize = 16;
/// Below this many items per chunk, batching saves less than its fixed cost.
const MIN_BATCH: usize = 64;
/// A batch of one costs more than the single check; from two items on, a batch is faster.
const BATCH_FROM: usize = 2;

fn first_invalid(checks: &[SigCheck]) -> Result<(), usize> {
    match checks.iter().position(|c| !verify_one(c)) {
        Some(i) => Err(i),
        None => Ok(()),
    }
}

/// Runs `verify` over up to `threads` contiguous chunks of at least `min_chunk` items, in
/// parallel, and returns the lowest failing index over all chunks.
fn in_chunks(
    checks: &[SigCheck],
    threads: usize,
    min_chunk: usize,
    verify: fn(&[SigCheck]) -> Result<(), usize>,
) -> Result<(), usize> {
    let threads = threads.min(checks.len() / min_chunk).max(1);
    if threads == 1 {
        return verify(checks);
    }
    let chunk = checks.len().div_ceil(threads);
    let results: Vec<Result<(), usize>> = std::thread::scope(|s| {
        let handles: Vec<_> = checks
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| s.spawn(move || verify(part).map_err(|i| i + n * chunk)))
            .collect();
        handles
            .into_iter()
            .enumerate()
            // A worker that panicked (it cannot: the checks are total) decides nothing, so
            // its chunk is checked again here.
            .map(|(n, h)| {
                h.join().unwrap_or_else(|_| {
                    let part = checks.chunks(chunk).nth(n).unwrap_or_default();
                    first_invalid(part).map_err(|i| i + n * chunk)
                })
            })
            .collect()
    });
    // Chunks are in order, so the first error is the lowest index.
    results.into_iter().collect()
}

/// A batch, or single checks where there are too few items for a batch to pay.
fn verify_chunk(checks: &[SigCheck]) -> Result<(), usize> {
    if checks.len() < BATCH_FROM {
        first_invalid(checks)
    } else {
        verify_batch(checks)
    }
}

/// One batch over all of `checks` on the calling thread, whatever their number; when it
/// fails, the single checks name the first invalid item. Same verdict as [`verify_all`].
///
/// # Errors
/// The index of the first invalid item.
pub fn verify_batch(checks: &[SigCheck]) -> Result<(), usize> {
    let mut verifier = batch::Verifier::new();
    for c in checks {
        verifier.queue((
            VerificationKeyBytes::from(c.pubkey),
            Signature::from_bytes(&c.signature),
            &c.message[..],
        ));
    }
    match verifier.verify(Coefficients::for_batch(checks)) {
        Ok(()) => Ok(()),
        Err(_) => first_invalid(checks),
    }
}

/// The batch coefficients: SHA-512 in counter mode, keyed by a digest of every key,
/// signature and message in the batch, so that no item can be chosen after them.
struct Coefficients {
    key: [u8; 64],
    counter: u64,
    block: [u8; 64],
    used: usize,
}

impl Coefficients {
    fn for_batch(checks: &[SigCheck]) -> Self {
        let mut h = Sha512::new();
        h.update(b"chain-node/batch-coefficients/v1");
        h.update((checks.len() as u64).to_le_bytes());
        for c in checks {
            h.update(c.pubkey);
            h.update(c.signature);
            h.update(c.message);
        }
        Coefficients {
            key: h.finalize().into(),
            counter: 0,
            block: [0; 64],
            used: 64,
        }
    }

    fn next_byte(&mut self) -> u8 {
        if self.used == self.block.len() {
            self.block = Sha512::new()
                .chain_update(self.key)
                .chain_update(self.counter.to_le_bytes())
                .finalize()
                .into();
            self.counter = self.counter.wrapping_add(1);
            self.used = 0;
        }
        let byte = self.block.get(self.used).copied().unwrap_or_default();
        self.used += 1;
        byte
    }
}

impl TryRng for Coefficients {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for byte in dst {
            *byte = self.next_byte();
        }
        Ok(())
    }
}

/// Unpredictable to whoever chooses the batch's items: they are hashed into the key.
impl TryCryptoRng for Coefficients {}

#[cfg(test)]
mod tests;
