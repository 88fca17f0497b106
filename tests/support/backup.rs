//! The backup tests' vault: one whose `backup:` section points at a store in the test's temp
//! folder, and which paths a restore must rebuild exactly. It runs no backup itself.

use super::TestEnv;
use std::path::PathBuf;

/// A fresh vault backing up to `<temp>/backups` (returned beside it), with `backup_extra`
/// (lines indented under `backup:`, such as `  encrypt_to: …\n`) added to that section.
pub fn setup(backup_extra: &str) -> (TestEnv, PathBuf) {
    let env = TestEnv::new();
    let store = env.dir.path().join("backups");
    env.config(&format!(
        "backup:\n  dir: {}\n{backup_extra}",
        store.display()
    ));
    (env, store)
}

/// What a restore must rebuild exactly: everything but this agent's records, which the run
/// itself rewrites after the snapshot (`.aie/`, `Logs/`), and the git folder.
pub fn comparable(rel: &str) -> bool {
    !rel.starts_with(".aie") && !rel.starts_with("Logs") && !rel.starts_with(".git")
}
