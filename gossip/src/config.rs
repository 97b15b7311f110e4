//! The network's configuration: who we are, where we listen, whom we dial, and every
//! bound that keeps a peer from making the node allocate without limit.

use std::{fmt, time::Duration};

use libp2p::{Multiaddr, identity::Keypair};

use crate::error::StartError;

/// The chain's block limit: the largest announcement the application must be able to
/// gossip.
pub const BLOCK_LIMIT_BYTES: usize = 1_000_000;

/// What the network needs to start.
pub struct Config {
    /// The node's identity (see [`crate::load_or_create_keypair`]).
    pub keypair: Keypair,
    /// The network's name (`main`, `regtest`...): part of every protocol id, so that
    /// nodes of different networks never exchange requests. 1 to 32 characters from
    /// `a-z`, `0-9` and `-`.
    pub network: String,
    /// Addresses to listen on, e.g. `/ip4/127.0.0.1/tcp/0`.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start and redial with backoff whenever they are not connected.
    pub static_peers: Vec<Multiaddr>,
    /// Gossipsub topics to subscribe to (the application chooses the names).
    pub topics: Vec<String>,
    /// Discover peers on the local network by multicast DNS (needs the `mdns` feature;
    /// ignored without it).
    pub mdns: bool,
    /// The agent string sent by identify, e.g. `open-trust/0.1.0`.
    pub agent: String,
    /// Every bound.
    pub limits: Limits,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keypair is left out: only its peer id is shown.
        f.debug_struct("Config")
            .field("peer_id", &self.keypair.public().to_peer_id())
            .field("network", &self.network)
            .field("listen", &self.listen)
            .field("static_peers", &self.static_peers)
            .field("topics", &self.topics)
            .field("mdns", &self.mdns)
            .field("agent", &self.agent)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Config {
    /// A configuration with the default limits, no listen address, no peer and no topic.
    pub fn new(keypair: Keypair, network: impl Into<String>) -> Self {
        Config {
            keypair,
            network: network.into(),
            listen: Vec::new(),
            static_peers: Vec::new(),
            topics: Vec::new(),
            mdns: false,
            agent: concat!("open-trust/", env!("CARGO_PKG_VERSION")).to_owned(),
            limits: Limits::default(),
        }
    }

    /// Checks the network name and the limits.
    ///
    /// # Errors
    /// [`StartError::Config`] naming the first value out of range.
    pub fn validate(&self) -> Result<(), StartError> {
        let bad = |reason: String| Err(StartError::Config { reason });
        let name_ok = !self.network.is_empty()
            && self.network.len() <= 32
            && self
                .network
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return bad(format!(
                "network name {:?} must be 1 to 32 characters from a-z, 0-9 and -",
                self.network
            ));
        }
        for topic in &self.topics {
            if topic.is_empty() || topic.len() > MAX_TOPIC_BYTES {
                return bad(format!(
                    "topic {topic:?} must be 1 to {MAX_TOPIC_BYTES} bytes"
                ));
            }
        }
        self.limits.validate()
    }
}

/// The longest topic name accepted.
pub const MAX_TOPIC_BYTES: usize = 256;

