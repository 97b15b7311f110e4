//! Block download: the window's blocks planned over the peers that have them, at most
//! `MAX_BLOCKS_IN_FLIGHT_PER_PEER` per peer in requests with deadlines, and the
//! answers submitted to the node as they arrive.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use gossip::{PeerId, Severity};

use super::{BLOCKS_TIMEOUT, Done, MAX_BLOCKS_IN_FLIGHT_PER_PEER, STALL_BACKOFF, Sync, blocking};
use crate::block::Block;
use crate::error::ChainError;
use crate::hash::BlockHash;
use crate::p2p::wire::{MAX_GET_BLOCKS, SyncRequest, SyncResponse};
use crate::units::Height;

impl Sync {
    /// Asks peers for the blocks of the download window that nobody is fetching: each
    /// from a peer whose best known block descends from it, at most
    /// [`MAX_BLOCKS_IN_FLIGHT_PER_PEER`] per peer, in requests of at most
    /// [`MAX_GET_BLOCKS`].
    pub(super) async fn schedule(&mut self) {
        let now = Instant::now();
        let able: Vec<(PeerId, BlockHash, bool)> = self
            .peers
            .iter()
            .filter(|(_, p)| p.blocks_in_flight < MAX_BLOCKS_IN_FLIGHT_PER_PEER)
            .filter(|(_, p)| p.stalled_until.is_none_or(|t| t <= now))
            .filter_map(|(id, p)| {
                let paced = p.next_block_request.is_some_and(|t| t > now);
                Some((*id, p.best_known?, paced))
            })
            .collect();
        let candidates: Vec<(PeerId, BlockHash)> = able
            .iter()
            .filter(|(_, _, paced)| !paced)
            .map(|(id, best, _)| (*id, *best))
            .collect();
        if candidates.is_empty() {
            if able.iter().any(|(_, _, paced)| *paced) {
                self.arm_wake();
            }
            return;
        }
        // Heights past those in flight that the free slots can take: the rest of the
        // window would only be read to be left for later.
        let free: usize = self
            .peers
            .values()
            .map(|p| MAX_BLOCKS_IN_FLIGHT_PER_PEER.saturating_sub(p.blocks_in_flight))
            .sum();
        let window = self
            .window
            .min(self.in_flight.len() + free + MAX_BLOCKS_IN_FLIGHT_PER_PEER);
        let node = self.node.clone();
        let plan = blocking(move || {
            node.read(move |v| {
                let chain = v.chain();
                chain
                    .blocks_to_download(window)
                    .into_iter()
                    .filter_map(|hash| {
                        let height = chain.entry(&hash)?.height;
                        let holders: Vec<PeerId> = candidates
                            .iter()
                            .filter(|(_, best)| chain.ancestor_hash(best, height) == Some(hash))
                            .map(|(peer, _)| *peer)
                            .collect();
                        Some((hash, height, holders))
                    })
                    .collect::<Vec<_>>()
            })
            .ok()
        })
        .await
        .flatten()
        .unwrap_or_default();
        let had_work = !plan.is_empty();
        let mut batches: HashMap<PeerId, Vec<(BlockHash, Height)>> = HashMap::new();
        for (hash, height, holders) in plan {
            if self.in_flight.contains_key(&hash) {
                continue;
            }
            let load = |peer: &PeerId, batches: &HashMap<PeerId, Vec<(BlockHash, Height)>>| {
                self.peers
                    .get(peer)
                    .map_or(usize::MAX, |p| p.blocks_in_flight)
                    + batches.get(peer).map_or(0, Vec::len)
            };
            let choice = holders
                .iter()
                .filter(|peer| {
                    self.peers
                        .get(peer)
                        .is_some_and(|p| !p.lacks.contains(&hash))
                })
                .filter(|peer| load(peer, &batches) < MAX_BLOCKS_IN_FLIGHT_PER_PEER)
                .min_by_key(|peer| load(peer, &batches))
                .copied();
            match choice {
                Some(peer) => batches.entry(peer).or_default().push((hash, height)),
                None => {
                    // Every holder failed to deliver it: let them be asked again later.
                    if holders
                        .iter()
                        .all(|peer| self.peers.get(peer).is_none_or(|p| p.lacks.contains(&hash)))
                    {
                        for peer in &holders {
                            if let Some(p) = self.peers.get_mut(peer) {
                                p.lacks.remove(&hash);
                            }
                        }
                    }
                }
            }
        }
        // One request per peer and pass: the pace holds the rest for the next pass.
        for (peer, blocks) in batches {
            if let Some(chunk) = blocks.chunks(MAX_GET_BLOCKS).next() {
                self.request_blocks(peer, chunk);
            }
        }
        if had_work {
            self.arm_wake();
        }
        self.publish_stats();
    }

