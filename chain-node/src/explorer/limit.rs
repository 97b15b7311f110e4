//! Per-client request rates: a token bucket per client address, in a table of
//! bounded size, so that one client's flood of requests cannot take the pages (and
//! the node reads behind them) from the others.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bucket's refill rate and size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Requests each client may make per second, on average.
    pub per_second: f64,
    /// Requests a client may make at once after a pause.
    pub burst: f64,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of the clients seen lately, at most `max_clients` of them.
#[derive(Debug)]
pub(crate) struct Limiter {
    rate: Rate,
    max_clients: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Limiter {
    pub(crate) fn new(rate: Rate, max_clients: usize) -> Self {
        Limiter {
            rate,
            max_clients: max_clients.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `client`'s bucket; `Err` with the time until one is
    /// there when it is empty.
    pub(crate) fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let rate = self.rate;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(&client) && buckets.len() >= self.max_clients {
            // Forget the clients whose buckets are full again: they hold no debt.
            buckets.retain(|_, b| refilled(b, rate, now) < rate.burst);
            if buckets.len() >= self.max_clients {
                // Still full of clients in debt: forget the one that waited longest.
                if let Some(oldest) = buckets.iter().min_by_key(|(_, b)| b.at).map(|(k, _)| *k) {
                    buckets.remove(&oldest);
                }
            }
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let tokens = refilled(bucket, rate, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket { tokens, at: now };
            let per_second = rate.per_second.max(f64::MIN_POSITIVE);
            Err(Duration::from_secs_f64(
                ((1.0 - tokens) / per_second).clamp(0.0, 3600.0),
            ))
        }
    }

    /// Charges `client` for work beyond what its request paid for: `tokens` more, which
    /// may leave its bucket in debt (at most a minute of its rate), so that its next
    /// requests wait until the debt is refilled. A client the table no longer holds is
    /// not charged (it is in no debt worth a slot).
    pub(crate) fn charge(&self, client: IpAddr, tokens: f64, now: Instant) {
        if tokens <= 0.0 || !tokens.is_finite() {
            return;
        }
        let rate = self.rate;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get_mut(&client) {
            let floor = -(rate.per_second * MAX_DEBT_SECONDS);
            *bucket = Bucket {
                tokens: (refilled(bucket, rate, now) - tokens).max(floor),
                at: now,
            };
        }
    }

    /// Clients tracked now.
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.len())
    }
}

/// The longest a client's debt for expensive pages can make it wait, in seconds.
const MAX_DEBT_SECONDS: f64 = 60.0;

/// The bucket's tokens at `now`, capped at the burst.
fn refilled(b: &Bucket, rate: Rate, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
    (b.tokens + elapsed * rate.per_second).min(rate.burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let limiter = Limiter::new(
            Rate {
                per_second: 2.0,
                burst: 3.0,
            },
            2,
        );
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            [10, 0, 0, 1].into(),
            [10, 0, 0, 2].into(),
            [10, 0, 0, 3].into(),
        );
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(a, t0), Ok(()));
        }
        let wait = limiter.take(a, t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        // Another client still has its whole burst.
        assert_eq!(limiter.take(b, t0), Ok(()));
        // Half a second later `a` has one request again.
        assert_eq!(limiter.take(a, t0 + Duration::from_millis(500)), Ok(()));
        // A third client fits by forgetting one: the table stays at its bound.
        assert_eq!(limiter.take(c, t0 + Duration::from_secs(5)), Ok(()));
        assert!(limiter.clients() <= 2);
    }

    #[test]
    fn an_expensive_request_is_paid_for_by_the_next_ones() {
        let limiter = Limiter::new(
            Rate {
                per_second: 2.0,
                burst: 3.0,
            },
            4,
        );
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let t0 = Instant::now();
        assert_eq!(limiter.take(a, t0), Ok(()));
        // Work worth 4 more requests: 2 tokens left, then 2 in debt.
        limiter.charge(a, 4.0, t0);
        let wait = limiter.take(a, t0).unwrap_err();
        // From -2 to 1 at 2 a second: 1.5 s.
        assert!(wait > Duration::from_millis(1400) && wait <= Duration::from_millis(1500));
        assert_eq!(limiter.take(a, t0 + Duration::from_millis(1500)), Ok(()));
        // The debt is bounded by a minute of the rate, whatever the charge.
        limiter.charge(a, 1e12, t0 + Duration::from_secs(2));
        let wait = limiter.take(a, t0 + Duration::from_secs(2)).unwrap_err();
        assert!(wait <= Duration::from_secs_f64(60.5), "{wait:?}");
        // Another client pays nothing for it.
        assert_eq!(limiter.take(b, t0), Ok(()));
    }
}
