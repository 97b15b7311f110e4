//! Changing the active chain: block submission, activation of the most-work chain with
//! reorgs and fallback, connect and disconnect through the coins cache, invalidation,
//! reconsideration, rewind at open and reindex.
//!
//! Chain selection follows Bitcoin Core: the valid chain with the most work wins, and
//! between chains of equal work the one whose tip became connectable first
//! ([`IndexEntry::sequence`]). The best tip is the first of the candidate set
//! (`tree.rs`), not found by scanning the index. Every connect and disconnect is journaled the moment it is
//! applied, whatever the call that caused it returns; the cache is flushed after a block
//! when a bound of its configuration is reached.

use super::{Activation, ChainEvent, ChainState, CoinsView, StoreView};
use crate::block::Block;
use crate::encoding::{BlockStatus, IndexEntry, Validity, encode_to_vec};
use crate::error::{BlockError, ChainError};
use crate::hash::BlockHash;
use crate::index::names::NamesView;
use crate::index::{CoinChanges, IndexBlock, Writes, undo_key};
use crate::pow::Target;
use crate::store::{P_BLOCK, P_INDEX, hash_key};
use crate::u256::U256;
use crate::units::Height;
use crate::validation::{
    BlockUndo, ChainContext, check_block, check_header_context, connect_block,
};

/// When a stored block is made durable.
#[derive(Clone, Copy)]
enum Durability {
    /// Flushed before the call returns.
    Flush,
    /// Flushed by the caller's next flush (written in order before it).
    Deferred,
}

impl ChainState {
    /// Disconnects active blocks at and above the lowest active block marked invalid.
    ///
    /// `invalidate_block` persists the mark before it disconnects; a crash in between
    /// leaves an invalid block on the active chain, which this undoes at open.
    pub(super) fn rewind_invalid(&mut self) -> Result<(), ChainError> {
        let first_invalid = self
            .active
            .iter()
            .position(|h| self.index.get(h).is_some_and(|e| e.status.is_failed()));
        if let Some(height) = first_invalid {
            while self.active.len() > height.max(1) {
                self.disconnect_tip()?;
            }
            self.rescan_candidates();
        }
        Ok(())
    }

    /// Blocks from the fork point (exclusive) up to `hash`, and the fork height.
    pub(super) fn path_from_fork(
        &self,
        hash: &BlockHash,
    ) -> Result<(Height, Vec<BlockHash>), ChainError> {
        let mut path = Vec::new();
        let mut current = *hash;
        loop {
            let e = self
                .index
                .get(&current)
                .ok_or(ChainError::UnknownBlock { hash: current })?;
            if self.hash_at(e.height) == Some(current) {
                path.reverse();
                return Ok((e.height, path));
            }
            path.push(current);
            current = e.header.prev;
        }
    }

    /// Moves the active chain to the best valid chain (most work; equal work: seen
    /// first), disconnecting and connecting one block at a time. A block that fails
    /// validation is marked invalid and the search starts over, which returns to the old
    /// branch when it is the best again.
    ///
    /// Returns every change not yet taken (see [`ChainState::take_activation`]).
    ///
    /// # Errors
    /// Storage errors and [`ChainError::Poisoned`]; invalid blocks are reported in
    /// [`Activation::invalid`].
    pub fn activate_best_chain(&mut self) -> Result<Activation, ChainError> {
        self.usable()?;
        self.activate(&mut |_, _| {})?;
        Ok(self.take_activation())
    }

