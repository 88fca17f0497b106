//! One file per subcommand: an args struct and one entry function. Commands are thin: they
//! call into the domain modules and return an [`Outcome`]; the runner prints it.

pub mod alert;
pub mod auth_gmail;
pub mod completions;
pub mod demo;
pub mod doctor;
pub mod execute_approved;
pub mod init;
pub mod man;
pub mod plan;
pub mod poll_gmail;
pub mod process_inbox;
pub mod run;
pub mod schedule;
pub mod status;

pub use crate::outcome::{Outcome, Problem};
