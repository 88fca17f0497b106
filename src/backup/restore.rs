//! Rebuilds a folder from a snapshot, byte for byte, with each file's and folder's mode and
//! modification time. Every file's bytes are checked against the manifest's SHA-256 before
//! they are written; a manifest path that would leave the folder is refused. Files go in
//! through temp names; folder times are set last, deepest first.

use super::{Entry, Store, excluded, safe_rel};
use crate::fsutil;
use anyhow::{Context, Result, bail};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a restore did.
#[derive(Debug, Default)]
pub struct RestoreReport {
    pub files: u64,
    pub bytes: u64,
    /// Files in the folder that the snapshot does not have, removed (restore over a vault).
    pub removed: u64,
}

fn time_of(e: &Entry) -> SystemTime {
    if e.mtime >= 0 {
        UNIX_EPOCH + Duration::new(e.mtime as u64, e.mtime_ns)
    } else {
        UNIX_EPOCH - Duration::from_secs(e.mtime.unsigned_abs())
            + Duration::from_nanos(e.mtime_ns as u64)
    }
}

/// Restores snapshot `id` into `to`. When `replace` is false, `to` must be missing or empty;
/// when true, files under `to` that the snapshot lacks are removed (except what backups
/// never take: `.git/`, locks and secrets in `.aie/`). Errors name the snapshot or path.
pub fn restore(store: &Store, id: &str, to: &Path, replace: bool) -> Result<RestoreReport> {
    let m = store.manifest(id)?;
    if !replace
        && to.exists()
        && fs::read_dir(to)
            .with_context(|| format!("cannot read `{}`", to.display()))?
            .next()
            .is_some()
    {
        bail!(
            "`{}` is not empty: restore into a new folder, or give --force to restore over it",
            to.display()
        );
    }
    fs::create_dir_all(to).with_context(|| format!("cannot create `{}`", to.display()))?;
    let mut report = RestoreReport::default();
    for e in &m.entries {
        safe_rel(&e.path)?;
        let path = if e.path == "." {
            to.to_path_buf()
        } else {
            to.join(&e.path)
        };
        fsutil::check_no_symlink(to, &path)?;
        match e.kind.as_str() {
            "dir" => {
                match fs::symlink_metadata(&path) {
                    Ok(md) if md.is_dir() => {}
                    Ok(_) => bail!("`{}` is in the way of a folder", path.display()),
                    Err(_) => fs::create_dir(&path)
                        .with_context(|| format!("cannot create `{}`", path.display()))?,
                }
                // Writable for now: its files go in first.
                fs::set_permissions(&path, fs::Permissions::from_mode(e.mode | 0o700))
                    .with_context(|| format!("cannot set the mode of `{}`", path.display()))?;
            }
            "file" => {
                let bytes = store
                    .read_object(&e.sha256)
                    .with_context(|| format!("cannot restore `{}` from snapshot `{id}`", e.path))?;
                let tmp = fsutil::temp_path_for(&path);
                let res = (|| -> std::io::Result<()> {
                    fs::write(&tmp, &bytes)?;
                    fs::set_permissions(&tmp, fs::Permissions::from_mode(e.mode))?;
                    let f = fs::File::options().write(true).open(&tmp)?;
                    f.set_modified(time_of(e))?;
                    fs::rename(&tmp, &path)
                })();
                if res.is_err() {
                    let _ = fs::remove_file(&tmp);
                }
                res.with_context(|| format!("cannot write `{}`", path.display()))?;
                report.files += 1;
                report.bytes += bytes.len() as u64;
            }
            other => bail!("snapshot `{id}` has an entry of kind `{other}`"),
        }
    }
    if replace {
        let want: std::collections::BTreeSet<&str> =
            m.entries.iter().map(|e| e.path.as_str()).collect();
        let mut extra = Vec::new();
        for ent in walkdir::WalkDir::new(to)
            .follow_links(false)
            .contents_first(true)
            .into_iter()
            .flatten()
        {
            let Ok(rel) = ent.path().strip_prefix(to) else {
                continue;
            };
            let Some(rel) = rel.to_str().filter(|r| !r.is_empty()) else {
                continue;
            };
            if !want.contains(rel) && !excluded(rel) && !rel.starts_with(".aie/locks") {
                extra.push(ent.path().to_path_buf());
            }
        }
        for p in extra {
            let md = fs::symlink_metadata(&p)?;
            if md.is_dir() {
                // Only once empty: a folder that still holds something kept stays.
                if fs::remove_dir(&p).is_ok() {
                    report.removed += 1;
                }
            } else {
                fs::remove_file(&p).with_context(|| format!("cannot remove `{}`", p.display()))?;
                report.removed += 1;
            }
        }
    }
    fsutil::sync_fs(to).with_context(|| format!("cannot sync `{}`", to.display()))?;
    // Folder modes and times last, deepest first (writing a file changes its folder's time).
    for e in m.entries.iter().rev().filter(|e| e.kind == "dir") {
        let path = if e.path == "." {
            to.to_path_buf()
        } else {
            to.join(&e.path)
        };
        fs::set_permissions(&path, fs::Permissions::from_mode(e.mode))
            .with_context(|| format!("cannot set the mode of `{}`", path.display()))?;
        let f =
            fs::File::open(&path).with_context(|| format!("cannot open `{}`", path.display()))?;
        f.set_modified(time_of(e))
            .with_context(|| format!("cannot set the time of `{}`", path.display()))?;
    }
    Ok(report)
}
