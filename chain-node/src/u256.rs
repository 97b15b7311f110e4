//! A minimal unsigned 256-bit integer for targets and chain work.
//!
//! Limb indices below are loop counters over the fixed `[u64; 4]` (or shift amounts
//! reduced below 256 by the callers' bounds); no input value ever becomes an index.
#![allow(clippy::indexing_slicing, clippy::needless_range_loop)]

use std::cmp::Ordering;

/// An unsigned 256-bit integer; limb 0 is the least significant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct U256(pub [u64; 4]);

impl U256 {
    /// Zero.
    pub const ZERO: U256 = U256([0; 4]);
    /// One.
    pub const ONE: U256 = U256([1, 0, 0, 0]);
    /// 2^256 - 1.
    pub const MAX: U256 = U256([u64::MAX; 4]);

    /// From a `u64`.
    pub const fn from_u64(v: u64) -> Self {
        U256([v, 0, 0, 0])
    }

    /// From 32 big-endian bytes.
    pub fn from_be_bytes(bytes: &[u8; 32]) -> Self {
        let mut limbs = [0u64; 4];
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            if let Some(l) = limbs.get_mut(3 - i) {
                *l = u64::from_be_bytes(b);
            }
        }
        U256(limbs)
    }

    /// To 32 big-endian bytes.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, chunk) in out.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&self.0[3 - i].to_be_bytes());
        }
        out
    }

    /// Whether zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// Number of significant bits.
    pub fn bits(&self) -> u32 {
        for i in (0..4).rev() {
            if self.0[i] != 0 {
                return 64 * i as u32 + (64 - self.0[i].leading_zeros());
            }
        }
        0
    }

    /// `self + rhs`, `None` on overflow.
    pub fn checked_add(&self, rhs: &U256) -> Option<U256> {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (s1, c1) = self.0[i].overflowing_add(rhs.0[i]);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *o = s2;
            carry = c1 || c2;
        }
        (!carry).then_some(U256(out))
    }

    /// `self - rhs`, `None` if negative.
    pub fn checked_sub(&self, rhs: &U256) -> Option<U256> {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (d1, b1) = self.0[i].overflowing_sub(rhs.0[i]);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *o = d2;
            borrow = b1 || b2;
        }
        (!borrow).then_some(U256(out))
    }

    /// `self * rhs`, `None` on overflow.
    pub fn checked_mul_u64(&self, rhs: u64) -> Option<U256> {
        let mut out = [0u64; 4];
        let mut carry: u128 = 0;
        for (i, o) in out.iter_mut().enumerate() {
            let p = u128::from(self.0[i]) * u128::from(rhs) + carry;
            *o = p as u64;
            carry = p >> 64;
        }
        (carry == 0).then_some(U256(out))
    }

    /// `self / rhs` (floor), `None` if `rhs` is zero.
    pub fn div_u64(&self, rhs: u64) -> Option<U256> {
        if rhs == 0 {
            return None;
        }
        let mut out = [0u64; 4];
        let mut rem: u128 = 0;
        for i in (0..4).rev() {
            let cur = (rem << 64) | u128::from(self.0[i]);
            out[i] = (cur / u128::from(rhs)) as u64;
            rem = cur % u128::from(rhs);
        }
        Some(U256(out))
    }

    /// `self << n` for `n < 256`, bits shifted out are lost.
    pub fn shl(&self, n: u32) -> U256 {
        let mut out = [0u64; 4];
        let limbs = (n / 64) as usize;
        let bits = n % 64;
        for i in (limbs..4).rev() {
            let src = i - limbs;
            let mut v = self.0[src] << bits;
            if bits > 0 && src > 0 {
                v |= self.0[src - 1] >> (64 - bits);
            }
            out[i] = v;
        }
        U256(out)
    }

    /// `self >> n` for `n < 256`.
    pub fn shr(&self, n: u32) -> U256 {
        let mut out = [0u64; 4];
        let limbs = (n / 64) as usize;
        let bits = n % 64;
        for i in 0..4usize.saturating_sub(limbs) {
            let src = i + limbs;
            let mut v = self.0[src] >> bits;
            if bits > 0 && src + 1 < 4 {
                v |= self.0[src + 1] << (64 - bits);
            }
            out[i] = v;
        }
        U256(out)
    }

    /// `self / rhs` by shift-and-subtract, `None` if `rhs` is zero.
    pub fn checked_div(&self, rhs: &U256) -> Option<U256> {
        if rhs.is_zero() {
            return None;
        }
        let mut quotient = U256::ZERO;
        let mut rem = U256::ZERO;
        for i in (0..self.bits()).rev() {
            rem = rem.shl(1);
            if (self.0[(i / 64) as usize] >> (i % 64)) & 1 == 1 {
                rem.0[0] |= 1;
            }
            if rem >= *rhs {
                rem = rem.checked_sub(rhs)?;
                quotient.0[(i / 64) as usize] |= 1 << (i % 64);
            }
        }
        Some(quotient)
    }

    /// The low 128 bits (saturating).
    pub fn saturating_u128(&self) -> u128 {
        if self.0[2] != 0 || self.0[3] != 0 {
            u128::MAX
        } else {
            (u128::from(self.0[1]) << 64) | u128::from(self.0[0])
        }
    }
}

