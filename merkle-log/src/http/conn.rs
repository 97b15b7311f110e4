//! The table of open connections: what each is doing, its deadline, and which one to
//! shed when the table is full.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

/// What a connection is doing, in the order a request goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for a complete request head: a new connection, or one idle between
    /// requests. Shed first.
    Head,
    /// The head arrived; the body is still arriving. Shed second.
    Body,
    /// The request is complete and the server is working on it. Never shed: the
    /// server's own work is bounded by its handlers.
    Handling,
    /// The response is being written. Shed third (a slow reader).
    Sending,
}

impl Phase {
    /// Shedding order: lower goes first; `None` is never shed.
    fn shed_rank(self) -> Option<u8> {
        match self {
            Phase::Head => Some(0),
            Phase::Body => Some(1),
            Phase::Sending => Some(2),
            Phase::Handling => None,
        }
    }
}

#[derive(Debug)]
struct Status {
    phase: Phase,
    /// When the phase began (the age used to pick whom to shed).
    since: Instant,
    /// When the connection is closed unless the phase changes first.
    deadline: Option<Instant>,
    /// Requests started on this connection; ties a body to its request.
    request: u64,
    /// Chosen to make room for a new connection.
    shed: bool,
}

/// Why a connection was closed by the server rather than by its client or by HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Closed {
    /// Its phase outlived its deadline.
    Deadline(Phase),
    /// It made room for a newer connection.
    Shed,
}

/// One connection's shared state, read by its watchdog and written by its request and
/// response bodies.
#[derive(Debug)]
pub(crate) struct Conn {
    id: u64,
    status: Mutex<Status>,
    wake: Notify,
    /// A write waited longer than the write timeout.
    stalled: AtomicBool,
}

impl Conn {
    fn lock(&self) -> MutexGuard<'_, Status> {
        // A panic while holding this lock leaves plain data behind: keep using it.
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new request head arrived; returns the request's number. `body_deadline` is
    /// `None` when the request has no body.
    pub(crate) fn request_started(&self, body_deadline: Option<Instant>) -> u64 {
        let mut s = self.lock();
        s.request += 1;
        s.phase = if body_deadline.is_some() {
            Phase::Body
        } else {
            Phase::Handling
        };
        s.since = Instant::now();
        s.deadline = body_deadline;
        let number = s.request;
        drop(s);
        self.wake.notify_one();
        number
    }

    /// The body of `request` has been received in full.
    pub(crate) fn body_received(&self, request: u64) {
        let mut s = self.lock();
        if s.request == request && s.phase == Phase::Body {
            s.phase = Phase::Handling;
            s.since = Instant::now();
            s.deadline = None;
            drop(s);
            self.wake.notify_one();
        }
    }

    /// The response to `request` starts; it must be written by `deadline`.
    pub(crate) fn sending(&self, request: u64, deadline: Option<Instant>) {
        let mut s = self.lock();
        if s.request == request {
            s.phase = Phase::Sending;
            s.since = Instant::now();
            s.deadline = deadline;
            drop(s);
            self.wake.notify_one();
        }
    }

    /// The response to `request` has been handed over; the next head is due by
    /// `deadline`.
    pub(crate) fn sent(&self, request: u64, deadline: Instant) {
        let mut s = self.lock();
        if s.request == request && s.phase == Phase::Sending {
            s.phase = Phase::Head;
            s.since = Instant::now();
            s.deadline = Some(deadline);
            drop(s);
            self.wake.notify_one();
        }
    }

    /// Records that a write to the client stalled past the write timeout.
    pub(crate) fn write_stalled(&self) {
        self.stalled.store(true, Ordering::Relaxed);
    }

    /// Whether [`Conn::write_stalled`] was called.
    pub(crate) fn was_stalled(&self) -> bool {
        self.stalled.load(Ordering::Relaxed)
    }

    fn shed(&self) {
        self.lock().shed = true;
        self.wake.notify_one();
    }

