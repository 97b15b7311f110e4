//! Changing the active chain: block submission, activation of the most-work chain with
//! reorgs and fallback, connect and disconnect as single atomic batches, invalidation,
//! reconsideration, rewind at open and reindex.

use std::collections::HashSet;

use super::{Activation, ChainEvent, ChainState};
use crate::block::Block;
use crate::encoding::{BlockStatus, IndexEntry, encode_to_vec};
use crate::error::{BlockError, ChainError};
use crate::hash::BlockHash;
use crate::pow::Target;
use crate::store::{
    KEY_TIP, P_ADDR, P_BLOCK, P_COIN, P_HEIGHT, P_INDEX, P_UNDO, SledUtxo, delete_coin, get,
    hash_key, height_key, put_coin,
};
use crate::transaction::OutPoint;
use crate::u256::U256;
use crate::units::Height;
use crate::validation::{
    BlockUndo, check_block, check_header_context, connect_block, created_coins,
};

impl ChainState {
    /// Disconnects active blocks at and above the lowest active block marked invalid.
    ///
    /// `invalidate_block` persists the mark before it disconnects; a crash in between
    /// leaves an invalid block on the active chain, which this undoes at open.
    pub(super) fn rewind_invalid(&mut self) -> Result<(), ChainError> {
        let first_invalid = self.active.iter().position(|h| {
            self.index
                .get(h)
                .is_some_and(|e| e.status != BlockStatus::Valid)
        });
        if let Some(height) = first_invalid {
            while self.active.len() > height.max(1) {
                self.disconnect_tip()?;
            }
        }
        Ok(())
    }

