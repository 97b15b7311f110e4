//! The signature rule (ZIP-215): the published edge cases, crafted torsion cases and
//! random batches, checked singly, in batches at every position and in blocks, against the
//! vector file's verdicts and a naive cofactored verifier written here.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::LazyLock;

use chain_node::error::{BlockError, TxError};
use chain_node::signature::{SigCheck, SigMode, verify_all, verify_batch, verify_one};
use chain_node::validation::{Coin, check_block, check_inputs, connect_block};
use chain_node::{Address, Amount, Height, Network, OutPoint, Transaction, TxIn, TxInputs, TxOut};
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::{Signer, SigningKey};
use proptest::prelude::*;
use sha2::{Digest, Sha512};

use crate::helpers::{MemChain, address, key, spend};

const MODES: [SigMode; 6] = [
    SigMode::Strict { threads: 1 },
    SigMode::Strict { threads: 3 },
    SigMode::Batch { threads: 1 },
    SigMode::Batch { threads: 2 },
    SigMode::Batch { threads: 3 },
    SigMode::Batch { threads: 8 },
];

/// Every mode, and one plain batch, give `want`.
fn assert_verdict(checks: &[SigCheck], want: Result<(), usize>, what: &str) {
    for mode in MODES {
        assert_eq!(verify_all(checks, mode), want, "{what}, {mode:?}");
    }
    assert_eq!(verify_batch(checks), want, "{what}, one batch");
}

/// Valid signatures by distinct keys, to mix edge cases into.
static VALID: LazyLock<Vec<SigCheck>> = LazyLock::new(|| {
    (0..240u64)
        .map(|i| {
            let mut secret = [1u8; 32];
            secret[..8].copy_from_slice(&i.to_le_bytes());
            let k = SigningKey::from_bytes(&secret);
            let mut message = [2u8; 32];
            message[..8].copy_from_slice(&i.to_le_bytes());
            SigCheck {
                pubkey: k.verifying_key().to_bytes(),
                signature: k.sign(&message).to_bytes(),
                message,
            }
        })
        .collect()
});

/// The first `n` of [`VALID`].
fn valid(n: usize) -> Vec<SigCheck> {
    VALID[..n].to_vec()
}

// ---------------------------------------------------------------------------------------
// The published edge cases.

struct Case {
    number: u64,
    check: SigCheck,
    zip215: bool,
    dalek_strict: bool,
}

static SPECCHECK: LazyLock<Vec<Case>> = LazyLock::new(|| {
    let text = include_str!("../data/ed25519-speccheck.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    let bytes = |case: &serde_json::Value, field: &str| hex::decode(case[field].as_str().unwrap());
    json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| Case {
            number: case["case"].as_u64().unwrap(),
            check: SigCheck {
                pubkey: bytes(case, "public_key_hex").unwrap().try_into().unwrap(),
                signature: bytes(case, "signature_hex").unwrap().try_into().unwrap(),
                message: bytes(case, "message_hex").unwrap().try_into().unwrap(),
            },
            zip215: case["zip215_valid"].as_bool().unwrap(),
            dalek_strict: case["dalek_verify_strict_valid"].as_bool().unwrap(),
        })
        .collect()
});

#[test]
fn speccheck_cases_get_their_zip215_verdict_alone() {
    assert_eq!(SPECCHECK.len(), 12);
    for case in SPECCHECK.iter() {
        let what = format!("case {}", case.number);
        assert_eq!(verify_one(&case.check), case.zip215, "{what}");
        let want = if case.zip215 { Ok(()) } else { Err(0) };
        assert_verdict(&[case.check], want, &what);
    }
    // The file does tell the two rules apart: the old rule would fail this test.
    let differ = SPECCHECK
        .iter()
        .filter(|c| c.zip215 != c.dalek_strict)
        .count();
    assert!(differ >= 6, "{differ}");
}

