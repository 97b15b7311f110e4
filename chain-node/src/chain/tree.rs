//! What chain selection needs over the block index, kept up to date per block instead
//! of recomputed from the whole index: the blocks whose data is stored but whose
//! ancestry lacks some, by parent (Core's `m_blocks_unlinked`), the candidate set (Core's
//! `setBlockIndexCandidates`) and the best-header chain (Core's `m_best_header`).
//!
//! Accepting a header, storing a block and connecting one touch only the entries
//! concerned (the blocks waiting for a block's data when it completes their ancestry,
//! the end of the candidate order, the new part of the best-header chain). Loading the
//! index, `invalidateblock`, `reconsiderblock`, a block found invalid (which may lower
//! the best header) and `getchaintips` walk the whole index, as Core does for them: no
//! map of children is kept, since in a long chain nearly every block has one and the map
//! cost about 120 bytes a block.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};

use super::ChainState;
use crate::encoding::{Failure, IndexEntry, encode_to_vec};
use crate::error::ChainError;
use crate::hash::BlockHash;
use crate::store::{P_INDEX, hash_key};
use crate::u256::U256;
use crate::units::Height;

/// A key of the candidate set: most work first, then the lowest sequence (the branch
/// that became connectable first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Candidate {
    work: Reverse<U256>,
    sequence: u64,
    hash: BlockHash,
}

impl Candidate {
    fn of(hash: BlockHash, entry: &IndexEntry) -> Self {
        Candidate {
            work: Reverse(entry.chainwork),
            sequence: entry.sequence,
            hash,
        }
    }
}

/// The bookkeeping over the index (see the module docs).
#[derive(Debug, Default)]
pub(super) struct Tree {
    /// Entries with data whose ancestry lacks some data, by parent, in the order their
    /// data arrived.
    waiting: HashMap<BlockHash, Vec<BlockHash>>,
    /// Entries with data whose ancestry lacks some data.
    unlinked: HashSet<BlockHash>,
    /// Entries with data, a complete ancestry and no failure, at least as good as the
    /// active tip (worse ones are pruned as the tip advances).
    candidates: BTreeSet<Candidate>,
    /// The best-header chain: hash at each height from genesis up to the valid header
    /// with the most work (the first seen among equals).
    best_chain: Vec<BlockHash>,
}

/// Whether `a` is a better tip than `b`: more work, or equal work and a lower sequence.
pub(super) fn better(a: &IndexEntry, b: &IndexEntry) -> bool {
    a.chainwork > b.chainwork || (a.chainwork == b.chainwork && a.sequence < b.sequence)
}

impl Tree {
    /// The blocks with data waiting for the ancestry of `hash` to complete, whose parent
    /// it is.
    fn waiting_for(&self, hash: &BlockHash) -> &[BlockHash] {
        self.waiting.get(hash).map_or(&[], Vec::as_slice)
    }

    /// Records that `hash`, whose parent is `parent`, has data but not its ancestry.
    fn wait(&mut self, parent: BlockHash, hash: BlockHash) {
        self.unlinked.insert(hash);
        self.waiting.entry(parent).or_default().push(hash);
    }

    /// The hash of the best-header chain at `height`.
    pub(super) fn best_at(&self, height: Height) -> Option<BlockHash> {
        self.best_chain.get(height.0 as usize).copied()
    }

    /// The best-header chain from genesis.
    pub(super) fn best_chain(&self) -> &[BlockHash] {
        &self.best_chain
    }
}

impl ChainState {
    /// Whether `hash` has data and every ancestor has data (Core's `HaveNumChainTxs`).
    pub(super) fn is_linked(&self, hash: &BlockHash) -> bool {
        self.index.get(hash).is_some_and(|e| e.status.has_data())
            && !self.tree.unlinked.contains(hash)
    }

