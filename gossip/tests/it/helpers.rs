//! Shared test protocol, node start-up and waiting helpers.

#![allow(dead_code)]

use std::time::Duration;

use gossip::{
    Config, DecodeError, Event, Events, Keypair, Limits, Multiaddr, Network, PeerId, Protocol, Wire,
};
use tokio::time::{Instant, timeout_at};

pub(crate) const TOPIC: &str = "test-announce";
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// The status: a height, 8 bytes big-endian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Height(pub(crate) u64);

impl Wire for Height {
    const MAX_BYTES: usize = 8;
    fn to_bytes(&self) -> Vec<u8> {
        self.0.to_be_bytes().to_vec()
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let b: [u8; 8] = bytes
            .try_into()
            .map_err(|_| DecodeError::new("a height is 8 bytes"))?;
        Ok(Height(u64::from_be_bytes(b)))
    }
}

/// A request: `Q` then up to 63 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ask(pub(crate) Vec<u8>);

impl Wire for Ask {
    const MAX_BYTES: usize = 64;
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![b'Q'];
        out.extend_from_slice(&self.0);
        out
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes.split_first() {
            Some((b'Q', rest)) => Ok(Ask(rest.to_vec())),
            _ => Err(DecodeError::new("a request starts with Q")),
        }
    }
}

/// A response: any bytes, at most 1,024.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer(pub(crate) Vec<u8>);

impl Wire for Answer {
    const MAX_BYTES: usize = 1024;
    fn to_bytes(&self) -> Vec<u8> {
        self.0.clone()
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(Answer(bytes.to_vec()))
    }
}

/// The honest protocol.
pub(crate) struct Honest;

impl Protocol for Honest {
    type Status = Height;
    type Request = Ask;
    type Response = Answer;
    const STATUS_VERSION: &'static str = "1";
    const REQUEST_PROTOCOL: &'static str = "echo/1";
}

/// Raw bytes of up to 1 MiB: what a hostile peer sends on the same protocol ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Raw(pub(crate) Vec<u8>);

impl Wire for Raw {
    const MAX_BYTES: usize = 1 << 20;
    fn to_bytes(&self) -> Vec<u8> {
        self.0.clone()
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(Raw(bytes.to_vec()))
    }
}

/// A peer that sends whatever bytes it likes on the honest protocol ids.
pub(crate) struct Hostile;

impl Protocol for Hostile {
    type Status = Raw;
    type Request = Raw;
    type Response = Raw;
    const STATUS_VERSION: &'static str = "1";
    const REQUEST_PROTOCOL: &'static str = "echo/1";
}

/// A running node.
pub(crate) struct Node<P: Protocol> {
    pub(crate) net: Network<P>,
    pub(crate) events: Events<P>,
    pub(crate) addr: Multiaddr,
    pub(crate) id: PeerId,
}

/// Limits for tests: short redial backoff so that healing is quick.
pub(crate) fn test_limits() -> Limits {
    Limits {
        redial_min: Duration::from_millis(100),
        redial_max: Duration::from_millis(400),
        heartbeat: Duration::from_millis(200),
        ..Limits::default()
    }
}

pub(crate) async fn start_with<P: Protocol>(
    status: P::Status,
    peers: Vec<Multiaddr>,
    limits: Limits,
) -> Node<P> {
    let mut config = Config::new(Keypair::generate_ed25519(), "test");
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("address")];
    config.static_peers = peers;
    config.topics = vec![TOPIC.to_owned()];
    config.limits = limits;
    let (net, events) = Network::<P>::start(config, status)
        .await
        .expect("node starts");
    let addr = net
        .listen_addrs()
        .await
        .expect("running")
        .into_iter()
        .next()
        .expect("one listen address");
    let id = net.local_peer_id();
    Node {
        net,
        events,
        addr,
        id,
    }
}

pub(crate) async fn start(height: u64, peers: Vec<Multiaddr>) -> Node<Honest> {
    start_with(Height(height), peers, test_limits()).await
}

/// Receives events until `pick` returns a value; fails the test after `WAIT`.
pub(crate) async fn wait_for<P: Protocol, T>(
    events: &mut Events<P>,
    what: &str,
    mut pick: impl FnMut(Event<P>) -> Option<T>,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        match timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => {
                if let Some(found) = pick(event) {
                    return found;
                }
            }
            Ok(None) => panic!("event loop stopped while waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

/// Waits for `PeerReady` from `peer`; returns its status.
pub(crate) async fn wait_ready<P: Protocol>(events: &mut Events<P>, peer: PeerId) -> P::Status {
    wait_for(events, "peer ready", |e| match e {
        Event::PeerReady {
            peer: p, status, ..
        } if p == peer => Some(status),
        _ => None,
    })
    .await
}

/// Polls the node's state until `check` holds; fails after `WAIT`.
pub(crate) async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `node` has `peer` in its mesh for the test topic.
pub(crate) async fn wait_mesh<P: Protocol>(node: &Network<P>, peer: PeerId) {
    wait_until("peer in mesh", || async {
        node.peers()
            .await
            .expect("running")
            .iter()
            .any(|p| p.peer == peer && p.mesh_topics.iter().any(|t| t == TOPIC))
    })
    .await;
}

/// Publishes `data` from `from` and waits until `to` receives it.
pub(crate) async fn expect_delivery<P: Protocol>(
    from: &Network<P>,
    to: &mut Events<P>,
    data: &[u8],
) {
    from.publish(TOPIC, data.to_vec()).await.expect("published");
    let got = wait_for(to, "message", |e| match e {
        Event::Message { data, .. } => Some(data),
        _ => None,
    })
    .await;
    assert_eq!(got, data);
}
