//! Beacon's own tracking, wired in: the pixel and redirect endpoints, the ingest writer that
//! records hits, and what a send needs to rewrite its HTML.

mod apply;
mod destinations;
pub(crate) mod endpoints;
mod fold;
mod hits;
pub mod ingest;
mod judge;
#[doc(hidden)]
pub mod replay;
mod sent;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use beacon_tracking::classify::ClassifyConfig;
use beacon_tracking::policy;
use beacon_tracking::rewrite::RewriteConfig;
use beacon_tracking::token::{KeyRing, SigningKey};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::startup::AppState;
use crate::store::{Db, keys};

pub use endpoints::{PIXEL, client_of};
pub use hits::prepare_sqlite_backlog;

/// Everything the tracking endpoints and the send path share.
pub struct Tracking {
    pub keyring: KeyRing,
    pub rewrite: RewriteConfig,
    pub classify: ClassifyConfig,
    pub ingest: ingest::Ingest,
    /// Keys the client fingerprints of hits (`classify::fingerprint`): derived from the oldest
    /// signing key kept, so every node computes the same ones and rotation leaves them alone.
    pub client_key: [u8; 32],
    sent: sent::SentTimes,
    destinations: destinations::Destinations,
}

impl Tracking {
    /// Loads the signing keys (creating the first), and starts the ingest writer.
    pub async fn start(
        db: &Db,
        settings: &Settings,
        public_url: &str,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<(Tracking, JoinHandle<()>)> {
        let stored = keys::load_or_create(db).await?;
        let client_key = stored
            .iter()
            .min_by_key(|k| k.id)
            .map(|k| client_key(&k.secret))
            .ok_or_else(|| anyhow::anyhow!("no signing key"))?;
        let mut ring = stored.iter().map(|k| SigningKey::new(k.id as u8, k.secret));
        let signing = ring
            .next()
            .ok_or_else(|| anyhow::anyhow!("no signing key"))?;
        let keyring = KeyRing::new(signing, ring.collect());
        let rewrite = RewriteConfig::builder(public_url)
            .build()
            .map_err(|e| anyhow::anyhow!("BEACON_PUBLIC_URL: {e}"))?;
        let classify = ClassifyConfig::default().min_secs_after_send(settings.machine_min_secs);
        let wait = Duration::from_millis(settings.ingest_wait_ms);
        let (ingest, writer) = ingest::Ingest::start(db.clone(), wait, stop).await?;
        Ok((
            Tracking {
                keyring,
                rewrite,
                classify,
                ingest,
                client_key,
                // Delivery reports come as SES events through SNS.
                sent: sent::SentTimes::new(!settings.sns_topic_arns.is_empty()),
                destinations: destinations::Destinations::default(),
            },
            writer,
        ))
    }
}

impl Tracking {
    /// The stored start of a long link's destination (`beacon_tracking::token::Target::Stored`),
    /// through the in-memory cache.
    pub async fn stored_destination(
        &self,
        db: &Db,
        id: beacon_tracking::token::DestinationId,
    ) -> Result<Option<beacon_tracking::rewrite::StoredDestination>, sqlx::Error> {
        self.destinations.get(db, id).await
    }
}

/// A key of its own for fingerprints, so the signing key itself is used for nothing else.
fn client_key(secret: &[u8; 32]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::new()
        .chain_update(b"beacon client fingerprint\0")
        .chain_update(secret)
        .finalize()
        .into()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/o/{token}", get(endpoints::open))
        .route("/c/{token}", get(endpoints::click))
}

impl Tracking {
    /// The send's tracking decision: the project's mode × the send's source and template ×
    /// the per-send override. All or nothing: opens and clicks together.
    pub fn decide(project_mode: &str, send: &policy::Send, override_: Option<bool>) -> bool {
        // Stored modes are validated on write; an unreadable one tracks (the default mode).
        let mode = project_mode
            .parse()
            .unwrap_or(policy::TrackingMode::Enabled);
        policy::should_track(mode, send, override_)
    }
}
