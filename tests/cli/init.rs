//! `aie init`: the stage folders, made once and never overwritten, and what a folder without
//! settings gets from every command.

use crate::support::TestEnv;
use std::fs;

#[test]
fn init_makes_every_stage_folder_and_never_overwrites() {
    let env = TestEnv::new();
    for d in [
        "Inbox",
        "Needs_Action/email",
        "Needs_Action/social",
        "Needs_Action/accounting",
        "Needs_Action/general",
        "In_Progress/local",
        "Plans/email",
        "Pending_Approval/general",
        "Approved",
        "Rejected",
        "Done",
        "Briefings",
        "Logs",
        "Updates",
        "Attachments",
    ] {
        assert!(env.path(d).is_dir(), "{d} missing");
    }
    for f in [
        "Dashboard.md",
        "Company_Handbook.md",
        "Business_Goals.md",
        ".gitignore",
        ".gitattributes",
    ] {
        assert!(env.path(f).is_file(), "{f} missing");
    }
    assert!(env.read(".gitignore").contains(".aie/"));
    assert!(env.read(".gitattributes").contains("merge=union"));
    assert!(env.read("Business_Goals.md").contains("$10,000"));
    // A second init keeps the owner's edits.
    fs::write(env.path("Company_Handbook.md"), "my rules").unwrap();
    let r = env.run_in(env.dir.path(), &["init", "vault"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.read("Company_Handbook.md"), "my rules");
}

#[test]
fn commands_refuse_a_folder_without_settings_and_recreate_stage_folders() {
    let env = TestEnv::new();
    let empty = env.dir.path().join("not-a-vault");
    fs::create_dir_all(&empty).unwrap();
    let mut c = env.cmd();
    c.env("AIE_VAULT", &empty).arg("process-inbox");
    let r = env.run_cmd(&mut c);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("not-a-vault"), "{r:?}");
    fs::remove_dir_all(env.path("Approved")).unwrap();
    fs::remove_dir_all(env.path("Needs_Action/social")).unwrap();
    env.ok(&["plan"]);
    assert!(env.path("Approved").is_dir() && env.path("Needs_Action/social").is_dir());
}
