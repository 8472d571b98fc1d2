//! The store: one set of portable SQL over SQLite (embedded, default) and PostgreSQL.
//!
//! Queries use `$n` placeholders, which both SQLite and PostgreSQL understand, and only the
//! types sqlx's `Any` driver carries (i64, text, blobs): times are epoch milliseconds, booleans
//! are 0/1 and JSON is text. Where the dialects must differ (claiming queued work) the
//! [`Backend`] says which text to use.

pub mod attachments;
pub mod bodies;
pub mod campaigns;
pub mod checkpoint;
pub mod contacts;
pub mod destinations;
pub mod domains;
pub mod email_list;
pub mod emails;
pub mod engagement;
pub mod event_stats;
pub mod events;
pub mod idempotency;
pub mod keys;
pub mod link_stats;
pub mod maintenance;
pub mod memberships;
pub mod outbox;
pub mod projects;
pub mod segments;
pub mod sessions;
pub mod sns_messages;
pub mod stats;
pub mod templates;
pub mod users;
pub mod workflows;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, AssertSqlSafe, ConnectOptions, SqlSafeStr};

/// Which database is behind the pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Handles to the database. On SQLite every write goes through a single connection so writers
/// never meet `SQLITE_BUSY` (WAL lets readers go on beside it); on PostgreSQL all are one pool.
#[derive(Clone, Debug)]
pub struct Db {
    pub read: AnyPool,
    pub write: AnyPool,
    /// The tracking backlog (`tracking/hits.rs`). On SQLite a file of its own (`<db>-hits`) with
    /// its own single connection, so appending a hit never queues behind the main file's writer.
    pub hits: AnyPool,
    /// Reads of the backlog (the fold, `/metrics`), beside its writer.
    pub hits_read: AnyPool,
    pub backend: Backend,
    /// SQLite: the connections `checkpoint.rs` uses.
    pub checkpointer: Option<checkpoint::Checkpointer>,
    /// Body dictionaries read lately (`bodies.rs`).
    pub dictionaries: bodies::DictionaryCache,
}

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Db {
    /// Connects and applies the backend's migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::connect_migrated_to(url, i64::MAX).await
    }

    /// Connects and applies the migrations up to `version` only: the database as an older
    /// Beacon left it, for tests that a later migration keeps its data.
    #[doc(hidden)]
    pub async fn connect_migrated_to(url: &str, version: i64) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!(
                "unsupported database URL {url:?}: use sqlite://FILE or postgres://USER@HOST/DB"
            );
        };
        let db = match backend {
            Backend::Sqlite => {
                let hits_url = sqlite_url(&sidecar(url, "-hits"));
                let url = sqlite_url(url);
                let opts = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
                let write = pool_options(1, true).connect_with(opts.clone()).await?;
                let read = pool_options(8, true).connect_with(opts.clone()).await?;
                let hits_opts = AnyConnectOptions::from_str(&hits_url)?.disable_statement_logging();
                // Never closed while the server runs: an in-memory backlog lives with its connection.
                let hits = pool_options(1, true)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(hits_opts.clone())
                    .await?;
                let hits_read = pool_options(2, true).connect_lazy_with(hits_opts.clone());
                let checkpointer = checkpoint::Checkpointer {
                    files: vec![
                        pool_options(1, true).connect_lazy_with(opts),
                        pool_options(1, true).connect_lazy_with(hits_opts),
                    ],
                };
                Db {
                    read,
                    write,
                    hits,
                    hits_read,
                    backend,
                    checkpointer: Some(checkpointer),
                    dictionaries: Default::default(),
                }
            }
            Backend::Postgres => {
                let opts = AnyConnectOptions::from_str(url)?.disable_statement_logging();
                let pool = pool_options(16, false).connect_with(opts).await?;
                Db {
                    read: pool.clone(),
                    write: pool.clone(),
                    hits: pool.clone(),
                    hits_read: pool,
                    backend,
                    checkpointer: None,
                    dictionaries: Default::default(),
                }
            }
        };
        db.migrate(version).await?;
        if backend == Backend::Sqlite {
            crate::tracking::prepare_sqlite_backlog(&db).await?;
        }
        Ok(db)
    }

    async fn migrate(&self, up_to: i64) -> anyhow::Result<()> {
        let migrations = MIGRATIONS
            .iter()
            .filter(|(version, _, _)| *version <= up_to)
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    AssertSqlSafe(dialect(sql, self.backend)).into_sql_str(),
                    false,
                )
            })
            .collect();
        Migrator::with_migrations(migrations)
            .run(&self.write)
            .await?;
        Ok(())
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.write.begin().await
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
        self.hits.close().await;
        self.hits_read.close().await;
        for file in self.checkpointer.iter().flat_map(|c| &c.files) {
            file.close().await;
        }
    }
}

