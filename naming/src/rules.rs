//! The rules: [`apply`] checks one signed operation against the name state and the
//! transaction that carries it, and returns the [`Changes`] it makes or the
//! [`Rejection`] that names the rule it breaks. Pure and total: no clock, disk or
//! network, only the values passed in. The state knows owners by address: an operation
//! acts as the address of the key that signed it.

use crate::changes::{Change, Changes};
use crate::error::Rejection;
use crate::name::{Name, NamespaceId};
use crate::operation::{NamespaceTerms, Operation, SignedOperation};
use crate::params::NamingParams;
use crate::price::NAME_COST_UNIT;
use crate::records::{
    NameRecord, NameStatus, NamespaceRecord, NamespaceStatus, PreorderKind, PreorderRecord,
};
use crate::values::{Amount, ChainId, Commitment, Height, OutPoint, OwnerAddress, TxId};
use crate::view::NameView;

/// What the rules know of the transaction that carries an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxContext {
    /// The network's chain id (genesis hash).
    pub chain_id: ChainId,
    /// The carrying transaction's id.
    pub txid: TxId,
    /// The height of the block that holds it (for the mempool: the next block's).
    pub height: Height,
    /// The amount of the burn output that carries the payload.
    pub burned: Amount,
    /// The outpoints the transaction spends, in input order (empty for a coinbase).
    pub spent: Vec<OutPoint>,
    /// The output indexes of its pay outputs, in order.
    pub pay_vouts: Vec<u32>,
}

/// Decodes `payload` (a burn output's data) and applies it; see [`apply`].
///
/// # Errors
/// [`Rejection::Decode`] for a payload that does not decode, else as [`apply`].
pub fn apply_payload<V: NameView + ?Sized>(
    params: &NamingParams,
    view: &V,
    ctx: &TxContext,
    payload: &[u8],
) -> Result<Changes, Rejection> {
    apply(params, view, ctx, &SignedOperation::decode(payload)?)
}

/// Checks `op`, carried by the transaction `ctx` describes, against the name state in
/// `view`, and returns what it changes. Nothing is written: the caller stores the
/// changes (and keeps them as the undo record) or drops them.
///
/// # Errors
/// The [`Rejection`] naming the first rule `op` breaks; the state is then unchanged and
/// the transaction's burn is lost.
pub fn apply<V: NameView + ?Sized>(
    params: &NamingParams,
    view: &V,
    ctx: &TxContext,
    op: &SignedOperation,
) -> Result<Changes, Rejection> {
    let first = ctx.spent.first().ok_or(Rejection::NoSpentOutpoint)?;
    if !op.verify(&ctx.chain_id, first) {
        return Err(Rejection::BadSignature);
    }
    let signer = op.signer_address();
    let rules = Rules {
        params,
        view,
        ctx,
        signer,
    };
    match &op.op {
        Operation::NamespacePreorder { commitment } => rules.preorder(
            PreorderKind::Namespace,
            *commitment,
            params.namespace_prices.cheapest(),
        ),
        Operation::NamespaceReveal {
            namespace,
            salt,
            terms,
        } => {
            let commitment = Commitment::for_namespace(namespace, salt, &signer);
            rules.namespace_reveal(namespace, commitment, terms)
        }
        Operation::NamespaceReady { namespace } => rules.namespace_ready(namespace),
        Operation::NamePreorder { commitment } => {
            rules.preorder(PreorderKind::Name, *commitment, Amount(NAME_COST_UNIT))
        }
        Operation::NameRegister {
            name,
            salt,
            zone_file,
        } => {
            let commitment = Commitment::for_name(name, salt, &signer);
            rules.register(name, commitment, *zone_file)
        }
        Operation::NameUpdate { name, zone_file } => {
            rules.change_name(name, false, |record| record.zone_file = Some(*zone_file))
        }
        Operation::NameTransfer {
            name,
            new_owner,
            keep_zone_file,
        } => rules.change_name(name, false, |record| {
            record.owner = *new_owner;
            if !keep_zone_file {
                record.zone_file = None;
            }
        }),
        Operation::NameRenew { name } => rules.renew(name),
        Operation::NameRevoke { name } => rules.change_name(name, false, |record| {
            record.revoked = true;
            record.zone_file = None;
        }),
    }
}

/// Like [`apply`] for a transaction offered to the mempool, with `ctx.height` the
/// height of the next block: a node relays and keeps a transaction carrying a name
/// operation only when this passes. In particular a register or namespace reveal whose
/// preorder is not yet `preorder_min_depth` deep is refused
/// ([`Rejection::is_premature`]), so nobody learns a name before its owner's preorder
/// can win.
///
/// # Errors
/// As [`apply`].
pub fn check_relay<V: NameView + ?Sized>(
    params: &NamingParams,
    view: &V,
    ctx: &TxContext,
    payload: &[u8],
) -> Result<(), Rejection> {
    apply_payload(params, view, ctx, payload).map(|_| ())
}

