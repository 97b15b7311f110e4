//! The event loop's bookkeeping, free of I/O: connected peers, request rate buckets,
//! static peers and their redial backoff, gossip messages awaiting validation.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    time::{Duration, Instant},
};

use libp2p::{
    Multiaddr, PeerId, gossipsub::MessageId, multiaddr, request_response::InboundRequestId,
    swarm::ConnectionId,
};

use crate::{event::Direction, wire::Protocol};

/// A token bucket: `rate` tokens a second, at most `burst` held.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    tokens: f64,
    last: Instant,
    rate: f64,
    burst: f64,
}

impl TokenBucket {
    pub(crate) fn new(rate: u32, burst: u32, now: Instant) -> Self {
        TokenBucket {
            tokens: f64::from(burst),
            last: now,
            rate: f64::from(rate),
            burst: f64::from(burst),
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A connected peer.
pub(crate) struct PeerState<P: Protocol> {
    pub(crate) connections: HashMap<ConnectionId, Multiaddr>,
    pub(crate) first_address: Multiaddr,
    pub(crate) direction: Direction,
    pub(crate) since: Instant,
    pub(crate) status: Option<P::Status>,
    /// The peer does not speak the status protocol: gossip only.
    pub(crate) gossip_only: bool,
    pub(crate) penalty: u32,
    pub(crate) agent: Option<String>,
    pub(crate) ping: Option<Duration>,
    pub(crate) bucket: TokenBucket,
    /// Inbound requests handed to the application and not yet answered.
    pub(crate) inbound: HashSet<InboundRequestId>,
    /// Outbound requests awaiting a response.
    pub(crate) outbound: usize,
}

impl<P: Protocol> PeerState<P> {
    pub(crate) fn new(
        connection: ConnectionId,
        address: Multiaddr,
        direction: Direction,
        bucket: TokenBucket,
        now: Instant,
    ) -> Self {
        PeerState {
            connections: HashMap::from([(connection, address.clone())]),
            first_address: address,
            direction,
            since: now,
            status: None,
            gossip_only: false,
            penalty: 0,
            agent: None,
            ping: None,
            bucket,
            inbound: HashSet::new(),
            outbound: 0,
        }
    }
}

/// Where a static peer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Dial {
    /// Dial at this time (if the network is active).
    At(Instant),
    /// A dial is in progress.
    Dialing(ConnectionId),
    /// Connected to this peer.
    Connected(PeerId),
}

/// A peer to keep connected.
#[derive(Debug, Clone)]
pub(crate) struct StaticPeer {
    pub(crate) address: Multiaddr,
    /// From the address's `/p2p/` suffix, or learnt at the first connection.
    pub(crate) peer: Option<PeerId>,
    pub(crate) dial: Dial,
    pub(crate) backoff: Duration,
}

/// The static peers and their backoff.
pub(crate) struct StaticPeers {
    pub(crate) peers: Vec<StaticPeer>,
    min: Duration,
    max: Duration,
}

/// The peer id in an address's `/p2p/` suffix.
pub(crate) fn peer_of(address: &Multiaddr) -> Option<PeerId> {
    match address.iter().last() {
        Some(multiaddr::Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}

impl StaticPeers {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        StaticPeers {
            peers: Vec::new(),
            min,
            max,
        }
    }

    pub(crate) fn add(&mut self, address: Multiaddr, now: Instant) {
        if self.peers.iter().any(|p| p.address == address) {
            return;
        }
        self.peers.push(StaticPeer {
            peer: peer_of(&address),
            address,
            dial: Dial::At(now),
            backoff: self.min,
        });
    }

    pub(crate) fn remove(&mut self, address: &Multiaddr) -> bool {
        let before = self.peers.len();
        self.peers.retain(|p| &p.address != address);
        self.peers.len() != before
    }

    /// A dial of ours connected.
    pub(crate) fn connected(&mut self, connection: ConnectionId, peer: PeerId) {
        for p in &mut self.peers {
            if p.dial == Dial::Dialing(connection) || p.peer == Some(peer) {
                p.peer = Some(peer);
                p.dial = Dial::Connected(peer);
            }
        }
    }

    /// The peer completed the status exchange: its backoff starts over.
    pub(crate) fn ready(&mut self, peer: PeerId) {
        for p in &mut self.peers {
            if p.peer == Some(peer) {
                p.backoff = self.min;
            }
        }
    }

    fn retry(&mut self, index: usize, now: Instant) {
        let max = self.max;
        if let Some(p) = self.peers.get_mut(index) {
            p.dial = Dial::At(now + p.backoff);
            p.backoff = (p.backoff * 2).min(max);
        }
    }

    /// Schedules a redial of every peer in state `dial`.
    fn retry_all(&mut self, dial: &Dial, now: Instant) {
        let hits: Vec<usize> = (0..self.peers.len())
            .filter(|i| self.peers.get(*i).is_some_and(|p| p.dial == *dial))
            .collect();
        for i in hits {
            self.retry(i, now);
        }
    }

    /// A dial of ours failed.
    pub(crate) fn dial_failed(&mut self, connection: ConnectionId, now: Instant) {
        self.retry_all(&Dial::Dialing(connection), now);
    }

    /// The peer's last connection closed.
    pub(crate) fn disconnected(&mut self, peer: PeerId, now: Instant) {
        self.retry_all(&Dial::Connected(peer), now);
    }

    /// Every static peer is dialled again at once (the network came back).
    pub(crate) fn reset(&mut self, now: Instant) {
        for p in &mut self.peers {
            p.dial = Dial::At(now);
            p.backoff = self.min;
        }
    }

    /// The peers whose dial time has come, as (index, address).
    pub(crate) fn due(&self, now: Instant) -> Vec<(usize, Multiaddr)> {
        self.peers
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p.dial, Dial::At(t) if t <= now))
            .map(|(i, p)| (i, p.address.clone()))
            .collect()
    }

    pub(crate) fn set(&mut self, index: usize, dial: Dial, now: Instant) {
        match dial {
            Dial::At(_) => self.retry(index, now),
            other => {
                if let Some(p) = self.peers.get_mut(index) {
                    p.dial = other;
                }
            }
        }
    }
}

/// Gossip messages delivered to the application and awaiting its verdict.
pub(crate) struct Validations {
    pending: HashMap<MessageId, PeerId>,
    deadlines: VecDeque<(Instant, MessageId)>,
    timeout: Duration,
    max: usize,
}

impl Validations {
    pub(crate) fn new(timeout: Duration, max: usize) -> Self {
        Validations {
            pending: HashMap::new(),
            deadlines: VecDeque::new(),
            timeout,
            max,
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.pending.len() >= self.max
    }

    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn insert(&mut self, id: MessageId, source: PeerId, now: Instant) {
        if self.pending.insert(id.clone(), source).is_none() {
            self.deadlines.push_back((now + self.timeout, id));
        }
        // Entries answered early stay in the deque until their deadline; keep it at most
        // twice the bound.
        if self.deadlines.len() > 2 * self.max {
            let pending = &self.pending;
            self.deadlines.retain(|(_, id)| pending.contains_key(id));
        }
    }

    /// Takes the message's source if it still awaits a verdict.
    pub(crate) fn answer(&mut self, id: &MessageId) -> Option<PeerId> {
        self.pending.remove(id)
    }

    /// Removes and returns the messages whose time ran out.
    pub(crate) fn expired(&mut self, now: Instant) -> Vec<(MessageId, PeerId)> {
        let mut out = Vec::new();
        while let Some((deadline, _)) = self.deadlines.front() {
            if *deadline > now {
                break;
            }
            if let Some((_, id)) = self.deadlines.pop_front()
                && let Some(source) = self.pending.remove(&id)
            {
                out.push((id, source));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, 3, t0);
        assert!(b.take(t0) && b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        // 10 per second: one token after 100 ms.
        assert!(b.take(t0 + Duration::from_millis(100)));
        assert!(!b.take(t0 + Duration::from_millis(100)));
    }

    #[test]
    fn validations_expire_in_order_and_stay_bounded() {
        let t0 = Instant::now();
        let mut v = Validations::new(Duration::from_secs(1), 2);
        let peer = PeerId::random();
        v.insert(MessageId::new(b"a"), peer, t0);
        v.insert(MessageId::new(b"b"), peer, t0 + Duration::from_millis(500));
        assert!(v.is_full());
        assert_eq!(v.answer(&MessageId::new(b"a")), Some(peer));
        assert_eq!(v.answer(&MessageId::new(b"a")), None);
        let gone = v.expired(t0 + Duration::from_millis(1600));
        assert_eq!(gone, vec![(MessageId::new(b"b"), peer)]);
        assert_eq!(v.len(), 0);
        for i in 0..100u8 {
            v.insert(MessageId::new(&[i]), peer, t0);
            v.answer(&MessageId::new(&[i]));
        }
        assert!(v.deadlines.len() <= 4);
    }

    #[test]
    fn static_peer_backoff_doubles_to_its_cap() {
        let t0 = Instant::now();
        let mut s = StaticPeers::new(Duration::from_secs(1), Duration::from_secs(4));
        s.add(
            "/ip4/127.0.0.1/tcp/1".parse().unwrap_or(Multiaddr::empty()),
            t0,
        );
        let c = ConnectionId::new_unchecked(7);
        let mut waits = Vec::new();
        for _ in 0..4 {
            s.set(0, Dial::Dialing(c), t0);
            s.dial_failed(c, t0);
            if let Some(StaticPeer {
                dial: Dial::At(t), ..
            }) = s.peers.first()
            {
                waits.push(t.duration_since(t0).as_secs());
            }
        }
        assert_eq!(waits, vec![1, 2, 4, 4]);
    }
}
