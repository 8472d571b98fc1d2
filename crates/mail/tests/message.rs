//! `build()` output parsed back with an independent parser (mail-parser).

use beacon_mail::{Attachment, BuildError, Mailbox, OutgoingMessage, build};
use mail_parser::{HeaderForm, Message, MessageParser, MimeHeaders};

fn base() -> OutgoingMessage {
    OutgoingMessage {
        message_id: "0190a1b2-c3d4-7000-8000-000000000001@mail.example.com".into(),
        from: Mailbox::new("news@example.com").with_name("Example News"),
        to: vec![Mailbox::new("ada@example.org").with_name("Ada Lovelace")],
        reply_to: None,
        subject: "Hello there".into(),
        html: Some(
            "<html><body><h1>Welcome</h1><p>Read <a href=\"https://t.example.com/c/tok1\">our \
             post</a>.</p><img src=\"https://t.example.com/o/tok2\" width=\"1\" height=\"1\">\
             </body></html>"
                .into(),
        ),
        text: None,
        headers: vec![],
        attachments: vec![],
        date: 1_700_000_000,
    }
}

fn parse(raw: &[u8]) -> Message<'_> {
    MessageParser::default()
        .parse(raw)
        .expect("mail-parser parses build() output")
}

#[test]
fn html_only_gets_derived_text_alternative() {
    let raw = build(&base()).unwrap();
    assert!(raw.is_ascii(), "output must be 7-bit");
    let msg = parse(&raw);

    let from = msg.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Example News"));
    assert_eq!(from.address(), Some("news@example.com"));
    let to = msg.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("Ada Lovelace"));
    assert_eq!(to.address(), Some("ada@example.org"));
    assert_eq!(msg.subject(), Some("Hello there"));
    assert_eq!(
        msg.message_id(),
        Some("0190a1b2-c3d4-7000-8000-000000000001@mail.example.com")
    );
    assert_eq!(msg.date().unwrap().to_timestamp(), 1_700_000_000);
    assert!(msg.reply_to().is_none());

    let root = msg.root_part().content_type().unwrap();
    assert_eq!(root.ctype(), "multipart");
    assert_eq!(root.subtype(), Some("alternative"));

    let text = msg.body_text(0).unwrap();
    assert!(text.contains("Welcome"), "{text}");
    assert!(text.contains("our post"), "{text}");
    assert!(text.contains("https://t.example.com/c/tok1"), "{text}");
    assert!(!text.contains("<p>"), "{text}");
    let html = msg.body_html(0).unwrap();
    assert!(
        html.contains("<a href=\"https://t.example.com/c/tok1\">"),
        "{html}"
    );
    assert_eq!(msg.attachment_count(), 0);
}

#[test]
fn given_text_is_used_verbatim_and_reply_to_is_set() {
    let mut m = base();
    m.text = Some("Plain version\nline two".into());
    m.reply_to = Some(Mailbox::new("support@example.com"));
    let raw = build(&m).unwrap();
    let msg = parse(&raw);
    assert_eq!(
        msg.body_text(0).unwrap().replace("\r\n", "\n").trim_end(),
        "Plain version\nline two"
    );
    assert_eq!(
        msg.reply_to().unwrap().first().unwrap().address(),
        Some("support@example.com")
    );
}

#[test]
fn text_only_is_a_single_part() {
    let mut m = base();
    m.html = None;
    m.text = Some("just text".into());
    let raw = build(&m).unwrap();
    let msg = parse(&raw);
    let ct = msg.root_part().content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("plain")));
    assert_eq!(
        msg.html_body_count(),
        1,
        "mail-parser presents text as html too"
    );
    assert!(msg.body_text(0).unwrap().contains("just text"));
}

