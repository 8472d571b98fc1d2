//! How an email's HTML and text are stored: one zstd frame holding both, compressed alone or
//! against a raw-content dictionary (the content its siblings share, `dictionary.rs`).
//!
//! The frame's payload is `[flags: u8][html length: u32 LE][html][text]`: bit 0 of `flags` says
//! the HTML is present, bit 1 the text, so "none" and "empty" stay apart and every byte of both
//! comes back exactly. One frame rather than two: the text part repeats the HTML's words, and
//! one frame header is paid instead of two.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
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

/// [`Bodies`] from a payload made by [`payload`]; the HTML keeps the payload's buffer (a
/// newsletter's ~60 KB is not copied again).
pub fn from_payload(mut payload: Vec<u8>) -> Result<Bodies, CodecError> {
    let (&flags, rest) = payload.split_first().ok_or(CodecError::Payload("empty"))?;
    if rest.len() < 4 || flags & !(HTML | TEXT) != 0 {
        return Err(CodecError::Payload("bad header"));
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    if len > rest.len() - 4 {
        return Err(CodecError::Payload("HTML length past the end"));
    }
    let text = payload.split_off(5 + len);
    payload.drain(..5);
    let utf8 = |b: Vec<u8>| String::from_utf8(b).map_err(|_| CodecError::Payload("not UTF-8"));
    Ok(Bodies {
        html: (flags & HTML != 0).then(|| utf8(payload)).transpose()?,
        text: (flags & TEXT != 0).then(|| utf8(text)).transpose()?,
        purged_at: None,
    })
}

/// Compresses bytes against `dictionary` (raw content: any bytes that the data is likely to
/// repeat), or alone. For many frames with one dictionary, keep a [`Packer`].
pub fn compress(data: &[u8], dictionary: Option<&[u8]>) -> Result<Vec<u8>, CodecError> {
    Ok(Packer::new(dictionary)?.compress(data)?)
}

/// Decompresses a frame made by [`compress`] or a [`Packer`] with the same dictionary. For
/// many frames, keep an [`Unpackers`].
pub fn decompress(frame: &[u8], dictionary: Option<&[u8]>) -> Result<Vec<u8>, CodecError> {
    Unpackers::default().decompress(frame, None, dictionary)
}

/// Decompression contexts kept between frames, one per dictionary id (`None`: frames
/// compressed alone): a delivery batch of one campaign loads its ~130 KB dictionary and
/// allocates zstd's window once, not once per email. One owner at a time.
#[derive(Default)]
pub struct Unpackers(HashMap<Option<String>, zstd::bulk::Decompressor<'static>>);

impl Unpackers {
    /// Decompresses `frame`, compressed against `dictionary` (whose id is `id`: one id, one
    /// content) or alone.
    ///
    /// # Errors
    /// The frame does not say its size or claims more than 256 MB, or zstd refuses it.
    pub fn decompress(
        &mut self,
        frame: &[u8],
        id: Option<&str>,
        dictionary: Option<&[u8]>,
    ) -> Result<Vec<u8>, CodecError> {
        let size = zstd::zstd_safe::get_frame_content_size(frame)
            .ok()
            .flatten()
            .filter(|&n| n <= MAX_PAYLOAD)
            .ok_or(CodecError::Size)?;
        let key = match (id, dictionary) {
            (_, None) => None,
            (Some(id), Some(_)) => Some(id.to_string()),
            // A dictionary without an id cannot be told from another: a context of its own.
            (None, Some(dictionary)) => {
                let mut once = zstd::bulk::Decompressor::with_dictionary(dictionary)?;
                return Ok(once.decompress(frame, size as usize)?);
            }
        };
        let d = match self.0.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(match dictionary {
                Some(dictionary) => zstd::bulk::Decompressor::with_dictionary(dictionary)?,
                None => zstd::bulk::Decompressor::new()?,
            }),
        };
        Ok(d.decompress(frame, size as usize)?)
    }
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
            let back = from_payload(payload(&b)).unwrap();
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
        assert!(from_payload(vec![]).is_err());
        assert!(from_payload(vec![1, 9, 0, 0, 0, b'a']).is_err());
        assert!(from_payload(vec![8, 0, 0, 0, 0]).is_err());
        assert!(from_payload(vec![1, 1, 0, 0, 0, 0xff]).is_err());
    }

    #[test]
    fn kept_contexts_read_frames_of_several_dictionaries_in_any_order() {
        let (a, b) = (
            b"newsletter A: hello ".repeat(50),
            b"newsletter B: bonjour ".repeat(50),
        );
        type Frame<'a> = (Option<&'a str>, Option<&'a [u8]>, Vec<u8>);
        let frames: Vec<Frame> = (0..6)
            .map(|i| {
                let data = format!("{i} hello bonjour {i}").repeat(20 + i).into_bytes();
                let (id, dictionary) = match i % 3 {
                    0 => (Some("a"), Some(&a[..])),
                    1 => (Some("b"), Some(&b[..])),
                    _ => (None, None),
                };
                (id, dictionary, data)
            })
            .collect();
        let mut kept = Unpackers::default();
        for _ in 0..2 {
            for (id, dictionary, data) in &frames {
                let frame = compress(data, *dictionary).unwrap();
                assert_eq!(&kept.decompress(&frame, *id, *dictionary).unwrap(), data);
            }
        }
        // One context per dictionary id and one for frames alone.
        assert_eq!(kept.0.len(), 3);
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
                let back = from_payload(decompress(&frame, dictionary).unwrap()).unwrap();
                prop_assert_eq!(&back.html, &b.html);
                prop_assert_eq!(&back.text, &b.text);
            }
        }
    }
}
