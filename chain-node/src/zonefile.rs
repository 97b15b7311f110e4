//! Zone files: the bytes whose SHA-256 a name record holds, kept beside the chain and
//! replicated between nodes (ADR 0036, docs/storage.md "Zone files").
//!
//! A file is stored under `z` ‖ SHA-256(file) only when a name record of the active
//! tip, or a name operation in the mempool, references that hash; the name index keeps
//! those references as `Z` ‖ hash ‖ name (derived from the blocks, in the same batch as
//! the name records, see `crate::index::names`). Files are not derived from blocks, so
//! a reindex keeps them. A file is at most [`MAX_ZONE_FILE_BYTES`] bytes. This module
//! is sled-free: the chain state reads and writes the `z` records
//! (`ChainState::zone_file`), `Node::put_zone_file` decides what is stored.

use std::collections::{HashMap, HashSet};

use naming::{NameRecord, Operation, SignedOperation, ZoneFileHash};
use sha2::{Digest, Sha256};

use crate::error::ChainError;
use crate::index::{IndexRead, Writes};
use crate::mempool::Mempool;
use crate::transaction::{OutputKind, Transaction};
use crate::units::Height;

/// Largest zone file a node stores, serves or accepts, in bytes. Blockstack allowed
/// 40 KiB; a zone file names a few records (addresses, keys, URLs), and 4 KiB holds
/// dozens of them while a full answer of [`crate::p2p::MAX_GET_ZONE_FILES`] files stays
/// small.
pub const MAX_ZONE_FILE_BYTES: usize = 4096;

/// Prefix of stored zone files: `z` ‖ SHA-256 of the file → the file.
pub(crate) const P_ZONE_FILE: u8 = b'z';
/// Prefix of zone-file references, part of the name index: `Z` ‖ hash ‖ name → empty.
pub(crate) const P_ZONE_REF: u8 = b'Z';

/// The hash a name record holds for `file`: its SHA-256.
pub fn zone_file_hash(file: &[u8]) -> ZoneFileHash {
    ZoneFileHash(Sha256::digest(file).into())
}

/// The key of the stored file with `hash`.
pub(crate) fn file_key(hash: &ZoneFileHash) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(P_ZONE_FILE);
    k.extend_from_slice(hash.as_bytes());
    k
}

fn ref_prefix(hash: &ZoneFileHash) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(P_ZONE_REF);
    k.extend_from_slice(hash.as_bytes());
    k
}

/// The reference writes of a name record changing from `before` to `after`, the record
/// stored at `name_key` (its prefix byte, then the name).
pub(crate) fn reference_writes(
    name_key: &[u8],
    before: Option<&NameRecord>,
    after: Option<&NameRecord>,
) -> Writes {
    let name = name_key.get(1..).unwrap_or_default();
    let key = |hash: &ZoneFileHash| {
        let mut k = ref_prefix(hash);
        k.extend_from_slice(name);
        k
    };
    let old = before.and_then(|r| r.zone_file);
    let new = after.and_then(|r| r.zone_file);
    if old == new {
        return Vec::new();
    }
    let mut writes = Vec::new();
    if let Some(h) = old {
        writes.push((key(&h), None));
    }
    if let Some(h) = new {
        writes.push((key(&h), Some(Vec::new())));
    }
    writes
}

/// Whether a name record of the state in `store` references `hash`.
///
/// # Errors
/// Storage errors.
pub(crate) fn referenced(store: &dyn IndexRead, hash: &ZoneFileHash) -> Result<bool, ChainError> {
    Ok(!store.scan(&ref_prefix(hash), None, 1)?.is_empty())
}

/// A key after every reference key of `hash` (names are shorter than 64 bytes, none
/// of them `0xff`) and before those of the next hash.
fn past_names(hash: &ZoneFileHash) -> Vec<u8> {
    let mut k = ref_prefix(hash);
    k.extend_from_slice(&[0xff; 64]);
    k
}

/// The zone-file hashes referenced by name records of `store`, in hash order, at most
/// `limit`, after `after` when given.
///
/// # Errors
/// Storage errors.
pub(crate) fn references(
    store: &dyn IndexRead,
    after: Option<&ZoneFileHash>,
    limit: usize,
) -> Result<Vec<ZoneFileHash>, ChainError> {
    let mut out: Vec<ZoneFileHash> = Vec::new();
    let mut from = after.map(past_names);
    while out.len() < limit {
        let page = store.scan(&[P_ZONE_REF], from.as_deref(), 1)?;
        let Some((key, _)) = page.into_iter().next() else {
            break;
        };
        let Some(hash) = key.get(1..33).and_then(|h| <[u8; 32]>::try_from(h).ok()) else {
            break;
        };
        let hash = ZoneFileHash(hash);
        out.push(hash);
        from = Some(past_names(&hash));
    }
    Ok(out)
}

