//! Bounded event delivery: each subscriber has a buffer of fixed capacity; a full buffer
//! drops its oldest event and counts it, so a subscriber that falls behind learns how
//! much it missed ([`EventError::Lagged`]) and resyncs from the chain, while memory stays
//! bounded and publishing never waits for a reader.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::error::EventError;
use crate::hash::{BlockHash, TxId};
use crate::units::Height;

/// Default of [`crate::NodeConfig::event_buffer`]: events a subscriber may leave unread
/// before the oldest are dropped.
pub const DEFAULT_EVENT_BUFFER: usize = 1024;

/// Something the node learned, for a network layer or other listeners.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// A block joined the active chain.
    BlockConnected {
        /// Its hash.
        hash: BlockHash,
        /// Its height.
        height: Height,
    },
    /// A block left the active chain.
    BlockDisconnected {
        /// Its hash.
        hash: BlockHash,
        /// Its height.
        height: Height,
    },
    /// A transaction entered the mempool.
    TxAccepted {
        /// Its txid.
        txid: TxId,
    },
}

/// One subscriber's buffer.
#[derive(Debug, Default)]
struct Queue {
    events: VecDeque<NodeEvent>,
    /// Events dropped since the subscriber last heard of a lag.
    missed: u64,
    /// The node is gone: no event will come after those buffered.
    closed: bool,
}

#[derive(Debug)]
struct Slot {
    queue: Mutex<Queue>,
    /// Wakes a thread blocked in `recv`.
    ready: Condvar,
    /// Wakes a task awaiting `recv_async` (one subscriber per slot, so one permit is
    /// enough: a wake-up between its look at the queue and its wait is kept).
    wake: tokio::sync::Notify,
    capacity: usize,
}

impl Slot {
    fn woken(&self) {
        self.ready.notify_all();
        self.wake.notify_one();
    }
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A queue is always consistent between two statements: a panic elsewhere does
        // not make it unreadable.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The publishing side, held by the node: a list of live subscribers.
#[derive(Debug)]
pub(crate) struct Hub {
    slots: Mutex<Slots>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Slots {
    live: Vec<Weak<Slot>>,
    /// The node stopped: a new subscriber starts closed.
    closed: bool,
}

impl Hub {
    /// A hub whose subscribers each buffer up to `capacity` events (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Hub {
            slots: Mutex::new(Slots::default()),
            capacity: capacity.max(1),
        }
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new subscriber of every event published from now on.
    pub(crate) fn subscribe(&self) -> Subscription {
        let mut slots = self.slots();
        let slot = Arc::new(Slot {
            queue: Mutex::new(Queue {
                closed: slots.closed,
                ..Queue::default()
            }),
            ready: Condvar::new(),
            wake: tokio::sync::Notify::new(),
            capacity: self.capacity,
        });
        // Forget subscribers that went away.
        slots.live.retain(|s| s.strong_count() > 0);
        slots.live.push(Arc::downgrade(&slot));
        Subscription { slot }
    }

    /// Appends `events` to every subscriber's buffer, dropping each one's oldest events
    /// past its capacity. Never waits for a reader.
    pub(crate) fn publish(&self, events: &[NodeEvent]) {
        if events.is_empty() {
            return;
        }
        self.slots().live.retain(|weak| {
            let Some(slot) = weak.upgrade() else {
                return false;
            };
            {
                let mut q = slot.lock();
                for e in events {
                    if q.events.len() >= slot.capacity {
                        q.events.pop_front();
                        q.missed = q.missed.saturating_add(1);
                    }
                    q.events.push_back(e.clone());
                }
            }
            slot.woken();
            true
        });
    }