#[test]
fn attachments_wrap_everything_in_mixed() {
    let mut m = base();
    let pdf: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    m.attachments = vec![
        Attachment {
            filename: "invoice.pdf".into(),
            content_type: "application/pdf".into(),
            content: pdf.clone(),
        },
        Attachment {
            filename: "übersicht 2024.csv".into(),
            content_type: "text/csv".into(),
            content: b"a,b\n1,2\n".to_vec(),
        },
    ];
    let raw = build(&m).unwrap();
    assert!(raw.is_ascii());
    let msg = parse(&raw);
    let root = msg.root_part().content_type().unwrap();
    assert_eq!((root.ctype(), root.subtype()), ("multipart", Some("mixed")));
    assert!(msg.body_text(0).unwrap().contains("Welcome"));
    assert!(msg.body_html(0).unwrap().contains("<h1>Welcome</h1>"));

    let atts: Vec<_> = msg.attachments().collect();
    assert_eq!(atts.len(), 2);
    assert_eq!(atts[0].attachment_name(), Some("invoice.pdf"));
    assert_eq!(atts[0].contents(), pdf.as_slice());
    let ct = atts[0].content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("application", Some("pdf")));
    assert_eq!(atts[1].attachment_name(), Some("übersicht 2024.csv"));
    assert_eq!(atts[1].contents(), b"a,b\n1,2\n");
}

#[test]
fn utf8_subject_names_and_bodies_round_trip() {
    let mut m = base();
    m.subject =
        "Grüße aus Köln — 🎉 Ваш заказ готов, and a fairly long tail to force folding".into();
    m.from = Mailbox::new("news@example.com").with_name("Café “Zoë”, Ltd.");
    m.to = vec![
        Mailbox::new("a@example.org").with_name("José Ñúñez"),
        Mailbox::new("b@example.org").with_name("山田 太郎"),
        Mailbox::new("c@example.org"),
    ];
    m.html = Some("<p>Привет, 世界! €5</p>".into());
    let raw = build(&m).unwrap();
    assert!(raw.is_ascii(), "non-ASCII must be encoded");
    let msg = parse(&raw);
    assert_eq!(msg.subject(), Some(m.subject.as_str()));
    assert_eq!(
        msg.from().unwrap().first().unwrap().name(),
        Some("Café “Zoë”, Ltd.")
    );
    let to: Vec<_> = msg
        .to()
        .unwrap()
        .iter()
        .map(|a| (a.name().map(str::to_owned), a.address().unwrap().to_owned()))
        .collect();
    assert_eq!(
        to,
        vec![
            (Some("José Ñúñez".to_owned()), "a@example.org".to_owned()),
            (Some("山田 太郎".to_owned()), "b@example.org".to_owned()),
            (None, "c@example.org".to_owned()),
        ]
    );
    assert!(msg.body_html(0).unwrap().contains("Привет, 世界! €5"));
    assert!(msg.body_text(0).unwrap().contains("Привет, 世界! €5"));
}

