//! Fuzz target `mime`: see `aie::fuzz_api::mime` for the invariants it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aie::fuzz_api::mime(data));