    /// Every descendant of `hash`, parents before children (by height): a walk of the
    /// whole index, as Core's `InvalidateBlock` walks its block index.
    pub(super) fn descendants(&self, hash: &BlockHash) -> Vec<BlockHash> {
        let Some(root) = self.index.get(hash) else {
            return Vec::new();
        };
        let mut above: Vec<(Height, BlockHash, BlockHash)> = self
            .index
            .iter()
            .filter(|(_, e)| e.height > root.height)
            .map(|(h, e)| (e.height, *h, e.header.prev))
            .collect();
        above.sort_unstable();
        let mut family: HashSet<BlockHash> = HashSet::from([*hash]);
        let mut out = Vec::new();
        for (_, h, prev) in above {
            if family.contains(&prev) {
                family.insert(h);
                out.push(h);
            }
        }
        out
    }

    /// The entries with a child in the index.
    pub(super) fn parents(&self) -> HashSet<BlockHash> {
        self.index.values().map(|e| e.header.prev).collect()
    }

    /// The blocks that become connectable when the data of `hash` (whose parent is
    /// linked) is stored: `hash`, then its descendants with data, breadth first, as Core
    /// assigns `nSequenceId`s in `ReceivedBlockTransactions`.
    pub(super) fn newly_linked(&self, hash: &BlockHash) -> Vec<BlockHash> {
        let mut out = vec![*hash];
        let mut next = 0;
        while let Some(h) = out.get(next).copied() {
            next += 1;
            out.extend_from_slice(self.tree.waiting_for(&h));
        }
        out
    }

    /// Records that the data of `hash` is stored: linked blocks leave the unlinked set
    /// and join the candidates, or `hash` waits for an ancestor's data.
    pub(super) fn data_stored(&mut self, hash: BlockHash, linked: &[BlockHash]) {
        if linked.is_empty() {
            if let Some(parent) = self.index.get(&hash).map(|e| e.header.prev) {
                self.tree.wait(parent, hash);
            }
            return;
        }
        for h in linked {
            self.tree.unlinked.remove(h);
            self.tree.waiting.remove(h);
            self.try_add_candidate(h);
        }
    }

    /// Adds `hash` to the candidates if it has a complete ancestry, no failure and is at
    /// least as good as the active tip.
    pub(super) fn try_add_candidate(&mut self, hash: &BlockHash) {
        let Some(entry) = self.index.get(hash) else {
            return;
        };
        if entry.status.is_failed() || !self.is_linked(hash) {
            return;
        }
        let tip = self.tip().1;
        let worse = self.index.get(&tip).is_some_and(|t| better(t, entry));
        if !worse {
            self.tree.candidates.insert(Candidate::of(*hash, entry));
        }
    }

    /// Removes the candidates worse than the active tip (from the end of the order).
    pub(super) fn prune_candidates(&mut self) {
        let tip = self.tip().1;
        let Some(tip) = self.index.get(&tip).copied() else {
            return;
        };
        while let Some(last) = self.tree.candidates.last() {
            let worse = self.index.get(&last.hash).is_none_or(|e| better(&tip, e));
            if !worse {
                break;
            }
            self.tree.candidates.pop_last();
        }
    }

    /// Removes `hash` from the candidates.
    pub(super) fn remove_candidate(&mut self, hash: &BlockHash) {
        if let Some(entry) = self.index.get(hash) {
            self.tree.candidates.remove(&Candidate::of(*hash, entry));
        }
    }

    /// The best candidate if it is better than the active tip.
    pub(super) fn best_candidate(&self) -> Option<BlockHash> {
        let tip = self.tip().1;
        let tip = self.index.get(&tip)?;
        let first = self.tree.candidates.first()?;
        let entry = self.index.get(&first.hash)?;
        better(entry, tip).then_some(first.hash)
    }

