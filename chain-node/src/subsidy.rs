//! The block subsidy: halving every `halving_interval` blocks, zero after 64 halvings.

use crate::params::Params;
use crate::units::{Amount, Height};

/// New coins a block at `height` may create.
pub fn block_subsidy(height: Height, params: &Params) -> Amount {
    let halvings = height.0 / params.halving_interval.max(1);
    if halvings >= 64 {
        return Amount::ZERO;
    }
    Amount::from_units(params.initial_subsidy.units() >> halvings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Network;
    use crate::units::{COIN, MAX_MONEY};

    #[test]
    fn regtest_halves_every_150_blocks() {
        let p = Network::Regtest.params();
        assert_eq!(block_subsidy(Height(0), &p).units(), 50 * COIN);
        assert_eq!(block_subsidy(Height(149), &p).units(), 50 * COIN);
        assert_eq!(block_subsidy(Height(150), &p).units(), 25 * COIN);
        assert_eq!(block_subsidy(Height(300), &p).units(), 1_250_000_000);
        assert_eq!(block_subsidy(Height(150 * 64), &p), Amount::ZERO);
        assert_eq!(block_subsidy(Height(u32::MAX), &p), Amount::ZERO);
    }

    #[test]
    fn total_supply_stays_below_max_money() {
        // Naive oracle: add up every period's subsidy with checked u128 arithmetic.
        for network in [Network::Regtest, Network::Testnet] {
            let p = network.params();
            let mut total: u128 = 0;
            let mut per_block: u128 = 50 * u128::from(COIN);
            while per_block > 0 {
                total += per_block * u128::from(p.halving_interval);
                per_block /= 2;
            }
            assert!(total <= u128::from(MAX_MONEY.units()), "{network}: {total}");
            // The code agrees period by period.
            let mut sum = Amount::ZERO;
            for period in 0..70u32 {
                let h = Height(period.saturating_mul(p.halving_interval));
                let s = block_subsidy(h, &p).units() * u64::from(p.halving_interval);
                sum = sum.checked_add(Amount::from_units(s)).unwrap();
            }
            assert_eq!(u128::from(sum.units()), total, "{network}");
        }
    }
}
