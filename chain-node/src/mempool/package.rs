//! Exact fee rates and the running totals of a transaction's ancestors or descendants.

use std::cmp::Ordering;

use crate::units::Amount;

/// A fee over a size, compared exactly (by cross-multiplication, no rounding).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FeeRate {
    fee: u128,
    // INVARIANT: at least 1.
    size: u128,
}

impl FeeRate {
    pub(crate) fn new(fee: u128, size: usize) -> Self {
        FeeRate {
            fee,
            size: (size as u128).max(1),
        }
    }

    /// Base units per 1000 bytes, rounded down, as reported in errors and RPC.
    pub(crate) fn per_kb(self) -> u64 {
        u64::try_from(self.fee * 1000 / self.size).unwrap_or(u64::MAX)
    }
}

impl Ord for FeeRate {
    fn cmp(&self, other: &Self) -> Ordering {
        // Fees are at most a pool's worth of MAX_MONEY and sizes a pool's bytes: the
        // products stay far below 2^128.
        (self.fee * other.size).cmp(&(other.fee * self.size))
    }
}

impl PartialOrd for FeeRate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for FeeRate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for FeeRate {}

/// Count, size and fees of a set of pool transactions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Package {
    pub(crate) count: usize,
    pub(crate) size: usize,
    pub(crate) fees: u128,
}

impl Package {
    pub(crate) fn of(fee: Amount, size: usize) -> Self {
        Package {
            count: 1,
            size,
            fees: u128::from(fee.units()),
        }
    }

    pub(crate) fn add(&mut self, other: Package) {
        self.count += other.count;
        self.size += other.size;
        self.fees += other.fees;
    }

    /// Removes a member that `add` put in.
    pub(crate) fn sub(&mut self, other: Package) {
        self.count -= other.count;
        self.size -= other.size;
        self.fees -= other.fees;
    }

    pub(crate) fn rate(&self) -> FeeRate {
        FeeRate::new(self.fees, self.size)
    }
}
