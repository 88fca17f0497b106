//! `aie completions` and `aie man`: both come from the command-line definitions; the man page
//! has its EXIT STATUS, ENVIRONMENT and FILES sections, and every page it names is shipped.

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

// Issue 14, point 12: `aie man` named pages that did not exist and had no EXIT STATUS, ENVIRONMENT,
// FILES.
#[test]
fn the_man_page_has_its_sections_and_every_page_it_names_is_shipped() {
    let env = TestEnv::new();
    let page = env.ok(&["man"]).stdout;
    for s in [
        ".SH \"EXIT STATUS\"",
        ".SH \"ENVIRONMENT\"",
        ".SH \"FILES\"",
        "AIE_SECRETS_FILE",
        "78",
    ] {
        assert!(page.contains(s), "{s}");
    }
    let dir = env.dir.path().join("man");
    env.ok(&["man", "--out", dir.to_str().unwrap()]);
    let pages: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect();
    let mut named = Vec::new();
    for (file, text) in &pages {
        for n in text
            .split("aie\\-")
            .skip(1)
            .filter_map(|r| r.split("(1)").next())
            .filter(|n| !n.contains(char::is_whitespace))
        {
            named.push((file.clone(), format!("aie-{}.1", n.replace("\\-", "-"))));
        }
    }
    assert!(named.len() >= 10, "{named:?}");
    assert!(
        named
            .iter()
            .any(|(f, n)| f == "aie-schedule.1" && n == "aie-schedule-systemd.1"),
        "{named:?}"
    );
    for (file, n) in named {
        assert!(
            dir.join(&n).is_file(),
            "{file} names {n} but it is not shipped"
        );
    }
    assert!(
        pages.iter().all(|(f, _)| !f.contains("help")),
        "clap's help subcommand needs no page"
    );
}
