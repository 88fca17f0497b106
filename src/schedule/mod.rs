//! Scheduling: `jobs` (the job files and when each is due), `cron` (the cron expression
//! engine), `units` (what `aie schedule` writes: systemd units and the crontab) and
//! `job_run` (one run of a job: its steps in order, under its lock and watchdog).

pub mod cron;
pub mod job_run;
pub mod jobs;
pub mod units;
