//! Settings: command-line flags and `BEACON_*` environment variables, over an optional TOML
//! file (`--config`), over defaults. Every knob is listed by `beacon serve --help`.

use std::path::PathBuf;

use anyhow::Context;
use serde::Deserialize;

pub use crate::engine::TrackingEngine;

/// The raw knobs, as flags/env (all optional so a config file can fill the gaps).
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SettingsArgs {
    /// TOML file with any of these settings (keys as the long flag names, with `_`).
    #[arg(long, env = "BEACON_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    // Global, so `beacon user create --database-url …` works as well as before `create`.
    /// Database: sqlite://FILE (default sqlite://beacon.db) or postgres://USER@HOST/DB.
    #[arg(long, env = "BEACON_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "BEACON_LISTEN")]
    pub listen: Option<String>,
    /// Base URL of every link Beacon puts in an email (pixel, redirects, unsubscribe)
    /// [default: http://<listen address>].
    #[arg(long, env = "BEACON_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Sender used when a send names none [default: no-reply@beacon.localhost].
    #[arg(long, env = "BEACON_DEFAULT_FROM")]
    pub default_from: Option<String>,
    /// Where accepted emails go: `outbox` (kept in the database), `smtp` (any relay) or `ses`
    /// (Amazon SES's SMTP interface, with the `smtp_*` settings; SES's message id is kept)
    /// [default: outbox].
    #[arg(long, env = "BEACON_TRANSPORT")]
    pub transport: Option<String>,
    /// SMTP relay host (transports `smtp` and `ses`).
    #[arg(long, env = "BEACON_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP relay port [default: 587 for starttls, 465 for tls, 25 for plain].
    #[arg(long, env = "BEACON_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// `starttls`, `tls` or `plain` [default: starttls].
    #[arg(long, env = "BEACON_SMTP_SECURITY")]
    pub smtp_security: Option<String>,
    #[arg(long, env = "BEACON_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    #[arg(long, env = "BEACON_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// SMTP connections kept open [default: 4].
    #[arg(long, env = "BEACON_SMTP_POOL")]
    pub smtp_pool: Option<usize>,
    /// Who tracks opens and clicks: `builtin` (Beacon's pixel and redirects) or `provider`
    /// (Amazon SES configuration sets) [default: builtin].
    #[arg(long, env = "BEACON_TRACKING_ENGINE")]
    pub tracking_engine: Option<String>,
    /// Engine `provider`: the SES configuration set that publishes opens and clicks.
    #[arg(long, env = "BEACON_SES_CONFIGURATION_SET")]
    pub ses_configuration_set: Option<String>,
    /// Engine `provider`: the SES configuration set for untracked sends; without it modes
    /// DISABLED and MARKETING_ONLY and `"tracking": false` are refused.
    #[arg(long, env = "BEACON_SES_CONFIGURATION_SET_NO_TRACKING")]
    pub ses_configuration_set_no_tracking: Option<String>,
    /// Delivery worker tasks [default: 2].
    #[arg(long, env = "BEACON_WORKERS")]
    pub workers: Option<usize>,
    /// Delivery attempts before an email is FAILED [default: 5].
    #[arg(long, env = "BEACON_MAX_ATTEMPTS")]
    pub max_attempts: Option<i64>,
    /// First retry delay in milliseconds, doubled each attempt [default: 30000].
    #[arg(long, env = "BEACON_RETRY_BASE_MS")]
    pub retry_base_ms: Option<i64>,
    /// Largest request body accepted, in bytes [default: 10485760].
    #[arg(long, env = "BEACON_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Client IP kept on open/click events: `full`, `truncated` (/24, /48) or `none`
    /// [default: truncated].
    #[arg(long, env = "BEACON_HIT_IP")]
    pub hit_ip: Option<String>,
    /// Keep the user agent on open/click events [default: true].
    #[arg(long, env = "BEACON_HIT_USER_AGENT")]
    pub hit_user_agent: Option<bool>,
    /// Behind a reverse proxy: take the client IP from the last X-Forwarded-For entry
    /// [default: false].
    #[arg(long, env = "BEACON_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: Option<bool>,
    /// Hits this many seconds or sooner after delivery are judged machine [default: 3].
    #[arg(long, env = "BEACON_MACHINE_MIN_SECS")]
    pub machine_min_secs: Option<f64>,
    /// How long a pixel or redirect waits for its hit to be committed before answering anyway,
    /// in milliseconds [default: 1000].
    #[arg(long, env = "BEACON_INGEST_WAIT_MS")]
    pub ingest_wait_ms: Option<u64>,
    /// How long a node's hold on a campaign fan-out lasts without progress before another node
    /// (or the next start) takes it over, in milliseconds [default: 30000].
    #[arg(long, env = "BEACON_CAMPAIGN_LEASE_MS")]
    pub campaign_lease_ms: Option<i64>,
    /// Amazon SNS topic ARNs whose notifications `POST /webhooks/sns` accepts, comma-separated
    /// [default: none, so every notification is refused].
    #[arg(long, env = "BEACON_SNS_TOPIC_ARNS")]
    pub sns_topic_arns: Option<String>,
    /// Host an SNS signing certificate or subscribe URL may come from; `*` stands for one DNS
    /// label (the region) [default: sns.*.amazonaws.com].
    #[arg(long, env = "BEACON_SNS_CERT_HOST")]
    pub sns_cert_host: Option<String>,
    /// TESTS ONLY: also accept http:// certificate and subscribe URLs (never in production:
    /// anyone on the path could then forge SNS notifications) [default: false].
    #[arg(long, env = "BEACON_SNS_ALLOW_INSECURE_CERT_URL")]
    pub sns_allow_insecure_cert_url: Option<bool>,
    /// Calls per second one public key may make (also the burst), per node; 0 for no limit
    /// [default: 100].
    #[arg(long, env = "BEACON_PUBLIC_KEY_RATE")]
    pub public_key_rate: Option<u32>,
    /// Calls per second one client address may make with a public key (also the burst), per
    /// node; 0 for no limit [default: 10].
    #[arg(long, env = "BEACON_PUBLIC_KEY_CLIENT_RATE")]
    pub public_key_client_rate: Option<u32>,
    /// Hosts, addresses and ranges (`hooks.internal`, `10.1.2.3`, `10.0.0.0/8`, `::1`)
    /// workflow webhooks may reach although they are private, loopback or link-local,
    /// comma-separated [default: none].
    #[arg(long, env = "BEACON_WEBHOOK_ALLOW")]
    pub webhook_allow: Option<String>,
    /// Executions one contact may start in one workflow that allows re-entry, per
    /// BEACON_WORKFLOW_ENTRY_WINDOW_SECS; further entries are refused; 0 for no limit
    /// [default: 20].
    #[arg(long, env = "BEACON_WORKFLOW_ENTRY_LIMIT")]
    pub workflow_entry_limit: Option<u32>,
    /// The period of BEACON_WORKFLOW_ENTRY_LIMIT, in seconds [default: 3600].
    #[arg(long, env = "BEACON_WORKFLOW_ENTRY_WINDOW_SECS")]
    pub workflow_entry_window_secs: Option<u64>,
    /// The nameserver that verifies tracking domains, `ip:port` [default: the system's, from
    /// /etc/resolv.conf].
    #[arg(long, env = "BEACON_DNS_SERVER")]
    pub dns_server: Option<String>,
    /// How often each tracking domain's DNS records are checked again, in seconds
    /// [default: 3600].
    #[arg(long, env = "BEACON_DOMAIN_RECHECK_SECS")]
    pub domain_recheck_secs: Option<u64>,
    /// Days an email's HTML, text, attachments and outbox message are kept; older ones are
    /// removed in the background (the email, its events and statistics stay) [default: kept
    /// forever].
    #[arg(long, env = "BEACON_BODY_RETENTION_DAYS")]
    pub body_retention_days: Option<u32>,
    /// Days open and click events keep the client's IP and user agent; older ones lose both in
    /// the background (the event and its verdict stay) [default: kept forever].
    #[arg(long, env = "BEACON_HIT_CLIENT_RETENTION_DAYS")]
    pub hit_client_retention_days: Option<u32>,
}

