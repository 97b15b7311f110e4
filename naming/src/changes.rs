//! What an accepted operation changes in the name state: each change names its key,
//! the record before and the record after, so the same value both applies the operation
//! and undoes it ([`Changes::undo`]). Its canonical bytes are the undo record a node
//! stores with a block.

use crate::encoding::{Reader, Writer};
use crate::error::DecodeError;
use crate::name::{Name, NamespaceId};
use crate::records::{NameRecord, NamespaceRecord, PreorderRecord};
use crate::values::Commitment;

/// Most changes one operation makes (a register writes a name and deletes a preorder).
pub const MAX_CHANGES: usize = 4;

/// One record written, created or deleted (`None` is "absent").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// A namespace record.
    Namespace {
        /// Its id.
        id: NamespaceId,
        /// The record before the operation.
        before: Option<NamespaceRecord>,
        /// The record after it.
        after: Option<NamespaceRecord>,
    },
    /// A name record.
    Name {
        /// The name.
        name: Name,
        /// The record before the operation.
        before: Option<NameRecord>,
        /// The record after it.
        after: Option<NameRecord>,
    },
    /// A preorder record.
    Preorder {
        /// Its commitment.
        commitment: Commitment,
        /// The record before the operation.
        before: Option<PreorderRecord>,
        /// The record after it.
        after: Option<PreorderRecord>,
    },
}

impl Change {
    /// The same change backwards: `before` and `after` swapped.
    pub fn inverse(&self) -> Change {
        match self.clone() {
            Change::Namespace { id, before, after } => Change::Namespace {
                id,
                before: after,
                after: before,
            },
            Change::Name {
                name,
                before,
                after,
            } => Change::Name {
                name,
                before: after,
                after: before,
            },
            Change::Preorder {
                commitment,
                before,
                after,
            } => Change::Preorder {
                commitment,
                before: after,
                after: before,
            },
        }
    }
}

/// The changes of one operation, in the order they apply.
///
/// INVARIANT: at most [`MAX_CHANGES`] changes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Changes(Vec<Change>);

/// Writes an optional record with a presence flag.
fn write_opt<T>(w: &mut Writer, v: &Option<T>, f: impl Fn(&T, &mut Writer)) {
    w.flag(v.is_some());
    if let Some(v) = v {
        f(v, w);
    }
}

/// Reads an optional record written by [`write_opt`].
fn read_opt<T>(
    r: &mut Reader<'_>,
    f: impl Fn(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    if r.flag("record flag")? {
        Ok(Some(f(r)?))
    } else {
        Ok(None)
    }
}

impl Changes {
    /// Changes from a list of at most [`MAX_CHANGES`].
    pub(crate) fn new(changes: Vec<Change>) -> Self {
        debug_assert!(changes.len() <= MAX_CHANGES);
        Changes(changes)
    }

    /// The changes, in order.
    pub fn changes(&self) -> &[Change] {
        &self.0
    }

    /// What undoes these changes: the inverse of each, in reverse order.
    pub fn undo(&self) -> Changes {
        Changes(self.0.iter().rev().map(Change::inverse).collect())
    }

    /// The canonical bytes: a count byte, then for each change a tag (0 namespace,
    /// 1 name, 2 preorder), the key, and the records before and after, each behind a
    /// presence flag.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(u8::try_from(self.0.len()).unwrap_or(u8::MAX));
        for change in &self.0 {
            match change {
                Change::Namespace { id, before, after } => {
                    w.u8(0);
                    w.namespace(id);
                    write_opt(&mut w, before, NamespaceRecord::write);
                    write_opt(&mut w, after, NamespaceRecord::write);
                }
                Change::Name {
                    name,
                    before,
                    after,
                } => {
                    w.u8(1);
                    w.name(name);
                    write_opt(&mut w, before, NameRecord::write);
                    write_opt(&mut w, after, NameRecord::write);
                }
                Change::Preorder {
                    commitment,
                    before,
                    after,
                } => {
                    w.u8(2);
                    w.bytes(commitment.as_bytes());
                    write_opt(&mut w, before, PreorderRecord::write);
                    write_opt(&mut w, after, PreorderRecord::write);
                }
            }
        }
        w.0
    }

    /// Parses the canonical bytes.
    ///
    /// # Errors
    /// [`DecodeError`] for more than [`MAX_CHANGES`] changes (checked before anything
    /// is allocated), an unknown tag, a bad key or record, or trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let count = usize::from(r.u8("change count")?);
        if count > MAX_CHANGES {
            return Err(DecodeError::TooLong {
                what: "change list",
                len: count,
                max: MAX_CHANGES,
            });
        }
        let mut changes = Vec::with_capacity(count);
        for _ in 0..count {
            let change = match r.u8("change tag")? {
                0 => Change::Namespace {
                    id: r.namespace()?,
                    before: read_opt(&mut r, NamespaceRecord::read)?,
                    after: read_opt(&mut r, NamespaceRecord::read)?,
                },
                1 => Change::Name {
                    name: r.name()?,
                    before: read_opt(&mut r, NameRecord::read)?,
                    after: read_opt(&mut r, NameRecord::read)?,
                },
                2 => Change::Preorder {
                    commitment: Commitment(r.array("commitment")?),
                    before: read_opt(&mut r, PreorderRecord::read)?,
                    after: read_opt(&mut r, PreorderRecord::read)?,
                },
                value => {
                    return Err(DecodeError::BadFlag {
                        what: "change tag",
                        value,
                    });
                }
            };
            changes.push(change);
        }
        r.finish()?;
        Ok(Changes(changes))
    }
}
