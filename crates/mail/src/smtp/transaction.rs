//! One message's SMTP transaction on an open connection.
//!
//! lettre speaks the commands; the message data is dot-stuffed here instead of by lettre's
//! encoder, which copies and inspects every byte on its own (on 130 KB newsletters that encoder
//! was the delivery worker's largest user-space cost).

use std::fmt;

use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;

/// Why a transaction did not end in acceptance. The connection is closed and marked broken
/// either way, so it is never reused in an unknown state.
pub(super) enum Failure {
    /// The server's negative reply, or a network or protocol error, as lettre reports it.
    Smtp(lettre::transport::smtp::Error),
    /// Refused before anything was sent (the server lacks an extension the message needs).
    Client(String),
}

/// `MAIL`, `RCPT` for each recipient, `DATA`, then the message: its final reply on acceptance.
pub(super) async fn send(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    raw: &[u8],
) -> Result<Response, Failure> {
    let mut params = Vec::new();
    let non_ascii = |a: &Address| !AsRef::<str>::as_ref(a).is_ascii();
    let non_ascii_address =
        envelope.from().is_some_and(non_ascii) || envelope.to().iter().any(non_ascii);
    if non_ascii_address {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(Failure::Client(
                "the envelope has non-ASCII addresses but the server does not offer SMTPUTF8"
                    .into(),
            ));
        }
        params.push(MailParameter::SmtpUtfEight);
    }
    if !raw.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(Failure::Client(
                "the message is not ASCII but the server does not offer 8BITMIME".into(),
            ));
        }
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let result = async {
        conn.command(Mail::new(envelope.from().cloned(), params))
            .await?;
        for to in envelope.to() {
            conn.command(Rcpt::new(to.clone(), vec![])).await?;
        }
        conn.command(Data).await?;
        match std::str::from_utf8(raw) {
            Ok(text) => conn.command(DotStuffed(text)).await,
            // Not UTF-8 (never the case for messages built by this crate): lettre's encoder
            // handles any bytes. It appends the final CRLF itself.
            Err(_) => conn.message(raw.strip_suffix(b"\r\n").unwrap_or(raw)).await,
        }
    }
    .await;
    match result {
        Ok(response) => Ok(response),
        Err(e) => {
            // What lettre's own `send` does: say QUIT if possible and mark the connection broken.
            conn.abort().await;
            Err(Failure::Smtp(e))
        }
    }
}

/// The message as it goes after `DATA` (RFC 5321 §4.5.2): a `.` starting a line is doubled, the
/// message ends with CRLF, and a line holding a single `.` ends the data. A line starts after a
/// CRLF, as in lettre's encoder: the bytes on the wire are the ones lettre would send.
pub(super) struct DotStuffed<'a>(pub &'a str);

impl fmt::Display for DotStuffed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if text.starts_with('.') {
            f.write_str(".")?;
        }
        let mut from = 0;
        for at in line_dots(text.as_bytes()) {
            // Up to and including the CRLF, then the extra dot; the line's own dot follows.
            f.write_str(&text[from..at + 2])?;
            f.write_str(".")?;
            from = at + 2;
        }
        f.write_str(&text[from..])?;
        if !text.ends_with("\r\n") {
            f.write_str("\r\n")?;
        }
        f.write_str(".\r\n")
    }
}

/// Where `b` holds `"\r\n."`, in order. Tested 64 bytes at a time without branches, which the
/// compiler vectorises (`str::match_indices` took ~5x as long on a 160 KB newsletter); only a
/// block with a hit is looked at byte by byte.
fn line_dots(b: &[u8]) -> Vec<usize> {
    const BLOCK: usize = 64;
    let is_dot_line =
        |((&cr, &lf), &dot): ((&u8, &u8), &u8)| (cr == b'\r') & (lf == b'\n') & (dot == b'.');
    let mut found = Vec::new();
    let last = b.len().saturating_sub(2);
    let mut start = 0;
    while start < last {
        let end = (start + BLOCK).min(last);
        let block = || {
            b[start..end]
                .iter()
                .zip(&b[start + 1..end + 1])
                .zip(&b[start + 2..end + 2])
        };
        if block().fold(false, |hit, bytes| hit | is_dot_line(bytes)) {
            found.extend(
                block()
                    .enumerate()
                    .filter(|(_, bytes)| is_dot_line(*bytes))
                    .map(|(i, _)| start + i),
            );
        }
        start = end;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::DotStuffed;

    fn stuffed(s: &str) -> String {
        DotStuffed(s).to_string()
    }

    #[test]
    fn leading_dots_are_doubled_on_every_line() {
        assert_eq!(stuffed(".a\r\n.b\r\nc.\r\n"), "..a\r\n..b\r\nc.\r\n.\r\n");
        assert_eq!(stuffed("a\r\n.\r\n"), "a\r\n..\r\n.\r\n");
        assert_eq!(stuffed("a\r\n..\r\n"), "a\r\n...\r\n.\r\n");
    }

    #[test]
    fn the_message_ends_with_crlf_before_the_final_dot() {
        assert_eq!(stuffed("a"), "a\r\n.\r\n");
        assert_eq!(stuffed("a\r\n"), "a\r\n.\r\n");
        assert_eq!(stuffed("a\r\n\r\n"), "a\r\n\r\n.\r\n");
        assert_eq!(stuffed(""), "\r\n.\r\n");
    }

    #[test]
    fn dot_lines_are_found_across_block_edges() {
        for at in 0..200 {
            let mut text = "x".repeat(at);
            text.push_str("\r\n.");
            text.push_str(&"y".repeat(200 - at));
            let expected = format!("{}\r\n..{}\r\n.\r\n", "x".repeat(at), "y".repeat(200 - at));
            assert_eq!(stuffed(&text), expected, "dot line at {at}");
        }
        assert_eq!(stuffed("\r\n.\r\n.\r\n."), "\r\n..\r\n..\r\n..\r\n.\r\n");
    }

    #[test]
    fn only_crlf_starts_a_line_as_in_lettre() {
        // A bare LF or CR is not a line break in SMTP data.
        assert_eq!(stuffed("a\n.b\r.c"), "a\n.b\r.c\r\n.\r\n");
        assert_eq!(stuffed("a\r\r\n.b"), "a\r\r\n..b\r\n.\r\n");
    }
}
