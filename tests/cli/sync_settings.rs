//! Settings, job files and the content calendar that arrive through sync: `aie.yaml` holds
//! the policy and `sync.trusted_signers`, the vault's `jobs/` what the timers run, and the
//! calendar the posts that run without approval. Whoever can push to the
//! remote (the cloud agent) is not the owner: a change to either counts on the local agent
//! only when every commit that made it is signed by a trusted key; otherwise the local
//! agent keeps its own version and says so.

use crate::support::TestEnv;
use crate::support::git::{TwoAgents, git, ssh_key};

/// A mail from a client: a reply to it is drafted, and sent unasked only when the policy
/// knows the client.
const QUESTION: &str = "From: Client <client@client.example>\nTo: sam@owner.example\nSubject: Question\nMessage-ID: <q@client.example>\n\nCan you send me the price list?\n";

/// What the cloud writes: the client made a known contact (so replies to it would go out
/// unasked), and a job of its own.
const LOOSER: &str = "policy:\n  known_contacts: ['@client.example']\n";
const JOB: &str = "description: the cloud's\nsteps:\n  - plan\nschedule: \"* * * * *\"\n";

fn sync(env: &TestEnv) -> crate::support::Run {
    env.run(&["sync-vault"])
}

/// Where the local agent's plan puts a fresh question from the client: `Approved` when its
/// policy lets the reply go unasked, `Pending_Approval/general` when it asks the owner.
fn where_the_reply_goes(env: &TestEnv) -> Vec<String> {
    env.drop_file("q.eml", QUESTION);
    env.ok(&["process-inbox"]);
    let id = env.only_item("Needs_Action/general");
    env.ok(&["plan"]);
    env.where_is(&id)
}

/// The cloud loosens the policy and adds a job in a commit that names the owner as author
/// but is not signed: the local agent keeps its own `aie.yaml`, drops the job, says so, and
/// pushes its version back; its policy still asks the owner about a reply to the client.
#[test]
fn an_unsigned_change_to_the_settings_or_jobs_is_kept_out() {
    let two = TwoAgents::new("");
    let before = two.local.read("aie.yaml");
    let yaml = two.cloud.read("aie.yaml");
    two.cloud.write("aie.yaml", format!("{yaml}{LOOSER}"));
    two.cloud.write("jobs/cloud.yaml", JOB);
    two.cloud.write(
        "Content_Calendar.md",
        "- 2026-11-23 08:00 x: Send your bank details\n",
    );
    let calendar = two.local.read("Content_Calendar.md");
    two.cloud_commits(None, "settings");
    let r = sync(&two.local);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("`aie.yaml` was changed through sync in commit")
            && r.stderr.contains("`jobs/cloud.yaml`")
            && r.stderr.contains("`Content_Calendar.md`")
            && r.stderr
                .contains("not signed by a key in sync.trusted_signers"),
        "{r:?}"
    );
    assert_eq!(two.local.read("aie.yaml"), before);
    assert!(!two.local.path("jobs/cloud.yaml").exists());
    assert_eq!(two.local.read("Content_Calendar.md"), calendar);
    assert!(
        !two.local
            .ok(&["schedule", "cron"])
            .stdout
            .contains("run cloud")
    );
    // Its own version went back to the remote; the cloud takes it.
    assert_eq!(sync(&two.cloud).code, 0);
    assert_eq!(two.cloud.read("aie.yaml"), before);
    // Said once: the next sync has nothing to say.
    assert_eq!(sync(&two.local).code, 0);
    assert_eq!(
        where_the_reply_goes(&two.local),
        ["Pending_Approval/general"]
    );
}

/// The owner changes the settings on another machine of theirs, in a commit signed with a
/// trusted key: the local agent takes it.
#[test]
fn a_signed_change_to_the_settings_is_taken() {
    let probe = TestEnv::new();
    let key = probe.dir.path().join("owner_key");
    let public = ssh_key(&key);
    let two = TwoAgents::new(&format!("sync:\n  trusted_signers:\n    - \"{public}\"\n"));
    let yaml = two.cloud.read("aie.yaml");
    two.cloud.write("aie.yaml", format!("{yaml}{LOOSER}"));
    two.cloud.write("jobs/cloud.yaml", JOB);
    two.cloud_commits(Some(&key), "the owner's settings");
    let r = sync(&two.local);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(two.local.read("aie.yaml").contains("@client.example"));
    assert_eq!(two.local.read("jobs/cloud.yaml"), JOB);
    // An unsigned commit on top of the signed one is not covered by it.
    assert_eq!(sync(&two.cloud).code, 0);
    let yaml = two.cloud.read("aie.yaml");
    two.cloud
        .write("aie.yaml", yaml.replace("@client.example", "@evil.example"));
    two.cloud_commits(None, "more");
    assert_eq!(sync(&two.local).code, 1);
    let local = two.local.read("aie.yaml");
    assert!(
        local.contains("@client.example") && !local.contains("@evil.example"),
        "{local}"
    );
}

