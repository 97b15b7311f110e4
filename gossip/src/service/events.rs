//! How the event loop answers the swarm: connections opening and closing, the status
//! exchange, gossip messages, requests and responses, identify and ping.

use std::time::Instant;

use libp2p::{
    PeerId,
    core::ConnectedPoint,
    gossipsub::{self, MessageAcceptance},
    identify, ping,
    request_response::{self, OutboundFailure},
    swarm::SwarmEvent,
};

use super::{EventLoop, state::PeerState, state::TokenBucket};
use crate::{
    behaviour::BehaviourEvent,
    error::{RequestError, WireError},
    event::{Direction, Event, Reply},
    handle::Severity,
    wire::{Frame, Protocol},
};

type StatusEvent<P> =
    request_response::Event<Frame<<P as Protocol>::Status>, Frame<<P as Protocol>::Status>>;
type RequestEvent<P> =
    request_response::Event<Frame<<P as Protocol>::Request>, Frame<<P as Protocol>::Response>>;

impl<P: Protocol> EventLoop<P> {
    pub(super) fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent<P>>) {
        let now = Instant::now();
        match event {
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                let (address, direction) = match &endpoint {
                    ConnectedPoint::Dialer { address, .. } => {
                        (address.clone(), Direction::Outbound)
                    }
                    ConnectedPoint::Listener { send_back_addr, .. } => {
                        (send_back_addr.clone(), Direction::Inbound)
                    }
                };
                self.static_peers.connected(connection_id, peer_id);
                if let Some(state) = self.peers.get_mut(&peer_id) {
                    state.connections.insert(connection_id, address);
                } else {
                    let bucket = TokenBucket::new(
                        self.limits.requests_per_second,
                        self.limits.request_burst,
                        now,
                    );
                    self.peers.insert(
                        peer_id,
                        PeerState::new(connection_id, address, direction, bucket, now),
                    );
                }
                if num_established.get() == 1 {
                    // Both sides send their status when the first connection opens.
                    let status = Frame::Value(self.status.clone());
                    self.swarm
                        .behaviour_mut()
                        .status
                        .send_request(&peer_id, status);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                if let Some(state) = self.peers.get_mut(&peer_id) {
                    state.connections.remove(&connection_id);
                }
                if num_established == 0 {
                    let was_ready = self
                        .peers
                        .remove(&peer_id)
                        .is_some_and(|s| s.status.is_some());
                    self.static_peers.disconnected(peer_id, now);
                    if was_ready {
                        let _ = self.events.push(Event::PeerDisconnected { peer: peer_id });
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError { connection_id, .. } => {
                self.static_peers.dial_failed(connection_id, now);
            }
            SwarmEvent::IncomingConnectionError { .. } => {
                self.stats.incoming_connection_errors += 1;
            }
            SwarmEvent::NewListenAddr { address, .. } if !self.listen_addrs.contains(&address) => {
                self.listen_addrs.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.retain(|a| *a != address);
            }
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent<P>) {
        match event {
            BehaviourEvent::Gossipsub(event) => self.on_gossip(event),
            BehaviourEvent::Status(event) => self.on_status(event),
            BehaviourEvent::Requests(event) => self.on_request(event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                if let Some(state) = self.peers.get_mut(&peer_id) {
                    // Bounded: identify messages are at most 4 KiB.
                    state.agent = Some(info.agent_version);
                }
            }
            BehaviourEvent::Ping(ping::Event {
                peer,
                result: Ok(rtt),
                ..
            }) => {
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.ping = Some(rtt);
                }
            }
            #[cfg(feature = "mdns")]
            BehaviourEvent::Mdns(libp2p::mdns::Event::Discovered(found)) => {
                for (peer, address) in found {
                    if !self.swarm.is_connected(&peer) && self.swarm.behaviour().gate.is_active() {
                        let _ = self.swarm.dial(
                            libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                                .addresses(vec![address])
                                .build(),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        let verdict = |this: &mut Self, acceptance| {
            this.swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(&message_id, &propagation_source, acceptance);
        };
        if message.data.len() > self.limits.max_message_bytes {
            verdict(self, MessageAcceptance::Reject);
            let reason = format!(
                "oversized gossip message: {} bytes, the limit is {}",
                message.data.len(),
                self.limits.max_message_bytes
            );
            self.penalize(propagation_source, Severity::Fatal, reason);
            return;
        }
        if self.validations.is_full() {
            self.stats.messages_shed += 1;
            verdict(self, MessageAcceptance::Ignore);
            return;
        }
        let pushed = self.events.push(Event::Message {
            id: message_id.clone(),
            source: propagation_source,
            topic: message.topic.into_string(),
            data: message.data,
        });
        match pushed {
            Ok(()) => {
                self.validations
                    .insert(message_id, propagation_source, Instant::now());
            }
            Err(_) => {
                self.stats.messages_shed += 1;
                verdict(self, MessageAcceptance::Ignore);
            }
        }
    }

    /// The peer's status arrived (in its request or in its response).
    fn got_status(&mut self, peer: PeerId, status: P::Status) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let first = state.status.is_none();
        state.status = Some(status.clone());
        if first {
            let event = Event::PeerReady {
                peer,
                status,
                address: state.first_address.clone(),
                direction: state.direction,
            };
            self.static_peers.ready(peer);
            let _ = self.events.push(event);
        }
    }

    fn on_status(&mut self, event: StatusEvent<P>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => match request {
                    Frame::Value(status) => {
                        let ours = Frame::Value(self.status.clone());
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .status
                            .send_response(channel, ours);
                        self.got_status(peer, status);
                    }
                    other => self.malformed(peer, "status", &frame_reason(&other)),
                },
                request_response::Message::Response { response, .. } => match response {
                    Frame::Value(status) => self.got_status(peer, status),
                    other => self.malformed(peer, "status", &frame_reason(&other)),
                },
            },
            request_response::Event::OutboundFailure { peer, error, .. } => match error {
                OutboundFailure::UnsupportedProtocols => {
                    if let Some(state) = self.peers.get_mut(&peer) {
                        state.gossip_only = true;
                    }
                }
                OutboundFailure::Timeout => {
                    // No status in time: the slot goes to someone else.
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn on_request(&mut self, event: RequestEvent<P>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request_id,
                    request,
                    channel,
                } => {
                    let request = match request {
                        Frame::Value(request) => request,
                        other => {
                            self.malformed(peer, "request", &frame_reason(&other));
                            return;
                        }
                    };
                    let now = Instant::now();
                    let max = self.limits.max_inbound_requests_per_peer;
                    let Some(state) = self.peers.get_mut(&peer) else {
                        return;
                    };
                    if !state.bucket.take(now) || state.inbound.len() >= max {
                        // Dropping the channel closes the stream unanswered.
                        self.stats.requests_refused += 1;
                        self.penalize(peer, Severity::Minor, "request flood".to_owned());
                        return;
                    }
                    state.inbound.insert(request_id);
                    let Some(commands) = self.weak_commands.upgrade() else {
                        return;
                    };
                    let reply = Reply {
                        peer,
                        channel,
                        commands,
                    };
                    if self
                        .events
                        .push(Event::Request {
                            peer,
                            request,
                            reply,
                        })
                        .is_err()
                    {
                        self.stats.requests_refused += 1;
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    let Some((peer, answer)) = self.take_request(&request_id) else {
                        return;
                    };
                    match response {
                        Frame::Value(response) => {
                            let _ = answer.send(Ok(response));
                        }
                        other => {
                            let source = frame_error(&other);
                            self.malformed(peer, "response", &source.to_string());
                            let _ = answer.send(Err(RequestError::Malformed { peer, source }));
                        }
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some((_, answer)) = self.take_request(&request_id) {
                    let error = match error {
                        OutboundFailure::Timeout => RequestError::Timeout { peer },
                        other => RequestError::Failed {
                            peer,
                            reason: other.to_string(),
                        },
                    };
                    let _ = answer.send(Err(error));
                }
            }
            request_response::Event::InboundFailure {
                peer, request_id, ..
            } => {
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.inbound.remove(&request_id);
                }
            }
            request_response::Event::ResponseSent {
                peer, request_id, ..
            } => {
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.inbound.remove(&request_id);
                }
            }
        }
    }

    fn take_request(
        &mut self,
        id: &request_response::OutboundRequestId,
    ) -> Option<(PeerId, super::ResponseTo<P>)> {
        let (peer, answer) = self.requests.remove(id)?;
        if let Some(state) = self.peers.get_mut(&peer) {
            state.outbound = state.outbound.saturating_sub(1);
        }
        Some((peer, answer))
    }

    /// A peer sent a frame of our protocol that was refused: banned at once.
    fn malformed(&mut self, peer: PeerId, what: &str, reason: &str) {
        self.penalize(peer, Severity::Fatal, format!("malformed {what}: {reason}"));
    }
}

fn frame_error<T>(frame: &Frame<T>) -> WireError {
    match frame {
        Frame::Refused(e) => e.clone(),
        // Never read from a peer: only our own values are encoded.
        Frame::Value(_) | Frame::Encoded(_) => WireError::BadLengthPrefix,
    }
}

fn frame_reason<T>(frame: &Frame<T>) -> String {
    frame_error(frame).to_string()
}
