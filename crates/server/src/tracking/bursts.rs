//! Click bursts: a scanner that follows every link of an email does so within a second or two;
//! a person does not. This counts each email's clicks over the last two seconds, in memory (per
//! node: a burst split across nodes by a load balancer may be under-counted).

use std::collections::HashMap;
use std::sync::Mutex;

const WINDOW_MS: i64 = 2_000;
/// Past this many tracked emails the map is swept of stale entries.
const SWEEP_AT: usize = 50_000;

#[derive(Default)]
pub struct Bursts {
    recent: Mutex<HashMap<[u8; 16], Vec<i64>>>,
}

impl Bursts {
    /// Records a click at `now` and returns how many clicks on the same email came before it
    /// within the window.
    pub fn hit(&self, email: [u8; 16], now: i64) -> u32 {
        let mut map = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > SWEEP_AT {
            map.retain(|_, times| times.last().is_some_and(|t| now - t < WINDOW_MS));
        }
        let times = map.entry(email).or_default();
        times.retain(|t| now - t < WINDOW_MS);
        let before = times.len() as u32;
        times.push(now);
        before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_the_last_two_seconds_per_email() {
        let b = Bursts::default();
        assert_eq!(b.hit([1; 16], 0), 0);
        assert_eq!(b.hit([1; 16], 500), 1);
        assert_eq!(b.hit([2; 16], 600), 0);
        assert_eq!(b.hit([1; 16], 1_900), 2);
        assert_eq!(b.hit([1; 16], 4_000), 0);
    }
}
