//! Delivery: workers claim queued emails from the store and hand them to the transport.

mod batch;
mod message;
mod outcome;
mod transport;
mod worker;

pub use transport::Transport;
pub use worker::spawn_workers;
