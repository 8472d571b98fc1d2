//! A project's team: adding members by address, changing roles, removing members. Owners and
//! admins manage the team; only owners make or unmake owners; a project always keeps an owner.

use crate::domain::{EmailAddress, Role};
use crate::error::{ApiError, ApiResult};
use crate::store::users::{self, User};
use crate::store::{Db, Tx, memberships, now_ms};

/// How long an invitation link stays valid.
pub const INVITATION_MS: i64 = 7 * 86_400_000;

/// What adding a member did: when the address had no account, one was made and this is the
/// link (its token) where the person sets a password.
pub struct Added {
    pub user: User,
    pub invitation: Option<String>,
}

fn parse_role(raw: &str) -> ApiResult<Role> {
    raw.parse::<Role>()
        .map_err(|e| ApiError::invalid("role", e.to_string()))
}

fn may_grant(actor: Role, role: Role) -> ApiResult<()> {
    if !actor.can_manage() {
        return Err(ApiError::invalid(
            "role",
            "only owners and admins manage the team",
        ));
    }
    if role == Role::Owner && actor != Role::Owner {
        return Err(ApiError::invalid("role", "only an owner can make an owner"));
    }
    Ok(())
}

/// Takes the project's row lock, so two team changes on PostgreSQL apply one after the other
/// and cannot together remove the last owner (a no-op write is the portable row lock).
async fn lock(tx: &mut Tx, project_id: &str) -> ApiResult<()> {
    sqlx::query("UPDATE projects SET name = name WHERE id = $1")
        .bind(project_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Adds the person with this address to the project with `role`. `actor` is the role of the
/// one adding.
pub async fn add(
    db: &Db,
    project_id: &str,
    actor: Role,
    email: &str,
    role: &str,
) -> ApiResult<Added> {
    let email =
        EmailAddress::parse(email).map_err(|e| ApiError::invalid("email", e.to_string()))?;
    let role = parse_role(role)?;
    may_grant(actor, role)?;
    let mut tx = db.begin().await?;
    lock(&mut tx, project_id).await?;
    let user = match users::by_email(db, email.as_str()).await? {
        Some(user) => user,
        None => users::insert(&mut tx, email.as_str(), None).await?,
    };
    // Someone without a password yet (new, or invited before and not signed up) gets a link.
    let invitation = match user.password_hash {
        None => Some(users::invite(&mut tx, &user.id, now_ms() + INVITATION_MS).await?),
        Some(_) => None,
    };
    if memberships::role_tx(&mut tx, project_id, &user.id)
        .await?
        .is_some()
    {
        return Err(ApiError::invalid(
            "email",
            format!("{} is already a member of this project", email.as_str()),
        ));
    }
    memberships::add(&mut tx, project_id, &user.id, role.as_str()).await?;
    tx.commit().await?;
    Ok(Added { user, invitation })
}

/// The member's current role, checked against what `actor` may touch.
async fn target(tx: &mut Tx, project_id: &str, actor: Role, user_id: &str) -> ApiResult<Role> {
    let current = memberships::role_tx(tx, project_id, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such member in this project".into()))?;
    let current: Role = current
        .parse()
        .map_err(|e: crate::domain::RoleError| anyhow::anyhow!(e))?;
    may_grant(actor, current)?;
    Ok(current)
}

async fn keeps_an_owner(tx: &mut Tx, project_id: &str, losing: Role) -> ApiResult<()> {
    if losing == Role::Owner && memberships::owners_tx(tx, project_id).await? <= 1 {
        return Err(ApiError::invalid(
            "role",
            "the project's only owner cannot leave that role: make someone else an owner first",
        ));
    }
    Ok(())
}

/// Gives a member another role.
pub async fn set_role(
    db: &Db,
    project_id: &str,
    actor: Role,
    user_id: &str,
    role: &str,
) -> ApiResult<()> {
    let role = parse_role(role)?;
    may_grant(actor, role)?;
    let mut tx = db.begin().await?;
    lock(&mut tx, project_id).await?;
    let current = target(&mut tx, project_id, actor, user_id).await?;
    if current != role {
        keeps_an_owner(&mut tx, project_id, current).await?;
        memberships::set_role(&mut tx, project_id, user_id, role.as_str()).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Removes a member from the project (their account stays).
pub async fn remove(db: &Db, project_id: &str, actor: Role, user_id: &str) -> ApiResult<()> {
    let mut tx = db.begin().await?;
    lock(&mut tx, project_id).await?;
    let current = target(&mut tx, project_id, actor, user_id).await?;
    keeps_an_owner(&mut tx, project_id, current).await?;
    memberships::remove(&mut tx, project_id, user_id).await?;
    tx.commit().await?;
    Ok(())
}
