//! Beacon: a self-hostable email platform engine with first-class open and click tracking.
//! `main.rs` only wires; everything lives here so integration tests drive the same code.

pub mod actions;
pub mod api;
pub mod bodies;
pub mod bootstrap;
pub mod campaigns;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod domains;
pub mod engine;
pub mod error;
pub mod links;
pub mod render;
pub mod segments;
pub mod sending;
pub mod ses;
pub mod startup;
pub mod store;
pub mod time;
pub mod tracking;
pub mod web;
pub mod workflows;
