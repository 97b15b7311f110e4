//! The name index: the state of the naming layer (namespaces, names, preorders) as the
//! `naming` crate's rules build it from the name operations of the connected blocks.
//!
//! For each non-coinbase transaction, the first burn output whose data
//! [`naming::is_naming_payload`] is its operation; [`naming::apply_payload`] checks it
//! against the state after every earlier operation (those of the same block included)
//! and returns its [`Changes`], which are written and kept, in block order, as the
//! block's undo record. A rejected operation changes nothing: the transaction stays
//! valid and its burn is lost. Records: `s` ‖ namespace id, `n` ‖ name, `p` ‖
//! commitment, each the record's canonical bytes from `naming`.
//!
//! The index also keeps the sparse Merkle tree of those records (ADR 0034): `r` ‖ node
//! path → node, written by [`naming::update`] from the block's leaf changes in the same
//! writes as the records, and undone by the update of [`naming::LeafChange::undo`]. Its
//! root ([`state_root`]) is what a block's coinbase commits to (ADR 0035).

use std::cell::RefCell;

use naming::{
    Change, Changes, Commitment, LeafChange, Name, NameRecord, NameView, NamespaceId,
    NamespaceRecord, Node, NodePath, PreorderRecord, SmtError, SmtStore, StateRoot, TxContext,
};

use super::{Connected, DerivedIndex, IndexBlock, IndexRead, Overlay, Writes};
use crate::error::ChainError;
use crate::transaction::{OutputKind, Transaction};
use crate::units::Height;

/// Prefix of namespace records by id.
pub(crate) const P_NAMESPACE: u8 = b's';
/// Prefix of name records by name (`label.namespace`, so keys sort by name).
pub(crate) const P_NAME: u8 = b'n';
/// Prefix of preorder records by commitment.
pub(crate) const P_PREORDER: u8 = b'p';
/// Prefix of the name-state tree's nodes by path ([`NodePath::to_bytes`]).
pub(crate) const P_TREE: u8 = b'r';

/// Most operations one block's undo record may list (a block of 1,000,000 bytes holds
/// fewer transactions than this).
const MAX_UNDO_OPS: usize = 1 << 16;

/// The name index.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NameIndex;

/// The key of namespace `id`.
pub(crate) fn namespace_key(id: &NamespaceId) -> Vec<u8> {
    keyed(P_NAMESPACE, id.as_str().as_bytes())
}

/// The key of `name`.
pub(crate) fn name_key(name: &Name) -> Vec<u8> {
    keyed(P_NAME, name.to_string().as_bytes())
}

/// The key of the preorder with `commitment`.
pub(crate) fn preorder_key(commitment: &Commitment) -> Vec<u8> {
    keyed(P_PREORDER, commitment.as_bytes())
}

/// The key of the tree node at `path`.
pub(crate) fn tree_key(path: &NodePath) -> Vec<u8> {
    keyed(P_TREE, &path.to_bytes())
}

fn keyed(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(prefix);
    k.extend_from_slice(rest);
    k
}

fn corrupt(key: &[u8], source: impl std::error::Error + Send + Sync + 'static) -> ChainError {
    ChainError::IndexCorrupt {
        index: "name",
        key: hex::encode(key),
        source: Box::new(source),
    }
}

/// Reads and decodes one record.
fn read<T>(
    store: &dyn IndexRead,
    key: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, naming::DecodeError>,
) -> Result<Option<T>, ChainError> {
    match store.get(key)? {
        None => Ok(None),
        Some(bytes) => decode(&bytes).map(Some).map_err(|e| corrupt(key, e)),
    }
}

/// The record of namespace `id`.
///
/// # Errors
/// Storage errors, a record that does not decode.
pub(crate) fn namespace(
    store: &dyn IndexRead,
    id: &NamespaceId,
) -> Result<Option<NamespaceRecord>, ChainError> {
    read(store, &namespace_key(id), NamespaceRecord::decode)
}