/// Every bound of the network layer, with the defaults documented in docs/p2p.md.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest gossip message (payload), in bytes. At least [`BLOCK_LIMIT_BYTES`].
    pub max_message_bytes: usize,
    /// Established connections in total.
    pub max_connections: u32,
    /// Established inbound connections (the rest is kept for our own dials).
    pub max_inbound_connections: u32,
    /// Established connections per peer.
    pub max_connections_per_peer: u32,
    /// Inbound connections still in their transport handshake.
    pub max_pending_inbound: u32,
    /// Outbound dials still in progress.
    pub max_pending_outbound: u32,
    /// Time for a new connection's security and multiplexer handshakes (noise, yamux).
    pub handshake_timeout: Duration,
    /// Time for a new peer to complete the status exchange before it is dropped.
    pub status_timeout: Duration,
    /// Time for a request to be answered, on either side.
    pub request_timeout: Duration,
    /// Concurrent request-response streams per connection (each protocol).
    pub max_streams_per_connection: usize,
    /// Requests from one peer handed to the application and not yet answered; more are
    /// refused (the stream is closed without an answer).
    pub max_inbound_requests_per_peer: usize,
    /// Requests to one peer awaiting their response.
    pub max_outbound_requests_per_peer: usize,
    /// Sustained inbound requests per second per peer (token bucket rate).
    pub requests_per_second: u32,
    /// Inbound request burst per peer (token bucket size).
    pub request_burst: u32,
    /// Events queued for the application; past this, events are dropped and a
    /// `Event::Lagged` tells how many.
    pub event_capacity: usize,
    /// Commands queued for the event loop; senders wait when it is full.
    pub command_capacity: usize,
    /// Gossip messages awaiting the application's verdict; past this, new messages are
    /// ignored (not forwarded) without being delivered.
    pub max_pending_validations: usize,
    /// Time for the application to validate a gossip message before it is ignored.
    pub validation_timeout: Duration,
    /// Outgoing gossipsub messages queued per connection.
    pub gossip_queue_len: usize,
    /// Gossipsub heartbeat interval (mesh maintenance and gossip emission).
    pub heartbeat: Duration,
    /// How long a banned peer's connections are refused.
    pub ban_duration: Duration,
    /// Bans held at once; past this, the ban closest to its end is lifted early.
    pub max_bans: usize,
    /// First delay before redialling a static peer; it doubles after each failure.
    pub redial_min: Duration,
    /// Longest delay between redials of a static peer.
    pub redial_max: Duration,
    /// A connection with no open stream is closed after this long.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 1 << 20,
            max_connections: 64,
            max_inbound_connections: 48,
            max_connections_per_peer: 2,
            max_pending_inbound: 32,
            max_pending_outbound: 16,
            handshake_timeout: Duration::from_secs(10),
            status_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_streams_per_connection: 32,
            max_inbound_requests_per_peer: 16,
            max_outbound_requests_per_peer: 16,
            requests_per_second: 200,
            request_burst: 400,
            event_capacity: 512,
            command_capacity: 256,
            max_pending_validations: 512,
            validation_timeout: Duration::from_secs(5),
            gossip_queue_len: 128,
            heartbeat: Duration::from_millis(700),
            ban_duration: Duration::from_secs(24 * 60 * 60),
            max_bans: 4096,
            redial_min: Duration::from_secs(1),
            redial_max: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl Limits {
    /// Checks that every bound is usable.
    ///
    /// # Errors
    /// [`StartError::Config`] naming the first value out of range.
    pub fn validate(&self) -> Result<(), StartError> {
        let checks: [(&str, bool); 14] = [
            (
                "max_message_bytes must be at least the block limit (1,000,000) and below 64 MiB",
                self.max_message_bytes >= BLOCK_LIMIT_BYTES && self.max_message_bytes < 1 << 26,
            ),
            ("max_connections must be positive", self.max_connections > 0),
            (
                "max_connections_per_peer must be positive",
                self.max_connections_per_peer > 0,
            ),
            (
                "max_pending_inbound must be positive",
                self.max_pending_inbound > 0,
            ),
            (
                "max_pending_outbound must be positive",
                self.max_pending_outbound > 0,
            ),
            (
                "max_streams_per_connection must be positive",
                self.max_streams_per_connection > 0,
            ),
            (
                "requests_per_second and request_burst must be positive",
                self.requests_per_second > 0 && self.request_burst > 0,
            ),
            ("event_capacity must be positive", self.event_capacity > 0),
            (
                "command_capacity must be positive",
                self.command_capacity > 0,
            ),
            (
                "max_pending_validations must be positive",
                self.max_pending_validations > 0,
            ),
            (
                "gossip_queue_len must be positive",
                self.gossip_queue_len > 0,
            ),
            ("max_bans must be positive", self.max_bans > 0),
            (
                "redial_min must be positive and at most redial_max",
                !self.redial_min.is_zero() && self.redial_min <= self.redial_max,
            ),
            (
                "timeouts and the heartbeat must be positive",
                [
                    self.handshake_timeout,
                    self.status_timeout,
                    self.request_timeout,
                    self.validation_timeout,
                    self.heartbeat,
                ]
                .iter()
                .all(|d| !d.is_zero()),
            ),
        ];
        match checks.iter().find(|(_, ok)| !ok) {
            Some((reason, _)) => Err(StartError::Config {
                reason: (*reason).to_owned(),
            }),
            None => Ok(()),
        }
    }
}
