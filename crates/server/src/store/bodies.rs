//! `email_bodies` and `body_dictionaries`: an email's HTML and text, written once with its row
//! (migrations/0007), compressed since migrations/0017 (`crate::bodies`).
//!
//! A row holds either `packed` (one zstd frame of both bodies, against the dictionary
//! `dictionary_id` or alone) or, as an older Beacon wrote it, plain `html` and `text` until the
//! background repacking (`bodies/repack.rs`) gets to it; after retention (`bodies/retention.rs`)
//! it holds neither, and `purged_at` says when.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use sqlx::AssertSqlSafe;

use super::{Backend, Db, Tx, placeholders};
use crate::bodies::codec;
use crate::bodies::dictionary::Dictionary;

/// What the message says: the HTML (as tracked and delivered) and the text part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bodies {
    pub html: Option<String>,
    pub text: Option<String>,
    /// When retention removed both (epoch ms); `None` while they are kept.
    pub purged_at: Option<i64>,
}

/// A row of `email_bodies` as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stored {
    pub email_id: String,
    pub html: Option<String>,
    pub text: Option<String>,
    pub dictionary_id: Option<String>,
    pub packed: Option<Vec<u8>>,
    pub purged_at: Option<i64>,
}

/// Dictionaries' contents by id, decompressed.
pub type Dictionaries = HashMap<String, Arc<Vec<u8>>>;

/// The decompressed contents of the dictionaries used last. A dictionary never changes under
/// its id (a hash of its project and content), so reading an email then costs a query for its
/// row and one for its bodies, not a third and a decompression of ~130 KB (a campaign's
/// dictionary) every time.
#[derive(Debug, Clone, Default)]
pub struct DictionaryCache(Arc<Mutex<Dictionaries>>);

/// Dictionaries kept in the cache (a newsletter's is ~130 KB).
const CACHED: usize = 32;

impl Stored {
    /// The exact bodies, decompressed with contexts the caller keeps for its rows (see
    /// [`codec::Unpackers`]). Errors when the frame or its dictionary is damaged or missing.
    pub fn decode(
        self,
        dictionaries: &Dictionaries,
        unpackers: &mut codec::Unpackers,
    ) -> anyhow::Result<Bodies> {
        let Some(packed) = self.packed else {
            return Ok(Bodies {
                html: self.html,
                text: self.text,
                purged_at: self.purged_at,
            });
        };
        let id = self.dictionary_id.as_deref();
        let dictionary = needed(dictionaries, id)?;
        let payload = unpackers
            .decompress(&packed, id, dictionary)
            .with_context(|| format!("email {}'s bodies", self.email_id))?;
        Ok(codec::from_payload(payload)?)
    }
}

/// The content of the dictionary a frame names (`None`: compressed alone); an error when it is
/// missing from `dictionaries`.
pub fn needed<'a>(
    dictionaries: &'a Dictionaries,
    id: Option<&str>,
) -> anyhow::Result<Option<&'a [u8]>> {
    id.map(|id| {
        dictionaries
            .get(id)
            .map(|d| d.as_slice())
            .with_context(|| format!("body dictionary {id} is missing"))
    })
    .transpose()
}

