//! The name index on the chain state's index seam, on sled on disk: random blocks of
//! name operations (valid and not) with reorganisations, crashes between connect and
//! flush, and reindexes, checked after every step against a naive oracle written here.
//!
//! The oracle: its own UTXO set (`MemChain`), and a name state it keeps by taking each
//! non-coinbase transaction's first burn output that starts with the naming magic,
//! building the rules' context from the transaction as docs/naming.md says, and applying
//! the `naming` crate's rules to a `naming::MemoryNames` (the rules are that crate's,
//! tested there; what is tested here is the node's part: which operation, in which
//! context, stored, undone and rebuilt). Its expected records are laid out by hand
//! from docs/storage.md. After a disconnect, the expected state is the snapshot the
//! oracle took at that height, not anything the library computed.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use chain_node::encoding::encode_to_vec;
use chain_node::{
    Amount, Block, CacheConfig, ChainState, OutPoint, OutputKind, Params, Transaction, TxOut,
};
use ed25519_dalek::SigningKey;
use naming::{
    Commitment, MemoryNames, NamespaceTerms, Operation, OwnerAddress, PriceFunction, Salt,
    SignedOperation, ZoneFileHash,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use crate::helpers::{MemChain, address, key, spend, temp_dir};

/// Fee each test transaction pays.
const FEE: u64 = 10_000;
/// The test namespace's lifetime and grace period, short enough to see names expire.
pub(crate) const LIFETIME: u32 = 8;
pub(crate) const GRACE: u32 = 4;

/// The namespace every test name lives in.
pub(crate) fn test_terms() -> NamespaceTerms {
    NamespaceTerms {
        lifetime: LIFETIME,
        grace: GRACE,
        // 10 × 2^1 × 100 = 2,000 units for every name with a vowel and no digit.
        price: PriceFunction::new(10, 2, [1; naming::BUCKETS], 1, 1).unwrap(),
    }
}

/// The address that owns what `k` signs for, written out from its definition
/// (docs/naming.md) rather than taken from the code under test:
/// `SHA-256("chain-node/address/v1" ‖ public key)`.
pub(crate) fn owner_address(k: &SigningKey) -> OwnerAddress {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"chain-node/address/v1");
    h.update(k.verifying_key().to_bytes());
    OwnerAddress(h.finalize().into())
}

/// How the RPCs and the explorer write the owner `k` signs for on regtest: the bech32m
/// encoding (BIP 350, by the `bech32` crate directly) of [`owner_address`] under the
/// prefix `rcn` (docs/rpc.md).
pub(crate) fn owner_text(k: &SigningKey) -> String {
    bech32::encode::<bech32::Bech32m>(bech32::Hrp::parse("rcn").unwrap(), &owner_address(k).0)
        .unwrap()
}

/// A transaction carrying `op` signed by `owner` over its first input: it spends
/// `inputs`, pays what is left after the burn and the fee back to the first input's
/// key (output 0, the output a preorder designates), and burns `burn` with the payload
/// (output 1).
pub(crate) fn op_tx(
    params: &Params,
    inputs: &[(OutPoint, chain_node::validation::Coin, &SigningKey)],
    owner: &SigningKey,
    op: Operation,
    burn: u64,
) -> Transaction {
    let chain_id = naming::ChainId(*params.genesis_hash().as_bytes());
    let first = naming::OutPoint {
        txid: naming::TxId(*inputs[0].0.txid.as_bytes()),
        vout: inputs[0].0.vout,
    };
    let payload = SignedOperation::sign(op, owner, &chain_id, &first).encode();
    burn_tx(params, inputs, payload, burn)
}

