//! Shared test helpers: keys, block building, an in-memory chain with a naive UTXO
//! oracle, and scratch directories.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use chain_node::error::{BlockError, TxError};
use chain_node::signature::SigMode;
use chain_node::validation::{ChainContext, Coin, UtxoView, check_block, connect_block};
use chain_node::{
    Address, Amount, Block, Header, Height, OutPoint, OutputKind, Params, Transaction, TxIn,
    TxInputs, TxOut, merkle_root,
};
use ed25519_dalek::SigningKey;

pub(crate) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub(crate) fn address(key: &SigningKey) -> Address {
    Address::from_pubkey(&key.verifying_key().to_bytes())
}

/// A coinbase paying `amount` to `to`, committing to the empty name state (blocks with
/// name operations commit to their root with [`coinbase_with_root`]).
pub(crate) fn coinbase(height: u32, to: Address, amount: Amount) -> Transaction {
    coinbase_with_root(height, to, amount, &naming::StateRoot([0; 32]))
}

/// A coinbase paying `amount` to `to` and committing to name-state root `root`.
pub(crate) fn coinbase_with_root(
    height: u32,
    to: Address,
    amount: Amount,
    root: &naming::StateRoot,
) -> Transaction {
    Transaction::coinbase(
        Height(height),
        Vec::new(),
        vec![
            TxOut::pay(amount, to),
            chain_node::name_root::name_root_output(root),
        ],
    )
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

/// The Merkle root a test block's header carries for `txs`: the one place that says
/// what test blocks commit to.
pub(crate) fn commitment(txs: &[Transaction]) -> [u8; 32] {
    let wtxids: Vec<_> = txs.iter().map(Transaction::wtxid).collect();
    merkle_root(&wtxids)
}

/// A solved block with explicit bits.
pub(crate) fn make_block_bits(
    bits: chain_node::pow::CompactTarget,
    prev: &Header,
    time: u32,
    txs: Vec<Transaction>,
) -> Block {
    let header = solve(Header {
        version: 1,
        prev: prev.hash(),
        merkle_root: commitment(&txs),
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

/// A chain kept in memory, with a UTXO set kept by a naive oracle written here from
/// docs/consensus.md, not from `validation.rs`.
///
/// What the oracle decides on its own: the coinbase comes first, only there, and
/// carries the block height; every transaction has outputs, each and their sum at most
/// 21,000,000 coins; a spend has inputs, each an existing unspent output (or one
/// created earlier in the block) spent once, a coinbase output only 100 blocks deep,
/// with a key that hashes to the output's address; inputs cover outputs; the coinbase
/// pays at most the subsidy plus the fees; no txid twice. It applies blocks to its
/// own `HashMap`: spent outpoints leave, pay outputs enter, burns never do.
///
/// What it leaves to the library alone: proof of work and bits, the Merkle root and
/// what it commits to, sizes, burn and coinbase-extra lengths, and signatures. It also
/// uses the library's identifiers (`txid`) and data types, whose bytes are pinned by
/// the known-answer tests.
///
/// [`MemChain::connect`] runs the library's `check_block` and `connect_block` and the
/// oracle on every block and panics when they disagree about a rule the oracle knows.
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
        let reward = naive_subsidy(h, self.params.halving_interval) + fees;
        let mut all = vec![coinbase(
            h,
            address(&self.miner),
            Amount::from_units(reward),
        )];
        all.extend(txs);
        make_block(&self.params, self.tip(), self.tip().time + 60, all)
    }

    /// Checks `block` at the next height with the library and with the oracle; when
    /// both accept it, applies it to the oracle's UTXO set. Returns the library's
    /// verdict.
    ///
    /// # Panics
    /// When the library accepts a block the oracle refuses, or refuses, for a rule
    /// the oracle knows, a block the oracle accepts.
    pub(crate) fn connect(&mut self, block: &Block) -> Result<(), BlockError> {
        let height = self.next_height();
        let library = check_block(block, &self.params).and_then(|()| {
            connect_block(
                block,
                &context(
                    &self.params,
                    &self.utxo,
                    Height(height),
                    SigMode::Strict { threads: 1 },
                ),
            )
            .map(|_undo| ())
        });
        let oracle = naive_apply(&self.utxo, block, height, self.params.halving_interval);
        match (&library, oracle) {
            (Ok(()), Ok(next)) => {
                self.utxo = next;
                self.headers.push(block.header);
            }
            (Ok(()), Err(why)) => {
                panic!(
                    "the library accepts a block at height {height} that the oracle refuses: {why:?}"
                )
            }
            (Err(e), Ok(_)) if within_oracle_rules(e) => {
                panic!(
                    "the library refuses a block at height {height} that the oracle accepts: {e}"
                )
            }
            (Err(_), _) => {}
        }
        library
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

/// Why the oracle refuses a block (the outpoints are read by `Debug` in messages).
#[allow(dead_code)]
#[derive(Debug)]
pub(crate) enum Refusal {
    NoCoinbase,
    CoinbaseHeight,
    ExtraCoinbase,
    NoOutputs,
    NoInputs,
    OutputsOutOfRange,
    DuplicateTxid,
    /// Missing, already spent, or spent twice in the block or the transaction.
    MissingInput(OutPoint),
    Immature(OutPoint),
    WrongKey(OutPoint),
    InputsOutOfRange,
    InputsBelowOutputs,
    CoinbaseOverpays,
}

/// docs/consensus.md: 1 coin is 10^8 base units, at most 21,000,000 coins.
/// The name state of a chain without name operations.
static NO_NAMES: std::sync::LazyLock<naming::MemoryNames> =
    std::sync::LazyLock::new(naming::MemoryNames::new);

/// The validation context of the block at `height` over `coins`, with no name state.
pub(crate) fn context<'a>(
    params: &'a Params,
    coins: &'a dyn UtxoView,
    height: Height,
    sig_mode: SigMode,
) -> ChainContext<'a> {
    ChainContext {
        height,
        time: 0,
        params,
        sig_mode,
        coins,
        names: &*NO_NAMES,
    }
}

const COIN_UNITS: u64 = 100_000_000;
const MAX_MONEY_UNITS: u64 = 21_000_000 * COIN_UNITS;
/// docs/consensus.md: coinbase outputs are spent only at depth >= 100.
const MATURITY: u32 = 100;

/// docs/consensus.md: `50 coins >> (height / halving_interval)`, zero from the 64th
/// halving on.
pub(crate) fn naive_subsidy(height: u32, halving_interval: u32) -> u64 {
    let halvings = height / halving_interval;
    if halvings >= 64 {
        0
    } else {
        (50 * COIN_UNITS) >> halvings
    }
}

/// docs/consensus.md: `SHA-256("chain-node/address/v1" || pubkey)`.
fn naive_address(pubkey: &[u8; 32]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::new()
        .chain_update(b"chain-node/address/v1")
        .chain_update(pubkey)
        .finalize()
        .into()
}

fn in_range(units: Option<u64>) -> Option<u64> {
    units.filter(|&u| u <= MAX_MONEY_UNITS)
}

/// The UTXO set after `block` at `height`, by the coin rules of docs/consensus.md.
pub(crate) fn naive_apply(
    utxo: &HashMap<OutPoint, Coin>,
    block: &Block,
    height: u32,
    halving_interval: u32,
) -> Result<HashMap<OutPoint, Coin>, Refusal> {
    let mut next = utxo.clone();
    let mut txids = std::collections::HashSet::new();
    let mut fees = 0u64;
    let mut coinbase_pays = 0u64;
    match block.txs.first().map(|tx| &tx.inputs) {
        Some(TxInputs::Coinbase { height: h, .. }) if h.0 == height => {}
        Some(TxInputs::Coinbase { .. }) => return Err(Refusal::CoinbaseHeight),
        _ => return Err(Refusal::NoCoinbase),
    }
    for (i, tx) in block.txs.iter().enumerate() {
        if tx.outputs.is_empty() {
            return Err(Refusal::NoOutputs);
        }
        let mut pays = 0u64;
        for out in &tx.outputs {
            let units = in_range(Some(out.amount.units())).ok_or(Refusal::OutputsOutOfRange)?;
            pays = in_range(pays.checked_add(units)).ok_or(Refusal::OutputsOutOfRange)?;
        }
        let txid = tx.txid();
        if !txids.insert(txid) {
            return Err(Refusal::DuplicateTxid);
        }
        match &tx.inputs {
            TxInputs::Coinbase { .. } if i > 0 => return Err(Refusal::ExtraCoinbase),
            TxInputs::Coinbase { .. } => coinbase_pays = pays,
            TxInputs::Spend(inputs) => {
                if inputs.is_empty() {
                    return Err(Refusal::NoInputs);
                }
                let mut takes = 0u64;
                for input in inputs {
                    let op = input.prevout;
                    // Removing makes a second spend of the same output a missing one.
                    let coin = next.remove(&op).ok_or(Refusal::MissingInput(op))?;
                    if coin.is_coinbase && height.saturating_sub(coin.height.0) < MATURITY {
                        return Err(Refusal::Immature(op));
                    }
                    if naive_address(&input.pubkey) != coin.address.0 {
                        return Err(Refusal::WrongKey(op));
                    }
                    takes = in_range(takes.checked_add(coin.amount.units()))
                        .ok_or(Refusal::InputsOutOfRange)?;
                }
                let fee = takes.checked_sub(pays).ok_or(Refusal::InputsBelowOutputs)?;
                fees = in_range(fees.checked_add(fee)).ok_or(Refusal::InputsOutOfRange)?;
            }
        }
        for (vout, out) in tx.outputs.iter().enumerate() {
            if let OutputKind::Pay(to) = out.kind {
                let coin = Coin {
                    amount: out.amount,
                    address: to,
                    height: Height(height),
                    is_coinbase: i == 0,
                };
                next.insert(
                    OutPoint {
                        txid,
                        vout: vout as u32,
                    },
                    coin,
                );
            }
        }
    }
    if coinbase_pays > naive_subsidy(height, halving_interval) + fees {
        return Err(Refusal::CoinbaseOverpays);
    }
    Ok(next)
}

/// Whether a library error names a rule the oracle decides too.
fn within_oracle_rules(e: &BlockError) -> bool {
    match e {
        BlockError::NoTransactions
        | BlockError::FirstNotCoinbase
        | BlockError::ExtraCoinbase { .. }
        | BlockError::BadCoinbaseHeight { .. }
        | BlockError::CoinbaseOverpays { .. }
        | BlockError::DoubleSpendInBlock { .. }
        | BlockError::DuplicateTx { .. } => true,
        BlockError::Tx { source, .. } => matches!(
            source,
            TxError::NoInputs
                | TxError::NoOutputs
                | TxError::DuplicateInput { .. }
                | TxError::OutputOutOfRange { .. }
                | TxError::TotalOutOfRange
                | TxError::UnexpectedCoinbase
                | TxError::MissingInput { .. }
                | TxError::ImmatureCoinbase { .. }
                | TxError::WrongKey { .. }
                | TxError::InputsOutOfRange
                | TxError::InsufficientInputs { .. }
        ),
        _ => false,
    }
}

/// A scratch directory for one test, unique to this process and call, removed on drop.
///
/// Nothing else is touched: directories of other tests and of concurrent runs stay.
/// Keep it alive as long as anything (a node, a child process) uses the directory.
pub(crate) struct Scratch(std::path::PathBuf);

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for Scratch {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A library node on its own scratch directory; the directory goes when the node does.
pub(crate) struct TestNode {
    // Declared first, so dropped (and its store closed) before the directory goes.
    node: chain_node::Node,
    _dir: Scratch,
}

impl TestNode {
    /// Opens a node of `network` in a fresh scratch directory named after `name`, after
    /// `configure` has adjusted its configuration.
    pub(crate) fn open(
        network: chain_node::Network,
        name: &str,
        configure: impl FnOnce(&mut chain_node::NodeConfig),
    ) -> TestNode {
        let dir = temp_dir(name);
        let mut cfg = chain_node::NodeConfig::new(network, dir.to_path_buf());
        configure(&mut cfg);
        TestNode {
            node: chain_node::Node::open(cfg).unwrap(),
            _dir: dir,
        }
    }

    /// Closes the node; its settings and its directory, which stays until the returned
    /// [`Scratch`] is dropped.
    pub(crate) fn close(self) -> (chain_node::NodeConfig, Scratch) {
        let TestNode { node, _dir } = self;
        let config = node.config().clone();
        // Clones held elsewhere do not keep the store open: the owner exits here. A
        // node stopped by a failure refuses the final flush; the directory stays as is.
        let _ = node.shutdown();
        drop(node);
        (config, _dir)
    }

    /// Closes the node and opens its data directory again with the same settings.
    pub(crate) fn reopen(self) -> TestNode {
        let (config, _dir) = self.close();
        TestNode {
            node: chain_node::Node::open(config).unwrap(),
            _dir,
        }
    }
}

impl std::ops::Deref for TestNode {
    type Target = chain_node::Node;
    fn deref(&self) -> &Self::Target {
        &self.node
    }
}

/// A fresh, empty scratch directory for one test (see [`Scratch`]).
pub(crate) fn temp_dir(name: &str) -> Scratch {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "chain-node-it-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    // Only a directory left by an earlier process with this very id can be here.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Every event buffered in `events` now, oldest first (panics at a lag).
pub(crate) fn drain(events: &mut chain_node::Subscription) -> Vec<chain_node::NodeEvent> {
    events.drain().unwrap()
}

/// Reads of a node's state for tests, each one request to its owner thread.
pub(crate) trait Reads {
    /// The active tip.
    fn tip_now(&self) -> (Height, chain_node::BlockHash);
    /// The active chain's block hash at `height`.
    fn hash_at(&self, height: u32) -> Option<chain_node::BlockHash>;
    /// A stored block.
    fn block(&self, hash: &chain_node::BlockHash) -> Option<Block>;
    /// A block's index entry.
    fn entry(&self, hash: &chain_node::BlockHash) -> Option<chain_node::encoding::IndexEntry>;
    /// An unspent output of the active chain.
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin>;
    /// The whole UTXO set.
    fn utxo_set(&self) -> HashMap<OutPoint, Coin>;
    /// The mempool's txids.
    fn pool_txids(&self) -> Vec<chain_node::TxId>;
    /// Whether the mempool holds `txid`.
    fn in_pool(&self, txid: chain_node::TxId) -> bool;
    /// How many orphans the mempool holds.
    fn orphans(&self) -> usize;
}

impl Reads for chain_node::Node {
    fn tip_now(&self) -> (Height, chain_node::BlockHash) {
        self.tip().unwrap()
    }
    fn hash_at(&self, height: u32) -> Option<chain_node::BlockHash> {
        self.read(move |v| v.chain().hash_at(Height(height)))
            .unwrap()
    }
    fn block(&self, hash: &chain_node::BlockHash) -> Option<Block> {
        let hash = *hash;
        self.read(move |v| v.chain().block(&hash).unwrap()).unwrap()
    }
    fn entry(&self, hash: &chain_node::BlockHash) -> Option<chain_node::encoding::IndexEntry> {
        let hash = *hash;
        self.read(move |v| v.chain().entry(&hash)).unwrap()
    }
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        let outpoint = *outpoint;
        self.read(move |v| v.chain().coin(&outpoint).unwrap())
            .unwrap()
    }
    fn utxo_set(&self) -> HashMap<OutPoint, Coin> {
        self.read(|v| v.chain().utxo_set().unwrap()).unwrap()
    }
    fn pool_txids(&self) -> Vec<chain_node::TxId> {
        self.read(|v| v.mempool().txids()).unwrap()
    }
    fn in_pool(&self, txid: chain_node::TxId) -> bool {
        self.read(move |v| v.mempool().get(&txid).is_some())
            .unwrap()
    }
    fn orphans(&self) -> usize {
        self.read(|v| v.mempool().orphan_count()).unwrap()
    }
}

/// The mempool's refusal inside a node error (panics on any other error).
pub(crate) fn pool_err<T: std::fmt::Debug>(
    r: Result<T, chain_node::error::NodeError>,
) -> Result<T, chain_node::error::MempoolError> {
    r.map_err(|e| match e {
        chain_node::error::NodeError::Mempool(e) => e,
        other => panic!("expected a mempool refusal, got {other:?}"),
    })
}

/// The chain state's refusal inside a node error (panics on any other error).
pub(crate) fn chain_err<T: std::fmt::Debug>(
    r: Result<T, chain_node::error::NodeError>,
) -> Result<T, chain_node::error::ChainError> {
    r.map_err(|e| match e {
        chain_node::error::NodeError::Chain(e) => e,
        other => panic!("expected a chain state refusal, got {other:?}"),
    })
}

/// The coinbase output of the active block at `height`.
pub(crate) fn coinbase_coin(node: &chain_node::Node, height: u32) -> (OutPoint, Coin) {
    let block = node.block(&node.hash_at(height).unwrap()).unwrap();
    let op = OutPoint {
        txid: block.txs.first().unwrap().txid(),
        vout: 0,
    };
    (op, node.coin(&op).unwrap())
}

/// A node's coinbase coins of its first blocks, handed out in height order from 1.
pub(crate) struct Funding<'a> {
    node: &'a chain_node::Node,
    next: std::cell::Cell<u32>,
}

impl<'a> Funding<'a> {
    pub(crate) fn new(node: &'a chain_node::Node) -> Self {
        Funding {
            node,
            next: std::cell::Cell::new(1),
        }
    }

    /// The coinbase coin of the next height.
    pub(crate) fn take(&self) -> (OutPoint, Coin) {
        let coin = coinbase_coin(self.node, self.next.get());
        self.next.set(self.next.get() + 1);
        coin
    }
}

/// Sends `tx` through the node's mempool and mines one block paying `payout`, which
/// must hold it; returns its txid.
pub(crate) fn mine_one(
    node: &chain_node::Node,
    tx: Transaction,
    payout: Address,
) -> chain_node::TxId {
    let txid = node.submit_transaction(tx).unwrap();
    node.generate(1, payout).unwrap();
    let (_, tip) = node.tip().unwrap();
    let block = node.block(&tip).unwrap();
    assert!(block.txs.iter().any(|t| t.txid() == txid), "mined");
    txid
}

/// Testnet's rules with a retarget every 4 blocks and a 30 s spacing, so that tests
/// reach the difficulty change within a few blocks.
pub(crate) fn testnet_with_fast_retarget() -> Params {
    let mut params = chain_node::Network::Testnet.params();
    if let Some(rp) = params.retarget {
        params.retarget = Some(chain_node::pow::RetargetParams {
            interval: 4,
            spacing: 30,
            ..rp
        });
    }
    params
}

/// A regtest node (one mining thread) in a fresh scratch directory named after `name`,
/// on the network over TCP on 127.0.0.1 (an ephemeral port), dialling `peers`, after
/// `configure` has adjusted its network settings.
pub(crate) fn start_in_process(
    name: &str,
    peers: &[String],
    configure: impl FnOnce(&mut chain_node::p2p::P2pConfig),
) -> (chain_node::Node, chain_node::p2p::P2p, Scratch) {
    let dir = temp_dir(name);
    let path: &std::path::Path = dir.as_ref();
    let mut config = chain_node::NodeConfig::new(chain_node::Network::Regtest, path.to_owned());
    config.mining_threads = 1;
    let node = chain_node::Node::open(config).unwrap();
    let mut p2p = chain_node::p2p::P2pConfig::new(chain_node::Network::Regtest, path);
    p2p.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    p2p.peers = peers.iter().map(|p| p.parse().unwrap()).collect();
    configure(&mut p2p);
    let p2p = chain_node::p2p::P2p::start(node.clone(), p2p).unwrap();
    (node, p2p, dir)
}
