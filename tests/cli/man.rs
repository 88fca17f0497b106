//! Completions and the man page come from the command-line definitions.

use crate::support::TestEnv;

#[test]
fn completions_and_man_page_come_from_the_command_line_definitions() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        let r = env.ok(&["completions", shell]);
        assert!(
            r.stdout.contains("schedule") && r.stdout.contains("process-inbox"),
            "{shell}"
        );
    }
    assert_eq!(env.run(&["completions", "tcsh"]).code, 2);
    let r = env.ok(&["man"]);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH aie"),
        "{}",
        &r.stdout[..200]
    );
    assert!(r.stdout.contains("execute\\-approved") || r.stdout.contains("execute-approved"));
}