/// A crash between the merge and its check leaves the merged files on disk until the next
/// sync. Meanwhile the local agent reads its settings as they were before the merge, and
/// `plan` and `execute-approved` wait (exit 75, nothing changed), so neither the cloud's
/// policy nor its calendar or jobs ever act. The next sync puts this agent's version back,
/// and keeps aside what the owner edited in the meantime.
#[test]
fn settings_merged_but_not_yet_checked_are_not_read() {
    let two = TwoAgents::new("");
    let before = two.local.read("aie.yaml");
    let yaml = two.cloud.read("aie.yaml");
    two.cloud.write("aie.yaml", format!("{yaml}{LOOSER}"));
    two.cloud_commits(None, "settings");
    // What sync-vault does up to the crash: remember HEAD, merge.
    let home = two.local.dir.path();
    let head = git(home, &two.local.vault, &["rev-parse", "HEAD"]);
    std::fs::write(two.local.path(".aie/sync_verify_from"), head.trim()).unwrap();
    git(
        home,
        &two.local.vault,
        &["pull", "--quiet", "--no-rebase", "origin", "main"],
    );
    assert!(two.local.read("aie.yaml").contains("@client.example"));
    two.local.drop_file("q.eml", QUESTION);
    two.local.ok(&["process-inbox"]);
    let id = two.local.only_item("Needs_Action/general");
    for pass in ["plan", "execute-approved"] {
        let r = two.local.run(&[pass]);
        assert_eq!(r.code, 75, "{pass}: {r:?}");
        assert!(
            r.stderr.contains("the next sync-vault checks them"),
            "{r:?}"
        );
    }
    assert_eq!(two.local.where_is(&id), ["Needs_Action/general"]);
    // The owner edits the settings meanwhile: kept aside, not lost.
    let merged = two.local.read("aie.yaml");
    two.local
        .write("aie.yaml", format!("{merged}# the owner's note\n"));
    let r = sync(&two.local);
    assert!(
        r.stderr.contains("`aie.yaml` was changed through sync")
            && r.stderr
                .contains("is kept as `aie.sync-conflict-local.yaml`"),
        "{r:?}"
    );
    assert_eq!(two.local.read("aie.yaml"), before);
    assert!(
        two.local
            .read("aie.sync-conflict-local.yaml")
            .contains("# the owner's note")
    );
    assert!(!two.local.path(".aie/sync_verify_from").exists());
    two.local.ok(&["plan"]);
    assert_eq!(two.local.where_is(&id), ["Pending_Approval/general"]);
}

/// Both agents change one job file: sync keeps this agent's version and sets the other's
/// aside as a `.sync-conflict-` copy (which is no job); the guard leaves that copy alone.
#[test]
fn a_conflict_copy_of_a_job_file_is_kept_for_the_owner() {
    let two = TwoAgents::new("");
    two.local.write("jobs/mine.yaml", JOB);
    assert_eq!(sync(&two.local).code, 0);
    assert_eq!(sync(&two.cloud).code, 0);
    two.cloud
        .write("jobs/mine.yaml", JOB.replace("the cloud's", "theirs"));
    two.cloud_commits(None, "theirs");
    two.local
        .write("jobs/mine.yaml", JOB.replace("the cloud's", "ours"));
    let r = sync(&two.local);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(two.local.read("jobs/mine.yaml").contains("ours"));
    let copies: Vec<String> = std::fs::read_dir(two.local.path("jobs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".sync-conflict-"))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?} {r:?}");
    assert!(
        two.local
            .read(&format!("jobs/{}", copies[0]))
            .contains("theirs")
    );
    assert!(!r.stderr.contains("sync-settings"), "{r:?}");
}

/// The CA file SMTP trusts, when it lives in the vault, is guarded like the settings: a root
/// certificate added unsigned would let whoever added it read the SMTP login.
#[test]
fn an_unsigned_change_to_the_smtp_ca_file_is_kept_out() {
    let two = TwoAgents::new("smtp:\n  host: mail.example\n  ca_file: certs/ca.pem\n");
    two.local.write("certs/ca.pem", "OWNER CA\n");
    assert_eq!(sync(&two.local).code, 0);
    assert_eq!(sync(&two.cloud).code, 0);
    two.cloud.write("certs/ca.pem", "OWNER CA\nATTACKER CA\n");
    two.cloud_commits(None, "ca");
    let r = sync(&two.local);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("`certs/ca.pem` was changed through sync"),
        "{r:?}"
    );
    assert_eq!(two.local.read("certs/ca.pem"), "OWNER CA\n");
}
