//! The daily token budget's bookkeeping: the tokens each day used, in `state.json`'s typed
//! `llm` section, kept for the last 31 days.

use crate::state::State;

/// Tokens this day (`YYYY-MM-DD`, the owner's zone) has used, from `state.json`'s `llm` section.
pub fn tokens_used(state: &State, day: &str) -> u64 {
    state.llm.tokens_on(day)
}

/// Adds `n` tokens to `day` in the `llm` section, keeping the last 31 days.
pub fn record_tokens(state: &mut State, day: &str, n: u64) {
    state.llm.add_tokens(day, n);
}
