//! The real binary with the provider engine: invalid settings stop `serve` at once, `beacon
//! project tracking` refuses what `PATCH /v1/project` refuses, and start-up warns about a stored
//! mode the engine cannot honour.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::fresh_database;

const PROVIDER: &[(&str, &str)] = &[
    ("BEACON_TRANSPORT", "ses"),
    ("BEACON_SMTP_HOST", "127.0.0.1"),
    ("BEACON_SMTP_SECURITY", "plain"),
    ("BEACON_TRACKING_ENGINE", "provider"),
    ("BEACON_SES_CONFIGURATION_SET", "beacon-tracking"),
];

fn beacon(db_url: &str, env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_beacon"));
    c.env("BEACON_DATABASE_URL", db_url)
        .env("BEACON_LISTEN", "127.0.0.1:0")
        .env("BEACON_LOG", "warn")
        .envs(env.iter().copied());
    c
}

/// Runs a command that ends by itself: (success, stdout + stderr).
fn run(mut c: Command) -> (bool, String) {
    let out = c.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test]
async fn the_binary_refuses_unavailable_modes_and_warns_about_stored_ones() {
    let db_url = fresh_database().await;
    let db = beacon::store::Db::connect(&db_url).await.unwrap();
    beacon::store::projects::create(&db, "P").await.unwrap();
    db.close().await;

    let mut serve = beacon(&db_url, &PROVIDER[..4]);
    serve.arg("serve");
    let (ok, out) = run(serve);
    assert!(
        !ok && out.contains("needs BEACON_SES_CONFIGURATION_SET"),
        "{out}"
    );

    let mut set = beacon(&db_url, PROVIDER);
    set.args(["project", "tracking", "DISABLED"]);
    let (ok, out) = run(set);
    assert!(
        !ok && out.contains("BEACON_SES_CONFIGURATION_SET_NO_TRACKING"),
        "{out}"
    );
    // Set while Beacon tracked itself: the provider engine's start then warns.
    let mut set = beacon(&db_url, &[]);
    set.args(["project", "tracking", "DISABLED"]);
    let (ok, out) = run(set);
    assert!(ok, "{out}");

    let mut child = beacon(&db_url, PROVIDER)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("WARN") && line.contains("tracking mode") {
                let _ = tx.send(line);
            }
        }
    });
    let warning = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let warning = warning.expect("a warning at start");
    assert!(
        warning.contains("tracking mode DISABLED is unavailable")
            && warning.contains("BEACON_SES_CONFIGURATION_SET_NO_TRACKING"),
        "{warning}"
    );
}
