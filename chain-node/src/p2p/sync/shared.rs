//! What the sync task shares with the handle for RPC: a mirror of per-peer figures
//! (`getpeerinfo`) and of the bans it heard of (`listbanned`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use gossip::PeerId;

/// What RPC reads of a peer, mirrored by the sync task.
#[derive(Clone, Debug, Default)]
pub(in crate::p2p) struct PeerStats {
    /// The node's own number for the peer (Core's `id`).
    pub(in crate::p2p) id: u64,
    /// Height of the last header it sent that we stored (-1: none).
    pub(in crate::p2p) synced_headers: i64,
    /// Height of the last block it sent us (-1: none).
    pub(in crate::p2p) synced_blocks: i64,
    /// Heights of the blocks asked of it now.
    pub(in crate::p2p) inflight: Vec<u32>,
}

/// Bans remembered for `listbanned` (the gossip layer enforces them; this is a mirror).
pub const MAX_BAN_RECORDS: usize = 256;

/// A ban, as `listbanned` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BanRecord {
    /// The banned peer.
    pub peer: PeerId,
    /// When (Unix seconds).
    pub created: u64,
    /// Until when (Unix seconds).
    pub until: u64,
    /// Why, in words.
    pub reason: String,
}

/// State shared with the handle (for RPC).
#[derive(Debug, Default)]
pub(in crate::p2p) struct Shared {
    peers: Mutex<HashMap<PeerId, PeerStats>>,
    bans: Mutex<VecDeque<BanRecord>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every value behind these locks is consistent between two statements.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(in crate::p2p) fn peers(&self) -> MutexGuard<'_, HashMap<PeerId, PeerStats>> {
        lock(&self.peers)
    }

    /// The bans in force at `now`, oldest first.
    pub(in crate::p2p) fn bans(&self, now: u64) -> Vec<BanRecord> {
        let mut bans = lock(&self.bans);
        bans.retain(|b| b.until > now);
        bans.iter().cloned().collect()
    }

    pub(super) fn record_ban(&self, record: BanRecord) {
        let mut bans = lock(&self.bans);
        bans.retain(|b| b.peer != record.peer);
        if bans.len() >= MAX_BAN_RECORDS {
            bans.pop_front();
        }
        bans.push_back(record);
    }
}
