//! The sync task: one tokio task that owns the sync state (peers, their pending headers,
//! the blocks in flight) and joins the gossip layer to the node. It judges gossip
//! messages, answers peers' requests, syncs headers first from peers with more work,
//! downloads blocks within a window from the peers that have them, fetches the zone
//! files that name records hold and the node lacks, and announces the node's new tip
//! and transactions. Every node call runs on tokio's blocking pool, so
//! the gossip event loop never waits for the chain.

mod announce;
mod download;
mod shared;
mod zonefiles;

pub use shared::{BanRecord, MAX_BAN_RECORDS};
pub(super) use shared::{PeerStats, Shared};
pub use zonefiles::{
    MAX_MISSING_ZONE_FILES, MAX_ZONE_FILE_TRIES, ZONE_FILE_RETRY, ZONE_FILES_TIMEOUT,
};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gossip::{Direction, Event, Events, MessageId, Multiaddr, Network, PeerId, Severity, Verdict};
use tokio::sync::watch;
use tokio::task::JoinSet;

use announce::Unsent;

use super::wire::{ChainProtocol, ChainStatus, SyncRequest, SyncResponse, blocks_within_budget};
use super::{IBD_MARGIN, SyncProgress};
use crate::block::Block;
use crate::chain::{HeadersOutcome, MAX_HEADERS_RESULTS, MAX_LOCATOR_HASHES, PendingHeaders};
use crate::encoding::decode_exact;
use crate::error::{ChainError, EventError, MempoolError, NodeError};
use crate::hash::BlockHash;
use crate::node::{Node, NodeEvent, Subscription};
use crate::transaction::Transaction;
use crate::u256::U256;
use crate::units::Height;

/// Blocks asked of one peer at once.
pub const MAX_BLOCKS_IN_FLIGHT_PER_PEER: usize = 32;
/// Time for a peer to answer a `GetBlocks` before its blocks go to another peer.
pub const BLOCKS_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a peer that let a `GetBlocks` time out is asked for no block.
pub const STALL_BACKOFF: Duration = Duration::from_secs(60);
/// Block requests to one peer per second, at most, by default
/// ([`super::P2pConfig::block_requests_per_second`]): 2,880 blocks a second in requests
/// of 16, under the 200 requests a second the gossip layer accepts from a peer by
/// default (`Limits::requests_per_second`), with room left for headers requests (one
/// per 2,000 headers, and a poll every few seconds).
pub const BLOCK_REQUESTS_PER_SECOND: u32 = 180;
/// Time for a peer to answer a `GetHeaders`.
pub const HEADERS_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the task looks for work it has not been woken for.
const TICK: Duration = Duration::from_millis(500);
/// A peer not asked for headers for this long is asked (with our locator; the answer
/// is empty when we agree), so that a missed announcement costs at most this delay.
pub const HEADERS_POLL: Duration = Duration::from_secs(5);

/// One ready peer.
struct Peer {
    id: u64,
    status: ChainStatus,
    /// Its header chain that has not proved the work threshold yet.
    pending: PendingHeaders,
    headers_in_flight: bool,
    /// When it was last asked for headers.
    last_headers: Option<Instant>,
    /// It answered headers to the end of its chain since its status (or its last
    /// gossiped block): its claim of more work no longer makes us ask it at once.
    served: bool,
    /// The most-work block we know it has.
    best_known: Option<BlockHash>,
    blocks_in_flight: usize,
    /// No block is asked of it before then (it let a request time out).
    stalled_until: Option<Instant>,
    /// No block request goes to it before then: requests are paced (by default at
    /// [`BLOCK_REQUESTS_PER_SECOND`]) under the rate its gossip layer accepts.
    next_block_request: Option<Instant>,
    /// Blocks it did not deliver when asked (not asked again until it announces more).
    lacks: HashSet<BlockHash>,
    synced_headers: i64,
    synced_blocks: i64,
}