/// Migrations are embedded in the binary (without sqlx's macros, which would build a second copy
/// of both drivers for the compiler), so `beacon` runs from any directory. One text serves both
/// databases: the only type that differs is the byte string (see [`dialect`]).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/0001_init.sql")),
    (
        2,
        "segments",
        include_str!("../../migrations/0002_segments.sql"),
    ),
    (
        3,
        "campaigns",
        include_str!("../../migrations/0003_campaigns.sql"),
    ),
    (
        4,
        "workflows",
        include_str!("../../migrations/0004_workflows.sql"),
    ),
    (5, "ses", include_str!("../../migrations/0005_ses.sql")),
    (6, "hits", include_str!("../../migrations/0006_hits.sql")),
    (
        7,
        "email_bodies",
        include_str!("../../migrations/0007_email_bodies.sql"),
    ),
    (
        8,
        "dashboard",
        include_str!("../../migrations/0008_dashboard.sql"),
    ),
    (9, "links", include_str!("../../migrations/0009_links.sql")),
    (
        10,
        "verdicts",
        include_str!("../../migrations/0010_verdicts.sql"),
    ),
    (
        11,
        "email_stats",
        include_str!("../../migrations/0011_email_stats.sql"),
    ),
    (
        13,
        "workflow_entries",
        include_str!("../../migrations/0013_workflow_entries.sql"),
    ),
    (
        15,
        "event_stats",
        include_str!("../../migrations/0015_event_stats.sql"),
    ),
    (
        16,
        "link_stats",
        include_str!("../../migrations/0016_link_stats.sql"),
    ),
    (
        17,
        "compact_bodies",
        include_str!("../../migrations/0017_compact_bodies.sql"),
    ),
    (
        18,
        "tracking_domains",
        include_str!("../../migrations/0018_tracking_domains.sql"),
    ),
];

/// A migration's text for `backend`: the byte string type, and statements whose first line is
/// marked `-- postgres only` or `-- sqlite only` kept for that database alone. Statements with
/// `;` inside (triggers, functions) go between the lines `-- begin sqlite only` and
/// `-- end sqlite only` (or `postgres`), which are kept or dropped whole.
fn dialect(sql: &str, backend: Backend) -> String {
    let (skip, other) = match backend {
        Backend::Sqlite => ("-- postgres only", "postgres"),
        Backend::Postgres => ("-- sqlite only", "sqlite"),
    };
    let (begin, end) = (
        format!("-- begin {other} only"),
        format!("-- end {other} only"),
    );
    let mut in_block = false;
    let mut unblocked = String::with_capacity(sql.len());
    for line in sql.split_inclusive('\n') {
        if line.trim() == begin {
            in_block = true;
        } else if line.trim() == end {
            in_block = false;
        } else if !in_block {
            unblocked.push_str(line);
        }
    }
    let kept: Vec<&str> = unblocked
        .split_inclusive(";\n")
        .filter(|statement| {
            !statement
                .lines()
                .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
                .is_some_and(|first| first.ends_with(skip))
        })
        .collect();
    let sql = kept.concat();
    match backend {
        Backend::Sqlite => sql,
        Backend::Postgres => sql.replace(" BLOB ", " BYTEA "),
    }
}

/// The URL of a file beside the SQLite database: `sqlite://beacon.db?x` → `sqlite://beacon.db-hits?x`
/// (an in-memory database gets an in-memory neighbour).
fn sidecar(url: &str, suffix: &str) -> String {
    if url.contains(":memory:") {
        return url.to_string();
    }
    match url.split_once('?') {
        Some((path, query)) => format!("{path}{suffix}?{query}"),
        None => format!("{url}{suffix}"),
    }
}

