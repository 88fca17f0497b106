//! The one integration-test binary: black-box tests of the real `aie` binary, one module per
//! capability under `tests/cli/`.

mod support;

#[path = "cli/core.rs"]
mod core;

#[path = "cli/llm.rs"]
mod llm;