/// A transaction like [`op_tx`] with any burn data.
pub(crate) fn burn_tx(
    params: &Params,
    inputs: &[(OutPoint, chain_node::validation::Coin, &SigningKey)],
    data: Vec<u8>,
    burn: u64,
) -> Transaction {
    let total: u64 = inputs.iter().map(|(_, c, _)| c.amount.units()).sum();
    let change = TxOut::pay(Amount::from_units(total - burn - FEE), address(inputs[0].2));
    let burn = TxOut {
        amount: Amount::from_units(burn),
        kind: OutputKind::Burn(data),
    };
    spend(params, inputs, vec![change, burn])
}

/// The oracle's reading of a transaction: its operation and the rules' context, from
/// docs/naming.md's node section.
pub(crate) fn oracle_op(
    params: &Params,
    tx: &Transaction,
    height: u32,
) -> Option<(naming::TxContext, Vec<u8>)> {
    if tx.is_coinbase() {
        return None;
    }
    let (burned, data) = tx.outputs.iter().find_map(|o| match &o.kind {
        OutputKind::Burn(d) if d.starts_with(b"otn") => Some((o.amount.units(), d.clone())),
        _ => None,
    })?;
    let mut pay_vouts = Vec::new();
    for (i, o) in tx.outputs.iter().enumerate() {
        if let OutputKind::Pay(_) = o.kind {
            pay_vouts.push(i as u32);
        }
    }
    Some((
        naming::TxContext {
            chain_id: naming::ChainId(params.genesis_hash().0),
            txid: naming::TxId(tx.txid().0),
            height: naming::Height(height),
            burned: naming::Amount(burned),
            spent: tx
                .spends()
                .iter()
                .map(|i| naming::OutPoint {
                    txid: naming::TxId(i.prevout.txid.0),
                    vout: i.prevout.vout,
                })
                .collect(),
            pay_vouts,
        },
        data,
    ))
}

/// Applies a block's operations to the oracle's name state; returns the kinds of the
/// operations accepted and how many were rejected.
pub(crate) fn oracle_apply(
    params: &Params,
    names: &mut MemoryNames,
    block: &Block,
    height: u32,
) -> (Vec<&'static str>, usize) {
    let (mut accepted, mut rejected) = (Vec::new(), 0);
    for tx in &block.txs {
        let Some((ctx, data)) = oracle_op(params, tx, height) else {
            continue;
        };
        match naming::apply_payload(&params.naming, &*names, &ctx, &data) {
            Ok(changes) => {
                names.apply(&changes).unwrap();
                let kind = SignedOperation::decode(&data).unwrap().op.kind();
                accepted.push(kind);
            }
            Err(_) => rejected += 1,
        }
    }
    (accepted, rejected)
}

/// The name-state root of `names`: a tree built from scratch, one leaf per record.
pub(crate) fn oracle_root(names: &MemoryNames) -> naming::StateRoot {
    use naming::{LeafChange, StateKey, value_hash};
    let leaf = |key, bytes: Vec<u8>| LeafChange {
        key,
        before: None,
        after: Some(value_hash(&bytes)),
    };
    let mut changes = Vec::new();
    for (id, r) in &names.namespaces {
        changes.push(leaf(StateKey::namespace(id), r.encode()));
    }
    for (name, r) in &names.names {
        changes.push(leaf(StateKey::name(name), r.encode()));
    }
    for (c, r) in &names.preorders {
        changes.push(leaf(StateKey::preorder(c), r.encode()));
    }
    let mut tree = naming::MemoryStore::new();
    tree.apply(&changes).unwrap()
}

/// The records docs/storage.md says the name index holds for `names`.
fn expected_name_records(names: &MemoryNames) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (id, r) in &names.namespaces {
        out.insert([b"s", id.as_str().as_bytes()].concat(), r.encode());
    }
    for (name, r) in &names.names {
        out.insert([b"n", name.to_string().as_bytes()].concat(), r.encode());
        // The zone-file reference (docs/storage.md): `Z` ‖ hash ‖ name, empty.
        if let Some(z) = &r.zone_file {
            let key = [b"Z", z.as_bytes().as_slice(), name.to_string().as_bytes()].concat();
            out.insert(key, Vec::new());
        }
    }
    for (c, r) in &names.preorders {
        out.insert([b"p".as_slice(), c.as_bytes()].concat(), r.encode());
    }
    out
}

