//! Scheduled jobs: `jobs/<name>.yaml` definitions (the repo's are built in; a file in the
//! vault's `jobs/` overrides one or adds one), their 5-field cron schedules read in the
//! vault's time zone, the next time each fires, and the systemd `OnCalendar=` derived from
//! the same expression. A step is an aie subcommand with its arguments, parsed by the real
//! command line (`Cli`): never a shell. No printing, no environment, no network here.

use crate::cli::Cli;
use crate::exit::AieError;
use anyhow::Result;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use clap::{CommandFactory, Parser};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The built-in jobs, embedded from the repo's `jobs/` (a job whose command has not landed
/// is not shipped).
pub const BUILTIN: &[(&str, &str)] = &[
    ("triage", include_str!("../jobs/triage.yaml")),
    ("execute", include_str!("../jobs/execute.yaml")),
];

/// Which installation runs a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agents {
    Local,
    Cloud,
    Both,
}

/// The role of this installation: the cloud agent is the one in `draft_only` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Local,
    Cloud,
}

impl Agents {
    /// Whether an installation with `role` runs the job.
    pub fn includes(self, role: Role) -> bool {
        matches!(
            (self, role),
            (Agents::Both, _) | (Agents::Local, Role::Local) | (Agents::Cloud, Role::Cloud)
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Agents::Local => "local",
            Agents::Cloud => "cloud",
            Agents::Both => "both",
        }
    }
}

/// What a job does when a step fails (exit 1, 69 or 78; a busy step is not a failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    Stop,
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
    agents: Option<String>,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    jitter: Option<String>,
    #[serde(default)]
    on_failure: Option<String>,
    #[serde(default)]
    ping_url: Option<String>,
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

