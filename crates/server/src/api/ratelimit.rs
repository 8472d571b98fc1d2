//! Rate limits on calls made with a public key (`pk_…`), which is browser-safe and so in
//! anyone's hands: per key and per client address, checked in memory before the key is looked
//! up, so a flood costs neither a database round trip nor a write.
//!
//! The limits are per node: counting across nodes would need a shared counter, which is a
//! database round trip on every `/v1/track` (or another service to run). Behind a balancer
//! over N nodes a client can reach up to N times the limit; set the limits for one node's share.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Every this many checks, keys whose allowance is full again are forgotten, so the maps hold
/// only recent clients and keys (a flood of made-up keys cannot grow them without bound).
const PRUNE_EVERY: u64 = 4096;

/// The per-key and per-client-address limiters. A limit of 0 turns that one off.
pub struct PublicKeyLimits {
    per_key: Option<DefaultKeyedRateLimiter<String>>,
    per_client: Option<DefaultKeyedRateLimiter<IpAddr>>,
    checks: AtomicU64,
    clock: DefaultClock,
}

impl PublicKeyLimits {
    /// `per_key` and `per_client` are requests per second, each also the burst allowed at once.
    pub fn new(per_key: u32, per_client: u32) -> PublicKeyLimits {
        let quota = |n: u32| NonZeroU32::new(n).map(Quota::per_second);
        PublicKeyLimits {
            per_key: quota(per_key).map(DefaultKeyedRateLimiter::keyed),
            per_client: quota(per_client).map(DefaultKeyedRateLimiter::keyed),
            checks: AtomicU64::new(0),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one call by `client` with `key`; `Err(seconds)` to wait (at least 1) when either
    /// limit is reached. A refused call is not counted against the other limit.
    pub fn check(&self, key: &str, client: IpAddr) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
        let wait = |not_until: governor::NotUntil<_>| {
            not_until.wait_time_from(self.clock.now()).as_secs() + 1
        };
        if let Some(l) = &self.per_client {
            l.check_key(&client).map_err(wait)?;
        }
        if let Some(l) = &self.per_key {
            l.check_key(&key.to_string()).map_err(wait)?;
        }
        Ok(())
    }

    fn prune(&self) {
        if let Some(l) = &self.per_client {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.per_key {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_limit_waits_and_others_do_not() {
        let limits = PublicKeyLimits::new(100, 3);
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        let b: IpAddr = "203.0.113.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limits.check("pk_x", a), Ok(()));
        }
        assert_eq!(limits.check("pk_x", a), Err(1));
        assert_eq!(limits.check("pk_x", b), Ok(()));
    }

    #[test]
    fn a_key_over_its_limit_waits_from_every_client() {
        let limits = PublicKeyLimits::new(2, 100);
        for i in 0..2u8 {
            assert_eq!(
                limits.check("pk_x", IpAddr::from([198, 51, 100, i])),
                Ok(())
            );
        }
        assert!(
            limits
                .check("pk_x", IpAddr::from([198, 51, 100, 9]))
                .is_err()
        );
        assert_eq!(
            limits.check("pk_y", IpAddr::from([198, 51, 100, 9])),
            Ok(())
        );
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limits = PublicKeyLimits::new(0, 0);
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        for _ in 0..10_000 {
            assert_eq!(limits.check("pk_x", a), Ok(()));
        }
    }
}
