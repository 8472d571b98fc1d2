//! Creating and changing contacts, for `/v1/contacts` and the dashboard's contact pages.

use serde_json::{Map, Value, json};

use crate::domain::EmailAddress;
use crate::error::{ApiError, ApiResult};
use crate::store::contacts::{self, Changes, Contact};
use crate::store::{self, Db, Tx, events};

pub fn parse_email(raw: &str) -> ApiResult<EmailAddress> {
    EmailAddress::parse(raw).map_err(|e| ApiError::invalid("email", e.to_string()))
}

/// `data` is optional, but when given it must be an object (`null` means "not given").
pub fn data_object(data: Option<Value>) -> ApiResult<Option<Map<String, Value>>> {
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

/// Creates the contact for `email`, or updates the one that has it: `subscribed` is set when
/// given (a new contact has not opted in unless told so), `data` is merged key by key (a `null`
/// value removes the key). Returns the contact and whether it was created.
pub async fn upsert(
    db: &Db,
    project_id: &str,
    email: &str,
    subscribed: Option<bool>,
    data: Option<Value>,
) -> ApiResult<(Contact, bool)> {
    let email = parse_email(email)?;
    let changes = Changes {
        subscribed,
        data: data_object(data)?,
    };
    let mut tx = db.begin().await?;
    let before = contacts::by_email_tx(&mut tx, project_id, email.as_str()).await?;
    let (contact, created) =
        contacts::upsert(&mut tx, project_id, email.as_str(), &changes, false).await?;
    record_change(&mut tx, before.map(|b| b.subscribed != 0), &contact).await?;
    tx.commit().await?;
    Ok((contact, created))
}

/// Records `contact.subscribed` or `contact.unsubscribed` when a sender's change (the API, the
/// dashboard) moved the contact's subscription, so workflows can start on it ("welcome email on
/// subscribe"). `before` is `None` for a new contact: created subscribed counts as subscribing.
/// Implicit creations (`/v1/send`, `/v1/track`) record nothing; the unsubscribe page records
/// its own event.
async fn record_change(tx: &mut Tx, before: Option<bool>, contact: &Contact) -> ApiResult<()> {
    let now = contact.subscribed != 0;
    if before.unwrap_or(false) == now {
        return Ok(());
    }
    let name = if now {
        "contact.subscribed"
    } else {
        "contact.unsubscribed"
    };
    events::insert(
        tx,
        events::NewEvent {
            project_id: &contact.project_id,
            contact_id: &contact.id,
            email_id: None,
            name,
            data: json!({}),
            meta: events::Meta::default(),
        },
    )
    .await?;
    Ok(())
}

/// Changes a contact's address, subscription or data (merged as in [`upsert`]). 404 when the
/// project has no such contact, 409 when another contact already has the new address.
pub async fn update(
    db: &Db,
    project_id: &str,
    id: &str,
    email: Option<&str>,
    subscribed: Option<bool>,
    data: Option<Value>,
) -> ApiResult<Contact> {
    // Check everything before touching anything.
    let email = email.map(parse_email).transpose()?;
    let changes = Changes {
        subscribed,
        data: data_object(data)?,
    };
    let new_email = email.as_ref().map(EmailAddress::as_str);
    let before = match subscribed {
        Some(_) => contacts::get(db, project_id, id).await?,
        None => None,
    };
    match contacts::patch(db, project_id, id, new_email, &changes).await {
        Ok(Some(contact)) => {
            if let Some(before) = before {
                let mut tx = db.begin().await?;
                record_change(&mut tx, Some(before.subscribed != 0), &contact).await?;
                tx.commit().await?;
            }
            Ok(contact)
        }
        Ok(None) => Err(ApiError::not_found("contact", id)),
        Err(e) if store::is_unique_violation(&e) => {
            let email = new_email.unwrap_or_default();
            let other = contacts::by_email(db, project_id, email).await?;
            Err(ApiError::Conflict(format!(
                "another contact ({}) already has the email {email:?}; delete or change that one first",
                other.map(|o| o.id).as_deref().unwrap_or("?")
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// Deletes a contact and its events (its emails stay: they were sent). 404 when not found.
pub async fn delete(db: &Db, project_id: &str, id: &str) -> ApiResult<()> {
    if contacts::delete(db, project_id, id).await? {
        Ok(())
    } else {
        Err(ApiError::not_found("contact", id))
    }
}