/// Everything the oracle expects in the derived indexes: the name records, and an
/// address-index record for every coin.
fn expected_records(mem: &MemChain, names: &MemoryNames) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = expected_name_records(names);
    for (o, c) in &mem.utxo {
        let mut k = vec![b'a'];
        k.extend_from_slice(&c.address.0);
        k.extend_from_slice(&encode_to_vec(o));
        out.insert(k, encode_to_vec(c));
    }
    out
}

/// One oracle state per height.
#[derive(Clone)]
struct Snapshot {
    headers: Vec<chain_node::Header>,
    utxo: std::collections::HashMap<OutPoint, chain_node::validation::Coin>,
    names: MemoryNames,
    /// Name preorders made so far: owner, name and salt indexes, and the output a
    /// register spends (the miner paid, so the miner's key spends it).
    preorder_outputs: Vec<Made>,
}

/// A name preorder a test transaction made.
#[derive(Clone, Copy, Debug)]
struct Made {
    owner: u8,
    name: u8,
    salt: u8,
    output: OutPoint,
    coin: chain_node::validation::Coin,
}

/// A random name operation; indexes pick from small sets so that operations meet.
#[derive(Clone, Debug)]
enum Op {
    Preorder {
        owner: u8,
        name: u8,
        salt: u8,
        burn: u8,
    },
    /// Reveals a name preorder that was made (`pick`, 0 the newest), as its maker
    /// (`tamper` 0 to 2) or with another salt (3) or another owner (4).
    Register {
        pick: u8,
        tamper: u8,
    },
    Update {
        owner: u8,
        name: u8,
        zone: u8,
    },
    Transfer {
        owner: u8,
        name: u8,
        to: u8,
    },
    Renew {
        owner: u8,
        name: u8,
        burn: u8,
    },
    Revoke {
        owner: u8,
        name: u8,
    },
    Garbage {
        byte: u8,
    },
}

#[derive(Clone, Debug)]
enum Step {
    Block(Vec<Op>),
    Reorg(u8),
    Crash,
    Reindex,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let s = || 0u8..3;
    prop_oneof![
        4 => (s(), s(), 0u8..2, 0u8..3).prop_map(|(owner, name, salt, burn)| Op::Preorder { owner, name, salt, burn }),
        4 => (0u8..3, 0u8..5).prop_map(|(pick, tamper)| Op::Register { pick, tamper }),
        3 => (s(), s(), s()).prop_map(|(owner, name, zone)| Op::Update { owner, name, zone }),
        2 => (s(), s(), s()).prop_map(|(owner, name, to)| Op::Transfer { owner, name, to }),
        2 => (s(), s(), 0u8..3).prop_map(|(owner, name, burn)| Op::Renew { owner, name, burn }),
        1 => (s(), s()).prop_map(|(owner, name)| Op::Revoke { owner, name }),
        1 => any::<u8>().prop_map(|byte| Op::Garbage { byte }),
    ]
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => prop::collection::vec(op_strategy(), 0..4).prop_map(Step::Block),
        3 => (1u8..4).prop_map(Step::Reorg),
        1 => Just(Step::Crash),
        1 => Just(Step::Reindex),
    ]
}

const NAMES: [&str; 3] = ["alice.id", "bob.id", "carol.id"];

