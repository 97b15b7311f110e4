//! What the event loop tells the application, and how it never waits for it: a bounded
//! queue that drops events when full and then says how many were dropped.

use std::{fmt, time::Duration};

use libp2p::{Multiaddr, PeerId, gossipsub::MessageId, request_response::ResponseChannel};
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::{
    error::{CommandError, Stopped},
    handle::Command,
    wire::{Frame, Protocol, Wire},
};

/// Which side opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We dialled the peer.
    Outbound,
    /// The peer dialled us.
    Inbound,
}

/// Something that happened on the network.
pub enum Event<P: Protocol> {
    /// A gossip message arrived and awaits the application's verdict
    /// ([`crate::Network::validate`]) before it is forwarded. Unanswered after
    /// `Limits::validation_timeout`, it is ignored (not forwarded).
    Message {
        /// SHA-256 of `data`.
        id: MessageId,
        /// The peer that forwarded it to us (messages carry no author).
        source: PeerId,
        /// The topic's name.
        topic: String,
        /// The payload, at most `Limits::max_message_bytes`.
        data: Vec<u8>,
    },
    /// A peer asks for something; answer through `reply` (dropping it closes the
    /// peer's stream without an answer).
    Request {
        /// The asking peer.
        peer: PeerId,
        /// The decoded request.
        request: P::Request,
        /// Where the answer goes.
        reply: Reply<P>,
    },
    /// A peer completed the status exchange.
    PeerReady {
        /// The peer.
        peer: PeerId,
        /// Its status, as it sent it.
        status: P::Status,
        /// The remote address of its first connection.
        address: Multiaddr,
        /// Who dialled.
        direction: Direction,
    },
    /// A peer that was ready has no connection left.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
    },
    /// A peer was banned: disconnected, its connections refused for `duration`.
    PeerBanned {
        /// The peer.
        peer: PeerId,
        /// How long.
        duration: Duration,
        /// Why, in words.
        reason: String,
    },
    /// The queue was full and `missed` events were dropped before this one: dropped
    /// messages were ignored (not forwarded), dropped requests closed unanswered, and
    /// peer changes can be read again with [`crate::Network::peers`].
    Lagged {
        /// How many events were dropped.
        missed: u64,
    },
}

impl<P: Protocol> fmt::Debug for Event<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Message {
                id,
                source,
                topic,
                data,
            } => f
                .debug_struct("Message")
                .field("id", id)
                .field("source", source)
                .field("topic", topic)
                .field("len", &data.len())
                .finish(),
            Event::Request { peer, request, .. } => f
                .debug_struct("Request")
                .field("peer", peer)
                .field("request", request)
                .finish(),
            Event::PeerReady {
                peer,
                status,
                address,
                direction,
            } => f
                .debug_struct("PeerReady")
                .field("peer", peer)
                .field("status", status)
                .field("address", address)
                .field("direction", direction)
                .finish(),
            Event::PeerDisconnected { peer } => f
                .debug_struct("PeerDisconnected")
                .field("peer", peer)
                .finish(),
            Event::PeerBanned {
                peer,
                duration,
                reason,
            } => f
                .debug_struct("PeerBanned")
                .field("peer", peer)
                .field("duration", duration)
                .field("reason", reason)
                .finish(),
            Event::Lagged { missed } => f.debug_struct("Lagged").field("missed", missed).finish(),
        }
    }
}

/// The way back to a peer that made a request.
pub struct Reply<P: Protocol> {
    pub(crate) peer: PeerId,
    pub(crate) channel: ResponseChannel<Frame<P::Response>>,
    pub(crate) commands: mpsc::Sender<Command<P>>,
}

impl<P: Protocol> Reply<P> {
    /// The peer that asked.
    pub fn peer(&self) -> PeerId {
        self.peer
    }

    /// Sends the answer.
    ///
    /// # Errors
    /// [`CommandError::Stopped`] when the event loop has stopped; a response whose
    /// encoding exceeds `P::Response::MAX_BYTES` is refused with
    /// [`CommandError::MessageTooLarge`] and the peer's stream is closed unanswered.
    pub async fn send(self, response: P::Response) -> Result<(), CommandError> {
        let frame = Frame::encode(&response).map_err(|_| CommandError::MessageTooLarge {
            len: response.to_bytes().len(),
            max: <P::Response as Wire>::MAX_BYTES,
        })?;
        self.commands
            .send(Command::Respond {
                channel: self.channel,
                frame,
            })
            .await
            .map_err(|_| CommandError::Stopped(Stopped))
    }
}

impl<P: Protocol> fmt::Debug for Reply<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply").field("peer", &self.peer).finish()
    }
}

/// The application's end of the event queue.
pub struct Events<P: Protocol> {
    pub(crate) rx: mpsc::Receiver<Event<P>>,
}

impl<P: Protocol> Events<P> {
    /// The next event; `None` once the event loop has stopped and the queue is empty.
    pub async fn recv(&mut self) -> Option<Event<P>> {
        self.rx.recv().await
    }

    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Option<Event<P>> {
        self.rx.try_recv().ok()
    }

    /// Events queued now (at most `Limits::event_capacity`).
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no event is queued.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }
}

/// The event loop's end: never waits, drops when full.
pub(crate) struct EventQueue<P: Protocol> {
    tx: mpsc::Sender<Event<P>>,
    missed: u64,
    dropped_total: u64,
}

impl<P: Protocol> EventQueue<P> {
    pub(crate) fn new(capacity: usize) -> (Self, Events<P>) {
        let (tx, rx) = mpsc::channel(capacity);
        (
            EventQueue {
                tx,
                missed: 0,
                dropped_total: 0,
            },
            Events { rx },
        )
    }

    /// Queues `event`, after a pending `Lagged`; gives it back when it was dropped.
    pub(crate) fn push(&mut self, event: Event<P>) -> Result<(), Box<Event<P>>> {
        if !self.flush_lagged() {
            return Err(self.drop_event(event));
        }
        match self.tx.try_send(event) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(event)) => Err(self.drop_event(event)),
            // Nobody listens: nothing to tell later.
            Err(TrySendError::Closed(event)) => Err(Box::new(event)),
        }
    }

    /// Sends the pending `Lagged`, if any; false when there is no room for it.
    pub(crate) fn flush_lagged(&mut self) -> bool {
        if self.missed == 0 {
            return true;
        }
        match self.tx.try_reserve() {
            Ok(permit) => {
                permit.send(Event::Lagged {
                    missed: self.missed,
                });
                self.missed = 0;
                true
            }
            Err(_) => false,
        }
    }

    fn drop_event(&mut self, event: Event<P>) -> Box<Event<P>> {
        if !self.tx.is_closed() {
            self.missed += 1;
            self.dropped_total += 1;
        }
        Box::new(event)
    }

    pub(crate) fn dropped_total(&self) -> u64 {
        self.dropped_total
    }
}
