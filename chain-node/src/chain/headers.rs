//! Headers first: header batches accepted into the index before their blocks, with
//! Core's anti-DoS rule (a header chain is stored only once it has enough work; a
//! peer's lower-work chain waits in a bounded [`PendingHeaders`] in memory), block
//! locators, `getheaders` answers, the best header and the blocks to download for it.
//!
//! The header rules are the ones a block's header passes ([`check_header_pow`],
//! [`check_header_context`]); their context (expected bits, median time past) comes
//! from the index and from the headers of the batch before each one.

use super::ChainState;
use crate::block::Header;
use crate::encoding::{BlockStatus, IndexEntry, Validity, encode_to_vec};
use crate::error::{BlockError, ChainError};
use crate::hash::BlockHash;
use crate::params::MEDIAN_TIME_SPAN;
use crate::pow::Target;
use crate::store::{P_INDEX, hash_key};
use crate::u256::U256;
use crate::units::Height;
use crate::validation::{
    HeaderContext, check_header_context, check_header_pow, median_time_past, next_bits,
};

/// Most headers in one batch: the most a `headers` answer carries (Core's
/// `MAX_HEADERS_RESULTS`).
pub const MAX_HEADERS_RESULTS: usize = 2_000;
/// Most hashes in a block locator (Core's `MAX_LOCATOR_SZ`).
pub const MAX_LOCATOR_HASHES: usize = 101;
/// Most headers held in memory for one peer while its chain has less work than the
/// threshold (ten full batches, 800 kB of headers).
pub const MAX_PENDING_HEADERS: usize = 20_000;
/// Blocks of work below the active tip that a header chain may end at and still be
/// stored (Core's 144-block buffer in `GetAntiDoSWorkThreshold`).
pub const ANTI_DOS_TIP_BLOCKS: u64 = 144;

/// What a batch of headers did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadersOutcome {
    /// The chain has enough work: its new headers are in the index (on disk).
    Stored {
        /// Headers newly stored (the batch's new ones and those held for the peer).
        new: usize,
        /// Height and hash of the last header of the batch (`None` for an empty one).
        last: Option<(Height, BlockHash)>,
    },
    /// The headers are valid but their chain has less work than the threshold: nothing
    /// was stored.
    LowWork {
        /// Height and hash of the last header of the batch.
        last: (Height, BlockHash),
        /// The chain work of that header.
        work: U256,
        /// The work a chain needs to be stored ([`ChainState::anti_dos_threshold`]).
        threshold: U256,
        /// Headers now held in memory for the peer ([`PendingHeaders::len`]); 0 through
        /// [`ChainState::accept_headers`], which holds none.
        held: usize,
    },
}

/// A peer's header chain that does not have enough work yet, held in memory only (at
/// most [`MAX_PENDING_HEADERS`]) on top of an index entry, until it reaches the
/// threshold and is stored, or is dropped. Every header in it passed the header rules.
#[derive(Clone, Debug, Default)]
pub struct PendingHeaders {
    /// The index entry the headers follow.
    anchor: BlockHash,
    /// The headers, each the parent of the next.
    headers: Vec<Header>,
    /// Hash of the last header.
    last: BlockHash,
    /// Chain work of the last header.
    work: U256,
}

impl PendingHeaders {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Headers held.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// Drops what is held.
    pub fn clear(&mut self) {
        self.headers = Vec::new();
        self.work = U256::ZERO;
    }

    /// Hash of the last header held.
    pub fn last_hash(&self) -> Option<BlockHash> {
        (!self.headers.is_empty()).then_some(self.last)
    }

    /// Chain work of the last header held (zero when empty).
    pub fn work(&self) -> U256 {
        self.work
    }
}

/// Headers not in the index that follow an index entry: the header rules' view of a
/// chain being accepted.
struct Overlay<'a> {
    state: &'a ChainState,
    base_hash: BlockHash,
    base: IndexEntry,
    /// Held headers, then the batch's; each the parent of the next.
    parts: [&'a [Header]; 2],
}

