//! Every consensus rule, each with a block or transaction that breaks it and the exact
#![allow(clippy::unwrap_used)]
//! error it must be rejected with.

use chain_node::error::{BlockError, PowError, TxError};
use chain_node::pow::{CompactTarget, RetargetParams, Target};
use chain_node::u256::U256;
use chain_node::validation::{
    HeaderContext, check_block, check_header_context, check_header_pow, check_transaction,
    median_time_past, next_bits,
};
use chain_node::{
    Amount, Height, MAX_BLOCK_SIZE, MAX_MONEY, Network, OutPoint, OutputKind, Transaction, TxId,
    TxInputs, TxOut, WtxId, merkle_root,
};

use crate::helpers::{MemChain, address, coinbase, commitment, key, make_block, solve, spend};
use crate::oracle;

fn regtest() -> MemChain {
    MemChain::new(Network::Regtest.params())
}

/// A chain of 101 blocks so that the coinbase of block 1 is spendable at height 101.
fn matured() -> MemChain {
    let mut c = regtest();
    c.mine(100);
    c
}

fn tx_err(result: Result<(), BlockError>) -> TxError {
    match result {
        Err(BlockError::Tx { source, .. }) => source,
        other => panic!("expected a transaction error, got {other:?}"),
    }
}

fn relabel(block: &mut chain_node::Block) {
    block.header.merkle_root = commitment(&block.txs);
    block.header = solve(block.header);
}

#[test]
fn proof_of_work_must_meet_the_target() {
    let c = regtest();
    let mut block = c.block_with(vec![], 0);
    let target = Target::from_compact(block.header.bits).unwrap();
    while target.is_met_by(&block.header.hash()) {
        block.header.nonce += 1;
    }
    let hash = block.header.hash();
    assert_eq!(
        check_block(&block, &c.params),
        Err(BlockError::HighHash { hash })
    );
}

#[test]
fn target_must_not_exceed_the_network_limit() {
    let c = regtest();
    let mut block = c.block_with(vec![], 0);
    block.header.bits = CompactTarget(0x2100_ffff); // 0xffff << 240, above 0x7fffff << 232
    block.header = solve(block.header);
    assert_eq!(
        check_header_pow(&block.header, &c.params),
        Err(BlockError::TargetAboveLimit { bits: 0x2100_ffff })
    );
    block.header.bits = CompactTarget(0x0492_3456);
    assert_eq!(
        check_header_pow(&block.header, &c.params),
        Err(BlockError::BadBits(PowError::BadCompact {
            bits: 0x0492_3456
        }))
    );
}

/// Testnet parameters with a 4-block period so that the rule is cheap to exercise.
fn short_testnet() -> chain_node::Params {
    let mut p = Network::Testnet.params();
    let rp = p.retarget.unwrap();
    p.retarget = Some(RetargetParams {
        interval: 4,
        spacing: 30,
        ..rp
    });
    p
}

#[test]
fn retarget_uses_n_full_intervals_and_clamps_at_four() {
    let p = short_testnet();
    let limit = p.limit();
    // Start from a target a quarter of the limit so that easing is visible too.
    let start = Target::new(limit.value().shr(2)).unwrap();
    let start_bits = start.to_compact();
    let timespan = 4 * 30;
    // Not a retarget height: the parent's bits carry over.
    assert_eq!(next_bits(&p, Height(5), start_bits, 1000, None), start_bits);
    // Height 8: N = 4 intervals from block 3 to block 7. Blocks came twice as fast.
    let fast = next_bits(&p, Height(8), start_bits, 1000 + timespan / 2, Some(1000));
    assert_eq!(
        Target::from_compact(fast).unwrap().value(),
        start.value().shr(1)
    );
    // Ten times too slow: clamped at 4x, which here is exactly the limit.
    let slow = next_bits(&p, Height(8), start_bits, 1000 + timespan * 10, Some(1000));
    assert_eq!(Target::from_compact(slow).unwrap(), limit);
    // Bitcoin's off-by-one would measure N-1 intervals: a chain exactly on schedule
    // (each block 30 s apart, so 120 s over 4 intervals) keeps its target here.
    let on_time = next_bits(&p, Height(8), start_bits, 1000 + timespan, Some(1000));
    assert_eq!(on_time, start_bits);

    // A header with other bits at a retarget height is rejected.
    let c = MemChain::new(p.clone());
    let mut header = c.block_with(vec![], 0).header;
    header.bits = start_bits;
    let ctx = HeaderContext {
        height: Height(8),
        expected_bits: fast,
        median_time_past: 0,
        prev_time: header.time,
        now: u64::from(header.time),
    };
    assert_eq!(
        check_header_context(&header, &ctx, &p),
        Err(BlockError::WrongBits {
            height: Height(8),
            expected: fast.0,
            found: start_bits.0
        })
    );
}

