//! The composed libp2p behaviour and the configuration of each part: the gate, the
//! connection limits, identify, ping, gossipsub (anonymous, content-addressed, validated,
//! scored), the status exchange and the application's request-response protocol.

use std::{
    collections::HashSet,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

use libp2p::{
    StreamProtocol,
    connection_limits::{self, ConnectionLimits},
    gossipsub::{
        self, IdentTopic, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds,
        TopicScoreParams, ValidationMode,
    },
    identify,
    identity::PublicKey,
    ping,
    request_response::{self, ProtocolSupport},
    swarm::NetworkBehaviour,
};
use sha2::{Digest, Sha256};

use crate::{
    config::{Config, Limits},
    error::StartError,
    gate::Gate,
    wire::{FrameCodec, Protocol},
};

/// Bytes allowed in a gossipsub RPC frame beyond its messages: the protobuf envelope
/// and piggybacked control messages.
pub const TRANSMIT_OVERHEAD_BYTES: usize = 64 * 1024;

/// The largest gossipsub frame read: room for a message of twice the limit, so that an
/// oversized message reaches the event loop and gets its sender banned, instead of only
/// closing the stream (a frame beyond this is dropped unread; after five such streams
/// gossipsub stops reading the connection's gossip).
pub fn max_frame_bytes(limits: &Limits) -> usize {
    limits
        .max_message_bytes
        .saturating_mul(2)
        .saturating_add(TRANSMIT_OVERHEAD_BYTES)
}

/// The delay before gossipsub's first heartbeat (a new node builds its mesh quickly).
const FIRST_HEARTBEAT: Duration = Duration::from_millis(100);

/// How long a message id is remembered to drop duplicates.
const DUPLICATE_CACHE: Duration = Duration::from_secs(120);

/// Per-topic weight of a message the application rejected (P4, applied squared).
pub const INVALID_MESSAGE_WEIGHT: f64 = -10.0;

/// Gossipsub score thresholds (defaults of the gossipsub v1.1 specification):
/// below `GOSSIP` no gossip is exchanged with the peer, below `PUBLISH` our own messages
/// are not flood-published to it, below `GRAYLIST` its RPCs are ignored.
pub const GOSSIP_THRESHOLD: f64 = -10.0;
/// See [`GOSSIP_THRESHOLD`].
pub const PUBLISH_THRESHOLD: f64 = -50.0;
/// See [`GOSSIP_THRESHOLD`].
pub const GRAYLIST_THRESHOLD: f64 = -80.0;

/// Mesh-less multicast DNS stand-in when the `mdns` feature is off.
#[cfg(not(feature = "mdns"))]
pub(crate) type Mdns = libp2p::swarm::dummy::Behaviour;
/// Multicast DNS discovery, switched on by `Config::mdns`.
#[cfg(feature = "mdns")]
pub(crate) type Mdns = libp2p::swarm::behaviour::toggle::Toggle<libp2p::mdns::tokio::Behaviour>;

/// The status codec: one status each way.
pub(crate) type StatusCodec<P> = FrameCodec<<P as Protocol>::Status, <P as Protocol>::Status>;
/// The application's request codec.
pub(crate) type RequestCodec<P> = FrameCodec<<P as Protocol>::Request, <P as Protocol>::Response>;

/// Everything the swarm runs, in the order it is asked whether a connection may exist.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour<P: Protocol> {
    pub(crate) gate: Gate,
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) gossipsub: gossipsub::Behaviour,
    pub(crate) status: request_response::Behaviour<StatusCodec<P>>,
    pub(crate) requests: request_response::Behaviour<RequestCodec<P>>,
    pub(crate) mdns: Mdns,
}

/// `/open-trust/<network>/status/<version>`.
pub fn status_protocol<P: Protocol>(network: &str) -> String {
    format!("/open-trust/{network}/status/{}", P::STATUS_VERSION)
}

/// `/open-trust/<network>/<name>/<version>`.
pub fn request_protocol<P: Protocol>(network: &str) -> String {
    format!("/open-trust/{network}/{}", P::REQUEST_PROTOCOL)
}

/// The identify protocol version string: `/open-trust/<network>/1`.
pub fn identify_version(network: &str) -> String {
    format!("/open-trust/{network}/1")
}

/// The message id: SHA-256 of the message's data, so equal content is one message
/// whoever publishes it.
pub fn message_id(data: &[u8]) -> MessageId {
    MessageId::new(&Sha256::digest(data))
}

