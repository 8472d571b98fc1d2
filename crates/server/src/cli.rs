//! The `beacon` command line: `serve` runs the service; the rest inspect and manage a store.

use clap::{Parser, Subcommand};

use crate::actions;
use crate::config::{SettingsArgs, TrackingEngine};
use crate::startup::Application;
use crate::store::{self, Db, outbox, projects};

#[derive(Debug, Parser)]
#[command(
    name = "beacon",
    version,
    about = "Self-hostable email platform engine with first-class open and click tracking"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service: HTTP API, tracking endpoints and delivery workers.
    Serve(SettingsArgs),
    /// Show projects, or set a project's tracking mode.
    Project {
        #[command(subcommand)]
        action: ProjectAction,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Read what the outbox transport kept.
    Outbox {
        #[command(subcommand)]
        action: OutboxAction,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Manage dashboard accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Manage link-signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
        #[command(flatten)]
        settings: SettingsArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ProjectAction {
    /// List projects with their keys and tracking mode.
    List,
    /// Set the tracking mode: ENABLED, DISABLED or MARKETING_ONLY.
    Tracking {
        mode: String,
        /// Project id [default: the only project].
        #[arg(long)]
        project: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum OutboxAction {
    /// The newest messages: email id, time, size, subject line.
    List {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Print one message, byte for byte (RFC 5322).
    Show { email_id: String },
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Create an account; the first one also owns every project nobody belongs to yet (the
    /// default project). Reads the password from standard input (one line).
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set an account's password (a forgotten one), signing it out everywhere.
    Password {
        #[arg(long)]
        email: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Start signing with a new key; older keys keep verifying links already sent.
    Rotate,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(args) => {
                let app = Application::build(args.resolve()?).await?;
                let url = &app.state().public_url;
                tracing::info!(port = app.port(), public_url = %url, "Beacon is listening; the dashboard is at {url}/");
                if actions::accounts::needs_setup(&app.state().db).await? {
                    tracing::info!(
                        "no account yet: open {url}/ to create the owner's, or run `beacon user create`"
                    );
                }
                app.run_until(shutdown_signal()).await
            }
            Command::Project { action, settings } => {
                let settings = settings.resolve()?;
                let db = existing(&settings.database_url).await?;
                project(&db, &settings.tracking_engine, action).await
            }
            Command::Outbox { action, settings } => {
                let db = existing(&settings.resolve()?.database_url).await?;
                match action {
                    OutboxAction::List { limit } => {
                        let list = outbox::list(&db, None, None, limit).await?;
                        if list.is_empty() {
                            eprintln!("the outbox is empty");
                        }
                        for m in list {
                            let raw = String::from_utf8_lossy(&m.raw);
                            let subject = raw
                                .lines()
                                .find(|l| l.starts_with("Subject:"))
                                .unwrap_or("");
                            println!(
                                "{}  {}  {:>7} B  {}",
                                m.email_id,
                                crate::time::iso(m.created_at),
                                m.raw.len(),
                                subject
                            );
                        }
                    }
                    OutboxAction::Show { email_id } => {
                        let m = outbox::get_any(&db, &email_id).await?.ok_or_else(|| {
                            anyhow::anyhow!("no outbox message for email {email_id}")
                        })?;
                        use std::io::Write;
                        std::io::stdout().write_all(&m.raw)?;
                    }
                }
                Ok(())
            }
            Command::User { action, settings } => {
                let db = Db::connect(&settings.resolve()?.database_url).await?;
                user(&db, action).await
            }
            Command::Keys {
                action: KeysAction::Rotate,
                settings,
            } => {
                let db = Db::connect(&settings.resolve()?.database_url).await?;
                store::keys::load_or_create(&db).await?;
                let id = store::keys::rotate(&db).await?;
                println!("now signing with key {id}; restart the servers to pick it up");
                Ok(())
            }
        }
    }
}

/// Opens a store that must already exist: reading an outbox or listing projects of a SQLite
/// file that is not there would otherwise create an empty one and print nothing.
async fn existing(url: &str) -> anyhow::Result<Db> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if !std::path::Path::new(path).exists() {
            anyhow::bail!(
                "no database at {path}: run `beacon serve` in this directory first, or give \
                 --database-url / BEACON_DATABASE_URL"
            );
        }
    }
    Db::connect(url).await
}

async fn project(db: &Db, engine: &TrackingEngine, action: ProjectAction) -> anyhow::Result<()> {
    let all = projects::list(db).await?;
    match action {
        ProjectAction::List => {
            for p in all {
                println!(
                    "{}  {:<16} tracking={:<15} secret={} public={}",
                    p.id, p.name, p.tracking_mode, p.secret_key, p.public_key
                );
            }
        }
        ProjectAction::Tracking { mode, project } => {
            let mut p = match project {
                Some(id) => all
                    .into_iter()
                    .find(|p| p.id == id)
                    .ok_or_else(|| anyhow::anyhow!("no project {id}"))?,
                None if all.len() == 1 => all.into_iter().next().expect("one project"),
                None => anyhow::bail!("there are several projects: name one with --project"),
            };
            // The same rule as PATCH /v1/project and Settings → Tracking: the servers' engine
            // must be able to honour the mode.
            let changes = actions::project::Changes {
                tracking: Some(&mode),
                ..Default::default()
            };
            actions::project::update(db, engine, &mut p, changes)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("project {} tracking = {}", p.id, p.tracking_mode);
        }
    }
    Ok(())
}

async fn user(db: &Db, action: UserAction) -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    match action {
        UserAction::Create { email, .. } => {
            let user = actions::accounts::create_user(db, &email, password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created account {} ({})", user.email, user.id);
        }
        UserAction::Password { email, .. } => {
            let user = actions::accounts::set_password(db, &email, password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("password set for {}; their sessions were ended", user.email);
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests and deliveries");
}
