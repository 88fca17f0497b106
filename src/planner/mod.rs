//! Planners turn an item into a plan: an objective, steps, and proposed actions with the
//! reason for each. They never decide approval (that is `policy`). The template planner is
//! the default and the fallback of every other planner.

pub mod llm;
pub mod template;

use crate::config::Owner;
use crate::vault::Item;
use anyhow::Result;
use serde_json::{Map, Value};

/// What a planner sees.
pub struct PlanInput<'a> {
    pub item: &'a Item,
    pub owner: &'a Owner,
    /// `Company_Handbook.md`: the owner's rules, in their words.
    pub handbook: &'a str,
    /// `Business_Goals.md`.
    pub goals: &'a str,
    /// When the plan is made (WhatsApp's 24-hour window is counted to it); `None`: unknown.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// `whatsapp.reply_template`: the approved template a reply outside the window uses.
    pub whatsapp_template: Option<&'a str>,
}

/// A proposed action and why.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub action: Map<String, Value>,
    pub why: String,
}

/// A plan for one item.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub objective: String,
    pub steps: Vec<String>,
    pub proposals: Vec<Proposal>,
    /// Which planner wrote it (`template`, `anthropic:<model>`...).
    pub planner: String,
    /// Why a fallback planner was used, when it was.
    pub fallback_reason: Option<String>,
    /// Tokens the model used for this item.
    pub tokens: Option<u64>,
}

/// Something that plans items.
pub trait Planner {
    /// Plans one item. An error leaves the item for the next pass.
    fn plan(&mut self, input: &PlanInput) -> Result<Plan>;

    /// A copy of this planner for another thread, when it keeps no state between items (the
    /// template planner): a pass may then plan a batch on several threads. None (the
    /// default: a model's planner counts tokens and calls) plans on this thread only.
    fn fork(&self) -> Option<Box<dyn Planner + Send>> {
        None
    }
}