#[test]
fn custom_headers_are_written_in_order() {
    let mut m = base();
    m.headers = vec![
        (
            "List-Unsubscribe".into(),
            "<https://example.com/u/abc>".into(),
        ),
        (
            "List-Unsubscribe-Post".into(),
            "List-Unsubscribe=One-Click".into(),
        ),
        ("X-Beacon-Email".into(), "42".into()),
        ("X-Note".into(), "Ünïcode välue".into()),
    ];
    let raw = build(&m).unwrap();
    let msg = parse(&raw);
    assert_eq!(msg.header_raw("X-Beacon-Email").map(str::trim), Some("42"));
    assert_eq!(
        msg.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    let note = msg.header_as("X-Note", HeaderForm::Text);
    assert_eq!(note[0].as_text(), Some("Ünïcode välue"));
    let text = String::from_utf8(raw).unwrap();
    let pos = |h: &str| text.find(h).unwrap_or_else(|| panic!("{h} missing"));
    assert!(pos("List-Unsubscribe:") < pos("List-Unsubscribe-Post:"));
    assert!(pos("List-Unsubscribe-Post:") < pos("X-Beacon-Email:"));
    // Exactly one of each structural header.
    for h in [
        "\r\nFrom:",
        "\r\nTo:",
        "\r\nSubject:",
        "\r\nDate:",
        "\r\nMIME-Version:",
    ] {
        assert_eq!(
            text.matches(h).count() + usize::from(text.starts_with(&h[2..])),
            1,
            "{h}"
        );
    }
    assert_eq!(text.matches("Message-ID:").count(), 1);
}

#[test]
fn header_injection_is_rejected_naming_the_header() {
    for (name, value) in [
        ("X-Campaign", "spring\r\nBcc: everyone@example.org"),
        ("X-Campaign", "spring\nBcc: everyone@example.org"),
        ("X-Campaign", "spring\r"),
    ] {
        let mut m = base();
        m.headers = vec![(name.into(), value.into())];
        assert_eq!(
            build(&m),
            Err(BuildError::HeaderInjection {
                header: "X-Campaign".into()
            })
        );
    }
    let mut m = base();
    m.headers = vec![("X-Evil\r\nBcc".into(), "x".into())];
    assert!(matches!(build(&m), Err(BuildError::HeaderInjection { .. })));

    let mut m = base();
    m.subject = "Hi\r\nBcc: everyone@example.org".into();
    assert_eq!(
        build(&m),
        Err(BuildError::HeaderInjection {
            header: "Subject".into()
        })
    );
    let mut m = base();
    m.to[0].name = Some("Ada\r\nBcc: x@example.org".into());
    assert_eq!(
        build(&m),
        Err(BuildError::HeaderInjection {
            header: "To".into()
        })
    );
    let mut m = base();
    m.to[0].email = "ada@example.org>\r\nBcc: x@example.org".into();
    assert!(matches!(
        build(&m),
        Err(BuildError::InvalidAddress { field: "To", .. })
    ));
}

#[test]
fn structural_headers_cannot_be_overridden() {
    for name in [
        "From",
        "to",
        "SUBJECT",
        "Date",
        "message-id",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Reply-To",
        "Bcc",
    ] {
        let mut m = base();
        m.headers = vec![(name.into(), "x@example.org".into())];
        assert_eq!(
            build(&m),
            Err(BuildError::ReservedHeader { name: name.into() }),
            "{name}"
        );
    }
    for bad in ["", "X Space", "X:Colon", "Ünï"] {
        let mut m = base();
        m.headers = vec![(bad.into(), "v".into())];
        assert!(
            matches!(build(&m), Err(BuildError::InvalidHeaderName { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn other_invalid_input_is_rejected() {
    let mut m = base();
    m.to.clear();
    assert_eq!(build(&m), Err(BuildError::NoRecipients));

    let mut m = base();
    m.html = None;
    assert_eq!(build(&m), Err(BuildError::NoBody));

    for id in ["", "<a@b>", "no-at-sign", "a b@c", "@x"] {
        let mut m = base();
        m.message_id = id.into();
        assert!(
            matches!(build(&m), Err(BuildError::InvalidMessageId(_))),
            "{id:?}"
        );
    }

    let mut m = base();
    m.attachments = vec![Attachment {
        filename: "a.txt".into(),
        content_type: "text/plain\r\nX-Evil: 1".into(),
        content: vec![],
    }];
    assert!(matches!(
        build(&m),
        Err(BuildError::InvalidContentType { .. })
    ));
}

#[test]
fn ascii_custom_headers_are_written_as_is_so_list_unsubscribe_stays_readable() {
    let url = format!(
        "<https://beacon.example.com/unsubscribe/{}>",
        "A".repeat(60)
    );
    let mut msg = base();
    msg.headers = vec![
        ("List-Unsubscribe".into(), url.clone()),
        (
            "List-Unsubscribe-Post".into(),
            "List-Unsubscribe=One-Click".into(),
        ),
        ("X-Note".into(), "café".into()),
    ];
    let raw = String::from_utf8(build(&msg).unwrap()).unwrap();
    assert!(
        raw.contains(&format!("List-Unsubscribe: {url}\r\n")),
        "{raw}"
    );
    assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
    // Non-ASCII is still encoded.
    assert!(raw.contains("X-Note: =?utf-8?"), "{raw}");
}