impl Overlay<'_> {
    /// The `i`-th header above the base.
    fn get(&self, i: usize) -> Option<&Header> {
        let [a, b] = self.parts;
        match i.checked_sub(a.len()) {
            None => a.get(i),
            Some(j) => b.get(j),
        }
    }

    /// The context of the header that follows the first `n` headers above the base.
    fn context(&self, n: usize, now: u64) -> Option<HeaderContext> {
        let parent = match n.checked_sub(1) {
            None => self.base.header,
            Some(i) => *self.get(i)?,
        };
        let parent_height = self.base.height.0.checked_add(u32::try_from(n).ok()?)?;
        let height = Height(parent_height).next()?;
        let mut times = Vec::with_capacity(MEDIAN_TIME_SPAN);
        for i in (0..n).rev().take(MEDIAN_TIME_SPAN) {
            times.push(self.get(i)?.time);
        }
        let mut cur = Some(self.base);
        while let Some(e) = cur.filter(|_| times.len() < MEDIAN_TIME_SPAN) {
            times.push(e.header.time);
            cur = (e.height.0 > 0)
                .then(|| self.state.index.get(&e.header.prev).copied())
                .flatten();
        }
        let params = &self.state.params;
        let start_time = match params
            .retarget
            .and_then(|rp| height.0.checked_sub(1 + rp.interval))
        {
            None => None,
            Some(h) if h > self.base.height.0 => {
                let offset = usize::try_from(h - self.base.height.0 - 1).ok()?;
                Some(self.get(offset)?.time)
            }
            Some(h) => self
                .state
                .ancestor(&self.base_hash, Height(h))
                .map(|e| e.header.time),
        };
        Some(HeaderContext {
            height,
            expected_bits: next_bits(params, height, parent.bits, parent.time, start_time),
            median_time_past: median_time_past(&times),
            prev_time: parent.time,
            now,
        })
    }
}

impl ChainState {
    /// The header rules' view of a block that would extend `parent`.
    pub fn header_context(&self, parent: &BlockHash, now: u64) -> Option<HeaderContext> {
        let base = *self.index.get(parent)?;
        Overlay {
            state: self,
            base_hash: *parent,
            base,
            parts: [&[], &[]],
        }
        .context(0, now)
    }

    /// The work a header chain must have for its headers to be stored: the network's
    /// minimum chain work, or the active tip's work less 144 blocks of the tip's
    /// difficulty if that is more (Core's `GetAntiDoSWorkThreshold`).
    pub fn anti_dos_threshold(&self) -> U256 {
        let near_tip = self.tip_entry().ok().map_or(U256::ZERO, |tip| {
            let proof = Target::from_compact(tip.header.bits).map_or(U256::ZERO, |t| t.work());
            let buffer = proof
                .checked_mul_u64(ANTI_DOS_TIP_BLOCKS)
                .unwrap_or(U256::MAX);
            tip.chainwork.checked_sub(&buffer).unwrap_or(U256::ZERO)
        });
        near_tip.max(self.params.minimum_chain_work)
    }

    /// Submits a block nobody asked for (an announcement from a peer), as Core's
    /// `AcceptBlock` treats unrequested blocks: stored only if its chain has at least
    /// the active tip's work and the network's minimum chain work, so that low-work
    /// side branches sent unasked are never stored. A block the node asked for (one of
    /// [`ChainState::blocks_to_download`]) goes through [`ChainState::submit_block`].
    ///
    /// # Errors
    /// [`ChainError::LowWork`] with nothing stored, [`ChainError::UnknownParent`],
    /// [`ChainError::Invalid`] for bad bits, and those of [`ChainState::submit_block`].
    pub fn submit_unrequested_block(
        &mut self,
        block: &crate::block::Block,
        now: u64,
    ) -> Result<crate::chain::Activation, ChainError> {
        let hash = block.hash();
        let work = match self.index.get(&hash) {
            Some(e) => e.chainwork,
            None => {
                let prev = block.header.prev;
                let parent = self
                    .index
                    .get(&prev)
                    .ok_or(ChainError::UnknownParent { hash, prev })?;
                let proof = Target::from_compact(block.header.bits)
                    .map_err(|e| ChainError::Invalid {
                        hash,
                        source: BlockError::BadBits(e),
                    })?
                    .work();
                parent.chainwork.checked_add(&proof).unwrap_or(U256::MAX)
            }
        };
        let threshold = self
            .tip_entry()?
            .chainwork
            .max(self.params.minimum_chain_work);
        if work < threshold {
            return Err(ChainError::LowWork { hash });
        }
        self.submit_block(block, now)
    }

