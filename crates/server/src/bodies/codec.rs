//! How an email's HTML and text are stored: one zstd frame holding both, compressed alone or
//! against a raw-content dictionary (the content its siblings share, `dictionary.rs`).
//!
//! The frame's payload is `[flags: u8][html length: u32 LE][html][text]`: bit 0 of `flags` says
//! the HTML is present, bit 1 the text, so "none" and "empty" stay apart and every byte of both
//! comes back exactly. One frame rather than two: the text part repeats the HTML's words, and
//! one frame header is paid instead of two.

use std::io;

use crate::store::emails::Bodies;

/// zstd's level for bodies: with a sibling's content as dictionary most of an email is one long
/// match, so a higher level buys little and costs the fan-out's CPU (bench/README.md).
pub const LEVEL: i32 = 3;
/// The most a stored frame may expand to (bodies are bounded by the request size, 10 MB by
/// default, twice over for HTML and text); a larger claim is a damaged frame, not an allocation.
const MAX_PAYLOAD: u64 = 256 << 20;

const HTML: u8 = 1;
const TEXT: u8 = 2;

/// A stored frame that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("zstd: {0}")]
    Zstd(#[from] io::Error),
    #[error("the stored frame does not say its size, or claims more than 256 MB")]
    Size,
    #[error("the stored payload is malformed: {0}")]
    Payload(&'static str),
}

/// The payload of [`Bodies`] (uncompressed).
pub fn payload(bodies: &Bodies) -> Vec<u8> {
    let html = bodies.html.as_deref().unwrap_or("");
    let text = bodies.text.as_deref().unwrap_or("");
    let mut out = Vec::with_capacity(5 + html.len() + text.len());
    let flags =
        if bodies.html.is_some() { HTML } else { 0 } | if bodies.text.is_some() { TEXT } else { 0 };
    out.push(flags);
    // Bodies are bounded far below 4 GB by the request size.
    out.extend_from_slice(&u32::try_from(html.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(html.as_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

/// [`Bodies`] from a payload made by [`payload`].
pub fn from_payload(payload: &[u8]) -> Result<Bodies, CodecError> {
    let (&flags, rest) = payload.split_first().ok_or(CodecError::Payload("empty"))?;
    if rest.len() < 4 || flags & !(HTML | TEXT) != 0 {
        return Err(CodecError::Payload("bad header"));
    }
    let (len, rest) = rest.split_at(4);
    let len = u32::from_le_bytes(len.try_into().unwrap_or_default()) as usize;
    if len > rest.len() {
        return Err(CodecError::Payload("HTML length past the end"));
    }
    let (html, text) = rest.split_at(len);
    let utf8 =
        |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| CodecError::Payload("not UTF-8"));
    Ok(Bodies {
        html: (flags & HTML != 0).then(|| utf8(html)).transpose()?,
        text: (flags & TEXT != 0).then(|| utf8(text)).transpose()?,
        purged_at: None,
    })
}

/// Compresses bytes against `dictionary` (raw content: any bytes that the data is likely to
/// repeat), or alone. For many frames with one dictionary, keep a [`Packer`].
pub fn compress(data: &[u8], dictionary: Option<&[u8]>) -> Result<Vec<u8>, CodecError> {
    Ok(Packer::new(dictionary)?.compress(data)?)
}

/// Decompresses a frame made by [`compress`] or a [`Packer`] with the same dictionary.
pub fn decompress(frame: &[u8], dictionary: Option<&[u8]>) -> Result<Vec<u8>, CodecError> {
    let size = zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .filter(|&n| n <= MAX_PAYLOAD)
        .ok_or(CodecError::Size)?;
    let mut d = match dictionary {
        Some(dictionary) => zstd::bulk::Decompressor::with_dictionary(dictionary)?,
        None => zstd::bulk::Decompressor::new()?,
    };
    let out = d.decompress(frame, size as usize)?;
    Ok(out)
}

/// A compressor that keeps its dictionary loaded (zstd builds its match tables for it once) and
/// its working memory between frames. Not shared between threads at once: callers hold it
/// behind a lock or one per task.
pub struct Packer {
    zstd: zstd::bulk::Compressor<'static>,
}

impl std::fmt::Debug for Packer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Packer")
    }
}

impl Packer {
    /// Errors only when zstd cannot allocate its context.
    pub fn new(dictionary: Option<&[u8]>) -> io::Result<Packer> {
        let mut zstd = match dictionary {
            Some(dictionary) => zstd::bulk::Compressor::with_dictionary(LEVEL, dictionary)?,
            None => zstd::bulk::Compressor::new(LEVEL)?,
        };
        // The size in the frame header lets a reader allocate once (see `decompress`); the
        // checksum is left out: the database keeps its pages whole, and 4 bytes an email add up.
        zstd.include_contentsize(true)?;
        zstd.include_checksum(false)?;
        zstd.include_dictid(false)?;
        Ok(Packer { zstd })
    }

    /// One frame.
    pub fn compress(&mut self, data: &[u8]) -> io::Result<Vec<u8>> {
        self.zstd.compress(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bodies(html: Option<&str>, text: Option<&str>) -> Bodies {
        Bodies {
            html: html.map(str::to_string),
            text: text.map(str::to_string),
            purged_at: None,
        }
    }

    #[test]
    fn none_and_empty_stay_apart() {
        for (html, text) in [
            (None, None),
            (Some(""), None),
            (None, Some("")),
            (Some(""), Some("")),
            (Some("<p>ü</p>"), Some("ü")),
        ] {
            let b = bodies(html, text);
            let back = from_payload(&payload(&b)).unwrap();
            assert_eq!((back.html.as_deref(), back.text.as_deref()), (html, text));
        }
    }

    #[test]
    fn a_sibling_as_dictionary_leaves_little_but_the_difference() {
        // The bench's 60 KB newsletter; each recipient's copy differs in a name and in
        // tokens of incompressible bytes at every link.
        let page = include_str!("../../../tracking/benches/newsletter.html");
        let mut seed = 7u64;
        let mut token = || {
            (0..40)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    char::from(b'a' + (seed >> 59) as u8 % 26)
                })
                .collect::<String>()
        };
        let mut recipient = |name: &str| {
            let html = page
                .split("href=\"")
                .map(str::to_string)
                .reduce(|a, b| format!("{a}href=\"https://t.example/c/{}{b}", token()))
                .unwrap_or_default();
            payload(&bodies(Some(&format!("Hello {name}{html}")), Some(page)))
        };
        let (dict, mine) = (recipient(""), recipient("Ada"));
        let alone = compress(&mine, None).unwrap();
        let shared = compress(&mine, Some(&dict)).unwrap();
        eprintln!(
            "{} bytes: {} alone, {} against a sibling",
            mine.len(),
            alone.len(),
            shared.len()
        );
        assert!(
            shared.len() * 3 < alone.len(),
            "{} vs {}",
            shared.len(),
            alone.len()
        );
        assert_eq!(decompress(&shared, Some(&dict)).unwrap(), mine);
        assert!(decompress(&shared, None).map_or(true, |d| d != mine));
    }

    #[test]
    fn damaged_frames_are_errors() {
        assert!(decompress(b"", None).is_err());
        assert!(decompress(b"not zstd at all", None).is_err());
        assert!(from_payload(&[]).is_err());
        assert!(from_payload(&[1, 9, 0, 0, 0, b'a']).is_err());
        assert!(from_payload(&[8, 0, 0, 0, 0]).is_err());
        assert!(from_payload(&[1, 1, 0, 0, 0, 0xff]).is_err());
    }

    proptest! {
        // Any HTML and text, against any dictionary (or none): the exact bytes come back.
        #[test]
        fn bodies_round_trip(
            html in proptest::option::of(".{0,300}"),
            text in proptest::option::of("(?s).{0,300}"),
            dict in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..400)),
            personal in "[a-zA-Z0-9 ]{0,40}",
        ) {
            let b = bodies(html.as_deref(), text.as_deref());
            // A sibling-like dictionary too: the same bodies with the personal part left out.
            let sibling = payload(&b);
            let b = bodies(html.map(|h| format!("{personal}{h}")).as_deref(), text.as_deref());
            let data = payload(&b);
            for dictionary in [dict.as_deref(), Some(&sibling[..]), None] {
                let frame = compress(&data, dictionary).unwrap();
                let back = from_payload(&decompress(&frame, dictionary).unwrap()).unwrap();
                prop_assert_eq!(&back.html, &b.html);
                prop_assert_eq!(&back.text, &b.text);
            }
        }
    }
}
