//! Derived indexes: records the chain state keeps beside the UTXO set, each derived from
//! the connected blocks alone (ADR 0033).
//!
//! An index is a [`DerivedIndex`]: a value that, given a block being connected and read
//! access to its own records ([`IndexRead`]), returns the records to write and an undo
//! record; given the same block and that undo record, returns the writes that disconnect
//! it. It never sees sled: the chain state lays its coins cache over the store, hands
//! the index that view, and puts what the index returns into the same cache, so that the
//! index's writes reach the disk in the same atomic batch as the UTXO change they derive
//! from. Every index is listed once, in [`registry`]; a reindex deletes every prefix the
//! registry names and rebuilds the indexes by connecting the blocks again.

pub(crate) mod address;
pub(crate) mod names;

use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;

use crate::block::Block;
use crate::error::ChainError;
use crate::hash::BlockHash;
use crate::params::Params;
use crate::transaction::OutPoint;
use crate::units::Height;
use crate::validation::{Coin, created_coins};

/// Prefix of the undo records of derived indexes: `x` ‖ index id ‖ block hash.
pub(crate) const P_INDEX_UNDO: u8 = b'x';

/// Stored records, key and value, in key order.
pub type Records = Vec<(Vec<u8>, Vec<u8>)>;

/// Record writes in order: `Some(value)` puts `value` at the key, `None` deletes it.
pub type Writes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Read access to stored records: the chain state's coins cache over sled, or a map in
/// tests. Errors are storage failures, never "absent".
pub trait IndexRead {
    /// The record at `key`, if any.
    ///
    /// # Errors
    /// Storage errors.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError>;

    /// At most `limit` records whose keys start with `prefix`, in key order, starting
    /// after `after` when it is given.
    ///
    /// # Errors
    /// Storage errors.
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Records, ChainError>;
}

/// What an index is told about a block being connected or disconnected.
#[derive(Clone, Copy, Debug)]
pub struct IndexBlock<'a> {
    /// The block.
    pub block: &'a Block,
    /// Its hash.
    pub hash: BlockHash,
    /// Its height.
    pub height: Height,
    /// The coins it spent, in order (its undo data).
    pub spent: &'a [(OutPoint, Coin)],
    /// Its net change of the UTXO set.
    pub coins: &'a CoinChanges,
    /// The network parameters.
    pub params: &'a Params,
}

/// What connecting a block changes in an index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connected {
    /// The records to write.
    pub writes: Writes,
    /// What the index needs to disconnect the block again (stored with the writes).
    pub undo: Vec<u8>,
}

/// A record kept beside the chain, derived from connected blocks only.
pub trait DerivedIndex: Debug + Send + Sync {
    /// Its name, for messages.
    fn name(&self) -> &'static str;

    /// The byte that names it in its undo records' keys; unique in the [`registry`].
    fn id(&self) -> u8;

    /// The one-byte key prefixes of its records; unique in the [`registry`] and distinct
    /// from the chain state's own.
    fn prefixes(&self) -> &'static [u8];

    /// The writes and undo record of connecting `block`, given the index's records
    /// before it.
    ///
    /// # Errors
    /// Storage errors, or a stored record of the index that does not decode.
    fn connect(
        &self,
        block: &IndexBlock<'_>,
        store: &dyn IndexRead,
    ) -> Result<Connected, ChainError>;

    /// The writes that disconnect `block` (the tip of what the index describes), given
    /// the undo record its connect returned.
    ///
    /// # Errors
    /// Storage errors; an undo record or stored record that does not decode or does not
    /// match.
    fn disconnect(
        &self,
        block: &IndexBlock<'_>,
        undo: &[u8],
        store: &dyn IndexRead,
    ) -> Result<Writes, ChainError>;
}

/// Every derived index the chain state keeps, in the order they connect (they
/// disconnect in the reverse order). The one place an index is added.
pub(crate) fn registry() -> Vec<Box<dyn DerivedIndex>> {
    vec![Box::new(address::AddressIndex), Box::new(names::NameIndex)]
}

/// The key of `index`'s undo record for block `hash`.
pub(crate) fn undo_key(index: u8, hash: &BlockHash) -> Vec<u8> {
    let mut k = Vec::with_capacity(34);
    k.push(P_INDEX_UNDO);
    k.push(index);
    k.extend_from_slice(hash.as_bytes());
    k
}

/// The net change a block makes to the UTXO set: the coins it adds and those it
/// removes (coins created and spent inside the block are in neither). Disconnecting it
/// removes the first and adds back the second.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoinChanges {
    /// Coins the block creates that outlive it.
    pub created: Vec<(OutPoint, Coin)>,
    /// Coins from before the block that it spends.
    pub spent: Vec<(OutPoint, Coin)>,
}

impl CoinChanges {
    /// The net change of `block` at `height`, which spent `spent` (its undo data).
    pub fn of(block: &Block, height: Height, spent: &[(OutPoint, Coin)]) -> Self {
        let created: Vec<(OutPoint, Coin)> = block
            .txs
            .iter()
            .flat_map(|tx| created_coins(tx, height))
            .collect();
        let spent_set: HashSet<OutPoint> = spent.iter().map(|(o, _)| *o).collect();
        let inner: HashSet<OutPoint> = created
            .iter()
            .map(|(o, _)| *o)
            .filter(|o| spent_set.contains(o))
            .collect();
        CoinChanges {
            created: created
                .into_iter()
                .filter(|(o, _)| !inner.contains(o))
                .collect(),
            spent: spent
                .iter()
                .filter(|(o, _)| !inner.contains(o))
                .copied()
                .collect(),
        }
    }
}

