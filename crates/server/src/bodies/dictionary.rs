//! The dictionary an email's bodies are compressed against: the content its siblings share
//! (the campaign's, the workflow step's, the template's or the multi-recipient send's prepared
//! body, rendered for a recipient with no values), so a stored email costs roughly its
//! personal values and its sealed tokens. A send without siblings is compressed alone.
//!
//! A dictionary's id is a hash of its project and content: every email of a campaign, and
//! every run of a workflow step or send of a template with the same content, shares one row of
//! `body_dictionaries`, itself compressed alone.

use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::codec::{self, CodecError, Packer};
use crate::store::emails::Bodies;

/// A dictionary as stored: its id and its content compressed alone.
#[derive(Debug)]
pub struct Dictionary {
    pub id: String,
    pub project_id: String,
    pub stored: Vec<u8>,
}

/// Packs the bodies of one prepared content's emails (a campaign fan-out, a send request, a
/// workflow step). Holds its compressor behind a lock: sends of one content are queued one
/// after another.
#[derive(Debug)]
pub struct BodyPacker {
    dictionary: Option<Arc<Dictionary>>,
    packer: Mutex<Packer>,
}

impl BodyPacker {
    /// Bodies compressed alone.
    pub fn alone() -> Result<BodyPacker, CodecError> {
        Ok(BodyPacker {
            dictionary: None,
            packer: Mutex::new(Packer::new(None)?),
        })
    }

    /// Bodies compressed against `content` (a payload of `codec::payload`), a dictionary of
    /// `project_id`.
    pub fn shared(project_id: &str, content: &[u8]) -> Result<BodyPacker, CodecError> {
        let mut hash = Sha256::new();
        hash.update(project_id.as_bytes());
        hash.update([0]);
        hash.update(content);
        let id: String = hash.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(BodyPacker {
            dictionary: Some(Arc::new(Dictionary {
                id,
                project_id: project_id.to_string(),
                stored: codec::compress(content, None)?,
            })),
            packer: Mutex::new(Packer::new(Some(content))?),
        })
    }

    /// The dictionary to store before the first email packed with it (`None` when alone).
    pub fn dictionary(&self) -> Option<&Arc<Dictionary>> {
        self.dictionary.as_ref()
    }

    /// The frame to store for `bodies`, and the id of the dictionary it needs.
    pub fn pack(&self, bodies: &Bodies) -> Result<(Option<&str>, Vec<u8>), CodecError> {
        self.pack_bytes(&codec::payload(bodies))
    }

    /// The frame to store for any bytes (an outbox message), and the id of the dictionary it
    /// needs.
    pub fn pack_bytes(&self, data: &[u8]) -> Result<(Option<&str>, Vec<u8>), CodecError> {
        let frame = self
            .packer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .compress(data)?;
        Ok((self.dictionary.as_ref().map(|d| d.id.as_str()), frame))
    }
}
