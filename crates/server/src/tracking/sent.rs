//! When recently hit emails arrived, in memory, so a burst of opens and clicks after a campaign
//! does not read the email row once per hit before classifying it (the verdicts that look at
//! time since delivery).
//!
//! An email's arrival is its `delivered_at` when the transport reports deliveries (Amazon SES,
//! through SNS), else its `sent_at` (handed to the relay). Both are written once, so a
//! remembered delivery never goes stale; a hand-off time is re-read at most once a second while
//! a delivery report may still come (SNS topics are configured and the email was sent within
//! the last ten minutes), then kept. Emails not sent yet are not remembered.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::{self, Db};

/// Past this many emails the map starts over (~5 MB at most).
const CAPACITY: usize = 100_000;
/// How long after the hand-off a delivery report is still waited for.
const REPORT_WAIT_MS: i64 = 600_000;
/// How often, meanwhile, the row is read again.
const REREAD_MS: i64 = 1_000;

#[derive(Clone, Copy)]
struct Entry {
    sent_at: i64,
    delivered_at: Option<i64>,
    read_at: i64,
}

pub struct SentTimes {
    map: Mutex<HashMap<[u8; 16], Entry>>,
    /// Whether delivery reports can come (SNS topics are configured).
    reports: bool,
}

impl SentTimes {
    pub fn new(reports: bool) -> SentTimes {
        SentTimes {
            map: Mutex::default(),
            reports,
        }
    }

    /// The email's arrival (delivery, else hand-off) in milliseconds, from memory when it is
    /// settled, else from the store; `None` when it is not sent (or the store cannot say).
    pub async fn arrival(&self, db: &Db, email: [u8; 16], now: i64) -> Option<i64> {
        if let Some(e) = self.get(email)
            && !self.unsettled(&e, now)
        {
            return Some(e.delivered_at.unwrap_or(e.sent_at));
        }
        let id = uuid::Uuid::from_bytes(email).to_string();
        let (sent, delivered) = store::emails::sent_and_delivered(db, &id).await.ok()?;
        let sent_at = sent?;
        self.remember(
            email,
            Entry {
                sent_at,
                delivered_at: delivered,
                read_at: now,
            },
        );
        Some(delivered.unwrap_or(sent_at))
    }

    /// A hand-off time while a delivery report may still come, last read over a second ago.
    fn unsettled(&self, e: &Entry, now: i64) -> bool {
        self.reports
            && e.delivered_at.is_none()
            && now - e.sent_at < REPORT_WAIT_MS
            && now - e.read_at >= REREAD_MS
    }

    fn get(&self, email: [u8; 16]) -> Option<Entry> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&email).copied()
    }

    fn remember(&self, email: [u8; 16], entry: Entry) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(email, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sent_at: i64, delivered_at: Option<i64>, read_at: i64) -> Entry {
        Entry {
            sent_at,
            delivered_at,
            read_at,
        }
    }

    #[test]
    fn a_hand_off_time_is_reread_only_while_a_report_may_come() {
        let with = SentTimes::new(true);
        assert!(with.unsettled(&entry(0, None, 0), 1_000));
        assert!(
            !with.unsettled(&entry(0, None, 500), 1_000),
            "read under a second ago"
        );
        assert!(!with.unsettled(&entry(0, Some(10), 0), 5_000), "delivered");
        assert!(
            !with.unsettled(&entry(0, None, 0), REPORT_WAIT_MS),
            "too late for a report"
        );
        assert!(!SentTimes::new(false).unsettled(&entry(0, None, 0), 5_000));
    }

    #[test]
    fn remembers_and_starts_over_when_full() {
        let s = SentTimes::new(false);
        assert!(s.get([1; 16]).is_none());
        s.remember([1; 16], entry(42, None, 0));
        assert_eq!(s.get([1; 16]).map(|e| e.sent_at), Some(42));
        for i in 0..CAPACITY as u32 {
            let mut id = [0; 16];
            id[..4].copy_from_slice(&i.to_be_bytes());
            s.remember(id, entry(1, None, 0));
        }
        assert!(s.map.lock().unwrap().len() <= CAPACITY);
    }
}
