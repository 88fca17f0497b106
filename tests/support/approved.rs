//! Vaults with requests the owner approved: a vault that sends for real through a test SMTP
//! server, and `n` questions planned into replies and moved to `Approved/`.

use super::TestEnv;
use super::smtp::SmtpServer;

/// A vault that sends for real through `server`.
pub fn live_env(server: &SmtpServer) -> TestEnv {
    let env = TestEnv::new();
    env.config(&format!(
        "execution:\n  dry_run: false\n{}",
        server.config("none", false)
    ));
    env
}

/// Drops `n` questions from distinct senders, plans them and approves every request (as the
/// owner). With `threaded`, each question carries a `References:` header of its own thread.
pub fn approved_replies(env: &TestEnv, n: usize, threaded: bool) -> Vec<String> {
    for i in 0..n {
        let references = if threaded {
            format!("References: <root{i}@client.example>\n")
        } else {
            String::new()
        };
        env.drop_file(
            &format!("q{i:03}.eml"),
            format!(
                "From: Client {i} <client{i}@client.example>\nTo: sam@owner.example\nSubject: Question {i}\nMessage-ID: <q{i}@client.example>\n{references}\nCan you send me the price list?\n"
            ),
        );
    }
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let ids: Vec<String> = env
        .items_in("Pending_Approval/general")
        .iter()
        .map(|n| n.trim_end_matches(".md").to_string())
        .collect();
    assert_eq!(ids.len(), n);
    for id in &ids {
        env.mv(&format!("Pending_Approval/general/{id}.md"), "Approved");
    }
    ids
}
