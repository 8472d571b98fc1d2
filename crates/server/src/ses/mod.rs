//! Amazon SES as the provider of tracking: SES inserts the pixel and rewrites the links, and
//! publishes opens, clicks, deliveries, bounces and complaints through an SNS topic to
//! `POST /webhooks/sns`. This half receives those events; sending through SES configuration
//! sets is issue 7's other half.

pub mod events;
pub mod sns;

/// SES's SMTP interface accepts a message with `250 Ok <SES message id>`, and the `smtp`
/// transport stores that reply whole as the email's provider message id. Events name the bare
/// id, so an email is found under either form (see `events::find_email`).
pub fn smtp_reply_for(ses_message_id: &str) -> String {
    format!("250 Ok {ses_message_id}")
}

#[cfg(test)]
mod tests {
    use super::sns::host_matches;

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
