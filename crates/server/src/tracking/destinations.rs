//! Stored destinations of long tracked links, in memory, so the redirect of a campaign's long
//! link reads its row once per node rather than once per click. A row never changes once
//! written (its id is a hash of its content), so a remembered one never goes stale; misses are
//! not remembered (a sealed token whose row is missing answers 404 every time).

use std::collections::HashMap;
use std::sync::Mutex;

use beacon_tracking::rewrite::StoredDestination;
use beacon_tracking::token::DestinationId;

use crate::store::{Db, destinations};

/// Past this many destinations the map starts over (a few MB at most).
const CAPACITY: usize = 10_000;

#[derive(Default)]
pub struct Destinations {
    map: Mutex<HashMap<DestinationId, StoredDestination>>,
}

impl Destinations {
    /// The destination stored under `id`, from memory or the store.
    pub async fn get(
        &self,
        db: &Db,
        id: DestinationId,
    ) -> Result<Option<StoredDestination>, sqlx::Error> {
        if let Some(found) = self.lock().get(&id) {
            return Ok(Some(found.clone()));
        }
        let found = destinations::get(db, id).await?;
        if let Some(d) = &found {
            let mut map = self.lock();
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(id, d.clone());
        }
        Ok(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<DestinationId, StoredDestination>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}