    /// Tells every subscriber that no event will follow those buffered.
    pub(crate) fn close(&self) {
        let mut slots = self.slots();
        slots.closed = true;
        for slot in slots.live.drain(..).filter_map(|w| w.upgrade()) {
            slot.lock().closed = true;
            slot.woken();
        }
    }
}

/// A subscription to the node's [`NodeEvent`]s, in the order they happened, over a
/// buffer of bounded size (see [`crate::NodeConfig::event_buffer`]).
///
/// When the subscriber falls behind by more than the buffer holds, the oldest events are
/// dropped and the next read returns [`EventError::Lagged`] with their number; reads then
/// continue with the events kept. A subscriber that lagged should resync from the chain
/// (`getbestblockhash`, the mempool) rather than trust its running view.
#[derive(Debug)]
pub struct Subscription {
    slot: Arc<Slot>,
}

impl Subscription {
    /// The next event, waiting for one.
    ///
    /// # Errors
    /// [`EventError::Lagged`] once after events were dropped; [`EventError::Closed`]
    /// when the node stopped and every buffered event was read.
    pub fn recv(&mut self) -> Result<NodeEvent, EventError> {
        let mut q = self.slot.lock();
        loop {
            if let Some(next) = Self::take(&mut q) {
                return next;
            }
            q = self.slot.ready.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The next event, awaiting one: for a subscriber on an async runtime (a network
    /// loop), where [`Subscription::recv`] would block a worker.
    ///
    /// # Errors
    /// As [`Subscription::recv`].
    pub async fn recv_async(&mut self) -> Result<NodeEvent, EventError> {
        loop {
            let next = Self::take(&mut self.slot.lock());
            if let Some(next) = next {
                return next;
            }
            self.slot.wake.notified().await;
        }
    }

    /// The next event, waiting at most `timeout` for one.
    ///
    /// # Errors
    /// As [`Subscription::recv`], and [`EventError::Timeout`] when none came in time.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<NodeEvent, EventError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut q = self.slot.lock();
        loop {
            if let Some(next) = Self::take(&mut q) {
                return next;
            }
            let now = Instant::now();
            let left = match deadline {
                Some(d) if d > now => d - now,
                Some(_) => return Err(EventError::Timeout),
                // A timeout past the end of time: wait as `recv` does.
                None => Duration::from_secs(3600),
            };
            q = self
                .slot
                .ready
                .wait_timeout(q, left)
                .map(|(q, _)| q)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// The next event if one is buffered.
    ///
    /// # Errors
    /// As [`Subscription::recv`], and [`EventError::Empty`] when none is buffered.
    pub fn try_recv(&mut self) -> Result<NodeEvent, EventError> {
        Self::take(&mut self.slot.lock()).unwrap_or(Err(EventError::Empty))
    }

    /// Every buffered event, oldest first, until the first lag or the end of the buffer.
    ///
    /// # Errors
    /// [`EventError::Lagged`] when events were dropped before those buffered (nothing is
    /// taken then; read on to get them).
    pub fn drain(&mut self) -> Result<Vec<NodeEvent>, EventError> {
        let mut q = self.slot.lock();
        if q.missed > 0 {
            let missed = std::mem::take(&mut q.missed);
            return Err(EventError::Lagged { missed });
        }
        Ok(q.events.drain(..).collect())
    }

    /// How many events are buffered unread (never more than the buffer's capacity).
    pub fn pending(&self) -> usize {
        self.slot.lock().events.len()
    }

    /// The buffer's capacity.
    pub fn capacity(&self) -> usize {
        self.slot.capacity
    }

    fn take(q: &mut Queue) -> Option<Result<NodeEvent, EventError>> {
        if q.missed > 0 {
            let missed = std::mem::take(&mut q.missed);
            return Some(Err(EventError::Lagged { missed }));
        }
        if let Some(e) = q.events.pop_front() {
            return Some(Ok(e));
        }
        q.closed.then_some(Err(EventError::Closed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connected(h: u32) -> NodeEvent {
        NodeEvent::BlockConnected {
            hash: BlockHash([h as u8; 32]),
            height: Height(h),
        }
    }

    #[test]
    fn a_slow_subscriber_lags_and_memory_stays_bounded() {
        let hub = Hub::new(4);
        let mut slow = hub.subscribe();
        let mut fast = hub.subscribe();
        let mut seen = Vec::new();
        for h in 0..10 {
            hub.publish(&[connected(h)]);
            seen.push(fast.try_recv().unwrap());
            assert!(slow.pending() <= 4);
        }
        assert_eq!(seen, (0..10).map(connected).collect::<Vec<_>>());
        assert_eq!(slow.try_recv(), Err(EventError::Lagged { missed: 6 }));
        // The newest four are kept, in order.
        assert_eq!(
            slow.drain().unwrap(),
            (6..10).map(connected).collect::<Vec<_>>()
        );
        assert_eq!(slow.try_recv(), Err(EventError::Empty));
        hub.close();
        assert_eq!(slow.recv(), Err(EventError::Closed));
        assert_eq!(hub.subscribe().recv(), Err(EventError::Closed));
        assert_eq!(
            fast.recv_timeout(Duration::from_millis(1)),
            Err(EventError::Closed)
        );
    }

    #[test]
    fn an_async_subscriber_is_woken_by_events_published_from_another_thread() {
        let hub = Arc::new(Hub::new(8));
        let mut sub = hub.subscribe();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let publisher = {
            let hub = Arc::clone(&hub);
            std::thread::spawn(move || {
                for h in 0..3 {
                    hub.publish(&[connected(h)]);
                }
                hub.close();
            })
        };
        let got = runtime.block_on(async {
            let mut got = Vec::new();
            loop {
                match sub.recv_async().await {
                    Ok(e) => got.push(e),
                    Err(EventError::Closed) => break got,
                    Err(e) => panic!("{e}"),
                }
            }
        });
        publisher.join().unwrap();
        assert_eq!(got, (0..3).map(connected).collect::<Vec<_>>());
    }

    #[test]
    fn a_dropped_subscriber_is_forgotten() {
        let hub = Hub::new(2);
        drop(hub.subscribe());
        hub.publish(&[connected(1)]);
        assert!(hub.slots().live.is_empty());
        let mut s = hub.subscribe();
        assert_eq!(
            s.recv_timeout(Duration::from_millis(1)),
            Err(EventError::Timeout)
        );
    }
}