/// Creates the file when missing, so `sqlite://beacon.db` works on a fresh machine.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

fn pool_options(max: u32, sqlite: bool) -> AnyPoolOptions {
    let opts = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10));
    if !sqlite {
        return opts;
    }
    // sqlx pings a connection each time it leaves the pool; an in-process SQLite connection
    // cannot have gone away, and the ping is a round trip to its thread before every statement
    // and transaction run on the pool.
    let opts = opts.test_before_acquire(false);
    opts.after_connect(|conn, _meta| {
        Box::pin(async move {
            // WAL + NORMAL: durable across process crashes (the WAL is fsynced at checkpoints,
            // and a killed process loses nothing already committed), fast group commits.
            // Checkpoints are not made by the commit that crosses a threshold but by a task of
            // their own (`checkpoint.rs`). A 16 MB page cache: the fold inserts into the events
            // indexes in random contact order, and with SQLite's 2 MB it re-read index pages
            // (bench/README.md). Statement journals (multi-row statements inside a transaction)
            // stay in memory, not in temp files. The WAL is cut back to 64 MB whenever it
            // starts over (`checkpoint.rs` says when it is emptied).
            sqlx::raw_sql(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                 PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -16384; \
                 PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 67108864;",
            )
            .execute(conn)
            .await?;
            Ok(())
        })
    })
}

/// `$a, $b, …` for the given parameter numbers.
pub(crate) fn placeholders(numbers: impl Iterator<Item = usize>) -> String {
    numbers
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Milliseconds since the Unix epoch: the store's only time type.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A time-ordered id (UUIDv7), so inserts land at the end of every index.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Booleans are stored as 0/1 on both backends.
pub fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// True when an insert or update failed on a unique constraint (both backends).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.message().contains("UNIQUE constraint failed")
                || db.code().as_deref() == Some("23505")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{Backend, dialect, sidecar};

    #[test]
    fn marked_statements_are_kept_for_their_database_only() {
        let sql = "-- about\nCREATE TABLE a ( -- postgres only\n x BLOB NOT NULL\n);\n\
                   CREATE TABLE b (y BLOB );\nINSERT INTO b VALUES (1); -- sqlite only\n";
        assert_eq!(
            dialect(sql, Backend::Sqlite),
            "CREATE TABLE b (y BLOB );\nINSERT INTO b VALUES (1); -- sqlite only\n"
        );
        assert_eq!(
            dialect(sql, Backend::Postgres),
            "-- about\nCREATE TABLE a ( -- postgres only\n x BYTEA NOT NULL\n);\n\
             CREATE TABLE b (y BYTEA );\n"
        );
    }

    #[test]
    fn marked_blocks_are_kept_or_dropped_whole() {
        let sql = "CREATE TABLE t (x BIGINT);\n-- begin sqlite only\nCREATE TRIGGER a AFTER INSERT ON t\n\
                   BEGIN\n  SELECT 1;\nEND;\n-- end sqlite only\n-- begin postgres only\n\
                   CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN\n  RETURN NULL;\nEND $$ LANGUAGE plpgsql;\n\
                   -- end postgres only\n";
        assert_eq!(
            dialect(sql, Backend::Sqlite),
            "CREATE TABLE t (x BIGINT);\n-- begin sqlite only\nCREATE TRIGGER a AFTER INSERT ON t\n\
             BEGIN\n  SELECT 1;\nEND;\n-- end sqlite only\n"
        );
        assert_eq!(
            dialect(sql, Backend::Postgres),
            "CREATE TABLE t (x BIGINT);\n-- begin postgres only\nCREATE FUNCTION f() RETURNS trigger \
             AS $$ BEGIN\n  RETURN NULL;\nEND $$ LANGUAGE plpgsql;\n-- end postgres only\n"
        );
    }

    #[test]
    fn the_backlog_file_sits_beside_the_database() {
        assert_eq!(
            sidecar("sqlite://beacon.db", "-hits"),
            "sqlite://beacon.db-hits"
        );
        assert_eq!(
            sidecar("sqlite:///var/b.db?mode=rwc", "-hits"),
            "sqlite:///var/b.db-hits?mode=rwc"
        );
        assert_eq!(sidecar("sqlite::memory:", "-hits"), "sqlite::memory:");
    }
}
