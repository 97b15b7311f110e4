//! A large flush of the coins cache, written through a redo log so that sled never
//! applies it as one batch.
//!
//! sled keeps every tree node that one `apply_batch` replaces until the whole batch is
//! applied, so a batch of N keys holds about N nodes' worth of memory at once: the flush
//! of 10,000 blocks' changes took a syncing node from 70 MiB to 360 MiB, and the
//! allocator kept it. A flush of more than [`BATCH_KEYS`] writes therefore goes in three
//! steps, as Bitcoin Core writes its coins database in partial batches behind a
//! head-blocks marker:
//!
//! 1. the writes (absolute values: put this value, remove this key) are encoded into
//!    chunks of at most [`BATCH_KEYS`] writes, each inserted under `j` ‖ chunk number,
//!    then the marker `J` (the number of chunks), then sled is flushed (fsync);
//! 2. the writes are applied in batches of at most [`BATCH_KEYS`];
//! 3. one last batch removes the chunks and the marker, and sled is flushed.
//!
//! A crash in step 2 or 3 leaves the marker: at open, before anything is read, the
//! chunks are applied again (the writes are absolute, so applying them twice changes
//! nothing) and removed. A crash in step 1 leaves chunks without a marker, which are
//! removed: that flush never happened, and activation from the stored tip connects its
//! blocks again. Nothing else writes while a flush runs (the chain state has one owner).

use super::ChainState;
use crate::encoding::Reader;
use crate::error::{ChainError, DecodeError};

/// The most writes in one sled batch (and in one chunk of the redo log).
pub(super) const BATCH_KEYS: usize = 2_048;

/// Prefix of the redo log's chunks: `j` ‖ chunk number (`u32` big-endian).
const P_REDO: u8 = b'j';
/// Key of the redo log's marker: the number of chunks (`u32` LE), written after them.
const KEY_REDO_DONE: &[u8] = b"J";

/// One write of a flush: the key and its new value, or `None` to remove it.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

