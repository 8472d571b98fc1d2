//! One SMTP session of the sink: read a command line, answer, repeat.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{MAX_MESSAGE_BYTES, ReceivedMessage, Shared};

/// RFC 5321 §4.5.3.1.4 allows 512 for a command line; be generous for SMTPUTF8 clients.
const MAX_COMMAND_LINE: usize = 4096;
/// A client silent this long is disconnected, so abandoned sessions cannot pile up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
const EHLO_REPLY: &str = "250-beacon-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 52428800\r\n";

enum Line {
    Ok(Vec<u8>),
    TooLong,
    Eof,
}

/// Reads up to and including `\n`, giving up past `max` bytes (the rest of the line is
/// discarded so the session can answer and carry on).
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    max: usize,
) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let n = (&mut *reader)
        .take(max as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Ok(Line::Eof);
    }
    if line.last() == Some(&b'\n') {
        return Ok(Line::Ok(line));
    }
    if n < max {
        // EOF in the middle of a line.
        return Ok(Line::Eof);
    }
    loop {
        let mut rest = Vec::new();
        let n = (&mut *reader)
            .take(MAX_COMMAND_LINE as u64)
            .read_until(b'\n', &mut rest)
            .await?;
        if n == 0 {
            return Ok(Line::Eof);
        }
        if rest.last() == Some(&b'\n') {
            return Ok(Line::TooLong);
        }
    }
}

#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

pub(crate) async fn run(stream: TcpStream, shared: Arc<Shared>) {
    // Errors only mean the client went away; there is nobody to report them to.
    let _ = serve(stream, &shared).await;
}

async fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut greeted = false;
    let mut tx = Transaction::default();
    write.write_all(b"220 beacon-sink ESMTP ready\r\n").await?;

    loop {
        let line = match tokio::time::timeout(
            IDLE_TIMEOUT,
            read_line(&mut reader, MAX_COMMAND_LINE),
        )
        .await
        {
            Err(_) => {
                write.write_all(b"421 4.4.2 idle too long\r\n").await?;
                return Ok(());
            }
            Ok(line) => line?,
        };
        let line = match line {
            Line::Eof => return Ok(()),
            Line::TooLong => {
                write.write_all(b"500 5.5.6 line too long\r\n").await?;
                continue;
            }
            Line::Ok(line) => line,
        };
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, arg) = match text.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim()),
            None => (text.to_ascii_uppercase(), ""),
        };

        let reply: std::borrow::Cow<'static, str> = match verb.as_str() {
            "EHLO" | "HELO" if arg.is_empty() => "501 5.5.4 hello needs a domain\r\n".into(),
            "EHLO" => {
                greeted = true;
                tx = Transaction::default();
                EHLO_REPLY.into()
            }
            "HELO" => {
                greeted = true;
                tx = Transaction::default();
                "250 beacon-sink\r\n".into()
            }
            "MAIL" if !greeted => "503 5.5.1 say EHLO first\r\n".into(),
            "MAIL" if tx.mail_from.is_some() => "503 5.5.1 nested MAIL command\r\n".into(),
            "MAIL" => match path_arg(arg, "FROM:") {
                Some(from) => {
                    tx.mail_from = Some(from);
                    "250 2.1.0 Ok\r\n".into()
                }
                None => "501 5.5.4 syntax: MAIL FROM:<address>\r\n".into(),
            },
            "RCPT" if tx.mail_from.is_none() => "503 5.5.1 need MAIL first\r\n".into(),
            "RCPT" => match path_arg(arg, "TO:") {
                Some(to) if !to.is_empty() => {
                    tx.rcpt_to.push(to);
                    "250 2.1.5 Ok\r\n".into()
                }
                _ => "501 5.5.4 syntax: RCPT TO:<address>\r\n".into(),
            },
            "DATA" if tx.rcpt_to.is_empty() => "503 5.5.1 need RCPT first\r\n".into(),
            "DATA" => {
                write
                    .write_all(b"354 end data with <CRLF>.<CRLF>\r\n")
                    .await?;
                let data = match read_data(&mut reader).await? {
                    Some(Ok(data)) => data,
                    Some(Err(())) => {
                        tx = Transaction::default();
                        write.write_all(b"552 5.3.4 message too big\r\n").await?;
                        continue;
                    }
                    None => return Ok(()),
                };
                let tx = std::mem::take(&mut tx);
                match shared.take_failure() {
                    Some(failure) => format!("{failure}\r\n").into(),
                    None => {
                        let accepted = shared.deliver(ReceivedMessage {
                            mail_from: tx.mail_from.unwrap_or_default(),
                            rcpt_to: tx.rcpt_to,
                            data,
                        });
                        format!("{accepted}\r\n").into()
                    }
                }
            }
            "RSET" => {
                tx = Transaction::default();
                "250 2.0.0 Ok\r\n".into()
            }
            "NOOP" => "250 2.0.0 Ok\r\n".into(),
            "VRFY" => "252 2.5.2 cannot verify, will try\r\n".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            "STARTTLS" | "AUTH" => "502 5.5.1 not implemented\r\n".into(),
            _ => "500 5.5.2 command not recognized\r\n".into(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

/// Parses `FROM:<addr> PARAMS` / `TO:<addr>`; tolerates a space after the colon and a missing
/// pair of brackets, as many real servers do.
fn path_arg(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    if let Some(inner) = rest.strip_prefix('<') {
        let end = inner.find('>')?;
        Some(inner[..end].to_owned())
    } else {
        let addr = rest.split_whitespace().next()?;
        Some(addr.to_owned())
    }
}

/// Reads the message after `354` up to the lone `.` line, undoing dot-stuffing. Returns
/// `None` on EOF, `Some(Err(()))` when the message is over [`MAX_MESSAGE_BYTES`] (it is still
/// read to the end so the session stays in sync).
async fn read_data<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> std::io::Result<Option<Result<Vec<u8>, ()>>> {
    let mut data = Vec::new();
    let mut too_big = false;
    loop {
        let mut line = Vec::new();
        // Lines in DATA may be long (RFC limit 1000, but be lenient); bound each read anyway.
        let n = (&mut *reader)
            .take(1 << 20)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(Some(if too_big { Err(()) } else { Ok(data) }));
        }
        let content = match line.first() {
            Some(b'.') => &line[1..],
            _ => &line[..],
        };
        if data.len() + content.len() > MAX_MESSAGE_BYTES {
            too_big = true;
            data = Vec::new();
        }
        if !too_big {
            data.extend_from_slice(content);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        assert_eq!(
            path_arg("FROM:<a@b.c> SIZE=10", "FROM:").as_deref(),
            Some("a@b.c")
        );
        assert_eq!(path_arg("from: <>", "FROM:").as_deref(), Some(""));
        assert_eq!(path_arg("TO:x@y.z", "TO:").as_deref(), Some("x@y.z"));
        assert_eq!(path_arg("TO:<unterminated", "TO:"), None);
        assert_eq!(path_arg("T", "TO:"), None);
        assert_eq!(path_arg("é", "TO:"), None);
    }

    #[tokio::test]
    async fn unstuffs_dots() {
        let input: &[u8] = b"a\r\n..b\r\n.\r\nNEXT";
        let mut reader = BufReader::new(input);
        let data = read_data(&mut reader).await.unwrap().unwrap().unwrap();
        assert_eq!(data, b"a\r\n.b\r\n");
    }
}
