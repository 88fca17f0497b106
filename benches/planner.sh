#!/bin/sh
# Planner speed (issue 4): the LLM planner must add at most 5 ms per item of its own.
# Prints figures; asserts nothing about time. Run from the repo root.
#  1. The planner's own cost per item (prompt, schema, parsing, validation) against an
#     in-memory model answering at once.
#  2. `aie plan` over 1,000 items with the template planner, then with the Anthropic
#     planner against a loopback fake answering at once (HTTP included): the difference
#     is the LLM planner's overhead per item.
set -eu
cargo test --release --lib planner::llm::tests::bench -- --ignored --nocapture 2>/dev/null | grep 'llm planner own cost'
cargo test --release --test cli llm::bench -- --ignored --nocapture 2>/dev/null | grep 'plan of'
