//! Property tests: prices against a naive oracle of Blockstack's formula, every paid path
//! burns at least the price, payloads and records round-trip, decoding never panics, and
//! undo restores the state. Seeded, so every run is the same.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use naming::{
    Amount, Changes, Commitment, Height, NAME_COST_UNIT, NameRecord, NamespaceRecord,
    NamespaceTerms, Operation, OutPoint, OwnerAddress, OwnerKey, PreorderKind, PreorderRecord,
    PriceFunction, Rejection, Salt, SignedOperation, TxId, ZoneFileHash,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use crate::helpers::*;

/// Blockstack's `price_name` (integer epoch, cost unit 100), written from its published
/// source without looking at ours: the bucket is `buckets[len - 1]` below 16 characters
/// and the last bucket from there; the discount is the larger of the applicable ones;
/// the multiplication comes before the division; the result is at least the unit.
/// Prices past `u64` are "unpayable", `u64::MAX`.
fn oracle_price(
    label: &str,
    coeff: u8,
    base: u8,
    buckets: &[u8; 16],
    nonalpha: u8,
    novowel: u8,
) -> u64 {
    let unit: u128 = 100;
    let len = label.chars().count();
    let exponent = if len < buckets.len() {
        buckets[len - 1]
    } else {
        buckets[15]
    };
    let mut discount: u128 = 1;
    if label.chars().filter(|c| "aeiouy".contains(*c)).count() == 0 {
        discount = discount.max(u128::from(novowel));
    }
    if label
        .chars()
        .filter(|c| "0123456789-_".contains(*c))
        .count()
        > 0
    {
        discount = discount.max(u128::from(nonalpha));
    }
    // coeff * base^exponent * unit, one factor at a time; None past u128.
    let mut product = Some(u128::from(coeff) * unit);
    for _ in 0..exponent {
        product = product.and_then(|p| p.checked_mul(u128::from(base)));
    }
    let Some(product) = product else {
        return u64::MAX;
    };
    let price = product / discount;
    if price < unit {
        return unit as u64;
    }
    u64::try_from(price).unwrap_or(u64::MAX)
}

/// The documented regtest namespace table: 0.4 coin for one character, then a tenth,
/// a hundredth, a thousandth of it.
fn oracle_namespace_price(len: usize) -> u64 {
    let one = 40_000_000u64;
    match len {
        1 => one,
        2 | 3 => one / 10,
        4..=7 => one / 100,
        _ => one / 1000,
    }
}

fn arb_price() -> impl Strategy<Value = (u8, u8, [u8; 16], u8, u8)> {
    (
        any::<u8>(),
        any::<u8>(),
        prop::array::uniform16(0u8..=15),
        1u8..=15,
        1u8..=15,
    )
}

fn price_fn(
    (coeff, base, buckets, nonalpha, novowel): (u8, u8, [u8; 16], u8, u8),
) -> PriceFunction {
    PriceFunction::new(coeff, base, buckets, nonalpha, novowel).unwrap()
}

/// Labels, biased towards short ones and ones without vowels or with non-letters.
fn arb_label() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_-]{1,37}",
        "[bcdfghjklmnpqrstvwxz]{1,20}",
        "[a-z]{1,20}",
        "[bcd0-9_-]{1,6}",
    ]
}

fn arb_name() -> impl Strategy<Value = naming::Name> {
    (arb_label(), "[a-z0-9_-]{1,19}").prop_map(|(l, n)| format!("{l}.{n}").parse().unwrap())
}

fn arb_bytes32() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

fn arb_operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        arb_bytes32().prop_map(|c| Operation::NamespacePreorder {
            commitment: Commitment(c)
        }),
        (
            "[a-z0-9_-]{1,19}",
            any::<[u8; 16]>(),
            any::<u32>(),
            any::<u32>(),
            arb_price()
        )
            .prop_map(
                |(id, salt, lifetime, grace, p)| Operation::NamespaceReveal {
                    namespace: id.parse().unwrap(),
                    salt: Salt(salt),
                    terms: NamespaceTerms {
                        lifetime,
                        grace,
                        price: price_fn(p)
                    },
                }
            ),
        "[a-z0-9_-]{1,19}".prop_map(|id| Operation::NamespaceReady {
            namespace: id.parse().unwrap()
        }),
        arb_bytes32().prop_map(|c| Operation::NamePreorder {
            commitment: Commitment(c)
        }),
        (
            arb_name(),
            any::<[u8; 16]>(),
            proptest::option::of(arb_bytes32())
        )
            .prop_map(|(name, salt, z)| Operation::NameRegister {
                name,
                salt: Salt(salt),
                zone_file: z.map(ZoneFileHash)
            }),
        (arb_name(), arb_bytes32()).prop_map(|(name, z)| Operation::NameUpdate {
            name,
            zone_file: ZoneFileHash(z)
        }),
        (arb_name(), arb_bytes32(), any::<bool>()).prop_map(|(name, k, keep)| {
            Operation::NameTransfer {
                name,
                new_owner: OwnerAddress(k),
                keep_zone_file: keep,
            }
        }),
        arb_name().prop_map(|name| Operation::NameRenew { name }),
        arb_name().prop_map(|name| Operation::NameRevoke { name }),
    ]
}

