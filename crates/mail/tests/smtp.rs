//! SmtpPool against the in-process SmtpSink (feature `sink`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use beacon_mail::sink::SmtpSink;
use beacon_mail::{
    Mailbox, OutgoingMessage, Security, SmtpAccepted, SmtpConfig, SmtpError, SmtpPool, build,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

fn pool_for(sink: &SmtpSink, size: usize) -> SmtpPool {
    let mut config = SmtpConfig::new("127.0.0.1", sink.port(), Security::Plain);
    config.pool_size = size;
    config.timeout = Duration::from_secs(5);
    config.hello_name = "beacon.test".into();
    SmtpPool::new(config)
}

fn message(i: usize) -> Vec<u8> {
    build(&OutgoingMessage {
        message_id: format!("msg-{i}@beacon.test"),
        from: Mailbox::new("news@beacon.test").with_name("Beacon"),
        to: vec![Mailbox::new(format!("user{i}@example.org"))],
        reply_to: None,
        subject: format!("Message {i}"),
        // A line starting with a dot exercises dot-stuffing end to end.
        html: None,
        text: Some(format!("Hello {i}\n.leading dot\n..two dots\n")),
        headers: vec![],
        attachments: vec![],
        date: 1_700_000_000,
    })
    .unwrap()
}

fn rcpt(i: usize) -> Vec<String> {
    vec![format!("user{i}@example.org")]
}

/// Sends message `i` to its own recipient.
async fn send(pool: &SmtpPool, i: usize) -> Result<SmtpAccepted, SmtpError> {
    pool.send("b@beacon.test", &rcpt(i), &message(i)).await
}

/// Starts a sink on the address of one just dropped; its old listener closes asynchronously.
async fn restart(addr: std::net::SocketAddr) -> SmtpSink {
    for _ in 0..100 {
        if let Ok(sink) = SmtpSink::bind(addr).await {
            return sink;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("could not rebind the sink's port {addr}");
}

#[tokio::test]
async fn delivers_one_message_byte_exact() {
    let sink = SmtpSink::start().await;
    let pool = pool_for(&sink, 4);
    let raw = message(1);
    let accepted = pool
        .send("bounce@beacon.test", &rcpt(1), &raw)
        .await
        .unwrap();
    assert!(accepted.reply.starts_with("250 "), "{}", accepted.reply);
    assert!(
        accepted.reply.contains("queued as SINK1"),
        "{}",
        accepted.reply
    );

    let got = sink.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].mail_from, "bounce@beacon.test");
    assert_eq!(got[0].rcpt_to, ["user1@example.org"]);
    assert_eq!(
        got[0].data, raw,
        "sink must receive exactly the built bytes"
    );
}

#[tokio::test]
async fn lines_starting_with_a_dot_and_non_utf8_data_arrive_byte_exact() {
    let sink = SmtpSink::start().await;
    let pool = pool_for(&sink, 1);
    // Written by hand: a dot opening the message, a lone dot (the end marker if unstuffed),
    // two dots, and a message without its final CRLF.
    let cases: [&[u8]; 4] = [
        b".first\r\n\r\n.\r\n..two\r\nend.\r\n",
        b"Subject: x\r\n\r\n.\r\n",
        b"Subject: x\r\n\r\nno final line break",
        // Not UTF-8: goes through lettre's own encoder.
        b"Subject: x\r\n\r\n\xff\xfe\r\n.\xff\r\n",
    ];
    for raw in cases {
        pool.send("a@beacon.test", &rcpt(1), raw).await.unwrap();
    }
    let got = sink.wait_for(cases.len(), WAIT).await;
    assert_eq!(got.len(), cases.len());
    assert_eq!(got[0].data, cases[0]);
    assert_eq!(got[1].data, cases[1]);
    assert_eq!(got[2].data, b"Subject: x\r\n\r\nno final line break\r\n");
    assert_eq!(got[3].data, cases[3]);
    assert_eq!(
        sink.connections_accepted(),
        1,
        "one connection for all four"
    );
}

#[tokio::test]
async fn null_sender_and_several_recipients() {
    let sink = SmtpSink::start().await;
    let pool = pool_for(&sink, 1);
    let to = vec!["a@example.org".to_string(), "b@example.org".to_string()];
    pool.send("", &to, &message(2)).await.unwrap();
    let got = sink.wait_for(1, WAIT).await;
    assert_eq!(got[0].mail_from, "");
    assert_eq!(got[0].rcpt_to, to);
}

#[tokio::test]
async fn invalid_envelope_address_is_permanent() {
    let sink = SmtpSink::start().await;
    let pool = pool_for(&sink, 1);
    let err = pool
        .send("a@example.org", &["not an address".into()], b"x\r\n")
        .await
        .unwrap_err();
    assert!(matches!(err, SmtpError::InvalidAddress(_)), "{err}");
    assert!(err.is_permanent());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_messages_reuse_pooled_connections() {
    let sink = SmtpSink::start().await;
    let pool = pool_for(&sink, 4);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let pool = pool.clone();
        tasks.spawn(async move { send(&pool, i).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let got = sink.wait_for(200, WAIT).await;
    assert_eq!(got.len(), 200);
    let mut ids: Vec<_> = got
        .iter()
        .map(|m| m.rcpt_to[0].clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 200, "every message exactly once");
    assert!(
        sink.connections_accepted() <= 4,
        "pool_size 4 must mean at most 4 connections, saw {}",
        sink.connections_accepted()
    );
    assert_eq!(pool.idle_connections(), sink.connections_accepted());
}

#[tokio::test]
async fn sequential_sends_use_one_connection() {
    let sink = SmtpSink::start().await;
    let pool = pool_for(&sink, 4);
    for i in 0..10 {
        send(&pool, i).await.unwrap();
    }
    assert_eq!(sink.connections_accepted(), 1);
    assert_eq!(sink.messages().len(), 10);
}

#[tokio::test]
async fn reply_4xx_is_transient_and_5xx_permanent() {
    let sink = SmtpSink::start().await;
    let pool = pool_for(&sink, 2);
    sink.fail_next(1, "451 4.3.0 try later");
    sink.fail_next(1, "550 5.1.1 no such user");

    let err = send(&pool, 1).await.unwrap_err();
    assert!(!err.is_permanent(), "{err}");
    assert_eq!(err.code(), Some(451));
    assert!(err.to_string().contains("try later"), "{err}");

    let err = send(&pool, 2).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert_eq!(err.code(), Some(550));
    assert!(
        matches!(&err, SmtpError::Permanent { message, .. } if message.contains("no such user"))
    );

    // Failures are not stored; the next message goes through on a fresh connection.
    let ok = send(&pool, 3).await.unwrap();
    assert!(ok.reply.starts_with("250"));
    let got = sink.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_to, rcpt(3));
}

#[tokio::test]
async fn the_accepting_reply_can_be_set_like_amazon_ses() {
    let sink = SmtpSink::start().await;
    let pool = pool_for(&sink, 1);
    sink.set_accept_reply("250 Ok 0100018c-{id}-000000");
    assert_eq!(
        send(&pool, 1).await.unwrap().reply,
        "250 Ok 0100018c-1-000000"
    );
    assert_eq!(
        send(&pool, 2).await.unwrap().reply,
        "250 Ok 0100018c-2-000000"
    );
    assert_eq!(sink.messages().len(), 2);
}

#[tokio::test]
async fn dropped_connections_are_replaced() {
    let sink = SmtpSink::start().await;
    let pool = pool_for(&sink, 2);
    send(&pool, 1).await.unwrap();
    assert_eq!(pool.idle_connections(), 1);

    sink.drop_connections();
    tokio::time::sleep(Duration::from_millis(50)).await;
    send(&pool, 2).await.unwrap();
    assert_eq!(sink.connections_accepted(), 2);
    assert_eq!(sink.wait_for(2, WAIT).await.len(), 2);
}

#[tokio::test]
async fn pool_recovers_after_sink_restart() {
    let sink = SmtpSink::start().await;
    let addr = sink.addr();
    let pool = pool_for(&sink, 2);
    send(&pool, 1).await.unwrap();
    drop(sink);

    // While the relay is down: a transient connection error, not a hang or a panic.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = send(&pool, 2).await.unwrap_err();
    assert!(!err.is_permanent(), "{err}");
    assert!(matches!(err, SmtpError::Connection { .. }), "{err}");

    // The relay comes back on the same port.
    let sink = restart(addr).await;
    send(&pool, 3).await.unwrap();
    let got = sink.wait_for(1, WAIT).await;
    assert_eq!(got[0].rcpt_to, rcpt(3));
}

#[tokio::test]
async fn restart_while_connections_are_pooled() {
    let sink = SmtpSink::start().await;
    let addr = sink.addr();
    let pool = pool_for(&sink, 2);
    send(&pool, 1).await.unwrap();
    drop(sink);
    let sink = restart(addr).await;
    // The pooled connection is dead; the pool must notice and retry once on a new one.
    send(&pool, 2).await.unwrap();
    assert_eq!(sink.wait_for(1, WAIT).await.len(), 1);
}

#[tokio::test]
async fn connect_refused_is_transient() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = SmtpConfig::new("127.0.0.1", port, Security::Plain);
    config.timeout = Duration::from_secs(2);
    let err = SmtpPool::new(config)
        .send("a@b.test", &rcpt(1), b"x\r\n")
        .await
        .unwrap_err();
    assert!(!err.is_permanent());
}

#[tokio::test]
async fn missing_starttls_or_auth_is_a_transient_relay_problem() {
    let sink = SmtpSink::start().await;
    // The sink offers no STARTTLS: refuse to fall back to plain text.
    let mut config = SmtpConfig::new("127.0.0.1", sink.port(), Security::StartTls);
    config.timeout = Duration::from_secs(5);
    let err = SmtpPool::new(config)
        .send("a@b.test", &rcpt(1), &message(1))
        .await
        .unwrap_err();
    assert!(matches!(err, SmtpError::Tls { .. }), "{err}");
    assert!(!err.is_permanent());

    // Nor AUTH: a configuration problem, never a reason to fail the message for good.
    let config = SmtpConfig::new("127.0.0.1", sink.port(), Security::Plain)
        .with_credentials("user", "hunter2-secret");
    let err = SmtpPool::new(config)
        .send("a@b.test", &rcpt(1), &message(1))
        .await
        .unwrap_err();
    assert!(matches!(err, SmtpError::Auth { .. }), "{err}");
    assert!(!err.is_permanent());
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(sink.messages().is_empty());
}

#[test]
fn config_deserializes_with_documented_defaults() {
    let config: SmtpConfig = serde_json::from_str(r#"{"host": "smtp.example.com"}"#).unwrap();
    assert_eq!(config.port, 587);
    assert_eq!(config.security, Security::StartTls);
    assert_eq!(config.pool_size, 4);
    assert_eq!(config.timeout, Duration::from_secs(30));
    assert_eq!(config.hello_name, "localhost");
    assert!(config.username.is_none() && config.password.is_none());

    let config: SmtpConfig = serde_json::from_str(
        r#"{"host": "h", "port": 465, "security": "tls", "username": "u", "password": "p4ss",
            "pool_size": 8, "timeout_secs": 5, "hello_name": "beacon.example.com"}"#,
    )
    .unwrap();
    assert_eq!(
        (config.port, config.security, config.pool_size),
        (465, Security::Tls, 8)
    );
    assert_eq!(config.timeout, Duration::from_secs(5));
    assert!(!format!("{config:?}").contains("p4ss"));
    assert!(serde_json::from_str::<SmtpConfig>(r#"{"host": "h", "tls": true}"#).is_err());
}

#[tokio::test]
async fn sink_survives_garbage_and_protocol_errors() {
    let sink = SmtpSink::start().await;
    let mut s = TcpStream::connect(sink.addr()).await.unwrap();
    let mut script = Vec::new();
    script.extend_from_slice(b"\xff\xfe garbage\r\nMAIL FROM:<a@b>\r\nEHLO\r\nRCPT TO:<x@y>\r\n");
    script.extend_from_slice(&vec![b'A'; 10_000]);
    script.extend_from_slice(b"\r\nDATA\r\nHELO me\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
    script.extend_from_slice(b"DATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\nNOOP\r\nRSET\r\nQUIT\r\n");
    s.write_all(&script).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(WAIT, s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    let codes: Vec<&str> = out.lines().map(|l| &l[..3]).collect();
    assert_eq!(
        codes,
        [
            "220", "500", "503", "501", "503", "500", "503", "250", "250", "250", "354", "250",
            "250", "250", "221"
        ],
        "{out}"
    );
    let got = sink.wait_for(1, WAIT).await;
    assert_eq!(got[0].data, b"Subject: x\r\n\r\n.dot\r\n");

    // A client vanishing mid-DATA leaves the sink serving others.
    let mut s = TcpStream::connect(sink.addr()).await.unwrap();
    s.write_all(b"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\npartial")
        .await
        .unwrap();
    drop(s);
    let pool = pool_for(&sink, 1);
    pool.send("a@b.test", &rcpt(9), &message(9)).await.unwrap();
    assert_eq!(sink.wait_for(2, WAIT).await.len(), 2);
}

/// Prints throughput only; timing is not asserted (shared 2-core machines vary).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_sanity() {
    let sink = SmtpSink::start().await;
    let pool = Arc::new(pool_for(&sink, 4));
    let raws: Vec<_> = (0..500).map(message).collect();
    let raws = Arc::new(raws);

    let started = Instant::now();
    for (i, raw) in raws.iter().enumerate().take(200) {
        pool.send("b@beacon.test", &rcpt(i), raw).await.unwrap();
    }
    let one = started.elapsed();
    println!(
        "throughput: 200 messages sequentially over 1 connection: {:.0} msgs/s",
        200.0 / one.as_secs_f64()
    );

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let (pool, raws) = (pool.clone(), raws.clone());
        tasks.spawn(async move {
            for i in (worker..500).step_by(4) {
                pool.send("b@beacon.test", &rcpt(i), &raws[i])
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let four = started.elapsed();
    println!(
        "throughput: 500 messages over a pool of 4: {:.0} msgs/s ({} bytes each)",
        500.0 / four.as_secs_f64(),
        raws[0].len()
    );
    assert_eq!(sink.wait_for(700, WAIT).await.len(), 700);
}
