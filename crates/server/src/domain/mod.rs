//! Values parsed at the edge: once a request field becomes one of these, it is known good.

mod email_address;
mod mailbox;

pub use email_address::{EmailAddress, EmailAddressError};
pub use mailbox::{Mailbox, MailboxInput};
