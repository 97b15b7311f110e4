//! What a block's hash commits to, and what a signature signs, against the naive oracles
//! of `oracle.rs`: every byte of a block is covered by its hash or by the Merkle check;
//! the signature digest covers every committed field, hashes a transaction once, and
//! fees are checked before any signature is hashed or verified.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use chain_node::encoding::decode_exact;
use chain_node::error::{BlockError, MempoolError};
use chain_node::mempool::{Mempool, MempoolConfig};
use chain_node::signature::SigMode;
use chain_node::validation::{Coin, check_block, check_inputs, check_spends, sig_checks};
use chain_node::{
    Address, Amount, Block, BlockHash, Height, MAX_TX_SIZE, Network, OutPoint, OutputKind,
    Transaction, TxId, TxIn, TxInputs, TxOut, TxSighash,
};

use crate::helpers::{MemChain, address, key, spend};
use crate::largest_tx::{INPUTS, largest_spend};
use crate::oracle;

/// A block at height 102 with three spends (one with two inputs).
fn block_with_spends() -> (MemChain, Block) {
    let mut c = MemChain::new(Network::Regtest.params());
    c.mine(102);
    let miner = c.miner.clone();
    let (op1, c1) = c.coinbase_coin(1);
    let (op2, c2) = c.coinbase_coin(2);
    let (op3, c3) = c.coinbase_coin(3);
    let pay = |coin: &Coin, to: u8| vec![TxOut::pay(coin.amount, address(&key(to)))];
    let t1 = spend(&c.params, &[(op1, c1, &miner)], pay(&c1, 1));
    let mut both = c2;
    both.amount = Amount::from_units(c2.amount.units() + c3.amount.units());
    let t2 = spend(
        &c.params,
        &[(op2, c2, &miner), (op3, c3, &miner)],
        pay(&both, 2),
    );
    let child_coin = Coin {
        amount: c1.amount,
        address: address(&key(1)),
        height: Height(103),
        is_coinbase: false,
    };
    let t3 = spend(
        &c.params,
        &[(
            OutPoint {
                txid: t1.txid(),
                vout: 0,
            },
            child_coin,
            &key(1),
        )],
        pay(&c1, 3),
    );
    let block = c.block_with(vec![t1, t2, t3], 0);
    (c, block)
}

#[test]
fn the_merkle_root_is_rfc6962_over_the_wtxids_of_the_block() {
    let (mut c, block) = block_with_spends();
    assert_eq!(block.header.merkle_root, oracle::merkle_root(&block.txs));
    for tx in &block.txs {
        assert_eq!(tx.to_bytes(), oracle::encode(tx));
        assert_eq!(tx.wtxid().0, oracle::wtxid(tx));
        assert_eq!(tx.txid().0, oracle::sha256d(&oracle::unsigned(tx)));
    }
    assert_eq!(c.connect(&block), Ok(()));
}

#[test]
fn reordered_duplicated_or_dropped_transactions_fail_the_merkle_check() {
    let (c, block) = block_with_spends();
    let mut copies = Vec::new();
    let mut swapped = block.clone();
    swapped.txs.swap(1, 2);
    copies.push(swapped);
    // With four leaves, repeat the last two: Bitcoin's tree (CVE-2012-2459) would give the
    // same root for [a, b, c, d] and [a, b, c, d, c, d].
    let mut repeated = block.clone();
    repeated.txs.extend_from_slice(&block.txs[2..]);
    copies.push(repeated);
    let mut dropped = block.clone();
    dropped.txs.pop();
    copies.push(dropped);
    let mut empty = block.clone();
    empty.txs.clear();
    copies.push(empty);
    for copy in copies {
        assert_ne!(oracle::merkle_root(&copy.txs), block.header.merkle_root);
        let err = check_block(&copy, &c.params).unwrap_err();
        assert_eq!(err, BlockError::BadMerkleRoot);
        assert!(err.is_mutation());
    }
}

