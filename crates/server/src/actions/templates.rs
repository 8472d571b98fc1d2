//! Templates: the rules `/v1/templates` and the dashboard's template pages share. A template's
//! type decides whether its sends are tracked in marketing-only mode and whether they carry an
//! unsubscribe link (`beacon_tracking::policy`).

use std::str::FromStr;

use beacon_tracking::policy::TemplateType;

use crate::error::{ApiError, ApiResult};
use crate::store::templates::{self, Template};
use crate::store::{self, Db};

pub fn parse_type(raw: &str) -> ApiResult<TemplateType> {
    // The parse error lists the valid names: TRANSACTIONAL, MARKETING, HEADLESS.
    TemplateType::from_str(raw).map_err(|e| ApiError::invalid("type", e.to_string()))
}

/// The subject becomes a header, so a line break in it could inject other headers.
pub fn check_subject(subject: &str) -> ApiResult<()> {
    if subject.trim().is_empty() {
        return Err(ApiError::invalid("subject", "the subject is empty"));
    }
    if subject.contains(['\r', '\n']) {
        return Err(ApiError::invalid(
            "subject",
            "the subject may not contain line breaks",
        ));
    }
    Ok(())
}

pub fn check_body(body: &str) -> ApiResult<()> {
    if body.trim().is_empty() {
        return Err(ApiError::invalid("body", "the body is empty"));
    }
    Ok(())
}

/// What a template change gives; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Fields {
    pub name: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub kind: Option<String>,
}

impl Fields {
    /// Checks every field before anything changes.
    fn check(&self) -> ApiResult<Option<TemplateType>> {
        if let Some(name) = &self.name {
            super::check_name(name)?;
        }
        if let Some(subject) = &self.subject {
            check_subject(subject)?;
        }
        if let Some(body) = &self.body {
            check_body(body)?;
        }
        self.kind.as_deref().map(parse_type).transpose()
    }
}

/// A new template (TRANSACTIONAL unless a type is given); name, subject and body are required.
pub async fn create(db: &Db, project_id: &str, f: Fields) -> ApiResult<Template> {
    for (field, missing) in [
        ("name", f.name.is_none()),
        ("subject", f.subject.is_none()),
        ("body", f.body.is_none()),
    ] {
        if missing {
            return Err(ApiError::invalid(field, format!("`{field}` is required")));
        }
    }
    let kind = f.check()?.unwrap_or(TemplateType::Transactional);
    let now = store::now_ms();
    let template = Template {
        id: store::new_id(),
        project_id: project_id.to_string(),
        name: f.name.unwrap_or_default(),
        subject: f.subject.unwrap_or_default(),
        body: f.body.unwrap_or_default(),
        kind: kind.as_str().to_string(),
        created_at: now,
        updated_at: now,
    };
    templates::insert(db, &template).await?;
    Ok(template)
}

/// The project's template, or a 404.
pub async fn fetch(db: &Db, project_id: &str, id: &str) -> ApiResult<Template> {
    templates::get(db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("template", id))
}

/// Changes a template; the next sends use it (emails already queued keep what they were).
pub async fn update(db: &Db, project_id: &str, id: &str, f: Fields) -> ApiResult<Template> {
    let kind = f.check()?;
    let mut template = fetch(db, project_id, id).await?;
    if f.name.is_none() && f.subject.is_none() && f.body.is_none() && kind.is_none() {
        return Ok(template);
    }
    template.name = f.name.unwrap_or(template.name);
    template.subject = f.subject.unwrap_or(template.subject);
    template.body = f.body.unwrap_or(template.body);
    if let Some(kind) = kind {
        template.kind = kind.as_str().to_string();
    }
    templates::update(db, &template).await?;
    // Read back for the stored `updatedAt`; a concurrent delete makes it a 404.
    fetch(db, project_id, id).await
}

/// Deletes a template no workflow uses (409 otherwise).
pub async fn delete(db: &Db, project_id: &str, id: &str) -> ApiResult<()> {
    crate::workflows::ensure_template_unused(db, project_id, id).await?;
    if !templates::delete(db, project_id, id).await? {
        return Err(ApiError::not_found("template", id));
    }
    Ok(())
}

/// What a template's type means, in a sentence for the person choosing it.
pub fn meaning(kind: TemplateType) -> &'static str {
    match kind {
        TemplateType::Transactional => {
            "one person's message (receipt, password reset): sent to anyone, with no unsubscribe \
             link; not tracked in Marketing-only mode"
        }
        TemplateType::Marketing => {
            "a message to many: sent only to subscribed contacts, with their unsubscribe link and \
             one-click unsubscribe headers; tracked in Marketing-only mode"
        }
        TemplateType::Headless => {
            "marketing content you lay out yourself: like MARKETING (subscribers, unsubscribe \
             link and headers, tracked in Marketing-only mode)"
        }
    }
}
