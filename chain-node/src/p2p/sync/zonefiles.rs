//! Zone-file replication by pull (ADR 0036): the sync task keeps a bounded queue of the
//! zone-file hashes that name records of the active tip hold and this node lacks, and
//! asks its ready peers for them with `GetZoneFiles`, at most one request per peer at a
//! time. Each answered file's SHA-256 must be one asked for: a file that is not is
//! proof of a lying peer (`Fatal`). A hash that a peer did not answer is asked of the
//! other peers; once every peer was asked, or [`MAX_ZONE_FILE_TRIES`] were, it is given
//! up for [`ZONE_FILE_RETRY`] and queued again after that when still missing. The
//! queue is filled from the name operations of each connected block and, a page per
//! tick, from a scan of all the tip's zone-file references (files missing since
//! before the node started, or whose peers came later).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use gossip::{PeerId, Severity};
use naming::ZoneFileHash;

use super::{Done, Sync, blocking};
use crate::error::ZoneFileError;
use crate::hash::BlockHash;
use crate::p2p::wire::{MAX_GET_ZONE_FILES, SyncRequest, SyncResponse};
use crate::zonefile::zone_file_hash;

/// Most missing zone-file hashes queued (and most held as given up).
pub const MAX_MISSING_ZONE_FILES: usize = 1024;
/// Peers asked for one hash before it is given up.
pub const MAX_ZONE_FILE_TRIES: usize = 8;
/// Time for a peer to answer a `GetZoneFiles`.
pub const ZONE_FILES_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a given-up hash waits before it is queued again, by default
/// ([`crate::p2p::P2pConfig::zone_file_retry`]).
pub const ZONE_FILE_RETRY: Duration = Duration::from_secs(30);
/// Name records read per scan of the references for missing files.
const SCAN_PAGE: usize = 256;

/// One missing hash.
#[derive(Default)]
struct Missing {
    /// Peers asked for it (those that did not have it, or failed).
    asked: HashSet<PeerId>,
    /// It is in a request now.
    in_flight: bool,
}

/// The fetcher's state.
pub(super) struct ZoneFetch {
    /// How long a given-up hash waits.
    retry: Duration,
    /// Missing hashes in the order found.
    queue: VecDeque<ZoneFileHash>,
    missing: HashMap<ZoneFileHash, Missing>,
    /// Given-up hashes and when.
    given_up: HashMap<ZoneFileHash, Instant>,
    /// Peers with a request in flight.
    busy: HashSet<PeerId>,
    /// Where the next scan of references starts.
    cursor: Option<ZoneFileHash>,
}

impl Default for ZoneFetch {
    fn default() -> Self {
        ZoneFetch {
            retry: ZONE_FILE_RETRY,
            queue: VecDeque::new(),
            missing: HashMap::new(),
            given_up: HashMap::new(),
            busy: HashSet::new(),
            cursor: None,
        }
    }
}

impl ZoneFetch {
    fn room(&self) -> usize {
        MAX_MISSING_ZONE_FILES.saturating_sub(self.queue.len())
    }

    fn wanted(&self, hash: &ZoneFileHash) -> bool {
        !self.missing.contains_key(hash)
            && self
                .given_up
                .get(hash)
                .is_none_or(|t| t.elapsed() >= self.retry)
    }

    fn enqueue(&mut self, hash: ZoneFileHash) {
        if self.room() > 0 && self.wanted(&hash) {
            self.given_up.remove(&hash);
            self.queue.push_back(hash);
            self.missing.insert(hash, Missing::default());
        }
    }

    fn forget(&mut self, hash: &ZoneFileHash) {
        self.missing.remove(hash);
        self.queue.retain(|h| h != hash);
    }

    fn give_up(&mut self, hash: ZoneFileHash) {
        self.forget(&hash);
        if self.given_up.len() >= MAX_MISSING_ZONE_FILES
            && let Some(oldest) = self
                .given_up
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(h, _)| *h)
        {
            self.given_up.remove(&oldest);
        }
        self.given_up.insert(hash, Instant::now());
    }
}

impl Sync {
    /// Sets how long a zone file no peer had waits before it is asked for again.
    pub(in crate::p2p) fn set_zone_file_retry(&mut self, retry: Duration) {
        self.zone.retry = retry;
    }

    /// Queues the zone files that the name operations of the connected `blocks` set and
    /// that this node lacks, if name records of the tip still hold them. Skipped in
    /// initial block download (no block is read again): the scan of references finds
    /// them.
    pub(super) async fn zone_files_of_blocks(&mut self, blocks: Vec<BlockHash>) {
        if blocks.is_empty()
            || self.zone.room() == 0
            || self.progress.borrow().initial_block_download
        {
            return;
        }
        let node = self.node.clone();
        let found = blocking(move || {
            node.read(move |v| {
                let chain = v.chain();
                let mut out = Vec::new();
                for hash in &blocks {
                    let Ok(Some(block)) = chain.block(hash) else {
                        continue;
                    };
                    for tx in &block.txs {
                        if let Some(z) = crate::zonefile::pending_hash(tx)
                            && matches!(chain.zone_file_referenced(&z), Ok(true))
                            && matches!(chain.has_zone_file(&z), Ok(false))
                        {
                            out.push(z);
                        }
                    }
                }
                out
            })
            .ok()
        })
        .await
        .flatten()
        .unwrap_or_default();
        for hash in found {
            self.zone.enqueue(hash);
        }
        self.request_zone_files().await;
    }

