//! How email bodies are kept at campaign scale (docs/ARCHITECTURE.md, "How bodies are stored").
//!
//! - `codec`: an email's HTML and text as one zstd frame, and back to the exact bytes.
//! - `dictionary`: what the frame is compressed against — the content an email's siblings
//!   share (a campaign's, a workflow step's, a template's prepared body), or nothing.
//! - `repack`: bodies and outbox messages an older Beacon stored in plain text, compressed in
//!   place in the background, resumably.
//! - `retention`: `BEACON_BODY_RETENTION_DAYS` and `BEACON_HIT_CLIENT_RETENTION_DAYS`, applied
//!   in small batches in the background.

pub mod codec;
pub mod dictionary;
pub mod repack;
pub mod retention;
