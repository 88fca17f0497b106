//! The one owner of locks. Every command holds its own job lock for its whole run, plus a
//! shared hold on the vault lock; commands that rewrite the whole vault (sync, backup) take
//! the vault lock exclusively, so they run only when nothing else does. `state.json` has a
//! short blocking lock of its own. Locks are std `File::try_lock` on files under
//! `.aie/locks/`; a lock file is never deleted, and its text names the holder.

use crate::exit::AieError;
use anyhow::{Context, Result};
use serde::Serialize;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

/// How a command shares the vault with others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultAccess {
    /// Works on items alongside other commands (each still alone in its own job).
    Shared,
    /// Rewrites the whole vault: needs every other command out.
    Exclusive,
}

/// The locks a running command holds; released when dropped.
pub struct JobLocks {
    _job: File,
    _vault: File,
}

fn open_lock(path: &Path) -> Result<File> {
    // std opens with O_CLOEXEC, so a lock never leaks into a child process.
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot open lock `{}`", path.display()))
}

/// The folder of lock files.
pub fn lock_dir(aie_dir: &Path) -> PathBuf {
    aie_dir.join("locks")
}

/// A try-lock of the lock file `path` (the lock `name`): held by another run is
/// [`AieError::LockBusy`] (exit 75).
fn taken(res: std::result::Result<(), TryLockError>, name: &str, path: &Path) -> Result<()> {
    match res {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(AieError::LockBusy(name.to_string()).into()),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock `{}`", path.display()))
        }
    }
}

/// Names the holder inside a lock file it holds (never deleted, only rewritten by its
/// holder); best effort.
fn name_holder(file: &mut File, holder: &str) {
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = file.write_all(holder.as_bytes());
}

/// Takes the lock of job `job` at once, then the vault lock with `access`.
/// Errors with [`AieError::LockBusy`] (exit 75) when either is held by another run.
pub fn acquire(aie_dir: &Path, job: &str, access: VaultAccess, holder: &str) -> Result<JobLocks> {
    let dir = lock_dir(aie_dir);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let job_path = dir.join(format!("{job}.lock"));
    let mut job_file = open_lock(&job_path)?;
    taken(job_file.try_lock(), job, &job_path)?;
    let vault_path = dir.join("vault.lock");
    let vault_file = open_lock(&vault_path)?;
    let res = match access {
        VaultAccess::Shared => vault_file.try_lock_shared(),
        VaultAccess::Exclusive => vault_file.try_lock(),
    };
    taken(res, "vault", &vault_path)?;
    name_holder(&mut job_file, holder);
    Ok(JobLocks {
        _job: job_file,
        _vault: vault_file,
    })
}

/// A single named lock, held until dropped.
pub struct NamedLock {
    _file: File,
}

/// Takes the lock `name` at once, without the vault lock: for `aie run`, whose steps each
/// take their own job lock and vault hold. Errors with [`AieError::LockBusy`] (exit 75).
pub fn acquire_named(aie_dir: &Path, name: &str, holder: &str) -> Result<NamedLock> {
    let dir = lock_dir(aie_dir);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let path = dir.join(format!("{name}.lock"));
    let mut file = open_lock(&path)?;
    taken(file.try_lock(), name, &path)?;
    name_holder(&mut file, holder);
    Ok(NamedLock { _file: file })
}

/// Runs `f` under the short blocking lock named `name` (used for `state.json`).
pub fn with_short_lock<T>(aie_dir: &Path, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let dir = lock_dir(aie_dir);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let path = dir.join(format!("{name}.lock"));
    let file = open_lock(&path)?;
    file.lock()
        .with_context(|| format!("cannot lock `{}`", path.display()))?;
    let out = f();
    let _ = file.unlock();
    out
}

/// A lock as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LockInfo {
    pub name: String,
    pub held: bool,
    /// What the holder wrote when it took the lock (pid, job, start time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
}

/// Every lock under `.aie/locks/`, and whether another process holds it now.
/// Probes without blocking and never changes a holder's text.
pub fn list(aie_dir: &Path) -> Vec<LockInfo> {
    let dir = lock_dir(aie_dir);
    let Ok(rd) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".lock") else {
            continue;
        };
        let Ok(f) = File::open(e.path()) else {
            continue;
        };
        let held = match f.try_lock_shared() {
            Ok(()) => {
                let _ = f.unlock();
                false
            }
            Err(_) => true,
        };
        let holder = if held && stem != "vault" && stem != "state" {
            fs::read_to_string(e.path())
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        } else {
            None
        };
        out.push(LockInfo {
            name: stem.to_string(),
            held,
            holder,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{Exit, exit_for};

    #[test]
    fn second_holder_of_a_job_is_busy() {
        let d = tempfile::tempdir().unwrap();
        let first = acquire(d.path(), "plan", VaultAccess::Shared, "pid 1").unwrap();
        let err = acquire(d.path(), "plan", VaultAccess::Shared, "pid 2")
            .err()
            .unwrap();
        assert_eq!(exit_for(&err), Exit::LockBusy);
        // A different job shares the vault.
        let other = acquire(d.path(), "process-inbox", VaultAccess::Shared, "pid 3").unwrap();
        // A whole-vault job must wait for both.
        let err = acquire(d.path(), "backup", VaultAccess::Exclusive, "pid 4")
            .err()
            .unwrap();
        assert_eq!(exit_for(&err), Exit::LockBusy);
        drop(first);
        drop(other);
        acquire(d.path(), "backup", VaultAccess::Exclusive, "pid 4").unwrap();
    }
}
