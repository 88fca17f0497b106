//! The LLM planner: builds the prompt (the item marked as untrusted data, the handbook and
//! the goals), asks a [`LanguageModel`] for JSON that matches the closed action schema of
//! SPEC.md, and validates the answer field by field. Anything invalid, an unknown kind or a
//! missing field makes it fall back to the template planner for that item, with the reason
//! written in the plan; so does a spent `llm.daily_token_budget` or the vendor's spend limit.
//! It never decides approval: whatever the model says about `needs_approval` or `rule` is
//! dropped, and the planning pass asks the policy. A model that cannot be reached leaves the
//! item for the next pass (the planner returns an error and stops calling the model).
//!
//! `prompt` builds the request, `validate` checks the answer, `budget` keeps the day's
//! token count; this file is the planner that ties them with the fallback.

mod budget;
mod prompt;
mod validate;

pub use budget::{record_tokens, tokens_used};
pub use prompt::{TOOL_NAME, build_request, fence_untrusted, plan_schema};
pub use validate::check_answer;

use super::template::plan_item_with;
use super::{Plan, PlanInput, Planner};
use crate::connectors::llm_http::{LanguageModel, ModelError};
use crate::exit::AieError;
use crate::state::StateStore;
use anyhow::Result;
use std::time::Instant;

/// How many model calls between two writes of the token count to state.
const FLUSH_EVERY: u32 = 20;

/// Why the planner stopped calling the model for the rest of the pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// Unreachable: items wait for the next pass (exit 69 when nothing was planned).
    Unreachable(String),
    /// The key, model or base URL is wrong (exit 78).
    Config(String),
}

/// What an LLM planning pass met, for the command's report.
#[derive(Debug, Default, Clone)]
pub struct LlmReport {
    pub halted: Option<Halt>,
    pub spend_limit: Option<String>,
    pub planned_by_model: u64,
    pub fallbacks: u64,
    pub tokens: u64,
}

/// The LLM planner.
pub struct LlmPlanner {
    model: Box<dyn LanguageModel>,
    max_tokens: u32,
    budget: Option<u64>,
    day: String,
    /// Tokens of `day` already in state when the pass began.
    used_before: u64,
    /// Tokens this pass used, and the part not yet in state.
    used_now: u64,
    unrecorded: u64,
    calls_since_flush: u32,
    store: Option<StateStore>,
    deadline: Option<Instant>,
    /// `planner.acknowledge`, for the template planner this one falls back to.
    acknowledge: bool,
    report: LlmReport,
}

impl LlmPlanner {
    /// A planner over `model`. `used_before` is the day's token count from state; `store`,
    /// when given, receives the count as the pass goes.
    pub fn new(
        model: Box<dyn LanguageModel>,
        max_tokens: u32,
        budget: Option<u64>,
        day: &str,
        used_before: u64,
        store: Option<StateStore>,
        deadline: Option<Instant>,
    ) -> LlmPlanner {
        LlmPlanner {
            model,
            max_tokens,
            budget,
            day: day.to_string(),
            used_before,
            used_now: 0,
            unrecorded: 0,
            calls_since_flush: 0,
            store,
            deadline,
            acknowledge: true,
            report: LlmReport::default(),
        }
    }

    /// Sets `planner.acknowledge` for the fallback: when false, an item the template planner
    /// plans instead of the model gets no drafted acknowledgement either.
    pub fn acknowledge(mut self, acknowledge: bool) -> LlmPlanner {
        self.acknowledge = acknowledge;
        self
    }

    fn fallback(&mut self, input: &PlanInput, reason: String, tokens: Option<u64>) -> Plan {
        self.report.fallbacks += 1;
        let mut p = plan_item_with(input, self.acknowledge);
        p.fallback_reason = Some(reason);
        p.tokens = tokens;
        p
    }

    fn add_tokens(&mut self, n: u64) {
        self.used_now += n;
        self.unrecorded += n;
        self.report.tokens += n;
        self.calls_since_flush += 1;
        if self.calls_since_flush >= FLUSH_EVERY {
            // A failed write is retried at the next flush; the count is never lost in memory.
            let _ = self.flush();
        }
    }

    /// Writes the tokens not yet recorded into state.
    pub fn flush(&mut self) -> Result<()> {
        self.calls_since_flush = 0;
        if self.unrecorded == 0 {
            return Ok(());
        }
        if let Some(store) = &self.store {
            let (day, n) = (self.day.clone(), self.unrecorded);
            store.update(|s| record_tokens(s, &day, n))?;
        }
        self.unrecorded = 0;
        Ok(())
    }

    /// Flushes the token count and returns what the pass met.
    pub fn finish(mut self) -> Result<LlmReport> {
        self.flush()?;
        Ok(self.report)
    }
}

impl Planner for LlmPlanner {
    fn plan(&mut self, input: &PlanInput) -> Result<Plan> {
        match &self.report.halted {
            Some(Halt::Unreachable(m)) => {
                return Err(AieError::Unavailable(format!(
                    "the model was unreachable earlier in this pass ({m})"
                ))
                .into());
            }
            Some(Halt::Config(m)) => return Err(AieError::Config(m.clone()).into()),
            None => {}
        }
        if let Some(r) = self.report.spend_limit.clone() {
            return Ok(self.fallback(
                input,
                format!("the model's spend limit is reached: {r}"),
                None,
            ));
        }
        if let Some(b) = self.budget {
            let used = self.used_before + self.used_now;
            if used >= b {
                return Ok(self.fallback(
                    input,
                    format!(
                        "the daily token budget is spent ({used} of {b} tokens on {}): `llm.daily_token_budget` in aie.yaml",
                        self.day
                    ),
                    None,
                ));
            }
        }
        let req = build_request(input, self.max_tokens);
        match self.model.complete(&req, self.deadline) {
            Ok(reply) => {
                self.add_tokens(reply.tokens);
                let tokens = Some(reply.tokens);
                match reply.answer.and_then(|v| check_answer(&v)) {
                    Ok(mut plan) => {
                        self.report.planned_by_model += 1;
                        plan.planner = self.model.label();
                        plan.tokens = tokens;
                        Ok(plan)
                    }
                    Err(reason) => Ok(self.fallback(
                        input,
                        format!("{} gave no valid plan: {reason}", self.model.label()),
                        tokens,
                    )),
                }
            }
            Err(ModelError::Unreachable(m)) => {
                self.report.halted = Some(Halt::Unreachable(m.clone()));
                Err(AieError::Unavailable(m).into())
            }
            Err(ModelError::Config(m)) => {
                let m = format!("{m}: check `llm.model`, `llm.api_base` and the key");
                self.report.halted = Some(Halt::Config(m.clone()));
                Err(AieError::Config(m).into())
            }
            Err(ModelError::SpendLimit(m)) => {
                self.report.spend_limit = Some(m.clone());
                Ok(self.fallback(
                    input,
                    format!("the model's spend limit is reached: {m}"),
                    None,
                ))
            }
            Err(ModelError::Rejected(m)) => Ok(self.fallback(input, m, None)),
        }
    }
}

#[cfg(test)]
mod tests;