#[test]
fn every_changed_byte_of_a_block_changes_its_hash_or_fails_the_merkle_check() {
    let (c, block) = block_with_spends();
    assert_eq!(check_block(&block, &c.params), Ok(()));
    let bytes = block.to_bytes();
    let hash = block.hash();
    // A byte string other than `bytes` either does not decode, or decodes to a block
    // with another hash, or keeps the hash and fails as a mutation before anything else.
    let judge = |mutated: &[u8], what: &str| {
        let Ok(copy) = decode_exact::<Block>(mutated) else {
            return;
        };
        if copy.hash() != hash {
            return;
        }
        match check_block(&copy, &c.params) {
            Err(e) => assert!(e.is_mutation(), "{what}: {e:?}"),
            Ok(()) => panic!("{what}: a different block value passes under the same hash"),
        }
    };
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut m = bytes.clone();
            m[i] ^= bit;
            judge(&m, &format!("bit {bit:#x} of byte {i}"));
        }
        let mut removed = bytes.clone();
        removed.remove(i);
        judge(&removed, &format!("byte {i} removed"));
        let mut inserted = bytes.clone();
        inserted.insert(i, bytes[i]);
        judge(&inserted, &format!("byte {i} repeated"));
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode_exact::<Block>(&longer).is_err());
}

/// A transaction with three inputs and two outputs, unsigned.
fn three_inputs() -> (Transaction, Vec<u64>) {
    let ins = (0..3u8)
        .map(|i| TxIn {
            prevout: OutPoint {
                txid: TxId([i + 1; 32]),
                vout: u32::from(i),
            },
            pubkey: key(i + 1).verifying_key().to_bytes(),
            signature: [0; 64],
        })
        .collect();
    let tx = Transaction {
        version: 1,
        inputs: TxInputs::Spend(ins),
        outputs: vec![
            TxOut::pay(Amount::from_units(1_000), Address([9; 32])),
            TxOut {
                amount: Amount::ZERO,
                kind: OutputKind::Burn(vec![1, 2, 3]),
            },
        ],
    };
    (tx, vec![5_000, 6_000, 7_000])
}

fn digests(tx: &Transaction, chain_id: &BlockHash, spent: &[u64]) -> Vec<[u8; 32]> {
    let amounts: Vec<Amount> = spent.iter().map(|a| Amount::from_units(*a)).collect();
    let shared = TxSighash::new(tx, chain_id, &amounts);
    (0..tx.spends().len() as u32)
        .map(|i| {
            let d = shared.input(i);
            assert_eq!(d, oracle::sighash(tx, chain_id, i, spent), "input {i}");
            assert_eq!(d, tx.sighash(chain_id, i, &amounts), "input {i}");
            d
        })
        .collect()
}

#[test]
fn the_sighash_of_every_input_changes_with_every_committed_field() {
    let chain = Network::Regtest.params().genesis_hash();
    let (tx, spent) = three_inputs();
    let base = digests(&tx, &chain, &spent);
    // The index: no two inputs sign the same digest.
    assert!(base[0] != base[1] && base[1] != base[2] && base[0] != base[2]);

    let edit = |f: &dyn Fn(&mut Transaction)| {
        let mut t = tx.clone();
        f(&mut t);
        t
    };
    fn input(t: &mut Transaction, i: usize) -> &mut TxIn {
        let TxInputs::Spend(ins) = &mut t.inputs else {
            unreachable!()
        };
        &mut ins[i]
    }
    let mut cases: Vec<(&str, Transaction, BlockHash, Vec<u64>)> = Vec::new();
    for i in 0..3 {
        cases.push((
            "outpoint txid",
            edit(&|t| input(t, i).prevout.txid.0[31] ^= 1),
            chain,
            spent.clone(),
        ));
        cases.push((
            "outpoint vout",
            edit(&|t| input(t, i).prevout.vout += 1),
            chain,
            spent.clone(),
        ));
        cases.push((
            "key",
            edit(&|t| input(t, i).pubkey = key(50).verifying_key().to_bytes()),
            chain,
            spent.clone(),
        ));
        let mut amounts = spent.clone();
        amounts[i] += 1;
        cases.push(("spent amount", tx.clone(), chain, amounts));
    }
    cases.push((
        "output amount",
        edit(&|t| t.outputs[0].amount = Amount::from_units(1_001)),
        chain,
        spent.clone(),
    ));
    cases.push((
        "output address",
        edit(&|t| t.outputs[0].kind = OutputKind::Pay(Address([8; 32]))),
        chain,
        spent.clone(),
    ));
    cases.push((
        "burn data",
        edit(&|t| t.outputs[1].kind = OutputKind::Burn(vec![1, 2, 4])),
        chain,
        spent.clone(),
    ));
    cases.push((
        "an added output",
        edit(&|t| t.outputs.push(TxOut::pay(Amount::ZERO, Address([7; 32])))),
        chain,
        spent.clone(),
    ));
    cases.push(("version", edit(&|t| t.version = 2), chain, spent.clone()));
    cases.push((
        "chain id",
        tx.clone(),
        Network::Testnet.params().genesis_hash(),
        spent.clone(),
    ));
    for (what, t, chain_id, amounts) in &cases {
        let changed = digests(t, chain_id, amounts);
        for i in 0..3 {
            assert_ne!(
                changed[i], base[i],
                "{what} left input {i}'s digest unchanged"
            );
        }
    }
    // Signatures are what signs the digest, not part of it.
    let signed = edit(&|t| input(t, 1).signature = [5; 64]);
    assert_eq!(digests(&signed, &chain, &spent), base);
}