#[test]
fn speccheck_cases_get_their_zip215_verdict_at_every_position_of_a_batch() {
    for case in SPECCHECK.iter() {
        for len in [2usize, 7, 130, 200] {
            for at in [0, 1, len / 2, len - 2, len - 1] {
                let mut checks = valid(len);
                checks[at] = case.check;
                let want = if case.zip215 { Ok(()) } else { Err(at) };
                let what = format!("case {} at {at} of {len}", case.number);
                assert_verdict(&checks, want, &what);
            }
        }
    }
}

#[test]
fn all_speccheck_cases_in_one_batch_name_the_first_invalid_one() {
    let mut checks = valid(240);
    let spots: Vec<usize> = (0..SPECCHECK.len()).map(|i| 7 + i * 19).collect();
    for (case, at) in SPECCHECK.iter().zip(&spots) {
        checks[*at] = case.check;
    }
    let first_invalid = SPECCHECK.iter().position(|c| !c.zip215).unwrap();
    assert_verdict(&checks, Err(spots[first_invalid]), "all cases");
    // Only the valid cases: the batch passes.
    let mut only_valid = valid(240);
    for (case, at) in SPECCHECK.iter().zip(&spots) {
        if case.zip215 {
            only_valid[*at] = case.check;
        }
    }
    assert_verdict(&only_valid, Ok(()), "the valid cases");
}

// ---------------------------------------------------------------------------------------
// A naive verifier, and torsion cases made with it.

/// ZIP-215 written out from its text: `A` and `R` decode (non-canonical encodings
/// accepted), `s < L`, and `[8]([s]B - R - [k]A)` is the identity.
fn naive_zip215(c: &SigCheck) -> bool {
    let r_bytes: [u8; 32] = c.signature[..32].try_into().unwrap();
    let s_bytes: [u8; 32] = c.signature[32..].try_into().unwrap();
    let (Some(a), Some(r)) = (
        CompressedEdwardsY(c.pubkey).decompress(),
        CompressedEdwardsY(r_bytes).decompress(),
    ) else {
        return false;
    };
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    let k = hram(&r_bytes, &c.pubkey, &c.message);
    (ED25519_BASEPOINT_POINT * s - r - a * k)
        .mul_by_cofactor()
        .is_identity()
}

fn hram(r: &[u8; 32], a: &[u8; 32], m: &[u8; 32]) -> Scalar {
    let h: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(m)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&h)
}

fn naive_first_invalid(checks: &[SigCheck]) -> Result<(), usize> {
    match checks.iter().position(|c| !naive_zip215(c)) {
        Some(i) => Err(i),
        None => Ok(()),
    }
}

#[test]
fn the_naive_verifier_agrees_with_the_vector_file() {
    for case in SPECCHECK.iter() {
        assert_eq!(
            naive_zip215(&case.check),
            case.zip215,
            "case {}",
            case.number
        );
    }
}

/// A signature made by hand, `s = r + k a`, over points that may carry torsion.
fn by_hand(
    a: Scalar,
    big_a: EdwardsPoint,
    r: Scalar,
    big_r: EdwardsPoint,
    m: [u8; 32],
) -> SigCheck {
    let pubkey = big_a.compress().to_bytes();
    let r_bytes = big_r.compress().to_bytes();
    let s = r + hram(&r_bytes, &pubkey, &m) * a;
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r_bytes);
    signature[32..].copy_from_slice(s.as_bytes());
    SigCheck {
        pubkey,
        signature,
        message: m,
    }
}

/// The point of order 2, (0, -1).
fn order_2() -> EdwardsPoint {
    let mut t = [0xffu8; 32];
    t[0] = 0xec;
    t[31] = 0x7f;
    let p = CompressedEdwardsY(t).decompress().unwrap();
    assert!(p.is_small_order() && !p.is_identity() && (p + p).is_identity());
    p
}

/// A point of order 8: the small-order key of speccheck case 0.
fn order_8() -> EdwardsPoint {
    let p = CompressedEdwardsY(SPECCHECK[0].check.pubkey)
        .decompress()
        .unwrap();
    assert!(p.is_small_order() && !(p + p + p + p).is_identity());
    p
}

fn identity_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0] = 1;
    b
}

