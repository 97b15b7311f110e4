//! Name operations sent through a node and mined by it, for tests that need names on a
//! chain: a payer with mature coinbase coins funds each operation (built with
//! `names::op_tx`), the node relays it and mines it.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;

use chain_node::{Node, OutPoint, Params, Transaction, TxId};
use ed25519_dalek::SigningKey;
use naming::{Commitment, Name, NamespaceId, Operation, Salt, ZoneFileHash};

use crate::helpers::{Reads as _, address, coinbase_coin, key};
use crate::names::{op_tx, owner_address, test_terms};

/// Sends name operations through `node` and mines them there.
pub(crate) struct Registrar<'n> {
    node: &'n Node,
    params: Params,
    payer: SigningKey,
    /// The height of the next unspent coinbase coin of the payer's.
    next_coin: Cell<u32>,
}

impl<'n> Registrar<'n> {
    /// Mines 110 blocks to the payer on `node` (the first ten coinbases mature).
    pub(crate) fn new(node: &'n Node) -> Self {
        let payer = key(1);
        node.generate(110, address(&payer)).unwrap();
        Registrar {
            params: node.params().clone(),
            node,
            payer,
            next_coin: Cell::new(1),
        }
    }

    /// The payer: the key of every funding coin.
    pub(crate) fn payer(&self) -> &SigningKey {
        &self.payer
    }

    /// The coin [`Registrar::fund`] handed out `back` calls ago (1: the last one).
    pub(crate) fn funded(&self, back: u32) -> (OutPoint, chain_node::validation::Coin) {
        coinbase_coin(self.node, self.next_coin.get() - back)
    }

    /// A fresh mature coin of the payer's.
    pub(crate) fn fund(&self) -> (OutPoint, chain_node::validation::Coin) {
        let coin = coinbase_coin(self.node, self.next_coin.get());
        self.next_coin.set(self.next_coin.get() + 1);
        coin
    }

    /// Mines `n` blocks to the payer.
    pub(crate) fn generate(&self, n: u32) {
        self.node.generate(n, address(&self.payer)).unwrap();
    }

    /// Sends `tx` through the mempool and mines a block with it.
    pub(crate) fn mine(&self, tx: Transaction) -> TxId {
        let txid = self.node.submit_transaction(tx).unwrap();
        self.generate(1);
        let (_, tip) = self.node.tip().unwrap();
        let block = self.node.block(&tip).unwrap();
        assert!(block.txs.iter().any(|t| t.txid() == txid), "mined");
        txid
    }

    /// Output 0 of `txid` (a preorder's designated output) with its coin.
    pub(crate) fn out0(&self, txid: TxId) -> (OutPoint, chain_node::validation::Coin) {
        let o = OutPoint { txid, vout: 0 };
        (o, self.node.coin(&o).unwrap())
    }

    /// An operation signed by `signer` funded by a fresh coin, burning `burn`.
    pub(crate) fn op(&self, signer: &SigningKey, op: Operation, burn: u64) -> Transaction {
        let (o, c) = self.fund();
        op_tx(&self.params, &[(o, c, &self.payer)], signer, op, burn)
    }

    /// Preorders, reveals (with `names::test_terms`) and readies namespace `id`
    /// created by `creator`, each mined.
    pub(crate) fn launch_namespace(&self, creator: &SigningKey, id: &NamespaceId) {
        let salt = Salt([7; 16]);
        let price = self.params.naming.namespace_prices.price(id).units();
        let commitment = Commitment::for_namespace(id, &salt, &owner_address(creator));
        let preorder =
            self.mine(self.op(creator, Operation::NamespacePreorder { commitment }, price));
        self.generate(self.params.naming.preorder_min_depth.saturating_sub(1));
        let (o, c) = self.fund();
        let (po, pc) = self.out0(preorder);
        self.mine(op_tx(
            &self.params,
            &[(o, c, &self.payer), (po, pc, &self.payer)],
            creator,
            Operation::NamespaceReveal {
                namespace: id.clone(),
                salt,
                terms: test_terms(),
            },
            0,
        ));
        let ready = Operation::NamespaceReady {
            namespace: id.clone(),
        };
        self.mine(self.op(creator, ready, 0));
    }

    /// Mines the preorder of `name` for `owner`, burning `price`, and the blocks that
    /// make it deep enough; returns the register transaction, not sent.
    pub(crate) fn preorder(
        &self,
        owner: &SigningKey,
        name: &Name,
        price: u64,
        zone_file: Option<ZoneFileHash>,
    ) -> Transaction {
        let salt = Salt([8; 16]);
        let commitment = Commitment::for_name(name, &salt, &owner_address(owner));
        let preorder = self.mine(self.op(owner, Operation::NamePreorder { commitment }, price));
        self.generate(self.params.naming.preorder_min_depth.saturating_sub(1));
        let (o, c) = self.fund();
        let (po, pc) = self.out0(preorder);
        op_tx(
            &self.params,
            &[(o, c, &self.payer), (po, pc, &self.payer)],
            owner,
            Operation::NameRegister {
                name: name.clone(),
                salt,
                zone_file,
            },
            0,
        )
    }
}
