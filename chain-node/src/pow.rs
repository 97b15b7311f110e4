//! Proof of work: compact targets, chain work, and the retarget rule.

use crate::error::PowError;
use crate::hash::BlockHash;
use crate::u256::U256;

/// Bitcoin's compact ("nBits") encoding of a target: one exponent byte and a 23-bit
/// mantissa (the 0x0080_0000 bit is a sign and must be clear).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompactTarget(pub u32);

/// A target: a block hash read as a big-endian integer must not exceed it.
///
/// INVARIANT: non-zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target(U256);

impl Target {
    /// The hardest possible target, 1. Used only as a fallback where a tested constant
    /// cannot fail to decode.
    pub const HARDEST: Target = Target(U256::ONE);

    /// A target from a non-zero integer.
    pub fn new(value: U256) -> Option<Self> {
        (!value.is_zero()).then_some(Target(value))
    }

    /// The integer value.
    pub fn value(&self) -> U256 {
        self.0
    }

    /// Decodes compact bits, rejecting negative, zero, overflowing and non-canonical forms
    /// (those that do not re-encode to the same bits).
    ///
    /// # Errors
    /// [`PowError::BadCompact`].
    pub fn from_compact(bits: CompactTarget) -> Result<Self, PowError> {
        let bad = PowError::BadCompact { bits: bits.0 };
        let exponent = bits.0 >> 24;
        let mantissa = bits.0 & 0x007f_ffff;
        if bits.0 & 0x0080_0000 != 0 || mantissa == 0 {
            return Err(bad);
        }
        let value = if exponent <= 3 {
            U256::from_u64(u64::from(mantissa >> (8 * (3 - exponent))))
        } else {
            let shift = 8 * (exponent - 3);
            let m = U256::from_u64(u64::from(mantissa));
            if shift >= 256 || m.bits() + shift > 256 {
                return Err(bad);
            }
            m.shl(shift)
        };
        let target = Target::new(value).ok_or_else(|| bad.clone())?;
        if target.to_compact() != bits {
            return Err(bad);
        }
        Ok(target)
    }

    /// The canonical compact encoding (rounds the value down to 23 significant bits).
    pub fn to_compact(&self) -> CompactTarget {
        let mut size = self.0.bits().div_ceil(8);
        let mut mantissa = if size <= 3 {
            (self.0.saturating_u128() as u32) << (8 * (3 - size))
        } else {
            self.0.shr(8 * (size - 3)).saturating_u128() as u32
        };
        if mantissa & 0x0080_0000 != 0 {
            mantissa >>= 8;
            size += 1;
        }
        CompactTarget((size << 24) | mantissa)
    }

    /// Whether `hash`, read as a big-endian integer, is at most this target.
    pub fn is_met_by(&self, hash: &BlockHash) -> bool {
        U256::from_be_bytes(hash.as_bytes()) <= self.0
    }

    /// Expected number of hashes to meet this target: floor(2^256 / (target + 1)).
    pub fn work(&self) -> U256 {
        // 2^256 / (t + 1) == (2^256 - 1 - t) / (t + 1) + 1, which fits in 256 bits.
        let t1 = self.0.checked_add(&U256::ONE);
        match t1 {
            None => U256::ONE,
            Some(t1) => {
                let num = U256::MAX.checked_sub(&self.0).unwrap_or(U256::ZERO);
                num.checked_div(&t1)
                    .unwrap_or(U256::ZERO)
                    .checked_add(&U256::ONE)
                    .unwrap_or(U256::MAX)
            }
        }
    }
}

/// Parameters of the retarget computation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetargetParams {
    /// Blocks between retargets (N).
    pub interval: u32,
    /// Intended seconds between blocks.
    pub spacing: u32,
    /// The easiest allowed target.
    pub limit: Target,
}

impl RetargetParams {
    /// N intervals of the intended spacing.
    pub fn timespan(&self) -> u64 {
        u64::from(self.interval) * u64::from(self.spacing)
    }
}

