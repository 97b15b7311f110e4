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
    /// requests.
    Head,
    /// The head arrived; the body is still arriving.
    Body,
    /// The request is complete and the server is working on it. Never shed: the
    /// server's own work is bounded by its handlers.
    Handling,
    /// The response is being written.
    Sending,
}

impl Phase {
    /// Order among connections that used the same share of their time: lower goes
    /// first; `None` is never shed.
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
    /// When the phase began.
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
    /// full, the connection furthest into the time its phase allows (see
    /// `victim`) is removed and told to close; returns whether one was.
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

/// The connection to shed: the one that has used the largest share of the time
/// its phase allows (so a connection that just opened goes last, and among equal
/// allowances the oldest goes first); on a tie, heads before bodies before
/// responses, then the oldest. A response of unknown length, which has no
/// deadline, counts as having used none.
fn victim(conns: &HashMap<u64, Arc<Conn>>) -> Option<u64> {
    let now = Instant::now();
    let mut best: Option<(Used, u8, Instant, u64)> = None;
    for c in conns.values() {
        let s = c.lock();
        let Some(rank) = s.phase.shed_rank() else {
            continue;
        };
        let used = Used::of(s.since, s.deadline, now);
        let key = (used, rank, s.since, c.id);
        let better = match &best {
            None => true,
            Some((u, r, since, _)) => used
                .cmp(u)
                .then(r.cmp(&rank))
                .then(since.cmp(&s.since))
                .is_gt(),
        };
        if better {
            best = Some(key);
        }
    }
    best.map(|(_, _, _, id)| id)
}

/// Elapsed over allowed time of a phase, compared exactly (as a fraction).
#[derive(Clone, Copy, Debug)]
struct Used {
    elapsed: u128,
    allowed: u128,
}

impl Used {
    fn of(since: Instant, deadline: Option<Instant>, now: Instant) -> Used {
        match deadline {
            Some(d) => Used {
                elapsed: now.saturating_duration_since(since).as_nanos(),
                allowed: d.saturating_duration_since(since).as_nanos().max(1),
            },
            None => Used {
                elapsed: 0,
                allowed: 1,
            },
        }
    }

    fn cmp(&self, other: &Used) -> std::cmp::Ordering {
        // a/b against c/d as a*d against c*b; nanoseconds of a phase fit u64, so
        // the products fit u128.
        (self.elapsed.saturating_mul(other.allowed))
            .cmp(&other.elapsed.saturating_mul(self.allowed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far() -> Instant {
        Instant::now() + std::time::Duration::from_secs(3600)
    }

    #[tokio::test]
    async fn a_full_table_sheds_the_connection_furthest_into_its_allowance() {
        use std::time::Duration;
        let table = ConnTable::new(3);
        let (a, _) = table.admit(far());
        let (b, _) = table.admit(far());
        let (c, _) = table.admit(far());
        // a is busy; b's body may take 40 ms; c waits for its head (an hour).
        a.request_started(None);
        b.request_started(Some(Instant::now() + Duration::from_millis(40)));
        tokio::time::sleep(Duration::from_millis(30)).await;
        // b has used three quarters of its time, c almost none: b goes, though c
        // waits for a head and b is younger.
        let (d, shed) = table.admit(far());
        assert!(shed);
        assert_eq!(b.must_close().await, Closed::Shed);
        // Between two heads with the same allowance, the older goes.
        let (_e, shed) = table.admit(far());
        assert!(shed);
        assert_eq!(c.must_close().await, Closed::Shed);
        // The busy one is never shed.
        let (_f, _) = table.admit(far());
        assert_eq!(d.must_close().await, Closed::Shed);
        assert_eq!(table.len(), 3);
        assert!(table.lock().contains_key(&a.id));
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