fn chunk_key(n: u32) -> Vec<u8> {
    let mut k = vec![P_REDO];
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// Appends one write: a tag (1 put, 0 remove), the key behind its `u32` LE length, and
/// for a put the value behind its length.
fn encode_write(out: &mut Vec<u8>, (key, value): &Write) {
    let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    out.push(u8::from(value.is_some()));
    out.extend_from_slice(&len(key.len()));
    out.extend_from_slice(key);
    if let Some(v) = value {
        out.extend_from_slice(&len(v.len()));
        out.extend_from_slice(v);
    }
}

/// The bytes of a redo-log chunk holding `writes` (see [`encode_write`]).
pub fn encode_chunk(writes: &[Write]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for w in writes {
        encode_write(&mut bytes, w);
    }
    bytes
}

/// Decodes a redo-log chunk (bytes read back from disk). Lengths are checked against
/// the bytes present before anything is allocated for them.
///
/// # Errors
/// [`DecodeError`] for a truncated chunk or an unknown tag.
pub fn decode_chunk(bytes: &[u8]) -> Result<Vec<Write>, DecodeError> {
    let mut r = Reader::new(bytes);
    let mut writes = Vec::new();
    while r.remaining() > 0 {
        let tag = r.u8()?;
        let key_len = r.u32()? as usize;
        let key = r.take(key_len)?.to_vec();
        let value = match tag {
            1 => {
                let value_len = r.u32()? as usize;
                Some(r.take(value_len)?.to_vec())
            }
            0 => None,
            tag => {
                return Err(DecodeError::BadTag {
                    what: "redo write",
                    tag,
                });
            }
        };
        writes.push((key, value));
    }
    Ok(writes)
}

/// Frees what sled's writes left for deferred reclamation.
///
/// sled replaces a tree node on every write and hands the old one to `crossbeam-epoch`,
/// which frees such garbage only as threads pin: at most 8 bags of 64 objects every 128
/// pins of a thread. One `apply_batch` pins once and leaves a few objects per write, so
/// a node storing blocks and flushing batches produces garbage faster than it is freed
/// (measured: about 6 KiB a block while syncing empty blocks, freed only when some later
/// flood of pins caught up). Each round here pins, pushes this thread's bag and
/// collects up to 8 expired bags, so `writes` writes get about four times the rounds
/// their garbage needs.
pub(super) fn reclaim(writes: usize) {
    for _ in 0..writes / 16 + 4 {
        crossbeam_epoch::pin().flush();
    }
}

fn to_batch(writes: &[Write]) -> sled::Batch {
    let mut batch = sled::Batch::default();
    for (key, value) in writes {
        match value {
            Some(v) => batch.insert(key.as_slice(), v.as_slice()),
            None => batch.remove(key.as_slice()),
        }
    }
    batch
}

/// The next at most [`BATCH_KEYS`] writes of `writes`; empty at the end.
fn next_part(writes: &mut impl Iterator<Item = Write>) -> Vec<Write> {
    writes.by_ref().take(BATCH_KEYS).collect()
}

impl ChainState {
    /// Writes the coins cache's changes ([`ChainState::flush_writes`]) durably: in one
    /// batch when there are at most [`BATCH_KEYS`] of them, through the redo log
    /// otherwise (module docs). Any failure poisons the state.
    pub(super) fn write_flush(&mut self) -> Result<(), ChainError> {
        self.usable()?;
        if self.flush_write_count() <= BATCH_KEYS {
            let writes = next_part(&mut self.flush_writes());
            return self.commit(to_batch(&writes));
        }
        let result = self.write_through_redo();
        if let Err(e) = &result {
            self.poisoned.get_or_insert_with(|| e.to_string());
        }
        result
    }

    fn write_through_redo(&self) -> Result<(), ChainError> {
        let mut chunks = 0u32;
        let mut writes = self.flush_writes();
        loop {
            let part = next_part(&mut writes);
            if part.is_empty() {
                break;
            }
            self.db.insert(chunk_key(chunks), encode_chunk(&part))?;
            chunks += 1;
        }
        self.db.insert(KEY_REDO_DONE, &chunks.to_le_bytes())?;
        self.flush_db()?;
        let mut writes = self.flush_writes();
        for i in 0.. {
            let part = next_part(&mut writes);
            if part.is_empty() {
                break;
            }
            if self.redo_fault == Some(i) {
                return Err(ChainError::Poisoned {
                    reason: "crash injected between the redo log's batches".into(),
                });
            }
            self.db.apply_batch(to_batch(&part))?;
            reclaim(part.len());
        }
        self.finish_redo((0..chunks).map(chunk_key))
    }

    /// Removes the redo log (its chunks `keys` and the marker) and flushes.
    fn finish_redo(&self, keys: impl IntoIterator<Item = Vec<u8>>) -> Result<(), ChainError> {
        let mut batch = sled::Batch::default();
        for key in keys {
            batch.remove(key);
        }
        batch.remove(KEY_REDO_DONE);
        self.db.apply_batch(batch)?;
        self.flush_db()?;
        Ok(())
    }

    /// At open: completes a flush that a crash interrupted after its redo log was
    /// durable, or removes the chunks of one interrupted before (module docs).
    ///
    /// # Errors
    /// Storage errors; [`ChainError::Corrupt`] for a damaged chunk or marker, and
    /// [`ChainError::Missing`] for a chunk the marker counts but the store lacks.
    pub(super) fn recover_redo(&mut self) -> Result<(), ChainError> {
        let stray: Vec<Vec<u8>> = self
            .db
            .scan_prefix([P_REDO])
            .keys()
            .map(|k| k.map(|k| k.to_vec()))
            .collect::<Result<_, _>>()?;
        let Some(done) = self.db.get(KEY_REDO_DONE)? else {
            if !stray.is_empty() {
                let mut batch = sled::Batch::default();
                for key in stray {
                    batch.remove(key);
                }
                self.commit(batch)?;
            }
            return Ok(());
        };
        let chunks = Reader::new(&done)
            .u32()
            .ok()
            .filter(|_| done.len() == 4)
            .ok_or_else(|| {
                crate::store::corrupt(
                    KEY_REDO_DONE,
                    DecodeError::UnexpectedEnd {
                        needed: 4,
                        remaining: done.len(),
                    },
                )
            })?;
        for n in 0..chunks {
            let key = chunk_key(n);
            let bytes = self.db.get(&key)?.ok_or_else(|| ChainError::Missing {
                what: format!("chunk {n} of {chunks} of the interrupted flush's redo log"),
            })?;
            let writes =
                decode_chunk(&bytes).map_err(|source| crate::store::corrupt(&key, source))?;
            self.db.apply_batch(to_batch(&writes))?;
            reclaim(writes.len());
        }
        self.finish_redo(stray)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_round_trip_through_a_chunk_and_bad_chunks_are_refused() {
        let writes: Vec<Write> = vec![
            (b"ka".to_vec(), Some(b"value".to_vec())),
            (b"kb".to_vec(), None),
            (Vec::new(), Some(Vec::new())),
        ];
        let bytes = encode_chunk(&writes);
        // tag, key length, key, value length, value: by hand.
        assert_eq!(
            &bytes[..16],
            &[
                1, 2, 0, 0, 0, b'k', b'a', 5, 0, 0, 0, b'v', b'a', b'l', b'u', b'e'
            ]
        );
        assert_eq!(decode_chunk(&bytes), Ok(writes));
        // Every truncation fails cleanly, never allocating for a length it lacks.
        for cut in 1..bytes.len() {
            if cut == 16 || cut == 23 {
                continue; // whole writes end here
            }
            assert!(decode_chunk(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_chunk(&[1, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode_chunk(&[2, 0, 0, 0, 0]).is_err());
    }
}
