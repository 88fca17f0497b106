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

/// A crash between the merge and its check leaves the merged `aie.yaml` on disk until the
/// next sync. Meanwhile the local agent reads its settings as they were before the merge, so
/// the cloud's policy is never its policy, not even then; the next sync puts them back.
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
    assert_eq!(
        where_the_reply_goes(&two.local),
        ["Pending_Approval/general"]
    );
    let r = sync(&two.local);
    assert!(
        r.stderr.contains("`aie.yaml` was changed through sync"),
        "{r:?}"
    );
    assert_eq!(two.local.read("aie.yaml"), before);
    assert!(!two.local.path(".aie/sync_verify_from").exists());
}