    /// Rebuilds the candidate set from the whole index (after the tip went down: an
    /// invalidation, a reconsideration, a rewind at open).
    pub(super) fn rescan_candidates(&mut self) {
        self.tree.candidates.clear();
        let hashes: Vec<BlockHash> = self
            .index
            .iter()
            .filter(|(_, e)| e.status.has_data() && !e.status.is_failed())
            .map(|(h, _)| *h)
            .collect();
        for h in hashes {
            self.try_add_candidate(&h);
        }
    }

    /// Makes `hash` the best header if it has more work than the current one, moving
    /// the best-header chain to it (only the part after the fork is walked).
    pub(super) fn consider_best_header(&mut self, hash: &BlockHash) {
        let Some(entry) = self.index.get(hash).copied() else {
            return;
        };
        if entry.status.is_failed() {
            return;
        }
        let best = self
            .tree
            .best_chain
            .last()
            .and_then(|h| self.index.get(h))
            .map(|e| e.chainwork);
        if best.is_some_and(|w| w >= entry.chainwork) {
            return;
        }
        self.set_best_chain(*hash, entry);
    }

    /// Points the best-header chain at `hash`.
    fn set_best_chain(&mut self, hash: BlockHash, entry: IndexEntry) {
        let mut path = Vec::new();
        let mut current = hash;
        let mut e = entry;
        loop {
            if self.tree.best_at(e.height) == Some(current) {
                break;
            }
            path.push(current);
            if e.height.0 == 0 {
                break;
            }
            current = e.header.prev;
            match self.index.get(&current) {
                Some(p) => e = *p,
                None => break,
            }
        }
        let keep = (entry.height.0 as usize + 1).saturating_sub(path.len());
        self.tree.best_chain.truncate(keep);
        self.tree.best_chain.extend(path.into_iter().rev());
    }

    /// Recomputes the best header from the whole index: the valid entry with the most
    /// work, the active tip among equals, else the lowest hash (the order of arrival of
    /// headers is not stored).
    pub(super) fn recompute_best_header(&mut self) {
        let (_, tip) = self.tip();
        let mut best: Option<(BlockHash, IndexEntry)> = None;
        for (h, e) in &self.index {
            if e.status.is_failed() {
                continue;
            }
            let replace = match &best {
                None => true,
                Some((bh, be)) => {
                    e.chainwork > be.chainwork
                        || (e.chainwork == be.chainwork && (*h == tip || (*bh != tip && h < bh)))
                }
            };
            if replace {
                best = Some((*h, *e));
            }
        }
        self.tree.best_chain.clear();
        if let Some((h, e)) = best {
            self.set_best_chain(h, e);
        }
    }

    /// Builds the bookkeeping from the loaded index and active chain: failures
    /// carried to descendants (in memory; what is stored is the failed block's own
    /// mark or its descendants' from the same batch), unlinked blocks, candidates and
    /// the best header.
    pub(super) fn rebuild_tree(&mut self) -> Result<(), ChainError> {
        self.tree = Tree::default();
        let genesis = self.params.genesis_hash();
        let mut hashes: Vec<(Height, BlockHash)> =
            self.index.iter().map(|(h, e)| (e.height, *h)).collect();
        hashes.sort_unstable();
        for (_, h) in &hashes {
            let Some(e) = self.index.get(h) else { continue };
            if *h == genesis {
                continue;
            }
            if !self.index.contains_key(&e.header.prev) {
                return Err(ChainError::Missing {
                    what: format!("the index entry of {}, parent of {h}", e.header.prev),
                });
            }
        }
        // Parents before children: failures and completeness flow down.
        for (_, h) in &hashes {
            let Some(e) = self.index.get(h).copied() else {
                continue;
            };
            if *h == genesis {
                continue;
            }
            let parent = self.index.get(&e.header.prev).copied();
            let parent_failed = parent.is_some_and(|p| p.status.is_failed());
            if parent_failed
                && e.status.failure.is_none()
                && let Some(entry) = self.index.get_mut(h)
            {
                entry.status.failure = Some(Failure::FailedChild);
            }
            let parent_linked = parent.is_some_and(|p| p.status.has_data())
                && !self.tree.unlinked.contains(&e.header.prev);
            if e.status.has_data() && !parent_linked {
                self.tree.wait(e.header.prev, *h);
            }
        }
        self.rescan_candidates();
        self.recompute_best_header();
        Ok(())
    }

