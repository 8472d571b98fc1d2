//! Segments: `/v1/segments` (create, list, get, patch, delete), a segment's contacts and its
//! count. The condition grammar is in `crate::segments` and docs/API.md.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::contacts::ContactView;
use super::extract::{Json as Body, QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use super::schema::{Count, Data, Done, done, ok};
use crate::actions::segments as actions;
use crate::error::{ApiResult, ErrorBody};
use crate::segments;
use crate::startup::AppState;
use crate::store::{self, segments::Segment};
use crate::time::iso;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/segments", get(list).post(create))
        .route(
            "/v1/segments/{id}",
            get(get_one).patch(patch).delete(remove),
        )
        .route("/v1/segments/{id}/contacts", get(contacts))
        .route("/v1/segments/{id}/count", get(count))
}

/// A named condition over contacts' fields and activity (docs/API.md, "Segments").
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SegmentView {
    pub condition: Value,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub id: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn view(s: &Segment) -> SegmentView {
    SegmentView {
        condition: serde_json::from_str(&s.condition).unwrap_or(Value::Null),
        created_at: iso(s.created_at),
        id: s.id.clone(),
        name: s.name.clone(),
        updated_at: iso(s.updated_at),
    }
}

async fn fetch(state: &AppState, project_id: &str, id: &str) -> ApiResult<Segment> {
    actions::fetch(&state.db, project_id, id).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = SegmentCreate)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    /// `{"all": […]}`, `{"any": […]}`, a field rule or an activity rule.
    #[schema(value_type = Object)]
    condition: Value,
}

#[utoipa::path(post, path = "/v1/segments", tag = "Segments", request_body = CreateBody,
    responses((status = 201, description = "Created", body = Data<SegmentView>),
        (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn create(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<Data<SegmentView>>)> {
    let segment = actions::create(&state.db, &project.id, &req.name, &req.condition).await?;
    Ok((StatusCode::CREATED, ok(view(&segment))))
}

#[utoipa::path(get, path = "/v1/segments", tag = "Segments", params(PageQuery),
    responses((status = 200, description = "A page", body = Page<SegmentView>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<SegmentView>>> {
    let limit = q.limit()?;
    let rows = store::segments::list(&state.db, &project.id, q.cursor.as_deref(), limit).await?;
    Ok(Json(Page::new(
        rows.iter().map(view).collect(),
        limit,
        |v| v.id.clone(),
    )))
}

#[utoipa::path(get, path = "/v1/segments/{id}", tag = "Segments", params(("id" = String, Path)),
    responses((status = 200, description = "The segment", body = Data<SegmentView>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<SegmentView>>> {
    let segment = fetch(&state, &project.id, &id).await?;
    Ok(ok(view(&segment)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = SegmentPatch)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    name: Option<String>,
    #[schema(value_type = Option<Object>)]
    condition: Option<Value>,
}

#[utoipa::path(patch, path = "/v1/segments/{id}", tag = "Segments", params(("id" = String, Path)),
    request_body = PatchBody,
    responses((status = 200, description = "The segment", body = Data<SegmentView>),
        (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id, segment = %id))]
async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<PatchBody>,
) -> ApiResult<Json<Data<SegmentView>>> {
    let segment = actions::update(
        &state.db,
        &project.id,
        &id,
        req.name.as_deref(),
        req.condition.as_ref(),
    )
    .await?;
    Ok(ok(view(&segment)))
}

/// Deletes a segment no campaign still to go out uses (409 otherwise).
#[utoipa::path(delete, path = "/v1/segments/{id}", tag = "Segments", params(("id" = String, Path)),
    responses((status = 200, description = "Deleted", body = Done),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    actions::delete(&state.db, &project.id, &id).await?;
    Ok(done())
}

/// The matching contacts, in id order; the cursor is the last contact's id.
#[utoipa::path(get, path = "/v1/segments/{id}/contacts", tag = "Segments",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, description = "A page", body = Page<ContactView>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn contacts(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<ContactView>>> {
    let limit = q.limit()?;
    let cond = segments::stored(&fetch(&state, &project.id, &id).await?)?;
    let rows =
        segments::contacts_page(&state.db, &project.id, &cond, q.cursor.as_deref(), limit).await?;
    Ok(Json(Page::new(
        rows.iter().map(super::contacts::view).collect(),
        limit,
        |v| v.id.clone(),
    )))
}

#[utoipa::path(get, path = "/v1/segments/{id}/count", tag = "Segments", params(("id" = String, Path)),
    responses((status = 200, description = "How many contacts match now", body = Data<Count>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn count(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<Count>>> {
    let cond = segments::stored(&fetch(&state, &project.id, &id).await?)?;
    let n = segments::count(&state.db, &project.id, &cond).await?;
    Ok(ok(Count { count: n }))
}
