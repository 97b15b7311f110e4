//! The largest spending transaction: 757 inputs, the most that fit in `MAX_TX_SIZE`, with
//! the coins it spends. Shared by the tests and the `sighash` bench.

use std::collections::HashMap;

use chain_node::validation::Coin;
use chain_node::{Address, Amount, Height, OutPoint, Transaction, TxId, TxIn, TxInputs, TxOut};

/// Inputs of the largest transaction.
pub(crate) const INPUTS: u32 = 757;

/// An unsigned 757-input transaction whose inputs carry `pubkey` and spend coins of
/// `1_000 + i` units owned by its address, and the view holding those coins.
pub(crate) fn largest_spend(pubkey: [u8; 32]) -> (Transaction, HashMap<OutPoint, Coin>) {
    let owner = Address::from_pubkey(&pubkey);
    let mut view = HashMap::new();
    let ins = (0..INPUTS)
        .map(|vout| {
            let prevout = OutPoint {
                txid: TxId([7; 32]),
                vout,
            };
            let coin = Coin {
                amount: Amount::from_units(1_000 + u64::from(vout)),
                address: owner,
                height: Height(1),
                is_coinbase: false,
            };
            view.insert(prevout, coin);
            TxIn {
                prevout,
                pubkey,
                signature: [0; 64],
            }
        })
        .collect();
    let tx = Transaction {
        version: 1,
        inputs: TxInputs::Spend(ins),
        outputs: vec![TxOut::pay(Amount::from_units(1_000), owner)],
    };
    (tx, view)
}