fn scalar(n: u8) -> Scalar {
    Scalar::from_bytes_mod_order([n; 32])
}

/// `s + L` as 256-bit little-endian integers (L, the prime subgroup order, from RFC 8032).
fn add_l(s: &[u8]) -> [u8; 32] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for ((o, x), y) in out.iter_mut().zip(s).zip(L) {
        let v = u16::from(*x) + u16::from(y) + carry;
        *o = (v & 0xff) as u8;
        carry = v >> 8;
    }
    out
}

/// The weak "signature" under the identity key: R = identity, s as given.
fn identity_signature(s: u8) -> [u8; 64] {
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&identity_bytes());
    signature[32] = s;
    signature
}

/// Torsion cases made here, in the order of `CRAFTED_VERDICTS`.
static CRAFTED: LazyLock<Vec<SigCheck>> = LazyLock::new(|| {
    let b = ED25519_BASEPOINT_POINT;
    let a = scalar(42);
    let m = [9u8; 32];
    let good = by_hand(a, b * a, scalar(11), b * scalar(11), m);
    let mut s_plus_l = good;
    s_plus_l.signature[32..].copy_from_slice(&add_l(&good.signature[32..]));
    let mut off_curve = good;
    off_curve.signature[..32].copy_from_slice(&{
        let mut y = [0u8; 32];
        y[0] = 2; // y = 2 has no x on the curve
        y
    });
    vec![
        by_hand(a, b * a, scalar(7), b * scalar(7) + order_2(), m),
        by_hand(a, b * a + order_8(), scalar(8), b * scalar(8), m),
        SigCheck {
            pubkey: identity_bytes(),
            signature: identity_signature(0),
            message: m,
        },
        SigCheck {
            pubkey: identity_bytes(),
            signature: identity_signature(1),
            message: m,
        },
        good,
        s_plus_l,
        off_curve,
    ]
});

/// Mixed-order nonce, mixed-order key, weak key with s = 0, weak key with s = 1, a plain
/// valid signature, the same with s + L, a nonce off the curve.
const CRAFTED_VERDICTS: [bool; 7] = [true, true, true, false, true, false, false];

#[test]
fn crafted_torsion_cases_get_the_naive_verdict_alone_and_in_batches() {
    let naive: Vec<bool> = CRAFTED.iter().map(naive_zip215).collect();
    assert_eq!(naive, CRAFTED_VERDICTS);
    for (n, check) in CRAFTED.iter().enumerate() {
        assert_eq!(verify_one(check), CRAFTED_VERDICTS[n], "crafted {n}");
        for len in [1usize, 5, 130] {
            for at in [0, len / 2, len - 1] {
                let mut checks = valid(len);
                checks[at] = *check;
                let want = if CRAFTED_VERDICTS[n] { Ok(()) } else { Err(at) };
                assert_verdict(&checks, want, &format!("crafted {n} at {at} of {len}"));
            }
        }
    }
}

#[test]
fn the_rule_is_cofactored_where_verify_strict_is_not() {
    let mixed = CRAFTED[0];
    assert!(verify_one(&mixed));
    let key = ed25519_dalek::VerifyingKey::from_bytes(&mixed.pubkey).unwrap();
    let sig = ed25519_dalek::Signature::from_bytes(&mixed.signature);
    assert!(key.verify_strict(&mixed.message, &sig).is_err());
}

#[test]
fn errors_that_cancel_in_a_plain_sum_are_still_caught() {
    // Two signatures by one key, one with s + 1 and one with s - 1: the errors cancel when
    // every batch coefficient is 1, so only coefficients that differ catch them.
    let k = SigningKey::from_bytes(&[5; 32]);
    let mut checks = valid(10);
    for (i, delta) in [(3usize, Scalar::ONE), (6, -Scalar::ONE)] {
        let message = [i as u8; 32];
        let sig = k.sign(&message).to_bytes();
        let s = Scalar::from_canonical_bytes(sig[32..].try_into().unwrap()).unwrap() + delta;
        let mut signature = sig;
        signature[32..].copy_from_slice(s.as_bytes());
        checks[i] = SigCheck {
            pubkey: k.verifying_key().to_bytes(),
            signature,
            message,
        };
    }
    assert_eq!(naive_first_invalid(&checks), Err(3));
    assert_verdict(&checks, Err(3), "cancelling pair");
}

