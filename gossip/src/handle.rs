//! `Network`, the cheap cloneable handle: every call is a command to the event loop over
//! a bounded channel, answered on a oneshot channel.

use std::{fmt, time::Duration};

use libp2p::{
    Multiaddr, PeerId,
    gossipsub::{MessageAcceptance, MessageId},
    request_response::ResponseChannel,
};
use tokio::sync::{mpsc, oneshot};

use crate::{
    config::Config,
    error::{CommandError, RequestError, StartError, Stopped},
    event::{Direction, Events},
    service,
    wire::{Frame, Protocol},
};

/// The application's verdict on a gossip message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: forward it to the mesh.
    Accept,
    /// Invalid: do not forward; the peer that sent it is penalised in gossipsub's score.
    Reject,
    /// Not to be forwarded, without penalty (a duplicate, stale or unverifiable now).
    Ignore,
}

impl Verdict {
    pub(crate) fn acceptance(self) -> MessageAcceptance {
        match self {
            Verdict::Accept => MessageAcceptance::Accept,
            Verdict::Reject => MessageAcceptance::Reject,
            Verdict::Ignore => MessageAcceptance::Ignore,
        }
    }
}

/// How bad a peer's misbehaviour was. Penalties add up per connected peer; at
/// [`BAN_SCORE`] the peer is banned for `Limits::ban_duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// 10 points: something an honest peer may do rarely (an unrequested message).
    Minor,
    /// 40 points: something an honest peer should not do (an invalid response).
    Serious,
    /// 100 points: proof of malice or a broken peer (invalid proof of work, garbage
    /// frames, a status from another network): banned at once.
    Fatal,
}

/// The penalty at which a peer is banned.
pub const BAN_SCORE: u32 = 100;

impl Severity {
    /// The penalty points.
    pub fn points(self) -> u32 {
        match self {
            Severity::Minor => 10,
            Severity::Serious => 40,
            Severity::Fatal => BAN_SCORE,
        }
    }
}

/// What the node knows of a connected peer.
#[derive(Debug, Clone)]
pub struct PeerInfo<P: Protocol> {
    /// The peer.
    pub peer: PeerId,
    /// The remote address of each of its connections.
    pub addresses: Vec<Multiaddr>,
    /// Who dialled its first connection.
    pub direction: Direction,
    /// Time since its first connection opened.
    pub connected_for: Duration,
    /// Its status, once exchanged (`None` for a peer that speaks gossipsub only).
    pub status: Option<P::Status>,
    /// Its gossipsub score.
    pub gossip_score: f64,
    /// Misbehaviour penalty points (see [`Severity`]).
    pub penalty: u32,
    /// The agent string it sent through identify.
    pub agent: Option<String>,
    /// Its last ping round trip.
    pub ping: Option<Duration>,
    /// The topics on which it is in our gossipsub mesh.
    pub mesh_topics: Vec<String>,
}

/// Counters of what the event loop dropped or refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events dropped because the application's queue was full.
    pub events_dropped: u64,
    /// Gossip messages ignored without being delivered (queue full, too many awaiting
    /// validation).
    pub messages_shed: u64,
    /// Gossip messages ignored because their validation timed out.
    pub validations_timed_out: u64,
    /// Gossip messages awaiting validation now.
    pub pending_validations: usize,
    /// Inbound requests refused (rate, concurrency, queue full).
    pub requests_refused: u64,
    /// Inbound connections that failed before they were established.
    pub incoming_connection_errors: u64,
    /// Peers banned since start.
    pub bans: u64,
}

pub(crate) type Answer<T> = oneshot::Sender<T>;

