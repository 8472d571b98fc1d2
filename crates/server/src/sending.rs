//! Queueing one email for one contact: the step every send path shares (`/v1/send`,
//! campaigns, workflow steps). Renders the content with the contact's variables, carries out the
//! tracking decision (Beacon's own rewriting, or the provider engine's configuration set
//! header), adds the unsubscribe link and headers to marketing mail, and inserts the PENDING
//! row — so what is stored is exactly what will be delivered.

use std::collections::BTreeMap;

use beacon_tracking::policy::{self, CampaignType, SourceType, TemplateType};
use serde_json::{Map, Value};

use crate::bodies::dictionary::BodyPacker;
use crate::domain::{EmailAddress, Mailbox};
use crate::engine::{self, Decision, Unavailable};
use crate::error::{ApiError, ApiResult};
use crate::links::SendLinks;
use crate::render::{Content, Prepared};
use crate::startup::AppState;
use crate::store::contacts::Contact;
use crate::store::templates::Template;
use crate::store::{self, Tx, bodies, emails};
use crate::tracking::Tracking;

/// Who an email comes from.
#[derive(Debug, Clone)]
pub struct Sender {
    pub from: Mailbox,
    pub reply_to: Option<EmailAddress>,
}

/// Everything about an email except its recipient.
pub struct Compose<'a> {
    pub content: &'a Content,
    /// Values for `{{var}}` placeholders (the contact's data is added under them).
    pub vars: &'a Map<String, Value>,
    pub source: SourceType,
    pub template: Option<&'a Template>,
    pub campaign: Option<(&'a str, CampaignType)>,
    pub sender: &'a Sender,
    pub headers: &'a BTreeMap<String, String>,
    /// The send request's attachments (`store::attachments`), stored before queueing.
    pub attachment_set: Option<&'a str>,
    /// The content has siblings (a campaign, a workflow step, a template, several recipients):
    /// bodies are compressed against what they share (`crate::bodies`); else each alone.
    pub shared: bool,
    /// The send's tracking decision as the engine carries it out (see [`decide`]).
    pub tracking: Decision,
    /// Marketing mail: an unsubscribe link in the body (a footer when the content has no
    /// `{{unsubscribeUrl}}`) and RFC 8058 one-click headers. `{{unsubscribeUrl}}` itself is
    /// filled on every send.
    pub unsubscribe: bool,
    /// Campaign parameters and text-part tracking (`crate::links::for_send`).
    pub links: SendLinks,
    /// When the email becomes due for delivery (epoch ms).
    pub due_at: i64,
}

/// The tracking decision for a send: the project's mode × source × template × campaign type ×
/// the per-send override, as the configured engine carries it out. A 422 (`field: "tracking"`)
/// when the engine cannot send it as decided (provider engine, untracked, no no-tracking set).
pub fn decide(
    state: &AppState,
    project_mode: &str,
    source: SourceType,
    template: Option<&Template>,
    campaign: Option<CampaignType>,
    override_: Option<bool>,
) -> ApiResult<Decision> {
    let mut send = policy::Send::new(source);
    if let Some(kind) = template.and_then(|t| t.kind.parse::<TemplateType>().ok()) {
        send = send.template(kind);
    }
    if let Some(kind) = campaign {
        send = send.campaign(kind);
    }
    let tracked = Tracking::decide(project_mode, &send, override_);
    state.settings.tracking_engine.decide(tracked).map_err(|e| {
        let why = match override_ {
            Some(false) => "`\"tracking\": false`".to_string(),
            _ => format!(
                "this send is untracked under the project's tracking mode {project_mode}, which"
            ),
        };
        refused(&why, e)
    })
}

/// A send that is never tracked (a campaign's test send), as the engine carries it out.
pub fn untracked(state: &AppState, what: &str) -> ApiResult<Decision> {
    state
        .settings
        .tracking_engine
        .decide(false)
        .map_err(|e| refused(&format!("{what} is never tracked and"), e))
}

fn refused(why: &str, e: Unavailable) -> ApiError {
    ApiError::invalid("tracking", format!("{why} {e}"))
}

/// The page where a recipient confirms unsubscribing; the token is the email's sealed id.
/// `base`: the project's verified tracking domain (`SendLinks::base`), else the public URL.
pub fn unsubscribe_url(state: &AppState, base: Option<&str>, email_id: &uuid::Uuid) -> String {
    format!(
        "{}/unsubscribe/{}",
        base.unwrap_or(&state.public_url),
        state.tracking.keyring.seal_open(*email_id.as_bytes())
    )
}

/// Renders and queues one email to `contact` inside `tx`, preparing the content first (for one
/// recipient or a handful; campaigns prepare once and call [`queue_prepared`]).
pub async fn queue(
    tx: &mut Tx,
    state: &AppState,
    contact: &Contact,
    to_name: Option<String>,
    c: &Compose<'_>,
) -> ApiResult<emails::Email> {
    let prepared = prepare(state, &contact.project_id, c)?;
    store_dictionary(tx, &prepared).await?;
    queue_prepared(tx, state, contact, to_name, c, &prepared).await
}

