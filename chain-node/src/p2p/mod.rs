//! The chain node on the network: a client of the `gossip` crate that announces blocks
//! and transactions by gossipsub, syncs headers first from peers with more work and
//! downloads blocks from several peers within a window.
//!
//! [`P2p`] is a cheap, cloneable handle (for RPC) to a tokio runtime of its own that
//! runs the gossip event loop and one sync task (`sync.rs`); the wire types and their
//! encodings are in `wire.rs` and described in docs/p2p.md ("Chain protocol"). No peer
//! message reaches the chain state except through the [`Node`] handle.

mod sync;
mod wire;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gossip::{Direction, Multiaddr, Network as GossipNetwork, PeerId};
use tokio::sync::watch;

pub use sync::{
    BLOCK_REQUESTS_PER_SECOND, BLOCKS_TIMEOUT, BanRecord, HEADERS_POLL, HEADERS_TIMEOUT,
    MAX_BAN_RECORDS, MAX_BLOCKS_IN_FLIGHT_PER_PEER, MAX_MISSING_ZONE_FILES, MAX_ZONE_FILE_TRIES,
    STALL_BACKOFF, ZONE_FILE_RETRY, ZONE_FILES_TIMEOUT,
};
pub use wire::{
    ChainProtocol, ChainStatus, MAX_BLOCKS_RESPONSE_BYTES, MAX_GET_BLOCKS, MAX_GET_ZONE_FILES,
    MAX_NETWORK_NAME, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, MAX_STATUS_BYTES, REQUEST_PROTOCOL,
    STATUS_VERSION, SyncRequest, SyncResponse, blocks_topic, blocks_within_budget, txs_topic,
};

use crate::error::P2pError;
use crate::node::{Node, unix_now};
use crate::params::Network;
use crate::units::Height;

/// Heights of blocks past the active tip among which blocks are downloaded at once
/// (Core's `BLOCK_DOWNLOAD_WINDOW`).
pub const DOWNLOAD_WINDOW: usize = 1024;
/// The node is in initial block download while its best header is more than this many
/// blocks past its active tip: it then announces no block.
pub const IBD_MARGIN: u32 = 24;
/// The key file's name in the data directory.
pub const KEY_FILE: &str = "p2p.key";

/// Whether a node whose tip is at `blocks` and best header at `headers` is in initial
/// block download.
pub fn initial_block_download(blocks: Height, headers: Height) -> bool {
    headers.0 > blocks.0.saturating_add(IBD_MARGIN)
}

/// How the network layer runs.
#[derive(Clone, Debug)]
pub struct P2pConfig {
    /// The chain's network (its name is in every protocol id and topic).
    pub network: Network,
    /// The node key (created, mode 0600, if missing).
    pub key_file: PathBuf,
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Peers dialled at start and redialled whenever they are not connected.
    pub peers: Vec<Multiaddr>,
    /// The gossip layer's bounds.
    pub limits: gossip::Limits,
    /// The download window ([`DOWNLOAD_WINDOW`]).
    pub window: usize,
    /// Block requests to one peer per second, at most ([`BLOCK_REQUESTS_PER_SECOND`]):
    /// keep it under the peers' `Limits::requests_per_second`, or they refuse the
    /// excess as a flood.
    pub block_requests_per_second: u32,
    /// How long a zone file that no peer had waits before it is asked for again
    /// ([`ZONE_FILE_RETRY`]).
    pub zone_file_retry: Duration,
}

impl P2pConfig {
    /// Defaults for `network` with the key in `data_dir`.
    pub fn new(network: Network, data_dir: &Path) -> Self {
        P2pConfig {
            network,
            key_file: data_dir.join(KEY_FILE),
            listen: Vec::new(),
            peers: Vec::new(),
            limits: gossip::Limits::default(),
            window: DOWNLOAD_WINDOW,
            block_requests_per_second: BLOCK_REQUESTS_PER_SECOND,
            zone_file_retry: ZONE_FILE_RETRY,
        }
    }
}

/// Where initial block download stands (for a progress bar).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncProgress {
    /// Height of the active tip.
    pub blocks: Height,
    /// Height of the best header.
    pub headers: Height,
    /// Whether the node is in initial block download.
    pub initial_block_download: bool,
}

