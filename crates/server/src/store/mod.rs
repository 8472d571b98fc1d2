//! The store: one set of portable SQL over SQLite (embedded, default) and PostgreSQL.
//!
//! Queries use `$n` placeholders, which both SQLite and PostgreSQL understand, and only the
//! types sqlx's `Any` driver carries (i64, text, blobs): times are epoch milliseconds, booleans
//! are 0/1 and JSON is text. Where the dialects must differ (claiming queued work) the
//! [`Backend`] says which text to use.

pub mod campaigns;
pub mod contacts;
pub mod emails;
pub mod events;
pub mod idempotency;
pub mod keys;
pub mod outbox;
pub mod projects;
pub mod segments;
pub mod sns_messages;
pub mod stats;
pub mod templates;
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
/// never meet `SQLITE_BUSY` (WAL lets readers go on beside it); on PostgreSQL both are one pool.
#[derive(Clone, Debug)]
pub struct Db {
    pub read: AnyPool,
    pub write: AnyPool,
    pub backend: Backend,
}

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Db {
    /// Connects and applies the backend's migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
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
                let url = sqlite_url(url);
                let opts = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
                let write = pool_options(1, true).connect_with(opts.clone()).await?;
                let read = pool_options(8, true).connect_with(opts).await?;
                Db {
                    read,
                    write,
                    backend,
                }
            }
            Backend::Postgres => {
                let opts = AnyConnectOptions::from_str(url)?.disable_statement_logging();
                let pool = pool_options(16, false).connect_with(opts).await?;
                Db {
                    read: pool.clone(),
                    write: pool,
                    backend,
                }
            }
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let migrations = MIGRATIONS
            .iter()
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
];

/// A migration's text for `backend`.
fn dialect(sql: &str, backend: Backend) -> String {
    match backend {
        Backend::Sqlite => sql.to_string(),
        Backend::Postgres => sql.replace(" BLOB ", " BYTEA "),
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
    opts.after_connect(|conn, _meta| {
        Box::pin(async move {
            // WAL + NORMAL: durable across process crashes (the WAL is fsynced at checkpoints,
            // and a killed process loses nothing already committed), fast group commits.
            // A checkpoint every 10,000 pages (~40 MB of WAL) rather than SQLite's 1,000, and a
            // 16 MB page cache: hits insert into the events indexes in random contact order, and
            // with the defaults the writer spent its time checkpointing and re-reading index
            // pages (bench/README.md: ~+60 % events/s in a micro-benchmark).
            sqlx::raw_sql(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                 PRAGMA wal_autocheckpoint = 10000; PRAGMA cache_size = -16384;",
            )
            .execute(conn)
            .await?;
            Ok(())
        })
    })
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
