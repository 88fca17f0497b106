//! Fuzz target `whatsapp`: one webhook delivery (an HTTP request as `aie ingest whatsapp`
//! reads it from stdin) through the whole handler, over one vault made at the start; see
//! `aie::fuzz_api::WebhookVault::delivery` for the invariants it checks.
#![no_main]

thread_local! {
    // libFuzzer calls the target on one thread; the vault's context is not `Sync`.
    static VAULT: (tempdir::Dir, aie::fuzz_api::WebhookVault) = {
        let dir = tempdir::Dir::new();
        let v = aie::fuzz_api::WebhookVault::new(&dir.0).expect("a vault for the fuzzer");
        (dir, v)
    };
}

mod tempdir {
    /// A folder under the system temp dir, named by the process id.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            let p = std::env::temp_dir().join(format!("aie-fuzz-whatsapp-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            Dir(p)
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    VAULT.with(|(_, vault)| vault.delivery(data));
});