/// The state of one check.
struct Rules<'a, V: ?Sized> {
    params: &'a NamingParams,
    view: &'a V,
    ctx: &'a TxContext,
    /// The address of the key that signed the operation.
    signer: OwnerAddress,
}

impl<V: NameView + ?Sized> Rules<'_, V> {
    /// Checks that `paid` covers `price`.
    fn fee(paid: Amount, price: Amount) -> Result<(), Rejection> {
        if paid < price {
            return Err(Rejection::FeeTooLow {
                required: price,
                burned: paid,
            });
        }
        Ok(())
    }

    /// A namespace or name preorder: burns at least `min_burn`, designates the
    /// transaction's first pay output, takes a commitment that is not live.
    fn preorder(
        &self,
        kind: PreorderKind,
        commitment: Commitment,
        min_burn: Amount,
    ) -> Result<Changes, Rejection> {
        Self::fee(self.ctx.burned, min_burn)?;
        let vout = *self
            .ctx
            .pay_vouts
            .first()
            .ok_or(Rejection::PreorderWithoutOutput)?;
        let before = self.view.preorder(&commitment);
        if let Some(existing) = &before
            && self.ctx.height.blocks_since(existing.height) <= self.params.preorder_max_age
        {
            return Err(Rejection::PreorderExists { commitment });
        }
        let after = PreorderRecord {
            kind,
            signer: self.signer,
            height: self.ctx.height,
            burned: self.ctx.burned,
            output: OutPoint {
                txid: self.ctx.txid,
                vout,
            },
        };
        Ok(Changes::new(vec![Change::Preorder {
            commitment,
            before,
            after: Some(after),
        }]))
    }

    /// The preorder a reveal consumes: of the right kind, signed by a key of the
    /// revealer's address, deep enough, not stale, its output spent by this transaction.
    fn take_preorder(
        &self,
        kind: PreorderKind,
        commitment: Commitment,
    ) -> Result<(PreorderRecord, Change), Rejection> {
        let preorder = self
            .view
            .preorder(&commitment)
            .filter(|p| p.kind == kind)
            .ok_or(Rejection::NoPreorder { commitment })?;
        if preorder.signer != self.signer {
            return Err(Rejection::PreorderSignerMismatch {
                preorder: preorder.signer,
                signer: self.signer,
            });
        }
        let depth = self.ctx.height.blocks_since(preorder.height);
        if depth < self.params.preorder_min_depth {
            return Err(Rejection::PreorderTooRecent {
                depth,
                min: self.params.preorder_min_depth,
            });
        }
        if depth > self.params.preorder_max_age {
            return Err(Rejection::PreorderTooOld {
                age: depth,
                max: self.params.preorder_max_age,
            });
        }
        if !self.ctx.spent.contains(&preorder.output) {
            return Err(Rejection::PreorderOutputNotSpent {
                output: preorder.output,
            });
        }
        let change = Change::Preorder {
            commitment,
            before: Some(preorder.clone()),
            after: None,
        };
        Ok((preorder, change))
    }

    fn namespace_reveal(
        &self,
        id: &NamespaceId,
        commitment: Commitment,
        terms: &NamespaceTerms,
    ) -> Result<Changes, Rejection> {
        if terms.lifetime == 0 {
            return Err(Rejection::ZeroLifetime);
        }
        let before = self.view.namespace(id);
        if let Some(existing) = &before
            && existing.status(self.ctx.height) != NamespaceStatus::Lapsed
        {
            return Err(Rejection::NamespaceExists {
                namespace: id.clone(),
            });
        }
        let (preorder, consumed) = self.take_preorder(PreorderKind::Namespace, commitment)?;
        Self::fee(preorder.burned, self.params.namespace_prices.price(id))?;
        let after = NamespaceRecord {
            creator: self.signer,
            terms: *terms,
            revealed_at: self.ctx.height,
            ready_by: self
                .ctx
                .height
                .saturating_add(self.params.namespace_ready_window),
            ready_at: None,
            reveal_txid: self.ctx.txid,
        };
        Ok(Changes::new(vec![
            Change::Namespace {
                id: id.clone(),
                before,
                after: Some(after),
            },
            consumed,
        ]))
    }

    fn namespace_ready(&self, id: &NamespaceId) -> Result<Changes, Rejection> {
        let namespace = || id.clone();
        let before = self
            .view
            .namespace(id)
            .ok_or_else(|| Rejection::NoNamespace {
                namespace: namespace(),
            })?;
        if before.creator != self.signer {
            return Err(Rejection::NotCreator {
                namespace: namespace(),
                creator: before.creator,
                signer: self.signer,
            });
        }
        match before.status(self.ctx.height) {
            NamespaceStatus::Ready => {
                return Err(Rejection::AlreadyReady {
                    namespace: namespace(),
                });
            }
            NamespaceStatus::Lapsed => {
                return Err(Rejection::NamespaceLapsed {
                    namespace: namespace(),
                });
            }
            NamespaceStatus::Revealed => {}
        }
        let mut after = before.clone();
        after.ready_at = Some(self.ctx.height);
        Ok(Changes::new(vec![Change::Namespace {
            id: id.clone(),
            before: Some(before),
            after: Some(after),
        }]))
    }

    /// The ready namespace of `name`.
    fn ready_namespace(&self, name: &Name) -> Result<NamespaceRecord, Rejection> {
        let namespace =
            self.view
                .namespace(&name.namespace)
                .ok_or_else(|| Rejection::NoNamespace {
                    namespace: name.namespace.clone(),
                })?;
        if namespace.status(self.ctx.height) != NamespaceStatus::Ready {
            return Err(Rejection::NamespaceNotReady {
                namespace: name.namespace.clone(),
            });
        }
        Ok(namespace)
    }

    fn register(
        &self,
        name: &Name,
        commitment: Commitment,
        zone_file: Option<crate::values::ZoneFileHash>,
    ) -> Result<Changes, Rejection> {
        let namespace = self.ready_namespace(name)?;
        let before = self.view.name(name);
        if let Some(existing) = &before {
            let status = existing.status(self.ctx.height);
            if status != NameStatus::Expired {
                return Err(Rejection::NameTaken {
                    name: name.clone(),
                    status,
                });
            }
        }
        let (preorder, consumed) = self.take_preorder(PreorderKind::Name, commitment)?;
        Self::fee(preorder.burned, namespace.terms.price.price(&name.label))?;
        let expires_at = self.ctx.height.saturating_add(namespace.terms.lifetime);
        let after = NameRecord {
            owner: self.signer,
            zone_file,
            registered_at: self.ctx.height,
            expires_at,
            grace_ends_at: expires_at.saturating_add(namespace.terms.grace),
            revoked: false,
            last_txid: self.ctx.txid,
        };
        Ok(Changes::new(vec![
            Change::Name {
                name: name.clone(),
                before,
                after: Some(after),
            },
            consumed,
        ]))
    }

    /// The record of `name` if the signer's address owns it and it may be used now:
    /// active, or in its grace period when `grace_ok`.
    fn owned(&self, name: &Name, grace_ok: bool) -> Result<NameRecord, Rejection> {
        let record = self
            .view
            .name(name)
            .ok_or_else(|| Rejection::NoName { name: name.clone() })?;
        match record.status(self.ctx.height) {
            NameStatus::Expired => return Err(Rejection::NameExpired { name: name.clone() }),
            NameStatus::Revoked => return Err(Rejection::NameRevoked { name: name.clone() }),
            NameStatus::Grace if !grace_ok => {
                return Err(Rejection::NameInGrace { name: name.clone() });
            }
            NameStatus::Grace | NameStatus::Active => {}
        }
        if record.owner != self.signer {
            return Err(Rejection::NotOwner {
                name: name.clone(),
                owner: record.owner,
                signer: self.signer,
            });
        }
        Ok(record)
    }

    /// An owner's change of an active name (or one in grace when `grace_ok`).
    fn change_name(
        &self,
        name: &Name,
        grace_ok: bool,
        edit: impl FnOnce(&mut NameRecord),
    ) -> Result<Changes, Rejection> {
        let before = self.owned(name, grace_ok)?;
        let mut after = before.clone();
        edit(&mut after);
        after.last_txid = self.ctx.txid;
        Ok(Changes::new(vec![Change::Name {
            name: name.clone(),
            before: Some(before),
            after: Some(after),
        }]))
    }

    fn renew(&self, name: &Name) -> Result<Changes, Rejection> {
        // The owner's check comes first: a stranger learns nothing about prices here.
        self.owned(name, true)?;
        let namespace = self.ready_namespace(name)?;
        Self::fee(self.ctx.burned, namespace.terms.price.price(&name.label))?;
        self.change_name(name, true, |record| {
            record.expires_at = record.expires_at.saturating_add(namespace.terms.lifetime);
            record.grace_ends_at = record.expires_at.saturating_add(namespace.terms.grace);
        })
    }
}