/// One command for the event loop.
pub(crate) enum Command<P: Protocol> {
    Publish {
        topic: String,
        data: Vec<u8>,
        answer: Answer<Result<MessageId, CommandError>>,
    },
    Validate {
        id: MessageId,
        verdict: Verdict,
    },
    Request {
        peer: PeerId,
        frame: Frame<P::Request>,
        answer: Answer<Result<P::Response, RequestError>>,
    },
    Respond {
        channel: ResponseChannel<Frame<P::Response>>,
        frame: Frame<P::Response>,
    },
    Dial {
        address: Multiaddr,
        answer: Answer<Result<(), CommandError>>,
    },
    AddPeer {
        address: Multiaddr,
    },
    RemovePeer {
        address: Multiaddr,
        answer: Answer<bool>,
    },
    Disconnect {
        peer: PeerId,
        answer: Answer<bool>,
    },
    Ban {
        peer: PeerId,
        duration: Duration,
        reason: String,
    },
    Unban {
        peer: PeerId,
        answer: Answer<bool>,
    },
    Report {
        peer: PeerId,
        severity: Severity,
        reason: String,
    },
    SetActive {
        active: bool,
        answer: Answer<()>,
    },
    SetStatus {
        status: P::Status,
    },
    Peers {
        answer: Answer<Vec<PeerInfo<P>>>,
    },
    ListenAddrs {
        answer: Answer<Vec<Multiaddr>>,
    },
    Stats {
        answer: Answer<Stats>,
    },
    Shutdown {
        answer: Answer<()>,
    },
}

/// The handle to the network: cheap to clone; the event loop stops when every handle
/// (and every unanswered [`crate::Reply`]) is dropped, or at [`Network::shutdown`].
pub struct Network<P: Protocol> {
    commands: mpsc::Sender<Command<P>>,
    peer_id: PeerId,
}

impl<P: Protocol> Clone for Network<P> {
    fn clone(&self) -> Self {
        Network {
            commands: self.commands.clone(),
            peer_id: self.peer_id,
        }
    }
}

impl<P: Protocol> fmt::Debug for Network<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("peer_id", &self.peer_id)
            .finish()
    }
}

