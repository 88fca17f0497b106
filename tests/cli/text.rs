//! Texts from outside on their way into what aie writes (issue 8, findings 12 to 14): mail
//! subjects in the Dashboard, a server's reply that repeats the password, attachment and
//! Inbox file names, and item files saved with a byte order mark.

use crate::support::echo_smtp::EchoSmtp;
use crate::support::gmail_fake::{self, GmailFake};
use crate::support::{TestEnv, files_under};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use std::fs;

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

/// Every place a secret could end up: the whole temp folder (vault, `.aie/`, logs) and the
/// command's output.
fn leaks(env: &TestEnv, out: &str, needles: &[String]) -> Vec<String> {
    let files = files_under(env.dir.path());
    let mut found = Vec::new();
    for n in needles {
        if out.contains(n.as_str()) {
            found.push(format!("{n} in the output"));
        }
        for f in &files {
            let text = String::from_utf8_lossy(&fs::read(f).unwrap()).to_string();
            if text.contains(n.as_str()) {
                found.push(format!("{n} in {}", f.display()));
            }
        }
    }
    found
}

/// Regression (finding 13): a 5xx reply that repeats the AUTH PLAIN string and the
/// password in base64 was stored unscrubbed in the item's `review:`, the approvals ledger,
/// the journal, the audit log and the Dashboard (only the raw password was scrubbed).
#[test]
fn a_server_reply_echoing_the_password_leaves_no_trace_of_it() {
    let password = "Tr0ub4dor&3/+x~";
    let server = EchoSmtp::start(password);
    let mut env = TestEnv::new();
    env.config(&format!(
        "execution:\n  dry_run: false\n{}",
        server.config()
    ));
    env.env("AIE_SMTP_USERNAME", "alice@owner.example")
        .env("AIE_SMTP_PASSWORD", password);
    env.drop_file(
        "q.eml",
        "From: Client <client@client.example>\nTo: sam@owner.example\nSubject: Price list\nMessage-ID: <q@client.example>\n\nCan you send me the price list?\n",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let id = env.only_item("Pending_Approval/general");
    env.mv(&format!("Pending_Approval/general/{id}.md"), "Approved");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(!server.auth_lines.lock().unwrap().is_empty(), "{r:?}");
    let r2 = env.run(&["status"]);
    // The refusal itself is kept, without the secret.
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
    let review = env.front(&format!("Pending_Approval/general/{id}.md"))["review"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        review.contains("550") && review.contains("[secret]"),
        "{review}"
    );
    let plain = format!("\0alice@owner.example\0{password}");
    let mut needles = vec![
        password.to_string(),
        STANDARD.encode(&plain),
        STANDARD_NO_PAD.encode(&plain),
        URL_SAFE.encode(password),
        URL_SAFE_NO_PAD.encode(password),
        STANDARD.encode(password),
        "Tr0ub4dor%263%2F%2Bx~".to_string(),
    ];
    // The piece of `base64("xy" + password + "z")` that encodes only the password.
    let inside = STANDARD.encode(format!("xy{password}z"));
    needles.push(inside[3..inside.len() - 4].to_string());
    let out = format!("{}{}{}{}", r.stdout, r.stderr, r2.stdout, r2.stderr);
    let found = leaks(&env, &out, &needles);
    assert!(found.is_empty(), "{found:#?}\n{r:?}");
}

/// Regression (finding 14): a right-to-left override stayed in an attachment's file name
/// (`invoice\u{202E}fdp.exe` reads as `invoiceexe.pdf`), and the 120-character cut of a long
/// name dropped its extension.
#[test]
fn attachment_names_lose_bidi_overrides_and_keep_their_extension() {
    let fake = GmailFake::start();
    let long = format!("{}.pdf", "r".repeat(200));
    for (id, name) in [
        ("rlo", "invoice\u{202E}fdp.exe".to_string()),
        ("long", long),
    ] {
        fake.add(
            id,
            format!(
                "From: a@b.example\r\nTo: sam@owner.example\r\nSubject: {id}\r\nMessage-ID: <{id}@b.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=UTF-8''{}\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--B--\r\n",
                percent(&name)
            )
            .into_bytes(),
        );
    }
    let mut env = TestEnv::new();
    env.config(&fake.config(""));
    env.env("AIE_GMAIL_CLIENT_ID", gmail_fake::CLIENT_ID)
        .env("AIE_GMAIL_CLIENT_SECRET", gmail_fake::CLIENT_SECRET)
        .env("AIE_GMAIL_REFRESH_TOKEN", gmail_fake::REFRESH_TOKEN);
    fake.mailbox.lock().unwrap().vault = Some(env.vault.clone());
    env.ok(&["poll-gmail"]);
    let names = |id: &str| -> Vec<String> {
        fs::read_dir(env.path(&format!("Attachments/gmail-{id}")))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect()
    };
    assert_eq!(names("rlo"), ["invoicefdp.exe"]);
    let long = names("long");
    assert_eq!(long.len(), 1);
    assert!(
        long[0].ends_with(".pdf") && long[0].chars().count() <= 120,
        "{long:?}"
    );
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Regression (finding 14): an Inbox file whose name is not UTF-8 was moved to
/// `Attachments/` under a lossy name (U+FFFD for each bad byte): the original name was gone.
#[test]
fn an_inbox_name_that_is_not_utf8_is_kept_recoverable() {
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9 100%.txt");
    fs::write(env.path("Inbox").join(name), "menu\n").unwrap();
    env.ok(&["process-inbox"]);
    let id = env.only_item("Needs_Action/general");
    let dir = env.path(&format!("Attachments/{id}"));
    let files: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(files, ["caf%E9 100%25.txt"]);
    assert_eq!(fs::read_to_string(dir.join(&files[0])).unwrap(), "menu\n");
    let front = env.front(&format!("Needs_Action/general/{id}.md"));
    assert_eq!(front["source"], "inbox:caf%E9 100%25.txt", "{front}");
}

/// Regression (finding 14): an item saved by an editor that writes a byte order mark before
/// `---` could not be read ("no front matter") and stopped in its folder.
#[test]
fn an_item_with_a_byte_order_mark_is_read() {
    let env = TestEnv::new();
    env.drop_file("a.txt", "hello\n");
    env.ok(&["process-inbox"]);
    let id = env.only_item("Needs_Action/general");
    let rel = format!("Needs_Action/general/{id}.md");
    let text = env.read(&rel);
    fs::write(env.path(&rel), format!("\u{feff}{text}")).unwrap();
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        env.where_is(&id)
            .iter()
            .all(|s| s != "Needs_Action/general"),
        "{r:?}"
    );
}