/// A request that finished.
enum Done {
    Headers {
        peer: PeerId,
        result: Option<Result<SyncResponse, gossip::RequestError>>,
    },
    Blocks {
        peer: PeerId,
        hashes: Vec<BlockHash>,
        result: Option<Result<SyncResponse, gossip::RequestError>>,
    },
    ZoneFiles {
        peer: PeerId,
        hashes: Vec<naming::ZoneFileHash>,
        result: Option<Result<SyncResponse, gossip::RequestError>>,
    },
    /// A paced peer may be asked for blocks again.
    Wake,
}

/// The sync task's state.
pub(super) struct Sync {
    pub(super) node: Node,
    pub(super) net: Network<ChainProtocol>,
    pub(super) network_name: String,
    pub(super) genesis: BlockHash,
    pub(super) blocks_topic: String,
    pub(super) txs_topic: String,
    pub(super) window: usize,
    /// The least time between two block requests to one peer.
    pub(super) block_request_interval: Duration,
    pub(super) shared: Arc<Shared>,
    pub(super) progress: watch::Sender<SyncProgress>,
    peers: HashMap<PeerId, Peer>,
    /// Block → the peer asked for it, its height, when.
    in_flight: HashMap<BlockHash, (PeerId, Height, Instant)>,
    tasks: JoinSet<Done>,
    /// A [`Done::Wake`] is on its way.
    wake_armed: bool,
    next_id: u64,
    status: Option<ChainStatus>,
    announced_tip: Option<BlockHash>,
    unsent: Vec<Unsent>,
    zone: zonefiles::ZoneFetch,
}

/// Runs `f` on the blocking pool; `None` if it panicked.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// Our view of the chain for a status and for sync decisions.
struct ChainView {
    tip: (Height, BlockHash),
    best: (Height, BlockHash),
    best_work: U256,
}