/// The record of `name` (expired ones included).
///
/// # Errors
/// Storage errors, a record that does not decode.
pub(crate) fn name(store: &dyn IndexRead, name: &Name) -> Result<Option<NameRecord>, ChainError> {
    read(store, &name_key(name), NameRecord::decode)
}

/// The preorder with `commitment`.
///
/// # Errors
/// Storage errors, a record that does not decode.
pub(crate) fn preorder(
    store: &dyn IndexRead,
    commitment: &Commitment,
) -> Result<Option<PreorderRecord>, ChainError> {
    read(store, &preorder_key(commitment), PreorderRecord::decode)
}

/// At most `limit` names in name order, after `after` when given.
///
/// # Errors
/// Storage errors, records that do not decode.
pub(crate) fn names(
    store: &dyn IndexRead,
    after: Option<&Name>,
    limit: usize,
) -> Result<Vec<(Name, NameRecord)>, ChainError> {
    let after = after.map(name_key);
    store
        .scan(&[P_NAME], after.as_deref(), limit)?
        .into_iter()
        .map(|(key, value)| {
            let name = std::str::from_utf8(key.get(1..).unwrap_or_default())
                .map_err(|e| corrupt(&key, e))
                .and_then(|s| s.parse::<Name>().map_err(|e| corrupt(&key, e)))?;
            let record = NameRecord::decode(&value).map_err(|e| corrupt(&key, e))?;
            Ok((name, record))
        })
        .collect()
}

/// The name-state tree over stored records: [`naming::SmtStore`] on the chain state's
/// view (the coins cache over sled), so that it reads writes not yet flushed.
pub(crate) struct TreeStore<'a>(pub(crate) &'a dyn IndexRead);

impl std::fmt::Debug for TreeStore<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeStore").finish_non_exhaustive()
    }
}

impl SmtStore for TreeStore<'_> {
    type Error = ChainError;

    fn node(&self, path: &NodePath) -> Result<Option<Node>, ChainError> {
        let key = tree_key(path);
        read(self.0, &key, Node::decode)
    }
}

/// A tree error as a chain error: the store's own, or a tree that cannot be.
pub(crate) fn tree_error(e: SmtError<ChainError>) -> ChainError {
    match e {
        SmtError::Store(e) => e,
        other => ChainError::IndexCorrupt {
            index: "name",
            key: hex::encode([P_TREE]),
            source: Box::new(other),
        },
    }
}

/// The root of the name-state tree in `store`.
///
/// # Errors
/// Storage errors, a stored root node that does not decode.
pub(crate) fn state_root(store: &dyn IndexRead) -> Result<StateRoot, ChainError> {
    naming::root(&TreeStore(store)).map_err(tree_error)
}

/// Updates the tree in `overlay` by `changes` (leaf changes in order).
fn write_tree(overlay: &mut Overlay<'_>, changes: &[LeafChange]) -> Result<(), ChainError> {
    if changes.is_empty() {
        return Ok(());
    }
    let update = naming::update(&TreeStore(overlay), changes).map_err(tree_error)?;
    for (path, node) in update.writes {
        overlay.put(tree_key(&path), node.map(|n| n.encode().to_vec()));
    }
    Ok(())
}

/// The leaf changes of `list`, in order.
fn leaf_changes(list: &[Changes]) -> Vec<LeafChange> {
    list.iter()
        .flat_map(|c| c.changes().iter().map(Change::leaf_change))
        .collect()
}

/// A [`NameView`] over stored records. The rules' view cannot fail, so the first read
/// error is kept (the record looks absent) for the caller to report instead of the
/// rules' answer.
pub(crate) struct NamesView<'a> {
    store: &'a dyn IndexRead,
    error: RefCell<Option<ChainError>>,
}

impl std::fmt::Debug for NamesView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamesView").finish_non_exhaustive()
    }
}