/// The test harness: the chain state on disk and the oracle, one snapshot per height.
struct Harness {
    dir: crate::helpers::Scratch,
    params: Params,
    state: Option<ChainState>,
    mem: MemChain,
    names: MemoryNames,
    preorder_outputs: Vec<Made>,
    snapshots: Vec<Snapshot>,
    owners: Vec<SigningKey>,
    /// Miner coinbase heights not yet spent by a test transaction.
    next_funding: usize,
    cache: CacheConfig,
    /// Seconds added to each block's time after a reorg, so that a new branch never
    /// repeats a block of the one it replaced.
    time_shift: u32,
    /// The height below which reorgs do not reach (the namespace's launch).
    base: usize,
    /// Preorder outputs spent by the block being built.
    used: std::collections::HashSet<OutPoint>,
    /// Operations the oracle accepted, by kind, and how many it rejected; disconnects
    /// that changed the name state.
    accepted: BTreeMap<&'static str, usize>,
    rejected: usize,
    name_undos: usize,
}

impl Harness {
    fn new(name: &str, cache: CacheConfig) -> Self {
        let params = chain_node::Network::Regtest.params();
        let dir = temp_dir(name);
        let state = ChainState::open_with(&dir, params.clone(), cache).unwrap();
        let mem = MemChain::new(params.clone());
        let mut h = Harness {
            dir,
            params,
            state: Some(state),
            mem,
            names: MemoryNames::new(),
            preorder_outputs: Vec::new(),
            snapshots: Vec::new(),
            owners: (1..=3).map(key).collect(),
            next_funding: 1,
            cache,
            time_shift: 0,
            base: 0,
            used: std::collections::HashSet::new(),
            accepted: BTreeMap::new(),
            rejected: 0,
            name_undos: 0,
        };
        h.snapshot();
        h
    }

    fn state(&mut self) -> &mut ChainState {
        self.state.as_mut().unwrap()
    }

    fn snapshot(&mut self) {
        self.snapshots.push(Snapshot {
            headers: self.mem.headers.clone(),
            utxo: self.mem.utxo.clone(),
            names: self.names.clone(),
            preorder_outputs: self.preorder_outputs.clone(),
        });
    }

    /// A mature miner coin no transaction spent yet, with the miner's key.
    fn funding(&mut self) -> (OutPoint, chain_node::validation::Coin) {
        let coin = self.mem.coinbase_coin(self.next_funding);
        self.next_funding += 1;
        coin
    }

    /// Connects a block of `txs` to both, and checks the library against the oracle.
    fn connect(&mut self, txs: Vec<Transaction>) -> Block {
        self.used.clear();
        let fees = FEE * txs.len() as u64;
        let height = self.mem.next_height();
        let reward = crate::helpers::naive_subsidy(height, self.params.halving_interval) + fees;
        let tip = *self.mem.tip();
        let time = tip.time + 60 + self.time_shift;
        // The coinbase commits to the oracle's root after the block's operations.
        let mut after = self.names.clone();
        let mut draft = vec![crate::helpers::coinbase(
            height,
            address(&self.mem.miner),
            Amount::from_units(reward),
        )];
        draft.extend(txs.iter().cloned());
        let draft = crate::helpers::make_block(&self.params, &tip, time, draft);
        oracle_apply(&self.params, &mut after, &draft, height);
        let mut all = vec![crate::helpers::coinbase_with_root(
            height,
            address(&self.mem.miner),
            Amount::from_units(reward),
            &oracle_root(&after),
        )];
        all.extend(txs);
        let block = crate::helpers::make_block(&self.params, &tip, time, all);
        self.mem.connect(&block).unwrap();
        let (accepted, rejected) = oracle_apply(&self.params, &mut self.names, &block, height);
        for kind in accepted {
            *self.accepted.entry(kind).or_default() += 1;
        }
        self.rejected += rejected;
        self.state().submit_block(&block, u64::MAX / 4).unwrap();
        assert_eq!(self.state().tip().1, block.hash());
        self.snapshot();
        self.check();
        block
    }

