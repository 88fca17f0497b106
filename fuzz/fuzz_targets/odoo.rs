//! Fuzz target `odoo`: see `aie::fuzz_api::odoo` for the invariants it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aie::fuzz_api::odoo(data));
