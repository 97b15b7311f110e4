//! Reads of the derived indexes (addresses, names, zone files) through the coins cache,
//! and the validation context of the next block, which carries their views.

use std::collections::BTreeMap;

use super::ChainState;
use crate::address::Address;
use crate::error::ChainError;
use crate::index::{DerivedIndex as _, P_INDEX_UNDO};
use crate::signature::SigMode;
use crate::store::{P_COIN, P_HEIGHT, P_UNDO};
use crate::transaction::OutPoint;
use crate::units::Height;
use crate::validation::Coin;

impl ChainState {
    /// Runs `f` with the [`ChainContext`] of the next block on the active tip (its
    /// height, the local clock, the UTXO set and name state of the tip) and returns
    /// what it returns, with the first read error of those views: a record that could
    /// not be read looked absent to `f`, so its answer must not be trusted then.
    pub(crate) fn with_next_block<R>(
        &self,
        sig_mode: SigMode,
        now: u64,
        f: impl FnOnce(&crate::validation::ChainContext<'_>) -> R,
    ) -> (R, Option<ChainError>) {
        let coins = self.utxo_view();
        let store = self.store_view();
        let names = crate::index::names::NamesView::new(&store);
        let ctx = crate::validation::ChainContext {
            height: self.next_height(),
            time: now,
            params: &self.params,
            sig_mode,
            coins: &coins,
            names: &names,
        };
        let result = f(&ctx);
        (result, coins.take_error().or_else(|| names.take_error()))
    }

    /// The root of the name-state tree after a block at `height` on the active tip with
    /// these non-coinbase transactions: what its coinbase commits to (ADR 0035).
    ///
    /// # Errors
    /// Storage errors, stored name records or tree nodes that do not decode.
    pub fn name_root_after(
        &self,
        txs: &[crate::transaction::Transaction],
        height: Height,
    ) -> Result<naming::StateRoot, ChainError> {
        let block = crate::block::Block {
            header: self.params.genesis.header,
            txs: txs.to_vec(),
        };
        let store = self.store_view();
        let coins = crate::index::CoinChanges::default();
        let at = crate::index::IndexBlock {
            block: &block,
            hash: self.params.genesis_hash(),
            height,
            spent: &[],
            coins: &coins,
            params: &self.params,
        };
        let connected = crate::index::names::NameIndex.connect(&at, &store)?;
        let mut after = crate::index::Overlay::new(&store);
        for (key, value) in connected.writes {
            after.put(key, value);
        }
        crate::index::names::state_root(&after)
    }

    /// The record bytes of `name` at the active tip (expired ones included) and the
    /// proof of what the name-state tree holds for it.
    ///
    /// # Errors
    /// Storage errors, stored tree nodes that do not decode or do not form a tree.
    pub fn name_proof(
        &self,
        name: &naming::Name,
    ) -> Result<(Option<Vec<u8>>, naming::Proof), ChainError> {
        let view = self.store_view();
        let key = crate::index::names::name_key(name);
        let record = crate::index::IndexRead::get(&view, &key)?;
        let tree = crate::index::names::TreeStore(&view);
        let proof = naming::prove(&tree, &naming::StateKey::name(name))
            .map_err(crate::index::names::tree_error)?;
        Ok((record, proof))
    }

    /// The root of the name-state tree at the active tip.
    ///
    /// # Errors
    /// Storage errors, a stored root node that does not decode.
    pub fn name_root(&self) -> Result<naming::StateRoot, ChainError> {
        crate::index::names::state_root(&self.store_view())
    }

    /// The prefixes a reindex deletes and rebuilds: the UTXO set, undo data, active
    /// chain, and every derived index's records and undo records.
    pub(super) fn derived_prefixes(&self) -> Vec<u8> {
        let mut prefixes = vec![P_COIN, P_UNDO, P_HEIGHT, P_INDEX_UNDO];
        for index in &self.indexes {
            prefixes.extend_from_slice(index.prefixes());
        }
        prefixes
    }

    /// All unspent outputs paying `address`, from the address index.
    ///
    /// # Errors
    /// Storage or decoding errors.
    pub fn address_utxos(&self, address: &Address) -> Result<Vec<(OutPoint, Coin)>, ChainError> {
        crate::index::address::utxos(&self.store_view(), address)
    }

    /// The record of `name` at the active tip (expired ones included), from the name
    /// index.
    ///
    /// # Errors
    /// Storage errors, a record that does not decode.
    pub fn name_record(
        &self,
        name: &naming::Name,
    ) -> Result<Option<naming::NameRecord>, ChainError> {
        crate::index::names::name(&self.store_view(), name)
    }

    /// The record of namespace `id` at the active tip.
    ///
    /// # Errors
    /// Storage errors, a record that does not decode.
    pub fn namespace_record(
        &self,
        id: &naming::NamespaceId,
    ) -> Result<Option<naming::NamespaceRecord>, ChainError> {
        crate::index::names::namespace(&self.store_view(), id)
    }

    /// The preorder with `commitment` at the active tip.
    ///
    /// # Errors
    /// Storage errors, a record that does not decode.
    pub fn preorder_record(
        &self,
        commitment: &naming::Commitment,
    ) -> Result<Option<naming::PreorderRecord>, ChainError> {
        crate::index::names::preorder(&self.store_view(), commitment)
    }

    /// At most `limit` names with their records in name order, after `after` when given.
    ///
    /// # Errors
    /// Storage errors, records that do not decode.
    pub fn names(
        &self,
        after: Option<&naming::Name>,
        limit: usize,
    ) -> Result<Vec<(naming::Name, naming::NameRecord)>, ChainError> {
        crate::index::names::names(&self.store_view(), after, limit)
    }

    /// The zone file with `hash`, if this node has it.
    ///
    /// # Errors
    /// Storage errors.
    pub fn zone_file(&self, hash: &naming::ZoneFileHash) -> Result<Option<Vec<u8>>, ChainError> {
        let key = crate::zonefile::file_key(hash);
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    /// Whether this node has the zone file with `hash`.
    ///
    /// # Errors
    /// Storage errors.
    pub fn has_zone_file(&self, hash: &naming::ZoneFileHash) -> Result<bool, ChainError> {
        Ok(self.db.contains_key(crate::zonefile::file_key(hash))?)
    }

    /// Stores `file` under its SHA-256 and flushes it to disk; returns its hash. Zone
    /// files are not chain state: the write bypasses the coins cache and a reindex keeps
    /// it. The caller checks its size and that it is referenced (`Node::put_zone_file`).
    ///
    /// # Errors
    /// Storage errors.
    pub(crate) fn put_zone_file(&self, file: &[u8]) -> Result<naming::ZoneFileHash, ChainError> {
        let hash = crate::zonefile::zone_file_hash(file);
        self.db.insert(crate::zonefile::file_key(&hash), file)?;
        self.db.flush()?;
        Ok(hash)
    }

    /// The hashes of at most `limit` stored zone files, in hash order, after `after`
    /// when given.
    ///
    /// # Errors
    /// Storage errors.
    pub fn stored_zone_files(
        &self,
        after: Option<&naming::ZoneFileHash>,
        limit: usize,
    ) -> Result<Vec<naming::ZoneFileHash>, ChainError> {
        let start = match after {
            Some(hash) => {
                let mut k = crate::zonefile::file_key(hash);
                k.push(0);
                k
            }
            None => vec![crate::zonefile::P_ZONE_FILE],
        };
        let mut out = Vec::new();
        for key in self.db.range(start..).keys().take(limit) {
            let key = key?;
            match key.split_first() {
                Some((&crate::zonefile::P_ZONE_FILE, hash)) => {
                    if let Ok(hash) = <[u8; 32]>::try_from(hash) {
                        out.push(naming::ZoneFileHash(hash));
                    }
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// Removes the stored zone files `hashes` and flushes (the caller decided that
    /// nothing references them, `zonefile::Sweep`).
    ///
    /// # Errors
    /// Storage errors, which poison the state as any failed write.
    pub(crate) fn remove_zone_files(
        &mut self,
        hashes: &[naming::ZoneFileHash],
    ) -> Result<(), ChainError> {
        let mut batch = sled::Batch::default();
        for hash in hashes {
            batch.remove(crate::zonefile::file_key(hash));
        }
        self.commit(batch)
    }

    /// Whether a name record of the active tip holds the zone-file hash `hash`.
    ///
    /// # Errors
    /// Storage errors.
    pub fn zone_file_referenced(&self, hash: &naming::ZoneFileHash) -> Result<bool, ChainError> {
        crate::zonefile::referenced(&self.store_view(), hash)
    }

    /// At most `limit` zone-file hashes that name records of the active tip hold, in
    /// hash order, after `after` when given.
    ///
    /// # Errors
    /// Storage errors.
    pub fn zone_file_references(
        &self,
        after: Option<&naming::ZoneFileHash>,
        limit: usize,
    ) -> Result<Vec<naming::ZoneFileHash>, ChainError> {
        crate::zonefile::references(&self.store_view(), after, limit)
    }

    /// Every record of the derived indexes, by key (for checks and tests; linear in their
    /// size).
    ///
    /// # Errors
    /// Storage errors.
    pub fn index_records(&self) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, ChainError> {
        let view = self.store_view();
        let mut out = BTreeMap::new();
        for index in &self.indexes {
            for prefix in index.prefixes() {
                out.extend(crate::index::IndexRead::scan(
                    &view,
                    &[*prefix],
                    None,
                    usize::MAX,
                )?);
            }
        }
        Ok(out)
    }
}