fn arb_signed() -> impl Strategy<Value = SignedOperation> {
    (
        arb_operation(),
        arb_bytes32(),
        prop::collection::vec(any::<u8>(), 64),
    )
        .prop_map(|(op, k, s)| {
            let mut signature = [0u8; 64];
            signature.copy_from_slice(&s);
            SignedOperation {
                op,
                signer: OwnerKey(k),
                signature,
            }
        })
}

fn arb_name_record() -> impl Strategy<Value = NameRecord> {
    (
        arb_bytes32(),
        proptest::option::of(arb_bytes32()),
        any::<[u32; 3]>(),
        any::<bool>(),
        arb_bytes32(),
    )
        .prop_map(|(o, z, [r, e, g], revoked, t)| NameRecord {
            owner: OwnerAddress(o),
            zone_file: z.map(ZoneFileHash),
            registered_at: Height(r),
            expires_at: Height(e),
            grace_ends_at: Height(g),
            revoked,
            last_txid: TxId(t),
        })
}

proptest! {
    #![proptest_config(Config { rng_seed: RngSeed::Fixed(10), cases: 2000, ..Config::default() })]

    #[test]
    fn prices_match_the_blockstack_formula(label in arb_label(), p in arb_price()) {
        let (coeff, base, buckets, nonalpha, novowel) = p;
        let expected = oracle_price(&label, coeff, base, &buckets, nonalpha, novowel);
        let label: naming::Label = label.parse().unwrap();
        prop_assert_eq!(price_fn(p).price(&label), Amount(expected));
    }

    #[test]
    fn payloads_round_trip_within_the_burn_limit(op in arb_signed()) {
        let bytes = op.encode();
        prop_assert!(bytes.len() <= naming::MAX_PAYLOAD);
        prop_assert!(naming::is_naming_payload(&bytes));
        prop_assert_eq!(SignedOperation::decode(&bytes), Ok(op));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = SignedOperation::decode(&bytes);
        let _ = NameRecord::decode(&bytes);
        let _ = NamespaceRecord::decode(&bytes);
        let _ = PreorderRecord::decode(&bytes);
        let _ = Changes::decode(&bytes);
    }

    #[test]
    fn decoding_a_damaged_payload_never_panics_and_reencodes_equal(
        op in arb_signed(),
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = op.encode();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(decoded) = SignedOperation::decode(&bytes) {
            prop_assert_eq!(decoded.encode(), bytes.clone());
        }
        bytes.truncate(cut.index(bytes.len()));
        prop_assert!(SignedOperation::decode(&bytes).is_err());
    }

    #[test]
    fn records_round_trip(
        name in arb_name_record(),
        creator in arb_bytes32(),
        terms in (any::<u32>(), any::<u32>(), arb_price()),
        heights in any::<[u32; 3]>(),
        ready in any::<bool>(),
        burned in any::<u64>(),
        vout in any::<u32>(),
    ) {
        prop_assert_eq!(NameRecord::decode(&name.encode()), Ok(name.clone()));
        let ns = NamespaceRecord {
            creator: OwnerAddress(creator),
            terms: NamespaceTerms { lifetime: terms.0, grace: terms.1, price: price_fn(terms.2) },
            revealed_at: Height(heights[0]),
            ready_by: Height(heights[1]),
            ready_at: ready.then_some(Height(heights[2])),
            reveal_txid: TxId(creator),
        };
        prop_assert_eq!(NamespaceRecord::decode(&ns.encode()), Ok(ns.clone()));
        let pre = PreorderRecord {
            kind: if ready { PreorderKind::Name } else { PreorderKind::Namespace },
            signer: OwnerAddress(creator),
            height: Height(heights[0]),
            burned: Amount(burned),
            output: OutPoint { txid: TxId(creator), vout },
        };
        prop_assert_eq!(PreorderRecord::decode(&pre.encode()), Ok(pre));
    }
}