#[test]
fn timewarp_rule_bounds_the_first_block_of_a_period() {
    let p = short_testnet();
    let c = MemChain::new(p.clone());
    let mut header = c.block_with(vec![], 0).header;
    let prev_time = 10_000;
    header.time = prev_time - 601;
    let ctx = HeaderContext {
        height: Height(8),
        expected_bits: header.bits,
        median_time_past: 0,
        prev_time,
        now: 20_000,
    };
    assert_eq!(
        check_header_context(&header, &ctx, &p),
        Err(BlockError::Timewarp {
            time: prev_time - 601,
            prev_time
        })
    );
    header.time = prev_time - 600;
    assert_eq!(check_header_context(&header, &ctx, &p), Ok(()));
    // Not the first block of a period: only median time past applies.
    header.time = prev_time - 601;
    let mid = HeaderContext {
        height: Height(9),
        ..ctx
    };
    assert_eq!(check_header_context(&header, &mid, &p), Ok(()));
}

#[test]
fn time_must_exceed_median_of_eleven_and_stay_within_two_hours() {
    // Naive oracle for the median: the 6th smallest of 11.
    let times = [5, 1, 9, 3, 7, 11, 2, 10, 4, 8, 6];
    assert_eq!(median_time_past(&times), 6);
    let p = Network::Regtest.params();
    let c = MemChain::new(p.clone());
    let mut header = c.block_with(vec![], 0).header;
    let ctx = HeaderContext {
        height: Height(20),
        expected_bits: header.bits,
        median_time_past: 6_000,
        prev_time: 6_500,
        now: 10_000,
    };
    header.time = 6_000;
    assert_eq!(
        check_header_context(&header, &ctx, &p),
        Err(BlockError::TimeTooOld {
            time: 6_000,
            median: 6_000
        })
    );
    header.time = 10_000 + 7_201;
    assert_eq!(
        check_header_context(&header, &ctx, &p),
        Err(BlockError::TimeTooNew {
            time: 17_201,
            now: 10_000
        })
    );
    header.time = 10_000 + 7_200;
    assert_eq!(check_header_context(&header, &ctx, &p), Ok(()));
}

#[test]
fn merkle_root_must_match() {
    let c = regtest();
    let mut block = c.block_with(vec![], 0);
    block.header.merkle_root[0] ^= 1;
    block.header = solve(block.header);
    assert_eq!(
        check_block(&block, &c.params),
        Err(BlockError::BadMerkleRoot)
    );
}

#[test]
fn merkle_root_is_rfc6962_over_wtxids() {
    // Independent oracle: RFC 6962 MTH written out for three leaves.
    use sha2::{Digest, Sha256};
    let leaf = |d: &[u8]| Sha256::new().chain_update([0u8]).chain_update(d).finalize();
    let node = |l: &[u8], r: &[u8]| {
        Sha256::new()
            .chain_update([1u8])
            .chain_update(l)
            .chain_update(r)
            .finalize()
    };
    let ids = [WtxId([1; 32]), WtxId([2; 32]), WtxId([3; 32])];
    let left = node(&leaf(&ids[0].0), &leaf(&ids[1].0));
    let expected = node(&left, &leaf(&ids[2].0));
    assert_eq!(merkle_root(&ids).as_slice(), expected.as_slice());
    // No CVE-2012-2459: duplicating the odd last leaf changes the root.
    let dup = [ids[0], ids[1], ids[2], ids[2]];
    assert_ne!(merkle_root(&dup), merkle_root(&ids));
}

