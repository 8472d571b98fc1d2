//! Contacts: `/v1/contacts` (upsert, list, find by email, get, patch, delete) and a contact's
//! events. Emails are parsed (lower-cased) at the edge, so a contact has one identity per address.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::extract::{Json as Body, QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use super::schema::{Data, Done, done, ok};
use crate::actions;
use crate::domain::EmailAddress;
use crate::error::ErrorBody;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{contacts, events};
use crate::time::iso;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/contacts", get(list).post(upsert))
        // A static segment wins over `{id}`, so `find` is never taken for an id.
        .route("/v1/contacts/find", get(find))
        .route(
            "/v1/contacts/{id}",
            get(get_one).patch(patch).delete(remove),
        )
        .route("/v1/contacts/{id}/events", get(list_events))
}

/// A contact: one email address in one project.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactView {
    /// RFC 3339, UTC, milliseconds.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Free-form values, usable as `{{key}}` in subjects and bodies.
    pub data: Map<String, Value>,
    /// Lower-cased.
    pub email: String,
    /// UUIDv7, ordered by time.
    pub id: String,
    /// MARKETING templates and campaigns go only to subscribed contacts.
    pub subscribed: bool,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

pub fn view(c: &contacts::Contact) -> ContactView {
    ContactView {
        created_at: iso(c.created_at),
        data: c.data_map(),
        email: c.email.clone(),
        id: c.id.clone(),
        subscribed: c.subscribed != 0,
        updated_at: iso(c.updated_at),
    }
}

/// An event on a contact: a custom one from `/v1/track`, or Beacon's own (`email.sent`,
/// `email.open`, `email.click`, …).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    #[schema(format = DateTime)]
    pub created_at: String,
    pub data: Value,
    /// The email it is about; `null` for custom events.
    pub email_id: Option<String>,
    pub id: String,
    pub name: String,
}

fn event_view(e: &events::Event) -> EventView {
    EventView {
        created_at: iso(e.created_at),
        data: serde_json::from_str(&e.data).unwrap_or_else(|_| Value::Object(Map::new())),
        email_id: e.email_id.clone(),
        id: e.id.clone(),
        name: e.name.clone(),
    }
}

async fn fetch(state: &AppState, project_id: &str, id: &str) -> ApiResult<contacts::Contact> {
    contacts::get(&state.db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("contact", id))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ContactUpsert)]
#[serde(deny_unknown_fields)]
pub(super) struct UpsertBody {
    email: String,
    /// Set when given; a new contact is not subscribed unless this says so.
    subscribed: Option<bool>,
    /// Merged key by key; a `null` value removes the key.
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
}

/// Creates the contact (201) or updates the one with that email (200): `subscribed` is set
/// when given, `data` is merged key by key (a `null` value removes the key).
#[utoipa::path(post, path = "/v1/contacts", tag = "Contacts", request_body = UpsertBody,
    responses((status = 201, description = "Created", body = Data<ContactView>),
        (status = 200, description = "Updated", body = Data<ContactView>),
        (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn upsert(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<UpsertBody>,
) -> ApiResult<(StatusCode, Json<Data<ContactView>>)> {
    let (contact, created) =
        actions::contacts::upsert(&state.db, &project.id, &req.email, req.subscribed, req.data)
            .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ok(view(&contact))))
}

/// The project's contacts, oldest first.
#[utoipa::path(get, path = "/v1/contacts", tag = "Contacts", params(PageQuery),
    responses((status = 200, description = "A page", body = Page<ContactView>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<ContactView>>> {
    let limit = q.limit()?;
    let rows = contacts::list(&state.db, &project.id, q.cursor.as_deref(), limit).await?;
    Ok(Json(Page::new(
        rows.iter().map(view).collect(),
        limit,
        |v| v.id.clone(),
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FindQuery {
    /// The address, percent-encoded (a `+` must be sent as `%2B`).
    email: String,
}

/// The contact with that address.
#[utoipa::path(get, path = "/v1/contacts/find", tag = "Contacts", params(FindQuery),
    responses((status = 200, description = "Found", body = Data<ContactView>),
        (status = "default", description = "An error (404: no such contact)", body = ErrorBody)))]
async fn find(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<FindQuery>,
) -> ApiResult<Json<Data<ContactView>>> {
    let email = EmailAddress::parse(&q.email).map_err(|e| {
        // Query strings decode `+` to a space, and an address never holds one.
        let hint = if q.email.trim().contains(' ') {
            "; a `+` in a query string must be sent as %2B"
        } else {
            ""
        };
        ApiError::invalid("email", format!("{e}{hint}"))
    })?;
    let contact = contacts::by_email(&state.db, &project.id, email.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no contact with email {:?} in this project",
                email.as_str()
            ))
        })?;
    Ok(ok(view(&contact)))
}

#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "Contacts", params(("id" = String, Path)),
    responses((status = 200, description = "The contact", body = Data<ContactView>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<ContactView>>> {
    let contact = fetch(&state, &project.id, &id).await?;
    Ok(ok(view(&contact)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ContactPatch)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    /// A new address; another contact's is a 409.
    email: Option<String>,
    subscribed: Option<bool>,
    /// Merged key by key; a `null` value removes the key.
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
}

/// Changes a contact; the whole body is checked before anything changes.
#[utoipa::path(patch, path = "/v1/contacts/{id}", tag = "Contacts", params(("id" = String, Path)),
    request_body = PatchBody,
    responses((status = 200, description = "The contact", body = Data<ContactView>),
        (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id, contact = %id))]
async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<PatchBody>,
) -> ApiResult<Json<Data<ContactView>>> {
    let contact = actions::contacts::update(
        &state.db,
        &project.id,
        &id,
        req.email.as_deref(),
        req.subscribed,
        req.data,
    )
    .await?;
    Ok(ok(view(&contact)))
}

/// Deletes the contact and its events (its emails stay).
#[utoipa::path(delete, path = "/v1/contacts/{id}", tag = "Contacts", params(("id" = String, Path)),
    responses((status = 200, description = "Deleted", body = Done),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    actions::contacts::delete(&state.db, &project.id, &id).await?;
    Ok(done())
}

/// The contact's events, newest first.
#[utoipa::path(get, path = "/v1/contacts/{id}/events", tag = "Contacts",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, description = "A page", body = Page<EventView>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn list_events(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<EventView>>> {
    let limit = q.limit()?;
    let contact = fetch(&state, &project.id, &id).await?;
    let rows = events::for_contact(
        &state.db,
        &project.id,
        &contact.id,
        q.cursor.as_deref(),
        limit,
    )
    .await?;
    Ok(Json(Page::new(
        rows.iter().map(event_view).collect(),
        limit,
        |v| v.id.clone(),
    )))
}
