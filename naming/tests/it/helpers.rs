//! A small chain of name operations for the tests: a name state in memory, unique
//! transaction ids and outpoints, and the flows (launch a namespace, register a name)
//! that most rule tests start from.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use ed25519_dalek::SigningKey;
use naming::{
    Amount, ChainId, Changes, Commitment, Height, MemoryNames, Name, NamespaceId, NamespaceTerms,
    NamingParams, Operation, OutPoint, OwnerAddress, PriceFunction, Rejection, Salt,
    SignedOperation, TxContext, TxId, apply,
};
use sha2::{Digest, Sha256};

/// Minimum preorder depth of the test parameters.
pub(crate) const MIN_DEPTH: u32 = 2;
/// Maximum preorder age of the test parameters.
pub(crate) const MAX_AGE: u32 = 10;
/// Namespace ready window of the test parameters.
pub(crate) const READY_WINDOW: u32 = 20;
/// Lifetime of the test namespace.
pub(crate) const LIFETIME: u32 = 100;
/// Grace period of the test namespace.
pub(crate) const GRACE: u32 = 20;

/// A signing key from a seed byte.
pub(crate) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The address of `key`, computed here as the chain defines it (an oracle independent
/// of `OwnerAddress::of_key`): `SHA-256("chain-node/address/v1" ‖ public key)`.
pub(crate) fn owner(key: &SigningKey) -> OwnerAddress {
    let mut h = Sha256::new();
    h.update(b"chain-node/address/v1");
    h.update(key.verifying_key().to_bytes());
    OwnerAddress(h.finalize().into())
}

/// Parses a name.
pub(crate) fn name(s: &str) -> Name {
    s.parse().unwrap()
}

/// Parses a namespace id.
pub(crate) fn ns(s: &str) -> NamespaceId {
    s.parse().unwrap()
}

/// The test namespace's price function: coeff 3, base 4, exponents falling with length,
/// both discounts 2.
pub(crate) fn test_price() -> PriceFunction {
    PriceFunction::new(3, 4, [6, 5, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0], 2, 2).unwrap()
}

/// The test namespace's terms.
pub(crate) fn test_terms() -> NamespaceTerms {
    NamespaceTerms {
        lifetime: LIFETIME,
        grace: GRACE,
        price: test_price(),
    }
}

/// A name state and what it takes to make transactions against it.
pub(crate) struct World {
    /// The rules' parameters.
    pub(crate) params: NamingParams,
    /// The state.
    pub(crate) state: MemoryNames,
    /// The chain id every operation is signed for.
    pub(crate) chain_id: ChainId,
    /// The changes of every accepted operation, in order.
    pub(crate) journal: Vec<Changes>,
    counter: u64,
}

impl World {
    /// An empty state under the test parameters.
    pub(crate) fn new() -> Self {
        let mut params = NamingParams::regtest();
        params.preorder_min_depth = MIN_DEPTH;
        params.preorder_max_age = MAX_AGE;
        params.namespace_ready_window = READY_WINDOW;
        World {
            params,
            state: MemoryNames::new(),
            chain_id: ChainId([0xc1; 32]),
            journal: Vec::new(),
            counter: 0,
        }
    }

    /// A transaction id never used before.
    pub(crate) fn fresh_txid(&mut self) -> TxId {
        self.counter += 1;
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&self.counter.to_le_bytes());
        TxId(id)
    }

    /// An outpoint never used before (a payer's coin).
    pub(crate) fn coin(&mut self) -> OutPoint {
        OutPoint {
            txid: self.fresh_txid(),
            vout: 0,
        }
    }

    /// A transaction at `height` burning `burned`, spending `spent` (a fresh coin first
    /// when empty), with one pay output at index 1.
    pub(crate) fn ctx(&mut self, height: u32, burned: u64, mut spent: Vec<OutPoint>) -> TxContext {
        if spent.is_empty() {
            spent.push(self.coin());
        }
        TxContext {
            chain_id: self.chain_id,
            txid: self.fresh_txid(),
            height: Height(height),
            burned: Amount(burned),
            spent,
            pay_vouts: vec![1],
        }
    }

    /// Signs `op` for `ctx` (over its first spent outpoint).
    pub(crate) fn sign(&self, key: &SigningKey, op: Operation, ctx: &TxContext) -> SignedOperation {
        let first = ctx.spent.first().copied().unwrap_or_default();
        SignedOperation::sign(op, key, &self.chain_id, &first)
    }

    /// Applies a signed operation and, when accepted, writes its changes.
    pub(crate) fn submit_signed(
        &mut self,
        op: &SignedOperation,
        ctx: &TxContext,
    ) -> Result<Changes, Rejection> {
        let changes = apply(&self.params, &self.state, ctx, op)?;
        self.state.apply(&changes).unwrap();
        self.journal.push(changes.clone());
        Ok(changes)
    }

    /// Signs, applies and (when accepted) writes `op`.
    pub(crate) fn submit(
        &mut self,
        key: &SigningKey,
        op: Operation,
        ctx: &TxContext,
    ) -> Result<Changes, Rejection> {
        let signed = self.sign(key, op, ctx);
        self.submit_signed(&signed, ctx)
    }

    /// A name preorder at `height` burning `burned`; returns the output its register
    /// must spend.
    pub(crate) fn preorder_name(
        &mut self,
        key: &SigningKey,
        name: &Name,
        salt: Salt,
        height: u32,
        burned: u64,
    ) -> OutPoint {
        let commitment = Commitment::for_name(name, &salt, &owner(key));
        let ctx = self.ctx(height, burned, vec![]);
        self.submit(key, Operation::NamePreorder { commitment }, &ctx)
            .unwrap();
        OutPoint {
            txid: ctx.txid,
            vout: 1,
        }
    }

    /// A namespace preorder at `height` burning `burned`; returns its output.
    pub(crate) fn preorder_namespace(
        &mut self,
        key: &SigningKey,
        id: &NamespaceId,
        salt: Salt,
        height: u32,
        burned: u64,
    ) -> OutPoint {
        let commitment = Commitment::for_namespace(id, &salt, &owner(key));
        let ctx = self.ctx(height, burned, vec![]);
        self.submit(key, Operation::NamespacePreorder { commitment }, &ctx)
            .unwrap();
        OutPoint {
            txid: ctx.txid,
            vout: 1,
        }
    }

    /// The namespace's price under the test parameters.
    pub(crate) fn namespace_price(&self, id: &NamespaceId) -> u64 {
        self.params.namespace_prices.price(id).units()
    }

    /// Preorders at `height`, reveals `MIN_DEPTH` later and readies the block after;
    /// returns the height of the ready operation.
    pub(crate) fn launch(&mut self, key: &SigningKey, id: &NamespaceId, height: u32) -> u32 {
        self.launch_with(key, id, test_terms(), height)
    }

    /// [`World::launch`] with other terms.
    pub(crate) fn launch_with(
        &mut self,
        key: &SigningKey,
        id: &NamespaceId,
        terms: NamespaceTerms,
        height: u32,
    ) -> u32 {
        let salt = Salt([0x5a; 16]);
        let price = self.namespace_price(id);
        let out = self.preorder_namespace(key, id, salt, height, price);
        let reveal = self.ctx(height + MIN_DEPTH, 0, vec![out]);
        let op = Operation::NamespaceReveal {
            namespace: id.clone(),
            salt,
            terms,
        };
        self.submit(key, op, &reveal).unwrap();
        let ready_height = height + MIN_DEPTH + 1;
        let ready = self.ctx(ready_height, 0, vec![]);
        self.submit(
            key,
            Operation::NamespaceReady {
                namespace: id.clone(),
            },
            &ready,
        )
        .unwrap();
        ready_height
    }

    /// Preorders `name` at `height` paying the test price, registers it `MIN_DEPTH`
    /// later; returns the register's height.
    pub(crate) fn register(&mut self, key: &SigningKey, name: &Name, height: u32) -> u32 {
        let salt = Salt([0x33; 16]);
        let price = test_price().price(&name.label).units();
        let out = self.preorder_name(key, name, salt, height, price);
        let at = height + MIN_DEPTH;
        let ctx = self.ctx(at, 0, vec![out]);
        let op = Operation::NameRegister {
            name: name.clone(),
            salt,
            zone_file: None,
        };
        self.submit(key, op, &ctx).unwrap();
        at
    }
}
