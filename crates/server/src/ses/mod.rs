//! Amazon SES as the provider of tracking: SES inserts the pixel and rewrites the links, and
//! publishes opens, clicks, deliveries, bounces and complaints through an SNS topic to
//! `POST /webhooks/sns`. This module receives those events; sending picks a configuration set
//! per send (`crate::engine`) and the `ses` transport keeps SES's message id.

pub mod events;
mod lookup;
pub mod sns;

/// SES's SMTP interface accepts a message with `250 Ok <SES message id>`. The `ses` transport
/// stores the bare id, the `smtp` transport (pointed at SES directly) that reply whole; events
/// name the bare id, so an email is found under either form (see `events::find_email`).
pub fn smtp_reply_for(ses_message_id: &str) -> String {
    format!("250 Ok {ses_message_id}")
}

/// The SES message id in SES's reply to `DATA`, the inverse of [`smtp_reply_for`]; `None` for
/// any other reply (a relay's own, or one SES might change to).
pub fn message_id_from_reply(reply: &str) -> Option<&str> {
    let rest = reply.strip_prefix("250")?.trim_start();
    let rest = rest
        .get(..2)
        .filter(|ok| ok.eq_ignore_ascii_case("ok"))
        .map(|_| &rest[2..])?;
    let mut words = rest.split_whitespace();
    let id = words.next()?;
    let plausible = id.len() <= 256
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && words.next().is_none()
        && rest.starts_with(char::is_whitespace);
    plausible.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::sns::host_matches;
    use super::{message_id_from_reply, smtp_reply_for};

    #[test]
    fn the_ses_message_id_is_read_from_its_smtp_reply() {
        let id = "0100018c1f2b3a4d-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9-000000";
        assert_eq!(message_id_from_reply(&smtp_reply_for(id)), Some(id));
        assert_eq!(message_id_from_reply("250 OK abc-1"), Some("abc-1"));
        for other in [
            "250 2.0.0 Ok: queued as ABC",
            "250 Ok",
            "250 Ok ",
            "250 Okay abc",
            "250 Ok abc def",
            "250 Ok <abc@x>",
            "251 Ok abc",
            "",
        ] {
            assert_eq!(message_id_from_reply(other), None, "{other:?}");
        }
    }

    #[test]
    fn a_star_is_one_region_label_and_nothing_else() {
        let p = "sns.*.amazonaws.com";
        assert!(host_matches(p, "sns.eu-west-1.amazonaws.com"));
        assert!(host_matches(p, "SNS.US-EAST-2.AMAZONAWS.COM"));
        for host in [
            "sns.amazonaws.com",
            "sns..amazonaws.com",
            "sns.a.b.amazonaws.com",
            "sns.eu-west-1.amazonaws.com.evil.example",
            "evil.sns.eu-west-1.amazonaws.com",
            "sns.eu_west.amazonaws.com",
            "sns.eu-west-1.amazonaws.co",
        ] {
            assert!(!host_matches(p, host), "{host}");
        }
        assert!(host_matches("127.0.0.1", "127.0.0.1"));
        assert!(!host_matches("127.0.0.1", "127.0.0.10"));
    }
}