impl<'a> NamesView<'a> {
    /// A view of the name state in `store`.
    pub(crate) fn new(store: &'a dyn IndexRead) -> Self {
        NamesView {
            store,
            error: RefCell::new(None),
        }
    }

    /// The first read error seen, if any.
    pub(crate) fn take_error(&self) -> Option<ChainError> {
        self.error.borrow_mut().take()
    }

    fn keep<T>(&self, result: Result<Option<T>, ChainError>) -> Option<T> {
        result.unwrap_or_else(|e| {
            self.error.borrow_mut().get_or_insert(e);
            None
        })
    }
}

impl NameView for NamesView<'_> {
    fn namespace(&self, id: &NamespaceId) -> Option<NamespaceRecord> {
        self.keep(namespace(self.store, id))
    }
    fn name(&self, n: &Name) -> Option<NameRecord> {
        self.keep(name(self.store, n))
    }
    fn preorder(&self, commitment: &Commitment) -> Option<PreorderRecord> {
        self.keep(preorder(self.store, commitment))
    }
}

/// The name operation `tx` carries, if any: the first burn output whose data claims to
/// be one, with the context the rules check it in (the transaction confirmed at
/// `height` on the chain whose genesis is `chain_id`). A coinbase carries none.
pub(crate) fn operation<'t>(
    tx: &'t Transaction,
    chain_id: &crate::hash::BlockHash,
    height: Height,
) -> Option<(TxContext, &'t [u8])> {
    if tx.is_coinbase() {
        return None;
    }
    let (amount, payload) = tx.outputs.iter().find_map(|out| match &out.kind {
        OutputKind::Burn(data) if naming::is_naming_payload(data) => {
            Some((out.amount, data.as_slice()))
        }
        _ => None,
    })?;
    let ctx = TxContext {
        chain_id: naming::ChainId(*chain_id.as_bytes()),
        txid: naming::TxId(*tx.txid().as_bytes()),
        height: naming::Height(height.0),
        burned: naming::Amount(amount.units()),
        spent: tx
            .spends()
            .iter()
            .map(|input| naming::OutPoint {
                txid: naming::TxId(*input.prevout.txid.as_bytes()),
                vout: input.prevout.vout,
            })
            .collect(),
        pay_vouts: (0u32..)
            .zip(&tx.outputs)
            .filter(|(_, out)| matches!(out.kind, OutputKind::Pay(_)))
            .map(|(vout, _)| vout)
            .collect(),
    };
    Some((ctx, payload))
}

/// The key and record after `change`, and the record it expects before it.
fn change_record(change: &Change) -> (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>) {
    match change {
        Change::Namespace { id, before, after } => (
            namespace_key(id),
            before.as_ref().map(NamespaceRecord::encode),
            after.as_ref().map(NamespaceRecord::encode),
        ),
        Change::Name {
            name,
            before,
            after,
        } => (
            name_key(name),
            before.as_ref().map(NameRecord::encode),
            after.as_ref().map(NameRecord::encode),
        ),
        Change::Preorder {
            commitment,
            before,
            after,
        } => (
            preorder_key(commitment),
            before.as_ref().map(PreorderRecord::encode),
            after.as_ref().map(PreorderRecord::encode),
        ),
    }
}

/// A record that is not what a change expects before it.
#[derive(Debug, thiserror::Error)]
#[error("the record does not match the block's name undo record")]
struct Mismatch;

/// Applies `changes` onto `overlay`, checking that each record is what the change
/// expects before it.
fn write(overlay: &mut Overlay<'_>, changes: &Changes) -> Result<(), ChainError> {
    for change in changes.changes() {
        let (key, before, after) = change_record(change);
        if overlay.get(&key)? != before {
            return Err(corrupt(&key, Mismatch));
        }
        if let Change::Name { before, after, .. } = change {
            for (k, v) in crate::zonefile::reference_writes(&key, before.as_ref(), after.as_ref()) {
                overlay.put(k, v);
            }
        }
        overlay.put(key, after);
    }
    Ok(())
}

