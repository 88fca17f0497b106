//! `aie ceo-briefing [--week YYYY-Www] [--stdout] [--email]`: the Monday briefing of one
//! ISO week (default: last week in `timezone`), written to `Briefings/` unless it already
//! says the same ([`crate::briefing`] gathers and words it). `--email` mails it to
//! `owner.email` through the mail capability, only when `execution.dry_run` is false.

use crate::briefing::{self, Week, Written};
use crate::context::{Ctx, Cx};
use crate::exit::AieError;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct CeoBriefingArgs {
    /// The ISO week (YYYY-Www, such as 2026-W47); default: last week.
    #[arg(long)]
    pub week: Option<String>,
    /// Print the briefing instead of writing it.
    #[arg(long)]
    pub stdout: bool,
    /// Mail it to owner.email as well (only when execution.dry_run is false).
    #[arg(long)]
    pub email: bool,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

/// Gathers, writes (or prints) and mails the briefing.
pub fn run(cx: &Cx, args: &CeoBriefingArgs) -> Result<Outcome> {
    let ctx = cx.ctx();
    let week = Week::pick(ctx.clock.tz(), args.week.as_deref(), ctx.clock.now())
        .map_err(|e| AieError::Usage(format!("--week: {e:#}")))?;
    let mut report = briefing::gather(ctx, &week)?;
    let mut out = Outcome::default();
    // The model is asked only when the text would change (the same figures: nothing to say).
    let llm_note = if !args.stdout && briefing::unchanged(ctx, &report)? {
        "not asked: the figures did not change".to_string()
    } else {
        narrate(ctx, &mut report)?
    };
    let written = if args.stdout {
        out.summary = briefing::text(&report);
        None
    } else {
        let w = briefing::write(ctx, &report)?;
        out.changed = w != Written::Unchanged;
        let said = match w {
            Written::Created => "written",
            Written::Updated => "updated (a figure changed)",
            Written::Unchanged => "unchanged",
        };
        out.summary = format!("ceo-briefing: {} {said}\n", report.file);
        if out.changed {
            out.activity
                .push(format!("briefing {} {said}", report.week));
        }
        Some(said)
    };
    // Only a written briefing files its requests (`--stdout` only shows).
    let requests = if args.stdout {
        Vec::new()
    } else {
        briefing::requests::file(ctx, &report)?
    };
    for id in &requests {
        out.changed = true;
        out.activity.push(format!(
            "[[{id}]] waits for approval: a subscription to review"
        ));
    }
    out.count("requests", requests.len() as u64);
    let mailed = if args.email {
        mail(ctx, &report)
    } else {
        "not asked"
    };
    if args.email && !args.stdout {
        out.summary += &format!("mail: {mailed}\n");
    }
    out.json = serde_json::json!({
        "file": report.file,
        "written": written,
        "mail": mailed,
        "requests": requests,
        "llm_narrative": report.narrative.is_some(),
        "llm": llm_note,
        "report": report,
    });
    Ok(out)
}

/// Asks the configured model for the executive summary, within the day's token budget, and
/// puts it in `report`. Says what became of it; the template summary stands on any failure.
/// Errors: only a broken `llm` configuration (exit 78) or an unwritable state file.
fn narrate(ctx: &crate::context::Ctx, report: &mut briefing::Report) -> Result<String> {
    let Some(model) = crate::connectors::llm_http::model(&ctx.settings, &ctx.secrets)? else {
        return Ok("no model configured: the template summary".into());
    };
    let day = ctx.clock.today();
    let used = crate::planner::llm::tokens_used(&ctx.state.load()?, &day);
    if let Some(b) = ctx.settings.llm.daily_token_budget
        && used >= b
    {
        return Ok(format!(
            "the daily token budget is spent ({used} of {b}): the template summary"
        ));
    }
    let deadline = ctx.time_left().map(|left| std::time::Instant::now() + left);
    let res = briefing::narrative::narrate(
        model.as_ref(),
        report,
        ctx.settings.llm.max_tokens,
        deadline,
    );
    let tokens = match &res {
        Ok((_, t)) | Err((_, t)) => *t,
    };
    if tokens > 0 {
        ctx.state
            .update(|s| crate::planner::llm::record_tokens(s, &day, tokens))?;
    }
    Ok(match res {
        Ok((text, _)) => {
            report.narrative = Some(text);
            report.narrator = model.label();
            format!("written by {}", model.label())
        }
        Err((why, _)) => {
            let why = crate::secrets::scrub(&why);
            log::warn!("ceo-briefing: no narrative, the template summary stands: {why}");
            format!("the template summary: {why}")
        }
    })
}

/// Mails the briefing to the owner; says what became of it.
fn mail(ctx: &Ctx, report: &briefing::Report) -> &'static str {
    use crate::alerts::{NotMailed, send_to_owner};
    if !ctx.live(false) {
        return "dry run: not sent (execution.dry_run is true)";
    }
    let body = briefing::text(report);
    let key = crate::vault::item::make_id("briefing", &[report.week.as_bytes(), body.as_bytes()]);
    let subject = format!("Monday briefing: week {}", report.week);
    match send_to_owner(ctx, &subject, body, key) {
        Ok(()) => "sent",
        Err(NotMailed::NoOwner) => "not sent: no owner.email in aie.yaml",
        Err(NotMailed::NoSmtp) => "not sent: no smtp section in aie.yaml",
        Err(NotMailed::Unusable(e)) => {
            log::warn!("cannot mail the briefing: {e}");
            "not sent: smtp is not usable (see the log)"
        }
        Err(NotMailed::Refused(e)) => {
            log::warn!("cannot mail the briefing: {e}");
            "not sent: the mail server refused it (see the log)"
        }
    }
}
