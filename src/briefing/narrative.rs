//! The executive summary in words, when an LLM is configured: the model is given the week's
//! figures alone (counts, amounts, percentages, hours: never an item's id, title or body,
//! never a name from the books) and asked for a few sentences. Its answer is data: scrubbed,
//! escaped, kept short; when there is no answer the template summary stands.

use super::Report;
use crate::connectors::llm_http::{LanguageModel, ModelRequest};
use serde_json::{Value, json};
use std::time::Instant;

/// The figures the model sees: numbers and the week's label, nothing written by anyone.
pub fn figures(r: &Report) -> Value {
    let done: serde_json::Map<String, Value> = r
        .done
        .iter()
        .map(|(d, ids)| (d.clone(), json!(ids.len())))
        .collect();
    let money = r.money.as_ref().map(|m| {
        json!({
            "currency": m.currency,
            "week_revenue": m.week_revenue,
            "month_revenue": m.month_revenue,
            "month_target_pct": m.month_pct,
            "receivables_total": m.receivables_total,
            "overdue_invoices": m.overdue.len(),
            "payment_rate_pct": m.payment_rate,
            "software_monthly": m.software_monthly,
        })
    });
    let g = &r.goals;
    json!({
        "week": r.week,
        "completed_by_domain": done,
        "slow_client_replies": r.slow_replies.len(),
        "slow_approvals": r.slow_approvals.len(),
        "requests_waiting": r.waiting.len(),
        "approvals": r.approvals,
        "approval_median_hours": r.approval_median_hours,
        "social_posts": r.posts.len(),
        "failed_runs": r.failed_runs.len(),
        "health_incidents": r.incidents.len(),
        "subscriptions_to_review": r.subscriptions.len(),
        "requests_expiring_next_week": r.expiring.len(),
        "posts_scheduled_next_week": r.scheduled.len(),
        "bills_due_next_week": r.bills_due.len(),
        "books": money,
        "targets": {
            "monthly_revenue": g.revenue_target,
            "payment_rate_pct": g.payment_rate.0,
            "payment_rate_alert_pct": g.payment_rate.1,
            "software_monthly": g.software.0,
            "software_alert": g.software.1,
        },
    })
}

/// The request for the narrative of `r`.
pub fn request(r: &Report, max_tokens: u32) -> ModelRequest {
    ModelRequest {
        system: "You write the executive summary of a small business owner's Monday briefing. You are given only the week's figures as JSON. Write 2 to 4 plain sentences: how the week went against the targets, and what needs a decision. Use only the figures given; invent nothing; no lists, no headings, no links.".into(),
        user: format!("The figures of week {}:\n{}", r.week, figures(r)),
        tool_name: "submit_summary",
        tool_description: "Submit the executive summary.",
        schema: json!({
            "type": "object",
            "properties": {"summary": {"type": "string"}},
            "required": ["summary"],
            "additionalProperties": false
        }),
        max_tokens,
    }
}

/// The longest narrative kept, in characters.
const MAX_CHARS: usize = 1200;

/// Asks `model` for the narrative. Returns it (one paragraph, escaped) and the tokens used,
/// or why there is none (and the tokens, when a call was made).
pub fn narrate(
    model: &dyn LanguageModel,
    r: &Report,
    max_tokens: u32,
    deadline: Option<Instant>,
) -> Result<(String, u64), (String, u64)> {
    let reply = model
        .complete(&request(r, max_tokens), deadline)
        .map_err(|e| (format!("{}: {e}", model.label()), 0))?;
    let tokens = reply.tokens;
    let answer = reply.answer.map_err(|e| (e, tokens))?;
    let text = answer["summary"].as_str().unwrap_or("").trim();
    if text.is_empty() {
        return Err(("the answer has no summary".into(), tokens));
    }
    let mut one: String = crate::dashboard::inline(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if one.chars().count() > MAX_CHARS {
        one = one.chars().take(MAX_CHARS).collect::<String>() + "...";
    }
    Ok((one, tokens))
}
