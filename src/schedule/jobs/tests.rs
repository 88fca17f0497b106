//! The job files' unit tests: parsing, defaults, the cron schedule's due times, loading.

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    crate::clock::parse_time(s).unwrap()
}

/// The other agent's version of a job file, set aside by sync-vault beside this
/// agent's, is no job: nor is a hidden or temporary file.
#[test]
fn copies_set_aside_are_not_jobs() {
    let d = tempfile::tempdir().unwrap();
    let jobs = vault_jobs_dir(d.path());
    std::fs::create_dir_all(&jobs).unwrap();
    let text = "description: mine\nsteps:\n  - plan\nschedule: \"* * * * *\"\n";
    for name in [
        "mine.yaml",
        "mine.sync-conflict-20261201.yaml",
        ".x.yaml",
        "y.yaml~",
    ] {
        std::fs::write(jobs.join(name), text).unwrap();
    }
    let names: Vec<String> = load(d.path())
        .unwrap()
        .into_iter()
        .map(|j| j.name)
        .collect();
    assert!(names.contains(&"mine".to_string()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.contains("conflict") || n == ".x"),
        "{names:?}"
    );
}

#[test]
fn builtin_jobs_parse_with_their_defaults() {
    let jobs = builtin();
    let triage = jobs.iter().find(|j| j.name == "triage").unwrap();
    assert_eq!(
        triage.steps,
        vec![
            vec!["poll-gmail"],
            vec!["poll-social"],
            vec!["process-inbox"],
            vec!["plan"],
            vec!["sync-vault"]
        ]
    );
    assert_eq!(triage.schedule.text, "*/2 * * * *");
    assert_eq!(triage.agents, Agents::Both);
    let execute = jobs.iter().find(|j| j.name == "execute").unwrap();
    assert_eq!(
        execute.steps,
        vec![vec!["sync-vault"], vec!["execute-approved"]]
    );
    let sync = jobs.iter().find(|j| j.name == "sync").unwrap();
    assert_eq!(
        (sync.agents, sync.schedule.text.as_str()),
        (Agents::Both, "*/5 * * * *")
    );
    let health = jobs.iter().find(|j| j.name == "health").unwrap();
    assert_eq!(health.steps, vec![vec!["health-check"], vec!["failover"]]);
    assert_eq!(health.schedule.text, "*/2 * * * *");
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
fn success_exit_counts_a_run_as_succeeded() {
    let health = builtin().into_iter().find(|j| j.name == "health").unwrap();
    assert_eq!(health.success_exit, vec![Exit::Partial]);
    assert!(health.succeeded(Exit::Ok) && health.succeeded(Exit::Partial));
    assert!(!health.succeeded(Exit::Config));
    let sync = builtin().into_iter().find(|j| j.name == "sync").unwrap();
    assert!(sync.success_exit.is_empty() && !sync.succeeded(Exit::Partial));
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
        (
            "x",
            "description: d\nschedule: '* * * * *'\nsteps: [plan]\nsuccess_exit: [0]\n",
        ),
        (
            "x",
            "description: d\nschedule: '* * * * *'\nsteps: [plan]\nsuccess_exit: [3]\n",
        ),
    ] {
        let err = Job::parse(name, text, "vault/jobs/x.yaml").unwrap_err();
        assert!(err.to_string().contains("vault/jobs/x.yaml"), "{err}");
    }
}

/// `agents` and `on_failure` are typed: a value outside their choices names the file,
/// the line and the choices, never the parser's `<input>`.
/// Regression: `timout: 5m` was refused without the nearest key or its line.
#[test]
fn a_misspelt_job_key_is_named_with_its_file_line_and_nearest_key() {
    let text = "description: d\nschedule: '* * * * *'\nsteps: [plan]\ntimout: 5m\n";
    let err = Job::parse("x", text, "vault/jobs/x.yaml").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "unknown key `timout` in `vault/jobs/x.yaml` line 4: did you mean `timeout`?"
        ),
        "{msg}"
    );
    assert_eq!(crate::exit::exit_for(&err), crate::exit::Exit::Config);
    // Every key JOB_KEYS lists is one the typed reading takes, and the other way round.
    let all = "description: d\nsteps: [plan]\nschedule: '* * * * *'\nagents: both\ntimeout: 5m\njitter: 1s\non_failure: stop\nping_url: http://h/p\nsuccess_exit: [1]\n";
    Job::parse("x", all, "o").unwrap();
    assert_eq!(all.lines().count(), JOB_KEYS.len());
}

#[test]
fn job_enum_fields_name_their_choices_and_the_file() {
    for (text, choices) in [
        ("agents: all\n", "local, cloud, both"),
        ("on_failure: abort\n", "stop, continue"),
    ] {
        let text = format!("description: d\nschedule: '* * * * *'\nsteps: [plan]\n{text}");
        let err = Job::parse("x", &text, "vault/jobs/x.yaml").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("cannot parse `vault/jobs/x.yaml` line 4 column"),
            "{msg}"
        );
        assert!(msg.contains(choices) && !msg.contains("<input>"), "{msg}");
        assert_eq!(crate::exit::exit_for(&err), crate::exit::Exit::Config);
    }
    let job = Job::parse(
        "x",
        "description: d\nschedule: '* * * * *'\nsteps: [plan]\nagents: cloud\non_failure: stop\n",
        "o",
    )
    .unwrap();
    assert_eq!(
        (job.agents, job.on_failure),
        (Agents::Cloud, OnFailure::Stop)
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
    // Never a next due time in the past (it said 09:02 at 09:03).
    assert_eq!(d.next_due, Some(t("2026-11-23T09:04:00Z")));
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
    // Never ran since its timer was installed an hour ago: overdue (it was never).
    let installed = Some("2026-11-23T08:00:00Z");
    assert!(due_since(&job, None, None, installed, now, Tz::UTC).overdue);
    assert!(!due_since(&job, None, None, Some("2026-11-23T09:02:00Z"), now, Tz::UTC).overdue);
}

/// A job with both a `.yaml` and a `.yml` file is broken, not a guess; a `jobs` folder that
/// is a link is never followed.
#[test]
fn two_files_of_one_job_and_a_linked_folder_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let jobs = vault_jobs_dir(d.path());
    std::fs::create_dir_all(&jobs).unwrap();
    let text = "description: mine\nsteps:\n  - plan\nschedule: \"* * * * *\"\n";
    std::fs::write(jobs.join("mine.yaml"), text).unwrap();
    std::fs::write(jobs.join("mine.yml"), text).unwrap();
    let (loaded, broken) = load_each(d.path());
    assert!(!loaded.iter().any(|j| j.name == "mine"));
    assert_eq!(broken.len(), 1);
    assert!(format!("{:#}", broken[0].1).contains("two files"));
    let other = tempfile::tempdir().unwrap();
    let linked = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(other.path().join("j")).unwrap();
    std::fs::write(other.path().join("j/evil.yaml"), text).unwrap();
    std::os::unix::fs::symlink(other.path().join("j"), vault_jobs_dir(linked.path())).unwrap();
    let (loaded, broken) = load_each(linked.path());
    assert!(!loaded.iter().any(|j| j.name == "evil"));
    assert!(format!("{:#}", broken[0].1).contains("symbolic link"));
}