/// Valid signatures and the crafted cases, to draw batches from.
static POOL: LazyLock<Vec<SigCheck>> = LazyLock::new(|| {
    let mut pool = valid(40);
    pool.extend(CRAFTED.iter().copied());
    pool.extend(SPECCHECK.iter().map(|c| c.check));
    pool
});

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_batches_agree_with_the_naive_verifier(
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..150),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..128), 0..3),
    ) {
        let mut checks: Vec<SigCheck> = picks.iter().map(|p| *p.get(&POOL)).collect();
        for (at, bit) in flips {
            let c = at.get_mut(&mut checks);
            match bit {
                0..32 => c.pubkey[bit] ^= 1,
                32..96 => c.signature[bit - 32] ^= 1,
                _ => c.message[bit - 96] ^= 1,
            }
        }
        assert_verdict(&checks, naive_first_invalid(&checks), "random batch");
        for c in &checks {
            prop_assert_eq!(verify_one(c), naive_zip215(c));
        }
    }
}

// ---------------------------------------------------------------------------------------
// In blocks.

/// A chain where 150 coins of `owner` are spendable.
fn funded(owner: &SigningKey) -> (MemChain, Vec<(OutPoint, Coin)>) {
    let mut c = MemChain::new(Network::Regtest.params());
    c.mine(100);
    let (op, coin) = c.coinbase_coin(1);
    let each = coin.amount.units() / 150;
    let outs = (0..150)
        .map(|_| TxOut::pay(Amount::from_units(each), address(owner)))
        .collect();
    let miner = c.miner.clone();
    let fan = spend(&c.params, &[(op, coin, &miner)], outs);
    let fee = coin.amount.units() - each * 150;
    let txid = fan.txid();
    let block = c.block_with(vec![fan], fee);
    c.connect(&block).unwrap();
    let height = Height(c.next_height() - 1);
    let coins = (0..150)
        .map(|vout| {
            let coin = Coin {
                amount: Amount::from_units(each),
                address: address(owner),
                height,
                is_coinbase: false,
            };
            (OutPoint { txid, vout }, coin)
        })
        .collect();
    (c, coins)
}

fn connect_with(c: &MemChain, block: &chain_node::Block, mode: SigMode) -> Result<(), BlockError> {
    check_block(block, &c.params)?;
    let ctx = crate::helpers::context(&c.params, &c.utxo, Height(c.next_height()), mode);
    connect_block(block, &ctx).map(|_| ())
}

#[test]
fn a_block_names_the_transaction_and_input_of_its_first_bad_signature() {
    let owner = key(61);
    let (c, coins) = funded(&owner);
    // 50 transactions of 3 inputs each: 150 signatures in the block.
    let txs: Vec<Transaction> = coins
        .chunks(3)
        .map(|part| {
            let inputs: Vec<_> = part.iter().map(|(op, coin)| (*op, *coin, &owner)).collect();
            let total: u64 = part.iter().map(|(_, coin)| coin.amount.units()).sum();
            spend(
                &c.params,
                &inputs,
                vec![TxOut::pay(Amount::from_units(total), address(&key(62)))],
            )
        })
        .collect();
    let good = c.block_with(txs.clone(), 0);
    for mode in MODES {
        assert_eq!(connect_with(&c, &good, mode), Ok(()), "{mode:?}");
    }
    for (bad_tx, bad_input, later) in [(0usize, 0usize, 49usize), (37, 2, 45), (49, 1, 49)] {
        let mut txs = txs.clone();
        for (t, i) in [(bad_tx, bad_input), (later, 2)] {
            if let TxInputs::Spend(ins) = &mut txs[t].inputs {
                ins[i].signature[50] ^= 0x10;
            }
        }
        let txid = txs[bad_tx].txid();
        let block = c.block_with(txs, 0);
        for mode in MODES {
            assert_eq!(
                connect_with(&c, &block, mode),
                Err(BlockError::Tx {
                    index: bad_tx + 1,
                    txid,
                    source: TxError::BadSignature { index: bad_input },
                }),
                "{mode:?}"
            );
        }
    }
}