    /// The library's derived indexes equal the oracle's, and its stored name-state tree
    /// has the root of a tree built from scratch from the oracle's records.
    fn check(&mut self) {
        let want = expected_records(&self.mem, &self.names);
        let mut got = self.state().index_records().unwrap();
        let tree: Vec<_> = got
            .keys()
            .filter(|k| k.first() == Some(&b'r'))
            .cloned()
            .collect();
        for k in &tree {
            got.remove(k);
        }
        assert_eq!(
            self.state().name_root().unwrap(),
            oracle_root(&self.names),
            "stored name-state root differs from the oracle's at height {}",
            self.mem.next_height() - 1
        );
        assert_eq!(tree.is_empty(), oracle_root(&self.names).0 == [0; 32]);
        assert_eq!(
            got,
            want,
            "derived indexes differ from the oracle at height {}",
            self.mem.next_height() - 1
        );
        // Reads by key agree too.
        for name in NAMES {
            let n: naming::Name = name.parse().unwrap();
            let want = self.names.names.get(&n).cloned();
            assert_eq!(self.state().name_record(&n).unwrap(), want);
        }
    }

    /// Mines to maturity and opens namespace `id` through its three operations.
    fn launch_namespace(&mut self) {
        // Enough mature coinbase coins for every test transaction to have its own.
        for _ in 0..220 {
            self.connect(vec![]);
        }
        let creator = self.owners[0].clone();
        let salt = Salt([9; 16]);
        let id: naming::NamespaceId = "id".parse().unwrap();
        let commitment = Commitment::for_namespace(&id, &salt, &owner_address(&creator));
        let price = self.params.naming.namespace_prices.price(&id).units();
        let (o, c) = self.funding();
        let miner = self.mem.miner.clone();
        let preorder = op_tx(
            &self.params,
            &[(o, c, &miner)],
            &creator,
            Operation::NamespacePreorder { commitment },
            price,
        );
        let out0 = OutPoint {
            txid: preorder.txid(),
            vout: 0,
        };
        let out0_coin = chain_node::validation::Coin {
            amount: preorder.outputs[0].amount,
            address: address(&miner),
            height: chain_node::Height(self.mem.next_height()),
            is_coinbase: false,
        };
        self.connect(vec![preorder]);
        let (o, c) = self.funding();
        let reveal = op_tx(
            &self.params,
            &[(o, c, &miner), (out0, out0_coin, &miner)],
            &creator,
            Operation::NamespaceReveal {
                namespace: id.clone(),
                salt,
                terms: test_terms(),
            },
            0,
        );
        self.connect(vec![reveal]);
        let (o, c) = self.funding();
        let ready = op_tx(
            &self.params,
            &[(o, c, &miner)],
            &creator,
            Operation::NamespaceReady {
                namespace: id.clone(),
            },
            0,
        );
        self.connect(vec![ready]);
        let ns = self.state().namespace_record(&id).unwrap().unwrap();
        assert!(ns.ready_at.is_some(), "the namespace is ready");
        self.base = self.snapshots.len() - 1;
    }