impl<P: Protocol> Network<P> {
    /// Builds the swarm, binds every listen address, subscribes to the topics, spawns
    /// the event loop on the current tokio runtime and starts dialling the static peers.
    /// `status` is what the node tells each new peer (see [`Network::set_status`]).
    ///
    /// # Errors
    /// [`StartError`] for a configuration out of range, or an address that cannot be
    /// bound.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub async fn start(config: Config, status: P::Status) -> Result<(Self, Events<P>), StartError> {
        let peer_id = config.keypair.public().to_peer_id();
        let (commands, events) = service::start(config, status).await?;
        Ok((Network { commands, peer_id }, events))
    }

    /// Our peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.peer_id
    }

    async fn ask<T>(&self, command: impl FnOnce(Answer<T>) -> Command<P>) -> Result<T, Stopped> {
        let (answer, rx) = oneshot::channel();
        self.commands
            .send(command(answer))
            .await
            .map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }

    async fn tell(&self, command: Command<P>) -> Result<(), Stopped> {
        self.commands.send(command).await.map_err(|_| Stopped)
    }

    /// Publishes `data` on `topic`; returns its id (SHA-256 of `data`).
    ///
    /// # Errors
    /// [`CommandError::MessageTooLarge`] over `Limits::max_message_bytes`,
    /// [`CommandError::Publish`] when gossipsub refuses it (no peer on the topic, the
    /// same content published before), [`CommandError::Stopped`].
    pub async fn publish(
        &self,
        topic: impl Into<String>,
        data: Vec<u8>,
    ) -> Result<MessageId, CommandError> {
        let topic = topic.into();
        self.ask(|answer| Command::Publish {
            topic,
            data,
            answer,
        })
        .await?
    }

    /// Gives the verdict on a message delivered as `Event::Message`.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn validate(&self, id: MessageId, verdict: Verdict) -> Result<(), Stopped> {
        self.tell(Command::Validate { id, verdict }).await
    }

    /// Sends `request` to `peer` and waits for its response (at most
    /// `Limits::request_timeout`). A malformed response bans the peer.
    ///
    /// # Errors
    /// See [`RequestError`].
    pub async fn request(
        &self,
        peer: PeerId,
        request: P::Request,
    ) -> Result<P::Response, RequestError> {
        let frame = Frame::encode(&request).map_err(RequestError::Encode)?;
        self.ask(|answer| Command::Request {
            peer,
            frame,
            answer,
        })
        .await?
    }

    /// Dials `address` once (`/p2p/<peer id>` at its end is checked against the peer).
    ///
    /// # Errors
    /// [`CommandError::Dial`] when the dial cannot start (banned peer, limit reached,
    /// unsupported address), [`CommandError::Inactive`], [`CommandError::Stopped`].
    pub async fn dial(&self, address: Multiaddr) -> Result<(), CommandError> {
        self.ask(|answer| Command::Dial { address, answer }).await?
    }

    /// Adds a static peer: dialled now and redialled with backoff whenever it is not
    /// connected.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn add_peer(&self, address: Multiaddr) -> Result<(), Stopped> {
        self.tell(Command::AddPeer { address }).await
    }

    /// Removes a static peer (its connection stays); false if it was not one.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn remove_peer(&self, address: Multiaddr) -> Result<bool, Stopped> {
        self.ask(|answer| Command::RemovePeer { address, answer })
            .await
    }

    /// Closes every connection to `peer`; false if it was not connected.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn disconnect(&self, peer: PeerId) -> Result<bool, Stopped> {
        self.ask(|answer| Command::Disconnect { peer, answer })
            .await
    }

    /// Bans `peer` for `duration`: disconnected, its connections refused.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn ban(
        &self,
        peer: PeerId,
        duration: Duration,
        reason: impl Into<String>,
    ) -> Result<(), Stopped> {
        self.tell(Command::Ban {
            peer,
            duration,
            reason: reason.into(),
        })
        .await
    }

    /// Lifts a ban; false if the peer was not banned.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn unban(&self, peer: PeerId) -> Result<bool, Stopped> {
        self.ask(|answer| Command::Unban { peer, answer }).await
    }

    /// Reports misbehaviour: the peer's penalty grows by `severity.points()`, its
    /// gossipsub application score follows, and at [`BAN_SCORE`] it is banned.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn report(
        &self,
        peer: PeerId,
        severity: Severity,
        reason: impl Into<String>,
    ) -> Result<(), Stopped> {
        self.tell(Command::Report {
            peer,
            severity,
            reason: reason.into(),
        })
        .await
    }

    /// `false` closes every connection and refuses new ones (and dials none) until
    /// `true`.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn set_active(&self, active: bool) -> Result<(), Stopped> {
        self.ask(|answer| Command::SetActive { active, answer })
            .await
    }

    /// Replaces the status told to peers from now on.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn set_status(&self, status: P::Status) -> Result<(), Stopped> {
        self.tell(Command::SetStatus { status }).await
    }

    /// The connected peers.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn peers(&self) -> Result<Vec<PeerInfo<P>>, Stopped> {
        self.ask(|answer| Command::Peers { answer }).await
    }

    /// Our listen addresses, each ending in `/p2p/<our peer id>`.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, Stopped> {
        self.ask(|answer| Command::ListenAddrs { answer }).await
    }

    /// What the event loop dropped or refused so far.
    ///
    /// # Errors
    /// [`Stopped`] when the event loop has stopped.
    pub async fn stats(&self) -> Result<Stats, Stopped> {
        self.ask(|answer| Command::Stats { answer }).await
    }

    /// Stops the event loop and closes every connection.
    ///
    /// # Errors
    /// [`Stopped`] when it had already stopped.
    pub async fn shutdown(&self) -> Result<(), Stopped> {
        self.ask(|answer| Command::Shutdown { answer }).await
    }
}
