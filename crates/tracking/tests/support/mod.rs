//! Shared test setup: a fixed key, config and email id so outputs are deterministic.
#![allow(dead_code)]

use beacon_tracking::rewrite::RewriteConfig;
use beacon_tracking::token::{EmailId, KeyRing, SigningKey};

pub const BASE: &str = "https://t.example.com";
pub const EMAIL: EmailId = *b"0123456789abcdef";

pub fn ring() -> KeyRing {
    KeyRing::new(SigningKey::new(1, [0x42; 32]), vec![])
}

pub fn config() -> RewriteConfig {
    RewriteConfig::builder(BASE).build().unwrap()
}
