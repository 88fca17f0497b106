//! Injected faults for the crash and full-disk tests (the `failpoints` feature): a named
//! point where the process aborts, and a disk that fills up or turns read-only mid-pass.
//! Without the feature both compile to nothing.

use std::io;
#[cfg(feature = "failpoints")]
use std::sync::atomic::{AtomicU64, Ordering};

/// Aborts the process at a named point when `AIE_CRASH_AT` names it (crash-safety tests only).
#[cfg(feature = "failpoints")]
pub fn failpoint(name: &str) {
    if std::env::var("AIE_CRASH_AT").is_ok_and(|v| v == name) {
        eprintln!("aie: failpoint `{name}` reached: aborting");
        std::process::abort();
    }
}

/// What a write to the vault does, for [`fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    /// Creating a file.
    Create,
    /// Writing bytes (each call counts as one write).
    Write,
    /// Renaming or moving a file.
    Rename,
}

/// A disk that fills up or turns read-only mid-pass (full-disk tests only): after
/// `AIE_FAIL_WRITES_AFTER` writes, every further write fails with `AIE_FAIL_ERRNO`
/// (`ENOSPC`, the default, fails writes; `EROFS` or `EACCES` also creates and renames).
#[cfg(feature = "failpoints")]
pub fn fault(op: Io) -> io::Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let Some(after) = std::env::var("AIE_FAIL_WRITES_AFTER")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return Ok(());
    };
    let errno = match std::env::var("AIE_FAIL_ERRNO").as_deref() {
        Ok("EROFS") => libc::EROFS,
        Ok("EACCES") => libc::EACCES,
        _ => libc::ENOSPC,
    };
    let done = match op {
        Io::Write => WRITES.fetch_add(1, Ordering::SeqCst) + 1,
        _ => WRITES.load(Ordering::SeqCst),
    };
    let failing = match op {
        Io::Write => done > after,
        _ => errno != libc::ENOSPC && done >= after,
    };
    if failing {
        return Err(io::Error::from_raw_os_error(errno));
    }
    Ok(())
}

/// No injected faults without the `failpoints` feature.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn fault(_op: Io) -> io::Result<()> {
    Ok(())
}

/// Failpoints compile to nothing without the `failpoints` feature.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn failpoint(_name: &str) {}