    /// Reads one page of the tip's zone-file references and queues those missing.
    async fn scan_zone_references(&mut self) {
        if self.zone.room() == 0 || self.peers.is_empty() {
            return;
        }
        let node = self.node.clone();
        let cursor = self.zone.cursor;
        let Some(Some((page, missing))) = blocking(move || {
            node.read(move |v| {
                let chain = v.chain();
                let page = chain
                    .zone_file_references(cursor.as_ref(), SCAN_PAGE)
                    .unwrap_or_default();
                let missing: Vec<ZoneFileHash> = page
                    .iter()
                    .filter(|h| matches!(chain.has_zone_file(h), Ok(false)))
                    .copied()
                    .collect();
                (page, missing)
            })
            .ok()
        })
        .await
        else {
            return;
        };
        // A short page ends the references: the next scan starts again from the first.
        self.zone.cursor = if page.len() < SCAN_PAGE {
            None
        } else {
            page.last().copied()
        };
        for hash in missing {
            self.zone.enqueue(hash);
        }
    }

    /// On the task's tick: scans for missing files and asks idle peers for them.
    pub(super) async fn zone_files_tick(&mut self) {
        self.scan_zone_references().await;
        self.request_zone_files().await;
    }

    /// Asks each idle peer for up to [`MAX_GET_ZONE_FILES`] missing files it was not
    /// asked for yet; gives up hashes that every peer was asked for.
    pub(super) async fn request_zone_files(&mut self) {
        let peers: Vec<PeerId> = self.peers.keys().copied().collect();
        let exhausted: Vec<ZoneFileHash> = self
            .zone
            .queue
            .iter()
            .filter(|h| {
                self.zone.missing.get(h).is_some_and(|m| {
                    !m.in_flight
                        && (m.asked.len() >= MAX_ZONE_FILE_TRIES
                            || peers.iter().all(|p| m.asked.contains(p)))
                })
            })
            .copied()
            .collect();
        if !peers.is_empty() {
            for hash in exhausted {
                self.zone.give_up(hash);
            }
        }
        for peer in peers {
            if self.zone.busy.contains(&peer) {
                continue;
            }
            let mut hashes = Vec::new();
            for hash in &self.zone.queue {
                if hashes.len() == MAX_GET_ZONE_FILES {
                    break;
                }
                if let Some(m) = self.zone.missing.get_mut(hash)
                    && !m.in_flight
                    && !m.asked.contains(&peer)
                {
                    m.in_flight = true;
                    m.asked.insert(peer);
                    hashes.push(*hash);
                }
            }
            if hashes.is_empty() {
                continue;
            }
            self.zone.busy.insert(peer);
            let net = self.net.clone();
            self.tasks.spawn(async move {
                let request = SyncRequest::GetZoneFiles(hashes.clone());
                let result = tokio::time::timeout(ZONE_FILES_TIMEOUT, net.request(peer, request))
                    .await
                    .ok();
                Done::ZoneFiles {
                    peer,
                    hashes,
                    result,
                }
            });
        }
    }

    /// A peer's answer to `GetZoneFiles`: files whose hash was asked are stored; one
    /// whose hash was not gets the peer banned and the whole answer dropped.
    pub(super) async fn on_zone_files(
        &mut self,
        peer: PeerId,
        hashes: Vec<ZoneFileHash>,
        result: Option<Result<SyncResponse, gossip::RequestError>>,
    ) {
        self.zone.busy.remove(&peer);
        for hash in &hashes {
            if let Some(m) = self.zone.missing.get_mut(hash) {
                m.in_flight = false;
            }
        }
        let files = match result {
            Some(Ok(SyncResponse::ZoneFiles(files))) => files,
            Some(Ok(_)) => {
                let reason = "answered getzonefiles with another response".to_owned();
                self.report(peer, Severity::Serious, reason).await;
                return;
            }
            Some(Err(_)) => return,
            None => {
                let reason = "getzonefiles timed out".to_owned();
                self.report(peer, Severity::Minor, reason).await;
                return;
            }
        };
        let asked: HashSet<ZoneFileHash> = hashes.iter().copied().collect();
        let mut sent = Vec::with_capacity(files.len());
        for file in files {
            let hash = zone_file_hash(&file);
            if !asked.contains(&hash) {
                let reason = format!(
                    "sent zone file {} that was not asked for",
                    hex::encode(hash.as_bytes())
                );
                self.report(peer, Severity::Fatal, reason).await;
                return;
            }
            sent.push((hash, file));
        }
        for (hash, file) in sent {
            let node = self.node.clone();
            // Stored, or no longer referenced (a reorg took its name record away).
            if let Some(Ok(_) | Err(ZoneFileError::Unreferenced { .. })) =
                blocking(move || node.put_zone_file(file)).await
            {
                self.zone.forget(&hash);
            }
        }
        self.request_zone_files().await;
    }

    /// A peer left: its request, if any, is over.
    pub(super) fn forget_zone_peer(&mut self, peer: &PeerId) {
        self.zone.busy.remove(peer);
    }
}

/// The answer to `GetZoneFiles`: the files asked for that this node has, in order.
pub(super) fn answer(chain: &crate::chain::ChainState, hashes: &[ZoneFileHash]) -> SyncResponse {
    SyncResponse::ZoneFiles(
        hashes
            .iter()
            .take(MAX_GET_ZONE_FILES)
            .filter_map(|h| chain.zone_file(h).ok().flatten())
            .filter(|f| f.len() <= crate::zonefile::MAX_ZONE_FILE_BYTES)
            .collect(),
    )
}
