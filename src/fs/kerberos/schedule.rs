//! When to log in again (pure, unit-tested).

use std::time::{Duration, SystemTime};

use super::krb5::Lifetime;

/// How the background re-login is timed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenewalPolicy {
    /// Log in again when this fraction of the ticket's lifetime has passed (Hadoop's
    /// `UserGroupInformation` uses 0.8; ckpt defaults to 0.75).
    pub fraction: f64,
    /// Never wait less than this between two logins (protects the KDC from very short tickets).
    pub min_delay: Duration,
    /// First wait after a failed login; doubled on each further failure.
    pub retry_initial: Duration,
    /// Longest wait between two failed attempts.
    pub retry_max: Duration,
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        RenewalPolicy {
            fraction: 0.75,
            min_delay: Duration::from_secs(5),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
        }
    }
}

impl RenewalPolicy {
    /// How long to wait, from `now`, before the next login for a ticket valid over `life`.
    pub fn next_login(&self, now: SystemTime, life: Lifetime) -> Duration {
        let total = life.end.duration_since(life.start).unwrap_or_default();
        let fraction = self.fraction.clamp(0.05, 0.95);
        let due = life.start + total.mul_f64(fraction);
        due.duration_since(now)
            .unwrap_or_default()
            .max(self.min_delay)
    }

    /// How long to wait after the `attempt`-th consecutive failure (1-based), knowing the
    /// current ticket ends at `end`: exponential, capped by `retry_max`, and while the ticket is
    /// still valid by half its remaining time (so several attempts happen before it expires).
    pub fn retry_after(&self, attempt: u32, now: SystemTime, end: SystemTime) -> Duration {
        let exp = attempt.saturating_sub(1).min(16);
        let backoff = self
            .retry_initial
            .saturating_mul(1u32 << exp)
            .min(self.retry_max);
        match end.duration_since(now) {
            Ok(remaining) if !remaining.is_zero() => {
                backoff.min((remaining / 2).max(Duration::from_secs(1)))
            }
            _ => backoff,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    fn life(start: u64, end: u64) -> Lifetime {
        Lifetime {
            start: at(start),
            end: at(end),
        }
    }

    #[test]
    fn two_minute_ticket_is_renewed_after_90_seconds() {
        let p = RenewalPolicy::default();
        assert_eq!(
            p.next_login(at(1000), life(1000, 1120)),
            Duration::from_secs(90)
        );
        // Computed later (e.g. after a slow login): only the rest of the wait.
        assert_eq!(
            p.next_login(at(1030), life(1000, 1120)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn ten_hour_ticket() {
        let p = RenewalPolicy::default();
        assert_eq!(
            p.next_login(at(0), life(0, 36_000)),
            Duration::from_secs(27_000)
        );
    }

    #[test]
    fn overdue_or_tiny_tickets_wait_the_minimum() {
        let p = RenewalPolicy::default();
        assert_eq!(p.next_login(at(2000), life(1000, 1120)), p.min_delay);
        assert_eq!(p.next_login(at(1000), life(1000, 1002)), p.min_delay);
        // Broken lifetime (end before start) does not panic.
        assert_eq!(p.next_login(at(1000), life(1000, 900)), p.min_delay);
    }

    #[test]
    fn fraction_is_clamped() {
        let p = RenewalPolicy {
            fraction: 7.0,
            ..RenewalPolicy::default()
        };
        assert_eq!(p.next_login(at(0), life(0, 100)), Duration::from_secs(95));
    }

    #[test]
    fn retries_back_off_exponentially_within_the_remaining_lifetime() {
        let p = RenewalPolicy::default();
        let now = at(1000);
        let far = at(100_000);
        let delays: Vec<u64> = (1..=8)
            .map(|a| p.retry_after(a, now, far).as_secs())
            .collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        // 20 s of validity left: never wait more than 10 s.
        assert_eq!(p.retry_after(6, now, at(1020)), Duration::from_secs(10));
        // Already expired: plain backoff.
        assert_eq!(p.retry_after(3, now, at(900)), Duration::from_secs(4));
        // Huge attempt counts do not overflow.
        assert_eq!(p.retry_after(u32::MAX, now, far), p.retry_max);
    }
}
