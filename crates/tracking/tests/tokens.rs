//! Token round-trips, tamper rejection, rotation.

use beacon_tracking::token::*;
use proptest::prelude::*;

fn ring() -> KeyRing {
    KeyRing::new(
        SigningKey::new(7, [0x11; 32]),
        vec![SigningKey::new(6, [0x22; 32])],
    )
}

fn click_strategy() -> impl Strategy<Value = ClickToken> {
    (
        any::<[u8; 16]>(),
        any::<u32>(),
        any::<String>(),
        proptest::option::of(any::<String>()),
        proptest::option::of(any::<[u8; 16]>()),
    )
        .prop_map(|(email_id, link_index, url, tag, stored)| match stored {
            None => ClickToken::inline(email_id, link_index, url, tag),
            Some(id) => ClickToken {
                email_id,
                link_index,
                target: Target::Stored {
                    id: DestinationId(id),
                    suffix: url,
                },
            },
        })
}

proptest! {
    #[test]
    fn any_click_round_trips(click in click_strategy()) {
        let token = ring().seal_click(&click);
        prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        prop_assert_eq!(ring().open_click(&token), Ok(click));
    }

    #[test]
    fn any_open_round_trips(id in any::<[u8; 16]>()) {
        let token = ring().seal_open(id);
        prop_assert_eq!(token.len(), 46);
        prop_assert_eq!(ring().open_open(&token), Ok(id));
    }

    /// Any change of one character of the text to any other character is rejected.
    #[test]
    fn any_one_char_change_is_rejected(
        click in click_strategy(),
        pos in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let token = ring().seal_click(&click);
        let i = pos.index(token.len());
        let original = token.as_bytes()[i] as char;
        prop_assume!(replacement != original);
        let mut tampered = token.clone();
        tampered.replace_range(i..=i, &replacement.to_string());
        prop_assert!(ring().open_click(&tampered).is_err());
    }

    /// Any change of one byte of the decoded token (payload or tag) is rejected.
    #[test]
    fn any_one_byte_change_is_rejected(
        id in any::<[u8; 16]>(),
        url in "https://[a-z]{1,10}\\.com/[ -~]{0,40}",
        pos in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        for token in [ring().seal_open(id), ring().seal_click(&ClickToken::inline(id, 1, url.clone(), None)), ring().seal_click_stored(id, 1, DestinationId([7; 16]), &url)] {
            let mut bytes = b64.decode(&token).unwrap();
            let i = pos.index(bytes.len());
            bytes[i] ^= flip;
            let tampered = b64.encode(&bytes);
            prop_assert!(ring().open_open(&tampered).is_err());
            prop_assert!(ring().open_click(&tampered).is_err());
        }
    }

    #[test]
    fn truncation_and_extension_are_rejected(click in click_strategy(), cut in 1usize..8) {
        let token = ring().seal_click(&click);
        prop_assert!(ring().open_click(&token[..token.len().saturating_sub(cut)]).is_err());
        let extended = format!("{token}A");
        prop_assert!(ring().open_click(&extended).is_err());
    }

    #[test]
    fn arbitrary_strings_never_open(s in any::<String>()) {
        prop_assert!(ring().open_click(&s).is_err());
        prop_assert!(ring().open_open(&s).is_err());
    }
}

#[test]
fn typed_errors() {
    let r = ring();
    let open = r.seal_open([1; 16]);
    assert_eq!(r.open_click(&open), Err(TokenError::WrongKind));
    assert_eq!(r.open_open("!!"), Err(TokenError::Malformed));
    assert_eq!(r.open_open(""), Err(TokenError::Malformed));
    let other = KeyRing::new(SigningKey::new(9, [0x11; 32]), vec![]);
    assert_eq!(
        r.open_open(&other.seal_open([1; 16])),
        Err(TokenError::UnknownKey(9))
    );
    let forged = KeyRing::new(SigningKey::new(7, [0x33; 32]), vec![]);
    assert_eq!(
        r.open_open(&forged.seal_open([1; 16])),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn rotation_keeps_old_tokens_working() {
    let old = KeyRing::new(SigningKey::new(6, [0x22; 32]), vec![]);
    let click = ClickToken::inline(
        [5; 16],
        300,
        "https://example.com/%C3%A4?q=1#x",
        Some("footer".into()),
    );
    let token = old.seal_click(&click);
    assert_eq!(ring().open_click(&token), Ok(click));
    assert_eq!(ring().signing_id(), 7);
}

#[test]
fn urls_and_extension() {
    assert_eq!(open_url("https://t.x", "tok"), "https://t.x/o/tok.gif");
    assert_eq!(click_url("https://t.x", "tok"), "https://t.x/c/tok");
    let token = ring().seal_open([3; 16]);
    let path = format!("{token}.gif");
    assert_eq!(ring().open_open(strip_extension(&path)), Ok([3; 16]));
}

#[test]
fn debug_never_prints_secrets() {
    let text = format!("{:?} {:?}", ring(), SigningKey::new(1, [0xab; 32]));
    assert!(!text.contains("171") && !text.contains("ab, ab"), "{text}");
}

/// Click URL overhead over the original URL, as reported in the README.
#[test]
fn click_url_overhead_is_compact() {
    let url = "https://example.com/products/spring-sale?utm_source=newsletter&utm_medium=email";
    let click = ClickToken::inline([1; 16], 12, url, None);
    let full = click_url("https://t.example.com", &ring().seal_click(&click));
    let overhead = full.len() - url.len();
    // base (21) + "/c/" (3) + 4/3 × (36 payload+tag bytes + url) − url
    assert!(
        overhead <= 21 + 3 + 48 + url.len().div_ceil(3) + 2,
        "{overhead}"
    );
}

/// A kind-2 token (sealed before destinations were normalised, by an older Beacon) still
/// opens, and its URL comes back normalised; one that does not parse comes back as written.
#[test]
fn legacy_tokens_open_normalised() {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let legacy = |url: &str| {
        let mut payload = vec![2u8, 7];
        payload.extend_from_slice(&[9; 16]);
        payload.extend_from_slice(&[4, 0]); // index 4, no tag
        payload.extend_from_slice(url.as_bytes());
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&[0x11; 32]).unwrap();
        mac.update(&payload);
        payload.extend_from_slice(&mac.finalize().into_bytes()[..16]);
        b64.encode(payload)
    };
    let open = |url: &str| ring().open_click(&legacy(url)).unwrap();
    assert_eq!(
        open("https://Bücher.de/a b?c=ü#d").target,
        Target::Inline {
            url: "https://xn--bcher-kva.de/a%20b?c=%C3%BC#d".into(),
            tag: None
        }
    );
    assert_eq!(open("https://a b/").target.url(), Some("https://a b/"));
    assert_eq!(open("https://x.com/").link_index, 4);
}
