//! Contacts: the paged list with search and a subscription filter, adding one, and a contact's
//! page with its data and whole timeline.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::Value;

use super::page::{Errors, Nav, PageError, PageResult, notice, with_status};
use super::session::{Form, Member};
use super::view::{EventLine, when};
use crate::actions;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::contacts::{self, Contact, Filter};
use crate::store::events;

pub const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    /// `yes`, `no`, or empty for all.
    #[serde(default)]
    subscribed: String,
    cursor: Option<String>,
    notice: Option<String>,
}

pub struct Row {
    pub id: String,
    pub email: String,
    pub subscribed: bool,
    pub created: String,
}

/// What the add form holds, kept as typed when it comes back with errors.
#[derive(Deserialize, Default)]
pub struct AddForm {
    #[serde(default)]
    email: String,
    subscribed: Option<String>,
    #[serde(default)]
    data: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts.html")]
struct ListPage {
    nav: Nav,
    notice: &'static str,
    q: String,
    subscribed: String,
    rows: Vec<Row>,
    total: i64,
    next: Option<String>,
    first_page: bool,
    form: AddForm,
    errors: Errors,
}

async fn list_page(
    state: &AppState,
    m: &Member,
    q: ListQuery,
    form: AddForm,
    errors: Errors,
) -> PageResult<ListPage> {
    let filter = Filter {
        // PostgreSQL refuses NUL in a pattern; no address holds a control character.
        search: q.q.replace(char::is_control, ""),
        subscribed: match q.subscribed.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
    };
    let found =
        contacts::search(&state.db, &m.project.id, &filter, q.cursor.as_deref(), PAGE).await?;
    let total = contacts::count(&state.db, &m.project.id).await?;
    // The next page starts after the last contact shown: by id newest first, by address when
    // searching (store::contacts::search).
    let next = (found.len() as i64 == PAGE)
        .then(|| {
            found.last().map(|c| match filter.search.trim().is_empty() {
                true => c.id.clone(),
                false => c.email.clone(),
            })
        })
        .flatten();
    Ok(ListPage {
        nav: Nav::new(m, "contacts"),
        notice: notice(q.notice.as_deref()),
        q: q.q,
        subscribed: q.subscribed,
        rows: found
            .into_iter()
            .map(|c| Row {
                created: when(c.created_at),
                subscribed: c.subscribed != 0,
                id: c.id,
                email: c.email,
            })
            .collect(),
        total,
        next,
        first_page: q.cursor.is_none(),
        form,
        errors,
    })
}

pub async fn list(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let page = list_page(&state, &m, q, AddForm::default(), Errors::none()).await?;
    Ok(page.into_response())
}

/// Adds a contact (or updates the one with that address) through the same function as
/// `POST /v1/contacts`.
pub async fn add(State(state): State<AppState>, m: Member, Form(f): Form<AddForm>) -> PageResult {
    let data = if f.data.trim().is_empty() {
        Ok(None)
    } else {
        serde_json::from_str::<Value>(&f.data)
            .map(Some)
            .map_err(|e| ApiError::invalid("data", format!("data is not JSON: {e}")))
    };
    let outcome = match data {
        Ok(data) => {
            let subscribed = Some(f.subscribed.is_some());
            actions::contacts::upsert(&state.db, &m.project.id, &f.email, subscribed, data).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok((contact, created)) => {
            let code = if created { "added" } else { "updated" };
            Ok(
                Redirect::to(&m.url(&format!("/contacts/{}?notice={code}", contact.id)))
                    .into_response(),
            )
        }
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let status = e.status();
            let page = list_page(&state, &m, ListQuery::default(), f, Errors::from_api(&e)).await?;
            Ok(with_status(status, page))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "contact.html")]
struct ContactPage {
    nav: Nav,
    notice: &'static str,
    contact: Contact,
    created: String,
    updated: String,
    /// (key, value as JSON text), sorted by key.
    data: Vec<(String, String)>,
    lines: Vec<EventLine>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    cursor: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct ContactPath {
    cid: String,
}

async fn contact(state: &AppState, m: &Member, id: &str) -> PageResult<Contact> {
    contacts::get(&state.db, &m.project.id, id)
        .await?
        .ok_or(PageError::NotFound)
}

/// The contact and its timeline, newest first, 50 events a page (the same query as
/// `GET /v1/contacts/{id}/events`).
pub async fn show(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<ContactPath>,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    let c = contact(&state, &m, &p.cid).await?;
    let rows =
        events::for_contact(&state.db, &m.project.id, &c.id, q.cursor.as_deref(), PAGE).await?;
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|e| e.id.clone()))
        .flatten();
    let data = c
        .data_map()
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect();
    let page = ContactPage {
        nav: Nav::new(&m, "contacts"),
        notice: notice(q.notice.as_deref()),
        created: when(c.created_at),
        updated: when(c.updated_at),
        data,
        lines: rows.iter().map(|e| EventLine::new(e, None)).collect(),
        next,
        contact: c,
    };
    Ok(page.into_response())
}

#[derive(Deserialize)]
pub struct SubscriptionForm {
    subscribed: String,
}

/// Subscribes or unsubscribes the contact, as `PATCH /v1/contacts/{id}` does.
pub async fn subscription(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<ContactPath>,
    Form(f): Form<SubscriptionForm>,
) -> PageResult {
    let subscribed = match f.subscribed.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(PageError::BadRequest(format!(
                "subscribed must be true or false, not {other:?}"
            )));
        }
    };
    actions::contacts::update(
        &state.db,
        &m.project.id,
        &p.cid,
        None,
        Some(subscribed),
        None,
    )
    .await?;
    Ok(Redirect::to(&m.url(&format!("/contacts/{}?notice=updated", p.cid))).into_response())
}

#[derive(Deserialize)]
pub struct Confirmed {}

pub async fn delete(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<ContactPath>,
    Form(_): Form<Confirmed>,
) -> PageResult {
    actions::contacts::delete(&state.db, &m.project.id, &p.cid).await?;
    Ok(Redirect::to(&m.url("/contacts?notice=deleted")).into_response())
}