const DAY_MS: i64 = 86_400_000;

/// What of a hit's client IP is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitIp {
    Full,
    Truncated,
    None,
}

impl HitIp {
    pub fn apply(self, ip: std::net::IpAddr) -> Option<String> {
        match self {
            HitIp::Full => Some(ip.to_string()),
            HitIp::Truncated => Some(beacon_tracking::classify::truncate_ip(ip).to_string()),
            HitIp::None => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    Plain,
    StartTls,
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    pub pool: usize,
}

#[derive(Debug, Clone)]
pub enum Transport {
    Outbox,
    Smtp(SmtpSettings),
    /// Amazon SES's SMTP interface: the same pooled client as `Smtp`, and SES's message id is
    /// read from its reply.
    Ses(SmtpSettings),
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: String,
    pub public_url: Option<String>,
    pub default_from: String,
    pub transport: Transport,
    pub tracking_engine: TrackingEngine,
    pub workers: usize,
    pub max_attempts: i64,
    pub retry_base_ms: i64,
    pub max_body_bytes: usize,
    pub hit_ip: HitIp,
    pub hit_user_agent: bool,
    pub trust_forwarded_for: bool,
    pub machine_min_secs: f64,
    pub ingest_wait_ms: u64,
    pub campaign_lease_ms: i64,
    /// `BEACON_BODY_RETENTION_DAYS` in milliseconds (`None`: kept forever).
    pub body_retention_ms: Option<i64>,
    /// `BEACON_HIT_CLIENT_RETENTION_DAYS` in milliseconds (`None`: kept forever).
    pub hit_client_retention_ms: Option<i64>,
    /// Topic ARNs `POST /webhooks/sns` accepts; empty refuses every notification.
    pub sns_topic_arns: Vec<String>,
    /// Allowed host of SNS certificate and subscribe URLs (`*` = one DNS label).
    pub sns_cert_host: String,
    /// Test-only: accept http:// certificate and subscribe URLs.
    pub sns_allow_insecure_cert_url: bool,
    /// Print the first-start banner (keys and a curl) to stdout.
    pub banner: bool,
    /// Public-key calls per second per key and per client address (0: no limit).
    pub public_key_rate: u32,
    pub public_key_client_rate: u32,
    /// What workflow webhooks may reach besides public addresses.
    pub webhook_allow: crate::workflows::guard::AllowList,
    /// Executions per contact per re-entrant workflow per window (0: no limit).
    pub workflow_entry_limit: u32,
    pub workflow_entry_window_ms: i64,
    /// The nameserver tracking domains are verified with (`None`: the system's).
    pub dns_server: Option<std::net::SocketAddr>,
    /// How often each tracking domain is checked again (ms).
    pub domain_recheck_ms: i64,
}

impl SettingsArgs {
    /// Flags and environment win over the file; the file wins over defaults.
    pub fn resolve(self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str::<SettingsArgs>(&text)
                    .with_context(|| format!("parsing config file {}", path.display()))?
            }
            None => SettingsArgs::default(),
        };
        let a = self.overlay(file);
        let transport = match a.transport.as_deref().unwrap_or("outbox") {
            "outbox" => Transport::Outbox,
            "smtp" => Transport::Smtp(smtp_settings(&a, "smtp")?),
            "ses" => Transport::Ses(smtp_settings(&a, "ses")?),
            other => anyhow::bail!("BEACON_TRANSPORT={other:?} is not one of outbox, smtp, ses"),
        };
        let tracking_engine = TrackingEngine::resolve(
            a.tracking_engine.as_deref(),
            a.ses_configuration_set.clone(),
            a.ses_configuration_set_no_tracking.clone(),
            &transport,
        )?;
        Ok(Settings {
            database_url: a
                .database_url
                .unwrap_or_else(|| "sqlite://beacon.db".into()),
            listen: a.listen.unwrap_or_else(|| "127.0.0.1:8080".into()),
            public_url: a.public_url.map(|u| u.trim_end_matches('/').to_string()),
            default_from: a
                .default_from
                .unwrap_or_else(|| "no-reply@beacon.localhost".into()),
            transport,
            tracking_engine,
            workers: a.workers.unwrap_or(2).max(1),
            max_attempts: a.max_attempts.unwrap_or(5).max(1),
            retry_base_ms: a.retry_base_ms.unwrap_or(30_000).max(0),
            max_body_bytes: a.max_body_bytes.unwrap_or(10 * 1024 * 1024),
            hit_ip: match a.hit_ip.as_deref().unwrap_or("truncated") {
                "full" => HitIp::Full,
                "truncated" => HitIp::Truncated,
                "none" => HitIp::None,
                other => {
                    anyhow::bail!("BEACON_HIT_IP={other:?} is not one of full, truncated, none")
                }
            },
            hit_user_agent: a.hit_user_agent.unwrap_or(true),
            trust_forwarded_for: a.trust_forwarded_for.unwrap_or(false),
            machine_min_secs: a.machine_min_secs.unwrap_or(3.0).max(0.0),
            ingest_wait_ms: a.ingest_wait_ms.unwrap_or(1000).max(1),
            campaign_lease_ms: a.campaign_lease_ms.unwrap_or(30_000).max(100),
            body_retention_ms: a.body_retention_days.map(|d| i64::from(d) * DAY_MS),
            hit_client_retention_ms: a.hit_client_retention_days.map(|d| i64::from(d) * DAY_MS),
            sns_topic_arns: a
                .sns_topic_arns
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            sns_cert_host: a
                .sns_cert_host
                .unwrap_or_else(|| "sns.*.amazonaws.com".into())
                .to_ascii_lowercase(),
            sns_allow_insecure_cert_url: a.sns_allow_insecure_cert_url.unwrap_or(false),
            banner: true,
            public_key_rate: a.public_key_rate.unwrap_or(100),
            public_key_client_rate: a.public_key_client_rate.unwrap_or(10),
            webhook_allow: crate::workflows::guard::AllowList::parse(
                a.webhook_allow.as_deref().unwrap_or(""),
            )
            .context("BEACON_WEBHOOK_ALLOW")?,
            workflow_entry_limit: a.workflow_entry_limit.unwrap_or(20),
            workflow_entry_window_ms: i64::try_from(
                a.workflow_entry_window_secs
                    .unwrap_or(3600)
                    .clamp(1, 366 * 86_400)
                    * 1000,
            )
            .expect("a year of milliseconds fits"),
            dns_server: a
                .dns_server
                .as_deref()
                .map(|s| {
                    s.trim().parse().with_context(|| {
                        format!("BEACON_DNS_SERVER={s:?} is not ip:port (e.g. 127.0.0.1:53)")
                    })
                })
                .transpose()?,
            domain_recheck_ms: i64::try_from(
                a.domain_recheck_secs.unwrap_or(3600).clamp(1, 366 * 86_400) * 1000,
            )
            .expect("a year of milliseconds fits"),
        })
    }

