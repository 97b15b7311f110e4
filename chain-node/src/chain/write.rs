//! The write path of the chain state: every change reaches sled through `commit` (one
//! batch, then a flush) or `stage` (one batch, flushed by the next flush), and the coins
//! cache through `flush` (one batch, or the redo log of `redo.rs`). A failed write
//! poisons the state, which then refuses every change until it is reopened.

use super::{ChainState, redo};
use crate::encoding::encode_to_vec;
use crate::error::ChainError;
use crate::hash::BlockHash;
use crate::store::{KEY_TIP, P_INDEX, hash_key};

impl ChainState {
    /// Writes the coins cache to disk: every change of the UTXO set, derived indexes, undo
    /// data, active chain and saved mempool made by connects and disconnects since the
    /// last flush, with the tip marker, atomically: in one batch, or through the redo log
    /// (`redo.rs`) when there are more than 2,048 writes; then flushes (fsync). With an
    /// empty cache it only flushes.
    ///
    /// # Errors
    /// [`ChainError::Poisoned`] after a failed write; storage errors, which poison the
    /// state (the cache is kept, so reads still answer from memory).
    pub fn flush(&mut self) -> Result<(), ChainError> {
        self.usable()?;
        if self.cache.is_empty() && self.connected_unflushed.is_empty() {
            return self.commit(sled::Batch::default());
        }
        self.write_flush()?;
        self.cache.clear();
        self.connected_unflushed.clear();
        Ok(())
    }

    /// What a flush writes: every cached change, the index entries raised to
    /// [`Validity::Connected`] since the last flush, and the tip marker.
    pub(super) fn flush_writes(&self) -> impl Iterator<Item = redo::Write> + '_ {
        let entries = self.connected_unflushed.iter().filter_map(|hash| {
            let entry = self.index.get(hash)?;
            Some((hash_key(P_INDEX, hash), Some(encode_to_vec(entry))))
        });
        self.cache.writes().chain(entries).chain(std::iter::once((
            KEY_TIP.to_vec(),
            Some(self.tip().1.as_bytes().to_vec()),
        )))
    }

    /// The number of writes [`ChainState::flush_writes`] yields, at most.
    pub(super) fn flush_write_count(&self) -> usize {
        self.cache.write_count() + self.connected_unflushed.len() + 1
    }

    /// Flushes the coins cache if a bound of its [`CacheConfig`] is reached (the time
    /// bound can pass while no block arrives); returns whether it flushed.
    ///
    /// # Errors
    /// As [`ChainState::flush`].
    pub fn flush_if_due(&mut self) -> Result<bool, ChainError> {
        self.usable()?;
        if !self.cache.due(&self.cache_config) {
            return Ok(false);
        }
        self.flush()?;
        Ok(true)
    }

    /// The tip that the stored UTXO set describes (the flushed tip marker); the active
    /// tip may be ahead of it until the next flush.
    ///
    /// # Errors
    /// Storage errors, [`ChainError::Missing`] if the marker is absent.
    pub fn flushed_tip(&self) -> Result<BlockHash, ChainError> {
        self.db
            .get(KEY_TIP)?
            .and_then(|t| <[u8; 32]>::try_from(t.as_ref()).ok())
            .map(BlockHash)
            .ok_or_else(|| ChainError::Missing {
                what: "the flushed tip marker".into(),
            })
    }

    /// Storage fault injection for tests: drops the chain state as a crash would, without
    /// writing the coins cache.
    #[doc(hidden)]
    pub fn drop_unflushed(mut self) {
        self.cache.clear();
    }

    /// Applies `batch` and flushes it. Any failure poisons the state: the batch may be
    /// applied in memory and not on disk, so nothing may build on either any more.
    pub(super) fn commit(&mut self, batch: sled::Batch) -> Result<(), ChainError> {
        self.usable()?;
        let result = self.db.apply_batch(batch).and_then(|()| self.flush_db());
        // sled's batches do not say their length; most are a block or a few.
        redo::reclaim(redo::BATCH_KEYS);
        if let Err(e) = result {
            self.poisoned = Some(e.to_string());
            return Err(e.into());
        }
        Ok(())
    }

    /// Writes `batch` without flushing it: the next flush (of any write) makes it durable.
    pub(super) fn stage(&mut self, batch: sled::Batch) -> Result<(), ChainError> {
        self.usable()?;
        if let Err(e) = self.db.apply_batch(batch) {
            self.poisoned = Some(e.to_string());
            return Err(e.into());
        }
        redo::reclaim(redo::BATCH_KEYS);
        Ok(())
    }

    pub(super) fn flush_db(&self) -> Result<(), sled::Error> {
        if let Some(left) = self.flush_fault.get() {
            if left == 0 {
                return Err(sled::Error::Io(std::io::Error::other(
                    "flush failed (injected storage fault)",
                )));
            }
            self.flush_fault.set(Some(left - 1));
        }
        self.db.flush()?;
        Ok(())
    }

    /// Refuses changes once a write has failed.
    pub(super) fn usable(&self) -> Result<(), ChainError> {
        match &self.poisoned {
            Some(reason) => Err(ChainError::Poisoned {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The storage failure that stopped this chain state, if one did. A poisoned state
    /// refuses every change; reopen it to continue from what is on disk.
    pub fn poisoned(&self) -> Option<&str> {
        self.poisoned.as_deref()
    }

    /// Storage fault injection for tests: after `flushes` more successful flushes, every
    /// flush fails (after its batch was applied), as a failing disk would.
    #[doc(hidden)]
    pub fn fail_flushes_after(&mut self, flushes: u32) {
        self.flush_fault.set(Some(flushes));
    }

    /// Storage fault injection for tests: the next flush large enough to go through the
    /// redo log (more than 2,048 writes) makes its log durable, applies `batches` of its
    /// batches and stops there, as a crash would; the state is poisoned and dropping it
    /// writes nothing.
    #[doc(hidden)]
    pub fn crash_redo_after(&mut self, batches: usize) {
        self.redo_fault = Some(batches);
    }
}