/// A connected peer, as `getpeerinfo` shows it.
#[derive(Clone, Debug)]
pub struct PeerSummary {
    /// The node's own number for it (0 before its status arrived).
    pub id: u64,
    /// Its peer id.
    pub peer: PeerId,
    /// The remote address of its first connection.
    pub address: Option<Multiaddr>,
    /// Whether it dialled us.
    pub inbound: bool,
    /// When it connected (Unix seconds).
    pub conntime: u64,
    /// Last ping round trip.
    pub ping: Option<Duration>,
    /// Its identify agent string.
    pub agent: Option<String>,
    /// Its tip's height when it connected (-1 before its status).
    pub starting_height: i64,
    /// Last header height it gave us (-1: none).
    pub synced_headers: i64,
    /// Last block height it gave us (-1: none).
    pub synced_blocks: i64,
    /// Heights of the blocks asked of it now.
    pub inflight: Vec<u32>,
    /// Gossip topics on which it is in our mesh.
    pub mesh_topics: Vec<String>,
    /// Its misbehaviour points.
    pub penalty: u32,
}

/// How `addnode` changes the peer list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddNode {
    /// Dial now and keep redialling.
    Add,
    /// Stop redialling.
    Remove,
    /// Dial once.
    OneTry,
}

/// Which peer `disconnectnode` means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerTarget {
    /// A remote address or peer id, as text.
    Address(String),
    /// The node's number for it.
    Id(u64),
}

/// The handle to the network: cheap to clone. [`P2p::shutdown`] stops it.
#[derive(Clone, Debug)]
pub struct P2p {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    net: GossipNetwork<ChainProtocol>,
    active: AtomicBool,
    shared: Arc<sync::Shared>,
    stop: watch::Sender<bool>,
    progress: watch::Receiver<SyncProgress>,
}

impl P2p {
    /// Loads (or creates) the node key, starts the network on a runtime of its own,
    /// listens, dials the static peers and starts the sync task.
    ///
    /// # Errors
    /// [`P2pError::Key`], [`P2pError::Start`] (an address that cannot be bound),
    /// [`P2pError::Runtime`], [`P2pError::Node`].
    ///
    /// # Panics
    /// When called on a tokio runtime's thread.
    pub fn start(node: Node, config: P2pConfig) -> Result<P2p, P2pError> {
        let keypair = gossip::load_or_create_keypair(&config.key_file)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("chain-node-p2p")
            .enable_all()
            .build()
            .map_err(P2pError::Runtime)?;
        let name = config.network.name().to_owned();
        let genesis = node.params().genesis_hash();
        let mut gossip_config = gossip::Config::new(keypair, name.clone());
        gossip_config.listen = config.listen;
        gossip_config.static_peers = config.peers;
        gossip_config.topics = vec![blocks_topic(&name), txs_topic(&name)];
        gossip_config.limits = config.limits;
        let (network_name, genesis_hash) = (name.clone(), genesis);
        let status = node.read(move |v| {
            let chain = v.chain();
            let (tip_height, tip_hash) = chain.tip();
            let (best_height, best_hash) = chain.best_header();
            ChainStatus {
                network: network_name,
                genesis: genesis_hash,
                best_height,
                best_hash,
                best_work: chain
                    .entry(&best_hash)
                    .map_or(crate::u256::U256::ZERO, |e| e.chainwork),
                tip_height,
                tip_hash,
            }
        })?;
        let (net, events) = runtime.block_on(GossipNetwork::start(gossip_config, status))?;
        let subscription = node.subscribe();
        let shared = Arc::new(sync::Shared::default());
        let (progress_tx, progress) = watch::channel(SyncProgress::default());
        let (stop, stopped) = watch::channel(false);
        let mut task = sync::Sync::new(
            node,
            net.clone(),
            name,
            genesis,
            config.window.max(1),
            config.block_requests_per_second,
            Arc::clone(&shared),
            progress_tx,
        );
        task.set_zone_file_retry(config.zone_file_retry);
        runtime.spawn(task.run(events, subscription, stopped));
        Ok(P2p {
            inner: Arc::new(Inner {
                handle: runtime.handle().clone(),
                runtime: Mutex::new(Some(runtime)),
                net,
                active: AtomicBool::new(true),
                shared,
                stop,
                progress,
            }),
        })
    }