    /// Accepts a batch of headers (a `headers` answer) into the index, as Core's
    /// `ProcessNewBlockHeaders` behind its anti-DoS rule: each header must connect (to a
    /// known header, or to the one before it in the batch), carry valid proof of work
    /// for the bits the difficulty rule expects and pass the time rules against `now`.
    /// The batch is all or nothing: the first bad header stops it and nothing of it is
    /// stored. A valid chain whose last header has less work than
    /// [`ChainState::anti_dos_threshold`] is not stored either
    /// ([`HeadersOutcome::LowWork`]); use [`ChainState::accept_peer_headers`] to hold
    /// it for the peer until it proves enough work.
    ///
    /// # Errors
    /// [`ChainError::TooManyHeaders`], [`ChainError::UnconnectedHeader`],
    /// [`ChainError::BadHeader`], [`ChainError::InvalidAncestor`] (the batch builds on a
    /// block marked invalid), [`ChainError::KnownInvalid`], storage errors,
    /// [`ChainError::Poisoned`]. [`ChainError::is_peer_fault`] tells the peer's faults.
    pub fn accept_headers(
        &mut self,
        headers: &[Header],
        now: u64,
    ) -> Result<HeadersOutcome, ChainError> {
        let mut pending = PendingHeaders::new();
        let outcome = self.accept_peer_headers(&mut pending, headers, now)?;
        Ok(match outcome {
            HeadersOutcome::LowWork {
                last,
                work,
                threshold,
                ..
            } => HeadersOutcome::LowWork {
                last,
                work,
                threshold,
                held: 0,
            },
            stored => stored,
        })
    }

    /// [`ChainState::accept_headers`] for a peer whose low-work chain is held in
    /// `pending`: a batch may continue the held chain (its first header's parent is the
    /// last held one). A chain that reaches the threshold is stored whole, held headers
    /// first, and `pending` is emptied; a chain still short of it is held, up to
    /// [`MAX_PENDING_HEADERS`]. A batch that connects to the index starts over from
    /// there (what was held is dropped). Any error drops what was held.
    ///
    /// # Errors
    /// As [`ChainState::accept_headers`], and [`ChainError::PendingFull`] when the held
    /// chain would pass [`MAX_PENDING_HEADERS`] without reaching the threshold.
    pub fn accept_peer_headers(
        &mut self,
        pending: &mut PendingHeaders,
        headers: &[Header],
        now: u64,
    ) -> Result<HeadersOutcome, ChainError> {
        let result = self.accept_into(pending, headers, now);
        if result.is_err() {
            pending.clear();
        }
        result
    }

