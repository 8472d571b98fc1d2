//! The byte layout of tokens and their base64url text form.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{ClickToken, DestinationId, EmailId, Target, TokenError};

/// Bytes of HMAC-SHA256 kept: 128 bits.
pub(super) const TAG_LEN: usize = 16;

/// The first payload byte. It also versions the format: a new layout gets a new kind byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Kind {
    Open = 1,
    /// Sealed before destinations were normalised: opened, never sealed.
    ClickLegacy = 2,
    Click = 3,
    ClickStored = 4,
}

impl Kind {
    pub(super) fn is_click(byte: u8) -> bool {
        [Kind::ClickLegacy, Kind::Click, Kind::ClickStored]
            .iter()
            .any(|k| *k as u8 == byte)
    }
}

pub(super) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict decoding: non-canonical trailing bits and padding are rejected, so no two strings
/// decode to the same token.
pub(super) fn decode(text: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| TokenError::Malformed)
}

pub(super) fn write_open(out: &mut Vec<u8>, key_id: u8, email_id: EmailId) {
    out.push(Kind::Open as u8);
    out.push(key_id);
    out.extend_from_slice(&email_id);
}

pub(super) fn click_capacity(url: &str, tag: Option<&str>) -> usize {
    2 + 16 + 5 + 5 + tag.map_or(0, str::len) + url.len()
}

/// The base64url length of an inline click token (payload and tag), without building it.
pub(crate) fn inline_click_len(link_index: u32, url: &str, tag: Option<&str>) -> usize {
    let tag_len = match tag {
        None => 1,
        Some(t) => varint_len(u32::try_from(t.len() + 1).unwrap_or(u32::MAX)) + t.len(),
    };
    let bytes = 2 + 16 + varint_len(link_index) + tag_len + url.len() + TAG_LEN;
    (bytes * 4).div_ceil(3)
}

/// The base64url length of a stored click token whose URL suffix has `suffix_len` bytes.
pub(crate) fn stored_click_len(link_index: u32, suffix_len: usize) -> usize {
    let bytes = 2 + 16 + varint_len(link_index) + 16 + suffix_len + TAG_LEN;
    (bytes * 4).div_ceil(3)
}

fn varint_len(mut value: u32) -> usize {
    let mut n = 1;
    while value >= 0x80 {
        value >>= 7;
        n += 1;
    }
    n
}

pub(super) fn write_click(
    out: &mut Vec<u8>,
    key_id: u8,
    (email_id, link_index, url, tag): (EmailId, u32, &str, Option<&str>),
) {
    out.push(Kind::Click as u8);
    out.push(key_id);
    out.extend_from_slice(&email_id);
    write_varint(out, link_index);
    match tag {
        None => write_varint(out, 0),
        Some(tag) => {
            // Lengths above u32::MAX - 1 cannot be sealed; tags are short names in practice.
            let len = u32::try_from(tag.len()).unwrap_or(u32::MAX - 1);
            write_varint(out, len + 1);
            out.extend_from_slice(&tag.as_bytes()[..len as usize]);
        }
    }
    out.extend_from_slice(url.as_bytes());
}

pub(super) fn write_click_stored(
    out: &mut Vec<u8>,
    key_id: u8,
    email_id: EmailId,
    link_index: u32,
    (id, suffix): (DestinationId, &str),
) {
    out.push(Kind::ClickStored as u8);
    out.push(key_id);
    out.extend_from_slice(&email_id);
    write_varint(out, link_index);
    out.extend_from_slice(&id.0);
    out.extend_from_slice(suffix.as_bytes());
}

/// Reads a payload (kind and key id already checked).
pub(super) fn read_open(payload: &[u8]) -> Result<EmailId, TokenError> {
    payload[2..]
        .try_into()
        .map_err(|_| TokenError::InvalidPayload)
}

/// Reads a click payload of any click kind (kind and key id already checked). A legacy URL
/// is normalised here, so every caller gets the `Location` to answer.
pub(super) fn read_click(payload: &[u8]) -> Result<ClickToken, TokenError> {
    let kind = payload[0];
    let rest = &payload[2..];
    let email_id: EmailId = rest
        .get(..16)
        .and_then(|b| b.try_into().ok())
        .ok_or(TokenError::InvalidPayload)?;
    let mut rest = &rest[16..];
    let link_index = read_varint(&mut rest)?;
    if kind == Kind::ClickStored as u8 {
        let id: [u8; 16] = rest
            .get(..16)
            .and_then(|b| b.try_into().ok())
            .ok_or(TokenError::InvalidPayload)?;
        return Ok(ClickToken {
            email_id,
            link_index,
            target: Target::Stored {
                id: DestinationId(id),
                suffix: utf8(&rest[16..])?,
            },
        });
    }
    let tag = match read_varint(&mut rest)? {
        0 => None,
        n => {
            let len = (n - 1) as usize;
            let bytes = rest.get(..len).ok_or(TokenError::InvalidPayload)?;
            rest = &rest[len..];
            Some(utf8(bytes)?)
        }
    };
    let mut url = utf8(rest)?;
    if kind == Kind::ClickLegacy as u8
        && let Some(normalised) = crate::links::destination(&url)
    {
        url = normalised;
    }
    Ok(ClickToken {
        email_id,
        link_index,
        target: Target::Inline { url, tag },
    })
}

fn utf8(bytes: &[u8]) -> Result<String, TokenError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| TokenError::InvalidPayload)
}

/// LEB128: 7 bits a byte, high bit set on all but the last.
fn write_varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(input: &mut &[u8]) -> Result<u32, TokenError> {
    let mut value: u64 = 0;
    for shift in 0..5 {
        let (&byte, rest) = input.split_first().ok_or(TokenError::InvalidPayload)?;
        *input = rest;
        value |= u64::from(byte & 0x7f) << (7 * shift);
        if byte & 0x80 == 0 {
            return u32::try_from(value).map_err(|_| TokenError::InvalidPayload);
        }
    }
    Err(TokenError::InvalidPayload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_edges() {
        for v in [0, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut buf = Vec::new();
            write_varint(&mut buf, v);
            let mut slice = buf.as_slice();
            assert_eq!(read_varint(&mut slice), Ok(v));
            assert!(slice.is_empty());
        }
    }

    #[test]
    fn inline_length_is_predicted() {
        for (index, url, tag) in [
            (0, "", None),
            (127, "https://x.com/", Some("")),
            (128, "https://x.com/ü", Some("cta")),
            (u32::MAX, &"a".repeat(300)[..], Some(&"t".repeat(200)[..])),
        ] {
            let mut out = Vec::new();
            write_click(&mut out, 1, ([0; 16], index, url, tag));
            out.extend_from_slice(&[0; TAG_LEN]);
            assert_eq!(inline_click_len(index, url, tag), encode(&out).len());
            let mut out = Vec::new();
            write_click_stored(&mut out, 1, [0; 16], index, (DestinationId([0; 16]), url));
            out.extend_from_slice(&[0; TAG_LEN]);
            assert_eq!(stored_click_len(index, url.len()), encode(&out).len());
        }
    }

    #[test]
    fn varint_rejects_overlong() {
        let mut slice: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert!(read_varint(&mut slice).is_err());
    }
}
