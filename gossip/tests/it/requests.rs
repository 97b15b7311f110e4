//! Request-response: typed round trips, the status exchange, and peers that send
//! oversized or garbage frames.

use gossip::{CommandError, Direction, Event, Events, PeerId, Protocol, RequestError, WireError};

use crate::helpers::{
    Answer, Ask, Height, Honest, Hostile, Node, Raw, start, start_with, test_limits, wait_for,
    wait_ready,
};

/// Serves requests on `node` until the test ends: answers `Q<x>` with `x` reversed,
/// or `len` bytes for a request `L<len>`.
fn serve<P, F>(mut events: Events<P>, net: gossip::Network<P>, answer: F)
where
    P: Protocol,
    F: Fn(&P::Request) -> P::Response + Send + 'static,
{
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Event::Request { request, reply, .. } = event {
                let _ = reply.send(answer(&request)).await;
            }
        }
        drop(net);
    });
}

fn reversed(ask: &Ask) -> Answer {
    Answer(ask.0.iter().rev().copied().collect())
}

/// Waits for `PeerBanned` about `peer`; returns the reason.
async fn wait_banned<P: Protocol>(events: &mut Events<P>, peer: PeerId) -> String {
    wait_for(events, "a ban", |e| match e {
        Event::PeerBanned {
            peer: p, reason, ..
        } if p == peer => Some(reason),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn status_is_exchanged_on_connect() {
    let mut a = start(7, vec![]).await;
    // The listen address names the node.
    assert!(a.addr.to_string().ends_with(&format!("/p2p/{}", a.id)));
    let mut b = start(9, vec![a.addr.clone()]).await;
    let (status, direction) = wait_for(&mut a.events, "b ready", |e| match e {
        Event::PeerReady {
            peer,
            status,
            direction,
            ..
        } if peer == b.id => Some((status, direction)),
        _ => None,
    })
    .await;
    assert_eq!((status, direction), (Height(9), Direction::Inbound));
    let (status, direction) = wait_for(&mut b.events, "a ready", |e| match e {
        Event::PeerReady {
            peer,
            status,
            direction,
            ..
        } if peer == a.id => Some((status, direction)),
        _ => None,
    })
    .await;
    assert_eq!((status, direction), (Height(7), Direction::Outbound));
    let info = a.net.peers().await.expect("running");
    assert_eq!(info.len(), 1);
    assert_eq!(info.first().and_then(|p| p.status.clone()), Some(Height(9)));

    // A new status is what later peers hear.
    a.net.set_status(Height(11)).await.expect("running");
    let mut c = start(1, vec![a.addr.clone()]).await;
    assert_eq!(wait_ready(&mut c.events, a.id).await, Height(11));
}

#[tokio::test]
async fn typed_round_trip_and_local_size_checks() {
    let a = start(1, vec![]).await;
    let mut b = start(2, vec![a.addr.clone()]).await;
    wait_ready(&mut b.events, a.id).await;
    let Node { events, net, .. } = a;
    let a_id = net.local_peer_id();
    serve(events, net, |ask: &Ask| {
        if ask.0 == b"too big" {
            Answer(vec![0; 2000])
        } else {
            reversed(ask)
        }
    });

    let answer = b.net.request(a_id, Ask(b"abc".to_vec())).await;
    assert_eq!(answer, Ok(Answer(b"cba".to_vec())));
    // A request over its type's limit is not sent.
    let too_long = b.net.request(a_id, Ask(vec![b'x'; 64])).await;
    assert!(matches!(
        too_long,
        Err(RequestError::Encode(WireError::TooLarge {
            len: 65,
            max: 64
        }))
    ));
    // A response over its limit is refused by the responder's own reply; the requester
    // sees its stream closed.
    let refused = b.net.request(a_id, Ask(b"too big".to_vec())).await;
    assert!(
        matches!(refused, Err(RequestError::Failed { .. })),
        "{refused:?}"
    );
    // Requests to unknown peers fail at once.
    let nobody = PeerId::random();
    assert_eq!(
        b.net.request(nobody, Ask(vec![])).await,
        Err(RequestError::NotConnected { peer: nobody })
    );
}

#[tokio::test]
async fn reply_refuses_an_oversized_response() {
    let mut a = start(1, vec![]).await;
    let mut b = start(2, vec![a.addr.clone()]).await;
    wait_ready(&mut b.events, a.id).await;
    let requester = b.net.clone();
    let a_id = a.id;
    let pending = tokio::spawn(async move { requester.request(a_id, Ask(b"x".to_vec())).await });
    let reply = wait_for(&mut a.events, "request", |e| match e {
        Event::Request { reply, .. } => Some(reply),
        _ => None,
    })
    .await;
    assert_eq!(
        reply.send(Answer(vec![0; 1025])).await,
        Err(CommandError::MessageTooLarge {
            len: 1025,
            max: 1024
        })
    );
    assert!(pending.await.expect("joined").is_err());
}

#[tokio::test]
async fn malformed_frames_ban_the_sender_and_others_are_still_served() {
    let a = start(1, vec![]).await;
    let mut honest = start(2, vec![a.addr.clone()]).await;
    wait_ready(&mut honest.events, a.id).await;
    let Node {
        events: mut a_events,
        net: a_net,
        ..
    } = a;
    let a_id = a_net.local_peer_id();

    // 1. A garbage request (does not decode).
    let mut h1 =
        start_with::<Hostile>(Raw(1u64.to_be_bytes().to_vec()), vec![], test_limits()).await;
    h1.net.dial(honest_addr(&a_net).await).await.expect("dial");
    wait_ready(&mut h1.events, a_id).await;
    let sent = h1.net.request(a_id, Raw(b"XYZ".to_vec())).await;
    assert!(sent.is_err());
    let reason = wait_banned(&mut a_events, h1.id).await;
    assert!(reason.contains("malformed request"), "{reason}");

    // 2. An oversized request (its length prefix is over the limit).
    let mut h2 =
        start_with::<Hostile>(Raw(1u64.to_be_bytes().to_vec()), vec![], test_limits()).await;
    h2.net.dial(honest_addr(&a_net).await).await.expect("dial");
    wait_ready(&mut h2.events, a_id).await;
    let mut big = b"Q".to_vec();
    big.resize(100_000, b'Q');
    assert!(h2.net.request(a_id, Raw(big)).await.is_err());
    let reason = wait_banned(&mut a_events, h2.id).await;
    assert!(reason.contains("exceeds the limit of 64"), "{reason}");

    // 3. A status that does not decode.
    let h3 = start_with::<Hostile>(Raw(b"not a height".to_vec()), vec![], test_limits()).await;
    h3.net.dial(honest_addr(&a_net).await).await.expect("dial");
    let reason = wait_banned(&mut a_events, h3.id).await;
    assert!(reason.contains("malformed status"), "{reason}");

    // The honest peer is still served.
    let server = a_net.clone();
    serve(a_events, a_net, reversed);
    let answer = honest.net.request(a_id, Ask(b"ok".to_vec())).await;
    assert_eq!(answer, Ok(Answer(b"ko".to_vec())));
    crate::helpers::wait_until("only the honest peer is left", || async {
        let peers = server.peers().await.expect("running");
        peers.iter().map(|p| p.peer).collect::<Vec<_>>() == vec![honest.id]
    })
    .await;
    assert_eq!(server.stats().await.expect("running").bans, 3);
}

#[tokio::test]
async fn an_oversized_response_bans_the_responder() {
    let mut a = start(1, vec![]).await;
    let h = start_with::<Hostile>(
        Raw(5u64.to_be_bytes().to_vec()),
        vec![a.addr.clone()],
        test_limits(),
    )
    .await;
    wait_ready(&mut a.events, h.id).await;
    let Node {
        events,
        net,
        id: h_id,
        ..
    } = h;
    serve(events, net, |_: &Raw| Raw(vec![7; 5000]));
    let answer = a.net.request(h_id, Ask(b"hi".to_vec())).await;
    assert!(
        matches!(
            answer,
            Err(RequestError::Malformed {
                source: WireError::TooLarge {
                    len: 5000,
                    max: 1024
                },
                ..
            })
        ),
        "{answer:?}"
    );
    let reason = wait_banned(&mut a.events, h_id).await;
    assert!(reason.contains("malformed response"), "{reason}");
}

async fn honest_addr(net: &gossip::Network<Honest>) -> gossip::Multiaddr {
    net.listen_addrs()
        .await
        .expect("running")
        .into_iter()
        .next()
        .expect("address")
}
