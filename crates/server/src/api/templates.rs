//! Templates: `/v1/templates` (create, list, get, patch, delete). A template's type decides
//! whether its sends are tracked in marketing-only mode and whether it needs a subscriber.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{Json as Body, QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use super::schema::{Data, Done, done, ok};
use crate::actions::templates as templates_actions;
use crate::error::{ApiResult, ErrorBody};
use crate::startup::AppState;
use crate::store::templates;
use crate::time::iso;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/templates", get(list).post(create))
        .route(
            "/v1/templates/{id}",
            get(get_one).patch(patch).delete(remove),
        )
}

/// A template: a name, a subject and a body with `{{var}}` placeholders.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    pub body: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub id: String,
    pub name: String,
    pub subject: String,
    /// `TRANSACTIONAL`, `MARKETING` or `HEADLESS`.
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

pub fn view(t: &templates::Template) -> TemplateView {
    TemplateView {
        body: t.body.clone(),
        created_at: iso(t.created_at),
        id: t.id.clone(),
        name: t.name.clone(),
        subject: t.subject.clone(),
        kind: t.kind.clone(),
        updated_at: iso(t.updated_at),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = TemplateCreate)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    /// No line breaks.
    subject: String,
    body: String,
    /// `TRANSACTIONAL` (default), `MARKETING` or `HEADLESS`, exactly so.
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[utoipa::path(post, path = "/v1/templates", tag = "Templates", request_body = CreateBody,
    responses((status = 201, description = "Created", body = Data<TemplateView>),
        (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn create(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<Data<TemplateView>>)> {
    let fields = templates_actions::Fields {
        name: Some(req.name),
        subject: Some(req.subject),
        body: Some(req.body),
        kind: req.kind,
    };
    let template = templates_actions::create(&state.db, &project.id, fields).await?;
    Ok((StatusCode::CREATED, ok(view(&template))))
}

/// The project's templates, oldest first.
#[utoipa::path(get, path = "/v1/templates", tag = "Templates", params(PageQuery),
    responses((status = 200, description = "A page", body = Page<TemplateView>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<TemplateView>>> {
    let limit = q.limit()?;
    let rows = templates::list(&state.db, &project.id, q.cursor.as_deref(), limit).await?;
    Ok(Json(Page::new(
        rows.iter().map(view).collect(),
        limit,
        |v| v.id.clone(),
    )))
}

#[utoipa::path(get, path = "/v1/templates/{id}", tag = "Templates", params(("id" = String, Path)),
    responses((status = 200, description = "The template", body = Data<TemplateView>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<TemplateView>>> {
    let template = templates_actions::fetch(&state.db, &project.id, &id).await?;
    Ok(ok(view(&template)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = TemplatePatch)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    name: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Changes the fields given; every value is checked before anything changes.
#[utoipa::path(patch, path = "/v1/templates/{id}", tag = "Templates", params(("id" = String, Path)),
    request_body = PatchBody,
    responses((status = 200, description = "The template", body = Data<TemplateView>),
        (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id, template = %id))]
async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<PatchBody>,
) -> ApiResult<Json<Data<TemplateView>>> {
    let fields = templates_actions::Fields {
        name: req.name,
        subject: req.subject,
        body: req.body,
        kind: req.kind,
    };
    let template = templates_actions::update(&state.db, &project.id, &id, fields).await?;
    Ok(ok(view(&template)))
}

/// Deletes a template no workflow sends (409 otherwise).
#[utoipa::path(delete, path = "/v1/templates/{id}", tag = "Templates", params(("id" = String, Path)),
    responses((status = 200, description = "Deleted", body = Done),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    templates_actions::delete(&state.db, &project.id, &id).await?;
    Ok(done())
}