impl Ord for U256 {
    fn cmp(&self, other: &Self) -> Ordering {
        for i in (0..4).rev() {
            match self.0[i].cmp(&other.0[i]) {
                Ordering::Equal => continue,
                ord => return ord,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    fn from_u128(v: u128) -> U256 {
        U256([v as u64, (v >> 64) as u64, 0, 0])
    }

    fn fits(v: U256) -> Option<u128> {
        (v.0[2] == 0 && v.0[3] == 0).then(|| v.saturating_u128())
    }

    proptest! {
        #![proptest_config(Config { rng_seed: RngSeed::Fixed(256), cases: 512, ..Config::default() })]

        /// Naive oracle: u128 arithmetic on values that fit.
        #[test]
        fn arithmetic_agrees_with_u128(a in any::<u64>(), b in 1u64.., s in 0u32..64) {
            let (a128, b128) = (u128::from(a) << 32 | 0xdead, u128::from(b));
            let x = from_u128(a128);
            prop_assert_eq!(x.checked_mul_u64(b).and_then(fits), a128.checked_mul(b128));
            prop_assert_eq!(x.div_u64(b).unwrap().saturating_u128(), a128 / b128);
            prop_assert_eq!(x.checked_div(&from_u128(b128)).unwrap().saturating_u128(), a128 / b128);
            prop_assert_eq!(x.shr(s).saturating_u128(), a128 >> s);
            prop_assert_eq!(from_u128(u128::from(a)).shl(s).saturating_u128(), u128::from(a) << s);
            prop_assert_eq!(x.checked_add(&from_u128(b128)).unwrap().saturating_u128(), a128 + b128);
            prop_assert_eq!(x.cmp(&from_u128(b128)), a128.cmp(&b128));
            prop_assert_eq!(U256::from_be_bytes(&x.to_be_bytes()), x);
        }
    }

    #[test]
    fn overflow_and_high_limbs() {
        assert_eq!(U256::MAX.checked_add(&U256::ONE), None);
        assert_eq!(U256::ZERO.checked_sub(&U256::ONE), None);
        assert_eq!(U256::MAX.checked_mul_u64(2), None);
        assert_eq!(U256::ONE.shl(255).bits(), 256);
        assert_eq!(U256::ONE.shl(255).shr(255), U256::ONE);
        // (2^256 - 1) / (2^128) = 2^128 - 1
        let q = U256::MAX.checked_div(&U256::ONE.shl(128)).unwrap();
        assert_eq!(q, U256([u64::MAX, u64::MAX, 0, 0]));
    }
}
