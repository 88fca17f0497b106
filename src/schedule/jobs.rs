//! Scheduled jobs: `jobs/<name>.yaml` definitions (the repo's are built in; a file in the
//! vault's `jobs/` overrides one or adds one), their 5-field cron schedules read in the
//! vault's time zone, the next time each fires, and the systemd `OnCalendar=` derived from
//! the same expression. A step is an aie subcommand with its arguments, parsed by the real
//! command line (`Cli`): never a shell. No printing, no environment, no network here.

use super::cron::Cron;
use crate::cli::Cli;
use crate::exit::{AieError, Exit};
use anyhow::Result;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::{CommandFactory, Parser};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The built-in jobs, embedded from the repo's `jobs/` (a job whose command has not landed
/// is not shipped).
pub const BUILTIN: &[(&str, &str)] = &[
    ("triage", include_str!("../../jobs/triage.yaml")),
    ("execute", include_str!("../../jobs/execute.yaml")),
    (
        "nightly-backup",
        include_str!("../../jobs/nightly-backup.yaml"),
    ),
    ("sync", include_str!("../../jobs/sync.yaml")),
    ("health", include_str!("../../jobs/health.yaml")),
    (
        "monday-briefing",
        include_str!("../../jobs/monday-briefing.yaml"),
    ),
];

/// Which installation runs a job (`agents:`, default `local`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Agents {
    #[default]
    Local,
    Cloud,
    Both,
}

/// The role of this installation: the cloud agent is the one in `draft_only` mode
/// ([`crate::context::Mode::role`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Local,
    Cloud,
}

impl Role {
    /// How messages name the agent with this role.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Local => "local",
            Role::Cloud => "cloud",
        }
    }
}

impl Agents {
    /// Whether an installation with `role` runs the job.
    pub fn includes(self, role: Role) -> bool {
        matches!(
            (self, role),
            (Agents::Both, _) | (Agents::Local, Role::Local) | (Agents::Cloud, Role::Cloud)
        )
    }

    /// The name job files spell it with.
    pub fn name(self) -> &'static str {
        match self {
            Agents::Local => "local",
            Agents::Cloud => "cloud",
            Agents::Both => "both",
        }
    }
}

/// What a job does when a step fails (exit 1, 69 or 78; a busy step is not a failure):
/// `on_failure:`, default `continue`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    Stop,
    #[default]
    Continue,
}

/// One scheduled job.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub description: String,
    /// Each step: the arguments after `aie`.
    pub steps: Vec<Vec<String>>,
    pub schedule: Cron,
    pub agents: Agents,
    pub timeout: std::time::Duration,
    pub jitter: std::time::Duration,
    pub on_failure: OnFailure,
    /// healthchecks.io-style base URL: `<url>/start`, then `<url>/<exit code>`.
    pub ping_url: Option<String>,
    /// Exit codes besides 0 (and 75, busy) that still count as a successful run
    /// (`success_exit`): the unit's `SuccessExitStatus=`, no `OnFailure=` alert, no error
    /// line, and the run counts as a success for missed-run checks. The health job's 1
    /// ("a check is DOWN") is reported by the health alerts themselves.
    pub success_exit: Vec<Exit>,
    /// Where it came from: `built-in` or the vault file.
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobFile {
    description: String,
    steps: Vec<StepSpec>,
    schedule: String,
    #[serde(default)]
    agents: Agents,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    jitter: Option<String>,
    #[serde(default)]
    on_failure: OnFailure,
    #[serde(default)]
    ping_url: Option<String>,
    #[serde(default)]
    success_exit: Vec<i32>,
}

/// The keys of a job file ([`JobFile`]'s fields), checked before the typed reading so that a
/// misspelt one is named with its line and the nearest key.
const JOB_KEYS: &[&str] = &[
    "description",
    "steps",
    "schedule",
    "agents",
    "timeout",
    "jitter",
    "on_failure",
    "ping_url",
    "success_exit",
];

/// Refuses a key a job file may not have (exit 78), naming it, the file, its line and the
/// nearest key, as `aie.yaml`'s strict reading does. YAML that does not parse is left to the
/// typed reading, which names the file and line of the fault.
fn check_keys(text: &str, origin: &str) -> Result<()> {
    let known = serde_json::Value::Object(
        JOB_KEYS
            .iter()
            .map(|k| (k.to_string(), serde_json::Value::Null))
            .collect(),
    );
    let Ok((_, unknown)) = crate::config::strict::scan(text, &known) else {
        return Ok(());
    };
    let each: Vec<String> = unknown
        .iter()
        .map(|u| {
            let hint = u
                .suggestion
                .as_ref()
                .map_or(String::new(), |s| format!(": did you mean `{s}`?"));
            format!(
                "unknown key `{}` in `{origin}` line {}{hint} (a job file has {})",
                u.key.path,
                u.key.line,
                JOB_KEYS.join(", ")
            )
        })
        .collect();
    if each.is_empty() {
        Ok(())
    } else {
        Err(config_err(each.join("; ")))
    }
}

