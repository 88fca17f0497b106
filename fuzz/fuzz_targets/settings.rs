//! Fuzz target `settings`: see `aie::fuzz_api::settings` for the invariants it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aie::fuzz_api::settings(data));