    /// Runs `f` on the network's runtime and waits for it (from any thread that is not
    /// one of that runtime's).
    fn run<T: Send + 'static>(
        &self,
        f: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, P2pError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.inner.handle.spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv().map_err(|_| P2pError::Stopped)
    }

    /// Our peer id.
    pub fn peer_id(&self) -> PeerId {
        self.inner.net.local_peer_id()
    }

    /// Our listen addresses, each ending in `/p2p/<peer id>`.
    ///
    /// # Errors
    /// [`P2pError::Stopped`].
    pub fn listen_addrs(&self) -> Result<Vec<Multiaddr>, P2pError> {
        let net = self.inner.net.clone();
        Ok(self.run(async move { net.listen_addrs().await })??)
    }

    /// Where initial block download stands, updated by the sync task.
    pub fn progress(&self) -> watch::Receiver<SyncProgress> {
        self.inner.progress.clone()
    }

    /// Whether connections are allowed (`setnetworkactive`).
    pub fn is_active(&self) -> bool {
        self.inner.active.load(Ordering::Relaxed)
    }

    /// `setnetworkactive`: `false` closes every connection and refuses new ones until
    /// `true`, which redials the static peers.
    ///
    /// # Errors
    /// [`P2pError::Stopped`].
    pub fn set_active(&self, active: bool) -> Result<(), P2pError> {
        let net = self.inner.net.clone();
        self.run(async move { net.set_active(active).await })??;
        self.inner.active.store(active, Ordering::Relaxed);
        Ok(())
    }

    /// The connected peers, with what the sync task knows of each.
    ///
    /// # Errors
    /// [`P2pError::Stopped`].
    pub fn peers(&self) -> Result<Vec<PeerSummary>, P2pError> {
        let net = self.inner.net.clone();
        let peers = self.run(async move { net.peers().await })??;
        let now = unix_now();
        let stats = self.inner.shared.peers();
        let mut out: Vec<PeerSummary> = peers
            .into_iter()
            .map(|p| {
                let s = stats.get(&p.peer).cloned();
                PeerSummary {
                    id: s.as_ref().map_or(0, |s| s.id),
                    peer: p.peer,
                    address: p.addresses.first().cloned(),
                    inbound: p.direction == Direction::Inbound,
                    conntime: now.saturating_sub(p.connected_for.as_secs()),
                    ping: p.ping,
                    agent: p.agent,
                    starting_height: p
                        .status
                        .as_ref()
                        .map_or(-1, |st| i64::from(st.tip_height.0)),
                    synced_headers: s.as_ref().map_or(-1, |s| s.synced_headers),
                    synced_blocks: s.as_ref().map_or(-1, |s| s.synced_blocks),
                    inflight: s.map(|s| s.inflight).unwrap_or_default(),
                    mesh_topics: p.mesh_topics,
                    penalty: p.penalty,
                }
            })
            .collect();
        out.sort_by_key(|p| p.id);
        Ok(out)
    }

    /// The bans in force (`listbanned`), oldest first: the last [`MAX_BAN_RECORDS`].
    pub fn banned(&self) -> Vec<BanRecord> {
        self.inner.shared.bans(unix_now())
    }

    /// `addnode`.
    ///
    /// # Errors
    /// [`P2pError::NotAdded`] to remove an address that was not added,
    /// [`P2pError::Command`] when a dial cannot start, [`P2pError::Stopped`].
    pub fn add_node(&self, address: Multiaddr, how: AddNode) -> Result<(), P2pError> {
        let net = self.inner.net.clone();
        let text = address.to_string();
        match how {
            AddNode::Add => Ok(self.run(async move { net.add_peer(address).await })??),
            AddNode::Remove => {
                if self.run(async move { net.remove_peer(address).await })?? {
                    Ok(())
                } else {
                    Err(P2pError::NotAdded { address: text })
                }
            }
            AddNode::OneTry => Ok(self.run(async move { net.dial(address).await })??),
        }
    }

    /// `disconnectnode`: by remote address, peer id, or the node's number for the peer.
    ///
    /// # Errors
    /// [`P2pError::NotConnected`] when no connected peer matches; [`P2pError::Stopped`].
    pub fn disconnect(&self, target: &PeerTarget) -> Result<(), P2pError> {
        let found = self.peers()?.into_iter().find(|p| match target {
            PeerTarget::Id(id) => p.id == *id,
            PeerTarget::Address(text) => {
                p.peer.to_string() == *text
                    || p.address.as_ref().is_some_and(|a| {
                        let a = a.to_string();
                        a == *text || text.starts_with(&format!("{a}/p2p/"))
                    })
            }
        });
        let not_connected = || P2pError::NotConnected {
            target: match target {
                PeerTarget::Id(id) => id.to_string(),
                PeerTarget::Address(a) => a.clone(),
            },
        };
        let peer = found.ok_or_else(not_connected)?.peer;
        let net = self.inner.net.clone();
        if self.run(async move { net.disconnect(peer).await })?? {
            Ok(())
        } else {
            Err(not_connected())
        }
    }

    /// Stops the sync task and the network, closing every connection; later calls
    /// fail with [`P2pError::Stopped`]. Calling it again does nothing.
    pub fn shutdown(&self) {
        let runtime = self
            .inner
            .runtime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(runtime) = runtime else {
            return;
        };
        let _ = self.inner.stop.send(true);
        let net = self.inner.net.clone();
        let _ = runtime.block_on(async move {
            tokio::time::timeout(Duration::from_secs(5), net.shutdown()).await
        });
        runtime.shutdown_timeout(Duration::from_secs(2));
    }
}