/// Stores an email's packed bodies (in the transaction that inserts its row).
pub async fn insert(
    tx: &mut Tx,
    email_id: &str,
    dictionary_id: Option<&str>,
    packed: Vec<u8>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO email_bodies (email_id, dictionary_id, packed) VALUES ($1, $2, $3)")
        .bind(email_id)
        .bind(dictionary_id)
        .bind(packed)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stores a dictionary unless it already is (same id, same content), before the emails (or
/// outbox messages) that name it, in their transaction.
///
/// On PostgreSQL an existing row is touched (`created_at`), which locks it until the
/// transaction ends: retention (`bodies/retention.rs`) removes only dictionaries older than its
/// cutoff that nothing names, and a concurrent send of the same content would otherwise name a
/// row retention is removing. On SQLite transactions never overlap (one writer), and a touch
/// would rewrite the whole row.
pub async fn insert_dictionary(
    tx: &mut Tx,
    backend: Backend,
    d: &Dictionary,
) -> Result<(), sqlx::Error> {
    let on_conflict = match backend {
        Backend::Sqlite => "DO NOTHING",
        Backend::Postgres => "DO UPDATE SET created_at = excluded.created_at",
    };
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO body_dictionaries (id, project_id, content, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (id) {on_conflict}"
    )))
    .bind(&d.id)
    .bind(&d.project_id)
    .bind(d.stored.clone())
    .bind(super::now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes these dictionaries where nothing names them any more and they are older than
/// `cutoff` (retention, after emptying the rows that named them).
pub async fn remove_unused_dictionaries(
    tx: &mut Tx,
    ids: &[String],
    cutoff: i64,
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM body_dictionaries WHERE created_at < $1 AND id IN ({}) \
         AND NOT EXISTS (SELECT 1 FROM email_bodies WHERE dictionary_id = body_dictionaries.id) \
         AND NOT EXISTS (SELECT 1 FROM outbox WHERE dictionary_id = body_dictionaries.id)",
        placeholders(2..=ids.len() + 1)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(cutoff);
    for id in ids {
        query = query.bind(id);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// The stored rows of these emails (an id without bodies is left out) and the dictionaries
/// they need. Bodies never change once queued but for retention, so the read pool serves them.
pub async fn stored(
    db: &Db,
    ids: &[&str],
) -> anyhow::Result<(HashMap<String, Stored>, Dictionaries)> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "SELECT email_id, html, text, dictionary_id, packed, purged_at FROM email_bodies \
         WHERE email_id IN ({})",
        placeholders(1..=ids.len())
    );
    let mut query = sqlx::query_as::<_, Stored>(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&db.read).await?;
    let dictionaries =
        dictionaries(db, rows.iter().filter_map(|r| r.dictionary_id.as_deref())).await?;
    Ok((
        rows.into_iter().map(|r| (r.email_id.clone(), r)).collect(),
        dictionaries,
    ))
}

/// The exact bodies of these emails (an id without bodies is left out).
pub async fn read(db: &Db, ids: &[&str]) -> anyhow::Result<HashMap<String, Bodies>> {
    let (rows, dictionaries) = stored(db, ids).await?;
    let mut unpackers = codec::Unpackers::default();
    rows.into_iter()
        .map(|(id, row)| Ok((id, row.decode(&dictionaries, &mut unpackers)?)))
        .collect()
}

/// These dictionaries' contents, decompressed (a missing id is left out, a repeated one read
/// once): from the cache, or read and then cached.
pub async fn dictionaries<'a>(
    db: &Db,
    ids: impl IntoIterator<Item = &'a str>,
) -> anyhow::Result<Dictionaries> {
    let mut ids: Vec<&str> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let cache = &db.dictionaries.0;
    let mut found = Dictionaries::new();
    let mut missing = Vec::new();
    {
        let cached = cache.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            match cached.get(id) {
                Some(content) => drop(found.insert(id.to_string(), content.clone())),
                None => missing.push(id),
            }
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let loaded = unpacked(db, "body_dictionaries", "content", &missing).await?;
    let mut cached = cache.lock().unwrap_or_else(|p| p.into_inner());
    if cached.len() + loaded.len() > CACHED {
        cached.clear();
    }
    for (id, content) in loaded {
        let content = Arc::new(content);
        cached.insert(id.clone(), content.clone());
        found.insert(id, content);
    }
    Ok(found)
}

/// `column` of `table`'s rows with these ids, each a zstd frame compressed alone, decompressed
/// (a missing id is left out).
pub(super) async fn unpacked(
    db: &Db,
    table: &str,
    column: &str,
    ids: &[&str],
) -> anyhow::Result<HashMap<String, Vec<u8>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, {column} FROM {table} WHERE id IN ({})",
        placeholders(1..=ids.len())
    );
    let mut query = sqlx::query_as::<_, (String, Vec<u8>)>(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    query
        .fetch_all(&db.read)
        .await?
        .into_iter()
        .map(|(id, frame)| {
            let content =
                codec::decompress(&frame, None).with_context(|| format!("{table} row {id}"))?;
            Ok((id, content))
        })
        .collect()
}