impl Sync {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        node: Node,
        net: Network<ChainProtocol>,
        network_name: String,
        genesis: BlockHash,
        window: usize,
        block_requests_per_second: u32,
        shared: Arc<Shared>,
        progress: watch::Sender<SyncProgress>,
    ) -> Self {
        Sync {
            node,
            net,
            blocks_topic: super::blocks_topic(&network_name),
            txs_topic: super::txs_topic(&network_name),
            network_name,
            genesis,
            window,
            block_request_interval: Duration::from_secs(1) / block_requests_per_second.max(1),
            shared,
            progress,
            peers: HashMap::new(),
            in_flight: HashMap::new(),
            wake_armed: false,
            tasks: JoinSet::new(),
            next_id: 0,
            status: None,
            announced_tip: None,
            unsent: Vec::new(),
            zone: zonefiles::ZoneFetch::default(),
        }
    }

    /// Runs until `stop` is raised, the network stops or the node stops.
    pub(super) async fn run(
        mut self,
        mut events: Events<ChainProtocol>,
        mut subscription: Subscription,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The tip at start is announced only when it changes.
        if let Some(view) = self.chain_view().await {
            self.announced_tip = Some(view.tip.1);
        }
        self.refresh_status().await;
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                event = events.recv() => match event {
                    Some(event) => self.on_event(event).await,
                    None => break,
                },
                event = subscription.recv_async() => match event {
                    Ok(event) => self.on_node_events(event, &mut subscription).await,
                    Err(EventError::Lagged { .. }) => self.after_chain_change().await,
                    Err(_) => break,
                },
                Some(done) = self.tasks.join_next() => {
                    if let Ok(done) = done {
                        self.on_done(done).await;
                    }
                }
                _ = tick.tick() => self.on_tick().await,
            }
        }
        self.tasks.abort_all();
    }

    async fn chain_view(&self) -> Option<ChainView> {
        let node = self.node.clone();
        blocking(move || {
            node.read(|v| {
                let chain = v.chain();
                let best = chain.best_header();
                ChainView {
                    tip: chain.tip(),
                    best,
                    best_work: chain.entry(&best.1).map_or(U256::ZERO, |e| e.chainwork),
                }
            })
            .ok()
        })
        .await
        .flatten()
    }

    /// Tells the gossip layer our status for new peers, when it changed.
    async fn refresh_status(&mut self) {
        let Some(view) = self.chain_view().await else {
            return;
        };
        let status = ChainStatus {
            network: self.network_name.clone(),
            genesis: self.genesis,
            best_height: view.best.0,
            best_hash: view.best.1,
            best_work: view.best_work,
            tip_height: view.tip.0,
            tip_hash: view.tip.1,
        };
        let ibd = view.best.0.0 > view.tip.0.0.saturating_add(IBD_MARGIN);
        let _ = self.progress.send(SyncProgress {
            blocks: view.tip.0,
            headers: view.best.0,
            initial_block_download: ibd,
        });
        if self.status.as_ref() != Some(&status) {
            let _ = self.net.set_status(status.clone()).await;
            self.status = Some(status);
        }
    }

    fn publish_stats(&self) {
        let mut heights: HashMap<PeerId, Vec<u32>> = HashMap::new();
        for (peer, height, _) in self.in_flight.values() {
            heights.entry(*peer).or_default().push(height.0);
        }
        let mut stats = self.shared.peers();
        stats.clear();
        for (id, p) in &self.peers {
            let mut inflight = heights.remove(id).unwrap_or_default();
            inflight.sort_unstable();
            stats.insert(
                *id,
                PeerStats {
                    id: p.id,
                    synced_headers: p.synced_headers,
                    synced_blocks: p.synced_blocks,
                    inflight,
                },
            );
        }
    }

    async fn report(&self, peer: PeerId, severity: Severity, reason: String) {
        let _ = self.net.report(peer, severity, reason).await;
    }

    async fn on_event(&mut self, event: Event<ChainProtocol>) {
        match event {
            Event::Message {
                id,
                source,
                topic,
                data,
            } => {
                if topic == self.blocks_topic {
                    self.on_block_message(id, source, data).await;
                } else if topic == self.txs_topic {
                    self.on_tx_message(id, source, data).await;
                } else {
                    let _ = self.net.validate(id, Verdict::Ignore).await;
                }
            }
            Event::Request { request, reply, .. } => {
                let node = self.node.clone();
                tokio::spawn(async move {
                    if let Some(Some(response)) = blocking(move || answer(&node, request)).await {
                        let _ = reply.send(response).await;
                    }
                });
            }
            Event::PeerReady {
                peer,
                status,
                address,
                direction,
            } => self.on_peer_ready(peer, status, &address, direction).await,
            Event::PeerDisconnected { peer } => {
                self.forget_peer(&peer);
                self.schedule().await;
            }
            Event::PeerBanned {
                peer,
                duration,
                reason,
            } => {
                let created = crate::node::unix_now();
                self.shared.record_ban(BanRecord {
                    peer,
                    created,
                    until: created.saturating_add(duration.as_secs()),
                    reason,
                });
                self.forget_peer(&peer);
                self.schedule().await;
            }
            Event::Lagged { .. } => self.resync_peers().await,
        }
    }

    /// After the gossip layer dropped events: peers that became ready or left unseen
    /// are read from it again.
    async fn resync_peers(&mut self) {
        let Ok(peers) = self.net.peers().await else {
            return;
        };
        let present: HashSet<PeerId> = peers.iter().map(|p| p.peer).collect();
        let gone: Vec<PeerId> = self
            .peers
            .keys()
            .filter(|p| !present.contains(p))
            .copied()
            .collect();
        for peer in gone {
            self.forget_peer(&peer);
        }
        for info in peers {
            if self.peers.contains_key(&info.peer) {
                continue;
            }
            let (Some(status), Some(address)) = (info.status, info.addresses.first().cloned())
            else {
                continue;
            };
            self.on_peer_ready(info.peer, status, &address, info.direction)
                .await;
        }
        self.schedule().await;
    }

    fn forget_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
        self.in_flight.retain(|_, (p, _, _)| p != peer);
        self.forget_zone_peer(peer);
        self.publish_stats();
    }

    async fn on_peer_ready(
        &mut self,
        peer: PeerId,
        status: ChainStatus,
        _address: &Multiaddr,
        _direction: Direction,
    ) {
        if status.network != self.network_name || status.genesis != self.genesis {
            let reason = format!(
                "status of another chain (network {:?}, genesis {})",
                status.network, status.genesis
            );
            self.report(peer, Severity::Fatal, reason).await;
            return;
        }
        self.next_id += 1;
        let more_work = status.best_work;
        let best_known = Some(status.tip_hash);
        self.peers.insert(
            peer,
            Peer {
                id: self.next_id,
                status,
                pending: PendingHeaders::new(),
                headers_in_flight: false,
                last_headers: None,
                served: false,
                best_known,
                blocks_in_flight: 0,
                stalled_until: None,
                next_block_request: None,
                lacks: HashSet::new(),
                synced_headers: -1,
                synced_blocks: -1,
            },
        );
        self.publish_stats();
        let ours = self.chain_view().await.map_or(U256::ZERO, |v| v.best_work);
        if more_work > ours {
            self.request_headers(peer, None).await;
        }
    }

    async fn on_block_message(&mut self, id: MessageId, source: PeerId, data: Vec<u8>) {
        let block: Block = match decode_exact(&data) {
            Ok(block) => block,
            Err(e) => {
                let _ = self.net.validate(id, Verdict::Reject).await;
                self.report(source, Severity::Fatal, format!("undecodable block: {e}"))
                    .await;
                return;
            }
        };
        let hash = block.hash();
        let node = self.node.clone();
        let result = blocking(move || {
            let r = node.submit_unrequested_block(&block);
            let height = node
                .read(move |v| v.chain().entry(&hash).map(|e| e.height))
                .ok()
                .flatten();
            (r, height)
        })
        .await;
        let Some((result, height)) = result else {
            let _ = self.net.validate(id, Verdict::Ignore).await;
            return;
        };
        let verdict = match result {
            Ok(_) => {
                if let Some(p) = self.peers.get_mut(&source) {
                    p.best_known = Some(hash);
                    p.served = false;
                    p.lacks.clear();
                    if let Some(h) = height {
                        p.synced_blocks = p.synced_blocks.max(i64::from(h.0));
                    }
                }
                Verdict::Accept
            }
            Err(NodeError::Chain(e)) => match e {
                ChainError::Duplicate { .. } | ChainError::LowWork { .. } => Verdict::Ignore,
                ChainError::UnknownParent { .. } => {
                    self.request_headers(source, None).await;
                    Verdict::Ignore
                }
                e @ ChainError::Mutated { .. } => {
                    self.report(source, Severity::Fatal, format!("gossiped {e}"))
                        .await;
                    Verdict::Reject
                }
                e if e.is_peer_fault() => {
                    self.report(source, Severity::Fatal, format!("gossiped {e}"))
                        .await;
                    Verdict::Reject
                }
                _ => Verdict::Ignore,
            },
            Err(_) => Verdict::Ignore,
        };
        let _ = self.net.validate(id, verdict).await;
        self.publish_stats();
    }

    async fn on_tx_message(&mut self, id: MessageId, source: PeerId, data: Vec<u8>) {
        let tx: Transaction = match decode_exact(&data) {
            Ok(tx) => tx,
            Err(e) => {
                let _ = self.net.validate(id, Verdict::Reject).await;
                self.report(
                    source,
                    Severity::Fatal,
                    format!("undecodable transaction: {e}"),
                )
                .await;
                return;
            }
        };
        // Far behind, the node cannot judge a transaction (its inputs may be in blocks
        // not yet connected): neither taken nor held against the sender.
        if self.progress.borrow().initial_block_download {
            let _ = self.net.validate(id, Verdict::Ignore).await;
            return;
        }
        let node = self.node.clone();
        let verdict = match blocking(move || node.submit_transaction(tx)).await {
            Some(Ok(_)) => Verdict::Accept,
            Some(Err(NodeError::Mempool(
                MempoolError::Invalid { .. } | MempoolError::Coinbase,
            ))) => Verdict::Reject,
            _ => Verdict::Ignore,
        };
        let _ = self.net.validate(id, verdict).await;
    }

    /// Asks `peer` for headers after `from` (the last header of its previous full
    /// answer: the locator of that header when it is in our index, else that hash
    /// before our best header's locator, for a low-work chain held for the peer), or
    /// after our best header.
    async fn request_headers(&mut self, peer: PeerId, from: Option<BlockHash>) {
        match self.peers.get(&peer) {
            Some(p) if !p.headers_in_flight => {}
            _ => return,
        }
        let node = self.node.clone();
        let Some(Ok(locator)) = blocking(move || {
            node.read(move |v| {
                let chain = v.chain();
                let best = || {
                    let (_, best) = chain.best_header();
                    chain.locator_from(&best).unwrap_or_else(|| chain.locator())
                };
                match from {
                    None => best(),
                    Some(last) => chain.locator_from(&last).unwrap_or_else(|| {
                        let mut locator = vec![last];
                        locator.extend(best());
                        locator.truncate(MAX_LOCATOR_HASHES);
                        locator
                    }),
                }
            })
        })
        .await
        else {
            return;
        };
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.headers_in_flight = true;
        p.last_headers = Some(Instant::now());
        let net = self.net.clone();
        self.tasks.spawn(async move {
            let request = SyncRequest::GetHeaders {
                locator,
                stop: None,
            };
            let result = tokio::time::timeout(HEADERS_TIMEOUT, net.request(peer, request))
                .await
                .ok();
            Done::Headers { peer, result }
        });
    }

    fn claim_served(&mut self, peer: &PeerId) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.served = true;
        }
    }

    async fn on_done(&mut self, done: Done) {
        match done {
            Done::Headers { peer, result } => self.on_headers(peer, result).await,
            Done::Blocks {
                peer,
                hashes,
                result,
            } => self.on_blocks(peer, hashes, result).await,
            Done::ZoneFiles {
                peer,
                hashes,
                result,
            } => self.on_zone_files(peer, hashes, result).await,
            Done::Wake => {
                self.wake_armed = false;
                self.schedule().await;
            }
        }
        self.publish_stats();
    }

    async fn on_headers(
        &mut self,
        peer: PeerId,
        result: Option<Result<SyncResponse, gossip::RequestError>>,
    ) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.headers_in_flight = false;
        let headers = match result {
            Some(Ok(SyncResponse::Headers(headers))) => headers,
            Some(Ok(_)) => {
                let reason = "answered getheaders with another response".to_owned();
                self.report(peer, Severity::Serious, reason).await;
                return;
            }
            Some(Err(_)) => return,
            None => {
                let reason = "getheaders timed out".to_owned();
                self.report(peer, Severity::Minor, reason).await;
                return;
            }
        };
        if headers.is_empty() {
            return;
        }
        let full = headers.len() == MAX_HEADERS_RESULTS;
        let pending = std::mem::take(&mut p.pending);
        let (claimed, claimed_tip) = (p.status.best_work, p.status.tip_height);
        let node = self.node.clone();
        let Some(Ok((pending, outcome))) =
            blocking(move || node.accept_peer_headers(pending, headers)).await
        else {
            return;
        };
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.pending = pending;
        match outcome {
            Ok(HeadersOutcome::Stored { last, .. }) => {
                if let Some((height, hash)) = last {
                    p.best_known = Some(hash);
                    p.lacks.clear();
                    p.synced_headers = p.synced_headers.max(i64::from(height.0));
                }
                self.refresh_status().await;
                match last {
                    Some((_, hash)) if full => self.request_headers(peer, Some(hash)).await,
                    _ => self.claim_served(&peer),
                }
                self.schedule().await;
            }
            Ok(HeadersOutcome::LowWork { last, work, .. }) => {
                if full {
                    self.request_headers(peer, Some(last.1)).await;
                    return;
                }
                // An honest peer answers up to its active tip, which is at least the
                // tip its status named: a chain that ends below it, with less work
                // than claimed, is a lie (asked again at once, it adds up to a ban).
                if work < claimed && last.0 < claimed_tip {
                    let reason = format!(
                        "its header chain ends at height {}, below the work and the tip height {} its status claimed",
                        last.0, claimed_tip
                    );
                    self.report(peer, Severity::Serious, reason).await;
                } else {
                    self.claim_served(&peer);
                }
            }
            Err(e) => {
                if let Some(severity) = header_fault(&e) {
                    self.report(peer, severity, format!("headers refused: {e}"))
                        .await;
                }
            }
        }
    }

    /// The node's events: the new tip is announced (once the node is out of initial
    /// block download), accepted transactions are announced, the status follows.
    async fn on_node_events(&mut self, first: NodeEvent, subscription: &mut Subscription) {
        let mut events = vec![first];
        loop {
            match subscription.try_recv() {
                Ok(event) => events.push(event),
                Err(EventError::Lagged { .. }) => {}
                Err(_) => break,
            }
        }
        let mut chain_changed = false;
        let mut txs = Vec::new();
        let mut connected = Vec::new();
        for event in events {
            match event {
                NodeEvent::BlockConnected { hash, .. } => {
                    chain_changed = true;
                    connected.push(hash);
                }
                NodeEvent::BlockDisconnected { .. } => {
                    chain_changed = true;
                }
                NodeEvent::TxAccepted { txid } => txs.push(txid),
            }
        }
        if chain_changed {
            self.after_chain_change().await;
        }
        self.zone_files_of_blocks(connected).await;
        if !txs.is_empty() {
            self.announce_txs(txs).await;
        }
    }

    async fn after_chain_change(&mut self) {
        self.refresh_status().await;
        self.announce_tip().await;
        self.schedule().await;
    }

    async fn on_tick(&mut self) {
        self.refresh_status().await;
        // A peer that claimed more work than our best header, and nobody is asked for
        // headers: ask it (a sync that failed part way resumes here).
        let ours = self.chain_view().await.map_or(U256::ZERO, |v| v.best_work);
        if !self.peers.values().any(|p| p.headers_in_flight) {
            let ahead = self
                .peers
                .iter()
                .filter(|(_, p)| !p.served && p.status.best_work > ours)
                .max_by_key(|(_, p)| p.status.best_work)
                .map(|(id, _)| *id);
            // Otherwise the peer asked longest ago, if that is long enough.
            let stale = self
                .peers
                .iter()
                .filter(|(_, p)| p.last_headers.is_none_or(|t| t.elapsed() >= HEADERS_POLL))
                .min_by_key(|(_, p)| p.last_headers)
                .map(|(id, _)| *id);
            if let Some(peer) = ahead.or(stale) {
                self.request_headers(peer, None).await;
            }
        }
        if !self.unsent.is_empty() {
            self.republish().await;
        }
        if self.in_flight.is_empty() {
            self.schedule().await;
        }
        self.zone_files_tick().await;
    }
}

/// How bad a refused headers batch is for the peer that sent it.
fn header_fault(e: &ChainError) -> Option<Severity> {
    match e {
        ChainError::UnconnectedHeader { .. } | ChainError::LocatorTooLong { .. } => {
            Some(Severity::Serious)
        }
        e if e.is_peer_fault() => Some(Severity::Fatal),
        _ => None,
    }
}

/// The answer to a peer's request, read from the node.
fn answer(node: &Node, request: SyncRequest) -> Option<SyncResponse> {
    match request {
        SyncRequest::GetHeaders { locator, stop } => node
            .headers_after(locator, stop, MAX_HEADERS_RESULTS)
            .ok()
            .map(SyncResponse::Headers),
        SyncRequest::GetBlocks(hashes) => node
            .read(move |v| {
                let found = hashes
                    .iter()
                    .filter_map(|h| v.chain().block(h).ok().flatten());
                blocks_within_budget(found)
            })
            .ok()
            .map(SyncResponse::Blocks),
        SyncRequest::GetZoneFiles(hashes) => node
            .read(move |v| zonefiles::answer(v.chain(), &hashes))
            .ok(),
    }
}
