//! Accounts: the first owner, sign-in with its throttle, invitations and passwords. Used by the
//! dashboard's set-up, sign-in and invitation pages and by `beacon user`.

use crate::domain::{EmailAddress, Password, password};
use crate::error::{ApiError, ApiResult};
use crate::store::users::{self, User};
use crate::store::{self, Db, memberships, now_ms};

/// Failed sign-ins for one address within [`THROTTLE_WINDOW_MS`] after which sign-in is refused
/// until the oldest of them leaves the window.
pub const THROTTLE_FAILURES: i64 = 5;
pub const THROTTLE_WINDOW_MS: i64 = 60_000;

pub use super::contacts::parse_email;

pub fn parse_password(raw: &str) -> ApiResult<Password> {
    Password::parse(raw).map_err(|e| ApiError::invalid("password", e.to_string()))
}

/// Hashing is deliberately slow (tens of ms): off the async threads.
async fn hash(password: Password) -> ApiResult<String> {
    Ok(tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(anyhow::Error::from)??)
}

async fn verify(raw: &str, phc: &str) -> ApiResult<bool> {
    let (raw, phc) = (raw.to_string(), phc.to_string());
    Ok(
        tokio::task::spawn_blocking(move || password::verify(&raw, &phc))
            .await
            .map_err(anyhow::Error::from)?,
    )
}

/// Creates an account with a password. The first account ever made also becomes the owner of
/// every project nobody belongs to yet (the default project of the first start). An address
/// that was invited but never set a password gets this password; one that already has an
/// account is a 409.
pub async fn create_user(db: &Db, email: &str, password: &str) -> ApiResult<User> {
    let email = parse_email(email)?;
    let hash = hash(parse_password(password)?).await?;
    if let Some(existing) = users::by_email(db, email.as_str()).await? {
        if existing.password_hash.is_some() {
            return Err(ApiError::Conflict(format!(
                "an account for {} already exists",
                email.as_str()
            )));
        }
        users::set_password(db, &existing.id, &hash).await?;
        return Ok(User {
            password_hash: Some(hash),
            ..existing
        });
    }
    let mut tx = db.begin().await?;
    let user = match users::insert(&mut tx, email.as_str(), Some(&hash)).await {
        Err(e) if store::is_unique_violation(&e) => {
            return Err(ApiError::Conflict(format!(
                "an account for {} already exists",
                email.as_str()
            )));
        }
        other => other?,
    };
    let claimed = memberships::claim_orphans(&mut tx, &user.id).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, projects_claimed = claimed, "account created");
    Ok(user)
}

/// True until the first account exists: the dashboard then offers its one-time set-up page.
pub async fn needs_setup(db: &Db) -> ApiResult<bool> {
    Ok(users::count(db).await? == 0)
}

/// Checks an address and password. After [`THROTTLE_FAILURES`] failures for one address within
/// a minute every attempt is refused (429, saying how long to wait), even a right one, so a
/// password cannot be guessed at speed; the failures are counted in the database, across nodes.
/// A wrong address and a wrong password get the same answer, in the same time.
pub async fn sign_in(db: &Db, email: &str, password: &str) -> ApiResult<User> {
    let wrong = || ApiError::Unauthorized("wrong email address or password".into());
    let Ok(email) = EmailAddress::parse(email) else {
        return Err(ApiError::invalid(
            "email",
            format!("{:?} is not an email address", email.trim()),
        ));
    };
    let now = now_ms();
    let (failures, oldest) =
        users::failures_since(db, email.as_str(), now - THROTTLE_WINDOW_MS).await?;
    if failures >= THROTTLE_FAILURES {
        let wait_ms = oldest.unwrap_or(now) + THROTTLE_WINDOW_MS - now;
        let secs = (wait_ms.max(1000) + 999) / 1000;
        return Err(ApiError::TooManyRequests {
            message: format!(
                "too many failed sign-ins for this address in the last minute: try again in {secs} seconds"
            ),
            retry_after_secs: secs as u64,
        });
    }
    let user = users::by_email(db, email.as_str()).await?;
    let phc = user
        .as_ref()
        .and_then(|u| u.password_hash.as_deref())
        .unwrap_or_else(|| password::decoy_hash());
    let ok =
        verify(password, phc).await? && user.as_ref().is_some_and(|u| u.password_hash.is_some());
    match user {
        Some(user) if ok => {
            users::clear_failures(db, email.as_str()).await?;
            Ok(user)
        }
        _ => {
            users::record_failure(db, email.as_str()).await?;
            Err(wrong())
        }
    }
}

/// Sets the password of the user an invitation link is for; the link is used up.
pub async fn accept_invitation(db: &Db, token: &str, password: &str) -> ApiResult<User> {
    let user = users::invited(db, token).await?.ok_or_else(|| {
        ApiError::NotFound("this invitation link is unknown or has expired".into())
    })?;
    let hash = hash(parse_password(password)?).await?;
    users::set_password(db, &user.id, &hash).await?;
    Ok(User {
        password_hash: Some(hash),
        ..user
    })
}

/// Sets a user's password (`beacon user password`): for a forgotten one, on the server.
pub async fn set_password(db: &Db, email: &str, password: &str) -> ApiResult<User> {
    let email = parse_email(email)?;
    let user = users::by_email(db, email.as_str())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no account for {}", email.as_str())))?;
    let hash = hash(parse_password(password)?).await?;
    users::set_password(db, &user.id, &hash).await?;
    Ok(user)
}