/// A step as written: `plan --deadline 30` or `[plan, --deadline, "30"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StepSpec {
    Line(String),
    Args(Vec<String>),
}

fn config_err(msg: String) -> anyhow::Error {
    AieError::Config(msg).into()
}

/// Names of every subcommand of this binary (a job may not take one as its name).
pub fn subcommand_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

impl Job {
    /// Parses one job file's text. Errors are config errors (exit 78) naming `origin`.
    pub fn parse(name: &str, text: &str, origin: &str) -> Result<Job> {
        if name.is_empty()
            || name.len() > 40
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || name.starts_with('-')
        {
            return Err(config_err(format!(
                "{origin}: job name `{name}` must be 1-40 lowercase letters, digits or `-`"
            )));
        }
        if subcommand_names().iter().any(|n| n == name) {
            return Err(config_err(format!(
                "{origin}: job name `{name}` is an aie command: name the job differently"
            )));
        }
        check_keys(text, origin)?;
        let f: JobFile = serde_saphyr::from_str(text)
            .map_err(|e| config_err(crate::config::yaml_error(origin, &e)))?;
        let steps: Vec<Vec<String>> = f
            .steps
            .into_iter()
            .map(|s| match s {
                StepSpec::Line(l) => l.split_whitespace().map(str::to_string).collect(),
                StepSpec::Args(a) => a,
            })
            .collect();
        if steps.is_empty() || steps.iter().any(Vec::is_empty) {
            return Err(config_err(format!(
                "{origin}: `steps` must list at least one aie command, none empty"
            )));
        }
        let schedule = Cron::parse(&f.schedule)
            .map_err(|e| config_err(format!("{origin}: schedule `{}`: {e}", f.schedule)))?;
        // Durations are read by the one parser, `clock::parse_duration`.
        let duration = |what: &str, s: &str| {
            crate::clock::parse_duration(s)
                .and_then(|d| d.to_std().ok())
                .ok_or_else(|| {
                    config_err(format!(
                        "{origin}: {what} `{s}` is not a duration such as `90s` or `5m`"
                    ))
                })
        };
        let timeout = duration("timeout", f.timeout.as_deref().unwrap_or("10m"))?;
        if timeout.as_secs() == 0 {
            return Err(config_err(format!("{origin}: timeout must be at least 1s")));
        }
        let jitter = duration("jitter", f.jitter.as_deref().unwrap_or("0s"))?;
        if let Some(u) = &f.ping_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(config_err(format!(
                "{origin}: ping_url must start with http:// or https://"
            )));
        }
        let success_exit = f
            .success_exit
            .iter()
            .map(|&c| match Exit::from_code(c) {
                Some(e) if e != Exit::Ok => Ok(e),
                _ => Err(config_err(format!(
                    "{origin}: success_exit `{c}` is not one of aie's failing exit codes (1, 2, 69, 75, 78)"
                ))),
            })
            .collect::<Result<Vec<Exit>>>()?;
        Ok(Job {
            name: name.to_string(),
            description: f.description.trim().to_string(),
            steps,
            schedule,
            agents: f.agents,
            timeout,
            jitter,
            on_failure: f.on_failure,
            ping_url: f.ping_url.map(|u| u.trim_end_matches('/').to_string()),
            success_exit,
            source: origin.to_string(),
        })
    }

    /// Whether a run that ended with `exit` succeeded: 0, or one of `success_exit`.
    pub fn succeeded(&self, exit: Exit) -> bool {
        exit == Exit::Ok || self.success_exit.contains(&exit)
    }

    /// Each step parsed as a command line of this binary. Errors (exit 78) name the step:
    /// a command this binary does not have, a command that is not a vault pass, `--vault`.
    pub fn commands(&self) -> Result<Vec<Cli>> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, step)| self.command(i, step))
            .collect()
    }

    fn command(&self, i: usize, step: &[String]) -> Result<Cli> {
        let shown = step.join(" ");
        let where_ = format!(
            "job `{}` ({}) step {} `{shown}`",
            self.name,
            self.source,
            i + 1
        );
        let cli =
            Cli::try_parse_from(std::iter::once("aie".to_string()).chain(step.iter().cloned()))
                .map_err(|e| {
                    let first = e.to_string();
                    let first = first
                        .lines()
                        .next()
                        .unwrap_or("")
                        .trim_start_matches("error: ");
                    config_err(format!(
                        "{where_} is not an aie command this binary can run: {first}"
                    ))
                })?;
        if cli.command.spec().kind != crate::cli::CommandKind::Pass {
            return Err(config_err(format!(
                "{where_}: `{}` cannot be a job step (only passes over the vault can)",
                step[0]
            )));
        }
        // (The parsed `vault` may come from AIE_VAULT: look at what the step itself says.)
        if step
            .iter()
            .any(|a| a == "--vault" || a.starts_with("--vault="))
        {
            return Err(config_err(format!(
                "{where_}: a step may not name another vault with --vault"
            )));
        }
        Ok(cli)
    }
}

