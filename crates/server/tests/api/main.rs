//! Integration tests: each test spawns Beacon on a random port with a fresh database (SQLite,
//! or PostgreSQL when BEACON_TEST_DATABASE_URL is set) and drives its HTTP API.

mod helpers;

mod backlog;
mod binary;
mod campaign_audience;
mod campaign_fanout;
mod campaigns;
mod compact_bodies;
mod contacts;
mod dashboard;
mod delivery;
mod delivery_batch;
mod dns;
mod domains;
mod email_bodies;
mod errors;
mod health;
mod ingest;
mod links;
mod openapi;
mod plunk;
mod ratelimit;
mod retention;
mod segments;
mod send;
mod ses_sending;
mod sns;
mod stats_rollup;
mod templates;
mod track;
mod tracking;
mod tracking_settings;
mod verdicts;
mod workflows;