    /// The transaction for a random operation, funded by a fresh miner coin.
    fn op(&mut self, op: &Op) -> Transaction {
        let miner = self.mem.miner.clone();
        let (o, c) = self.funding();
        let name = |i: u8| -> naming::Name { NAMES[usize::from(i) % 3].parse().unwrap() };
        let burns = [0u64, 2_000, 10_000];
        let owner = |i: u8| self.owners[usize::from(i) % 3].clone();
        // Signs as the name's owner in the oracle two times in three, else as key `w`.
        let holder = |w: u8, n: u8| -> SigningKey {
            let current = self.names.names.get(&name(n)).map(|r| r.owner);
            match current.and_then(|o| self.owners.iter().find(|k| owner_address(k) == o)) {
                Some(k) if w < 2 => k.clone(),
                _ => owner(w),
            }
        };
        match *op {
            Op::Preorder {
                owner: w,
                name: n,
                salt,
                burn,
            } => {
                let k = owner(w);
                let commitment =
                    Commitment::for_name(&name(n), &Salt([salt; 16]), &owner_address(&k));
                let tx = op_tx(
                    &self.params,
                    &[(o, c, &miner)],
                    &k,
                    Operation::NamePreorder { commitment },
                    burns[usize::from(burn)],
                );
                self.preorder_outputs.push(Made {
                    owner: w,
                    name: n,
                    salt,
                    output: OutPoint {
                        txid: tx.txid(),
                        vout: 0,
                    },
                    coin: chain_node::validation::Coin {
                        amount: tx.outputs[0].amount,
                        address: address(&miner),
                        height: chain_node::Height(self.mem.next_height()),
                        is_coinbase: false,
                    },
                });
                tx
            }
            Op::Register { pick, tamper } => {
                let mut inputs = vec![(o, c, &miner)];
                // A preorder made in an earlier block whose output is still unspent.
                let unspent: Vec<Made> = self
                    .preorder_outputs
                    .iter()
                    .filter(|m| {
                        self.mem.utxo.contains_key(&m.output) && !self.used.contains(&m.output)
                    })
                    .copied()
                    .collect();
                let Some(made) = unspent
                    .iter()
                    .rev()
                    .nth(usize::from(pick) % unspent.len().max(1))
                    .copied()
                else {
                    // Nothing to reveal: a register of a name never preordered.
                    return op_tx(
                        &self.params,
                        &inputs,
                        &owner(0),
                        Operation::NameRegister {
                            name: name(0),
                            salt: Salt([0; 16]),
                            zone_file: None,
                        },
                        0,
                    );
                };
                self.used.insert(made.output);
                inputs.push((made.output, made.coin, &miner));
                let salt = if tamper == 3 {
                    made.salt + 1
                } else {
                    made.salt
                };
                let k = owner(if tamper == 4 {
                    made.owner + 1
                } else {
                    made.owner
                });
                op_tx(
                    &self.params,
                    &inputs,
                    &k,
                    Operation::NameRegister {
                        name: name(made.name),
                        salt: Salt([salt; 16]),
                        zone_file: Some(ZoneFileHash([made.name; 32])),
                    },
                    0,
                )
            }
            Op::Update {
                owner: w,
                name: n,
                zone,
            } => op_tx(
                &self.params,
                &[(o, c, &miner)],
                &holder(w, n),
                Operation::NameUpdate {
                    name: name(n),
                    zone_file: ZoneFileHash([zone.wrapping_add(100); 32]),
                },
                0,
            ),
            Op::Transfer {
                owner: w,
                name: n,
                to,
            } => op_tx(
                &self.params,
                &[(o, c, &miner)],
                &holder(w, n),
                Operation::NameTransfer {
                    name: name(n),
                    new_owner: owner_address(&owner(to)),
                    keep_zone_file: to % 2 == 0,
                },
                0,
            ),
            Op::Renew {
                owner: w,
                name: n,
                burn,
            } => op_tx(
                &self.params,
                &[(o, c, &miner)],
                &holder(w, n),
                Operation::NameRenew { name: name(n) },
                burns[usize::from(burn)],
            ),
            Op::Revoke { owner: w, name: n } => op_tx(
                &self.params,
                &[(o, c, &miner)],
                &holder(w, n),
                Operation::NameRevoke { name: name(n) },
                0,
            ),
            Op::Garbage { byte } => burn_tx(
                &self.params,
                &[(o, c, &miner)],
                vec![b'o', b't', b'n', byte, byte],
                0,
            ),
        }
    }

    /// Preorders `alice.id` for owner 1 with salt byte `salt` in one block and
    /// registers it in the next; returns the preorder's commitment.
    fn register_alice(&mut self, salt: u8) -> Commitment {
        let preorder = self.op(&Op::Preorder {
            owner: 1,
            name: 0,
            salt,
            burn: 1,
        });
        self.connect(vec![preorder]);
        let commitment = Commitment::for_name(
            &NAMES[0].parse().unwrap(),
            &Salt([salt; 16]),
            &owner_address(&self.owners[1]),
        );
        assert!(self.state().preorder_record(&commitment).unwrap().is_some());
        let register = self.op(&Op::Register { pick: 0, tamper: 0 });
        self.connect(vec![register]);
        commitment
    }