    /// Marks `hash` failed and its descendants failed children, in one batch, then
    /// drops them from the candidates and moves the best header off them.
    pub(super) fn mark_failed(&mut self, hash: &BlockHash) -> Result<(), ChainError> {
        let Some(entry) = self.index.get(hash).copied() else {
            return Err(ChainError::UnknownBlock { hash: *hash });
        };
        let mut changes = vec![(*hash, Some(Failure::Failed))];
        for d in self.descendants(hash) {
            let own = self.index.get(&d).and_then(|e| e.status.failure);
            if own != Some(Failure::Failed) {
                changes.push((d, Some(Failure::FailedChild)));
            }
        }
        self.write_failures(&changes)?;
        let on_best = self.tree.best_at(entry.height) == Some(*hash);
        if on_best {
            self.recompute_best_header();
        }
        Ok(())
    }

    /// Clears the failure of `hash`, its descendants and its ancestors (as Core's
    /// `ResetBlockFailureFlags`), then derives again which blocks below the highest
    /// cleared one descend from a block still failed; rebuilds the candidates and the
    /// best header.
    pub(super) fn clear_failures(&mut self, hash: &BlockHash) -> Result<(), ChainError> {
        let Some(entry) = self.index.get(hash).copied() else {
            return Err(ChainError::UnknownBlock { hash: *hash });
        };
        let mut cleared: HashSet<BlockHash> = HashSet::new();
        cleared.insert(*hash);
        let mut top = *hash;
        let mut current = entry.header.prev;
        while let Some(e) = self.index.get(&current) {
            if e.status.is_failed() {
                cleared.insert(current);
                top = current;
            }
            if e.height.0 == 0 {
                break;
            }
            current = e.header.prev;
        }
        cleared.extend(self.descendants(hash));
        let mut changes = Vec::new();
        let mut derived: HashMap<BlockHash, Option<Failure>> = HashMap::new();
        let top_failure = None;
        derived.insert(top, top_failure);
        changes.push((top, top_failure));
        for d in self.descendants(&top) {
            let Some(e) = self.index.get(&d) else {
                continue;
            };
            let own_failed = e.status.failure == Some(Failure::Failed) && !cleared.contains(&d);
            let parent = derived.get(&e.header.prev).copied().flatten();
            let failure = if own_failed {
                Some(Failure::Failed)
            } else if parent.is_some() {
                Some(Failure::FailedChild)
            } else {
                None
            };
            derived.insert(d, failure);
            changes.push((d, failure));
        }
        for a in cleared {
            if !derived.contains_key(&a) {
                changes.push((a, None));
            }
        }
        self.write_failures(&changes)?;
        self.rescan_candidates();
        self.recompute_best_header();
        Ok(())
    }

    /// Writes the given failures of index entries in one batch (only those that
    /// change), then applies them in memory and drops failed ones from the candidates.
    fn write_failures(
        &mut self,
        changes: &[(BlockHash, Option<Failure>)],
    ) -> Result<(), ChainError> {
        let mut batch = sled::Batch::default();
        let mut updated = Vec::new();
        for (h, failure) in changes {
            let Some(mut e) = self.index.get(h).copied() else {
                continue;
            };
            if e.status.failure == *failure {
                continue;
            }
            e.status.failure = *failure;
            batch.insert(hash_key(P_INDEX, h), encode_to_vec(&e));
            updated.push((*h, e));
        }
        if updated.is_empty() {
            return Ok(());
        }
        self.commit(batch)?;
        for (h, e) in updated {
            if e.status.is_failed() {
                self.remove_candidate(&h);
            }
            self.index.insert(h, e);
        }
        Ok(())
    }
}
