//! How the rules read the name state ([`NameView`]), and [`MemoryNames`], a name state in
//! ordered maps that applies and reverts [`Changes`] and checks each against what it
//! replaces.

use std::collections::BTreeMap;

use crate::changes::{Change, Changes};
use crate::error::ChangeConflict;
use crate::name::{Name, NamespaceId};
use crate::records::{NameRecord, NamespaceRecord, PreorderRecord};
use crate::values::Commitment;

/// A read-only view of the name state as of the operation being checked: the state after
/// every earlier operation of the chain, including the earlier ones of the same block.
pub trait NameView {
    /// The namespace record of `id`, if any.
    fn namespace(&self, id: &NamespaceId) -> Option<NamespaceRecord>;
    /// The name record of `name`, if any (expired ones included).
    fn name(&self, name: &Name) -> Option<NameRecord>;
    /// The preorder with this commitment, if any (stale ones included).
    fn preorder(&self, commitment: &Commitment) -> Option<PreorderRecord>;
}

/// A whole name state in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryNames {
    /// Namespaces by id.
    pub namespaces: BTreeMap<NamespaceId, NamespaceRecord>,
    /// Names by name.
    pub names: BTreeMap<Name, NameRecord>,
    /// Preorders by commitment.
    pub preorders: BTreeMap<Commitment, PreorderRecord>,
}

/// Replaces `map[key]` by `after` if it currently equals `before`.
fn swap<K: Ord + Clone, V: PartialEq + Clone>(
    map: &mut BTreeMap<K, V>,
    key: &K,
    before: &Option<V>,
    after: &Option<V>,
    describe: impl Fn() -> String,
) -> Result<(), ChangeConflict> {
    if map.get(key) != before.as_ref() {
        return Err(ChangeConflict { key: describe() });
    }
    match after {
        Some(v) => map.insert(key.clone(), v.clone()),
        None => map.remove(key),
    };
    Ok(())
}

impl MemoryNames {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `changes` in order.
    ///
    /// # Errors
    /// [`ChangeConflict`] when a change's `before` is not the current record; the
    /// changes before it stay applied (callers apply onto a copy when that matters).
    pub fn apply(&mut self, changes: &Changes) -> Result<(), ChangeConflict> {
        for change in changes.changes() {
            match change {
                Change::Namespace { id, before, after } => {
                    swap(&mut self.namespaces, id, before, after, || {
                        format!("namespace {id}")
                    })?;
                }
                Change::Name {
                    name,
                    before,
                    after,
                } => swap(&mut self.names, name, before, after, || {
                    format!("name {name}")
                })?,
                Change::Preorder {
                    commitment,
                    before,
                    after,
                } => swap(&mut self.preorders, commitment, before, after, || {
                    format!("preorder {commitment}")
                })?,
            }
        }
        Ok(())
    }

    /// Undoes `changes` (which must be the last ones applied).
    ///
    /// # Errors
    /// [`ChangeConflict`] as for [`MemoryNames::apply`].
    pub fn revert(&mut self, changes: &Changes) -> Result<(), ChangeConflict> {
        self.apply(&changes.undo())
    }
}

impl NameView for MemoryNames {
    fn namespace(&self, id: &NamespaceId) -> Option<NamespaceRecord> {
        self.namespaces.get(id).cloned()
    }
    fn name(&self, name: &Name) -> Option<NameRecord> {
        self.names.get(name).cloned()
    }
    fn preorder(&self, commitment: &Commitment) -> Option<PreorderRecord> {
        self.preorders.get(commitment).cloned()
    }
}
