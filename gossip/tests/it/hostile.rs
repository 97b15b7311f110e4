//! Hostile raw TCP clients: garbage and stalled handshakes do not block honest peers.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

use crate::helpers::{Honest, expect_delivery, start_with, test_limits, wait_mesh, wait_ready};

/// The TCP address (ip:port) of a multiaddr `/ip4/A/tcp/P/...`.
fn socket_of(addr: &gossip::Multiaddr) -> String {
    let mut ip = None;
    let mut port = None;
    for p in addr.iter() {
        match p {
            libp2p::multiaddr::Protocol::Ip4(a) => ip = Some(a),
            libp2p::multiaddr::Protocol::Tcp(t) => port = Some(t),
            _ => {}
        }
    }
    format!("{}:{}", ip.expect("ip4"), port.expect("tcp"))
}

/// Reads until the node closes the connection; fails after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) {
    let mut buf = [0u8; 4096];
    let closed = timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the node kept a hostile connection open");
}

#[tokio::test]
async fn garbage_and_stalled_handshakes_do_not_block_honest_peers() {
    let mut limits = test_limits();
    limits.handshake_timeout = Duration::from_secs(2);
    let mut a = start_with::<Honest>(crate::helpers::Height(1), vec![], limits).await;
    let target = socket_of(&a.addr);

    // Eight stalled clients: connect and send nothing (or half a multistream header).
    let mut stalled = Vec::new();
    for i in 0..8 {
        let mut s = TcpStream::connect(&target).await.expect("connect");
        if i % 2 == 0 {
            s.write_all(b"\x13/multistream").await.expect("write");
        }
        stalled.push(s);
    }
    // Eight garbage clients.
    let mut garbage = Vec::new();
    for i in 0..8u8 {
        let mut s = TcpStream::connect(&target).await.expect("connect");
        let junk: Vec<u8> = (0..4096u32)
            .map(|j| (j as u8).wrapping_mul(31).wrapping_add(i))
            .collect();
        let _ = s.write_all(&junk).await;
        garbage.push(s);
    }

    // Honest peers connect and gossip meanwhile.
    let b = start_with::<Honest>(
        crate::helpers::Height(2),
        vec![a.addr.clone()],
        test_limits(),
    )
    .await;
    wait_ready(&mut a.events, b.id).await;
    wait_mesh(&b.net, a.id).await;
    expect_delivery(&b.net, &mut a.events, b"still here").await;

    // Garbage is dropped at once, stalled handshakes after the handshake timeout.
    for s in &mut garbage {
        closed_within(s, Duration::from_secs(5)).await;
    }
    for s in &mut stalled {
        closed_within(s, Duration::from_secs(10)).await;
    }
    let peers = a.net.peers().await.expect("running");
    assert_eq!(peers.iter().map(|p| p.peer).collect::<Vec<_>>(), vec![b.id]);
}
