//! `aie plan`: claim unplanned items, write plans, route each by policy.

use crate::context::Ctx;
use crate::outcome::Outcome;
use crate::planner::template::TemplatePlanner;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct PlanArgs {}

pub fn run(ctx: &Ctx, _args: &PlanArgs) -> Result<Outcome> {
    let mut planner = TemplatePlanner;
    crate::planning::plan_pass(ctx, &mut planner)
}
