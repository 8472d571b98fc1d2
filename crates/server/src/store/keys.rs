//! Link-signing keys, kept in the store so every node of a deployment verifies the same links.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;

use super::{Db, now_ms};

#[derive(Debug, Clone)]
pub struct StoredKey {
    pub id: i64,
    pub secret: [u8; 32],
    pub active: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    secret: String,
    active: i64,
}

/// All keys, the active (signing) one first. Creates the first key when there is none, so a
/// fresh install signs links without any set-up.
pub async fn load_or_create(db: &Db) -> anyhow::Result<Vec<StoredKey>> {
    let mut keys = load(db).await?;
    if keys.is_empty() {
        let secret: [u8; 32] = rand::rng().random();
        // Two nodes starting at once on one PostgreSQL: the loser's insert is ignored and it
        // reads the winner's key.
        sqlx::query(
            "INSERT INTO signing_keys (id, secret, active, created_at) VALUES (1, $1, 1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(STANDARD.encode(secret))
        .bind(now_ms())
        .execute(&db.write)
        .await?;
        keys = load(db).await?;
    }
    Ok(keys)
}

/// Adds a new signing key; the old ones stay for verification, so links already sent keep working.
pub async fn rotate(db: &Db) -> anyhow::Result<i64> {
    let mut tx = db.begin().await?;
    let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM signing_keys")
        .fetch_one(&mut *tx)
        .await?;
    anyhow::ensure!(
        next <= 255,
        "key ids are one byte: 255 rotations is the limit"
    );
    let secret: [u8; 32] = rand::rng().random();
    sqlx::query("UPDATE signing_keys SET active = 0")
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO signing_keys (id, secret, active, created_at) VALUES ($1, $2, 1, $3)")
        .bind(next)
        .bind(STANDARD.encode(secret))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(next)
}

async fn load(db: &Db) -> anyhow::Result<Vec<StoredKey>> {
    let rows: Vec<Row> =
        sqlx::query_as("SELECT id, secret, active FROM signing_keys ORDER BY active DESC, id DESC")
            .fetch_all(&db.read)
            .await?;
    rows.into_iter()
        .map(|r| {
            let bytes = STANDARD.decode(&r.secret)?;
            let secret: [u8; 32] = bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("signing key {} is not 32 bytes", r.id))?;
            Ok(StoredKey {
                id: r.id,
                secret,
                active: r.active != 0,
            })
        })
        .collect()
}