/// When a job is next due and whether it is overdue, from its last runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    /// The first firing after the last start (after `now` when it never ran).
    pub next_due: Option<DateTime<Utc>>,
    /// No success (or, when it never succeeded, no start) within twice its period: a timer
    /// that stopped firing or a crontab that was lost. A job that never ran is not overdue.
    pub overdue: bool,
}

/// [`Due`] of `job` from the RFC 3339 stamps of its last start and last success.
pub fn due(
    job: &Job,
    last_start: Option<&str>,
    last_success: Option<&str>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Due {
    due_since(job, last_start, last_success, None, now, tz)
}

/// [`due`], for a job scheduled at `scheduled` (when `aie schedule install` put its timer
/// in place): a job that never ran since is overdue after two periods too. The next due
/// time is never in the past: a missed run is due at the next tick after now.
pub fn due_since(
    job: &Job,
    last_start: Option<&str>,
    last_success: Option<&str>,
    scheduled: Option<&str>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Due {
    let start = last_start.and_then(crate::clock::parse_time);
    let success = last_success.and_then(crate::clock::parse_time);
    let scheduled = scheduled.and_then(crate::clock::parse_time);
    let next_due = job
        .schedule
        .next_after(start.map_or(now, |s| s.max(now)), tz);
    let overdue = match success.or(start).or(scheduled) {
        Some(since) => job
            .schedule
            .period_after(since, tz)
            .is_some_and(|p| now - since > p * 2),
        None => false,
    };
    Due { next_due, overdue }
}

/// The vault's folder of job files.
pub fn vault_jobs_dir(vault_root: &Path) -> PathBuf {
    vault_root.join("jobs")
}

/// The built-in jobs.
pub fn builtin() -> Vec<Job> {
    BUILTIN
        .iter()
        .map(|(name, text)| {
            Job::parse(name, text, &format!("built-in jobs/{name}.yaml"))
                .expect("invariant: built-in jobs parse (tested)")
        })
        .collect()
}

/// Every job: the built-in ones, overridden or added to by `<vault>/jobs/*.yaml`, by name.
/// Errors (exit 78) name the vault file that does not parse. On the local agent, a job file
/// changed through sync counts only from a signed commit (`passes::sync`'s guard).
pub fn load(vault_root: &Path) -> Result<Vec<Job>> {
    let (jobs, mut broken) = load_each(vault_root);
    match broken.drain(..).next() {
        Some((_, e)) => Err(e),
        None => Ok(jobs),
    }
}

/// Every job, as [`load`] reads them, with each vault job file that cannot be read or
/// parsed left out and returned beside them (its job's name and the error naming the
/// file): one broken job file stops its own job only, never every timer of the vault. A
/// broken file that overrides a built-in job is never replaced by the built-in: the job
/// named is broken, not quietly something else.
pub fn load_each(vault_root: &Path) -> (Vec<Job>, Vec<(String, anyhow::Error)>) {
    let mut jobs = builtin();
    let mut broken = Vec::new();
    let dir = vault_jobs_dir(vault_root);
    if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
        let e = config_err(format!(
            "`{}` is a symbolic link: aie never follows one, and reads no vault job file",
            dir.display()
        ));
        broken.push(("jobs".to_string(), e));
        return (jobs, broken);
    }
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                // Not a hidden, temporary or sync-conflict copy (the other agent's version
                // of a job file set aside by sync-vault is no job).
                p.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    && !p
                        .file_name()
                        .is_some_and(|n| crate::fsutil::is_ignored_name(&n.to_string_lossy()))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut seen = std::collections::BTreeSet::new();
    for path in files {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        jobs.retain(|j| j.name != name);
        if !seen.insert(name.clone()) {
            // `a.yaml` and `a.yml`: which one the owner meant is not for aie to guess.
            let e = config_err(format!(
                "job `{name}` has two files in `{}` (`.yaml` and `.yml`): keep one",
                dir.display()
            ));
            broken.push((name, e));
            continue;
        }
        // Never through a link (read_vault_file refuses one).
        let read = crate::fsutil::read_vault_file(vault_root, &path)
            .and_then(|bytes| {
                String::from_utf8(bytes.unwrap_or_default()).map_err(anyhow::Error::from)
            })
            .map_err(|e| config_err(format!("cannot read `{}`: {e:#}", path.display())))
            .and_then(|text| Job::parse(&name, &text, &path.display().to_string()));
        match read {
            Ok(job) => jobs.push(job),
            Err(e) => broken.push((name, e)),
        }
    }
    jobs.sort_by(|a, b| a.name.cmp(&b.name));
    (jobs, broken)
}

#[cfg(test)]
mod tests;