    /// Activation, journaling each change and calling `progress(height, target)` after
    /// each block connected.
    pub(super) fn activate(
        &mut self,
        progress: &mut dyn FnMut(Height, Height),
    ) -> Result<(), ChainError> {
        while let Some(best) = self.best_candidate() {
            let (fork, path) = self.path_from_fork(&best)?;
            while self.tip().0 > fork {
                self.disconnect_tip()?;
            }
            let target = self.index.get(&best).map_or(Height(0), |e| e.height);
            for hash in path {
                match self.connect_tip(&hash)? {
                    Ok(height) => progress(height, target),
                    Err(e) => {
                        self.mark_failed(&hash)?;
                        self.journal.invalid.push((hash, e));
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    fn load_block(&self, hash: &BlockHash) -> Result<Block, ChainError> {
        self.block(hash)?.ok_or_else(|| ChainError::Missing {
            what: format!("block {hash}"),
        })
    }

    /// Connects stored block `hash` on the tip through the coins cache and journals it:
    /// `Ok(Err(_))` if it breaks a rule.
    fn connect_tip(&mut self, hash: &BlockHash) -> Result<Result<Height, BlockError>, ChainError> {
        self.usable()?;
        let entry = self
            .index
            .get(hash)
            .copied()
            .ok_or(ChainError::UnknownBlock { hash: *hash })?;
        let block = self.load_block(hash)?;
        let height = entry.height;
        let view = CoinsView::new(&self.cache, &self.db);
        let store = StoreView::new(&self.cache, &self.db);
        let names = NamesView::new(&store);
        let ctx = ChainContext {
            height,
            time: u64::from(block.header.time),
            params: &self.params,
            sig_mode: self.sig_mode,
            coins: &view,
            names: &names,
        };
        let result = connect_block(&block, &ctx);
        if let Some(e) = view.take_error() {
            return Err(e);
        }
        let undo = match result {
            Ok(undo) => undo,
            Err(e) => return Ok(Err(e)),
        };
        // The derived indexes see the state before the block; their writes join the
        // cache with the coins, so one flush writes both.
        let net = CoinChanges::of(&block, height, &undo.spent);
        let index_writes = {
            let store = StoreView::new(&self.cache, &self.db);
            let at = IndexBlock {
                block: &block,
                hash: *hash,
                height,
                spent: &undo.spent,
                coins: &net,
                params: &self.params,
            };
            let mut writes: Writes = Vec::new();
            for index in &self.indexes {
                let connected = index.connect(&at, &store)?;
                writes.extend(connected.writes);
                writes.push((undo_key(index.id(), hash), Some(connected.undo)));
            }
            if let Err(e) = check_name_root(&block, height, &store, &writes)? {
                return Ok(Err(e));
            }
            writes
        };
        for (outpoint, coin) in net.spent {
            self.cache.spend_coin(outpoint, coin);
        }
        for (outpoint, coin) in net.created {
            self.cache.add_coin(outpoint, coin);
        }
        self.cache.write_records(index_writes);
        // Confirmed: no longer a saved mempool transaction (a coinbase never is one).
        for tx in block.txs.iter().skip(1) {
            self.cache.confirm_tx(tx.txid());
        }
        self.cache.put_undo(*hash, undo);
        self.cache.set_height(height, Some(*hash));
        self.cache.block_changed();
        self.active.push(*hash);
        if entry.status.validity < Validity::Connected {
            let mut raised = entry;
            raised.status.validity = Validity::Connected;
            self.index.insert(*hash, raised);
            self.connected_unflushed.insert(*hash);
        }
        self.prune_candidates();
        if self.journal_events {
            self.journal
                .events
                .push(ChainEvent::Connected { block, height });
        }
        self.flush_after_block()?;
        Ok(Ok(height))
    }

    /// Disconnects the tip block through the coins cache, restoring the coins it spent
    /// (from the cached undo data, or the stored one), and journals it.
    pub(super) fn disconnect_tip(&mut self) -> Result<(), ChainError> {
        self.usable()?;
        let (height, hash) = self.tip();
        if height.0 == 0 {
            return Err(ChainError::Genesis);
        }
        let block = self.load_block(&hash)?;
        let missing = || ChainError::Missing {
            what: format!("undo data of {hash}"),
        };
        // Read before anything changes: a failed read leaves the block connected.
        let undo: BlockUndo = self.block_undo(&hash)?.ok_or_else(missing)?;
        let net = CoinChanges::of(&block, height, &undo.spent);
        let index_writes = {
            let store = StoreView::new(&self.cache, &self.db);
            let at = IndexBlock {
                block: &block,
                hash,
                height,
                spent: &undo.spent,
                coins: &net,
                params: &self.params,
            };
            let mut writes: Writes = Vec::new();
            for index in self.indexes.iter().rev() {
                let key = undo_key(index.id(), &hash);
                let record = crate::index::IndexRead::get(&store, &key)?.ok_or_else(|| {
                    ChainError::Missing {
                        what: format!("{} index undo data of {hash}", index.name()),
                    }
                })?;
                writes.extend(index.disconnect(&at, &record, &store)?);
                writes.push((key, None));
            }
            writes
        };
        for (outpoint, coin) in net.created {
            self.cache.spend_coin(outpoint, coin);
        }
        for (outpoint, coin) in net.spent {
            self.cache.add_coin(outpoint, coin);
        }
        // Back to the saved mempool with the same flush, so that a crash before the node
        // saves its pool cannot lose it; the next start re-validates it.
        for tx in block.txs.iter().filter(|tx| !tx.is_coinbase()) {
            self.cache.unconfirm_tx(tx.txid(), tx.to_bytes());
        }
        self.cache.write_records(index_writes);
        self.cache.remove_undo(hash);
        self.cache.set_height(height, None);
        self.cache.block_changed();
        self.active.pop();
        if self.journal_events {
            self.journal
                .events
                .push(ChainEvent::Disconnected { block, height });
        }
        self.flush_after_block()
    }

    /// Flushes the coins cache if a bound of its configuration is reached.
    fn flush_after_block(&mut self) -> Result<(), ChainError> {
        if self.cache.due(&self.cache_config) {
            self.flush()?;
        }
        Ok(())
    }

    /// Validates, stores and (if it leads to the best chain) connects a block.
    ///
    /// `now` is the local clock in seconds since the epoch. Returns every change of the
    /// active chain not yet taken; when the block fails after the active chain changed
    /// (a reorg towards it, then back), the changes stay for
    /// [`ChainState::take_activation`].
    ///
    /// A block is stored, and later marked invalid if it fails to connect, only once its
    /// transactions match its header's Merkle root: a failure after that point is one the
    /// hash commits to. A copy that does not match its own header is refused as
    /// [`ChainError::Mutated`] with nothing stored or marked, so that the real block with
    /// the same hash is still accepted when it arrives.
    ///
    /// # Errors
    /// [`ChainError::Mutated`] (nothing stored or marked), [`ChainError::Invalid`]
    /// (nothing stored for failures of [`check_block`] or of the header's context; a block
    /// that fails when connected stays stored and marked invalid),
    /// [`ChainError::Duplicate`], [`ChainError::UnknownParent`],
    /// [`ChainError::InvalidAncestor`], storage errors, [`ChainError::Poisoned`].
    pub fn submit_block(&mut self, block: &Block, now: u64) -> Result<Activation, ChainError> {
        self.store_block(block, now, Durability::Flush)?;
        Ok(self.take_activation())
    }

    /// Submits blocks a peer sent in one answer, as [`ChainState::submit_block`] each,
    /// with one flush of the store for all of them instead of one per block: nobody was
    /// promised these blocks, and the flush comes before anyone hears of them (the
    /// activation is taken after it). Each block's outcome is returned in order; a block
    /// that fails does not stop the others.
    ///
    /// # Errors
    /// A storage error of the final flush, or [`ChainError::Poisoned`] (after which the
    /// outcomes do not matter: the state refuses every change until reopened); changes
    /// made before an error stay for [`ChainState::take_activation`].
    pub fn submit_downloaded_blocks(
        &mut self,
        blocks: &[Block],
        now: u64,
    ) -> Result<(Vec<Result<(), ChainError>>, Activation), ChainError> {
        self.usable()?;
        let outcomes = blocks
            .iter()
            .map(|block| self.store_block(block, now, Durability::Deferred))
            .collect();
        self.usable()?;
        if let Err(e) = self.flush_db() {
            self.poisoned = Some(e.to_string());
            return Err(e.into());
        }
        Ok((outcomes, self.take_activation()))
    }

    /// [`ChainState::submit_block`] without taking the activation.
    fn store_block(
        &mut self,
        block: &Block,
        now: u64,
        durability: Durability,
    ) -> Result<(), ChainError> {
        self.usable()?;
        let hash = block.hash();
        let known = self.index.get(&hash).copied();
        if let Some(e) = known {
            if e.status.has_data() {
                return Err(ChainError::Duplicate { hash });
            }
            if e.status.is_failed() {
                return Err(ChainError::KnownInvalid { hash });
            }
        }
        let invalid = |source| ChainError::Invalid { hash, source };
        // Proof of work, then the Merkle match, then the rest (see `check_block`). Nothing
        // is stored or marked for a copy that does not match its own header.
        check_block(block, &self.params).map_err(|source| {
            if source.is_mutation() {
                ChainError::Mutated {
                    hash,
                    source: Box::new(source),
                }
            } else {
                invalid(source)
            }
        })?;
        let prev = block.header.prev;
        let mut entry = match known {
            // The header passed its rules when it was accepted.
            Some(e) => e,
            None => {
                let Some(parent) = self.index.get(&prev).copied() else {
                    return Err(ChainError::UnknownParent { hash, prev });
                };
                if !self.branch_valid(&prev) {
                    return Err(ChainError::InvalidAncestor { hash });
                }
                let ctx = self
                    .header_context(&prev, now)
                    .ok_or(ChainError::UnknownParent { hash, prev })?;
                check_header_context(&block.header, &ctx, &self.params).map_err(invalid)?;
                let work = Target::from_compact(block.header.bits)
                    .map_err(|e| invalid(BlockError::BadBits(e)))?
                    .work();
                IndexEntry {
                    header: block.header,
                    height: ctx.height,
                    chainwork: parent.chainwork.checked_add(&work).unwrap_or(U256::MAX),
                    status: BlockStatus::valid(Validity::Header),
                    sequence: 0,
                }
            }
        };
        entry.status.validity = Validity::Data;
        // The blocks this one makes connectable take the next sequence numbers, written
        // with the block.
        let linked = if self.is_linked(&prev) {
            self.newly_linked(&hash)
        } else {
            Vec::new()
        };
        let mut updates = Vec::with_capacity(linked.len());
        for (n, h) in (self.next_sequence..).zip(&linked) {
            let mut e = if *h == hash {
                entry
            } else {
                self.index
                    .get(h)
                    .copied()
                    .ok_or(ChainError::UnknownBlock { hash: *h })?
            };
            e.sequence = n;
            updates.push((*h, e));
        }
        if linked.is_empty() {
            updates.push((hash, entry));
        }
        let mut batch = sled::Batch::default();
        batch.insert(hash_key(P_BLOCK, &hash), block.to_bytes());
        for (h, e) in &updates {
            batch.insert(hash_key(P_INDEX, h), encode_to_vec(e));
        }
        match durability {
            Durability::Flush => self.commit(batch)?,
            Durability::Deferred => self.stage(batch)?,
        }
        self.next_sequence += linked.len() as u64;
        for (h, e) in updates {
            self.index.insert(h, e);
        }
        self.data_stored(hash, &linked);
        self.consider_best_header(&hash);
        self.activate(&mut |_, _| {})?;
        if let Some((_, e)) = self.journal.invalid.iter().find(|(h, _)| *h == hash) {
            return Err(ChainError::Invalid {
                hash,
                source: e.clone(),
            });
        }
        Ok(())
    }

    /// Marks a block invalid (as `invalidateblock`), disconnecting it and its descendants
    /// if active, and moves to the best remaining chain.
    ///
    /// # Errors
    /// [`ChainError::UnknownBlock`], [`ChainError::Genesis`], storage errors,
    /// [`ChainError::Poisoned`]; changes made before an error stay for
    /// [`ChainState::take_activation`].
    pub fn invalidate_block(&mut self, hash: &BlockHash) -> Result<Activation, ChainError> {
        self.usable()?;
        let entry = self
            .index
            .get(hash)
            .copied()
            .ok_or(ChainError::UnknownBlock { hash: *hash })?;
        if entry.height.0 == 0 {
            return Err(ChainError::Genesis);
        }
        self.mark_failed(hash)?;
        if self.is_active(hash) {
            while self.tip().0 >= entry.height {
                self.disconnect_tip()?;
            }
        }
        self.rescan_candidates();
        self.activate(&mut |_, _| {})?;
        Ok(self.take_activation())
    }

    /// Clears the invalid mark of a block, its ancestors and descendants (as
    /// `reconsiderblock`), and moves to the best chain.
    ///
    /// # Errors
    /// [`ChainError::UnknownBlock`], storage errors, [`ChainError::Poisoned`]; changes
    /// made before an error stay for [`ChainState::take_activation`].
    pub fn reconsider_block(&mut self, hash: &BlockHash) -> Result<Activation, ChainError> {
        self.usable()?;
        self.clear_failures(hash)?;
        self.activate(&mut |_, _| {})?;
        Ok(self.take_activation())
    }

    /// Rebuilds the UTXO set, undo data, every derived index of the registry (addresses,
    /// names) and the active chain from the stored blocks, keeping invalid marks and
    /// arrival numbers. `progress(height, target)` is
    /// called after each connected block.
    ///
    /// The result lists the blocks found invalid but no connect events: a reindex
    /// rebuilds the whole chain rather than changing it, and nothing follows the chain
    /// meanwhile (the node holds the store's lock while it runs). The saved mempool is
    /// re-validated against the new tip when the node next opens.
    ///
    /// # Errors
    /// Storage errors, [`ChainError::Poisoned`].
    pub fn reindex(
        &mut self,
        mut progress: impl FnMut(Height, Height),
    ) -> Result<Activation, ChainError> {
        // What the cache holds reaches the disk first (the saved mempool records among
        // it); the derived records are then rebuilt from nothing.
        self.flush()?;
        let mut batch = sled::Batch::default();
        for prefix in self.derived_prefixes() {
            for item in self.db.scan_prefix([prefix]) {
                let (key, _) = item?;
                batch.remove(key);
            }
        }
        self.genesis_tip_batch(&mut batch);
        self.commit(batch)?;
        self.load()?;
        self.journal = Activation::default();
        self.journal_events = false;
        let result = self.activate(&mut progress);
        self.journal_events = true;
        result?;
        self.flush()?;
        Ok(self.take_activation())
    }
}

/// Checks the name-state commitment of `block` at `height` against the root of the tree
/// in `store` after the derived indexes' `writes` (ADR 0035): `Ok(Err(_))` when it is
/// missing, malformed or another root.
fn check_name_root(
    block: &Block,
    height: Height,
    store: &dyn crate::index::IndexRead,
    writes: &Writes,
) -> Result<Result<(), BlockError>, ChainError> {
    if !crate::name_root::carries_name_root(height) {
        return Ok(Ok(()));
    }
    let Some(coinbase) = block.txs.first() else {
        return Ok(Err(BlockError::NoTransactions));
    };
    let committed = match crate::name_root::committed_name_root(coinbase) {
        Ok(root) => root,
        Err(e) => return Ok(Err(BlockError::NameCommitment(e))),
    };
    let mut after = crate::index::Overlay::new(store);
    for (key, value) in writes {
        after.put(key.clone(), value.clone());
    }
    let computed = crate::index::names::state_root(&after)?;
    if committed == computed {
        Ok(Ok(()))
    } else {
        Ok(Err(BlockError::WrongNameRoot {
            committed: hex::encode(committed.0),
            computed: hex::encode(computed.0),
        }))
    }
}
