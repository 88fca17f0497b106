//! Core: init, process-inbox, plan, execute-approved, status, demo, and the promises
//! (nothing lost, nothing twice, nothing without approval) on odd and bad input.

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

#[test]
fn a_dropped_file_flows_to_pending_approval_with_plan_ledger_and_audit() {
    let env = TestEnv::new();
    env.drop_file(
        "question.eml",
        "From: Omar <omar@lead.example>\nSubject: Pricing?\nMessage-ID: <q1@lead.example>\n\nWhat do you charge?\n",
    );
    env.ok(&["process-inbox"]);
    let id = env.only_item("Needs_Action/general");
    assert!(
        env.path(&format!("Attachments/{id}/question.eml"))
            .is_file()
    );
    assert!(env.items_in("Inbox").is_empty());
    let f = env.front(&format!("Needs_Action/general/{id}.md"));
    assert_eq!(f["kind"], "email");
    assert_eq!(f["source"], "inbox:question.eml");
    assert_eq!(f["from"], "Omar <omar@lead.example>");
    assert_eq!(f["created"], "2026-11-23T09:00:00Z");

    env.ok(&["plan"]);
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
    let f = env.front(&format!("Pending_Approval/general/{id}.md"));
    let a = &f["actions"][0];
    assert_eq!(a["kind"], "send_email");
    assert_eq!(a["to"][0], "omar@lead.example");
    assert_eq!(a["needs_approval"], true);
    assert_eq!(a["rule"], "new_contact");
    assert_eq!(f["expires"], "2026-11-24T09:00:00Z");
    assert!(f["summary"].as_str().unwrap().contains("omar@lead.example"));
    assert!(env.path(&format!("Plans/general/{id}.plan.md")).is_file());
    let ledger = env.approvals();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["event"], "requested");
    assert_eq!(ledger[0]["item"], id.as_str());
    let audit = env.audit();
    assert!(
        audit
            .iter()
            .any(|l| l["action"] == "item_created" && l["item"] == id.as_str())
    );
    assert!(
        audit
            .iter()
            .any(|l| l["action"] == "planned" && l["approval_status"] == "pending")
    );
}
