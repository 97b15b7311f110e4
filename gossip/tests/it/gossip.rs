//! Gossip: delivery exactly once, validation before forwarding, content-addressed ids.

use gossip::{Event, Limits, MessageId, Network, PeerId, Verdict};
use sha2::{Digest, Sha256};

use crate::helpers::{
    Height, Honest, Node, TOPIC, start, start_with, test_limits, wait_for, wait_mesh, wait_ready,
    wait_until,
};

/// Receives the next gossip message; returns (id, source, data) without a verdict.
async fn next_message(node: &mut Node<Honest>) -> (MessageId, PeerId, Vec<u8>) {
    wait_for(&mut node.events, "a message", |e| match e {
        Event::Message {
            id,
            source,
            topic,
            data,
        } => {
            assert_eq!(topic, TOPIC);
            Some((id, source, data))
        }
        _ => None,
    })
    .await
}

/// Receives messages, accepting each, until `until` arrives; returns all data seen.
async fn accept_until(node: &mut Node<Honest>, until: &[u8]) -> Vec<Vec<u8>> {
    let mut seen = Vec::new();
    loop {
        let (id, _, data) = next_message(node).await;
        node.net
            .validate(id, Verdict::Accept)
            .await
            .expect("running");
        let done = data == until;
        seen.push(data);
        if done {
            return seen;
        }
    }
}

async fn publish(net: &Network<Honest>, data: &[u8]) -> MessageId {
    net.publish(TOPIC, data.to_vec()).await.expect("published")
}

/// A line a - b - c with every mesh formed.
async fn line() -> (Node<Honest>, Node<Honest>, Node<Honest>) {
    let mut a = start(1, vec![]).await;
    let mut c = start(3, vec![]).await;
    let b = start(2, vec![a.addr.clone(), c.addr.clone()]).await;
    wait_ready(&mut a.events, b.id).await;
    wait_ready(&mut c.events, b.id).await;
    wait_mesh(&b.net, a.id).await;
    wait_mesh(&b.net, c.id).await;
    wait_mesh(&a.net, b.id).await;
    wait_mesh(&c.net, b.id).await;
    (a, b, c)
}

#[tokio::test]
async fn three_nodes_deliver_once_and_rejected_is_not_forwarded() {
    let (mut a, mut b, mut c) = line().await;

    // Accepted at b: reaches c through b.
    publish(&a.net, b"m1").await;
    let (id, source, data) = next_message(&mut b).await;
    assert_eq!((source, data.as_slice()), (a.id, &b"m1"[..]));
    b.net.validate(id, Verdict::Accept).await.expect("running");
    let (id, source, data) = next_message(&mut c).await;
    assert_eq!((source, data.as_slice()), (b.id, &b"m1"[..]));
    c.net.validate(id, Verdict::Accept).await.expect("running");

    // Rejected at b: never reaches c, and a's score at b drops below zero.
    publish(&a.net, b"m2").await;
    let (id, _, data) = next_message(&mut b).await;
    assert_eq!(data, b"m2");
    b.net.validate(id, Verdict::Reject).await.expect("running");
    publish(&a.net, b"m3").await;
    let seen_b = accept_until(&mut b, b"m3").await;
    assert_eq!(seen_b, vec![b"m3".to_vec()]);
    let seen_c = accept_until(&mut c, b"m3").await;
    assert_eq!(seen_c, vec![b"m3".to_vec()], "m2 was forwarded");
    let score = b
        .net
        .peers()
        .await
        .expect("running")
        .into_iter()
        .find(|p| p.peer == a.id)
        .map(|p| p.gossip_score)
        .expect("a connected to b");
    assert!(score < 0.0, "a rejected message costs score, got {score}");

    // Close the triangle: c now hears a directly and through b, once.
    a.net.dial(c.addr.clone()).await.expect("dial");
    wait_ready(&mut c.events, a.id).await;
    wait_mesh(&c.net, a.id).await;
    wait_mesh(&a.net, c.id).await;
    publish(&a.net, b"m4").await;
    let seen_b = accept_until(&mut b, b"m4").await;
    assert_eq!(seen_b, vec![b"m4".to_vec()]);
    let seen_c = accept_until(&mut c, b"m4").await;
    assert_eq!(seen_c, vec![b"m4".to_vec()]);
    // A sentinel from b reaches c after every copy of m4 that b forwarded; c saw m4 once.
    publish(&b.net, b"s1").await;
    let seen_c = accept_until(&mut c, b"s1").await;
    assert_eq!(seen_c, vec![b"s1".to_vec()], "m4 delivered twice");
    let seen_a = accept_until(&mut a, b"s1").await;
    assert_eq!(seen_a, vec![b"s1".to_vec()]);
}

