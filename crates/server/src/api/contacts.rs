//! Contacts: `/v1/contacts` (upsert, list, find by email, get, patch, delete) and a contact's
//! events. Emails are parsed (lower-cased) at the edge, so a contact has one identity per address.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::extract::{Json as Body, QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use crate::domain::EmailAddress;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{self, contacts, events};
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

fn parse_email(raw: &str) -> ApiResult<EmailAddress> {
    EmailAddress::parse(raw).map_err(|e| ApiError::invalid("email", e.to_string()))
}

/// `data` is optional, but when given it must be an object (`null` means "not given").
fn data_object(data: Option<Value>) -> ApiResult<Option<Map<String, Value>>> {
    match data {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(ApiError::invalid(
            "data",
            format!(
                "data must be a JSON object of keys to values, not {}",
                kind_of(&other)
            ),
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
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
    let email = parse_email(&req.email)?;
    let changes = contacts::Changes {
        subscribed: req.subscribed,
        data: data_object(req.data)?,
    };
    let mut tx = state.db.begin().await?;
    // A contact made here has not opted in unless the caller says so.
    let (contact, created) =
        contacts::upsert(&mut tx, &project.id, email.as_str(), &changes, false).await?;
    tx.commit().await?;
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
    // Check the whole body before touching anything.
    let email = req.email.as_deref().map(parse_email).transpose()?;
    let data = data_object(req.data)?;
    let changes = contacts::Changes {
        subscribed: req.subscribed,
        data,
    };
    match contacts::patch(
        &state.db,
        &project.id,
        &id,
        email.as_ref().map(|e| e.as_str()),
        &changes,
    )
    .await
    {
        Ok(Some(contact)) => Ok(Json(json!({ "success": true, "data": view(&contact) }))),
        Ok(None) => Err(ApiError::not_found("contact", &id)),
        Err(e) if store::is_unique_violation(&e) => {
            let email = email.map(|e| e.into_string()).unwrap_or_default();
            let other = contacts::by_email(&state.db, &project.id, &email).await?;
            Err(clash(&email, other.map(|o| o.id).as_deref().unwrap_or("?")))
        }
        Err(e) => Err(e.into()),
    }
}

fn clash(email: &str, other_id: &str) -> ApiError {
    ApiError::Conflict(format!(
        "another contact ({other_id}) already has the email {email:?}; delete or change that one first"
    ))
}

async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    if !contacts::delete(&state.db, &project.id, &id).await? {
        return Err(ApiError::not_found("contact", &id));
    }
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