#[test]
fn block_size_is_limited() {
    let c = regtest();
    // Coinbase with many maximal burn outputs, past 1 MB.
    let burn = TxOut {
        amount: Amount::ZERO,
        kind: OutputKind::Burn(vec![0; 256]),
    };
    let per_tx = 300;
    let mut txs = vec![coinbase(1, address(&c.miner), Amount::from_units(1))];
    let filler = Transaction::coinbase(Height(1), vec![], vec![burn; per_tx]);
    let n = MAX_BLOCK_SIZE / filler.size() + 1;
    for i in 0..n {
        let mut t = filler.clone();
        t.inputs = TxInputs::Coinbase {
            height: Height(1),
            extra: vec![i as u8, (i >> 8) as u8],
        };
        txs.push(t);
    }
    let mut block = make_block(&c.params, c.tip(), c.tip().time + 1, txs);
    relabel(&mut block);
    assert!(matches!(
        check_block(&block, &c.params),
        Err(BlockError::TooLarge { .. })
    ));
}

#[test]
fn coinbase_is_first_and_only() {
    let mut c = matured();
    let empty = make_block(&c.params, c.tip(), c.tip().time + 1, vec![]);
    assert_eq!(
        check_block(&empty, &c.params),
        Err(BlockError::NoTransactions)
    );

    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let pay = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(coin.amount, address(&key(1)))],
    );
    let first_not_cb = make_block(&c.params, c.tip(), c.tip().time + 1, vec![pay]);
    assert_eq!(
        check_block(&first_not_cb, &c.params),
        Err(BlockError::FirstNotCoinbase)
    );

    let mut two = c.block_with(vec![], 0);
    two.txs
        .push(coinbase(101, address(&key(2)), Amount::from_units(1)));
    relabel(&mut two);
    assert_eq!(
        check_block(&two, &c.params),
        Err(BlockError::ExtraCoinbase { index: 1 })
    );
    assert!(c.connect(&c.block_with(vec![], 0)).is_ok());
}

#[test]
fn coinbase_carries_its_height() {
    let mut c = regtest();
    let mut block = c.block_with(vec![], 0);
    block.txs[0].inputs = TxInputs::Coinbase {
        height: Height(7),
        extra: vec![],
    };
    relabel(&mut block);
    assert_eq!(
        c.connect(&block),
        Err(BlockError::BadCoinbaseHeight {
            expected: Height(1),
            found: Height(7)
        })
    );
}

#[test]
fn coinbase_pays_at_most_subsidy_plus_fees() {
    let mut c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let fee = 1_000;
    let pay = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(
            Amount::from_units(coin.amount.units() - fee),
            address(&key(1)),
        )],
    );
    // Subsidy at 101 is 50 coins; claiming one unit more than subsidy + fee fails.
    let greedy = c.block_with(vec![pay.clone()], fee + 1);
    let allowed = Amount::from_units(50 * chain_node::COIN + fee);
    assert_eq!(
        c.connect(&greedy),
        Err(BlockError::CoinbaseOverpays {
            paid: Amount::from_units(allowed.units() + 1),
            allowed
        })
    );
    assert_eq!(c.connect(&c.block_with(vec![pay], fee)), Ok(()));
}

#[test]
fn subsidy_halves_on_regtest_after_150_blocks() {
    let mut c = regtest();
    c.mine(149);
    // Height 150 pays 25 coins: a 50-coin coinbase is rejected.
    let mut block = c.block_with(vec![], 0);
    block.txs[0] = coinbase(
        150,
        address(&c.miner),
        Amount::from_units(50 * chain_node::COIN),
    );
    relabel(&mut block);
    assert!(matches!(
        c.connect(&block),
        Err(BlockError::CoinbaseOverpays { .. })
    ));
    assert_eq!(c.connect(&c.block_with(vec![], 0)), Ok(()));
}

#[test]
fn coinbase_matures_after_100_blocks() {
    let mut c = regtest();
    c.mine(99);
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let pay = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(coin.amount, address(&key(1)))],
    );
    // At height 100 the coinbase of height 1 has depth 99.
    let early = c.block_with(vec![pay.clone()], 0);
    assert_eq!(
        tx_err(c.connect(&early)),
        TxError::ImmatureCoinbase {
            outpoint: op,
            depth: 99
        }
    );
    c.mine(1);
    assert_eq!(c.connect(&c.block_with(vec![pay], 0)), Ok(()));
}

