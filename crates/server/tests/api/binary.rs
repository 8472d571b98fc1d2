//! The real `beacon` binary: answered hits survive `kill -9`, and the CLI reads and sets the
//! tracking mode.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::fresh_database;
use crate::tracking::BROWSER;

struct Server {
    child: Child,
    base: String,
    key: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `beacon serve` and reads the secret key from its first-start banner.
async fn start(db_url: &str, extra: &[(&str, &str)]) -> Server {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_beacon"))
        .arg("serve")
        .env("BEACON_DATABASE_URL", db_url)
        .env("BEACON_LISTEN", format!("127.0.0.1:{port}"))
        .env("BEACON_LOG", "warn")
        .envs(extra.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("beacon binary starts");
    let stdout = child.stdout.take().unwrap();
    // Read the banner for the key, then keep draining stdout so the server never writes to a
    // closed pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(k) = line.split_whitespace().find(|w| w.starts_with("sk_")) {
                let _ = tx.send(k.to_string());
            }
        }
    });
    let key = tokio::task::spawn_blocking(move || {
        rx.recv_timeout(Duration::from_secs(30))
            .expect("banner names the secret key")
    })
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{base}/health"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return Server { child, base, key };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("beacon did not become healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answered_hit_is_lost_to_kill_dash_9() {
    let db_url = fresh_database().await;
    // A long ingest bound: every answer below means "committed".
    let mut server = start(
        &db_url,
        &[
            ("BEACON_INGEST_WAIT_MS", "60000"),
            ("BEACON_MACHINE_MIN_SECS", "0"),
        ],
    )
    .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut urls = Vec::new();
    for i in 0..10 {
        let r: Value = client
            .post(format!("{}/v1/send", server.base))
            .bearer_auth(&server.key)
            .json(&json!({ "to": format!("k{i}@example.com"), "subject": "s", "body": "<a href=\"https://example.com/x\">x</a>" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["data"]["emails"][0]["email"].as_str().unwrap();
        let email: Value = client
            .get(format!("{}/v1/emails/{id}", server.base))
            .bearer_auth(&server.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let html = email["data"]["html"].as_str().unwrap();
        for path in ["/o/", "/c/"] {
            let at = html.find(&format!("{}{path}", server.base)).unwrap();
            urls.push(html[at..].split('"').next().unwrap().to_string());
        }
    }

    let answered = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (client, urls, answered, sent, stop) = (
            client.clone(),
            urls.clone(),
            answered.clone(),
            sent.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = t;
            // Bounded: stops when told, or after 20,000 requests, whichever is first.
            for _ in 0..20_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let url = &urls[i % urls.len()];
                i += 7;
                sent.fetch_add(1, Ordering::Relaxed);
                match client.get(url).header("user-agent", BROWSER).send().await {
                    Ok(r) if r.status() == 200 || r.status() == 302 => {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => panic!("unexpected {}", r.status()),
                    Err(_) => break, // the server is gone
                }
            }
        }));
    }
    // Kill it mid-load, once it has answered a good number of hits.
    for _ in 0..1200 {
        if answered.load(Ordering::Relaxed) >= 2000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let answered = answered.load(Ordering::Relaxed);
    assert!(answered >= 2000, "the load ran ({answered} answered)");

    // Answered hits the killed server had not folded yet are in the backlog; a restart folds
    // them (each once: the events can be no more than the hits the server ever received).
    let db = beacon::store::Db::connect(&db_url).await.unwrap();
    let pending = beacon::tracking::ingest::pending(&db).await.unwrap();
    db.close().await;
    let restarted = restart(&db_url).await;
    let mut left = pending;
    for _ in 0..600 {
        left = reqwest::get(format!("{}/metrics", restarted.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("beacon_tracking_hits_pending "))
            .unwrap()
            .parse()
            .unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "the restarted server folds the backlog");
    let db = beacon::store::Db::connect(&db_url).await.unwrap();
    let recorded: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE name IN ('email.open', 'email.click')",
    )
    .fetch_one(&db.read)
    .await
    .unwrap();
    db.close().await;
    println!(
        "kill -9 under load: {answered} hits answered, {pending} of them in the backlog, \
         {recorded} recorded after the restart"
    );
    assert!(
        recorded as u64 >= answered,
        "{answered} hits answered but only {recorded} recorded"
    );
    assert!(
        recorded as u64 <= sent.load(Ordering::Relaxed),
        "{recorded} recorded from {} requests: a hit was counted twice",
        sent.load(Ordering::Relaxed)
    );
}

/// A server started by [`restart`], killed when dropped.
struct Restarted {
    child: Child,
    base: String,
}

impl Drop for Restarted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `beacon serve` again on an existing database (no first-start banner), once healthy.
async fn restart(db_url: &str) -> Restarted {
    let port = free_port();
    let server = Restarted {
        child: Command::new(env!("CARGO_BIN_EXE_beacon"))
            .arg("serve")
            .env("BEACON_DATABASE_URL", db_url)
            .env("BEACON_LISTEN", format!("127.0.0.1:{port}"))
            .env("BEACON_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("beacon binary starts"),
        base: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if reqwest::get(format!("{}/health", server.base))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("beacon did not restart");
}

#[tokio::test]
async fn the_cli_reads_and_sets_the_tracking_mode() {
    let db_url = fresh_database().await;
    let mut server = start(&db_url, &[]).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_beacon"))
            .args(args)
            .env("BEACON_DATABASE_URL", &db_url)
            .env("BEACON_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = cli(&["project", "list"]);
    assert!(ok && out.contains("tracking=ENABLED"), "{out}");
    let (ok, out) = cli(&["project", "tracking", "MARKETING_ONLY"]);
    assert!(ok, "{out}");
    let (_, out) = cli(&["project", "list"]);
    assert!(out.contains("tracking=MARKETING_ONLY"), "{out}");
    let (ok, out) = cli(&["project", "tracking", "SOMETIMES"]);
    assert!(
        !ok && out.contains("MARKETING_ONLY"),
        "an unknown mode lists the valid ones: {out}"
    );
    let (ok, out) = cli(&["--help"]);
    assert!(
        ok && out.contains("serve") && out.contains("outbox"),
        "{out}"
    );
}

/// The key id inside a sealed token (its second byte).
fn key_id(url: &str) -> u8 {
    use base64::Engine;
    let token = url.rsplit('/').next().unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .unwrap()[1]
}

#[tokio::test]
async fn after_keys_rotate_new_links_use_the_new_key_and_old_links_keep_working() {
    use crate::helpers::{Opts, spawn_app, spawn_with};
    use crate::tracking::{hit, send_one, tracking_urls};
    let app = spawn_app().await;
    let body = json!({ "to": "k@example.com", "subject": "s", "body": "<a href=\"https://example.com/old\">x</a>" });
    let (old, _) = send_one(&app, body.clone()).await;
    let old_link = tracking_urls(&app, old["html"].as_str().unwrap(), "/c/").remove(0);
    let db_url = app.db_url.clone();
    app.stop().await;

    let out = Command::new(env!("CARGO_BIN_EXE_beacon"))
        .args(["keys", "rotate"])
        .env("BEACON_DATABASE_URL", &db_url)
        .env("BEACON_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("key 2"));

    let app = spawn_with(Opts {
        db_url: Some(db_url),
        ..Opts::default()
    })
    .await;
    // The old link was sealed with key 1 and the server on another port: rebase it.
    let old_link = format!("{}/c/{}", app.base, old_link.rsplit('/').next().unwrap());
    let r = hit(&app, &old_link, BROWSER).await;
    assert_eq!(
        r.status(),
        302,
        "links sealed with an older key keep working"
    );
    assert_eq!(r.headers()["location"], "https://example.com/old");
    let (new, _) = send_one(&app, body).await;
    let new_link = tracking_urls(&app, new["html"].as_str().unwrap(), "/c/").remove(0);
    assert_eq!((key_id(&old_link), key_id(&new_link)), (1, 2));
    app.stop().await;
}

/// Reading an outbox or the projects of a SQLite file that is not there says so, and creates
/// nothing (it used to make an empty database and print nothing).
#[test]
fn management_commands_refuse_a_missing_database() {
    let dir = std::env::temp_dir().join(format!("beacon-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("nothing-here.db");
    for args in [["outbox", "list"], ["project", "list"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_beacon"))
            .args(args)
            .env(
                "BEACON_DATABASE_URL",
                format!("sqlite://{}", file.display()),
            )
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no database at"), "{args:?}: {err}");
        assert!(!file.exists(), "{args:?} created {}", file.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