    /// Disconnects the top `depth` blocks (invalidating the lowest) and checks that the
    /// indexes are the oracle's snapshot at the height below.
    fn reorg(&mut self, depth: usize) {
        let tip = self.snapshots.len() - 1;
        let depth = depth.min(tip.saturating_sub(self.base));
        if depth == 0 {
            return;
        }
        let target = tip - depth;
        let lowest = self
            .state()
            .hash_at(chain_node::Height(target as u32 + 1))
            .unwrap();
        self.state().invalidate_block(&lowest).unwrap();
        self.snapshots.truncate(target + 1);
        let snap = self.snapshots[target].clone();
        self.mem.headers = snap.headers;
        self.mem.utxo = snap.utxo;
        if snap.names != self.names {
            self.name_undos += 1;
        }
        self.names = snap.names;
        self.preorder_outputs = snap.preorder_outputs;
        assert_eq!(self.state().tip().0, chain_node::Height(target as u32));
        self.time_shift += 1;
        self.check();
    }

    /// Drops the chain state without flushing, as a crash would, and reopens it.
    fn crash(&mut self) {
        self.state.take().unwrap().drop_unflushed();
        self.state =
            Some(ChainState::open_with(&self.dir, self.params.clone(), self.cache).unwrap());
        self.check();
    }

    /// Rebuilds every derived record and checks it.
    fn reindex(&mut self) {
        drop(self.state.take());
        let mut st = ChainState::open_for_reindex(&self.dir, self.params.clone()).unwrap();
        st.reindex(|_, _| {}).unwrap();
        drop(st);
        self.state =
            Some(ChainState::open_with(&self.dir, self.params.clone(), self.cache).unwrap());
        self.check();
    }
}

