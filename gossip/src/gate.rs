//! The gate: a behaviour that refuses connections from banned peers, and every
//! connection while the network is inactive.
//!
//! It only answers the swarm's "may this connection exist?" questions; the event loop
//! closes the connections that already exist when it bans a peer or goes inactive.

use std::{
    collections::HashMap,
    convert::Infallible,
    fmt,
    task::{Context, Poll},
    time::Instant,
};

use libp2p::{
    Multiaddr, PeerId,
    core::{Endpoint, transport::PortUse},
    swarm::{
        ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
        THandlerOutEvent, ToSwarm, dummy,
    },
};

/// Why the gate refused a connection.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The peer is banned.
    Banned,
    /// The network is inactive.
    Inactive,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refused::Banned => "peer is banned",
            Refused::Inactive => "network is inactive",
        })
    }
}

impl std::error::Error for Refused {}

/// Bans (peer to end of ban) and the active flag.
pub(crate) struct Gate {
    active: bool,
    bans: HashMap<PeerId, Instant>,
    max_bans: usize,
}

impl Gate {
    pub(crate) fn new(max_bans: usize) -> Self {
        Gate {
            active: true,
            bans: HashMap::new(),
            max_bans,
        }
    }

    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    pub(crate) fn set_active(&mut self, active: bool) {
        self.active = active;
    }

    /// Bans `peer` until `until`; when the table is full, the ban closest to its end is
    /// lifted first, so the table never holds more than `max_bans` entries.
    pub(crate) fn ban(&mut self, peer: PeerId, until: Instant) {
        if !self.bans.contains_key(&peer) && self.bans.len() >= self.max_bans {
            let soonest = self
                .bans
                .iter()
                .min_by_key(|(_, end)| **end)
                .map(|(p, _)| *p);
            if let Some(victim) = soonest {
                self.bans.remove(&victim);
            }
        }
        let end = self.bans.entry(peer).or_insert(until);
        *end = (*end).max(until);
    }

    pub(crate) fn unban(&mut self, peer: &PeerId) -> bool {
        self.bans.remove(peer).is_some()
    }

    #[cfg(test)]
    pub(crate) fn banned_until(&self, peer: &PeerId) -> Option<Instant> {
        self.bans.get(peer).copied()
    }

    /// Lifts the bans that ended by `now`; returns the peers freed.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let freed: Vec<PeerId> = self
            .bans
            .iter()
            .filter(|(_, end)| **end <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in &freed {
            self.bans.remove(peer);
        }
        freed
    }

    fn check(&self, peer: Option<&PeerId>) -> Result<(), ConnectionDenied> {
        if !self.active {
            return Err(ConnectionDenied::new(Refused::Inactive));
        }
        if let Some(end) = peer.and_then(|p| self.bans.get(p))
            && *end > Instant::now()
        {
            return Err(ConnectionDenied::new(Refused::Banned));
        }
        Ok(())
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.check(None)
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(Some(&peer))?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: Option<PeerId>,
        _: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.check(peer.as_ref())?;
        Ok(vec![])
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(Some(&peer))?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn ban_table_is_bounded_and_expires() {
        let mut gate = Gate::new(2);
        let now = Instant::now();
        let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
        gate.ban(a, now + Duration::from_secs(10));
        gate.ban(b, now + Duration::from_secs(30));
        gate.ban(c, now + Duration::from_secs(20));
        // `a` ended soonest and was lifted to make room.
        assert_eq!(gate.banned_until(&a), None);
        assert!(gate.banned_until(&b).is_some() && gate.banned_until(&c).is_some());
        assert!(gate.check(Some(&b)).is_err());
        let freed = gate.expire(now + Duration::from_secs(25));
        assert_eq!(freed, vec![c]);
        gate.set_active(false);
        assert!(gate.check(None).is_err());
    }
}
