//! Campaigns: one message to an audience, fanned out by a runner that any node may take over.
//!
//! The runner claims a due campaign under a lease, walks its audience in contact-id order one
//! page at a time, and queues each page's emails in the same transaction that moves the
//! campaign's cursor. A crash loses at most an uncommitted page, which the next runner redoes;
//! a unique index on (campaign, contact) makes a double impossible even so. Only one page of
//! contacts is in memory at a time.

pub mod audience;

use std::time::Duration;

use beacon_tracking::policy::{CampaignType, SourceType};
use serde_json::Map;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::{EmailAddress, Mailbox};
use crate::error::ApiError;
use crate::render::{BodyType, Content};
use crate::sending::{self, Compose, Sender};
use crate::startup::AppState;
use crate::store::{self, campaigns, projects};

/// Contacts queued per transaction.
const PAGE: i64 = 500;

pub fn spawn(state: &AppState, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        while !*stop.borrow() {
            match campaigns::claim_due(&state.db, state.settings.campaign_lease_ms).await {
                Ok(Some(c)) => {
                    let id = c.id.clone();
                    if let Err(e) = fan_out(&state, c, &stop).await {
                        tracing::error!(campaign = %id, error = format!("{e:#}"), "campaign fan-out failed; it resumes when its lease ends");
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "claiming due campaigns failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = stop.changed() => {}
            }
        }
    })
}

/// The campaign's sender, as validated when it was created.
pub fn sender(c: &campaigns::Campaign) -> anyhow::Result<Sender> {
    Ok(Sender {
        from: Mailbox {
            name: c.from_name.clone(),
            email: EmailAddress::parse(&c.from_email)?,
        },
        reply_to: c.reply_to.as_deref().map(EmailAddress::parse).transpose()?,
    })
}

pub fn kind(c: &campaigns::Campaign) -> CampaignType {
    c.kind.parse().unwrap_or(CampaignType::Marketing)
}

#[tracing::instrument(skip_all, fields(campaign = %c.id))]
async fn fan_out(
    state: &AppState,
    c: campaigns::Campaign,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let db = &state.db;
    let project = projects::get(db, &c.project_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("project gone"))?;
    let kind = kind(&c);
    let marketing = kind == CampaignType::Marketing;
    // Decided once per fan-out, from the mode in force when the campaign goes out.
    // Refused (provider engine, untracked, no no-tracking set: only a mode stored before the
    // engine changed gets here, `/send` checks first): the fan-out fails and is retried when
    // its lease ends, logged each time, so the campaign goes out once the setting is added or
    // the mode changed — never tracked against the mode.
    let tracking = sending::decide(
        state,
        &project.tracking_mode,
        SourceType::Campaign,
        None,
        Some(kind),
        None,
    )
    .map_err(|e| anyhow::anyhow!("campaign not sent: {e}"))?;
    let audience = audience::Audience::load(db, &c).await?;
    let content = Content {
        subject: c.subject.clone(),
        body: c.body.clone(),
        kind: BodyType::Html,
    };
    let sender = sender(&c)?;
    let (vars, headers) = (Map::new(), Default::default());
    let compose = Compose {
        content: &content,
        vars: &vars,
        source: SourceType::Campaign,
        template: None,
        campaign: Some((&c.id, kind)),
        sender: &sender,
        headers: &headers,
        attachment_set: None,
        shared: true,
        tracking,
        unsubscribe: marketing,
        links: crate::links::for_send(&project, Some(&c)),
        due_at: store::now_ms(),
    };
    // Parsed once for the whole audience; each recipient only fills in its values and tokens.
    let prepared = sending::prepare(state, &c.project_id, &compose)?;
    let mut cursor = c.cursor.clone();
    loop {
        if *stop.borrow() {
            // Hand the campaign back at once so the next start resumes it without waiting.
            campaigns::release(db, &c.id).await?;
            return Ok(());
        }
        let page = audience.page(db, &c.project_id, &cursor, PAGE).await?;
        let Some(last) = page.last().map(|p| p.id.clone()) else {
            campaigns::finish(db, &c.id).await?;
            tracing::info!(recipients = c.recipients, "campaign fan-out finished");
            return Ok(());
        };
        let mut tx = db.begin().await?;
        if campaigns::status_tx(&mut tx, &c.id).await?.as_deref() != Some("SENDING") {
            return Ok(()); // cancelled or deleted: what is not yet queued stays unsent
        }
        sending::store_dictionary(&mut tx, &prepared).await?;
        let mut added = 0;
        for contact in &page {
            // Marketing mail only goes to subscribers; transactional campaigns to everyone.
            if marketing && contact.subscribed == 0 {
                continue;
            }
            match sending::queue_prepared(&mut tx, state, contact, None, &compose, &prepared).await
            {
                Ok(_) => added += 1,
                // This contact's data makes the content unrenderable (e.g. a line break in a
                // subject value): skip them. Nothing was written for them, so the page's
                // transaction is intact.
                Err(e @ ApiError::Unprocessable { .. }) => {
                    tracing::warn!(contact = %contact.id, error = %e, "skipped a recipient")
                }
                Err(e) => return Err(anyhow::anyhow!("queueing a campaign email: {e}")),
            }
        }
        campaigns::advance(
            &mut tx,
            &c.id,
            &last,
            added,
            state.settings.campaign_lease_ms,
        )
        .await?;
        tx.commit().await?;
        state.queue_wake.notify_waiters();
        cursor = last;
    }
}
