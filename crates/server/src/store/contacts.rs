//! Contacts: one per email address per project.

use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;

use super::{Db, Tx, flag, new_id, now_ms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Contact {
    pub id: String,
    pub project_id: String,
    pub email: String,
    pub subscribed: i64,
    pub data: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Contact {
    pub fn data_map(&self) -> Map<String, Value> {
        serde_json::from_str(&self.data).unwrap_or_default()
    }
}

pub const COLUMNS: &str = "id, project_id, email, subscribed, data, created_at, updated_at";

/// What an upsert changes on a contact that already exists.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    /// Set `subscribed` (also the value for a new contact).
    pub subscribed: Option<bool>,
    /// Keys merged into `data` (a `null` value removes the key).
    pub data: Option<Map<String, Value>>,
}

/// Finds or creates the contact for `email`, applying `changes`. A new contact is subscribed
/// when `changes.subscribed` says so, else `default_subscribed`. Returns the contact and whether
/// it was created.
pub async fn upsert(
    tx: &mut Tx,
    project_id: &str,
    email: &str,
    changes: &Changes,
    default_subscribed: bool,
) -> Result<(Contact, bool), sqlx::Error> {
    let now = now_ms();
    let mut initial = Map::new();
    merge(&mut initial, changes.data.as_ref());
    let inserted = sqlx::query(
        "INSERT INTO contacts (id, project_id, email, subscribed, data, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (project_id, email) DO NOTHING",
    )
    .bind(new_id())
    .bind(project_id)
    .bind(email)
    .bind(flag(changes.subscribed.unwrap_or(default_subscribed)))
    .bind(Value::Object(initial).to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if !inserted && (changes.subscribed.is_some() || changes.data.is_some()) {
        // Lock the row before reading it, so two concurrent merges on PostgreSQL apply one
        // after the other instead of the later one dropping the earlier one's keys (a no-op
        // write is the portable row lock; SQLite's single writer serialises anyway).
        sqlx::query(
            "UPDATE contacts SET updated_at = updated_at WHERE project_id = $1 AND email = $2",
        )
        .bind(project_id)
        .bind(email)
        .execute(&mut **tx)
        .await?;
    }
    let mut contact = by_email_tx(tx, project_id, email)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    if !inserted && (changes.subscribed.is_some() || changes.data.is_some()) {
        let mut data = contact.data_map();
        merge(&mut data, changes.data.as_ref());
        contact.data = Value::Object(data).to_string();
        if let Some(s) = changes.subscribed {
            contact.subscribed = flag(s);
        }
        contact.updated_at = now;
        sqlx::query(
            "UPDATE contacts SET subscribed = $1, data = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(contact.subscribed)
        .bind(&contact.data)
        .bind(now)
        .bind(&contact.id)
        .execute(&mut **tx)
        .await?;
    }
    Ok((contact, inserted))
}

fn merge(data: &mut Map<String, Value>, changes: Option<&Map<String, Value>>) {
    for (k, v) in changes.into_iter().flatten() {
        if v.is_null() {
            data.remove(k);
        } else {
            data.insert(k.clone(), v.clone());
        }
    }
}

pub async fn by_email_tx(
    tx: &mut Tx,
    project_id: &str,
    email: &str,
) -> Result<Option<Contact>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE project_id = $1 AND email = $2"
    )))
    .bind(project_id)
    .bind(email)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn by_email(
    db: &Db,
    project_id: &str,
    email: &str,
) -> Result<Option<Contact>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE project_id = $1 AND email = $2"
    )))
    .bind(project_id)
    .bind(email)
    .fetch_optional(&db.read)
    .await
}

pub async fn get(db: &Db, project_id: &str, id: &str) -> Result<Option<Contact>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE project_id = $1 AND id = $2"
    )))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&db.read)
    .await
}

/// A page of contacts in id (creation) order, after the `cursor` id.
pub async fn list(
    db: &Db,
    project_id: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<Contact>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    )))
    .bind(project_id)
    .bind(cursor.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// What the dashboard's contact list filters on.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Part of the address (matched case-insensitively; `%` and `_` match themselves).
    pub search: String,
    /// Only subscribed (`Some(true)`) or unsubscribed (`Some(false)`) contacts.
    pub subscribed: Option<bool>,
}

/// A page of the project's contacts matching `filter`, after `cursor` (the last one shown):
/// newest first (the cursor is an id) when there is no search, else in address order (the cursor
/// is an address). A search walks the `(project_id, email)` index and tests the pattern on its
/// entries, so even a search that matches nothing reads no contact row: ~20 ms over 100,000
/// contacts on SQLite, where walking the rows newest first took ~120 ms (bench/README.md).
pub async fn search(
    db: &Db,
    project_id: &str,
    filter: &Filter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<Contact>, sqlx::Error> {
    let needle = filter.search.trim().to_lowercase();
    let subscribed = filter.subscribed.map_or(-1, flag);
    let cursor = cursor.unwrap_or("");
    if needle.is_empty() {
        return sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM contacts WHERE project_id = $1 AND ($2 = '' OR id < $2) \
             AND ($3 < 0 OR subscribed = $3) ORDER BY id DESC LIMIT $4"
        )))
        .bind(project_id)
        .bind(cursor)
        .bind(subscribed)
        .bind(limit)
        .fetch_all(&db.read)
        .await;
    }
    let pattern = format!(
        "%{}%",
        needle
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE project_id = $1 AND email > $2 \
         AND email LIKE $3 ESCAPE '\\' AND ($4 < 0 OR subscribed = $4) ORDER BY email LIMIT $5"
    )))
    .bind(project_id)
    .bind(cursor)
    .bind(pattern)
    .bind(subscribed)
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

pub async fn count(db: &Db, project_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE project_id = $1")
        .bind(project_id)
        .fetch_one(&db.read)
        .await
}

/// Changes a contact in one transaction, under a row lock, so concurrent patches and merges
/// apply one after the other. `None` when the contact does not exist. A new email that another
/// contact of the project has fails with a unique violation.
pub async fn patch(
    db: &Db,
    project_id: &str,
    id: &str,
    email: Option<&str>,
    changes: &Changes,
) -> Result<Option<Contact>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let now = now_ms();
    let found =
        sqlx::query("UPDATE contacts SET updated_at = $1 WHERE project_id = $2 AND id = $3")
            .bind(now)
            .bind(project_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if found == 0 {
        return Ok(None);
    }
    let mut contact: Contact = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE project_id = $1 AND id = $2"
    )))
    .bind(project_id)
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(email) = email {
        contact.email = email.to_string();
    }
    if let Some(s) = changes.subscribed {
        contact.subscribed = flag(s);
    }
    let mut data = contact.data_map();
    merge(&mut data, changes.data.as_ref());
    contact.data = Value::Object(data).to_string();
    sqlx::query("UPDATE contacts SET email = $1, subscribed = $2, data = $3 WHERE id = $4")
        .bind(&contact.email)
        .bind(contact.subscribed)
        .bind(&contact.data)
        .bind(&contact.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(contact))
}

/// Deletes a contact with its events; its emails stay (they were sent) but lose the link.
pub async fn delete(db: &Db, project_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM events WHERE project_id = $1 AND contact_id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let gone = sqlx::query("DELETE FROM contacts WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    tx.commit().await?;
    Ok(gone)
}
