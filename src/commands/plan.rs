//! `aie plan`: claim unplanned items, write plans, route each by policy. The planner comes
//! from `llm.provider`: `template` (default), `anthropic` or `openai_compatible`.

use crate::context::{Ctx, Cx};
use crate::exit::AieError;
use crate::outcome::Outcome;
use crate::planner::llm::{Halt, LlmPlanner, tokens_used};
use crate::planner::template::TemplatePlanner;
use crate::vault::waiting::Waiting;
use anyhow::Result;
use std::time::Instant;

/// The help of `--dry-run`.
pub const DRY_RUN: &str = "\
    Plan every unplanned item in memory and show where each would go and why; \
    claim, write and move nothing";

/// `--dry-run`, `--json`, `--deadline`.
pub type PlanArgs = crate::cli::DryRunPassFlags;

/// The pass to run: the real one, with the requests it saw waiting, or the preview of
/// `--dry-run`.
fn pass(
    ctx: &Ctx,
    args: &PlanArgs,
    planner: &mut dyn crate::planner::Planner,
) -> Result<(Outcome, Option<Waiting>)> {
    if args.dry_run {
        Ok((crate::passes::plan::preview_pass(ctx, planner)?, None))
    } else {
        let (out, waiting) = crate::passes::plan::plan_pass_seeing(ctx, planner)?;
        Ok((out, Some(waiting)))
    }
}

/// Runs the plan pass (or its preview), then sends the nudge digest when one is due.
pub fn run(cx: &Cx, args: &PlanArgs) -> Result<Outcome> {
    let (mut out, waiting) = plan(cx, args)?;
    if !args.dry_run {
        // The index of waiting requests is saved while the digest reads it (a cache: lost
        // in a crash, the next pass reads the requests again).
        let nudged = std::thread::scope(|s| {
            if let Some(w) = &waiting {
                s.spawn(|| w.save());
            }
            crate::nudge::nudge(cx.ctx(), waiting.as_ref())
        });
        match nudged {
            Ok(n) => out.count("nudged", n as u64),
            Err(e) => out.problem("plan:nudge", format!("{e:#}")),
        }
    }
    Ok(out)
}

/// Runs the plan pass (or its preview) with the planner `llm.provider` names; with the
/// requests the pass saw waiting, when it ran.
fn plan(cx: &Cx, args: &PlanArgs) -> Result<(Outcome, Option<Waiting>)> {
    let ctx = cx.ctx();
    if !args.dry_run
        && let Some(skipped) = crate::zones::skip(ctx, crate::config::Duty::Plan, "plan")
    {
        return Ok((skipped, None));
    }
    let Some(model) = crate::connectors::llm_http::model(&ctx.settings, &ctx.secrets)? else {
        let acknowledge = ctx.settings.planner.acknowledge;
        return pass(ctx, args, &mut TemplatePlanner { acknowledge });
    };
    let day = ctx.clock.today();
    let used = tokens_used(&ctx.state.load()?, &day);
    let deadline = ctx.time_left().map(|left| Instant::now() + left);
    let mut planner = LlmPlanner::new(
        model,
        ctx.settings.llm.max_tokens,
        ctx.settings.llm.daily_token_budget,
        &day,
        used,
        Some(ctx.state.clone()),
        deadline,
    )
    .acknowledge(ctx.settings.planner.acknowledge);
    let result = pass(ctx, args, &mut planner);
    let report = planner.finish()?;
    let (mut out, waiting) = result?;
    out.count("llm_planned", report.planned_by_model);
    out.count("template_fallback", report.fallbacks);
    out.count("llm_tokens", report.tokens);
    if !out.summary.is_empty() {
        out.summary = format!("plan: {}", out.counts_line());
    }
    match report.halted {
        Some(Halt::Config(m)) => return Err(AieError::Config(m).into()),
        Some(Halt::Unreachable(m)) if out.counts.get("planned").copied().unwrap_or(0) == 0 => {
            return Err(AieError::Unavailable(format!(
                "{m}; items wait in `In_Progress/{}/` for the next pass",
                ctx.agent
            ))
            .into());
        }
        _ => {}
    }
    if let Some(m) = report.spend_limit {
        out.problem(
            "llm:spend_limit",
            format!("the model's spend limit is reached ({m}); the template planner planned the rest of this pass"),
        );
    }
    Ok((out, waiting))
}
