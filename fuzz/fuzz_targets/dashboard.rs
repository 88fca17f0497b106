//! Fuzz target `dashboard`: see `aie::fuzz_api::dashboard` for the invariants it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aie::fuzz_api::dashboard(data));