/// Pays the miner's first coinbase to `to` and matures nothing else: the coin to spend.
fn coin_for(to: Address) -> (MemChain, OutPoint, Coin) {
    let mut c = MemChain::new(Network::Regtest.params());
    c.mine(100);
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let pay = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(coin.amount, to)],
    );
    let txid = pay.txid();
    let block = c.block_with(vec![pay], 0);
    c.connect(&block).unwrap();
    let out = OutPoint { txid, vout: 0 };
    let coin = Coin {
        address: to,
        height: Height(c.next_height() - 1),
        is_coinbase: false,
        ..coin
    };
    (c, out, coin)
}

fn spend_with(out: OutPoint, pubkey: [u8; 32], signature: [u8; 64]) -> Transaction {
    Transaction {
        version: 1,
        inputs: TxInputs::Spend(vec![TxIn {
            prevout: out,
            pubkey,
            signature,
        }]),
        outputs: vec![TxOut::pay(Amount::from_units(1), address(&key(1)))],
    }
}

#[test]
fn coins_of_a_small_order_key_are_spendable_by_anyone_as_zip215_specifies() {
    // R = identity and s = 0 under the identity key: [8]([0]B - R - [k]A) is the identity
    // for every message. With s = 1 it is [8]B for every message, so never.
    for s in [0u8, 1] {
        for m in [[0u8; 32], [0x5a; 32], [0xff; 32]] {
            let check = SigCheck {
                pubkey: identity_bytes(),
                signature: identity_signature(s),
                message: m,
            };
            assert_eq!(naive_zip215(&check), s == 0);
        }
    }
    let (c, out, _) = coin_for(Address::from_pubkey(&identity_bytes()));
    let accepted = spend_with(out, identity_bytes(), identity_signature(0));
    let refused = spend_with(out, identity_bytes(), identity_signature(1));
    let refused_txid = refused.txid();
    let fee = |tx: &Transaction| {
        let paid: u64 = tx.outputs.iter().map(|o| o.amount.units()).sum();
        c.utxo[&out].amount.units() - paid
    };
    for mode in MODES {
        let block = c.block_with(vec![accepted.clone()], fee(&accepted));
        assert_eq!(connect_with(&c, &block, mode), Ok(()), "{mode:?}");
        let block = c.block_with(vec![refused.clone()], fee(&refused));
        assert_eq!(
            connect_with(&c, &block, mode),
            Err(BlockError::Tx {
                index: 1,
                txid: refused_txid,
                source: TxError::BadSignature { index: 0 },
            }),
            "{mode:?}"
        );
    }
}

#[test]
fn a_mixed_order_nonce_is_valid_in_a_block_in_every_mode() {
    let b = ED25519_BASEPOINT_POINT;
    let a = scalar(43);
    let pubkey = (b * a).compress().to_bytes();
    let (c, out, coin) = coin_for(Address::from_pubkey(&pubkey));
    let mut tx = spend_with(out, pubkey, [0; 64]);
    tx.outputs[0].amount = coin.amount;
    // The message the rules will check (signatures are not part of it).
    let height = Height(c.next_height());
    let checked = check_inputs(&tx, &c.utxo, height, &c.params.genesis_hash()).unwrap();
    let message = checked.sig_checks[0].message;
    let check = by_hand(a, b * a, scalar(12), b * scalar(12) + order_2(), message);
    assert!(naive_zip215(&check));
    if let TxInputs::Spend(ins) = &mut tx.inputs {
        ins[0].signature = check.signature;
    }
    let block = c.block_with(vec![tx], 0);
    for mode in MODES {
        assert_eq!(connect_with(&c, &block, mode), Ok(()), "{mode:?}");
    }
}
