//! Dashboard users, their invitations and failed sign-ins.

use sha2::{Digest, Sha256};

use super::{Db, Tx, new_id, now_ms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub email: String,
    /// `None` until an invited user sets a password.
    pub password_hash: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, email, password_hash, created_at";

/// A random token for a cookie or a link (32 bytes, base64url) and the hex SHA-256 under which
/// the store keeps it.
pub fn new_token() -> (String, String) {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// The hex SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db.read)
        .await
}

/// Inserts a user; a second account for one address fails with a unique violation.
pub async fn insert(
    tx: &mut Tx,
    email: &str,
    password_hash: Option<&str>,
) -> Result<User, sqlx::Error> {
    let user = User {
        id: new_id(),
        email: email.to_string(),
        password_hash: password_hash.map(str::to_string),
        created_at: now_ms(),
    };
    sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&user.id)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .execute(&mut **tx)
        .await?;
    Ok(user)
}

pub async fn by_email(db: &Db, email: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE email = $1"
    )))
    .bind(email)
    .fetch_optional(&db.read)
    .await
}

pub async fn get(db: &Db, id: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.read)
    .await
}

/// Sets the password and signs the user out everywhere (a new password ends old sessions).
pub async fn set_password(db: &Db, user_id: &str, hash: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM invitations WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Records an invitation for `user_id` valid until `expires_at`; returns the link's token.
pub async fn invite(tx: &mut Tx, user_id: &str, expires_at: i64) -> Result<String, sqlx::Error> {
    let (token, hash) = new_token();
    sqlx::query(
        "INSERT INTO invitations (token_hash, user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(hash)
    .bind(user_id)
    .bind(now_ms())
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// The user an unexpired invitation link is for.
pub async fn invited(db: &Db, token: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.email, u.password_hash, u.created_at FROM invitations i \
         JOIN users u ON u.id = i.user_id WHERE i.token_hash = $1 AND i.expires_at > $2",
    )
    .bind(token_hash(token))
    .bind(now_ms())
    .fetch_optional(&db.read)
    .await
}

/// Failed sign-ins for `email` since `since` (epoch ms): how many, and the oldest's time.
pub async fn failures_since(
    db: &Db,
    email: &str,
    since: i64,
) -> Result<(i64, Option<i64>), sqlx::Error> {
    sqlx::query_as("SELECT COUNT(*), MIN(at) FROM login_failures WHERE email = $1 AND at >= $2")
        .bind(email)
        .bind(since)
        .fetch_one(&db.read)
        .await
}

/// Records a failed sign-in, and forgets failures older than an hour.
pub async fn record_failure(db: &Db, email: &str) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM login_failures WHERE at < $1")
        .bind(now - 3_600_000)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO login_failures (email, at) VALUES ($1, $2)")
        .bind(email)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

pub async fn clear_failures(db: &Db, email: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE email = $1")
        .bind(email)
        .execute(&db.write)
        .await?;
    Ok(())
}
