//! Prices: Blockstack's name price function, fixed per namespace at its reveal, and the
//! price table of namespace ids by length.
//!
//! A name's price is `max(UNIT, coeff × base^e × UNIT / d)` base units, where `e` is the
//! exponent of the label's length bucket (bucket 16 holds every label of 16 characters
//! or more), `d` the larger of the non-alpha discount (the label has a digit, `-` or
//! `_`) and the no-vowel discount (the label has none of `a e i o u y`), or 1 when
//! neither applies, and `UNIT` is [`NAME_COST_UNIT`]. The division is an integer
//! division taken after the multiplication, as in Blockstack's integer epoch; a price
//! that does not fit in a `u64` is `u64::MAX` (unpayable).

use crate::error::PriceFunctionError;
use crate::name::{Label, MAX_NAMESPACE_LEN, NamespaceId};
use crate::values::Amount;

/// The smallest price of any name, and the unit that prices are multiples of before the
/// discount (Blockstack's `NAME_COST_UNIT`, 100 base units).
pub const NAME_COST_UNIT: u64 = 100;

/// Number of length buckets.
pub const BUCKETS: usize = 16;
/// Largest bucket exponent and largest discount (a 4-bit field, as in Blockstack).
pub const MAX_NIBBLE: u8 = 15;

/// A namespace's price function.
///
/// INVARIANT: every bucket exponent is at most [`MAX_NIBBLE`]; both discounts are in
/// `1..=MAX_NIBBLE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PriceFunction {
    coeff: u8,
    base: u8,
    buckets: [u8; BUCKETS],
    nonalpha_discount: u8,
    no_vowel_discount: u8,
}

impl PriceFunction {
    /// Checks and builds a price function.
    ///
    /// # Errors
    /// [`PriceFunctionError`] for a bucket exponent over 15 or a discount outside 1..=15.
    pub fn new(
        coeff: u8,
        base: u8,
        buckets: [u8; BUCKETS],
        nonalpha_discount: u8,
        no_vowel_discount: u8,
    ) -> Result<Self, PriceFunctionError> {
        if let Some((bucket, &exponent)) =
            buckets.iter().enumerate().find(|(_, e)| **e > MAX_NIBBLE)
        {
            return Err(PriceFunctionError::BucketTooLarge { bucket, exponent });
        }
        for (which, discount) in [
            ("non-alpha", nonalpha_discount),
            ("no-vowel", no_vowel_discount),
        ] {
            if !(1..=MAX_NIBBLE).contains(&discount) {
                return Err(PriceFunctionError::BadDiscount { which, discount });
            }
        }
        Ok(PriceFunction {
            coeff,
            base,
            buckets,
            nonalpha_discount,
            no_vowel_discount,
        })
    }

    /// The coefficient.
    pub fn coeff(&self) -> u8 {
        self.coeff
    }
    /// The base.
    pub fn base(&self) -> u8 {
        self.base
    }
    /// The 16 bucket exponents; bucket `i` holds labels of `i + 1` characters, the last
    /// one every longer label too.
    pub fn buckets(&self) -> [u8; BUCKETS] {
        self.buckets
    }
    /// Divisor for labels with a digit, `-` or `_`.
    pub fn nonalpha_discount(&self) -> u8 {
        self.nonalpha_discount
    }
    /// Divisor for labels without a vowel.
    pub fn no_vowel_discount(&self) -> u8 {
        self.no_vowel_discount
    }

    /// The price of `label` in base units.
    pub fn price(&self, label: &Label) -> Amount {
        let bytes = label.as_str().as_bytes();
        let bucket = bytes.len().clamp(1, BUCKETS) - 1;
        let exponent = self.buckets.get(bucket).copied().unwrap_or(0);
        let mut discount = 1u8;
        if !bytes.iter().any(|b| b"aeiouy".contains(b)) {
            discount = discount.max(self.no_vowel_discount);
        }
        if bytes
            .iter()
            .any(|b| b.is_ascii_digit() || *b == b'-' || *b == b'_')
        {
            discount = discount.max(self.nonalpha_discount);
        }
        let undiscounted = u128::from(self.base)
            .checked_pow(u32::from(exponent))
            .and_then(|p| p.checked_mul(u128::from(self.coeff)))
            .and_then(|p| p.checked_mul(u128::from(NAME_COST_UNIT)));
        let price = match undiscounted {
            Some(p) => u64::try_from(p / u128::from(discount)).unwrap_or(u64::MAX),
            None => u64::MAX,
        };
        Amount(price.max(NAME_COST_UNIT))
    }
}

/// The price of a namespace id by its length: entry `i` for ids of `i + 1` characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamespacePrices(pub [Amount; MAX_NAMESPACE_LEN]);

impl NamespacePrices {
    /// The price of `id`.
    pub fn price(&self, id: &NamespaceId) -> Amount {
        let index = id.len().clamp(1, MAX_NAMESPACE_LEN) - 1;
        self.0.get(index).copied().unwrap_or(Amount(u64::MAX))
    }

    /// The cheapest namespace: what a namespace preorder must burn at least.
    pub fn cheapest(&self) -> Amount {
        self.0.iter().copied().min().unwrap_or(Amount::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_price_functions_are_refused() {
        let mut buckets = [1; BUCKETS];
        assert!(PriceFunction::new(1, 2, buckets, 1, 1).is_ok());
        assert_eq!(
            PriceFunction::new(1, 2, buckets, 0, 1),
            Err(PriceFunctionError::BadDiscount {
                which: "non-alpha",
                discount: 0
            })
        );
        assert_eq!(
            PriceFunction::new(1, 2, buckets, 1, 16),
            Err(PriceFunctionError::BadDiscount {
                which: "no-vowel",
                discount: 16
            })
        );
        buckets[3] = 16;
        assert_eq!(
            PriceFunction::new(1, 2, buckets, 1, 1),
            Err(PriceFunctionError::BucketTooLarge {
                bucket: 3,
                exponent: 16
            })
        );
    }
}