    fn overlay(self, file: SettingsArgs) -> SettingsArgs {
        SettingsArgs {
            config: self.config,
            database_url: self.database_url.or(file.database_url),
            listen: self.listen.or(file.listen),
            public_url: self.public_url.or(file.public_url),
            default_from: self.default_from.or(file.default_from),
            transport: self.transport.or(file.transport),
            smtp_host: self.smtp_host.or(file.smtp_host),
            smtp_port: self.smtp_port.or(file.smtp_port),
            smtp_security: self.smtp_security.or(file.smtp_security),
            smtp_username: self.smtp_username.or(file.smtp_username),
            smtp_password: self.smtp_password.or(file.smtp_password),
            smtp_pool: self.smtp_pool.or(file.smtp_pool),
            tracking_engine: self.tracking_engine.or(file.tracking_engine),
            ses_configuration_set: self.ses_configuration_set.or(file.ses_configuration_set),
            ses_configuration_set_no_tracking: self
                .ses_configuration_set_no_tracking
                .or(file.ses_configuration_set_no_tracking),
            workers: self.workers.or(file.workers),
            max_attempts: self.max_attempts.or(file.max_attempts),
            retry_base_ms: self.retry_base_ms.or(file.retry_base_ms),
            max_body_bytes: self.max_body_bytes.or(file.max_body_bytes),
            hit_ip: self.hit_ip.or(file.hit_ip),
            hit_user_agent: self.hit_user_agent.or(file.hit_user_agent),
            trust_forwarded_for: self.trust_forwarded_for.or(file.trust_forwarded_for),
            machine_min_secs: self.machine_min_secs.or(file.machine_min_secs),
            ingest_wait_ms: self.ingest_wait_ms.or(file.ingest_wait_ms),
            campaign_lease_ms: self.campaign_lease_ms.or(file.campaign_lease_ms),
            body_retention_days: self.body_retention_days.or(file.body_retention_days),
            hit_client_retention_days: self
                .hit_client_retention_days
                .or(file.hit_client_retention_days),
            sns_topic_arns: self.sns_topic_arns.or(file.sns_topic_arns),
            sns_cert_host: self.sns_cert_host.or(file.sns_cert_host),
            sns_allow_insecure_cert_url: self
                .sns_allow_insecure_cert_url
                .or(file.sns_allow_insecure_cert_url),
            public_key_rate: self.public_key_rate.or(file.public_key_rate),
            public_key_client_rate: self.public_key_client_rate.or(file.public_key_client_rate),
            webhook_allow: self.webhook_allow.or(file.webhook_allow),
            workflow_entry_limit: self.workflow_entry_limit.or(file.workflow_entry_limit),
            workflow_entry_window_secs: self
                .workflow_entry_window_secs
                .or(file.workflow_entry_window_secs),
            dns_server: self.dns_server.or(file.dns_server),
            domain_recheck_secs: self.domain_recheck_secs.or(file.domain_recheck_secs),
        }
    }
}