/// The zone-file hash a name operation of `tx` sets, if any (a register with a zone
/// file, an update).
pub(crate) fn pending_hash(tx: &Transaction) -> Option<ZoneFileHash> {
    tx.outputs.iter().find_map(|out| match &out.kind {
        OutputKind::Burn(data) if naming::is_naming_payload(data) => {
            match SignedOperation::decode(data).ok()?.op {
                Operation::NameRegister { zone_file, .. } => zone_file,
                Operation::NameUpdate { zone_file, .. } => Some(zone_file),
                _ => None,
            }
        }
        _ => None,
    })
}

/// The zone-file hashes that name operations in `mempool` set.
pub(crate) fn pending_hashes(mempool: &Mempool) -> HashSet<ZoneFileHash> {
    mempool
        .txids()
        .iter()
        .filter_map(|txid| mempool.get(txid).and_then(|e| pending_hash(&e.tx)))
        .collect()
}

/// Blocks a stored zone file stays after the sweep first finds it unreferenced (by the
/// tip's name records and by the mempool's name operations) before it is removed: a
/// week of 10-minute blocks, so that only a reorganisation deeper than that can bring
/// back a reference to a removed file (which peers are then asked for again); 10 on
/// regtest, so that the removal can be seen on a local network.
pub fn default_grace(network: crate::params::Network) -> u32 {
    match network {
        crate::params::Network::Regtest => 10,
        crate::params::Network::Testnet => 1_008,
    }
}

/// Zone files looked at by one sweep step.
pub const SWEEP_PAGE: usize = 64;

/// The removal of stored zone files that nothing references any more (ADR 0036): each
/// step looks at the next [`SWEEP_PAGE`] stored files in hash order (wrapping around),
/// remembers since which height each unreferenced one has been seen so, forgets those
/// referenced again, and names for removal those unreferenced for the grace period.
/// What it remembers is bounded by the stored files; a restart forgets it, which only
/// delays removals.
#[derive(Debug, Default)]
pub(crate) struct Sweep {
    /// The last file looked at; the next step starts after it.
    after: Option<ZoneFileHash>,
    unreferenced_since: HashMap<ZoneFileHash, Height>,
}

impl Sweep {
    /// Where the next step starts.
    pub(crate) fn start(&self) -> Option<&ZoneFileHash> {
        self.after.as_ref()
    }

    /// Records that the step looked at `page` (the stored files after [`Sweep::start`]);
    /// the next step starts after its last file, or from the first file when it was
    /// short.
    pub(crate) fn advance(&mut self, page: &[ZoneFileHash]) {
        self.after = if page.len() < SWEEP_PAGE {
            None
        } else {
            page.last().copied()
        };
    }

    /// Records whether the stored file `hash` is in use at tip height `height`;
    /// returns whether to remove it: unused and first seen unused at least `grace`
    /// blocks below `height`.
    pub(crate) fn observe(
        &mut self,
        hash: ZoneFileHash,
        in_use: bool,
        height: Height,
        grace: u32,
    ) -> bool {
        if in_use {
            self.unreferenced_since.remove(&hash);
            return false;
        }
        let since = *self.unreferenced_since.entry(hash).or_insert(height);
        if height.0 >= since.0.saturating_add(grace) {
            self.unreferenced_since.remove(&hash);
            return true;
        }
        false
    }
}

/// Whether a name operation of a transaction in `mempool` sets `hash`.
pub(crate) fn pending(mempool: &Mempool, hash: &ZoneFileHash) -> bool {
    mempool.txids().iter().any(|txid| {
        mempool
            .get(txid)
            .and_then(|e| pending_hash(&e.tx))
            .is_some_and(|h| &h == hash)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_removed_only_after_the_grace_unused_and_a_use_starts_it_again() {
        let (a, b) = (ZoneFileHash([1; 32]), ZoneFileHash([2; 32]));
        let mut sweep = Sweep::default();
        // First seen unused at 100: kept until 110 with a grace of 10.
        assert!(!sweep.observe(a, false, Height(100), 10));
        assert!(!sweep.observe(a, false, Height(109), 10));
        // Used again (a reorganisation brought a reference back): forgotten.
        assert!(!sweep.observe(a, true, Height(109), 10));
        assert!(!sweep.observe(a, false, Height(110), 10));
        assert!(!sweep.observe(a, false, Height(119), 10));
        assert!(sweep.observe(a, false, Height(120), 10));
        // Another file has its own clock; a tip that went down removes nothing.
        assert!(!sweep.observe(b, false, Height(50), 10));
        assert!(!sweep.observe(b, false, Height(40), 10));
        assert!(sweep.observe(b, false, Height(60), 10));
        assert!(sweep.unreferenced_since.is_empty());
    }

    #[test]
    fn a_short_page_wraps_the_sweep_around() {
        let mut sweep = Sweep::default();
        let full: Vec<ZoneFileHash> = (0..SWEEP_PAGE as u8)
            .map(|i| ZoneFileHash([i; 32]))
            .collect();
        sweep.advance(&full);
        assert_eq!(sweep.start(), full.last());
        sweep.advance(&full[..3]);
        assert_eq!(sweep.start(), None);
    }

    #[test]
    fn the_hash_is_sha256_of_the_bytes() {
        // FIPS 180-2 example: SHA-256("abc").
        assert_eq!(
            hex::encode(zone_file_hash(b"abc").as_bytes()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