/// Random blocks of name operations, reorganisations, crashes before a flush and
/// reindexes: after each, the name and address indexes are exactly the oracle's, and a
/// disconnect restores exactly the state of the height below.
#[test]
fn random_name_blocks_reorgs_crashes_and_reindexes_match_the_oracle() {
    let config = Config {
        cases: 10,
        rng_seed: RngSeed::Fixed(0x6e61_6d65),
        failure_persistence: None,
        ..Config::default()
    };
    let case = std::sync::atomic::AtomicUsize::new(0);
    let totals = std::sync::Mutex::new((BTreeMap::<&'static str, usize>::new(), 0usize, 0usize));
    proptest!(config, |(steps in prop::collection::vec(step_strategy(), 15..40))| {
        let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Every third block flushed: crashes lose some blocks and keep others.
        let cache = CacheConfig { max_blocks: 3, ..CacheConfig::default() };
        let mut h = Harness::new(&format!("names-prop-{case}"), cache);
        h.launch_namespace();
        for step in &steps {
            match step {
                Step::Block(ops) => {
                    let txs = ops.iter().map(|op| h.op(op)).collect();
                    h.connect(txs);
                }
                Step::Reorg(depth) => h.reorg(usize::from(*depth)),
                Step::Crash => h.crash(),
                Step::Reindex => h.reindex(),
            }
        }
        let mut t = totals.lock().unwrap();
        for (kind, n) in &h.accepted {
            *t.0.entry(kind).or_default() += n;
        }
        t.1 += h.rejected;
        t.2 += h.name_undos;
    });
    // The random runs reached every kind of name operation, rejections, and disconnects
    // that undid name changes.
    let (accepted, rejected, undos) = totals.into_inner().unwrap();
    for kind in [
        "name preorder",
        "name register",
        "name update",
        "name transfer",
        "name renew",
    ] {
        assert!(
            accepted.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} accepted: {accepted:?}"
        );
    }
    assert!(
        rejected > 0 && undos > 0,
        "{rejected} rejected, {undos} name undos"
    );
}

/// A registration, then a reorganisation that removes its block: the name is gone, its
/// preorder is back; a crash before the flush and a reopen agree, and so does a reindex.
#[test]
fn a_reorg_that_removes_a_registration_removes_the_name() {
    let mut h = Harness::new("names-reorg", CacheConfig::default());
    h.launch_namespace();
    let alice = h.owners[1].clone();
    let name: naming::Name = "alice.id".parse().unwrap();
    let commitment = h.register_alice(5);
    let record = h.state().name_record(&name).unwrap().unwrap();
    assert_eq!(record.owner, owner_address(&alice));
    assert!(h.state().preorder_record(&commitment).unwrap().is_none());
    // Unflushed: a crash and a reopen connect it again.
    h.crash();
    assert!(h.state().name_record(&name).unwrap().is_some());
    h.reorg(1);
    assert_eq!(h.state().name_record(&name).unwrap(), None);
    assert!(h.state().preorder_record(&commitment).unwrap().is_some());
    h.state().flush().unwrap();
    h.reindex();
    assert_eq!(h.state().name_record(&name).unwrap(), None);
}

/// A store of format 3 (no index undo records, no name index) is refused with advice,
/// and a reindex upgrades it to the records a store of this format holds.
#[test]
fn a_format_3_store_is_refused_and_a_reindex_builds_its_name_index() {
    let mut h = Harness::new("names-format3", CacheConfig::default());
    h.launch_namespace();
    h.register_alice(1);
    let want = h.state().index_records().unwrap();
    assert!(
        want.keys().any(|k| k.first() == Some(&b'n')),
        "a name is stored"
    );
    drop(h.state.take());
    // What format 3 had on disk: version 3, no `x`, `s`, `n`, `p` or `r` records.
    {
        let db = crate::chain::open_raw(&h.dir);
        for prefix in [b'x', b's', b'n', b'p', b'r'] {
            let keys: Vec<sled::IVec> = db
                .scan_prefix([prefix])
                .keys()
                .map(Result::unwrap)
                .collect();
            for k in keys {
                db.remove(k).unwrap();
            }
        }
        db.insert(b"v", &3u32.to_le_bytes()).unwrap();
        db.flush().unwrap();
    }
    let err = ChainState::open(&h.dir, h.params.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            chain_node::error::ChainError::OldFormat {
                found: 3,
                expected: 6
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("chain-node reindex"));
    h.reindex();
    assert_eq!(h.state().index_records().unwrap(), want);
}

/// A store of format 5, whose name records (and the roots its blocks commit to) name
/// owners by key, is refused at open and by a reindex, naming both formats; nothing is
/// written to it.
#[test]
fn a_format_5_store_is_refused() {
    let mut h = Harness::new("names-format5", CacheConfig::default());
    h.launch_namespace();
    h.register_alice(1);
    drop(h.state.take());
    {
        let db = crate::chain::open_raw(&h.dir);
        db.insert(b"v", &5u32.to_le_bytes()).unwrap();
        db.flush().unwrap();
    }
    let before: Vec<(sled::IVec, sled::IVec)> = crate::chain::open_raw(&h.dir)
        .iter()
        .map(Result::unwrap)
        .collect();
    for err in [
        ChainState::open(&h.dir, h.params.clone()).unwrap_err(),
        ChainState::open_for_reindex(&h.dir, h.params.clone()).unwrap_err(),
    ] {
        let chain_node::error::ChainError::WrongStore { expected, found } = &err else {
            panic!("{err}");
        };
        assert!(expected.starts_with("format 6,"), "{err}");
        assert!(found.starts_with("format 5,"), "{err}");
    }
    let after: Vec<(sled::IVec, sled::IVec)> = crate::chain::open_raw(&h.dir)
        .iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(before, after, "a refused store is left as it was");
}
