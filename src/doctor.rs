//! The checks of `aie doctor`: settings parse and every key is known, secrets are present,
//! private and outside the vault, the vault layout is complete, the sync remote answers,
//! lock holders are alive, the clock is sane, jobs name real commands, and the schedule is
//! installed. Each check gives one line and, when it fails, the fix. Reads only: it never
//! creates a folder or takes a lock. What needs a process (git, crontab) is passed in.

use crate::config::Settings;
use crate::connectors::capabilities::{self, Finding, LiveCx, Probe, SecretNeed};
use crate::schedule::jobs::Role;
use crate::secrets::check_file;
use crate::vault::{SETTINGS_FILE, Vault};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: String,
    pub status: Status,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(name: &str, status: Status, message: impl Into<String>, fix: Option<String>) -> Check {
    Check {
        check: name.to_string(),
        status,
        message: message.into(),
        fix,
    }
}

/// A check that passed saying the `Ok` text, or failed saying the `Err` text, with `fix`.
fn passed_or(name: &str, r: Result<String, String>, fix: impl Into<String>) -> Check {
    match r {
        Ok(m) => check(name, Status::Ok, m, None),
        Err(m) => check(name, Status::Fail, m, Some(fix.into())),
    }
}

/// What the checks look at.
pub struct Setup<'a> {
    pub root: &'a Path,
    pub agent: &'a str,
    pub env: &'a BTreeMap<String, String>,
    /// Folders where installed unit files may be (user and system).
    pub unit_dirs: Vec<PathBuf>,
    /// `crontab -l`, when there is one.
    pub crontab: Option<String>,
    /// This installation's role (the cloud agent is the `draft_only` one).
    pub role: crate::schedule::jobs::Role,
}

/// Action kinds the template planner proposes on its own (the model's depend on the mail),
/// whose connector must be set up before execution is live.
const PROPOSED_KINDS: &[&str] = &["send_email", "odoo_invoice", "payment"];

/// The most one connector's live check may take (retries included): a service that does
/// not answer is reported, not waited for.
const LIVE_CHECK_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// No correct clock reads earlier than this (before this version of aie existed).
const CLOCK_FLOOR: &str = "2026-01-01T00:00:00Z";

/// The secrets each configured connector an agent of `role` uses needs (`optional` ones
/// only warn), from the connectors' own declarations.
fn needed_secrets(s: &Settings, role: Role) -> Vec<(&'static str, Vec<SecretNeed>)> {
    capabilities::all()
        .iter()
        .filter_map(|c| Some((c.name, c.needs_for(s, role)?)))
        .filter(|(_, needs)| !needs.is_empty())
        .collect()
}

