//! Targets for `chain-node`'s canonical encoding: headers, transactions, blocks and the
//! chain-state records (coins, undo data, block index entries).
//!
//! Property of every target: decoding never panics, and whatever decodes re-encodes to
//! exactly the input bytes, so no value has two encodings (the encoding is canonical).
//! Decoded values then go through the context-free rules, which must not panic either.

use std::fmt::Debug;

use chain_node::encoding::{
    BlockStatus, Decode, Encode, Failure, IndexEntry, Validity, decode_exact, encode_to_vec,
};
use chain_node::p2p::{ChainStatus, SyncRequest, SyncResponse};
use chain_node::u256::U256;
use chain_node::validation::{BlockUndo, Coin, check_block, check_transaction};
use chain_node::{
    Address, Amount, Block, Header, Height, Network, OutPoint, OutputKind, Transaction, TxIn,
    TxInputs, TxOut,
};
use ed25519_dalek::SigningKey;

/// Decodes a `T` from all of `data`; what decodes must re-encode to `data` exactly.
///
/// # Panics
/// When an accepted input is not the canonical encoding of its value.
fn canonical<T: Decode + Encode + Debug>(data: &[u8]) -> Option<T> {
    let value = decode_exact::<T>(data).ok()?;
    let again = encode_to_vec(&value);
    assert!(
        again == data,
        "accepted a non-canonical encoding: {value:?} re-encodes to {} instead of {}",
        hex::encode(&again),
        hex::encode(data)
    );
    Some(value)
}

/// Headers: 80 bytes, canonical; hashing never panics.
pub fn header(data: &[u8]) -> bool {
    let Some(h) = canonical::<Header>(data) else {
        return false;
    };
    assert_eq!(h.to_bytes().as_slice(), data);
    let _ = h.hash();
    true
}

/// Transactions: canonical, `size` is the encoded length, the context-free rules
/// answer without panicking.
pub fn transaction(data: &[u8]) -> bool {
    let Some(tx) = canonical::<Transaction>(data) else {
        return false;
    };
    assert_eq!(tx.size(), data.len(), "size() disagrees with the encoding");
    assert_eq!(tx.to_bytes(), data);
    let _ = tx.txid();
    let _ = check_transaction(&tx);
    true
}

/// Blocks: canonical, `size` is the encoded length; the Merkle root and the
/// context-free block rules (on regtest, where half of all hashes meet the target)
/// answer without panicking.
pub fn block(data: &[u8]) -> bool {
    let Some(block) = canonical::<Block>(data) else {
        return false;
    };
    assert_eq!(
        block.size(),
        data.len(),
        "size() disagrees with the encoding"
    );
    let _ = block.compute_merkle_root();
    let _ = check_block(&block, &Network::Regtest.params());
    true
}

/// Chain protocol messages (docs/p2p.md): the first byte says which (0 status,
/// 1 request, 2 response), the rest is its encoding, which must be canonical.
pub fn p2p_message(data: &[u8]) -> bool {
    match data.split_first() {
        Some((0, rest)) => canonical::<ChainStatus>(rest).is_some(),
        Some((1, rest)) => canonical::<SyncRequest>(rest).is_some(),
        Some((2, rest)) => canonical::<SyncResponse>(rest).is_some(),
        _ => false,
    }
}

/// Seeds of [`p2p_message`]: a status, both requests and both responses.
pub fn p2p_message_seeds() -> Vec<Vec<u8>> {
    let blocks = sample_blocks();
    let hashes: Vec<_> = blocks.iter().map(Block::hash).collect();
    let status = ChainStatus {
        network: "regtest".into(),
        genesis: Network::Regtest.params().genesis_hash(),
        best_height: Height(7),
        best_hash: hashes.first().copied().unwrap_or_default(),
        best_work: U256::from_u64(1 << 40),
        tip_height: Height(5),
        tip_hash: hashes.last().copied().unwrap_or_default(),
    };
    let tagged = |tag: u8, bytes: Vec<u8>| {
        let mut out = vec![tag];
        out.extend(bytes);
        out
    };
    vec![
        tagged(0, encode_to_vec(&status)),
        tagged(
            1,
            encode_to_vec(&SyncRequest::GetHeaders {
                locator: hashes.clone(),
                stop: None,
            }),
        ),
        tagged(
            1,
            encode_to_vec(&SyncRequest::GetHeaders {
                locator: Vec::new(),
                stop: hashes.first().copied(),
            }),
        ),
        tagged(1, encode_to_vec(&SyncRequest::GetBlocks(hashes))),
        tagged(
            2,
            encode_to_vec(&SyncResponse::Headers(
                blocks.iter().map(|b| b.header).collect(),
            )),
        ),
        tagged(2, encode_to_vec(&SyncResponse::Blocks(blocks))),
    ]
}

/// Coins as the chain state stores them.
pub fn coin(data: &[u8]) -> bool {
    canonical::<Coin>(data).is_some()
}

/// Undo data of one block.
pub fn block_undo(data: &[u8]) -> bool {
    canonical::<BlockUndo>(data).is_some()
}

/// Block index entries.
pub fn index_entry(data: &[u8]) -> bool {
    canonical::<IndexEntry>(data).is_some()
}

/// A chunk of a large coins flush's redo log, read back from disk at open: decoding
/// never panics, and an accepted chunk is written back to the same bytes.
pub fn redo_chunk(data: &[u8]) -> bool {
    let Ok(writes) = chain_node::redo_log::decode_chunk(data) else {
        return false;
    };
    assert_eq!(
        chain_node::redo_log::encode_chunk(&writes),
        data,
        "{writes:?} re-encodes differently"
    );
    true
}

