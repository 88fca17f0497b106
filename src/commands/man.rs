//! `aie man [--out DIR]`: the man pages (roff), generated from the clap definitions: `aie.1`
//! with EXIT STATUS, ENVIRONMENT and FILES, and with `--out` one `aie-<command>.1` per
//! subcommand, nested ones too (`aie-schedule-systemd.1`): every page a page refers to.

use crate::cli::Cli;
use crate::context::Cx;
use crate::exit::Exit;
use crate::outcome::Outcome;
use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `aie.1` and one page per subcommand (`aie-init.1`, ...) into this folder
    /// instead of printing `aie.1`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl crate::cli::CommandArgs for ManArgs {}

/// Environment variables aie reads (secrets are listed in the README, never here in full).
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "AIE_VAULT",
        "the vault folder (as --vault); default: the nearest folder upwards from the current one that holds aie.yaml",
    ),
    (
        "AIE_SECRETS_FILE",
        "a file of KEY=value secrets, mode 0600, outside the vault",
    ),
    ("AIE_AGENT", "this installation's name (default local)"),
    (
        "AIE_MODE",
        "full (default) or draft_only (the cloud agent: drafts, never executes)",
    ),
    (
        "AIE_LOG",
        "log level on stderr: error, warn (default), info, debug",
    ),
    ("AIE_NOW", "pins the clock (RFC 3339), for tests"),
    (
        "AIE_GMAIL_CLIENT_ID, AIE_SMTP_PASSWORD, ...",
        "the secrets of each service (README: Secrets)",
    ),
    (
        "NO_COLOR",
        "no colour in doctor's report even on a terminal",
    ),
];

/// The vault layout, as the README's "The vault" gives it.
const FILES: &[(&str, &str)] = &[
    (
        "aie.yaml",
        "settings and policy at the vault root; synced; never a secret",
    ),
    (
        "Inbox/",
        "drop anything here; process-inbox turns it into an item",
    ),
    ("Needs_Action/<domain>/", "new items"),
    ("In_Progress/<agent>/", "items claimed by one agent"),
    ("Plans/<domain>/", "the plan of each item"),
    (
        "Pending_Approval/<domain>/",
        "items waiting for the owner: move one to Approved/ or Rejected/",
    ),
    (
        "Approved/, Rejected/, Done/",
        "approved, rejected and finished items",
    ),
    (
        "Logs/",
        "YYYY-MM-DD.jsonl audit log, approvals.jsonl, alerts/",
    ),
    (
        "Dashboard.md",
        "queues, what waits for the owner, what needs attention, recent activity",
    ),
    (
        ".aie/",
        "this agent's own state, locks and journal; never synced",
    ),
];

/// A roff section of tagged paragraphs.
fn section(title: &str, rows: &[(String, String)]) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('-', "\\-");
    let mut s = format!(".SH \"{title}\"\n");
    for (tag, text) in rows {
        s.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", esc(tag), esc(text)));
    }
    s
}

/// `aie.1`: clap's sections, then EXIT STATUS, ENVIRONMENT and FILES.
fn main_page() -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(without_help(Cli::command()));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;
    let exits: Vec<(String, String)> = Exit::TABLE
        .iter()
        .map(|(e, m)| (e.code().to_string(), m.to_string()))
        .collect();
    let own = |rows: &[(&str, &str)]| -> Vec<(String, String)> {
        rows.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    out.extend(section("EXIT STATUS", &exits).bytes());
    out.extend(section("ENVIRONMENT", &own(ENVIRONMENT)).bytes());
    out.extend(section("FILES", &own(FILES)).bytes());
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// `cmd` and all its subcommands without clap's `help` subcommand, which needs no page.
fn without_help(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_subcommand(true)
        .mut_subcommands(without_help)
}

/// Writes the page of `cmd` (built, so it knows its display name `aie-schedule-systemd`)
/// and of each of its subcommands, so every page a SUBCOMMANDS section names exists.
fn write_pages(
    cmd: &clap::Command,
    dir: &std::path::Path,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    if cmd.is_hide_set() {
        return Ok(());
    }
    let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_string();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .render(&mut out)
        .with_context(|| format!("cannot render the page of `{name}`"))?;
    let path = dir.join(format!("{name}.1"));
    crate::fsutil::write_atomic(&path, &out)?;
    written.push(path);
    for sub in cmd.get_subcommands() {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

/// Prints `aie.1`, or writes it and every subcommand's page into `--out`.
pub fn run(cx: &Cx, args: &ManArgs) -> Result<Outcome> {
    let page = main_page().context("cannot render the man page")?;
    let Some(dir) = &args.out else {
        return Ok(Outcome {
            summary: String::from_utf8(page).context("the man page is not UTF-8")?,
            ..Outcome::default()
        });
    };
    let dir = cx.env.resolve(dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let mut written = vec![dir.join("aie.1")];
    crate::fsutil::write_atomic(&written[0], &page)?;
    let mut cmd = without_help(Cli::command());
    cmd.build();
    for sub in cmd.get_subcommands() {
        write_pages(sub, &dir, &mut written)?;
    }
    let mut summary = String::new();
    for p in &written {
        summary.push_str(&format!("wrote {}\n", p.display()));
    }
    Ok(Outcome {
        summary,
        ..Outcome::default()
    })
}
