//! Builds the application: store, signing keys, delivery workers, HTTP listener.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::Settings;
use crate::delivery;
use crate::store::Db;
use crate::tracking::Tracking;

/// What every handler and background task shares. Cloned for every request (axum's `State`), so
/// it is one reference count; the fields are reached through `Deref`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub db: Db,
    pub settings: Arc<Settings>,
    /// Base of every link put in an email, without a trailing slash.
    pub public_url: Arc<str>,
    /// Wakes the delivery workers when something is queued.
    pub queue_wake: Arc<Notify>,
    pub tracking: Arc<Tracking>,
    /// Verifies `POST /webhooks/sns` messages (SES events) and caches SNS certificates.
    pub sns: Arc<crate::ses::sns::Verifier>,
    /// Rate limits on public-key calls, per key and per client address (this node's).
    pub public_key_limits: crate::api::ratelimit::PublicKeyLimits,
    /// Custom tracking domains: DNS verification and which host a request came to.
    pub domains: Arc<crate::domains::TrackingDomains>,
}

pub struct Application {
    port: u16,
    listener: TcpListener,
    state: AppState,
    shutdown: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
}

impl Application {
    /// Connects the store (applying migrations), makes sure a project and a signing key exist,
    /// binds the listener and starts the delivery workers.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let db = Db::connect(&settings.database_url).await?;
        crate::bootstrap::first_project(&db, &settings).await?;
        crate::engine::warn_unavailable_modes(&db, &settings.tracking_engine).await?;
        let listener = TcpListener::bind(&settings.listen).await?;
        let port = listener.local_addr()?.port();
        let public_url: Arc<str> = match &settings.public_url {
            Some(u) => u.as_str().into(),
            None => format!("http://{}", listener.local_addr()?).into(),
        };
        let (shutdown, stop) = watch::channel(false);
        let (tracking, ingest_writer) =
            Tracking::start(&db, &settings, &public_url, stop.clone()).await?;
        let sns = Arc::new(crate::ses::sns::Verifier::new(&settings)?);
        let public_key_limits = crate::api::ratelimit::PublicKeyLimits::new(
            settings.public_key_rate,
            settings.public_key_client_rate,
        );
        let domains = Arc::new(crate::domains::TrackingDomains::new(
            &public_url,
            settings.dns_server,
        )?);
        let state = AppState(Arc::new(Shared {
            db,
            settings: Arc::new(settings),
            public_url,
            queue_wake: Arc::new(Notify::new()),
            tracking: Arc::new(tracking),
            sns,
            public_key_limits,
            domains,
        }));
        let mut workers = delivery::spawn_workers(&state, stop.clone()).await?;
        workers.push(ingest_writer);
        workers.extend(crate::store::checkpoint::spawn(&state.db, stop.clone()));
        // Background upkeep of stored bodies: older rows compressed, retention applied.
        workers.push(crate::bodies::repack::spawn(&state.db, stop.clone()));
        workers.extend(crate::bodies::retention::spawn(&state, stop.clone()));
        workers.push(crate::campaigns::spawn(&state, stop.clone()));
        workers.push(crate::domains::schedule::spawn(&state, stop.clone()));
        workers.extend(crate::workflows::spawn(&state, shutdown.subscribe()));
        Ok(Application {
            port,
            listener,
            state,
            shutdown,
            workers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` resolves, then lets in-flight requests finish, drains the ingest
    /// writer and lets the delivery workers finish their batch.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // The peer address feeds the machine-hit verdict (Apple's proxy range) and the IP
        // privacy setting.
        let app = crate::api::router(self.state.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(stop)
            .await?;
        let _ = self.shutdown.send(true);
        for w in self.workers {
            let _ = w.await;
        }
        self.state.db.close().await;
        Ok(())
    }
}
