//! Quantities: [`Amount`] in base units and block [`Height`].

use std::fmt;

/// Base units in one coin.
pub const COIN: u64 = 100_000_000;

/// The largest amount any single value or sum may reach: 21 million coins.
pub const MAX_MONEY: Amount = Amount(21_000_000 * COIN);

/// An amount of base units (1 coin = 10^8).
///
/// INVARIANT: none beyond `u64`; range checks against [`MAX_MONEY`] are consensus rules and
/// live in validation, so a decoder can represent (and the rules can name) an out-of-range
/// value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(u64);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// An amount of `units` base units.
    pub const fn from_units(units: u64) -> Self {
        Amount(units)
    }

    /// An amount of whole coins, or `None` on overflow.
    pub const fn from_coins(coins: u64) -> Option<Self> {
        match coins.checked_mul(COIN) {
            Some(v) => Some(Amount(v)),
            None => None,
        }
    }

    /// The number of base units.
    pub const fn units(self) -> u64 {
        self.0
    }

    /// `self + rhs`, `None` on `u64` overflow.
    pub fn checked_add(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_add(rhs.0).map(Amount)
    }

    /// `self - rhs`, `None` if negative.
    pub fn checked_sub(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_sub(rhs.0).map(Amount)
    }

    /// Whether `0 <= self <= MAX_MONEY`.
    pub fn is_in_range(self) -> bool {
        self <= MAX_MONEY
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:08}", self.0 / COIN, self.0 % COIN)
    }
}

/// A block height; the genesis block has height 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u32);

impl Height {
    /// The next height, `None` at `u32::MAX`.
    pub fn next(self) -> Option<Height> {
        self.0.checked_add(1).map(Height)
    }

    /// The previous height, `None` at genesis.
    pub fn prev(self) -> Option<Height> {
        self.0.checked_sub(1).map(Height)
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_money_is_21_million_coins() {
        assert_eq!(MAX_MONEY.units(), 2_100_000_000_000_000);
        assert!(MAX_MONEY.is_in_range());
        assert!(!Amount::from_units(MAX_MONEY.units() + 1).is_in_range());
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        assert_eq!(
            Amount::from_units(u64::MAX).checked_add(Amount::from_units(1)),
            None
        );
        assert_eq!(Amount::ZERO.checked_sub(Amount::from_units(1)), None);
        assert_eq!(Amount::from_coins(u64::MAX), None);
        assert_eq!(Amount::from_units(150_000_001).to_string(), "1.50000001");
    }
}