    fn best_candidate(&self) -> Option<BlockHash> {
        let tip_work = self.tip_entry().chainwork;
        let mut candidates: Vec<(&BlockHash, &IndexEntry)> = self
            .index
            .iter()
            .filter(|(_, e)| e.status == BlockStatus::Valid && e.chainwork > tip_work)
            .collect();
        // Most work first; equal work: lower height, then lower hash, for determinism.
        candidates.sort_by(|a, b| {
            b.1.chainwork
                .cmp(&a.1.chainwork)
                .then(a.1.height.cmp(&b.1.height))
                .then(a.0.cmp(b.0))
        });
        candidates
            .into_iter()
            .map(|(h, _)| *h)
            .find(|h| self.branch_valid(h))
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

    /// Moves the active chain to the valid chain with the most work, disconnecting and
    /// connecting one block at a time. A block that fails validation is marked invalid and
    /// the search starts over, which returns to the old branch when it has more work.
    ///
    /// # Errors
    /// Storage errors only; invalid blocks are reported in [`Activation::invalid`].
    pub fn activate_best_chain(&mut self) -> Result<Activation, ChainError> {
        self.activate_with_progress(&mut |_, _| {})
    }

    /// [`ChainState::activate_best_chain`], calling `progress(height, target)` after each
    /// block connected.
    fn activate_with_progress(
        &mut self,
        progress: &mut dyn FnMut(Height, Height),
    ) -> Result<Activation, ChainError> {
        let mut act = Activation::default();
        while let Some(best) = self.best_candidate() {
            let (fork, path) = self.path_from_fork(&best)?;
            while self.tip().0 > fork {
                let (height, _) = self.tip();
                let block = self.disconnect_tip()?;
                act.events.push(ChainEvent::Disconnected { block, height });
            }
            let target = self.index.get(&best).map_or(Height(0), |e| e.height);
            for hash in path {
                match self.connect_tip(&hash)? {
                    Ok((block, height)) => {
                        progress(height, target);
                        act.events.push(ChainEvent::Connected { block, height });
                    }
                    Err(e) => {
                        self.set_status(&hash, BlockStatus::Invalid)?;
                        act.invalid.push((hash, e));
                        break;
                    }
                }
            }
        }
        Ok(act)
    }

    fn load_block(&self, hash: &BlockHash) -> Result<Block, ChainError> {
        self.block(hash)?.ok_or_else(|| ChainError::Missing {
            what: format!("block {hash}"),
        })
    }

    /// Connects stored block `hash` on the tip: `Ok(Err(_))` if it breaks a rule.
    fn connect_tip(
        &mut self,
        hash: &BlockHash,
    ) -> Result<Result<(Block, Height), BlockError>, ChainError> {
        let entry = self
            .index
            .get(hash)
            .copied()
            .ok_or(ChainError::UnknownBlock { hash: *hash })?;
        let block = self.load_block(hash)?;
        let height = entry.height;
        let view = SledUtxo::new(&self.db);
        let result = connect_block(&block, height, &view, &self.params, self.sig_mode);
        if let Some(e) = view.take_error() {
            return Err(e);
        }
        let undo = match result {
            Ok(undo) => undo,
            Err(e) => return Ok(Err(e)),
        };
        let spent: HashSet<OutPoint> = undo.spent.iter().map(|(o, _)| *o).collect();
        let mut batch = sled::Batch::default();
        for (outpoint, coin) in &undo.spent {
            delete_coin(&mut batch, outpoint, coin);
        }
        for tx in &block.txs {
            for (outpoint, coin) in created_coins(tx, height) {
                if !spent.contains(&outpoint) {
                    put_coin(&mut batch, &outpoint, &coin);
                }
            }
        }
        batch.insert(hash_key(P_UNDO, hash), encode_to_vec(&undo));
        batch.insert(height_key(height), hash.as_bytes());
        batch.insert(KEY_TIP, hash.as_bytes());
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        self.active.push(*hash);
        Ok(Ok((block, height)))
    }

    /// Disconnects the tip block, restoring the coins it spent.
    fn disconnect_tip(&mut self) -> Result<Block, ChainError> {
        let (height, hash) = self.tip();
        if height.0 == 0 {
            return Err(ChainError::Genesis);
        }
        let block = self.load_block(&hash)?;
        let undo: BlockUndo =
            get(&self.db, &hash_key(P_UNDO, &hash))?.ok_or_else(|| ChainError::Missing {
                what: format!("undo data of {hash}"),
            })?;
        let mut created = HashSet::new();
        let mut batch = sled::Batch::default();
        for tx in &block.txs {
            for (outpoint, coin) in created_coins(tx, height) {
                delete_coin(&mut batch, &outpoint, &coin);
                created.insert(outpoint);
            }
        }
        for (outpoint, coin) in &undo.spent {
            if !created.contains(outpoint) {
                put_coin(&mut batch, outpoint, coin);
            }
        }
        batch.remove(hash_key(P_UNDO, &hash));
        batch.remove(height_key(height));
        batch.insert(KEY_TIP, block.header.prev.as_bytes());
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        self.active.pop();
        Ok(block)
    }

    fn set_status(&mut self, hash: &BlockHash, status: BlockStatus) -> Result<(), ChainError> {
        let Some(entry) = self.index.get_mut(hash) else {
            return Err(ChainError::UnknownBlock { hash: *hash });
        };
        entry.status = status;
        let bytes = encode_to_vec(&*entry);
        self.db.insert(hash_key(P_INDEX, hash), bytes)?;
        self.db.flush()?;
        Ok(())
    }

    /// Validates, stores and (if it leads to the most work) connects a block.
    ///
    /// `now` is the local clock in seconds since the epoch.
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
    /// [`ChainError::InvalidAncestor`], storage errors.
    pub fn submit_block(&mut self, block: &Block, now: u64) -> Result<Activation, ChainError> {
        let hash = block.hash();
        if self.index.contains_key(&hash) {
            return Err(ChainError::Duplicate { hash });
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
        let entry = IndexEntry {
            header: block.header,
            height: ctx.height,
            chainwork: parent.chainwork.checked_add(&work).unwrap_or(U256::MAX),
            status: BlockStatus::Valid,
        };
        let mut batch = sled::Batch::default();
        batch.insert(hash_key(P_BLOCK, &hash), block.to_bytes());
        batch.insert(hash_key(P_INDEX, &hash), encode_to_vec(&entry));
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        self.index.insert(hash, entry);
        let act = self.activate_best_chain()?;
        if let Some((_, e)) = act.invalid.iter().find(|(h, _)| *h == hash) {
            return Err(ChainError::Invalid {
                hash,
                source: e.clone(),
            });
        }
        Ok(act)
    }

    /// Marks a block invalid (as `invalidateblock`), disconnecting it and its descendants
    /// if active, and moves to the best remaining chain.
    ///
    /// # Errors
    /// [`ChainError::UnknownBlock`], [`ChainError::Genesis`], storage errors.
    pub fn invalidate_block(&mut self, hash: &BlockHash) -> Result<Activation, ChainError> {
        let entry = self
            .index
            .get(hash)
            .copied()
            .ok_or(ChainError::UnknownBlock { hash: *hash })?;
        if entry.height.0 == 0 {
            return Err(ChainError::Genesis);
        }
        self.set_status(hash, BlockStatus::Invalid)?;
        let mut act = Activation::default();
        if self.is_active(hash) {
            while self.tip().0 >= entry.height {
                let (height, _) = self.tip();
                let block = self.disconnect_tip()?;
                act.events.push(ChainEvent::Disconnected { block, height });
            }
        }
        let more = self.activate_best_chain()?;
        act.events.extend(more.events);
        act.invalid.extend(more.invalid);
        Ok(act)
    }

    /// Clears the invalid mark of a block, its ancestors and descendants (as
    /// `reconsiderblock`), and moves to the best chain.
    ///
    /// # Errors
    /// [`ChainError::UnknownBlock`], storage errors.
    pub fn reconsider_block(&mut self, hash: &BlockHash) -> Result<Activation, ChainError> {
        let entry = self
            .index
            .get(hash)
            .copied()
            .ok_or(ChainError::UnknownBlock { hash: *hash })?;
        let mut to_clear: Vec<BlockHash> = self
            .index
            .iter()
            .filter(|(h, e)| {
                e.status != BlockStatus::Valid
                    && e.height >= entry.height
                    && self.ancestor(h, entry.height).map(|a| a.header.hash()) == Some(*hash)
            })
            .map(|(h, _)| *h)
            .collect();
        let mut current = entry.header.prev;
        while let Some(e) = self.index.get(&current) {
            if e.status != BlockStatus::Valid {
                to_clear.push(current);
            }
            current = e.header.prev;
        }
        for h in to_clear {
            self.set_status(&h, BlockStatus::Valid)?;
        }
        self.activate_best_chain()
    }

    /// Rebuilds the UTXO set, undo data, address index and active chain from the stored
    /// blocks, keeping invalid marks. `progress(height, target)` is called after each
    /// connected block.
    ///
    /// # Errors
    /// Storage errors.
    pub fn reindex(
        &mut self,
        mut progress: impl FnMut(Height, Height),
    ) -> Result<Activation, ChainError> {
        let mut batch = sled::Batch::default();
        for prefix in [P_COIN, P_ADDR, P_UNDO, P_HEIGHT] {
            for item in self.db.scan_prefix([prefix]) {
                let (key, _) = item?;
                batch.remove(key);
            }
        }
        self.genesis_tip_batch(&mut batch);
        self.db.apply_batch(batch)?;
        self.db.flush()?;
        self.load()?;
        self.activate_with_progress(&mut progress)
    }
}