proptest! {
    #![proptest_config(Config { rng_seed: RngSeed::Fixed(11), cases: 200, ..Config::default() })]

    /// A namespace launched with a random price function, a name preordered with a
    /// random burn and registered, then renewed with another random burn: each is
    /// accepted exactly when its burn covers the oracle's price, and undoing every
    /// accepted change restores the empty state.
    #[test]
    fn every_paid_path_burns_at_least_the_price(
        label in arb_label(),
        id in "[a-z0-9_-]{1,19}",
        p in arb_price(),
        burns in (any::<u64>(), any::<u64>(), any::<u64>(), -2i64..=2, -2i64..=2, -2i64..=2, any::<[bool; 3]>()),
    ) {
        let (coeff, base, buckets, nonalpha, novowel) = p;
        let price = oracle_price(&label, coeff, base, &buckets, nonalpha, novowel);
        let id: naming::NamespaceId = id.parse().unwrap();
        let ns_price = oracle_namespace_price(id.len());
        // Near the price or anywhere, at random.
        let pick = |near: bool, price: u64, delta: i64, any: u64| {
            if near { price.saturating_add_signed(delta) } else { any }
        };
        let ns_burn = pick(burns.6[0], ns_price, burns.3, burns.0 % (ns_price * 2 + 1));
        let name_burn = pick(burns.6[1], price, burns.4, burns.1);
        let renew_burn = pick(burns.6[2], price, burns.5, burns.2);

        let mut w = World::new();
        let creator = key(1);
        let owner_key = key(2);
        let mut log: Vec<Changes> = Vec::new();

        // Namespace: preorder (at least the cheapest namespace), reveal (its price).
        let salt = Salt([1; 16]);
        let pre = w.ctx(1, ns_burn, vec![]);
        let commitment = Commitment::for_namespace(&id, &salt, &owner(&creator));
        let cheapest = oracle_namespace_price(19);
        match w.submit(&creator, Operation::NamespacePreorder { commitment }, &pre) {
            Ok(c) => { prop_assert!(ns_burn >= cheapest); log.push(c); }
            Err(e) => {
                prop_assert!(ns_burn < cheapest);
                prop_assert!(matches!(e, Rejection::FeeTooLow { .. }), "{}", e);
                return Ok(());
            }
        }
        let reveal = w.ctx(1 + MIN_DEPTH, 0, vec![OutPoint { txid: pre.txid, vout: 1 }]);
        let terms = NamespaceTerms { lifetime: LIFETIME, grace: GRACE, price: price_fn(p) };
        let op = Operation::NamespaceReveal { namespace: id.clone(), salt, terms };
        match w.submit(&creator, op, &reveal) {
            Ok(c) => { prop_assert!(ns_burn >= ns_price); log.push(c); }
            Err(e) => {
                prop_assert!(ns_burn < ns_price);
                prop_assert!(matches!(e, Rejection::FeeTooLow { .. }), "{}", e);
                return Ok(());
            }
        }
        let ready = w.ctx(2 + MIN_DEPTH, 0, vec![]);
        log.push(w.submit(&creator, Operation::NamespaceReady { namespace: id.clone() }, &ready).unwrap());

        // Name: preorder (at least the unit), register (the price).
        let name: naming::Name = format!("{label}.{id}").parse().unwrap();
        let salt = Salt([2; 16]);
        let at = 3 + MIN_DEPTH;
        let pre = w.ctx(at, name_burn, vec![]);
        let commitment = Commitment::for_name(&name, &salt, &owner(&owner_key));
        match w.submit(&owner_key, Operation::NamePreorder { commitment }, &pre) {
            Ok(c) => { prop_assert!(name_burn >= NAME_COST_UNIT); log.push(c); }
            Err(e) => {
                prop_assert!(name_burn < NAME_COST_UNIT);
                prop_assert!(matches!(e, Rejection::FeeTooLow { .. }), "{}", e);
            }
        }
        let register = w.ctx(at + MIN_DEPTH, 0, vec![OutPoint { txid: pre.txid, vout: 1 }]);
        let op = Operation::NameRegister { name: name.clone(), salt, zone_file: None };
        match w.submit(&owner_key, op, &register) {
            Ok(c) => { prop_assert!(name_burn >= price); log.push(c); }
            Err(e) => {
                prop_assert!(name_burn < price, "{} refused though {} >= {}", e, name_burn, price);
            }
        }
        if w.state.names.contains_key(&name) {
            let renew = w.ctx(at + MIN_DEPTH + 1, renew_burn, vec![]);
            match w.submit(&owner_key, Operation::NameRenew { name: name.clone() }, &renew) {
                Ok(c) => { prop_assert!(renew_burn >= price); log.push(c); }
                Err(e) => {
                    prop_assert!(renew_burn < price);
                    prop_assert!(matches!(e, Rejection::FeeTooLow { .. }), "{}", e);
                }
            }
        }

        // Undo, newest first, restores the empty state; each undo record round-trips.
        for changes in log.iter().rev() {
            prop_assert_eq!(Changes::decode(&changes.encode()), Ok(changes.clone()));
            w.state.revert(changes).unwrap();
        }
        prop_assert_eq!(w.state, naming::MemoryNames::new());
    }

    /// Any one byte of an accepted payload changed, the operation is rejected or does
    /// something else: no byte is outside the signature or without an effect.
    #[test]
    fn every_payload_byte_has_an_effect(
        which in 0usize..9,
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let (w, cases) = crate::fields::accepted_cases();
        let (signed, ctx) = &cases[which];
        let original = naming::apply(&w.params, &w.state, ctx, signed).unwrap();
        let mut bytes = signed.encode();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        let outcome = naming::apply_payload(&w.params, &w.state, ctx, &bytes);
        prop_assert_ne!(outcome, Ok(original));
    }
}
