//! `Dashboard.md`: rewritten between its markers only, and only when something changed.

use crate::support::TestEnv;
use std::fs;

#[test]
fn dashboard_is_rewritten_between_markers_only_when_something_changed() {
    let env = TestEnv::new();
    let notes = "# Dashboard\n\nMy own notes.\n\n";
    let text = env.read("Dashboard.md");
    let start = text.find("<!-- aie:dashboard:start -->").unwrap();
    fs::write(
        env.path("Dashboard.md"),
        format!("{notes}{}", &text[start..]),
    )
    .unwrap();
    env.drop_file(
        "q.eml",
        "From: Ann <ann@x.example>\nSubject: Hi\n\nCan you call me?\n",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let d = env.read("Dashboard.md");
    assert!(d.starts_with(notes), "{d}");
    assert!(d.contains("| pending_approval | 1 |"), "{d}");
    assert!(d.contains("[["), "pending items are wikilinks: {d}");
    let before = fs::metadata(env.path("Dashboard.md"))
        .unwrap()
        .modified()
        .unwrap();
    // An idle pass does not touch it.
    env.ok(&["plan"]);
    env.ok(&["process-inbox"]);
    assert_eq!(
        fs::metadata(env.path("Dashboard.md"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
}
