//! Unit tests of the batch coefficients; the rule itself is tested in `tests/it/signature.rs`
//! against the published edge cases and a naive verifier.

use ed25519_dalek::{Signer, SigningKey};

use super::*;

fn signed(seed: u8, msg: [u8; 32]) -> SigCheck {
    let key = SigningKey::from_bytes(&[seed; 32]);
    SigCheck {
        pubkey: key.verifying_key().to_bytes(),
        signature: key.sign(&msg).to_bytes(),
        message: msg,
    }
}

fn draw(checks: &[SigCheck]) -> [u8; 100] {
    let mut rng = Coefficients::for_batch(checks);
    let mut out = [0u8; 100];
    let Ok(()) = rng.try_fill_bytes(&mut out);
    out
}

#[test]
fn batch_coefficients_are_reproducible_and_depend_on_every_byte() {
    let checks: Vec<SigCheck> = (0..3).map(|i| signed(i + 50, [i; 32])).collect();
    let base = draw(&checks);
    assert_eq!(base, draw(&checks));
    for field in 0..3 {
        let mut changed = checks.clone();
        match field {
            0 => changed[2].pubkey[31] ^= 0x80,
            1 => changed[2].signature[63] ^= 1,
            _ => changed[2].message[0] ^= 1,
        }
        assert_ne!(base, draw(&changed), "field {field}");
    }
    assert_ne!(base, draw(&checks[..2]));
}

#[test]
fn consecutive_coefficients_differ() {
    let checks = [signed(1, [1; 32])];
    let out = draw(&checks);
    let words: Vec<&[u8]> = out.chunks(16).collect();
    for (i, a) in words.iter().enumerate() {
        for b in words.iter().skip(i + 1) {
            assert_ne!(a, b);
        }
    }
    // The stream crosses SHA-512 blocks without repeating one.
    assert_ne!(out[..36], out[64..]);
}