/// Seeds of [`redo_chunk`]: an empty chunk, puts and removes of coin-like and
/// index-like records, and a put of an empty value.
pub fn redo_chunk_seeds() -> Vec<Vec<u8>> {
    let coin = vec![b'c'; 37];
    let mut writes: Vec<chain_node::redo_log::Write> = vec![
        (coin.clone(), Some(vec![7; 45])),
        (coin, None),
        (b"t".to_vec(), Some(vec![1; 32])),
        (vec![b'x', b'n'], Some(Vec::new())),
    ];
    for b in sample_blocks().iter().take(2) {
        let mut k = vec![b'i'];
        k.extend_from_slice(b.hash().as_bytes());
        writes.push((k, Some(b.header.to_bytes().to_vec())));
    }
    vec![
        Vec::new(),
        chain_node::redo_log::encode_chunk(&writes),
        chain_node::redo_log::encode_chunk(writes.get(..1).unwrap_or_default()),
    ]
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn address(seed: u8) -> Address {
    Address::from_pubkey(&key(seed).verifying_key().to_bytes())
}

/// A signed spend of two inputs with a payment, a change output and a burn output.
fn sample_spend() -> Transaction {
    let params = Network::Regtest.params();
    let inputs = (0..2u8)
        .map(|i| TxIn {
            prevout: OutPoint {
                txid: params
                    .genesis
                    .txs
                    .first()
                    .map(Transaction::txid)
                    .unwrap_or_default(),
                vout: u32::from(i),
            },
            pubkey: key(1 + i).verifying_key().to_bytes(),
            signature: [0; 64],
        })
        .collect();
    let mut tx = Transaction {
        version: 1,
        inputs: TxInputs::Spend(inputs),
        outputs: vec![
            TxOut::pay(Amount::from_units(1_000), address(9)),
            TxOut::pay(Amount::from_units(4_000), address(1)),
            TxOut {
                amount: Amount::ZERO,
                kind: OutputKind::Burn(b"name:example".to_vec()),
            },
        ],
    };
    tx.sign(
        &params.genesis_hash(),
        &[key(1), key(2)],
        &[Amount::from_units(3_000), Amount::from_units(2_500)],
    );
    tx
}

/// Blocks: each network's genesis, and a block with a coinbase and a signed spend.
fn sample_blocks() -> Vec<Block> {
    let mut blocks: Vec<Block> = [Network::Regtest, Network::Testnet]
        .iter()
        .map(|n| n.params().genesis)
        .collect();
    let regtest = Network::Regtest.params();
    let txs = vec![
        Transaction::coinbase(
            Height(1),
            b"extra".to_vec(),
            vec![TxOut::pay(Amount::from_units(5_000_000_000), address(3))],
        ),
        sample_spend(),
    ];
    let ids: Vec<_> = txs.iter().map(Transaction::wtxid).collect();
    blocks.push(Block {
        header: Header {
            version: 1,
            prev: regtest.genesis_hash(),
            merkle_root: chain_node::merkle_root(&ids),
            time: regtest.genesis.header.time + 60,
            bits: regtest.pow_limit,
            nonce: 7,
        },
        txs,
    });
    blocks
}

fn encodings<T: Encode>(values: &[T]) -> Vec<Vec<u8>> {
    values.iter().map(encode_to_vec).collect()
}

/// Seeds of [`header`].
pub fn header_seeds() -> Vec<Vec<u8>> {
    let headers: Vec<Header> = sample_blocks().iter().map(|b| b.header).collect();
    encodings(&headers)
}

/// Seeds of [`transaction`].
pub fn transaction_seeds() -> Vec<Vec<u8>> {
    let txs: Vec<Transaction> = sample_blocks().into_iter().flat_map(|b| b.txs).collect();
    encodings(&txs)
}

/// Seeds of [`block`].
pub fn block_seeds() -> Vec<Vec<u8>> {
    encodings(&sample_blocks())
}

fn sample_coins() -> Vec<Coin> {
    vec![
        Coin {
            amount: Amount::from_units(5_000_000_000),
            address: address(4),
            height: Height(101),
            is_coinbase: true,
        },
        Coin {
            amount: Amount::from_units(1),
            address: address(5),
            height: Height(u32::MAX),
            is_coinbase: false,
        },
    ]
}

/// Seeds of [`coin`].
pub fn coin_seeds() -> Vec<Vec<u8>> {
    encodings(&sample_coins())
}

/// Seeds of [`block_undo`].
pub fn block_undo_seeds() -> Vec<Vec<u8>> {
    let spend = sample_spend();
    let spent = spend
        .spends()
        .iter()
        .zip(sample_coins())
        .map(|(input, coin)| (input.prevout, coin))
        .collect();
    encodings(&[BlockUndo { spent }, BlockUndo { spent: Vec::new() }])
}

/// Seeds of [`index_entry`].
pub fn index_entry_seeds() -> Vec<Vec<u8>> {
    let entries: Vec<IndexEntry> = sample_blocks()
        .iter()
        .enumerate()
        .map(|(i, b)| IndexEntry {
            header: b.header,
            height: Height(i as u32),
            chainwork: U256([0, 0, 1, 2 + i as u64]),
            status: BlockStatus {
                validity: match i % 3 {
                    0 => Validity::Connected,
                    1 => Validity::Header,
                    _ => Validity::Data,
                },
                failure: match i % 4 {
                    0 | 1 => None,
                    2 => Some(Failure::Failed),
                    _ => Some(Failure::FailedChild),
                },
            },
            sequence: i as u64,
        })
        .collect();
    encodings(&entries)
}
