//! The peer-to-peer network layer: libp2p over TCP with noise and yamux, gossipsub for
//! announcements and request-response for history, generic over the application's
//! message types. It knows nothing about blocks.
//!
//! One task (the event loop) owns the libp2p swarm. The application holds a cheap,
//! cloneable [`Network`] handle whose calls are commands over a bounded channel with
//! oneshot answers, and reads typed [`Event`]s from a bounded queue that never makes the
//! loop wait: when it is full, events are dropped and an [`Event::Lagged`] says how many.
//!
//! - Gossip messages are anonymous (no author, sequence number or signature), their id
//!   is the SHA-256 of their data, and each waits for the application's [`Verdict`]
//!   before it is forwarded.
//! - The application's [`Protocol`] names a status value exchanged when a connection
//!   opens and one request-response pair; each is a [`Wire`] type with its encoding and
//!   size limit, framed with a varint length that is checked before anything is read.
//! - Peers that send malformed frames, or that the application reports with a
//!   [`Severity`] adding up to [`BAN_SCORE`], are disconnected and banned.
//!
//! The wire protocol is described in `docs/p2p.md`.
//!
//! ```no_run
//! use gossip::{Config, DecodeError, Event, Network, Protocol, Verdict, Wire};
//!
//! #[derive(Debug, Clone)]
//! struct Height(u64);
//! impl Wire for Height {
//!     const MAX_BYTES: usize = 8;
//!     fn to_bytes(&self) -> Vec<u8> { self.0.to_be_bytes().to_vec() }
//!     fn from_bytes(b: &[u8]) -> Result<Self, DecodeError> {
//!         let b: [u8; 8] = b.try_into().map_err(|_| DecodeError::new("need 8 bytes"))?;
//!         Ok(Height(u64::from_be_bytes(b)))
//!     }
//! }
//! struct Demo;
//! impl Protocol for Demo {
//!     type Status = Height;
//!     type Request = Height;
//!     type Response = Height;
//!     const STATUS_VERSION: &'static str = "1";
//!     const REQUEST_PROTOCOL: &'static str = "height/1";
//! }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::new(gossip::Keypair::generate_ed25519(), "regtest");
//! config.listen.push("/ip4/127.0.0.1/tcp/0".parse()?);
//! config.topics.push("demo".to_owned());
//! let (network, mut events) = Network::<Demo>::start(config, Height(0)).await?;
//! while let Some(event) = events.recv().await {
//!     if let Event::Message { id, .. } = event {
//!         network.validate(id, Verdict::Accept).await?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod behaviour;
mod config;
mod error;
mod event;
mod gate;
mod handle;
mod identity;
mod service;
mod wire;

pub use behaviour::{
    GOSSIP_THRESHOLD, GRAYLIST_THRESHOLD, INVALID_MESSAGE_WEIGHT, PUBLISH_THRESHOLD,
    TRANSMIT_OVERHEAD_BYTES, identify_version, max_frame_bytes, message_id, request_protocol,
    status_protocol,
};
pub use config::{BLOCK_LIMIT_BYTES, Config, Limits, MAX_TOPIC_BYTES};
pub use error::{
    CommandError, DecodeError, KeyError, RequestError, StartError, Stopped, WireError,
};
pub use event::{Direction, Event, Events, Reply};
pub use handle::{BAN_SCORE, Network, PeerInfo, Severity, Stats, Verdict};
pub use identity::load_or_create_keypair;
pub use libp2p::{Multiaddr, PeerId, gossipsub::MessageId, identity::Keypair};
pub use wire::{
    MAX_PREFIX_BYTES, Prefix, Protocol, Wire, encode_length, length_prefix, parse_length,
};
