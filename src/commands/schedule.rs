//! stub
use crate::cli::GlobalArgs;
use crate::context::Env;
use crate::exit::Exit;
use anyhow::Result;
use clap::Args;
#[derive(Debug, Args)]
pub struct ScheduleArgs {}
pub fn run(_env: &Env, _g: &GlobalArgs, _a: &ScheduleArgs) -> Result<Exit> {
    Ok(Exit::Ok)
}
