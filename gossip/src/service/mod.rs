//! The event loop: the one task that owns the swarm. Commands come in from the handles,
//! swarm events are turned into the application's events, and a tick expires bans and
//! validations and redials static peers. Nothing else touches the swarm.

mod events;
mod state;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use libp2p::{
    Multiaddr, PeerId, Swarm, SwarmBuilder,
    gossipsub::{IdentTopic, TopicHash},
    multiaddr, noise,
    request_response::OutboundRequestId,
    swarm::{SwarmEvent, dial_opts::DialOpts},
    tcp, yamux,
};
use tokio::sync::mpsc;

use crate::{
    behaviour::Behaviour,
    config::{Config, Limits},
    error::{CommandError, RequestError, StartError},
    event::{EventQueue, Events},
    handle::{Answer, BAN_SCORE, Command, PeerInfo, Severity, Stats},
    wire::{Frame, Protocol},
};
use state::{Dial, PeerState, StaticPeers, Validations};

/// How often bans, validations and static peers are looked at.
const TICK: Duration = Duration::from_millis(100);

/// The longest `start` waits for the listeners to report their addresses.
const LISTEN_WAIT: Duration = Duration::from_secs(5);

/// Where the response to an outbound request goes.
pub(crate) type ResponseTo<P> = Answer<Result<<P as Protocol>::Response, RequestError>>;

/// Builds the swarm and spawns the loop.
pub(crate) async fn start<P: Protocol>(
    config: Config,
    status: P::Status,
) -> Result<(mpsc::Sender<Command<P>>, Events<P>), StartError> {
    config.validate()?;
    let behaviour = Behaviour::<P>::new(&config, &config.keypair.public())?;
    let limits = config.limits.clone();
    let mut swarm = SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| StartError::Transport {
            source: Box::new(e),
        })?
        .with_behaviour(|_| behaviour)
        .map_err(|e| StartError::Transport {
            source: Box::new(e),
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(limits.idle_timeout))
        .with_connection_timeout(limits.handshake_timeout)
        .build();

    let mut listeners = Vec::new();
    for address in &config.listen {
        let id = swarm
            .listen_on(address.clone())
            .map_err(|source| StartError::Listen {
                address: address.to_string(),
                source,
            })?;
        listeners.push(id);
    }
    // Wait until each listener has an address, so `listen_addrs` is complete at once.
    let mut listen_addrs = Vec::new();
    let deadline = tokio::time::Instant::now() + LISTEN_WAIT;
    while !listeners.is_empty() {
        let event =
            tokio::time::timeout_at(deadline, libp2p::futures::StreamExt::next(&mut swarm)).await;
        match event {
            Ok(Some(SwarmEvent::NewListenAddr {
                listener_id,
                address,
            })) => {
                listeners.retain(|l| *l != listener_id);
                listen_addrs.push(address);
            }
            Ok(Some(SwarmEvent::ListenerClosed {
                listener_id,
                reason: Err(e),
                ..
            })) if listeners.contains(&listener_id) => {
                return Err(StartError::Listen {
                    address: format!("{listener_id:?}"),
                    source: libp2p::TransportError::Other(e),
                });
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                return Err(StartError::Config {
                    reason: "a listener reported no address".to_owned(),
                });
            }
        }
    }

    let (commands, command_rx) = mpsc::channel(limits.command_capacity);
    let (events, events_rx) = EventQueue::new(limits.event_capacity);
    let now = Instant::now();
    let mut static_peers = StaticPeers::new(limits.redial_min, limits.redial_max);
    for address in config.static_peers {
        static_peers.add(address, now);
    }
    let event_loop = EventLoop {
        swarm,
        commands: command_rx,
        weak_commands: commands.downgrade(),
        events,
        status,
        peers: HashMap::new(),
        requests: HashMap::new(),
        validations: Validations::new(limits.validation_timeout, limits.max_pending_validations),
        static_peers,
        listen_addrs,
        stats: Stats::default(),
        limits,
        topics: config
            .topics
            .iter()
            .map(|t| IdentTopic::new(t.clone()).hash())
            .collect(),
    };
    tokio::spawn(event_loop.run());
    Ok((commands, events_rx))
}