/// The new target at a retarget boundary.
///
/// `actual` is the time between the block N blocks before the parent and the parent, i.e.
/// N full block intervals (Bitcoin measures N-1). It is clamped to [timespan/4,
/// timespan*4], and the result never exceeds the network limit.
pub fn retarget(prev: Target, actual: i64, p: &RetargetParams) -> Target {
    let timespan = p.timespan();
    let clamped = u64::try_from(actual)
        .unwrap_or(0)
        .clamp(timespan / 4, timespan.saturating_mul(4));
    let scaled = prev
        .value()
        .checked_mul_u64(clamped)
        .and_then(|v| v.div_u64(timespan));
    let value = match scaled {
        // A product above 2^256 is above any limit.
        None => p.limit.value(),
        Some(v) => v.min(p.limit.value()),
    };
    // Round to what the compact form can express, as the header will carry that.
    let rounded = Target::new(value).unwrap_or(p.limit);
    Target::from_compact(rounded.to_compact()).unwrap_or(p.limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitcoin_compact_vectors() {
        // From Bitcoin Core's arith_uint256_tests (SetCompact/GetCompact).
        let genesis = Target::from_compact(CompactTarget(0x1d00_ffff)).unwrap();
        let mut expected = [0u8; 32];
        expected[4] = 0xff;
        expected[5] = 0xff;
        assert_eq!(genesis.value().to_be_bytes(), expected);
        assert_eq!(genesis.to_compact(), CompactTarget(0x1d00_ffff));
        let t = Target::from_compact(CompactTarget(0x0512_3456)).unwrap();
        assert_eq!(t.value(), U256::from_u64(0x12_3456_0000));
        let t = Target::from_compact(CompactTarget(0x0112_0000)).unwrap();
        assert_eq!(t.value(), U256::from_u64(0x12));
        // Work of the Bitcoin genesis target: 0x100010001 (Bitcoin Core chainwork at height 0).
        assert_eq!(genesis.work(), U256::from_u64(0x1_0001_0001));
    }

    #[test]
    fn bad_compact_forms_are_rejected() {
        for bits in [
            0x0492_3456, // negative (sign bit)
            0x0100_3456, // rounds to zero
            0x2301_0000, // overflows 256 bits
            0x0400_1234, // non-canonical: re-encodes as 0x03123400
            0x0000_0000, // zero
        ] {
            assert!(
                matches!(
                    Target::from_compact(CompactTarget(bits)),
                    Err(PowError::BadCompact { .. })
                ),
                "{bits:#x}"
            );
        }
    }

    fn params() -> RetargetParams {
        RetargetParams {
            interval: 10,
            spacing: 60,
            limit: Target::from_compact(CompactTarget(0x207f_ffff)).unwrap(),
        }
    }

    #[test]
    fn retarget_scales_and_clamps_at_four() {
        let p = params();
        let prev = Target::from_compact(CompactTarget(0x1d00_ffff)).unwrap();
        // The genesis target is 0xffff << 208; scaling by a power of two is a shift.
        let shifted = |shift: u32| Target::new(U256::from_u64(0xffff).shl(shift)).unwrap();
        assert_eq!(retarget(prev, 600, &p), prev);
        assert_eq!(retarget(prev, 1200, &p), shifted(209));
        assert_eq!(retarget(prev, 600 * 4, &p), shifted(210));
        assert_eq!(retarget(prev, 600 * 100, &p), shifted(210), "clamped at 4x");
        assert_eq!(retarget(prev, 150, &p), shifted(206));
        assert_eq!(retarget(prev, 1, &p), shifted(206), "clamped at 1/4");
        assert_eq!(
            retarget(prev, -5000, &p),
            shifted(206),
            "negative timespan clamps"
        );
        assert_eq!(
            retarget(p.limit, 600 * 4, &p),
            p.limit,
            "never above the limit"
        );
    }
}
