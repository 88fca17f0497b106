//! `aie plan`: claim unplanned items, write plans, route each by policy. The planner comes
//! from `llm.provider`: `template` (default), `anthropic` or `openai_compatible`.

use crate::config::LlmProvider;
use crate::connectors::anthropic::AnthropicClient;
use crate::connectors::llm_http::LanguageModel;
use crate::connectors::openai_compatible::OpenAiCompatibleClient;
use crate::context::{Ctx, Cx};
use crate::exit::AieError;
use crate::outcome::Outcome;
use crate::planner::llm::{Halt, LlmPlanner, tokens_used};
use crate::planner::template::TemplatePlanner;
use crate::vault::waiting::Waiting;
use anyhow::Result;
use std::time::{Duration, Instant};

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

/// How long one model call may take before it counts as a network error.
const MODEL_TIMEOUT: Duration = Duration::from_secs(120);

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
    let Some(model) = model(ctx)? else {
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

/// The model `llm.provider` names, or None for the template planner. Errors are config
/// errors (exit 78): a missing key, model or base URL.
pub fn model(ctx: &Ctx) -> Result<Option<Box<dyn LanguageModel>>> {
    let llm = &ctx.settings.llm;
    Ok(Some(match llm.provider {
        LlmProvider::Template => return Ok(None),
        LlmProvider::Anthropic => {
            let key = ctx
                .secrets
                .require("llm.provider anthropic", &["AIE_ANTHROPIC_API_KEY"])?;
            Box::new(AnthropicClient::new(
                llm.api_base
                    .as_deref()
                    .unwrap_or("https://api.anthropic.com"),
                &key[0],
                &llm.api_version,
                llm.model.as_deref().unwrap_or("claude-sonnet-4-5"),
                MODEL_TIMEOUT,
            ))
        }
        LlmProvider::OpenaiCompatible => {
            let (Some(base), Some(model)) = (llm.api_base.as_deref(), llm.model.as_deref()) else {
                return Err(AieError::Config(
                    "llm.provider openai_compatible needs `llm.api_base` (e.g. http://localhost:11434) and `llm.model` in aie.yaml".into(),
                )
                .into());
            };
            Box::new(OpenAiCompatibleClient::new(
                base,
                ctx.secrets.get("AIE_LLM_API_KEY"),
                model,
                MODEL_TIMEOUT,
            ))
        }
    }))
}