/// The relay settings `smtp` and `ses` share. SES's SMTP endpoint speaks STARTTLS on 587, the
/// same defaults as any relay; only its host has no sensible default.
fn smtp_settings(a: &SettingsArgs, transport: &str) -> anyhow::Result<SmtpSettings> {
    let security = match a.smtp_security.as_deref().unwrap_or("starttls") {
        "starttls" => Security::StartTls,
        "tls" => Security::Tls,
        "plain" => Security::Plain,
        other => anyhow::bail!("BEACON_SMTP_SECURITY={other:?} is not one of starttls, tls, plain"),
    };
    let port = a.smtp_port.unwrap_or(match security {
        Security::StartTls => 587,
        Security::Tls => 465,
        Security::Plain => 25,
    });
    let example = match transport {
        "ses" => " (SES's SMTP endpoint, e.g. email-smtp.eu-west-1.amazonaws.com)",
        _ => "",
    };
    Ok(SmtpSettings {
        host: a
            .smtp_host
            .clone()
            .with_context(|| format!("transport {transport} needs BEACON_SMTP_HOST{example}"))?,
        port,
        security,
        username: a.smtp_username.clone(),
        password: a.smtp_password.clone(),
        pool: a.smtp_pool.unwrap_or(4).max(1),
    })
}

impl Settings {
    /// Defaults for tests and embedding: fresh SQLite file given by the caller, port 0.
    pub fn for_tests(database_url: &str) -> Settings {
        let mut s = SettingsArgs::default().resolve().expect("defaults resolve");
        s.database_url = database_url.to_string();
        s.listen = "127.0.0.1:0".into();
        s.banner = false;
        s
    }
}
