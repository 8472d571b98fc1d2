//! Dashboard sessions, in the database so any node can serve any request. The cookie holds a
//! random token; the store keeps its SHA-256 (see `users::new_token`).

use super::users::{User, new_token, token_hash};
use super::{Db, now_ms};

/// How long a session lasts from sign-in.
pub const LIFETIME_MS: i64 = 14 * 86_400_000;

/// A signed-in user and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
    pub token_hash: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    email: String,
    password_hash: Option<String>,
    created_at: i64,
    csrf: String,
    token_hash: String,
}

/// Starts a session for `user_id`; returns the cookie's token.
pub async fn create(db: &Db, user_id: &str) -> Result<String, sqlx::Error> {
    let (token, hash) = new_token();
    let (csrf, _) = new_token();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(user_id)
    .bind(csrf)
    .bind(now)
    .bind(now + LIFETIME_MS)
    .execute(&db.write)
    .await?;
    Ok(token)
}

/// The unexpired session behind a cookie's token.
pub async fn find(db: &Db, token: &str) -> Result<Option<Session>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT u.id, u.email, u.password_hash, u.created_at, s.csrf, s.token_hash \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash(token))
    .bind(now_ms())
    .fetch_optional(&db.read)
    .await?;
    Ok(row.map(|r| Session {
        user: User {
            id: r.id,
            email: r.email,
            password_hash: r.password_hash,
            created_at: r.created_at,
        },
        csrf: r.csrf,
        token_hash: r.token_hash,
    }))
}

/// Ends a session (sign-out), and any expired ones while at it.
pub async fn delete(db: &Db, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2")
        .bind(token_hash)
        .bind(now_ms())
        .execute(&db.write)
        .await?;
    Ok(())
}
