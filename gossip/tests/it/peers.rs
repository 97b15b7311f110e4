//! Peers: bans and their end, partitions with `set_active`, connection limits under a
//! flood of dials.

use std::time::{Duration, Instant};

use gossip::{Event, Severity};

use crate::helpers::{
    Honest, expect_delivery, start, start_with, test_limits, wait_for, wait_mesh, wait_ready,
    wait_until,
};

async fn wait_disconnected(events: &mut gossip::Events<Honest>, peer: gossip::PeerId) {
    wait_for(events, "disconnect", |e| match e {
        Event::PeerDisconnected { peer: p } if p == peer => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn a_reported_peer_is_banned_until_its_ban_ends() {
    let ban = Duration::from_secs(2);
    let mut limits = test_limits();
    limits.ban_duration = ban;
    let mut a = start_with::<Honest>(crate::helpers::Height(1), vec![], limits).await;
    // b keeps redialling a (static peer).
    let mut b = start(2, vec![a.addr.clone()]).await;
    wait_ready(&mut a.events, b.id).await;

    // Minor reports add up; the tenth reaches the ban score.
    for _ in 0..9 {
        a.net
            .report(b.id, Severity::Minor, "unrequested")
            .await
            .expect("running");
    }
    let penalty = a
        .net
        .peers()
        .await
        .expect("running")
        .first()
        .map(|p| p.penalty);
    assert_eq!(penalty, Some(90));
    a.net
        .report(b.id, Severity::Minor, "unrequested")
        .await
        .expect("running");
    let banned_at = Instant::now();
    let got = wait_for(&mut a.events, "ban", |e| match e {
        Event::PeerBanned { peer, duration, .. } if peer == b.id => Some(duration),
        _ => None,
    })
    .await;
    assert_eq!(got, ban);
    wait_disconnected(&mut a.events, b.id).await;
    wait_disconnected(&mut b.events, a.id).await;

    // b's redials are refused while the ban lasts...
    let errors_before = a
        .net
        .stats()
        .await
        .expect("running")
        .incoming_connection_errors;
    wait_until("a refused b's redial", || async {
        a.net
            .stats()
            .await
            .expect("running")
            .incoming_connection_errors
            > errors_before
    })
    .await;
    assert!(a.net.peers().await.expect("running").is_empty());
    // ...and succeed once it has ended.
    wait_ready(&mut a.events, b.id).await;
    assert!(
        banned_at.elapsed() >= ban,
        "reconnected {:?} into a {ban:?} ban",
        banned_at.elapsed()
    );
}

#[tokio::test]
async fn set_active_partitions_and_heals() {
    let mut a = start(1, vec![]).await;
    let mut b = start(2, vec![a.addr.clone()]).await;
    let mut c = start(3, vec![a.addr.clone(), b.addr.clone()]).await;
    wait_ready(&mut a.events, b.id).await;
    wait_ready(&mut a.events, c.id).await;
    wait_ready(&mut b.events, c.id).await;

    c.net.set_active(false).await.expect("running");
    wait_disconnected(&mut a.events, c.id).await;
    wait_disconnected(&mut b.events, c.id).await;
    assert!(c.net.peers().await.expect("running").is_empty());
    // While inactive, c refuses connections and dials nothing.
    let refused_before = c
        .net
        .stats()
        .await
        .expect("running")
        .incoming_connection_errors;
    a.net.dial(c.addr.clone()).await.expect("dial starts");
    wait_until("c refused a's dial", || async {
        c.net
            .stats()
            .await
            .expect("running")
            .incoming_connection_errors
            > refused_before
    })
    .await;
    assert!(c.net.peers().await.expect("running").is_empty());
    assert!(c.net.dial(a.addr.clone()).await.is_err());
    // a and b still talk.
    wait_mesh(&b.net, a.id).await;
    expect_delivery(&a.net, &mut b.events, b"while split").await;

    // Heal: c redials its static peers.
    c.net.set_active(true).await.expect("running");
    wait_ready(&mut a.events, c.id).await;
    wait_ready(&mut b.events, c.id).await;
    wait_mesh(&a.net, c.id).await;
    expect_delivery(&a.net, &mut c.events, b"healed").await;
}

#[tokio::test]
async fn connection_limits_hold_under_a_flood_of_dials() {
    let mut limits = test_limits();
    limits.max_inbound_connections = 4;
    limits.max_connections_per_peer = 1;
    let a = start_with::<Honest>(crate::helpers::Height(1), vec![], limits).await;

    // Ten nodes dial a at once, one of them five times.
    let mut dialers = Vec::new();
    for i in 0..10 {
        dialers.push(start(10 + i, vec![]).await);
    }
    for d in &dialers {
        d.net.dial(a.addr.clone()).await.expect("dial starts");
    }
    let repeat = dialers.first().expect("ten dialers");
    for _ in 0..4 {
        let _ = repeat.net.dial(a.addr.clone()).await;
    }
    // Every dial resolves: accepted or refused by a.
    wait_until("every dial is accepted or refused", || async {
        let stats = a.net.stats().await.expect("running");
        let peers = a.net.peers().await.expect("running");
        let connections: usize = peers.iter().map(|p| p.addresses.len()).sum();
        connections as u64 + stats.incoming_connection_errors >= 14
    })
    .await;
    let peers = a.net.peers().await.expect("running");
    assert_eq!(peers.len(), 4, "inbound limit");
    assert!(
        peers.iter().all(|p| p.addresses.len() == 1),
        "per-peer limit"
    );
}