impl<P: Protocol> Behaviour<P> {
    pub(crate) fn new(config: &Config, key: &PublicKey) -> Result<Self, StartError> {
        let limits = &config.limits;
        let stream = |name: String| {
            StreamProtocol::try_from_owned(name).map_err(|e| StartError::Config {
                reason: format!("protocol id: {e}"),
            })
        };
        let rr_config = request_response::Config::default()
            .with_request_timeout(limits.request_timeout)
            .with_max_concurrent_streams(limits.max_streams_per_connection);
        let status = request_response::Behaviour::with_codec(
            FrameCodec::new(),
            [(
                stream(status_protocol::<P>(&config.network))?,
                ProtocolSupport::Full,
            )],
            rr_config
                .clone()
                .with_request_timeout(limits.status_timeout),
        );
        let requests = request_response::Behaviour::with_codec(
            FrameCodec::new(),
            [(
                stream(request_protocol::<P>(&config.network))?,
                ProtocolSupport::Full,
            )],
            rr_config,
        );
        Ok(Behaviour {
            gate: Gate::new(limits.max_bans),
            limits: connection_limits::Behaviour::new(connection_limits(limits)),
            identify: identify::Behaviour::new(
                identify::Config::new(identify_version(&config.network), key.clone())
                    .with_agent_version(config.agent.clone())
                    .with_push_listen_addr_updates(false),
            ),
            ping: ping::Behaviour::new(ping::Config::new()),
            gossipsub: gossipsub_behaviour(config)?,
            status,
            requests,
            mdns: mdns(config, key)?,
        })
    }
}

fn connection_limits(limits: &Limits) -> ConnectionLimits {
    ConnectionLimits::default()
        .with_max_established(Some(limits.max_connections))
        .with_max_established_incoming(Some(limits.max_inbound_connections))
        .with_max_established_per_peer(Some(limits.max_connections_per_peer))
        .with_max_pending_incoming(Some(limits.max_pending_inbound))
        .with_max_pending_outgoing(Some(limits.max_pending_outbound))
}

/// Gossipsub's configuration (docs/p2p.md lists each value).
pub(crate) fn gossipsub_config(limits: &Limits) -> Result<gossipsub::Config, StartError> {
    gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Anonymous)
        .message_id_fn(|message: &gossipsub::Message| message_id(&message.data))
        .max_transmit_size(max_frame_bytes(limits))
        .validate_messages()
        .heartbeat_interval(limits.heartbeat)
        .heartbeat_initial_delay(FIRST_HEARTBEAT)
        .duplicate_cache_time(DUPLICATE_CACHE)
        .connection_handler_queue_len(limits.gossip_queue_len)
        .build()
        .map_err(|e| StartError::Config {
            reason: format!("gossipsub: {e}"),
        })
}

/// The peer score parameters: gossipsub's defaults, loopback exempt from the IP
/// colocation penalty (local test networks), and the application's score weighted 1.
pub(crate) fn score_params() -> PeerScoreParams {
    PeerScoreParams {
        app_specific_weight: 1.0,
        ip_colocation_factor_whitelist: HashSet::from([
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]),
        ..PeerScoreParams::default()
    }
}

/// Per-topic score: time in mesh and first deliveries count for a peer, rejected
/// messages against it; the delivery-rate penalties (P3, P3b) are off, since
/// announcements are rare and bursty and a quiet honest peer must not be pruned.
pub(crate) fn topic_params() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 100.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 10.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: 0.99,
        ..TopicScoreParams::default()
    }
}

pub(crate) fn score_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds {
        gossip_threshold: GOSSIP_THRESHOLD,
        publish_threshold: PUBLISH_THRESHOLD,
        graylist_threshold: GRAYLIST_THRESHOLD,
        ..PeerScoreThresholds::default()
    }
}

fn gossipsub_behaviour(config: &Config) -> Result<gossipsub::Behaviour, StartError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| StartError::Config {
        reason: format!("gossipsub {what}: {e}"),
    };
    let mut gossipsub = gossipsub::Behaviour::new(
        MessageAuthenticity::Anonymous,
        gossipsub_config(&config.limits)?,
    )
    .map_err(|e| bad("behaviour", &e))?;
    gossipsub
        .with_peer_score(score_params(), score_thresholds())
        .map_err(|e| bad("score", &e))?;
    for topic in &config.topics {
        let topic = IdentTopic::new(topic.clone());
        gossipsub
            .set_topic_params(topic.clone(), topic_params())
            .map_err(|e| bad("topic score", &e))?;
        gossipsub
            .subscribe(&topic)
            .map_err(|e| bad("subscription", &e))?;
    }
    Ok(gossipsub)
}

#[cfg(not(feature = "mdns"))]
fn mdns(_: &Config, _: &PublicKey) -> Result<Mdns, StartError> {
    Ok(libp2p::swarm::dummy::Behaviour)
}

#[cfg(feature = "mdns")]
fn mdns(config: &Config, key: &PublicKey) -> Result<Mdns, StartError> {
    let inner = if config.mdns {
        Some(
            libp2p::mdns::tokio::Behaviour::new(libp2p::mdns::Config::default(), key.to_peer_id())
                .map_err(|e| StartError::Config {
                    reason: format!("mdns: {e}"),
                })?,
        )
    } else {
        None
    };
    Ok(inner.into())
}