/// Pending writes over a store: what an index reads while it works through a block
/// sees its own earlier writes.
pub(crate) struct Overlay<'a> {
    store: &'a dyn IndexRead,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl std::fmt::Debug for Overlay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlay")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Overlay<'a> {
    pub(crate) fn new(store: &'a dyn IndexRead) -> Self {
        Overlay {
            store,
            pending: BTreeMap::new(),
        }
    }

    pub(crate) fn put(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.pending.insert(key, value);
    }

    /// The pending writes, in key order.
    pub(crate) fn into_writes(self) -> Writes {
        self.pending.into_iter().collect()
    }
}

impl IndexRead for Overlay<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError> {
        match self.pending.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.store.get(key),
        }
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Records, ChainError> {
        // Enough stored records to fill the page whatever the pending deletes hide.
        let below = self
            .store
            .scan(prefix, after, limit.saturating_add(self.pending.len()))?;
        merge_scan(
            below.into_iter().map(Ok::<_, ChainError>),
            range_from(&self.pending, prefix, after).map(|(k, v)| (k.clone(), v.clone())),
            limit,
        )
    }
}

/// The entries of `map` whose keys start with `prefix`, after `after` if given.
pub(crate) fn range_from<'m>(
    map: &'m BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    prefix: &[u8],
    after: Option<&[u8]>,
) -> impl Iterator<Item = (&'m Vec<u8>, &'m Option<Vec<u8>>)> + 'm {
    let prefix_owned = prefix.to_vec();
    map.range((scan_start(prefix, after), std::ops::Bound::Unbounded))
        .take_while(move |(k, _)| k.starts_with(&prefix_owned))
}

/// Where a scan of `prefix` after `after` starts in an ordered map of keys.
pub(crate) fn scan_start(prefix: &[u8], after: Option<&[u8]>) -> std::ops::Bound<Vec<u8>> {
    match after {
        Some(a) if a >= prefix => std::ops::Bound::Excluded(a.to_vec()),
        _ => std::ops::Bound::Included(prefix.to_vec()),
    }
}

/// Merges stored records (`below`, in key order) with cached writes over them
/// (`above`, in key order; `None` hides the stored record), keeping at most `limit`.
pub(crate) fn merge_scan<E>(
    below: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), E>>,
    above: impl Iterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    limit: usize,
) -> Result<Records, E> {
    let mut below = below.peekable();
    let mut above = above.peekable();
    let mut out = Vec::new();
    while out.len() < limit {
        let below_key = match below.peek() {
            Some(Err(_)) => match below.next() {
                Some(Err(e)) => return Err(e),
                _ => continue,
            },
            Some(Ok((k, _))) => Some(k.clone()),
            None => None,
        };
        let above_key = above.peek().map(|(k, _)| k.clone());
        let take_above = match (&below_key, &above_key) {
            (None, None) => break,
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (Some(b), Some(a)) => {
                if a == b {
                    // The cached write replaces the stored record.
                    below.next();
                }
                a <= b
            }
        };
        if take_above {
            if let Some((k, Some(v))) = above.next() {
                out.push((k, v));
            }
        } else if let Some(Ok(record)) = below.next() {
            out.push(record);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_prefixes_and_ids_are_unique_and_not_the_chain_states() {
        use crate::store::{KEY_TIP, KEY_VERSION, P_BLOCK, P_COIN, P_HEIGHT, P_INDEX, P_MEMPOOL};
        let core = [
            P_BLOCK,
            P_INDEX,
            crate::store::P_UNDO,
            P_COIN,
            P_HEIGHT,
            P_MEMPOOL,
            P_INDEX_UNDO,
            KEY_TIP[0],
            KEY_VERSION[0],
            b'g',
            crate::zonefile::P_ZONE_FILE,
            // The redo log of a large flush (`chain/redo.rs`): chunks and marker.
            b'j',
            b'J',
        ];
        let mut seen: HashSet<u8> = core.into_iter().collect();
        assert_eq!(seen.len(), core.len());
        let mut ids = HashSet::new();
        for index in registry() {
            assert!(ids.insert(index.id()), "{} id repeats", index.name());
            for p in index.prefixes() {
                assert!(seen.insert(*p), "{} prefix {p} repeats", index.name());
            }
        }
    }

    #[test]
    fn a_merged_scan_is_the_map_of_both_layers() {
        // Naive oracle: apply the cached writes to a copy of the stored map.
        let below: BTreeMap<Vec<u8>, Vec<u8>> = [(b"a1", b"x"), (b"a3", b"y"), (b"a5", b"z")]
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        let above: BTreeMap<Vec<u8>, Option<Vec<u8>>> = [
            (b"a2".to_vec(), Some(b"n".to_vec())),
            (b"a3".to_vec(), None),
            (b"a5".to_vec(), Some(b"w".to_vec())),
            (b"b0".to_vec(), Some(b"o".to_vec())),
        ]
        .into_iter()
        .collect();
        let mut oracle = below.clone();
        for (k, v) in &above {
            match v {
                Some(v) => oracle.insert(k.clone(), v.clone()),
                None => oracle.remove(k),
            };
        }
        for limit in 0..6 {
            for after in [None, Some(b"a2".as_slice())] {
                let got = merge_scan::<()>(
                    below
                        .iter()
                        .filter(|(k, _)| after.is_none_or(|a| k.as_slice() > a))
                        .map(|(k, v)| Ok((k.clone(), v.clone()))),
                    range_from(&above, b"a", after).map(|(k, v)| (k.clone(), v.clone())),
                    limit,
                )
                .unwrap();
                let want: Vec<_> = oracle
                    .iter()
                    .filter(|(k, _)| k.starts_with(b"a"))
                    .filter(|(k, _)| after.is_none_or(|a| k.as_slice() > a))
                    .take(limit)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(got, want, "limit {limit} after {after:?}");
            }
        }
    }
}