    /// Schedules again once a paced peer may be asked (one wake-up at a time).
    fn arm_wake(&mut self) {
        if self.wake_armed {
            return;
        }
        self.wake_armed = true;
        let pace = self.block_request_interval;
        self.tasks.spawn(async move {
            tokio::time::sleep(pace).await;
            Done::Wake
        });
    }

    fn request_blocks(&mut self, peer: PeerId, blocks: &[(BlockHash, Height)]) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.blocks_in_flight += blocks.len();
        let now = Instant::now();
        p.next_block_request = Some(now + self.block_request_interval);
        for (hash, height) in blocks {
            self.in_flight.insert(*hash, (peer, *height, now));
        }
        let hashes: Vec<BlockHash> = blocks.iter().map(|(h, _)| *h).collect();
        let net = self.net.clone();
        self.tasks.spawn(async move {
            let request = SyncRequest::GetBlocks(hashes.clone());
            let result = tokio::time::timeout(BLOCKS_TIMEOUT, net.request(peer, request))
                .await
                .ok();
            Done::Blocks {
                peer,
                hashes,
                result,
            }
        });
    }

    pub(super) async fn on_blocks(
        &mut self,
        peer: PeerId,
        hashes: Vec<BlockHash>,
        result: Option<Result<SyncResponse, gossip::RequestError>>,
    ) {
        let mut heights = HashMap::new();
        for hash in &hashes {
            if let Some((p, height, _)) = self.in_flight.get(hash)
                && *p == peer
            {
                heights.insert(*hash, *height);
                self.in_flight.remove(hash);
            }
        }
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.blocks_in_flight = p.blocks_in_flight.saturating_sub(hashes.len());
        let blocks = match result {
            Some(Ok(SyncResponse::Blocks(blocks))) => blocks,
            Some(Ok(_)) => {
                let reason = "answered getblocks with another response".to_owned();
                self.report(peer, Severity::Serious, reason).await;
                return;
            }
            Some(Err(_)) | None => {
                p.lacks.extend(hashes.iter().copied());
                if result.is_none() {
                    // A peer that let a request time out gets no block request for a
                    // while: it would hold the bottom of the window again.
                    p.stalled_until = Some(Instant::now() + STALL_BACKOFF);
                    let reason = "getblocks timed out".to_owned();
                    self.report(peer, Severity::Minor, reason).await;
                }
                self.schedule().await;
                return;
            }
        };
        let asked: HashSet<BlockHash> = hashes.iter().copied().collect();
        let hashes_sent: Vec<BlockHash> = blocks.iter().map(Block::hash).collect();
        if let Some(extra) = hashes_sent.iter().find(|h| !asked.contains(h)) {
            let reason = format!("sent block {extra} that was not asked for");
            self.report(peer, Severity::Fatal, reason).await;
            return;
        }
        let node = self.node.clone();
        let outcomes = blocking(move || node.submit_downloaded_blocks(blocks))
            .await
            .and_then(Result::ok)
            .unwrap_or_default();
        let mut delivered = HashSet::new();
        let mut fault = None;
        let mut best_height = None;
        for (hash, outcome) in hashes_sent.into_iter().zip(outcomes) {
            delivered.insert(hash);
            match outcome {
                Ok(()) | Err(ChainError::Duplicate { .. }) => {
                    best_height = best_height.max(heights.get(&hash).copied());
                }
                Err(e) if e.is_peer_fault() || is_mutated(&e) => {
                    fault.get_or_insert(format!("sent a bad block: {e}"));
                }
                Err(_) => {}
            }
        }
        if let Some(p) = self.peers.get_mut(&peer) {
            if let Some(h) = best_height {
                p.synced_blocks = p.synced_blocks.max(i64::from(h.0));
            }
            p.lacks
                .extend(hashes.iter().filter(|h| !delivered.contains(h)).copied());
        }
        if let Some(reason) = fault {
            self.report(peer, Severity::Fatal, reason).await;
        }
        self.schedule().await;
    }
}

fn is_mutated(e: &ChainError) -> bool {
    matches!(e, ChainError::Mutated { .. })
}