#[test]
fn the_largest_transaction_is_hashed_once_not_once_per_input() {
    // 757 inputs, the most a transaction can hold. Its signature checks must equal the
    // oracle's digests, whose shared part hashes the transaction once and whose
    // per-input part hashes a constant 63 bytes (the cost is measured by the
    // `sighash` bench).
    let chain = Network::Regtest.params().genesis_hash();
    let n = INPUTS;
    let (tx, view) = largest_spend(key(1).verifying_key().to_bytes());
    assert!(tx.size() <= MAX_TX_SIZE);
    let spent: Vec<u64> = (0..n).map(|i| 1_000 + u64::from(i)).collect();
    let checked = check_inputs(&tx, &view, Height(200), &chain).unwrap();
    assert_eq!(checked.sig_checks.len(), n as usize);
    let coins = check_spends(&tx, &view, Height(200)).unwrap();
    assert_eq!(sig_checks(&tx, &chain, &coins.spent), checked.sig_checks);
    for (i, check) in (0u32..).zip(&checked.sig_checks) {
        assert_eq!(
            check.message,
            oracle::sighash(&tx, &chain, i, &spent),
            "input {i}"
        );
    }
}

#[test]
fn fees_are_checked_before_signatures() {
    // A transaction with a bad signature that pays too little is refused for its fee:
    // the signature is never hashed or verified.
    let mut c = MemChain::new(Network::Regtest.params());
    c.mine(101);
    let (op, coin) = c.coinbase_coin(1);
    let mut cheap = spend(
        &c.params,
        &[(op, coin, &c.miner)],
        vec![TxOut::pay(coin.amount, address(&key(1)))],
    );
    if let TxInputs::Spend(ins) = &mut cheap.inputs {
        ins[0].signature[0] ^= 1;
    }
    let pool = Mempool::new(MempoolConfig::default());
    let strict = SigMode::Strict { threads: 1 };
    let ctx = crate::helpers::context(&c.params, &c.utxo, Height(c.next_height()), strict);
    assert!(matches!(
        pool.check(&cheap, &ctx),
        Err(MempoolError::FeeTooLow { rate: 0, .. })
    ));
    // Outputs above the inputs: refused as such, whatever the signature.
    let mut greedy = cheap.clone();
    greedy.outputs[0].amount = Amount::from_units(coin.amount.units() + 1);
    assert!(matches!(
        pool.check(&greedy, &ctx),
        Err(MempoolError::Invalid {
            source: chain_node::error::TxError::InsufficientInputs { .. },
            ..
        })
    ));
    // Paying a fee, the same bad signature is found.
    let mut paying = cheap.clone();
    paying.outputs[0].amount = Amount::from_units(coin.amount.units() - 10_000);
    assert!(matches!(
        pool.check(&paying, &ctx),
        Err(MempoolError::Invalid {
            source: chain_node::error::TxError::BadSignature { index: 0 },
            ..
        })
    ));
}