/// The state the loop owns.
pub(crate) struct EventLoop<P: Protocol> {
    pub(crate) swarm: Swarm<Behaviour<P>>,
    commands: mpsc::Receiver<Command<P>>,
    /// To give each `Reply` a way back without keeping the loop alive.
    pub(crate) weak_commands: mpsc::WeakSender<Command<P>>,
    pub(crate) events: EventQueue<P>,
    pub(crate) status: P::Status,
    pub(crate) peers: HashMap<PeerId, PeerState<P>>,
    /// Outbound application requests awaiting their response.
    pub(crate) requests: HashMap<OutboundRequestId, (PeerId, ResponseTo<P>)>,
    pub(crate) validations: Validations,
    pub(crate) static_peers: StaticPeers,
    pub(crate) listen_addrs: Vec<Multiaddr>,
    pub(crate) stats: Stats,
    pub(crate) limits: Limits,
    pub(crate) topics: Vec<TopicHash>,
}

impl<P: Protocol> EventLoop<P> {
    async fn run(mut self) {
        use libp2p::futures::StreamExt;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { answer }) => {
                        let _ = answer.send(());
                        break;
                    }
                    Some(command) => self.on_command(command),
                    None => break,
                },
                _ = tick.tick() => self.on_tick(),
            }
        }
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        self.swarm.behaviour_mut().gate.expire(now);
        for (id, source) in self.validations.expired(now) {
            self.stats.validations_timed_out += 1;
            self.swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(
                    &id,
                    &source,
                    libp2p::gossipsub::MessageAcceptance::Ignore,
                );
        }
        self.events.flush_lagged();
        self.redial(now);
    }

    /// Dials the static peers whose time has come.
    fn redial(&mut self, now: Instant) {
        if !self.swarm.behaviour().gate.is_active() {
            return;
        }
        for (index, address) in self.static_peers.due(now) {
            if let Some(peer) = state::peer_of(&address)
                && self.swarm.is_connected(&peer)
            {
                self.static_peers.set(index, Dial::Connected(peer), now);
                continue;
            }
            let opts = DialOpts::unknown_peer_id().address(address).build();
            let connection = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => self.static_peers.set(index, Dial::Dialing(connection), now),
                Err(_) => self.static_peers.set(index, Dial::At(now), now),
            }
        }
    }

    fn on_command(&mut self, command: Command<P>) {
        match command {
            Command::Publish {
                topic,
                data,
                answer,
            } => {
                let result = if data.len() > self.limits.max_message_bytes {
                    Err(CommandError::MessageTooLarge {
                        len: data.len(),
                        max: self.limits.max_message_bytes,
                    })
                } else {
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .publish(IdentTopic::new(topic), data)
                        .map_err(|e| CommandError::Publish {
                            reason: e.to_string(),
                        })
                };
                let _ = answer.send(result);
            }
            Command::Validate { id, verdict } => {
                if let Some(source) = self.validations.answer(&id) {
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(&id, &source, verdict.acceptance());
                }
            }
            Command::Request {
                peer,
                frame,
                answer,
            } => self.send_request(peer, frame, answer),
            Command::Respond { channel, frame } => {
                // A closed channel (timeout, connection gone) is reported by the swarm.
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .requests
                    .send_response(channel, frame);
            }
            Command::Dial { address, answer } => {
                let result = if self.swarm.behaviour().gate.is_active() {
                    self.swarm
                        .dial(address.clone())
                        .map_err(|e| CommandError::Dial {
                            address: address.to_string(),
                            reason: e.to_string(),
                        })
                } else {
                    Err(CommandError::Inactive)
                };
                let _ = answer.send(result);
            }
            Command::AddPeer { address } => {
                self.static_peers.add(address, Instant::now());
                self.redial(Instant::now());
            }
            Command::RemovePeer { address, answer } => {
                let _ = answer.send(self.static_peers.remove(&address));
            }
            Command::Disconnect { peer, answer } => {
                let _ = answer.send(self.swarm.disconnect_peer_id(peer).is_ok());
            }
            Command::Ban {
                peer,
                duration,
                reason,
            } => self.ban(peer, duration, reason),
            Command::Unban { peer, answer } => {
                let _ = answer.send(self.swarm.behaviour_mut().gate.unban(&peer));
            }
            Command::Report {
                peer,
                severity,
                reason,
            } => self.penalize(peer, severity, reason),
            Command::SetActive { active, answer } => {
                self.swarm.behaviour_mut().gate.set_active(active);
                if active {
                    self.static_peers.reset(Instant::now());
                    self.redial(Instant::now());
                } else {
                    let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                    for peer in connected {
                        let _ = self.swarm.disconnect_peer_id(peer);
                    }
                }
                let _ = answer.send(());
            }
            Command::SetStatus { status } => self.status = status,
            Command::Peers { answer } => {
                let _ = answer.send(self.peer_infos());
            }
            Command::ListenAddrs { answer } => {
                let me = *self.swarm.local_peer_id();
                let addrs = self
                    .listen_addrs
                    .iter()
                    .map(|a| a.clone().with(multiaddr::Protocol::P2p(me)))
                    .collect();
                let _ = answer.send(addrs);
            }
            Command::Stats { answer } => {
                let mut stats = self.stats;
                stats.events_dropped = self.events.dropped_total();
                stats.pending_validations = self.validations.len();
                let _ = answer.send(stats);
            }
            Command::Shutdown { answer } => {
                let _ = answer.send(());
            }
        }
    }

    fn send_request(
        &mut self,
        peer: PeerId,
        frame: Frame<P::Request>,
        answer: Answer<Result<P::Response, RequestError>>,
    ) {
        let limit = self.limits.max_outbound_requests_per_peer;
        let Some(state) = self.peers.get_mut(&peer) else {
            let _ = answer.send(Err(RequestError::NotConnected { peer }));
            return;
        };
        if state.outbound >= limit {
            let _ = answer.send(Err(RequestError::TooManyInFlight { peer, limit }));
            return;
        }
        state.outbound += 1;
        let id = self
            .swarm
            .behaviour_mut()
            .requests
            .send_request(&peer, frame);
        self.requests.insert(id, (peer, answer));
    }

    /// Adds `severity`'s points to the peer's penalty; bans at [`BAN_SCORE`].
    pub(crate) fn penalize(&mut self, peer: PeerId, severity: Severity, reason: String) {
        let penalty = match self.peers.get_mut(&peer) {
            Some(state) => {
                state.penalty = state.penalty.saturating_add(severity.points());
                state.penalty
            }
            None => severity.points(),
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .set_application_score(&peer, -f64::from(penalty));
        if penalty >= BAN_SCORE {
            let duration = self.limits.ban_duration;
            self.ban(peer, duration, reason);
        }
    }

    pub(crate) fn ban(&mut self, peer: PeerId, duration: Duration, reason: String) {
        let until = Instant::now() + duration;
        self.swarm.behaviour_mut().gate.ban(peer, until);
        let _ = self.swarm.disconnect_peer_id(peer);
        self.stats.bans += 1;
        let _ = self.events.push(crate::event::Event::PeerBanned {
            peer,
            duration,
            reason,
        });
    }

    fn peer_infos(&self) -> Vec<PeerInfo<P>> {
        let now = Instant::now();
        let gossipsub = &self.swarm.behaviour().gossipsub;
        self.peers
            .iter()
            .map(|(peer, state)| PeerInfo {
                peer: *peer,
                addresses: state.connections.values().cloned().collect(),
                direction: state.direction,
                connected_for: now.saturating_duration_since(state.since),
                status: state.status.clone(),
                gossip_score: gossipsub.peer_score(peer).unwrap_or(0.0),
                penalty: state.penalty,
                agent: state.agent.clone(),
                ping: state.ping,
                mesh_topics: self
                    .topics
                    .iter()
                    .filter(|t| gossipsub.mesh_peers(t).any(|p| p == peer))
                    .map(|t| t.to_string())
                    .collect(),
            })
            .collect()
    }
}