    fn accept_into(
        &mut self,
        pending: &mut PendingHeaders,
        headers: &[Header],
        now: u64,
    ) -> Result<HeadersOutcome, ChainError> {
        self.usable()?;
        if headers.len() > MAX_HEADERS_RESULTS {
            return Err(ChainError::TooManyHeaders {
                count: headers.len(),
                max: MAX_HEADERS_RESULTS,
            });
        }
        let Some(first) = headers.first() else {
            return Ok(HeadersOutcome::Stored { new: 0, last: None });
        };
        let mut hashes: Vec<BlockHash> = headers.iter().map(Header::hash).collect();
        // A header that does not follow the one before it ends the batch; the headers
        // before it are checked first, so the first bad header is the one reported.
        let gap = (1..headers.len()).find_map(|i| {
            let (child, parent_hash, hash) = (headers.get(i)?, hashes.get(i - 1)?, hashes.get(i)?);
            (child.prev != *parent_hash).then_some(ChainError::UnconnectedHeader {
                index: i,
                hash: *hash,
                prev: child.prev,
            })
        });
        let headers = match &gap {
            Some(ChainError::UnconnectedHeader { index, .. }) => {
                hashes.truncate(*index);
                headers.get(..*index).unwrap_or_default()
            }
            _ => headers,
        };
        // Where the batch connects: the index, or the end of the held chain.
        let continues = pending.last_hash() == Some(first.prev);
        let (mut base_hash, held): (BlockHash, &[Header]) = if continues {
            (pending.anchor, &pending.headers)
        } else if self.index.contains_key(&first.prev) {
            pending.clear();
            (first.prev, &[])
        } else {
            return Err(ChainError::UnconnectedHeader {
                index: 0,
                hash: hashes.first().copied().unwrap_or_default(),
                prev: first.prev,
            });
        };
        let mut base = *self
            .index
            .get(&base_hash)
            .ok_or(ChainError::UnknownBlock { hash: base_hash })?;
        if base.status.is_failed() {
            return Err(ChainError::InvalidAncestor {
                hash: hashes.first().copied().unwrap_or_default(),
            });
        }
        // Headers already indexed (a prefix, since an unknown header has no indexed
        // child) move the base up.
        let mut skip = 0;
        if held.is_empty() {
            while let Some(e) = hashes.get(skip).and_then(|h| self.index.get(h)) {
                let hash = hashes.get(skip).copied().unwrap_or_default();
                if e.status.is_failed() {
                    return Err(ChainError::KnownInvalid { hash });
                }
                base = *e;
                base_hash = hash;
                skip += 1;
            }
        }
        let new = headers.get(skip..).unwrap_or_default();
        let new_hashes = hashes.get(skip..).unwrap_or_default();
        let Some(last_hash) = new_hashes.last().copied() else {
            if let Some(e) = gap {
                return Err(e);
            }
            return Ok(HeadersOutcome::Stored {
                new: 0,
                last: Some((base.height, base_hash)),
            });
        };
        let overlay = Overlay {
            state: self,
            base_hash,
            base,
            parts: [held, new],
        };
        let mut work = if held.is_empty() {
            base.chainwork
        } else {
            pending.work
        };
        let mut works = Vec::with_capacity(new.len());
        for (i, (header, hash)) in new.iter().zip(new_hashes).enumerate() {
            let bad = |source| ChainError::BadHeader {
                index: skip + i,
                hash: *hash,
                source: Box::new(source),
            };
            check_header_pow(header, &self.params).map_err(bad)?;
            let ctx = overlay
                .context(held.len() + i, now)
                .ok_or(ChainError::HeightExhausted)?;
            check_header_context(header, &ctx, &self.params).map_err(bad)?;
            let proof = Target::from_compact(header.bits)
                .map_err(|e| bad(BlockError::BadBits(e)))?
                .work();
            work = work.checked_add(&proof).unwrap_or(U256::MAX);
            works.push(work);
        }
        if let Some(e) = gap {
            return Err(e);
        }
        let last_height = Height(
            base.height
                .0
                .saturating_add(u32::try_from(held.len() + new.len()).unwrap_or(u32::MAX)),
        );
        let threshold = self.anti_dos_threshold();
        if work < threshold {
            let total = held.len() + new.len();
            if total > MAX_PENDING_HEADERS {
                return Err(ChainError::PendingFull {
                    max: MAX_PENDING_HEADERS,
                });
            }
            if !continues {
                pending.anchor = base_hash;
            }
            pending.headers.extend_from_slice(new);
            pending.last = last_hash;
            pending.work = work;
            return Ok(HeadersOutcome::LowWork {
                last: (last_height, last_hash),
                work,
                threshold,
                held: pending.len(),
            });
        }
        // Enough work: the held headers, then the batch's, in one batch.
        let mut entries = Vec::with_capacity(held.len() + new.len());
        let mut parent = base;
        let mut parent_hash = base_hash;
        for header in held {
            let proof = Target::from_compact(header.bits).map_or(U256::ZERO, |t| t.work());
            let entry = header_entry(header, &parent, proof);
            let hash = header.hash();
            entries.push((parent_hash, hash, entry));
            parent = entry;
            parent_hash = hash;
        }
        for ((header, hash), chainwork) in new.iter().zip(new_hashes).zip(&works) {
            let mut entry = header_entry(header, &parent, U256::ZERO);
            entry.chainwork = *chainwork;
            entries.push((parent_hash, *hash, entry));
            parent = entry;
            parent_hash = *hash;
        }
        let mut batch = sled::Batch::default();
        for (_, hash, entry) in &entries {
            batch.insert(hash_key(P_INDEX, hash), encode_to_vec(entry));
        }
        self.commit(batch)?;
        let stored = entries.len();
        for (_, hash, entry) in entries {
            self.index.insert(hash, entry);
        }
        pending.clear();
        self.consider_best_header(&last_hash);
        Ok(HeadersOutcome::Stored {
            new: stored,
            last: Some((last_height, last_hash)),
        })
    }

    /// Height and hash of the best header: the valid header with the most work (the
    /// first seen among equals), with or without data.
    pub fn best_header(&self) -> (Height, BlockHash) {
        let chain = self.tree.best_chain();
        let height = chain.len().saturating_sub(1);
        (
            Height(u32::try_from(height).unwrap_or(u32::MAX)),
            chain.last().copied().unwrap_or_default(),
        )
    }