#[test]
fn transactions_need_inputs_and_outputs() {
    let no_inputs = Transaction {
        version: 1,
        inputs: TxInputs::Spend(vec![]),
        outputs: vec![TxOut::pay(Amount::from_units(1), address(&key(1)))],
    };
    assert_eq!(check_transaction(&no_inputs), Err(TxError::NoInputs));
    let c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let no_outputs = spend(&c.params, &[(op, coin, &c.miner)], vec![]);
    assert_eq!(check_transaction(&no_outputs), Err(TxError::NoOutputs));
    let mut c = c;
    let block = c.block_with(vec![no_outputs], 0);
    assert_eq!(tx_err(c.connect(&block)), TxError::NoOutputs);
}

#[test]
fn duplicate_inputs_are_rejected() {
    let mut c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let dup = spend(
        &c.params,
        &[(op, coin, &miner), (op, coin, &miner)],
        vec![TxOut::pay(coin.amount, address(&key(1)))],
    );
    let block = c.block_with(vec![dup], 0);
    assert_eq!(
        tx_err(c.connect(&block)),
        TxError::DuplicateInput { outpoint: op }
    );
}

#[test]
fn output_values_must_be_in_range() {
    let mut c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let too_big = Amount::from_units(MAX_MONEY.units() + 1);
    let one = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(too_big, address(&key(1)))],
    );
    assert_eq!(
        check_transaction(&one),
        Err(TxError::OutputOutOfRange {
            index: 0,
            amount: too_big
        })
    );
    let sum = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![
            TxOut::pay(MAX_MONEY, address(&key(1))),
            TxOut::pay(MAX_MONEY, address(&key(1))),
        ],
    );
    let block = c.block_with(vec![sum], 0);
    assert_eq!(tx_err(c.connect(&block)), TxError::TotalOutOfRange);
}

#[test]
fn outputs_may_not_exceed_inputs() {
    let mut c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let more = Amount::from_units(coin.amount.units() + 1);
    let tx = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(more, address(&key(1)))],
    );
    let block = c.block_with(vec![tx], 0);
    assert_eq!(
        tx_err(c.connect(&block)),
        TxError::InsufficientInputs {
            inputs: coin.amount,
            outputs: more
        }
    );
}

#[test]
fn inputs_must_exist_and_be_unspent() {
    let mut c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let missing = OutPoint {
        txid: TxId([9; 32]),
        vout: 0,
    };
    let tx = spend(
        &c.params,
        &[(missing, coin, &miner)],
        vec![TxOut::pay(coin.amount, address(&key(1)))],
    );
    let block = c.block_with(vec![tx], 0);
    assert_eq!(
        tx_err(c.connect(&block)),
        TxError::MissingInput { outpoint: missing }
    );
    // Spent in one block, spent again in the next.
    let first = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(coin.amount, address(&key(1)))],
    );
    c.connect(&c.block_with(vec![first], 0)).unwrap();
    let again = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(coin.amount, address(&key(2)))],
    );
    let block = c.block_with(vec![again], 0);
    assert_eq!(
        tx_err(c.connect(&block)),
        TxError::MissingInput { outpoint: op }
    );
}

#[test]
fn no_double_spend_inside_a_block() {
    let mut c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let a = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(coin.amount, address(&key(1)))],
    );
    let b = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(coin.amount, address(&key(2)))],
    );
    let block = c.block_with(vec![a, b], 0);
    assert_eq!(
        c.connect(&block),
        Err(BlockError::DoubleSpendInBlock {
            index: 2,
            outpoint: op
        })
    );
}

#[test]
fn chained_spend_inside_a_block_is_allowed() {
    let mut c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let k1 = key(1);
    let a = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(coin.amount, address(&k1))],
    );
    let a_out = OutPoint {
        txid: a.txid(),
        vout: 0,
    };
    let a_coin = chain_node::validation::Coin {
        amount: coin.amount,
        address: address(&k1),
        height: Height(101),
        is_coinbase: false,
    };
    let b = spend(
        &c.params,
        &[(a_out, a_coin, &k1)],
        vec![TxOut::pay(coin.amount, address(&key(2)))],
    );
    assert_eq!(c.connect(&c.block_with(vec![a, b], 0)), Ok(()));
}

