//! Stored link destinations (`link_destinations`, migrations/0009): long tracked URLs,
//! referenced by id from sealed click tokens, written when their email is queued and never
//! deleted.

use beacon_tracking::rewrite::StoredDestination;
use beacon_tracking::token::DestinationId;

use super::{Db, Tx, now_ms};

/// Stores destinations inside the transaction that queues their email; one already stored (by
/// any email, on any node) is left as it is: the same id always holds the same destination.
pub async fn insert(tx: &mut Tx, destinations: &[StoredDestination]) -> Result<(), sqlx::Error> {
    for d in destinations {
        sqlx::query(
            "INSERT INTO link_destinations (id, url, tag, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(d.id.to_hex())
        .bind(&d.url)
        .bind(&d.tag)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The destination stored under `id`, if any.
pub async fn get(db: &Db, id: DestinationId) -> Result<Option<StoredDestination>, sqlx::Error> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT url, tag FROM link_destinations WHERE id = $1")
            .bind(id.to_hex())
            .fetch_optional(&db.read)
            .await?;
    Ok(row.map(|(url, tag)| StoredDestination { id, url, tag }))
}