    /// The block locator of the active tip (Core's `LocatorEntries`): the tip and the
    /// ten blocks below it, then steps doubling back, genesis last.
    pub fn locator(&self) -> Vec<BlockHash> {
        let (_, tip) = self.tip();
        self.locator_from(&tip).unwrap_or_default()
    }

    /// The block locator of any indexed header (the best header's, while syncing).
    pub fn locator_from(&self, hash: &BlockHash) -> Option<Vec<BlockHash>> {
        let entry = self.index.get(hash)?;
        let mut out = Vec::with_capacity(32);
        let mut height = entry.height.0;
        let mut current = *hash;
        let mut step = 1u32;
        loop {
            out.push(current);
            if height == 0 {
                break;
            }
            height = height.saturating_sub(step);
            current = self.ancestor_hash(&current, Height(height))?;
            if out.len() > 10 {
                step = step.saturating_mul(2);
            }
        }
        Some(out)
    }

    /// The answer to `getheaders` (Core's): up to `max` (at most
    /// [`MAX_HEADERS_RESULTS`]) headers of the active chain after the first locator hash
    /// found on it (a known header whose chain passes through the tip counts as the
    /// tip; none found means genesis), ending early after `stop`. An empty locator asks
    /// for `stop` alone, answered if it is on the active chain.
    ///
    /// # Errors
    /// [`ChainError::LocatorTooLong`] past [`MAX_LOCATOR_HASHES`].
    pub fn headers_after(
        &self,
        locator: &[BlockHash],
        stop: Option<&BlockHash>,
        max: usize,
    ) -> Result<Vec<Header>, ChainError> {
        if locator.len() > MAX_LOCATOR_HASHES {
            return Err(ChainError::LocatorTooLong {
                length: locator.len(),
                max: MAX_LOCATOR_HASHES,
            });
        }
        let max = max.min(MAX_HEADERS_RESULTS);
        if locator.is_empty() {
            return Ok(stop
                .filter(|h| max > 0 && self.is_active(h))
                .and_then(|h| self.index.get(h))
                .map(|e| vec![e.header])
                .unwrap_or_default());
        }
        let (tip_height, tip) = self.tip();
        let fork = locator
            .iter()
            .find_map(|h| {
                let e = self.index.get(h)?;
                if self.hash_at(e.height) == Some(*h) {
                    Some(e.height)
                } else if self.ancestor_hash(h, tip_height) == Some(tip) {
                    Some(tip_height)
                } else {
                    None
                }
            })
            .unwrap_or(Height(0));
        let mut out = Vec::new();
        let first = fork.0 as usize + 1;
        for hash in self.active.iter().skip(first).take(max) {
            let Some(e) = self.index.get(hash) else {
                break;
            };
            out.push(e.header);
            if stop == Some(hash) {
                break;
            }
        }
        Ok(out)
    }

    /// The blocks to download next: the hashes on the best-header chain without data,
    /// in height order, among the `window` heights after the last block the best-header
    /// chain shares with the active chain (Core's `BLOCK_DOWNLOAD_WINDOW`, 1,024 there).
    /// Blocks that arrive out of order are stored and connected in order once their
    /// parents are.
    pub fn blocks_to_download(&self, window: usize) -> Vec<BlockHash> {
        let best = self.tree.best_chain();
        // Equal at a height means equal below it: the shared prefix is found by halving.
        let (mut common, mut unequal) = (0, best.len().min(self.active.len()));
        while common < unequal {
            let mid = common + (unequal - common) / 2;
            if best.get(mid) == self.active.get(mid) {
                common = mid + 1;
            } else {
                unequal = mid;
            }
        }
        best.iter()
            .skip(common)
            .take(window)
            .filter(|h| self.index.get(h).is_some_and(|e| !e.status.has_data()))
            .copied()
            .collect()
    }
}

/// The index entry of a valid header without data on `parent`.
fn header_entry(header: &Header, parent: &IndexEntry, proof: U256) -> IndexEntry {
    IndexEntry {
        header: *header,
        height: Height(parent.height.0.saturating_add(1)),
        chainwork: parent.chainwork.checked_add(&proof).unwrap_or(U256::MAX),
        status: BlockStatus::valid(Validity::Header),
        sequence: 0,
    }
}