#[test]
fn signatures_are_strict_and_bound_to_key_amounts_and_chain() {
    let mut c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let outs = vec![TxOut::pay(coin.amount, address(&key(1)))];

    // Flipped signature bit.
    let mut bad = spend(&c.params, &[(op, coin, &miner)], outs.clone());
    if let TxInputs::Spend(ins) = &mut bad.inputs {
        ins[0].signature[3] ^= 1;
    }
    let txid = bad.txid();
    let block = c.block_with(vec![bad], 0);
    assert_eq!(
        c.connect(&block),
        Err(BlockError::Tx {
            index: 1,
            txid,
            source: TxError::BadSignature { index: 0 }
        })
    );

    // A key that does not hash to the spent address.
    let stranger = key(77);
    let wrong = spend(&c.params, &[(op, coin, &stranger)], outs.clone());
    assert_eq!(
        tx_err(c.connect(&c.block_with(vec![wrong], 0))),
        TxError::WrongKey { index: 0 }
    );

    // Signed for another chain id (testnet's genesis).
    let testnet = Network::Testnet.params();
    let other_chain = spend(&testnet, &[(op, coin, &miner)], outs.clone());
    assert_eq!(
        tx_err(c.connect(&c.block_with(vec![other_chain], 0))),
        TxError::BadSignature { index: 0 }
    );

    // Signed over a wrong spent amount.
    let mut lied = coin;
    lied.amount = Amount::from_units(coin.amount.units() - 1);
    let wrong_amount = spend(&c.params, &[(op, lied, &miner)], outs.clone());
    assert_eq!(
        tx_err(c.connect(&c.block_with(vec![wrong_amount], 0))),
        TxError::BadSignature { index: 0 }
    );

    // Changing an output or another input's outpoint after signing breaks the signature.
    let signed = spend(&c.params, &[(op, coin, &miner)], outs.clone());
    let mut changed_out = signed.clone();
    changed_out.outputs[0].amount = Amount::from_units(coin.amount.units() - 7);
    assert_eq!(
        tx_err(c.connect(&c.block_with(vec![changed_out], 7))),
        TxError::BadSignature { index: 0 }
    );
    let mut redirected = signed.clone();
    redirected.outputs[0].kind = OutputKind::Pay(address(&key(99)));
    assert_eq!(
        tx_err(c.connect(&c.block_with(vec![redirected], 0))),
        TxError::BadSignature { index: 0 }
    );

    let good = spend(&c.params, &[(op, coin, &miner)], outs);
    assert_eq!(c.connect(&c.block_with(vec![good], 0)), Ok(()));
}

#[test]
fn resigning_keeps_the_txid_but_changes_the_block_commitment() {
    let c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let outs = vec![TxOut::pay(coin.amount, address(&key(1)))];
    let good = spend(&c.params, &[(op, coin, &c.miner)], outs);
    // Another valid signature by the same key: same message, another nonce.
    let digest = oracle::sighash(&good, &c.params.genesis_hash(), 0, &[coin.amount.units()]);
    let mut resigned = good.clone();
    if let TxInputs::Spend(ins) = &mut resigned.inputs {
        ins[0].signature = oracle::sign_with_nonce(&c.miner, &digest, b"another nonce");
    }
    assert_ne!(good, resigned);
    // Outpoints name the txid, which signatures cannot change.
    assert_eq!(good.txid(), resigned.txid());
    // The wtxid is SHA-256d of the full encoding (oracle: encoded and hashed here).
    assert_eq!(good.wtxid().0, oracle::wtxid(&good));
    assert_eq!(resigned.wtxid().0, oracle::wtxid(&resigned));
    assert_ne!(good.wtxid(), resigned.wtxid());
    // So the Merkle root over the wtxids, and with it the block hash, change too.
    let block = c.block_with(vec![good], 0);
    assert_eq!(block.header.merkle_root, oracle::merkle_root(&block.txs));
    let mut copy = block.clone();
    copy.txs[1] = resigned;
    assert_eq!(copy.compute_merkle_root(), oracle::merkle_root(&copy.txs));
    assert_ne!(copy.compute_merkle_root(), block.header.merkle_root);
    let err = check_block(&copy, &c.params).unwrap_err();
    assert_eq!(err, BlockError::BadMerkleRoot);
    assert!(err.is_mutation());
    // Relabelled, the re-signed block is another block, with another hash, and as valid
    // as the first.
    let mut committed = copy.clone();
    relabel(&mut committed);
    assert_ne!(committed.hash(), block.hash());
    let mut a = c;
    let mut b = matured();
    assert_eq!(a.connect(&block), Ok(()));
    assert_eq!(b.connect(&committed), Ok(()));
}

