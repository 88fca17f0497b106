//! `aie init`: the stage folders, made once and never overwritten, what a folder without
//! settings gets from every command, and the vault and what aie writes into it kept private
//! (0700 folders, 0600 files) unless `vault.shared_group` says otherwise.

use crate::support::{QUESTION, TestEnv, mode};
use std::fs;
use std::os::unix::fs::PermissionsExt;

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

// Issue 14, point 2: `aie init` made folders 0755 and files 0644: clients' mail world-readable.
#[test]
fn the_vault_and_what_aie_writes_into_it_are_private_unless_shared_with_the_group() {
    let env = TestEnv::new();
    assert_eq!(mode(&env.vault), 0o700);
    assert_eq!(mode(&env.path("Needs_Action/email")), 0o700);
    assert_eq!(mode(&env.path("Company_Handbook.md")), 0o600);
    env.drop_file("mail.txt", QUESTION);
    std::fs::set_permissions(
        env.path("Inbox/mail.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    env.ok(&["process-inbox"]);
    let items = env.all_items();
    assert_eq!(items.len(), 1, "{items:?}");
    let item = env.path(&format!("{}/{}.md", items[0].1, items[0].0));
    assert_eq!(mode(&item), 0o600, "{}", item.display());
    assert_eq!(mode(&env.path("Dashboard.md")), 0o600);
    // The one setting for an owner who edits as another user of the group.
    env.config("vault:\n  shared_group: true\n");
    env.drop_file("b.txt", "call the plumber");
    env.ok(&["process-inbox"]);
    let shared = env
        .all_items()
        .into_iter()
        .find(|(id, rel)| env.read(&format!("{rel}/{id}.md")).contains("plumber"))
        .unwrap();
    assert_eq!(
        mode(&env.path(&format!("{}/{}.md", shared.1, shared.0))),
        0o660
    );
}

/// `init` in a vault whose aie.yaml has a misspelt key said "already an aie vault" and exited
/// 0, while every other command refused the vault.
#[test]
fn init_in_a_vault_with_a_misspelt_setting_names_it_instead_of_calling_it_ready() {
    let env = TestEnv::new();
    env.config("policy:\n  payment_auto_belw: 40\n");
    let r = env.run(&["init", env.vault.to_str().unwrap()]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(
        r.stderr
            .contains("did you mean `policy.payment_auto_below`?"),
        "{r:?}"
    );
    assert!(!r.stdout.contains("already an aie vault"), "{r:?}");
}