/// Runs every check. `git_remote_answers` is asked about the sync remote when one is set.
pub fn run_checks(
    setup: &Setup,
    git_remote_answers: &dyn Fn(&str) -> Result<(), String>,
) -> Vec<Check> {
    let mut out = Vec::new();
    let vault = Vault::at(setup.root);
    let settings_path = setup.root.join(SETTINGS_FILE);
    // Settings.
    let settings = match std::fs::read_to_string(&settings_path) {
        Err(e) => {
            out.push(check(
                "config",
                Status::Fail,
                format!("cannot read `{}`: {e}", settings_path.display()),
                Some(format!(
                    "run `aie init {}`, or pass --vault",
                    setup.root.display()
                )),
            ));
            None
        }
        Ok(text) => match Settings::parse(&text, &settings_path) {
            Err(e) => {
                out.push(check(
                    "config",
                    Status::Fail,
                    format!("{e:#}"),
                    Some("correct the setting or the YAML at the line named (the README lists every setting)".into()),
                ));
                None
            }
            Ok(s) => {
                out.push(check(
                    "config",
                    Status::Ok,
                    format!("`{SETTINGS_FILE}` parses and every key is known"),
                    None,
                ));
                let zone = crate::clock::Clock::new(None, s.timezone())
                    .map(|_| format!("timezone `{}`", s.timezone()))
                    .map_err(|e| format!("{e:#}"));
                out.push(passed_or(
                    "timezone",
                    zone,
                    "set `timezone:` to an IANA name such as `Europe/Berlin`",
                ));
                Some(s)
            }
        },
    };
    // Secrets file.
    let file = setup
        .env
        .get("AIE_SECRETS_FILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let mut file_ok = true;
    match &file {
        None => out.push(check(
            "secrets file",
            Status::Ok,
            "no AIE_SECRETS_FILE: secrets come from the environment",
            None,
        )),
        Some(f) => match check_file(f, Some(setup.root)) {
            Ok(()) => out.push(check(
                "secrets file",
                Status::Ok,
                format!("`{}` is private and outside the vault", f.display()),
                None,
            )),
            Err(e) => {
                file_ok = false;
                let msg = format!("{e:#}");
                let fix = if msg.contains("inside the vault") {
                    "move it outside the vault (for example to ~/.config/aie/secrets) and point AIE_SECRETS_FILE at it; treat its secrets as leaked if the vault was synced".to_string()
                } else if msg.contains("has mode") {
                    format!("chmod 600 {}", f.display())
                } else {
                    format!(
                        "create `{}` (KEY=value lines, mode 0600) or unset AIE_SECRETS_FILE",
                        f.display()
                    )
                };
                out.push(check("secrets file", Status::Fail, msg, Some(fix)));
            }
        },
    }
    if let Some(s) = &settings {
        let secrets =
            crate::secrets::Secrets::load(setup.env, file.as_deref().filter(|_| file_ok), None)
                .unwrap_or_default();
        let mut any = false;
        for (service, needs) in needed_secrets(s, setup.role) {
            any = true;
            let missing: Vec<_> = needs
                .iter()
                .filter(|n| secrets.get(n.name).is_none())
                .collect();
            if missing.is_empty() {
                out.push(check(
                    "secrets",
                    Status::Ok,
                    format!("{service}: secrets present"),
                    None,
                ));
            } else {
                let names: Vec<&str> = missing.iter().map(|n| n.name).collect();
                out.push(check(
                    "secrets",
                    if missing.iter().all(|n| n.optional) {
                        Status::Warn
                    } else {
                        Status::Fail
                    },
                    format!("{service} is set up but lacks {}", names.join(", ")),
                    Some(
                        "add them to the secrets file (KEY=value) or the environment of the jobs"
                            .into(),
                    ),
                ));
            }
        }
        if !any {
            out.push(check(
                "secrets",
                Status::Ok,
                "no configured service needs a secret",
                None,
            ));
        }
        // Live execution with a kind the planners propose and no connector to run it: each
        // such approved action would come back for review.
        if !s.execution.dry_run {
            let unset: Vec<String> = PROPOSED_KINDS
                .iter()
                .filter_map(|kind| {
                    let mut action = serde_json::Map::new();
                    action.insert("kind".into(), (*kind).into());
                    let section = crate::actions::section_of(&action)?;
                    let set_up = capabilities::all()
                        .iter()
                        .find(|c| c.section == section)
                        .is_some_and(|c| (c.needs)(s).is_some());
                    (!set_up).then(|| format!("`{kind}` (no `{section}:`)"))
                })
                .collect();
            if !unset.is_empty() {
                out.push(check(
                    "execution",
                    Status::Warn,
                    format!(
                        "execution.dry_run is false, but plans may propose actions no connector runs: {}; approved, they come back for review",
                        unset.join(", ")
                    ),
                    Some("fill in the named sections of aie.yaml, or keep `execution.dry_run: true`".into()),
                ));
            }
        }
        // Each configured connector builds from its settings and secrets (no network); then
        // its live check, when it has one, asks the service.
        let cx = LiveCx {
            settings: s,
            secrets: &secrets,
            vault_root: setup.root,
            time_left: Some(LIVE_CHECK_TIME),
        };
        for c in capabilities::all() {
            let run = c.check;
            let Some(needs) = c.needs_for(s, setup.role) else {
                continue;
            };
            // Missing secrets are reported above, once.
            if needs
                .iter()
                .any(|n| !n.optional && secrets.get(n.name).is_none())
            {
                continue;
            }
            let built = run(s, &secrets, setup.root).map_err(|e| format!("{e:#}"));
            let live = c.live.filter(|_| built.is_ok());
            out.push(passed_or(
                c.name,
                built,
                format!(
                    "fix the `{}:` section of aie.yaml or its secrets",
                    c.section
                ),
            ));
            if let Some(live) = live {
                out.extend(live(&cx).into_iter().map(from_finding));
            }
        }
    }
    // Vault layout.
    let missing: Vec<String> = vault
        .layout_dirs(setup.agent)
        .into_iter()
        .filter(|d| !d.is_dir())
        .map(|d| {
            d.strip_prefix(setup.root)
                .unwrap_or(&d)
                .display()
                .to_string()
        })
        .collect();
    let layout = if missing.is_empty() {
        Ok("every stage folder is there".to_string())
    } else {
        Err(format!("missing folder(s): {}", missing.join(", ")))
    };
    out.push(passed_or(
        "vault layout",
        layout,
        format!(
            "run `aie init {}` (it never overwrites a file)",
            setup.root.display()
        ),
    ));
    // Sync remote.
    if let Some(remote) = settings
        .as_ref()
        .and_then(|s| s.sync.as_ref())
        .and_then(|s| s.remote.clone())
    {
        let answers = git_remote_answers(&remote)
            .map(|()| format!("git remote `{remote}` answers"))
            .map_err(|e| format!("git remote `{remote}` does not answer: {e}"));
        out.push(passed_or(
            "sync remote",
            answers,
            "check the URL in `sync.remote`, the network and the git credentials",
        ));
    }
    // Locks.
    let mut dead = Vec::new();
    for l in crate::lock::list(&vault.aie_dir())
        .into_iter()
        .filter(|l| l.held)
    {
        if let Some(pid) = l.holder.as_deref().and_then(holder_pid)
            && !pid_alive(pid)
        {
            dead.push(format!("`{}` (pid {pid})", l.name));
        }
    }
    let locks = if dead.is_empty() {
        Ok("every held lock has a live holder".to_string())
    } else {
        Err(format!(
            "held by a process that is gone: {}",
            dead.join(", ")
        ))
    };
    out.push(passed_or(
        "locks",
        locks,
        "a child process kept the lock: find it with `fuser .aie/locks/<name>.lock` and stop it",
    ));
    // Clock. Only a floor (this release cannot run before it was made): an upper bound on
    // the year would turn into a false alarm on some future date.
    let now = chrono::Utc::now();
    if now
        < CLOCK_FLOOR
            .parse::<chrono::DateTime<chrono::Utc>>()
            .expect("invariant: valid time")
    {
        out.push(check(
            "clock",
            Status::Fail,
            format!("the system clock says {now}, before this version of aie was made"),
            Some("set the clock (enable NTP: `timedatectl set-ntp true`)".into()),
        ));
    } else if setup.env.get("AIE_NOW").is_some_and(|v| !v.is_empty()) {
        out.push(check(
            "clock",
            Status::Warn,
            "AIE_NOW pins the clock (for tests only)",
            Some("unset AIE_NOW".into()),
        ));
    } else {
        out.push(check(
            "clock",
            Status::Ok,
            format!("the clock says {}", now.format("%Y-%m-%dT%H:%M:%SZ")),
            None,
        ));
    }
    // Jobs and schedule.
    match crate::schedule::jobs::load(setup.root) {
        Err(e) => out.push(check(
            "jobs",
            Status::Fail,
            format!("{e:#}"),
            Some("fix the job file named".into()),
        )),
        Ok(jobs) => {
            let role = setup.role;
            let mine: Vec<_> = jobs
                .into_iter()
                .filter(|j| j.agents.includes(role))
                .collect();
            let mut bad = false;
            for j in &mine {
                if let Err(e) = j.commands() {
                    bad = true;
                    out.push(check(
                        "jobs",
                        Status::Fail,
                        format!("{e:#}"),
                        Some("name only commands this aie has (`aie --help`), or override the job with a file in the vault's jobs/".into()),
                    ));
                }
            }
            if !bad {
                out.push(check(
                    "jobs",
                    Status::Ok,
                    format!("{} job(s), every step an aie command", mine.len()),
                    None,
                ));
            }
            out.push(schedule_check(setup, &mine));
        }
    }
    out
}

/// A live check's finding as a line of the report.
fn from_finding(f: Finding) -> Check {
    match f.probe {
        Probe::Ok(m) => check(&f.name, Status::Ok, m, None),
        Probe::Warn(m, fix) => check(&f.name, Status::Warn, m, Some(fix)),
        Probe::Fail(m, fix) => check(&f.name, Status::Fail, m, fix),
    }
}

fn schedule_check(setup: &Setup, jobs: &[crate::schedule::jobs::Job]) -> Check {
    let by_cron = setup.crontab.as_deref().is_some_and(|c| {
        c.lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("aie run"))
    });
    let mut missing = Vec::new();
    let mut disabled = Vec::new();
    let mut system = false;
    for j in jobs {
        let (service, timer) = crate::schedule::units::unit_names(&j.name);
        let dir = setup
            .unit_dirs
            .iter()
            .find(|d| d.join(&service).is_file() && d.join(&timer).is_file());
        match dir {
            None => missing.push(timer),
            Some(d) => {
                if !d.join("timers.target.wants").join(&timer).exists() {
                    system |= d.starts_with("/etc") || d.starts_with("/usr");
                    disabled.push(timer);
                }
            }
        }
    }
    let dirs: Vec<String> = setup
        .unit_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    if missing.is_empty() && disabled.is_empty() {
        check(
            "schedule",
            Status::Ok,
            "every job's timer is installed and enabled",
            None,
        )
    } else if by_cron {
        check(
            "schedule",
            Status::Warn,
            format!(
                "no systemd timer for {} (the crontab runs `aie run`)",
                [missing, disabled].concat().join(", ")
            ),
            Some("nothing to do if cron runs the jobs; compare it with `aie schedule cron`".into()),
        )
    } else if missing.len() == jobs.len() && !ever_scheduled(setup, jobs) {
        // A fresh vault: nothing is wrong yet, the owner has simply not scheduled it.
        check(
            "schedule",
            Status::Warn,
            format!("not scheduled yet: no job's timer in {}", dirs.join(" or ")),
            Some("when the vault is ready, run `aie schedule install` (a user's timers), `aie schedule install --system` (as root, a service account), or `aie schedule install --cron` (README: Running on a server)".into()),
        )
    } else if !missing.is_empty() {
        check(
            "schedule",
            Status::Fail,
            format!(
                "not installed in {}: {}",
                dirs.join(" or "),
                missing.join(", ")
            ),
            Some("run `aie schedule install` (or `aie schedule install --cron` for cron)".into()),
        )
    } else {
        check(
            "schedule",
            Status::Fail,
            format!("installed but not enabled: {}", disabled.join(", ")),
            Some(format!(
                "run `systemctl{} enable --now {}`",
                if system { "" } else { " --user" },
                disabled.join(" ")
            )),
        )
    }
}