#[test]
fn burn_outputs_carry_at_most_256_bytes_and_create_no_coin() {
    let mut c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let burn = |n: usize| TxOut {
        amount: Amount::from_units(5),
        kind: OutputKind::Burn(vec![0xab; n]),
    };
    let big = spend(&c.params, &[(op, coin, &miner)], vec![burn(257)]);
    assert_eq!(
        check_transaction(&big),
        Err(TxError::BurnTooLarge {
            index: 0,
            length: 257
        })
    );
    let ok = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![
            burn(256),
            TxOut::pay(
                Amount::from_units(coin.amount.units() - 5),
                address(&key(1)),
            ),
        ],
    );
    let txid = ok.txid();
    c.connect(&c.block_with(vec![ok], 0)).unwrap();
    assert!(
        !c.utxo.contains_key(&OutPoint { txid, vout: 0 }),
        "burn output is not a coin"
    );
    assert!(c.utxo.contains_key(&OutPoint { txid, vout: 1 }));
}

#[test]
fn work_grows_as_target_shrinks() {
    // Naive oracle: for targets 2^k - 1, work is exactly 2^(256-k).
    for k in [200u32, 224, 255] {
        let t = Target::new(U256::ONE.shl(k).checked_sub(&U256::ONE).unwrap()).unwrap();
        assert_eq!(t.work(), U256::ONE.shl(256 - k));
    }
}

#[test]
fn the_same_transaction_twice_is_rejected() {
    let mut c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let miner = c.miner.clone();
    let tx = spend(
        &c.params,
        &[(op, coin, &miner)],
        vec![TxOut::pay(coin.amount, address(&key(1)))],
    );
    let txid = tx.txid();
    let block = c.block_with(vec![tx.clone(), tx], 0);
    assert_eq!(c.connect(&block), Err(BlockError::DuplicateTx { txid }));
}

#[test]
fn size_and_extra_data_bounds() {
    let c = regtest();
    let mut block = c.block_with(vec![], 0);
    block.txs[0].inputs = TxInputs::Coinbase {
        height: Height(1),
        extra: vec![0; 101],
    };
    relabel(&mut block);
    assert_eq!(
        check_block(&block, &c.params).map_err(|e| e.tx_error().cloned()),
        Err(Some(TxError::CoinbaseExtraTooLarge { length: 101 }))
    );
    let c = matured();
    let (op, coin) = c.coinbase_coin(1);
    let burn = TxOut {
        amount: Amount::ZERO,
        kind: OutputKind::Burn(vec![0; 256]),
    };
    let big = spend(&c.params, &[(op, coin, &c.miner)], vec![burn; 400]);
    assert!(matches!(
        check_transaction(&big),
        Err(TxError::TooLarge { max: 100_000, .. })
    ));
}

#[test]
fn input_sum_out_of_range_and_coinbase_as_spend_are_rejected() {
    use chain_node::validation::{Coin, check_inputs};
    use std::collections::HashMap;
    let params = Network::Regtest.params();
    let k = key(1);
    let rich = Coin {
        amount: MAX_MONEY,
        address: address(&k),
        height: Height(1),
        is_coinbase: false,
    };
    let a = OutPoint {
        txid: TxId([1; 32]),
        vout: 0,
    };
    let b = OutPoint {
        txid: TxId([2; 32]),
        vout: 0,
    };
    let view: HashMap<OutPoint, Coin> = [(a, rich), (b, rich)].into_iter().collect();
    let tx = spend(
        &params,
        &[(a, rich, &k), (b, rich, &k)],
        vec![TxOut::pay(Amount::from_units(1), address(&k))],
    );
    assert_eq!(
        check_inputs(&tx, &view, Height(200), &params.genesis_hash()).map(|c| c.fee),
        Err(TxError::InputsOutOfRange)
    );
    let cb = coinbase(5, address(&k), Amount::from_units(1));
    assert_eq!(
        check_inputs(&cb, &view, Height(200), &params.genesis_hash()).map(|c| c.fee),
        Err(TxError::UnexpectedCoinbase)
    );
}
