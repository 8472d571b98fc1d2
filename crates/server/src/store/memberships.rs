//! Who belongs to which project, with which role.

use sqlx::AssertSqlSafe;

use super::projects::Project;
use super::{Db, Tx, now_ms};

/// A project as one of its members sees it in lists: the project and the member's role.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectRole {
    #[sqlx(flatten)]
    pub project: Project,
    pub role: String,
}

/// A member of a project as the Team page lists them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: String,
    /// False while an invitation has not been accepted.
    pub active: i64,
    pub created_at: i64,
}

/// `projects`' columns, qualified: a project row read with its membership.
fn project_columns() -> String {
    format!(
        "p.id, p.name, p.secret_key, p.public_key, p.tracking_mode, p.created_at, p.utm, \
         p.track_text_links, {}",
        super::projects::tracking_url_column("p")
    )
}

pub async fn add(
    tx: &mut Tx,
    project_id: &str,
    user_id: &str,
    role: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO memberships (project_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(project_id)
    .bind(user_id)
    .bind(role)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Makes `user_id` the owner of every project that has no member (the projects made before
/// anyone had an account: the first start's default project).
pub async fn claim_orphans(tx: &mut Tx, user_id: &str) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO memberships (project_id, user_id, role, created_at) \
         SELECT p.id, $1, 'OWNER', $2 FROM projects p \
         WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.project_id = p.id)",
    )
    .bind(user_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// The project `project_id` with the user's role in it, when the user is a member.
pub async fn project_for(
    db: &Db,
    user_id: &str,
    project_id: &str,
) -> Result<Option<ProjectRole>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {}, m.role FROM memberships m JOIN projects p ON p.id = m.project_id \
         WHERE m.user_id = $1 AND m.project_id = $2",
        project_columns()
    )))
    .bind(user_id)
    .bind(project_id)
    .fetch_optional(&db.read)
    .await
}

/// The user's projects, oldest first.
pub async fn projects_of(db: &Db, user_id: &str) -> Result<Vec<ProjectRole>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {}, m.role FROM memberships m JOIN projects p ON p.id = m.project_id \
         WHERE m.user_id = $1 ORDER BY p.created_at, p.id",
        project_columns()
    )))
    .bind(user_id)
    .fetch_all(&db.read)
    .await
}

/// The project's members, owners first.
pub async fn members(db: &Db, project_id: &str) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id AS user_id, u.email, m.role, \
         CASE WHEN u.password_hash IS NULL THEN 0 ELSE 1 END AS active, m.created_at \
         FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 \
         ORDER BY CASE m.role WHEN 'OWNER' THEN 0 WHEN 'ADMIN' THEN 1 ELSE 2 END, u.email",
    )
    .bind(project_id)
    .fetch_all(&db.read)
    .await
}

/// The member's role, read inside a transaction that is about to change the team.
pub async fn role_tx(
    tx: &mut Tx,
    project_id: &str,
    user_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT role FROM memberships WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await
}

/// How many owners the project has, read inside the transaction that changes the team.
pub async fn owners_tx(tx: &mut Tx, project_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE project_id = $1 AND role = 'OWNER'")
        .bind(project_id)
        .fetch_one(&mut **tx)
        .await
}

pub async fn set_role(
    tx: &mut Tx,
    project_id: &str,
    user_id: &str,
    role: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE memberships SET role = $1 WHERE project_id = $2 AND user_id = $3")
        .bind(role)
        .bind(project_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn remove(tx: &mut Tx, project_id: &str, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM memberships WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
