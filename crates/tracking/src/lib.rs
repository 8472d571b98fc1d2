#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod classify;
pub mod corpus;
pub mod html;
pub mod links;
pub mod policy;
pub mod preview;
pub mod redirect;
pub mod rewrite;
pub mod token;
pub mod vars;

#[doc(hidden)]
pub mod fuzzing;