/// Whether a job of this installation has ever run on a schedule here (`aie run` recorded it
/// in state): then a missing timer is a failure, not a first-week warning.
fn ever_scheduled(setup: &Setup, jobs: &[crate::schedule::jobs::Job]) -> bool {
    let state = crate::state::StateStore::new(&Vault::at(setup.root).aie_dir())
        .load()
        .unwrap_or_default();
    state.schedule.is_some()
        || jobs.iter().any(|j| {
            state
                .jobs
                .get(&j.name)
                .is_some_and(|s| s.last_start.is_some())
        })
}

/// The pid a lock's holder text names (`pid N job ...`).
fn holder_pid(text: &str) -> Option<i32> {
    let mut w = text.split_whitespace();
    while let Some(x) = w.next() {
        if x == "pid" {
            return w.next()?.parse().ok();
        }
    }
    None
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needed(yaml: &str) -> Vec<(&'static str, Vec<&'static str>)> {
        let s = Settings::parse(yaml, Path::new("aie.yaml")).unwrap();
        needed_secrets(&s, Role::Local)
            .into_iter()
            .map(|(c, n)| (c, n.iter().map(|n| n.name).collect()))
            .collect()
    }

    // Doctor warned that a relay with `smtp.auth: false` lacked AIE_SMTP_USERNAME and
    // AIE_SMTP_PASSWORD: its list came from a table of its own, not from the connector.
    #[test]
    fn doctor_asks_for_the_smtp_login_only_when_smtp_authenticates() {
        assert!(needed("smtp:\n  host: relay\n  auth: false\n").is_empty());
        assert_eq!(
            needed("smtp:\n  host: h\n  auth: true\n"),
            [("smtp", vec!["AIE_SMTP_USERNAME", "AIE_SMTP_PASSWORD"])]
        );
    }

    #[test]
    fn doctor_names_the_gmail_secrets_when_gmail_is_set_up() {
        assert!(needed("timezone: UTC\n").is_empty());
        assert_eq!(
            needed("gmail:\n  query: in:inbox\n"),
            [(
                "gmail",
                vec![
                    "AIE_GMAIL_CLIENT_ID",
                    "AIE_GMAIL_CLIENT_SECRET",
                    "AIE_GMAIL_REFRESH_TOKEN"
                ]
            )]
        );
    }

    #[test]
    fn holder_text_gives_the_pid() {
        assert_eq!(holder_pid("pid 42 job plan agent local since x"), Some(42));
        assert!(pid_alive(std::process::id() as i32));
    }
}