/// The undo record: the number of accepted operations (`u32` LE), then each one's
/// [`Changes`] bytes behind a `u16` LE length, in block order.
fn encode_undo(list: &[Changes]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&u32::try_from(list.len()).unwrap_or(u32::MAX).to_le_bytes());
    for changes in list {
        let bytes = changes.encode();
        out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

/// Why an undo record does not decode.
type UndoError = Box<dyn std::error::Error + Send + Sync>;

/// Reads an undo record written by [`encode_undo`]; the count is checked against the
/// bytes that remain before anything is allocated.
fn decode_undo(bytes: &[u8]) -> Result<Vec<Changes>, UndoError> {
    use crate::error::DecodeError;
    let mut r = crate::encoding::Reader::new(bytes);
    let count = r.u32()?;
    let max = MAX_UNDO_OPS.min(r.remaining() / 2);
    if usize::try_from(count).map_or(true, |c| c > max) {
        return Err(DecodeError::LengthOverBound {
            what: "name undo record",
            length: u64::from(count),
            max,
        }
        .into());
    }
    let mut list = Vec::with_capacity(max.min(count as usize));
    for _ in 0..count {
        let len = usize::from(r.u16()?);
        list.push(Changes::decode(r.take(len)?)?);
    }
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes {
            count: r.remaining(),
        }
        .into());
    }
    Ok(list)
}

impl DerivedIndex for NameIndex {
    fn name(&self) -> &'static str {
        "name"
    }

    fn id(&self) -> u8 {
        b'n'
    }

    fn prefixes(&self) -> &'static [u8] {
        &[
            P_NAMESPACE,
            P_NAME,
            P_PREORDER,
            P_TREE,
            crate::zonefile::P_ZONE_REF,
        ]
    }

    fn connect(
        &self,
        block: &IndexBlock<'_>,
        store: &dyn IndexRead,
    ) -> Result<Connected, ChainError> {
        let chain_id = block.params.genesis_hash();
        let mut overlay = Overlay::new(store);
        let mut accepted = Vec::new();
        for tx in &block.block.txs {
            let Some((ctx, payload)) = operation(tx, &chain_id, block.height) else {
                continue;
            };
            let outcome = {
                let view = NamesView::new(&overlay);
                let outcome = naming::apply_payload(&block.params.naming, &view, &ctx, payload);
                if let Some(e) = view.take_error() {
                    return Err(e);
                }
                outcome
            };
            // A rejected operation changes nothing; its transaction stays valid.
            if let Ok(changes) = outcome {
                write(&mut overlay, &changes)?;
                accepted.push(changes);
            }
        }
        write_tree(&mut overlay, &leaf_changes(&accepted))?;
        Ok(Connected {
            writes: overlay.into_writes(),
            undo: encode_undo(&accepted),
        })
    }

    fn disconnect(
        &self,
        block: &IndexBlock<'_>,
        undo: &[u8],
        store: &dyn IndexRead,
    ) -> Result<Writes, ChainError> {
        let list = decode_undo(undo).map_err(|source| ChainError::IndexCorrupt {
            index: "name",
            key: hex::encode(super::undo_key(self.id(), &block.hash)),
            source,
        })?;
        let mut overlay = Overlay::new(store);
        for changes in list.iter().rev() {
            write(&mut overlay, &changes.undo())?;
        }
        write_tree(&mut overlay, &LeafChange::undo(&leaf_changes(&list)))?;
        Ok(overlay.into_writes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_records_refuse_hostile_counts_and_trailing_bytes() {
        assert_eq!(
            decode_undo(&encode_undo(&[])).unwrap(),
            Vec::<Changes>::new()
        );
        let mut huge = u32::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(&[0; 8]);
        assert!(decode_undo(&huge).is_err());
        let mut trailing = encode_undo(&[]);
        trailing.push(0);
        assert!(decode_undo(&trailing).is_err());
        assert!(decode_undo(&[1, 0]).is_err());
    }
}
