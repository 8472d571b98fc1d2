//! Contacts: `/v1/contacts` (upsert, list, find by email, get, patch, delete) and a contact's
//! events. Emails are parsed (lower-cased) at the edge, so a contact has one identity per address.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{Json as Body, QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use crate::actions;
use crate::domain::EmailAddress;
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

pub fn view(c: &contacts::Contact) -> Value {
    json!({
        "id": c.id,
        "email": c.email,
        "subscribed": c.subscribed != 0,
        "data": Value::Object(c.data_map()),
        "createdAt": iso(c.created_at),
        "updatedAt": iso(c.updated_at),
    })
}

fn event_view(e: &events::Event) -> Value {
    json!({
        "id": e.id,
        "name": e.name,
        "emailId": e.email_id,
        "data": serde_json::from_str::<Value>(&e.data).unwrap_or_else(|_| json!({})),
        "createdAt": iso(e.created_at),
    })
}

async fn fetch(state: &AppState, project_id: &str, id: &str) -> ApiResult<contacts::Contact> {
    contacts::get(&state.db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("contact", id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpsertBody {
    email: String,
    subscribed: Option<bool>,
    data: Option<Value>,
}

/// Creates the contact (201) or updates the one with that email (200): `subscribed` is set
/// when given, `data` is merged key by key (a `null` value removes the key).
#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn upsert(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<UpsertBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (contact, created) =
        actions::contacts::upsert(&state.db, &project.id, &req.email, req.subscribed, req.data)
            .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({ "success": true, "data": view(&contact) })),
    ))
}

async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let limit = q.limit()?;
    let rows = contacts::list(&state.db, &project.id, q.cursor.as_deref(), limit).await?;
    Ok(Json(Page::of_views(
        rows.iter().map(view).collect(),
        limit,
        "id",
    )))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindQuery {
    email: String,
}

async fn find(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<FindQuery>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({ "success": true, "data": view(&contact) })))
}

async fn get_one(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let contact = fetch(&state, &project.id, &id).await?;
    Ok(Json(json!({ "success": true, "data": view(&contact) })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    email: Option<String>,
    subscribed: Option<bool>,
    data: Option<Value>,
}

#[tracing::instrument(skip_all, fields(project = %project.id, contact = %id))]
async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<PatchBody>,
) -> ApiResult<Json<Value>> {
    let contact = actions::contacts::update(
        &state.db,
        &project.id,
        &id,
        req.email.as_deref(),
        req.subscribed,
        req.data,
    )
    .await?;
    Ok(Json(json!({ "success": true, "data": view(&contact) })))
}

async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    actions::contacts::delete(&state.db, &project.id, &id).await?;
    Ok(Json(json!({ "success": true })))
}

/// The contact's events, newest first.
async fn list_events(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
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
    Ok(Json(Page::of_views(
        rows.iter().map(event_view).collect(),
        limit,
        "id",
    )))
}
