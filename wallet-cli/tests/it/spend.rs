//! Coin selection and signing, checked against plain arithmetic and against the
//! chain's own consensus checks.

use chain_node::{Address, Amount, BlockHash, OutPoint, TxId, TxOut};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use wallet_cli::spend::{Coin, SpendError, dust_limit, plan, sign};

fn key(i: u32) -> SigningKey {
    let mut seed = [7u8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    SigningKey::from_bytes(&seed)
}

fn coins(amounts: &[u64]) -> Vec<Coin> {
    amounts
        .iter()
        .enumerate()
        .map(|(i, &a)| Coin {
            outpoint: OutPoint {
                txid: TxId([i as u8 + 1; 32]),
                vout: i as u32,
            },
            amount: Amount::from_units(a),
            key_index: i as u32,
        })
        .collect()
}

#[test]
fn payments_balance_and_never_make_dust() {
    let to = Address([1; 32]);
    let change_to = Address([2; 32]);
    let chain_id = BlockHash([9; 32]);
    let config = Config {
        cases: 400,
        rng_seed: RngSeed::Fixed(5),
        failure_persistence: None,
        ..Config::default()
    };
    let strategy = (
        prop::collection::vec(1_000u64..5_000_000_000, 0..12),
        1_000u64..10_000_000_000,
        1u64..200,
    );
    proptest!(config, |((amounts, amount, rate) in strategy)| {
        let cs = coins(&amounts);
        let dust = dust_limit(rate);
        match plan(&cs, to, Amount::from_units(amount), change_to, rate) {
            Ok(p) => {
                let tx = sign(&p, &chain_id, key);
                let size = tx.size() as u64;
                let ins: u64 = p.inputs.iter().map(|c| c.amount.units()).sum();
                let change = p.change.map_or(0, Amount::units);
                // Inputs are exactly amount + change + fee.
                prop_assert_eq!(ins, amount + change + p.fee.units());
                // The fee pays the rate on the signed size.
                prop_assert!(p.fee.units() >= rate * size);
                // No dust change; a changeless excess is below dust unless every
                // coin was needed.
                if let Some(c) = p.change {
                    prop_assert!(c.units() >= dust);
                    prop_assert_eq!(&tx.outputs[1], &TxOut::pay(c, change_to));
                } else if p.inputs.len() < cs.len() {
                    prop_assert!(p.fee.units() - rate * size < dust);
                }
                prop_assert_eq!(&tx.outputs[0], &TxOut::pay(Amount::from_units(amount), to));
                // Every input is one of the coins, once.
                let mut ops: Vec<_> = p.inputs.iter().map(|c| c.outpoint).collect();
                ops.sort();
                ops.dedup();
                prop_assert_eq!(ops.len(), p.inputs.len());
            }
            Err(SpendError::InsufficientFunds { available, .. }) => {
                // Even spending every coin cannot pay amount plus its minimum fee.
                let total: u64 = amounts.iter().sum();
                prop_assert_eq!(available, total);
                // The signed size of spending every coin to one output, from the
                // chain's own encoder.
                let all_in = chain_node::Transaction {
                    version: 1,
                    inputs: chain_node::TxInputs::Spend(
                        cs.iter()
                            .map(|c| chain_node::TxIn { prevout: c.outpoint, pubkey: [0; 32], signature: [0; 64] })
                            .collect(),
                    ),
                    outputs: vec![TxOut::pay(Amount::from_units(amount), to)],
                };
                let all_in_size = all_in.size() as u64;
                prop_assert!(total < amount + rate * all_in_size || cs.is_empty(),
                    "refused although {} >= {} + fee", total, amount);
            }
            Err(SpendError::Dust { .. }) => prop_assert!(amount < dust),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    });
}

#[test]
fn signatures_verify_under_the_chains_rules() {
    // A one-input payment signed here must pass chain-node's strict signature check.
    let cs = coins(&[10_000_000]);
    let chain_id = BlockHash([3; 32]);
    let p = plan(
        &cs,
        Address([1; 32]),
        Amount::from_units(1_000_000),
        Address([2; 32]),
        10,
    )
    .unwrap();
    let tx = sign(&p, &chain_id, key);
    let input = &tx.spends()[0];
    assert_eq!(input.pubkey, key(0).verifying_key().to_bytes());
    let digest = tx.sighash(&chain_id, 0, &[Amount::from_units(10_000_000)]);
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&input.pubkey).unwrap();
    vk.verify_strict(
        &digest,
        &ed25519_dalek::Signature::from_bytes(&input.signature),
    )
    .unwrap();
    // Another chain id gives another digest, so the signature does not carry over.
    let other = tx.sighash(&BlockHash([4; 32]), 0, &[Amount::from_units(10_000_000)]);
    assert!(
        vk.verify_strict(
            &other,
            &ed25519_dalek::Signature::from_bytes(&input.signature)
        )
        .is_err()
    );
}

#[test]
fn bad_requests_are_refused() {
    let cs = coins(&[5_000]);
    let (a, b) = (Address([1; 32]), Address([2; 32]));
    assert!(matches!(
        plan(&cs, a, Amount::from_units(10), b, 1),
        Err(SpendError::Dust { .. })
    ));
    assert!(matches!(
        plan(&cs, a, Amount::from_units(10_000), b, 0),
        Err(SpendError::FeeRate(0))
    ));
    assert!(matches!(
        plan(&cs, a, Amount::from_units(10_000), b, 1),
        Err(SpendError::InsufficientFunds {
            available: 5_000,
            ..
        })
    ));
    assert!(matches!(
        plan(&[], a, Amount::from_units(10_000), b, 1),
        Err(SpendError::InsufficientFunds { available: 0, .. })
    ));
}

#[test]
fn coins_worth_more_than_all_money_are_refused() {
    // 21 million coins of 10^8 base units (docs/consensus.md).
    let max_money = 21_000_000 * 100_000_000u64;
    let (a, b) = (Address([1; 32]), Address([2; 32]));
    for amounts in [
        vec![max_money, 1],
        vec![u64::MAX],
        vec![u64::MAX, u64::MAX],
        vec![max_money / 2 + 1, max_money / 2 + 1],
    ] {
        assert_eq!(
            plan(&coins(&amounts), a, Amount::from_units(10_000), b, 1),
            Err(SpendError::TooMuchMoney { what: "the coins" }),
            "{amounts:?}"
        );
    }
    assert_eq!(
        plan(&coins(&[5_000]), a, Amount::from_units(max_money + 1), b, 1),
        Err(SpendError::TooMuchMoney { what: "the amount" })
    );
    // All the money there is can be paid, less the fee.
    let p = plan(
        &coins(&[max_money]),
        a,
        Amount::from_units(max_money - 1_000_000),
        b,
        1,
    )
    .unwrap();
    assert_eq!(p.fee.units() + p.change.map_or(0, Amount::units), 1_000_000);
    // The dust limit of an absurd rate is beyond any amount, not a wrapped number.
    assert_eq!(dust_limit(u64::MAX), u64::MAX);
}
