//! The daily token budget's bookkeeping: the tokens each day used, in `state.json`'s `llm`
//! section, kept for the last 31 days.

use crate::state::State;
use serde_json::{Value, json};

/// Tokens this day (`YYYY-MM-DD`, the owner's zone) has used, from `state.json`'s `llm` section.
pub fn tokens_used(state: &State, day: &str) -> u64 {
    state
        .sections
        .get("llm")
        .and_then(|l| l["tokens_by_day"][day].as_u64())
        .unwrap_or(0)
}

/// Adds `n` tokens to `day` in the `llm` section, keeping the last 31 days.
pub fn record_tokens(state: &mut State, day: &str, n: u64) {
    let llm = state.sections.entry("llm").or_insert_with(|| json!({}));
    if !llm.is_object() {
        *llm = json!({});
    }
    let by_day = llm
        .as_object_mut()
        .expect("invariant: made an object above")
        .entry("tokens_by_day")
        .or_insert_with(|| json!({}));
    if !by_day.is_object() {
        *by_day = json!({});
    }
    let m = by_day
        .as_object_mut()
        .expect("invariant: made an object above");
    let total = m.get(day).and_then(Value::as_u64).unwrap_or(0) + n;
    m.insert(day.to_string(), total.into());
    let mut days: Vec<String> = m.keys().cloned().collect();
    days.sort();
    while days.len() > 31 {
        m.shift_remove(&days.remove(0));
    }
}
