//! The naming parameters of a network: preorder windows, the namespace ready window and
//! the namespace price table.

use crate::name::MAX_NAMESPACE_LEN;
use crate::price::NamespacePrices;
use crate::values::Amount;

/// Base units in one coin.
const COIN: u64 = 100_000_000;

/// What the naming rules of one network fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamingParams {
    /// A reveal (namespace reveal, name register) must come at least this many blocks
    /// after its preorder: `reveal height - preorder height >= preorder_min_depth`.
    pub preorder_min_depth: u32,
    /// ... and at most this many: `reveal height - preorder height <= preorder_max_age`.
    /// An older preorder is stale: its commitment may be preordered again.
    pub preorder_max_age: u32,
    /// A revealed namespace must be made ready within this many blocks of its reveal,
    /// or the id is free again.
    pub namespace_ready_window: u32,
    /// The price of a namespace id by length, burned by its preorder.
    pub namespace_prices: NamespacePrices,
}

/// The namespace price table by id length: `short` coins for one character, a tenth
/// of it for two or three, a hundredth for four to seven, a thousandth from eight
/// (Blockstack's 400 / 40 / 4 / 0.4 steps).
fn price_table(one_char_units: u64) -> NamespacePrices {
    let mut table = [Amount::ZERO; MAX_NAMESPACE_LEN];
    for (index, price) in table.iter_mut().enumerate() {
        let divisor = match index + 1 {
            1 => 1,
            2..=3 => 10,
            4..=7 => 100,
            _ => 1000,
        };
        *price = Amount(one_char_units / divisor);
    }
    NamespacePrices(table)
}

impl NamingParams {
    /// The public networks: reveals between 6 and 144 blocks after their preorder, a
    /// year of blocks (52,595) to make a namespace ready, 400 coins for a one-character
    /// namespace down to 0.4 coin from eight characters.
    pub fn standard() -> Self {
        NamingParams {
            preorder_min_depth: 6,
            preorder_max_age: 144,
            namespace_ready_window: 52_595,
            namespace_prices: price_table(400 * COIN),
        }
    }

    /// Regtest: a reveal may come in the block after its preorder, and namespaces cost
    /// a thousandth of the standard prices.
    pub fn regtest() -> Self {
        NamingParams {
            preorder_min_depth: 1,
            preorder_max_age: 144,
            namespace_ready_window: 52_595,
            namespace_prices: price_table(400 * COIN / 1000),
        }
    }
}
