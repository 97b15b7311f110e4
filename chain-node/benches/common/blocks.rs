//! Blocks for measurements: keys, signed spends, a coinbase fanned out into many coins,
//! and blocks of one payment per coin mined through the mempool.
#![allow(dead_code)]

use chain_node::validation::Coin;
use chain_node::{
    Address, Amount, Block, BlockHash, Height, Node, OutPoint, Transaction, TxIn, TxInputs, TxOut,
};
use ed25519_dalek::SigningKey;

/// A key made from `seed`.
pub(crate) fn key(seed: u64) -> SigningKey {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&seed.to_le_bytes());
    b[8] = 1;
    SigningKey::from_bytes(&b)
}

/// The address of `k`.
pub(crate) fn address(k: &SigningKey) -> Address {
    Address::from_pubkey(&k.verifying_key().to_bytes())
}

/// A stored block, read through the node.
pub(crate) fn block(node: &Node, hash: &BlockHash) -> Block {
    let hash = *hash;
    node.read(move |v| v.chain().block(&hash).unwrap().unwrap())
        .unwrap()
}

/// A transaction spending `inputs` (all `k`'s) to `outputs`, signed.
pub(crate) fn sign_spend(
    node: &Node,
    inputs: &[(OutPoint, Amount)],
    k: &SigningKey,
    outputs: Vec<TxOut>,
) -> Transaction {
    let mut tx = Transaction {
        version: 1,
        inputs: TxInputs::Spend(
            inputs
                .iter()
                .map(|(prevout, _)| TxIn {
                    prevout: *prevout,
                    pubkey: [0; 32],
                    signature: [0; 64],
                })
                .collect(),
        ),
        outputs,
    };
    let keys = vec![k.clone(); inputs.len()];
    let amounts: Vec<Amount> = inputs.iter().map(|(_, a)| *a).collect();
    tx.sign(&node.params().genesis_hash(), &keys, &amounts);
    tx
}

/// Mines 101 blocks to `k` and fans the first coinbase out into `n` outputs, confirmed.
pub(crate) fn fan_out(node: &Node, k: &SigningKey, n: usize) -> Vec<(OutPoint, Amount)> {
    fan_out_many(node, k, 1, n).remove(0)
}

/// Mines 100 + `sets` blocks to `k` and fans each of the first `sets` coinbases out into
/// `n` outputs, confirmed in one block.
pub(crate) fn fan_out_many(
    node: &Node,
    k: &SigningKey,
    sets: usize,
    n: usize,
) -> Vec<Vec<(OutPoint, Amount)>> {
    node.generate(100 + sets as u32, address(k)).unwrap();
    let mut out = Vec::new();
    for h in 1..=sets as u32 {
        let (op, coin) = node
            .read(move |v| {
                let chain = v.chain();
                let b = chain
                    .block(&chain.hash_at(Height(h)).unwrap())
                    .unwrap()
                    .unwrap();
                let op = OutPoint {
                    txid: b.txs[0].txid(),
                    vout: 0,
                };
                let coin: Coin = chain.coin(&op).unwrap().unwrap();
                (op, coin)
            })
            .unwrap();
        let each = (coin.amount.units() - 1_000_000) / n as u64;
        let outs = (0..n)
            .map(|_| TxOut::pay(Amount::from_units(each), address(k)))
            .collect();
        let tx = sign_spend(node, &[(op, coin.amount)], k, outs);
        let txid = tx.txid();
        node.submit_transaction(tx).unwrap();
        out.push(
            (0..n as u32)
                .map(|vout| (OutPoint { txid, vout }, Amount::from_units(each)))
                .collect(),
        );
    }
    node.generate(1, address(k)).unwrap();
    out
}

/// Submits one payment per coin of `k` to `to` to the mempool and mines them into one
/// block; returns it and the coins it created.
pub(crate) fn mine_spends(
    node: &Node,
    k: &SigningKey,
    coins: &[(OutPoint, Amount)],
    to: &SigningKey,
) -> (BlockHash, Vec<(OutPoint, Amount)>) {
    let mut created = Vec::with_capacity(coins.len());
    for (op, amount) in coins {
        let pays = Amount::from_units(amount.units() - 10_000);
        let tx = sign_spend(
            node,
            &[(*op, *amount)],
            k,
            vec![TxOut::pay(pays, address(to))],
        );
        created.push((
            OutPoint {
                txid: tx.txid(),
                vout: 0,
            },
            pays,
        ));
        node.submit_transaction(tx).unwrap();
    }
    let hash = node.generate(1, address(k)).unwrap()[0];
    assert_eq!(block(node, &hash).txs.len(), coins.len() + 1);
    (hash, created)
}

/// `n` empty blocks on the regtest genesis paying `to`, one second apart and ending an
/// hour before now (a history, as a real chain's, rather than blocks mined faster than
/// the clock, whose times would run more than two hours ahead).
pub(crate) fn empty_history(n: u32, to: Address) -> Vec<Block> {
    let params = chain_node::Network::Regtest.params();
    let target = chain_node::pow::Target::from_compact(params.pow_limit).unwrap();
    let now = chain_node::unix_now();
    let first = u32::try_from(now).unwrap() - 3_600 - n;
    let mut prev = params.genesis.header;
    (1..=n)
        .map(|h| {
            let txs = vec![Transaction::coinbase(
                Height(h),
                Vec::new(),
                vec![
                    TxOut::pay(chain_node::block_subsidy(Height(h), &params), to),
                    // No name operations: the empty name state's root.
                    chain_node::name_root::name_root_output(&naming::StateRoot([0; 32])),
                ],
            )];
            let mut header = chain_node::Header {
                version: 1,
                prev: prev.hash(),
                merkle_root: [0; 32],
                time: first + h,
                bits: params.pow_limit,
                nonce: 0,
            };
            let block = Block { header, txs };
            header.merkle_root = block.compute_merkle_root();
            while !target.is_met_by(&header.hash()) {
                header.nonce += 1;
            }
            prev = header;
            Block {
                header,
                txs: block.txs,
            }
        })
        .collect()
}
