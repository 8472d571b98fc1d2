//! `beacon user`: the owner made headless, and a forgotten password set on the server.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{OWNER, PASSWORD, Visitor};
use crate::helpers::{Opts, fresh_database, spawn_with};

/// Runs `beacon user <args>` with `stdin` as the password: (success, stdout + stderr).
fn user(db_url: &str, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_beacon"))
        .arg("user")
        .args(args)
        .env("BEACON_DATABASE_URL", db_url)
        .env("BEACON_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

async fn sign_in(v: &Visitor, password: &str) -> u16 {
    let csrf = v.page("/login").await.csrf();
    v.post("/login", &csrf, &[("email", OWNER), ("password", password)])
        .await
        .status
        .as_u16()
}

#[tokio::test]
async fn the_owner_can_be_made_headless_and_a_password_reset_on_the_server() {
    let db_url = fresh_database().await;
    let app = spawn_with(Opts {
        db_url: Some(db_url.clone()),
        ..Default::default()
    })
    .await;
    let (ok, out) = user(
        &db_url,
        &["create", "--email", OWNER, "--password-stdin"],
        "short\n",
    );
    assert!(!ok && out.contains("at least 10 characters"), "{out}");
    let (ok, out) = user(
        &db_url,
        &["create", "--email", OWNER, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(ok, "{out}");
    let (ok, out) = user(
        &db_url,
        &["create", "--email", OWNER, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(!ok && out.contains("already exists"), "{out}");
    // Set-up is over; the account signs in and owns the default project.
    let v = Visitor::new(&app);
    assert_eq!(v.get("/setup").await.location, "/login");
    assert_eq!(sign_in(&v, PASSWORD).await, 303);
    let home = v.get("/").await.location;
    assert_eq!(
        v.page(&home).await.text("header .switcher summary"),
        "Default project"
    );
    // A new password ends every session and replaces the old one.
    let new = "an entirely new password";
    let (ok, out) = user(
        &db_url,
        &["password", "--email", OWNER, "--password-stdin"],
        &format!("{new}\n"),
    );
    assert!(ok, "{out}");
    assert_eq!(v.get(&home).await.status, 303, "signed out");
    assert_eq!(sign_in(&Visitor::new(&app), PASSWORD).await, 401);
    assert_eq!(sign_in(&Visitor::new(&app), new).await, 303);
    let (ok, out) = user(
        &db_url,
        &[
            "password",
            "--email",
            "nobody@example.com",
            "--password-stdin",
        ],
        &format!("{new}\n"),
    );
    assert!(!ok && out.contains("no account"), "{out}");
    app.stop().await;
}
