//! `Dashboard.md`: rewritten between its markers only, and only when something changed; dry
//! runs and requests sent back for review shown with their note; mail subjects escaped so
//! they can neither break the markers nor grow the file.

use crate::support::{TestEnv, plan_the_question, waiting};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
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

/// Takes the one request waiting for approval and approves it (the move the owner makes).
fn approve_the_request(env: &TestEnv) -> String {
    let w = waiting(env);
    assert_eq!(w.len(), 1, "{w:?}");
    let (id, rel) = w[0].clone();
    std::fs::rename(
        env.path(&format!("{rel}/{id}.md")),
        env.path(&format!("Approved/{id}.md")),
    )
    .unwrap();
    id
}

// Issue 14, points 4 and 5: a request sent back for review looked like an ordinary request, and the
// Dashboard said the items still waited after an approval and a dry run.
#[test]
fn the_dashboard_shows_dry_runs_and_requests_sent_back_for_review_with_their_note() {
    let env = TestEnv::new();
    plan_the_question(&env);
    let id = approve_the_request(&env);
    let id = id.as_str();
    env.ok(&["execute-approved"]);
    let dash = env.read("Dashboard.md");
    assert!(dash.contains("**Dry-run**"), "{dash}");
    assert!(
        dash.contains(&format!("[[{id}]] send_email: dry run")),
        "{dash}"
    );
    assert!(env.ok(&["status"]).stdout.contains("execution: dry-run"));
    // Live, with no smtp: the action comes back for review, the note names the section.
    env.config("execution:\n  dry_run: false\n");
    let r = env.run(&["doctor"]);
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("execution:"))
        .unwrap_or_default();
    assert!(
        line.starts_with("warn") && line.contains("no `smtp:`"),
        "{r:?}"
    );
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("`smtp:` section of aie.yaml"), "{r:?}");
    let dash = env.read("Dashboard.md");
    let review = dash.find("## Sent back for your review").expect(&dash);
    let waiting = dash.find("## Waiting for your approval").unwrap();
    assert!(review < waiting, "{dash}");
    let section = &dash[review..waiting];
    let line = section.lines().find(|l| l.contains(id)).expect(section);
    assert!(
        line.find("`smtp:`").unwrap() < line.find("Proposed").unwrap(),
        "the note comes first: {line}"
    );
    assert!(dash[waiting..].contains("Nothing is waiting"), "{dash}");
    assert!(dash.contains("**Live**"), "{dash}");
}

const START: &str = "<!-- aie:dashboard:start -->";

const END: &str = "<!-- aie:dashboard:end -->";

/// Regression (finding 12): a subject holding the end marker went into the Dashboard as it
/// was; the next pass's splice stopped at it, kept the rest of the old block as "owner
/// notes", and the file grew on every pass. An RFC 2047 subject that decodes to line breaks
/// wrote raw Markdown lines (a heading, a wikilink, a comment) into the block.
#[test]
fn mail_subjects_cannot_break_or_grow_the_dashboard() {
    let env = TestEnv::new();
    let notes = "# Dashboard\n\nMy own notes.\n\n";
    fs::write(env.path("Dashboard.md"), notes).unwrap();
    env.drop_file(
        "marker.eml",
        format!(
            "From: Eve <eve@evil.example>\nTo: sam@owner.example\nSubject: Hello {END} tail {START} more\nMessage-ID: <m1@evil.example>\n\nPlease reply.\n"
        ),
    );
    let encoded = STANDARD.encode("Hi\n# Injected heading\n[[Secret note]] <!-- x\r\n| a | b |");
    env.drop_file(
        "newline.eml",
        format!(
            "From: Eve <eve@evil.example>\nTo: sam@owner.example\nSubject: =?UTF-8?B?{encoded}?=\nMessage-ID: <m2@evil.example>\n\nPlease reply.\n"
        ),
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let titles: Vec<String> = env
        .items_in("Pending_Approval/general")
        .iter()
        .map(|n| {
            env.front(&format!("Pending_Approval/general/{n}"))["title"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // The RFC 2047 subject decodes to line breaks: the item keeps it on one line, and the
    // Dashboard escapes it anyway (checked below).
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(!titles.iter().any(|t| t.contains('\n')), "{titles:?}");
    let mut sizes = Vec::new();
    for n in 0..3 {
        // Each pass changes something, so the Dashboard is rewritten each time.
        env.drop_file(&format!("note{n}.txt"), format!("note {n}\n"));
        env.ok(&["process-inbox"]);
        let dash = env.read("Dashboard.md");
        assert!(dash.starts_with(notes), "{dash}");
        assert_eq!(dash.matches(START).count(), 1, "{dash}");
        assert_eq!(dash.matches(END).count(), 1, "{dash}");
        assert!(dash.trim_end().ends_with(END), "{dash}");
        for bad in ["<!-- x", "[[Secret note]]", "| a | b |"] {
            assert!(!dash.contains(bad), "{bad} in {dash}");
        }
        assert!(!dash.lines().any(|l| l.starts_with("# Injected")), "{dash}");
        let block = &dash[dash.find(START).unwrap()..];
        sizes.push(block.lines().count());
    }
    // A new line of activity a pass, never a copy of the old block.
    assert!(sizes[2] - sizes[0] <= 2, "{sizes:?}");
}
