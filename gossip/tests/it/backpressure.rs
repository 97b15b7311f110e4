//! A slow event consumer: the queue stays at its capacity, the rest is dropped and
//! counted, and the loop keeps answering.

use gossip::Event;

use crate::helpers::{
    Honest, TOPIC, expect_delivery, start, start_with, test_limits, wait_for, wait_mesh,
    wait_ready, wait_until,
};

#[tokio::test]
async fn a_slow_consumer_gets_a_bounded_queue_and_a_lag_count() {
    const CAPACITY: usize = 8;
    const SENT: u64 = 40;
    let mut limits = test_limits();
    limits.event_capacity = CAPACITY;
    let mut b = start_with::<Honest>(crate::helpers::Height(2), vec![], limits).await;
    let mut a = start(1, vec![b.addr.clone()]).await;
    wait_ready(&mut a.events, b.id).await;
    // b's queue holds PeerReady; drain it so the count below is about messages only.
    wait_ready(&mut b.events, a.id).await;
    wait_mesh(&a.net, b.id).await;

    // b reads nothing while a publishes.
    for i in 0..SENT {
        a.net
            .publish(TOPIC, format!("message {i}").into_bytes())
            .await
            .expect("published");
    }
    let dropped = SENT - CAPACITY as u64;
    // The loop still answers commands while the consumer sleeps.
    wait_until("b dropped what did not fit", || async {
        b.net.stats().await.expect("running").events_dropped == dropped
    })
    .await;
    let stats = b.net.stats().await.expect("running");
    assert_eq!(stats.messages_shed, dropped, "dropped messages are ignored");
    assert_eq!(b.events.len(), CAPACITY);

    // The queued events are the first messages, in order; then the lag count.
    for i in 0..CAPACITY {
        match b.events.recv().await {
            Some(Event::Message { data, .. }) => {
                assert_eq!(data, format!("message {i}").into_bytes())
            }
            other => panic!("expected message {i}, got {other:?}"),
        }
    }
    let missed = wait_for(&mut b.events, "lag count", |e| match e {
        Event::Lagged { missed } => Some(missed),
        other => panic!("expected Lagged, got {other:?}"),
    })
    .await;
    assert_eq!(missed, dropped);
    // Delivery resumes.
    expect_delivery(&a.net, &mut b.events, b"after").await;
}