fn parse_secs(what: &str, s: &str, origin: &str) -> Result<std::time::Duration> {
    let d = crate::clock::parse_duration(s)
        .filter(|d| *d >= Duration::zero())
        .ok_or_else(|| {
            config_err(format!(
                "{origin}: {what} `{s}` is not a duration such as `90s` or `5m`"
            ))
        })?;
    Ok(d.to_std().expect("invariant: checked non-negative"))
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
        let f: JobFile = serde_saphyr::from_str(text)
            .map_err(|e| config_err(format!("cannot parse `{origin}`: {e}")))?;
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
        let agents = match f.agents.as_deref().unwrap_or("local") {
            "local" => Agents::Local,
            "cloud" => Agents::Cloud,
            "both" => Agents::Both,
            other => {
                return Err(config_err(format!(
                    "{origin}: agents `{other}` must be `local`, `cloud` or `both`"
                )));
            }
        };
        let on_failure = match f.on_failure.as_deref().unwrap_or("continue") {
            "stop" => OnFailure::Stop,
            "continue" => OnFailure::Continue,
            other => {
                return Err(config_err(format!(
                    "{origin}: on_failure `{other}` must be `stop` or `continue`"
                )));
            }
        };
        let timeout = parse_secs("timeout", f.timeout.as_deref().unwrap_or("10m"), origin)?;
        if timeout.as_secs() == 0 {
            return Err(config_err(format!("{origin}: timeout must be at least 1s")));
        }
        let jitter = parse_secs("jitter", f.jitter.as_deref().unwrap_or("0s"), origin)?;
        if let Some(u) = &f.ping_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(config_err(format!(
                "{origin}: ping_url must start with http:// or https://"
            )));
        }
        Ok(Job {
            name: name.to_string(),
            description: f.description.trim().to_string(),
            steps,
            schedule,
            agents,
            timeout,
            jitter,
            on_failure,
            ping_url: f.ping_url.map(|u| u.trim_end_matches('/').to_string()),
            source: origin.to_string(),
        })
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
        if !cli.command.is_vault_pass() {
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
    let start = last_start.and_then(crate::clock::parse_time);
    let success = last_success.and_then(crate::clock::parse_time);
    let next_due = job.schedule.next_after(start.unwrap_or(now), tz);
    let overdue = match success.or(start) {
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
/// Errors (exit 78) name the vault file that does not parse.
pub fn load(vault_root: &Path) -> Result<Vec<Job>> {
    let mut jobs = builtin();
    let dir = vault_jobs_dir(vault_root);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    for path in files {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| config_err(format!("cannot read `{}`: {e}", path.display())))?;
        let job = Job::parse(&name, &text, &path.display().to_string())?;
        jobs.retain(|j| j.name != name);
        jobs.push(job);
    }
    jobs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(jobs)
}

/// A 5-field cron expression (`minute hour day-of-month month day-of-week`), with lists,
/// ranges, steps, month and day names, and the `@daily`-style shorthands. As in Vixie cron,
/// when both day fields are restricted a day matching either one fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// The five fields, normalised (shorthands expanded).
    pub text: String,
    minutes: u64,
    hours: u32,
    /// Bits 1..=31.
    days: u32,
    /// Bits 1..=12.
    months: u16,
    /// Bits 0..=6, Sunday is 0.
    weekdays: u8,
    days_star: bool,
    weekdays_star: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const SYSTEMD_WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

fn parse_field(field: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let value = |s: &str| -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + if names.len() == 12 { 1 } else { 0 });
        }
        let v: u32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
        if v < min || v > max {
            return Err(format!("`{v}` is outside {min}-{max}"));
        }
        Ok(v)
    };
    let mut bits = 0u64;
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| format!("step `{s}` is not a number"))?;
                if step == 0 {
                    return Err("a step of 0 never fires".into());
                }
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if step > 1 { max } else { v })
        };
        if lo > hi {
            return Err(format!("range `{range}` runs backwards"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl Cron {
    /// Parses an expression. Errors say which field is wrong.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let expr = expr.trim();
        let expanded = match expr {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            e if e.starts_with('@') => return Err(format!("`{e}` is not a known shorthand")),
            e => e,
        };
        let f: Vec<&str> = expanded.split_whitespace().collect();
        if f.len() != 5 {
            return Err(format!("expected 5 fields, found {}", f.len()));
        }
        let field = |i: usize, name: &str, min, max, names: &[&str]| {
            parse_field(f[i], min, max, names).map_err(|e| format!("{name} field: {e}"))
        };
        let minutes = field(0, "minute", 0, 59, &[])?;
        let hours = field(1, "hour", 0, 23, &[])? as u32;
        let days = field(2, "day-of-month", 1, 31, &[])? as u32;
        let months = field(3, "month", 1, 12, &MONTHS)? as u16;
        let mut wd = field(4, "day-of-week", 0, 7, &WEEKDAYS)?;
        if wd & (1 << 7) != 0 {
            wd = (wd & 0x7f) | 1;
        }
        Ok(Cron {
            text: f.join(" "),
            minutes,
            hours,
            days,
            months,
            weekdays: wd as u8,
            days_star: f[2].starts_with('*'),
            weekdays_star: f[4].starts_with('*'),
        })
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().num_days_from_sunday()) != 0;
        if self.days_star || self.weekdays_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first time strictly after `t` that the schedule fires, read in `tz` (a local time
    /// skipped by a clock change does not fire; a repeated one fires at its first instance).
    /// None when it never fires within five years (such as `0 0 31 2 *`).
    pub fn next_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        use chrono::TimeZone;
        let local = t.with_timezone(&tz).naive_local();
        let start = local
            .with_second(0)
            .and_then(|l| l.with_nanosecond(0))
            .unwrap_or(local)
            + Duration::minutes(1);
        let mut day = start.date();
        for _ in 0..(366 * 5) {
            if self.day_matches(day) {
                for h in (0..24).filter(|h| self.hours & (1 << h) != 0) {
                    for m in (0..60).filter(|m| self.minutes & (1u64 << m) != 0) {
                        let Some(naive) = day.and_hms_opt(h, m, 0) else {
                            continue;
                        };
                        if naive < start - Duration::hours(3) {
                            continue;
                        }
                        let Some(at) = tz.from_local_datetime(&naive).earliest() else {
                            continue;
                        };
                        let at = at.with_timezone(&Utc);
                        if at > t {
                            return Some(at);
                        }
                    }
                }
            }
            day = day.succ_opt()?;
        }
        None
    }

    /// The gap between the next two firings after `t`: the job's period there.
    pub fn period_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<Duration> {
        let a = self.next_after(t, tz)?;
        let b = self.next_after(a, tz)?;
        Some(b - a)
    }

    /// The systemd `OnCalendar=` values for this schedule in the zone named `tz` (two when
    /// both day fields are restricted, since cron fires on either).
    pub fn on_calendar(&self, tz: &str) -> Vec<String> {
        let minute = render(self.minutes, 0, 59);
        let hour = render(self.hours as u64, 0, 23);
        let month = render(self.months as u64, 1, 12);
        let days = render(self.days as u64, 1, 31);
        let weekdays: Vec<&str> = (0..7)
            .map(|i| (i + 1) % 7)
            .filter(|i| self.weekdays & (1 << i) != 0)
            .map(|i| SYSTEMD_WEEKDAYS[i])
            .collect();
        let line = |dow: Option<&str>, dom: &str| {
            let prefix = dow.map(|d| format!("{d} ")).unwrap_or_default();
            format!("{prefix}*-{month}-{dom} {hour}:{minute}:00 {tz}")
        };
        let dow = weekdays.join(",");
        match (self.days_star, self.weekdays_star) {
            (true, true) => vec![line(None, "*")],
            (false, true) => vec![line(None, &days)],
            (true, false) => vec![line(Some(&dow), "*")],
            (false, false) => vec![line(None, &days), line(Some(&dow), "*")],
        }
    }
}

/// A set of values as systemd writes it: `*`, `start/step`, or a comma list, two digits each.
fn render(bits: u64, min: u32, max: u32) -> String {
    let vals: Vec<u32> = (min..=max).filter(|v| bits & (1u64 << v) != 0).collect();
    if vals.len() as u32 == max - min + 1 {
        return "*".into();
    }
    if vals.len() >= 3 {
        let step = vals[1] - vals[0];
        let regular = vals.windows(2).all(|w| w[1] - w[0] == step);
        if regular && step > 1 && vals[vals.len() - 1] + step > max {
            return format!("{:02}/{step}", vals[0]);
        }
    }
    vals.iter()
        .map(|v| format!("{v:02}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        crate::clock::parse_time(s).unwrap()
    }

    #[test]
    fn builtin_jobs_parse_with_their_defaults() {
        let jobs = builtin();
        let triage = jobs.iter().find(|j| j.name == "triage").unwrap();
        assert_eq!(
            triage.steps,
            vec![vec!["poll-gmail"], vec!["process-inbox"], vec!["plan"]]
        );
        assert_eq!(triage.schedule.text, "*/2 * * * *");
        assert_eq!(triage.agents, Agents::Both);
        let execute = jobs.iter().find(|j| j.name == "execute").unwrap();
        assert_eq!(execute.steps, vec![vec!["execute-approved"]]);
        assert_eq!(execute.agents, Agents::Local);
        assert_eq!(execute.schedule.text, "*/5 * * * *");
    }

    /// Guards the rule "a job whose command does not exist yet is not shipped".
    #[test]
    fn every_builtin_step_is_a_command_of_this_binary() {
        for job in builtin() {
            if let Err(e) = job.commands() {
                panic!("{e:#}");
            }
        }
    }

    #[test]
    fn steps_must_be_aie_vault_commands() {
        let job = |steps: &str| {
            Job::parse(
                "x",
                &format!("description: d\nschedule: '* * * * *'\nsteps: {steps}\n"),
                "jobs/x.yaml",
            )
            .unwrap()
        };
        assert!(
            job("[plan, 'execute-approved --dry-run']")
                .commands()
                .is_ok()
        );
        for bad in [
            "['sh -c true']",
            "['rm -rf /']",
            "[status]",
            "['run triage']",
            "['plan --vault /elsewhere']",
            "['plan --frobnicate']",
        ] {
            let err = job(bad).commands().unwrap_err();
            assert_eq!(
                crate::exit::exit_for(&err),
                crate::exit::Exit::Config,
                "{bad}"
            );
            assert!(err.to_string().contains("job `x`"), "{err}");
        }
    }

    #[test]
    fn bad_job_files_are_config_errors_naming_the_file() {
        for (name, text) in [
            (
                "x",
                "description: d\nschedule: '61 * * * *'\nsteps: [plan]\n",
            ),
            ("x", "description: d\nschedule: '* * * *'\nsteps: [plan]\n"),
            ("x", "description: d\nschedule: '* * * * *'\nsteps: []\n"),
            (
                "x",
                "description: d\nschedule: '* * * * *'\nsteps: [plan]\nshell: true\n",
            ),
            (
                "x",
                "description: d\nschedule: '* * * * *'\nsteps: [plan]\nagents: all\n",
            ),
            (
                "plan",
                "description: d\nschedule: '* * * * *'\nsteps: [plan]\n",
            ),
            (
                "Bad_Name",
                "description: d\nschedule: '* * * * *'\nsteps: [plan]\n",
            ),
        ] {
            let err = Job::parse(name, text, "vault/jobs/x.yaml").unwrap_err();
            assert!(err.to_string().contains("vault/jobs/x.yaml"), "{err}");
        }
    }

    #[test]
    fn next_fire_in_the_vault_zone() {
        let c = Cron::parse("*/2 * * * *").unwrap();
        assert_eq!(
            c.next_after(t("2026-11-23T09:00:00Z"), Tz::UTC),
            Some(t("2026-11-23T09:02:00Z"))
        );
        assert_eq!(
            c.next_after(t("2026-11-23T09:01:30Z"), Tz::UTC),
            Some(t("2026-11-23T09:02:00Z"))
        );
        let monday = Cron::parse("0 7 * * mon").unwrap();
        let karachi: Tz = "Asia/Karachi".parse().unwrap();
        // Sunday 2026-11-22 is before Monday 07:00 in Karachi (02:00 UTC).
        assert_eq!(
            monday.next_after(t("2026-11-22T12:00:00Z"), karachi),
            Some(t("2026-11-23T02:00:00Z"))
        );
        assert_eq!(
            monday.period_after(t("2026-11-22T12:00:00Z"), karachi),
            Some(Duration::days(7))
        );
        // 02:30 does not exist in Berlin on 2026-03-29: that day does not fire.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let c = Cron::parse("30 2 * * *").unwrap();
        assert_eq!(
            c.next_after(t("2026-03-28T12:00:00Z"), berlin),
            Some(t("2026-03-30T00:30:00Z"))
        );
        assert_eq!(
            Cron::parse("0 0 31 2 *")
                .unwrap()
                .next_after(t("2026-01-01T00:00:00Z"), Tz::UTC),
            None
        );
    }

    #[test]
    fn overdue_after_two_periods_without_success() {
        let job = builtin().into_iter().find(|j| j.name == "triage").unwrap();
        let now = t("2026-11-23T09:03:00Z");
        let d = due(
            &job,
            Some("2026-11-23T09:00:00Z"),
            Some("2026-11-23T09:00:05Z"),
            now,
            Tz::UTC,
        );
        assert_eq!(d.next_due, Some(t("2026-11-23T09:02:00Z")));
        assert!(!d.overdue);
        let later = t("2026-11-23T09:04:06Z");
        assert!(
            due(
                &job,
                Some("2026-11-23T09:00:00Z"),
                Some("2026-11-23T09:00:05Z"),
                later,
                Tz::UTC
            )
            .overdue
        );
        // Never ran: due next, not overdue.
        let d = due(&job, None, None, now, Tz::UTC);
        assert_eq!(d.next_due, Some(t("2026-11-23T09:04:00Z")));
        assert!(!d.overdue);
        // Started but never succeeded since long ago.
        assert!(due(&job, Some("2026-11-23T08:00:00Z"), None, now, Tz::UTC).overdue);
    }

    #[test]
    fn either_day_field_fires_when_both_are_restricted() {
        let c = Cron::parse("0 0 1 * fri").unwrap();
        // 2026-11-27 is a Friday, before December 1st.
        assert_eq!(
            c.next_after(t("2026-11-23T00:00:00Z"), Tz::UTC),
            Some(t("2026-11-27T00:00:00Z"))
        );
        assert_eq!(
            c.on_calendar("UTC"),
            vec!["*-*-01 00:00:00 UTC", "Fri *-*-* 00:00:00 UTC"]
        );
    }

    #[test]
    fn on_calendar_forms() {
        let oc = |e: &str| Cron::parse(e).unwrap().on_calendar("Europe/Berlin");
        assert_eq!(oc("*/2 * * * *"), vec!["*-*-* *:00/2:00 Europe/Berlin"]);
        assert_eq!(oc("0 7 * * 1"), vec!["Mon *-*-* 07:00:00 Europe/Berlin"]);
        assert_eq!(oc("30 2 * * *"), vec!["*-*-* 02:30:00 Europe/Berlin"]);
        assert_eq!(
            oc("0 9-17/4 * * 1-5"),
            vec!["Mon,Tue,Wed,Thu,Fri *-*-* 09,13,17:00:00 Europe/Berlin"]
        );
        assert_eq!(oc("@monthly"), vec!["*-*-01 00:00:00 Europe/Berlin"]);
        assert_eq!(oc("0 0 * * 7"), vec!["Sun *-*-* 00:00:00 Europe/Berlin"]);
        assert_eq!(
            oc("0 0 * jan,jul *"),
            vec!["*-01,07-* 00:00:00 Europe/Berlin"]
        );
    }

    #[test]
    fn bad_expressions() {
        for e in [
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "*/0 * * * *",
            "5-1 * * * *",
            "@reboot",
            "x * * * *",
        ] {
            assert!(Cron::parse(e).is_err(), "{e}");
        }
    }
}
