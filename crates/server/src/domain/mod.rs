//! Values parsed at the edge: once a request field becomes one of these, it is known good.

mod email_address;
mod hostname;
mod mailbox;
pub mod password;
mod role;

pub use email_address::{EmailAddress, EmailAddressError};
pub use hostname::{Hostname, HostnameError};
pub use mailbox::{Mailbox, MailboxInput};
pub use password::{Password, PasswordError};
pub use role::{Role, RoleError};