    /// Resolves when the connection must be closed: it was shed, or its phase passed
    /// its deadline.
    pub(crate) async fn must_close(&self) -> Closed {
        loop {
            let (shed, deadline, phase) = {
                let s = self.lock();
                (s.shed, s.deadline, s.phase)
            };
            if shed {
                return Closed::Shed;
            }
            match deadline {
                Some(d) if d <= Instant::now() => return Closed::Deadline(phase),
                Some(d) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(d) => {}
                        () = self.wake.notified() => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }
}

/// Every open connection, capped in number.
#[derive(Debug)]
pub(crate) struct ConnTable {
    max: usize,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    /// Signalled when a connection leaves the table.
    pub(crate) freed: Notify,
}

impl ConnTable {
    pub(crate) fn new(max: usize) -> Self {
        ConnTable {
            max: max.max(1),
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Open connections.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether a new connection can be admitted, possibly by shedding one.
    pub(crate) fn can_admit(&self) -> bool {
        let conns = self.lock();
        conns.len() < self.max || victim(&conns).is_some()
    }

    /// Admits a connection whose head is due by `head_deadline`. When the table is
    /// full, the connection that has waited longest in the lowest shedding rank is
    /// removed and told to close; returns whether one was.
    pub(crate) fn admit(&self, head_deadline: Instant) -> (Arc<Conn>, bool) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            status: Mutex::new(Status {
                phase: Phase::Head,
                since: Instant::now(),
                deadline: Some(head_deadline),
                request: 0,
                shed: false,
            }),
            wake: Notify::new(),
            stalled: AtomicBool::new(false),
        });
        let mut conns = self.lock();
        let mut shed = false;
        if conns.len() >= self.max
            && let Some(v) = victim(&conns)
            && let Some(old) = conns.remove(&v)
        {
            old.shed();
            shed = true;
        }
        conns.insert(id, Arc::clone(&conn));
        (conn, shed)
    }

    /// Removes a connection that has closed.
    pub(crate) fn remove(&self, conn: &Conn) {
        self.lock().remove(&conn.id);
        self.freed.notify_one();
    }
}

/// The connection to shed: lowest rank, then oldest in its phase.
fn victim(conns: &HashMap<u64, Arc<Conn>>) -> Option<u64> {
    conns
        .values()
        .filter_map(|c| {
            let s = c.lock();
            s.phase.shed_rank().map(|rank| ((rank, s.since), c.id))
        })
        .min_by_key(|(key, _)| *key)
        .map(|(_, id)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far() -> Instant {
        Instant::now() + std::time::Duration::from_secs(3600)
    }

    #[tokio::test]
    async fn a_full_table_sheds_the_oldest_waiting_head_then_bodies_then_senders() {
        let table = ConnTable::new(3);
        let (a, _) = table.admit(far());
        let (b, _) = table.admit(far());
        let (c, _) = table.admit(far());
        // a is busy, b is receiving a body, c waits for its head.
        let ra = a.request_started(None);
        let _rb = b.request_started(Some(far()));
        assert_eq!(ra, 1);
        let (d, shed) = table.admit(far());
        assert!(shed);
        assert_eq!(c.must_close().await, Closed::Shed);
        // Heads go before bodies, whatever their age: d, not b.
        let (_e, shed) = table.admit(far());
        assert!(shed);
        assert_eq!(d.must_close().await, Closed::Shed);
        // a (handling), b (body) and e (head) remain. a starts sending; the next two
        // admissions shed e, then f, which wait for their heads.
        assert_eq!(table.len(), 3);
        a.sending(ra, Some(far()));
        let (_f, _) = table.admit(far());
        let (_g, _) = table.admit(far());
        assert_eq!(table.len(), 3);
        assert!(table.lock().contains_key(&a.id) && table.lock().contains_key(&b.id));
    }

    #[tokio::test]
    async fn a_table_of_busy_connections_admits_no_one() {
        let table = ConnTable::new(1);
        let (a, _) = table.admit(far());
        // A connection waiting for its head can be shed; a busy one cannot.
        assert!(table.can_admit());
        a.request_started(None);
        assert!(!table.can_admit());
        table.remove(&a);
        assert!(table.can_admit());
    }

    #[tokio::test]
    async fn a_phase_that_outlives_its_deadline_closes_the_connection() {
        use std::time::Duration;
        let table = ConnTable::new(4);
        let (a, _) = table.admit(Instant::now() + Duration::from_millis(20));
        assert_eq!(a.must_close().await, Closed::Deadline(Phase::Head));
        // Each phase replaces the deadline of the one before.
        let (b, _) = table.admit(Instant::now() + Duration::from_millis(20));
        let r = b.request_started(Some(Instant::now() + Duration::from_secs(3600)));
        let started = Instant::now();
        b.body_received(r);
        b.sending(r, Some(Instant::now() + Duration::from_millis(60)));
        assert_eq!(b.must_close().await, Closed::Deadline(Phase::Sending));
        assert!(started.elapsed() >= Duration::from_millis(60));
    }
}
