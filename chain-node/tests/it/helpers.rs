//! Shared test helpers: keys, mining, and a naive in-memory UTXO set.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use chain_node::error::BlockError;
use chain_node::signature::SigMode;
use chain_node::validation::{Coin, check_block, connect_block, created_coins};
use chain_node::{
    Address, Amount, Block, Header, Height, OutPoint, Params, Transaction, TxIn, TxInputs, TxOut,
    block_subsidy, merkle_root,
};
use ed25519_dalek::SigningKey;

pub(crate) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub(crate) fn address(key: &SigningKey) -> Address {
    Address::from_pubkey(&key.verifying_key().to_bytes())
}

pub(crate) fn coinbase(height: u32, to: Address, amount: Amount) -> Transaction {
    Transaction::coinbase(Height(height), Vec::new(), vec![TxOut::pay(amount, to)])
}

/// Searches nonces until the header meets its own bits.
pub(crate) fn solve(mut header: Header) -> Header {
    let target = chain_node::pow::Target::from_compact(header.bits).unwrap();
    while !target.is_met_by(&header.hash()) {
        header.nonce += 1;
    }
    header
}

/// A solved block on `prev` with these transactions.
pub(crate) fn make_block(
    params: &Params,
    prev: &Header,
    time: u32,
    txs: Vec<Transaction>,
) -> Block {
    make_block_bits(params.pow_limit, prev, time, txs)
}

/// A solved block with explicit bits.
pub(crate) fn make_block_bits(
    bits: chain_node::pow::CompactTarget,
    prev: &Header,
    time: u32,
    txs: Vec<Transaction>,
) -> Block {
    let wtxids: Vec<_> = txs.iter().map(Transaction::wtxid).collect();
    let header = solve(Header {
        version: 1,
        prev: prev.hash(),
        merkle_root: merkle_root(&wtxids),
        time,
        bits,
        nonce: 0,
    });
    Block { header, txs }
}

/// A signed transaction spending `inputs` (outpoint, coin, key) to `outputs`.
pub(crate) fn spend(
    params: &Params,
    inputs: &[(OutPoint, Coin, &SigningKey)],
    outputs: Vec<TxOut>,
) -> Transaction {
    let mut tx = Transaction {
        version: 1,
        inputs: TxInputs::Spend(
            inputs
                .iter()
                .map(|(prevout, _, _)| TxIn {
                    prevout: *prevout,
                    pubkey: [0; 32],
                    signature: [0; 64],
                })
                .collect(),
        ),
        outputs,
    };
    let keys: Vec<SigningKey> = inputs.iter().map(|(_, _, k)| (*k).clone()).collect();
    let amounts: Vec<Amount> = inputs.iter().map(|(_, c, _)| c.amount).collect();
    tx.sign(&params.genesis_hash(), &keys, &amounts);
    tx
}

/// A regtest chain kept in memory with a naive HashMap UTXO set.
pub(crate) struct MemChain {
    pub(crate) params: Params,
    pub(crate) headers: Vec<Header>,
    pub(crate) utxo: HashMap<OutPoint, Coin>,
    pub(crate) miner: SigningKey,
}

impl MemChain {
    pub(crate) fn new(params: Params) -> Self {
        let headers = vec![params.genesis.header];
        MemChain {
            params,
            headers,
            utxo: HashMap::new(),
            miner: key(200),
        }
    }

    pub(crate) fn tip(&self) -> &Header {
        self.headers.last().unwrap()
    }

    pub(crate) fn next_height(&self) -> u32 {
        self.headers.len() as u32
    }

    /// A block at the next height paying the full subsidy plus `fees` to the miner.
    pub(crate) fn block_with(&self, txs: Vec<Transaction>, fees: u64) -> Block {
        let h = self.next_height();
        let reward = block_subsidy(Height(h), &self.params).units() + fees;
        let mut all = vec![coinbase(
            h,
            address(&self.miner),
            Amount::from_units(reward),
        )];
        all.extend(txs);
        make_block(&self.params, self.tip(), self.tip().time + 60, all)
    }

    /// Checks and connects `block`, updating the naive UTXO set.
    pub(crate) fn connect(&mut self, block: &Block) -> Result<(), BlockError> {
        let height = Height(self.next_height());
        check_block(block, &self.params)?;
        connect_block(
            block,
            height,
            &self.utxo,
            &self.params,
            SigMode::Strict { threads: 1 },
        )?;
        // Naive oracle: apply each transaction in order.
        for tx in &block.txs {
            for input in tx.spends() {
                self.utxo.remove(&input.prevout);
            }
            for (outpoint, coin) in created_coins(tx, height) {
                self.utxo.insert(outpoint, coin);
            }
        }
        self.headers.push(block.header);
        Ok(())
    }

    /// Mines `n` empty blocks.
    pub(crate) fn mine(&mut self, n: usize) {
        for _ in 0..n {
            let b = self.block_with(vec![], 0);
            self.connect(&b).unwrap();
        }
    }

    /// The miner's coinbase coin at `height`.
    pub(crate) fn coinbase_coin(&self, height: usize) -> (OutPoint, Coin) {
        let target = address(&self.miner);
        self.utxo
            .iter()
            .find(|(_, c)| c.is_coinbase && c.height.0 as usize == height && c.address == target)
            .map(|(o, c)| (*o, *c))
            .unwrap()
    }
}

/// A fresh, empty directory for one test.
pub(crate) fn temp_dir(name: &str) -> std::path::PathBuf {
    // Remove what earlier runs left under this name, so that runs do not accumulate.
    let stem = format!("chain-node-it-{name}-");
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for e in entries.flatten() {
            if e.file_name()
                .to_string_lossy()
                .strip_prefix(&stem)
                .is_some_and(|pid| pid.parse::<u32>().is_ok())
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("{stem}{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
