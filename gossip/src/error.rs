//! The crate's typed errors, one enum per operation.

use std::{io, path::PathBuf};

use libp2p::PeerId;

/// Why untrusted bytes are not a value of the application's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed value: {reason}")]
pub struct DecodeError {
    /// What is wrong, in words.
    pub reason: String,
}

impl DecodeError {
    /// An error with this reason.
    pub fn new(reason: impl Into<String>) -> Self {
        DecodeError {
            reason: reason.into(),
        }
    }
}

/// Why a peer's request-response frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The length prefix is not a minimal varint of at most 5 bytes.
    #[error("bad length prefix")]
    BadLengthPrefix,
    /// The frame announces more bytes than the type accepts.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The announced length.
        len: u64,
        /// The type's `Wire::MAX_BYTES`.
        max: u64,
    },
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(DecodeError),
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A configuration value is out of range.
    #[error("invalid configuration: {reason}")]
    Config {
        /// Which value and why.
        reason: String,
    },
    /// A listen address could not be bound.
    #[error("cannot listen on {address}")]
    Listen {
        /// The address.
        address: String,
        /// The transport's error.
        #[source]
        source: libp2p::TransportError<io::Error>,
    },
    /// The transport could not be built.
    #[error("cannot build the transport")]
    Transport {
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The event loop has stopped: the handle can do nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the network event loop has stopped")]
pub struct Stopped;

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The event loop has stopped.
    #[error(transparent)]
    Stopped(#[from] Stopped),
    /// Publishing was refused by gossipsub (no peer on the topic, too large, duplicate).
    #[error("publish refused: {reason}")]
    Publish {
        /// Gossipsub's reason.
        reason: String,
    },
    /// The message is larger than the configured maximum.
    #[error("message of {len} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// Its length.
        len: usize,
        /// `Limits::max_message_bytes`.
        max: usize,
    },
    /// A dial could not be started.
    #[error("cannot dial {address}: {reason}")]
    Dial {
        /// The address.
        address: String,
        /// The swarm's reason.
        reason: String,
    },
    /// The network is inactive (`set_active(false)`).
    #[error("the network is inactive")]
    Inactive,
}

/// Why a request got no usable response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The event loop has stopped.
    #[error(transparent)]
    Stopped(#[from] Stopped),
    /// The peer is not connected.
    #[error("peer {peer} is not connected")]
    NotConnected {
        /// The peer.
        peer: PeerId,
    },
    /// Too many requests to this peer are in flight.
    #[error("{limit} requests to peer {peer} are already in flight")]
    TooManyInFlight {
        /// The peer.
        peer: PeerId,
        /// `Limits::max_outbound_requests_per_peer`.
        limit: usize,
    },
    /// The request's encoding is larger than its type's limit.
    #[error("request not sent: {0}")]
    Encode(WireError),
    /// No response arrived in time.
    #[error("request to peer {peer} timed out")]
    Timeout {
        /// The peer.
        peer: PeerId,
    },
    /// The connection closed, the peer refused the stream, or the stream failed.
    #[error("request to peer {peer} failed: {reason}")]
    Failed {
        /// The peer.
        peer: PeerId,
        /// What happened.
        reason: String,
    },
    /// The peer answered with a frame that was refused; the peer has been banned.
    #[error("peer {peer} sent a malformed response")]
    Malformed {
        /// The peer.
        peer: PeerId,
        /// What was wrong.
        #[source]
        source: WireError,
    },
}

/// Why the node key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read, created or written.
    #[error("key file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file can be read by other users.
    #[error("key file {path} is readable by others (mode {mode:o}); make it 0600")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// The file does not hold an Ed25519 key in libp2p's key encoding.
    #[error("key file {path} does not hold an ed25519 libp2p private key")]
    Malformed {
        /// The file.
        path: PathBuf,
    },
}