#[tokio::test]
async fn ids_are_content_hashes_and_deduplicate() {
    let (a, mut b, c) = line().await;
    let data = b"the same announcement".to_vec();
    // SHA-256 of the data, computed here (FIPS 180-4 via the sha2 crate).
    let expected = MessageId::new(&Sha256::digest(&data));

    let id_a = publish(&a.net, &data).await;
    assert_eq!(id_a, expected);
    let (id, source, _) = next_message(&mut b).await;
    assert_eq!((id.clone(), source), (expected.clone(), a.id));
    // b holds it unvalidated, so c has not seen it; c publishes the same bytes.
    let id_c = publish(&c.net, &data).await;
    assert_eq!(id_c, expected);
    // b drops c's copy as a duplicate: the next message b sees is c's sentinel.
    publish(&c.net, b"sentinel").await;
    let (sentinel, source, data2) = next_message(&mut b).await;
    assert_eq!((data2.as_slice(), source), (&b"sentinel"[..], c.id));
    b.net.validate(id, Verdict::Accept).await.expect("running");
    b.net
        .validate(sentinel, Verdict::Accept)
        .await
        .expect("running");
    // Publishing the same content again is refused as a duplicate.
    assert!(a.net.publish(TOPIC, data).await.is_err());
}

#[tokio::test]
async fn unanswered_messages_are_ignored_after_the_timeout() {
    let mut a = start(1, vec![]).await;
    let mut limits = crate::helpers::test_limits();
    limits.validation_timeout = std::time::Duration::from_millis(300);
    let mut c = start(3, vec![]).await;
    let mut b = crate::helpers::start_with::<Honest>(
        crate::helpers::Height(2),
        vec![a.addr.clone(), c.addr.clone()],
        limits,
    )
    .await;
    wait_ready(&mut a.events, b.id).await;
    wait_ready(&mut c.events, b.id).await;
    wait_mesh(&b.net, c.id).await;
    wait_mesh(&a.net, b.id).await;

    publish(&a.net, b"never answered").await;
    let (_, _, data) = next_message(&mut b).await;
    assert_eq!(data, b"never answered");
    crate::helpers::wait_until("the validation times out", || async {
        b.net.stats().await.expect("running").validations_timed_out == 1
    })
    .await;
    assert_eq!(b.net.stats().await.expect("running").pending_validations, 0);
    // Not forwarded: the next message c sees is the sentinel.
    publish(&a.net, b"sentinel").await;
    let (id, _, _) = next_message(&mut b).await;
    b.net.validate(id, Verdict::Accept).await.expect("running");
    let seen = accept_until(&mut c, b"sentinel").await;
    assert_eq!(seen, vec![b"sentinel".to_vec()]);
}

#[tokio::test]
async fn oversized_messages_are_never_delivered_and_cost_their_sender_a_ban() {
    let mut b = start(2, vec![]).await;
    // A sender whose own limit is half as large again as b's.
    let mut loose = test_limits();
    loose.max_message_bytes = Limits::default().max_message_bytes * 3 / 2;
    let mut h = start_with::<Honest>(Height(1), vec![b.addr.clone()], loose).await;
    let c = start(3, vec![b.addr.clone()]).await;
    wait_ready(&mut b.events, h.id).await;
    wait_ready(&mut b.events, c.id).await;
    wait_mesh(&h.net, b.id).await;
    wait_mesh(&c.net, b.id).await;
    let _ = &mut h.events;

    // Over b's limit but inside the frame it reads: h is banned at once.
    let over = Limits::default().max_message_bytes + 1;
    publish(&h.net, &vec![7; over]).await;
    let reason = wait_for(&mut b.events, "h banned", |e| match e {
        Event::Message { data, .. } => {
            panic!("an oversized message of {} bytes was delivered", data.len())
        }
        Event::PeerBanned { peer, reason, .. } if peer == h.id => Some(reason),
        _ => None,
    })
    .await;
    assert!(reason.contains("oversized gossip message"), "{reason}");
    wait_until("h disconnected from b", || async {
        b.net
            .peers()
            .await
            .expect("running")
            .iter()
            .all(|p| p.peer != h.id)
    })
    .await;

    // b still hears its honest peer.
    publish(&c.net, b"after").await;
    let seen = accept_until(&mut b, b"after").await;
    assert_eq!(seen, vec![b"after".to_vec()]);
}
