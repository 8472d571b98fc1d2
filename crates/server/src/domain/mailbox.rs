use serde::Deserialize;

use super::{EmailAddress, EmailAddressError};

/// An address with an optional display name, as Plunk's API accepts it: either the bare
/// address `"a@b.co"` or `{"name": "A", "email": "a@b.co"}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum MailboxInput {
    Address(String),
    Named { name: Option<String>, email: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub email: EmailAddress,
}

impl Mailbox {
    pub fn parse(input: &MailboxInput) -> Result<Mailbox, EmailAddressError> {
        let (name, email) = match input {
            MailboxInput::Address(a) => (None, a.as_str()),
            MailboxInput::Named { name, email } => (name.clone(), email.as_str()),
        };
        let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if name
            .as_deref()
            .is_some_and(|n| n.chars().any(char::is_control))
        {
            return Err(EmailAddressError(format!(
                "{email} (its name holds control characters)"
            )));
        }
        Ok(Mailbox {
            name,
            email: EmailAddress::parse(email)?,
        })
    }
}
