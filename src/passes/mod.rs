//! The passes over the vault, in the order an item meets them: `intake` (files dropped in
//! `Inbox/` and the content calendar), `gmail_poll` (new Gmail messages), `plan` (claim,
//! plan and route by policy; `replan` brings back items the owner rejected with a reason)
//! and `execute` (run what was approved, with the journal around each side effect). Each
//! is one function from the open vault to an [`crate::outcome::Outcome`]; none prints.

pub mod claims;
pub mod decide;
pub mod execute;
pub mod failover;
pub mod gmail_poll;
pub mod health;
pub mod intake;
pub mod plan;
pub mod replan;
pub mod social_poll;
pub mod sync;
pub mod whatsapp_ingest;
