//! The fuzz targets on stable, without cargo-fuzz: every input that crashed or hung a target
//! (`tests/fixtures/fuzz/<target>/`), the hand-made seeds (`fuzz/seeds/<target>/`) and the
//! real shapes the seed corpora start from go through the same entry points
//! (`aie::fuzz_api`), so each invariant the fuzzers check is checked on every submission.

use std::path::{Path, PathBuf};

const TARGETS: &[&str] = &[
    "item",
    "mime",
    "gmail",
    "llm",
    "settings",
    "jobs",
    "whatsapp",
    "odoo",
    "dashboard",
    "mcp",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `dir` (none when it does not exist), sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_none_or(|n| n != "README.md"))
        .collect();
    out.sort();
    out
}

/// Runs `target` on `data`, naming the input when an invariant breaks.
fn replay(target: &str, data: &[u8], name: &Path, webhook: &aie::fuzz_api::WebhookVault) {
    let run = || match target {
        "item" => aie::fuzz_api::item(data),
        "mime" => aie::fuzz_api::mime(data),
        "gmail" => aie::fuzz_api::gmail(data),
        "llm" => aie::fuzz_api::llm(data),
        "settings" => aie::fuzz_api::settings(data),
        "jobs" => aie::fuzz_api::jobs(data),
        "whatsapp" => webhook.delivery(data),
        "odoo" => aie::fuzz_api::odoo(data),
        "dashboard" => aie::fuzz_api::dashboard(data),
        "mcp" => aie::fuzz_api::mcp(data),
        other => panic!("no fuzz target `{other}` (folder {})", name.display()),
    };
    if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        let why = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!("fuzz input `{}` breaks `{target}`: {why}", name.display());
    }
}

#[test]
fn every_kept_crasher_and_seed_passes_its_target() {
    let tmp = tempfile::tempdir().unwrap();
    let webhook = aie::fuzz_api::WebhookVault::new(&tmp.path().join("vault")).unwrap();
    let mut n = 0;
    for t in TARGETS {
        for dir in [
            repo().join("tests/fixtures/fuzz").join(t),
            repo().join("fuzz/seeds").join(t),
        ] {
            for f in files(&dir) {
                replay(t, &std::fs::read(&f).unwrap(), &f, &webhook);
                n += 1;
            }
        }
    }
    // Every folder of kept crashers names a target (a misspelt one would never run).
    for d in std::fs::read_dir(repo().join("tests/fixtures/fuzz"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = d.file_name().to_string_lossy().to_string();
        assert!(
            !d.path().is_dir() || TARGETS.contains(&name.as_str()),
            "tests/fixtures/fuzz/{name} is not a target"
        );
    }
    assert!(n > 10, "only {n} inputs were replayed");
}

#[test]
fn the_real_shapes_of_the_seed_corpora_pass_their_targets() {
    let fx = repo().join("tests/fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let webhook = aie::fuzz_api::WebhookVault::new(&tmp.path().join("vault")).unwrap();
    let pick = |dir: &str, ext: &str| -> Vec<PathBuf> {
        files(&fx.join(dir))
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(ext))
            .collect()
    };
    for f in pick("items", ".md").iter().chain(&pick("injection", ".md")) {
        replay("item", &std::fs::read(f).unwrap(), f, &webhook);
    }
    for f in pick("injection", ".eml") {
        replay("mime", &std::fs::read(&f).unwrap(), &f, &webhook);
    }
    for f in pick("gmail", ".json") {
        replay("gmail", &std::fs::read(&f).unwrap(), &f, &webhook);
    }
    for (dir, tag) in [("anthropic", 0u8), ("openai", 1u8)] {
        for f in pick(dir, ".json") {
            let mut data = vec![tag];
            data.extend(std::fs::read(&f).unwrap());
            replay("llm", &data, &f, &webhook);
        }
    }
    for f in pick("odoo17", ".json") {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        for step in v.as_array().unwrap() {
            let body = serde_json::to_vec(&step["response"]).unwrap();
            replay("odoo", &body, &f, &webhook);
        }
    }
    for f in files(&repo().join("jobs")) {
        replay("jobs", &std::fs::read(&f).unwrap(), &f, &webhook);
    }
    for (t, f) in [
        ("settings", "vault_template/aie.yaml"),
        ("dashboard", "vault_template/Dashboard.md"),
    ] {
        let p = repo().join(f);
        replay(t, &std::fs::read(&p).unwrap(), &p, &webhook);
    }
    for f in pick("whatsapp", ".json") {
        let body = std::fs::read_to_string(&f).unwrap();
        let req = format!(
            "POST /webhooks/whatsapp HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        replay("whatsapp", req.as_bytes(), &f, &webhook);
    }
}

/// The answers of the injection suite, which the validator accepts or refuses: those it
/// accepts keep their identity through the item's actions block.
#[test]
fn every_injection_answer_keeps_its_identity_through_the_vault() {
    let p = repo().join("tests/fixtures/injection/answers.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let webhook = aie::fuzz_api::WebhookVault::new(&tmp.path().join("vault")).unwrap();
    for case in v.as_array().unwrap() {
        let reply = serde_json::json!({"stop_reason": "tool_use",
            "usage": {"input_tokens": 1, "output_tokens": 1},
            "content": [{"type": "tool_use", "name": "submit_plan", "input": case["answer"]}]});
        let mut data = vec![0u8];
        data.extend(serde_json::to_vec(&reply).unwrap());
        replay("llm", &data, &p, &webhook);
    }
}
