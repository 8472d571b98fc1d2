//! Sent times of recently hit emails, in memory, so a burst of opens and clicks after a campaign
//! does not read the email row once per hit before classifying it ("too soon after sending").
//! An email's `sent_at` is written once, when it is delivered, so a remembered time never goes
//! stale; emails not sent yet are not remembered and are read again on their next hit.

use std::collections::HashMap;
use std::sync::Mutex;

/// Past this many emails the map starts over (~3 MB at most).
const CAPACITY: usize = 100_000;

#[derive(Default)]
pub struct SentTimes {
    map: Mutex<HashMap<[u8; 16], i64>>,
}

impl SentTimes {
    pub fn get(&self, email: [u8; 16]) -> Option<i64> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&email).copied()
    }

    pub fn remember(&self, email: [u8; 16], sent_at: i64) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(email, sent_at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_starts_over_when_full() {
        let s = SentTimes::default();
        assert_eq!(s.get([1; 16]), None);
        s.remember([1; 16], 42);
        assert_eq!(s.get([1; 16]), Some(42));
        for i in 0..CAPACITY as u32 {
            let mut id = [0; 16];
            id[..4].copy_from_slice(&i.to_be_bytes());
            s.remember(id, 1);
        }
        assert!(s.map.lock().unwrap().len() <= CAPACITY);
    }
}