/// A content ready for its recipients: parsed for rendering, and the compressor its emails'
/// bodies are stored with.
pub struct PreparedSend {
    content: Prepared,
    packer: BodyPacker,
    backend: store::Backend,
}

/// The content of `c` prepared for rendering (see [`Prepared`]) and for storing the bodies of
/// `project_id`'s emails: with siblings (`c.shared`), against the content rendered for a
/// recipient with no values (its links sealed for a null email id, so the sealed URLs' shared
/// parts are in the dictionary too).
pub fn prepare(state: &AppState, project_id: &str, c: &Compose<'_>) -> ApiResult<PreparedSend> {
    let content = Prepared::new(c.content, c.unsubscribe, &state.tracking.rewrite, &c.links);
    let keys = &state.tracking.keyring;
    let sample = c
        .shared
        .then(|| content.render(&Map::new(), c.tracking.rewrite.then_some((keys, [0; 16]))))
        .and_then(Result::ok);
    let packer = match sample {
        Some(r) => BodyPacker::shared(
            project_id,
            &crate::bodies::codec::payload(&emails::Bodies {
                html: Some(r.html),
                text: Some(r.text),
                purged_at: None,
            }),
        ),
        None => BodyPacker::alone(),
    }
    .map_err(anyhow::Error::from)?;
    Ok(PreparedSend {
        content,
        packer,
        backend: state.db.backend,
    })
}

/// Stores the dictionary of `prepared`'s emails if it is not yet: once in each transaction
/// that queues them, before the first.
pub async fn store_dictionary(tx: &mut Tx, prepared: &PreparedSend) -> Result<(), sqlx::Error> {
    match prepared.packer.dictionary() {
        Some(d) => bodies::insert_dictionary(tx, prepared.backend, d).await,
        None => Ok(()),
    }
}

/// Queues one email to `contact` from content prepared by [`prepare`].
pub async fn queue_prepared(
    tx: &mut Tx,
    state: &AppState,
    contact: &Contact,
    to_name: Option<String>,
    c: &Compose<'_>,
    prepared: &PreparedSend,
) -> ApiResult<emails::Email> {
    let PreparedSend {
        content, packer, ..
    } = prepared;
    let mut vars = contact.data_map();
    vars.extend(c.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.entry("email")
        .or_insert_with(|| Value::String(contact.email.clone()));
    let id = uuid::Uuid::now_v7();
    let mut headers = c.headers.clone();
    // Every path fills `{{unsubscribeUrl}}` (the recipient's own page): a variable that
    // silently rendered as nothing made empty links. Marketing mail also gets the headers.
    let url = unsubscribe_url(state, c.links.base.as_deref(), &id);
    vars.insert("unsubscribeUrl".into(), Value::String(url.clone()));
    if c.unsubscribe {
        headers.insert("List-Unsubscribe".into(), format!("<{url}>"));
        headers.insert(
            "List-Unsubscribe-Post".into(),
            "List-Unsubscribe=One-Click".into(),
        );
    }
    // Tracked before queueing: the stored HTML is exactly what is delivered.
    let keys = &state.tracking.keyring;
    let rendered = content.render(&vars, c.tracking.rewrite.then_some((keys, *id.as_bytes())))?;
    // Long destinations are stored with the email that first carries them, in its transaction:
    // its links can never be delivered before their destination is.
    store::destinations::insert(tx, &content.not_yet_stored(rendered.stored)).await?;
    // The provider engine's configuration set is stored with the email's headers here, not
    // added when the message is built: the row stays exactly what is delivered (GET
    // /v1/emails shows the set), a queued email keeps the set decided when it was accepted (as
    // it keeps `tracked`), and delivery stays unaware of engines.
    engine::provider_headers(&c.tracking, &id.to_string(), &mut headers);
    let email = emails::Email {
        id: id.to_string(),
        project_id: contact.project_id.clone(),
        contact_id: contact.id.clone(),
        source_type: c.source.as_str().to_string(),
        template_id: c.template.map(|t| t.id.clone()),
        campaign_id: c.campaign.map(|(id, _)| id.to_string()),
        subject: rendered.subject,
        from_email: c.sender.from.email.to_string(),
        from_name: c.sender.from.name.clone(),
        reply_to: c.sender.reply_to.as_ref().map(ToString::to_string),
        to_email: contact.email.clone(),
        to_name,
        headers: serde_json::to_string(&headers).unwrap_or_default(),
        attachments: "[]".into(),
        attachment_set_id: c.attachment_set.map(str::to_string),
        tracked: store::flag(c.tracking.tracked),
        status: "PENDING".into(),
        next_attempt_at: c.due_at,
        created_at: store::now_ms(),
        ..emails::Email::default()
    };
    let (dictionary, packed) = packer
        .pack(&emails::Bodies {
            html: Some(rendered.html),
            text: Some(rendered.text),
            purged_at: None,
        })
        .map_err(anyhow::Error::from)?;
    emails::insert(tx, &email).await?;
    bodies::insert(tx, &email.id, dictionary, packed).await?;
    Ok(email)
}
