//! File-system primitives every write in aie goes through: atomic writes (temp file in the
//! same folder, then rename), batches that sync once, moves that never overwrite, and the
//! names that are not items. Nothing here knows about items or the network.
//! Nothing here follows a symbolic link inside the vault: reads open with `O_NOFOLLOW` and
//! check what they opened, folders are checked component by component, and a rewrite lands
//! only on the very file (device and inode) that was read. One file's open, read, write
//! and move are in [`open`], from the vault's folder held open when a pass has it.

mod faults;
mod open;

pub use open::{
    FileId, MoveError, Root, move_noreplace, move_noreplace_in, open_regular_nofollow,
    read_regular_in, read_regular_nofollow, symlink_stat_in,
};

use anyhow::{Context, Result, bail};
pub use faults::{Io, failpoint, fault};
use open::{link_error, open_in_mode, rename_in, write_nofollow};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of aie's temp files: starts with `.` so no scan takes one for an item.
pub const TEMP_PREFIX: &str = ".aie-tmp-";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file name that is not an item (SPEC.md: dot-files, `~`, `.tmp`, `.swp`, `.sync-conflict-*`).
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".tmp")
        || name.ends_with(".swp")
        || name.contains(".sync-conflict-")
}

/// Sets the process umask so that every file and folder aie creates from now on is private
/// to its owner (0600 / 0700), or shared with its group (0660 / 0770) when `shared_group`
/// (`vault.shared_group` in `aie.yaml`). Temp files, state, logs and moved items all follow.
pub fn set_private(shared_group: bool) {
    let mask = if shared_group { 0o007 } else { 0o077 };
    // SAFETY: umask takes a mode and cannot fail.
    unsafe {
        libc::umask(mask);
    }
}

/// A fresh temp path beside `target`, named for this process so a later run can tell
/// whether its writer is still alive.
pub fn temp_path_for(target: &Path) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = target.parent().unwrap_or(Path::new("."));
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let pid = PID.get_or_init(std::process::id);
    dir.join(format!("{TEMP_PREFIX}{pid}-{n}"))
}

/// Writes `bytes` to a new temp file beside `target` (not yet synced, not yet renamed),
/// found from `root` when below it; `private`: created with mode 0600, so no other user can
/// open it even before a byte is written.
fn write_temp_in(
    root: Option<&Root>,
    target: &Path,
    bytes: &[u8],
    private: bool,
) -> Result<PathBuf> {
    let tmp = temp_path_for(target);
    fault(Io::Create).with_context(|| format!("cannot create `{}`", tmp.display()))?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
    let mode = if private { 0o600 } else { 0o666 };
    let mut f = open_in_mode(root, &tmp, flags, mode)
        .with_context(|| format!("cannot create `{}`", tmp.display()))?;
    // A write that fails (a full disk) leaves no half-written temp file behind.
    if let Err(e) = fault(Io::Write).and_then(|()| f.write_all(bytes)) {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write `{}`", target.display()));
    }
    Ok(tmp)
}

/// Writes a file atomically and durably: temp file, fsync, rename, fsync the folder.
/// Errors name the file.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_as(target, bytes, false)
}

/// [`write_atomic`] for a file only its owner may read (mode 0600 whatever the umask and
/// `vault.shared_group`): the OAuth token caches.
pub fn write_atomic_private(target: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_as(target, bytes, true)
}

fn write_atomic_as(target: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let tmp = write_temp_in(None, target, bytes, private)?;
    let res = (|| {
        File::open(&tmp)?.sync_all()?;
        fault(Io::Rename)?;
        fs::rename(&tmp, target)?;
        sync_dir(target.parent().unwrap_or(Path::new(".")))
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.with_context(|| format!("cannot write `{}`", target.display()))
}

/// Appends `text` to the file at `path` (created when missing) and syncs its data to disk:
/// for the JSON-lines logs written once per run. Errors name the file.
pub fn append_synced(path: &Path, text: &str) -> Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open `{}`", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot append to `{}`", path.display()))?;
    f.sync_data()
        .with_context(|| format!("cannot sync `{}`", path.display()))
}

/// The paths in folder `dir`, sorted; none when it cannot be read (missing, not a folder).
pub fn sorted_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    };
    paths.sort();
    paths
}

/// Fsyncs a folder so the names in it (renames, new files) are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Flushes every dirty page of the file system that holds `path`, in one call.
/// This is how a batch becomes durable without one fsync per file.
pub fn sync_fs(path: &Path) -> io::Result<()> {
    let f = File::open(path)?;
    use std::os::fd::AsRawFd;
    // SAFETY: syncfs takes an open descriptor and nothing else.
    let rc = unsafe { libc::syncfs(f.as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Moves `from` into folder `dir`, keeping its name, or the first free `name (2)`, `name (3)`...
/// Returns the final path. Used for originals and duplicates kept beside each other.
pub fn move_into_free_name(from: &Path, dir: &Path, name: &str) -> Result<PathBuf> {
    let mut made_dir = false;
    let mut n = 1;
    while n < 10_000 {
        let candidate = dir.join(numbered_name(name, n));
        match move_noreplace(from, &candidate) {
            Ok(()) => return Ok(candidate),
            Err(MoveError::Exists(_)) => n += 1,
            // The folder is made only when it is missing (a mkdir costs as much as a file).
            Err(MoveError::Other { source, .. })
                if source.kind() == io::ErrorKind::NotFound && !made_dir && !dir.exists() =>
            {
                fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create `{}`", dir.display()))?;
                made_dir = true;
            }
            Err(e) => return Err(e.into()),
        }
    }
    bail!("no free name for `{name}` in `{}`", dir.display())
}

/// `name` for n = 1, else `stem (n).ext`.
pub fn numbered_name(name: &str, n: u32) -> String {
    if n == 1 {
        return name.to_string();
    }
    match name.rfind('.') {
        Some(i) if i > 0 => format!("{} ({n}){}", &name[..i], &name[i..]),
        _ => format!("{name} ({n})"),
    }
}

/// A set of writes made durable together: every file is written to a temp file first, the
/// file system is synced once, then all are renamed into place and their folders synced.
#[derive(Default)]
pub struct WriteBatch {
    /// (temp file, target, whether the target must not exist yet)
    pending: Vec<(PathBuf, PathBuf, bool)>,
    /// The folder its paths are found from, when below it.
    root: Option<Arc<Root>>,
}

impl WriteBatch {
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// A batch whose paths below `root` are found from it ([`Root`]).
    pub fn within(root: Option<Arc<Root>>) -> WriteBatch {
        WriteBatch {
            pending: Vec::new(),
            root,
        }
    }

    /// Stages `bytes` for `target`; nothing is visible at `target` until [`WriteBatch::commit`].
    pub fn stage(&mut self, target: &Path, bytes: &[u8]) -> Result<()> {
        let tmp = write_temp_in(self.root.as_deref(), target, bytes, false)?;
        self.pending.push((tmp, target.to_path_buf(), false));
        Ok(())
    }

    /// Writes a file in place now (create or truncate), to be made durable by the commit's
    /// sync. For files whose torn state is harmless until the batch's renames land.
    /// A symbolic link at `target` is refused, never written through.
    pub fn write_direct(&mut self, target: &Path, bytes: &[u8]) -> Result<()> {
        let root = self.root.as_deref();
        let res = write_nofollow(root, target, bytes);
        let res = match res {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(dir) = target.parent() {
                    fs::create_dir_all(dir)?;
                }
                write_nofollow(root, target, bytes)
            }
            other => other,
        };
        res.map_err(link_error)
            .with_context(|| format!("cannot write `{}`", target.display()))
    }

    /// Stages a new file: at commit it is moved into place only if `target` does not exist.
    pub fn stage_new(&mut self, target: &Path, bytes: &[u8]) -> Result<()> {
        let tmp = write_temp_in(self.root.as_deref(), target, bytes, false)?;
        self.pending.push((tmp, target.to_path_buf(), true));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Adds what `other` staged after what this batch staged (batches filled on several
    /// threads, committed as one).
    pub fn extend(&mut self, other: WriteBatch) {
        self.pending.extend(other.pending);
        if self.root.is_none() {
            self.root = other.root;
        }
    }

    /// Syncs the staged data once (through the file system of `root`), then renames each
    /// temp file over its target (new files never overwrite). Returns, per staged file in
    /// order, its target or why it could not be put in place (its temp file is removed).
    /// Errors only when the sync fails, with nothing renamed.
    pub fn commit(self, root: &Path) -> Result<Vec<Result<PathBuf>>> {
        self.commit_in(root, &crate::par::Pool::none())
    }

    /// [`WriteBatch::commit`], the renames shared with `pool`'s worker (each stands alone).
    pub fn commit_in(self, root: &Path, pool: &crate::par::Pool) -> Result<Vec<Result<PathBuf>>> {
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        if let Err(e) = sync_fs(root) {
            let root = root.display().to_string();
            self.abandon();
            return Err(e).with_context(|| format!("cannot sync `{root}`"));
        }
        let root = self.root;
        Ok(pool.map(self.pending, move |p| put_in_place(root.as_deref(), p)))
    }
}

/// Renames a staged temp file over its target (a new file never overwrites one); on an
/// error the temp file is removed.
fn put_in_place(
    root: Option<&Root>,
    (tmp, target, new): (PathBuf, PathBuf, bool),
) -> Result<PathBuf> {
    let res = if new {
        move_noreplace_in(root, &tmp, &target).map_err(anyhow::Error::from)
    } else {
        fault(Io::Rename)
            .and_then(|()| rename_in(root, &tmp, &target, 0))
            .map_err(anyhow::Error::from)
    };
    match res {
        Ok(()) => Ok(target),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e.context(format!("cannot write `{}`", target.display())))
        }
    }
}

impl WriteBatch {
    /// Removes staged temp files (on an error before commit).
    pub fn abandon(self) {
        for (tmp, _, _) in self.pending {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Removes aie temp files in `dir` left by processes that are no longer alive.
/// Returns how many were removed.
pub fn clean_stale_temps(dir: &Path) -> usize {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    let mut n = 0;
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(TEMP_PREFIX) else {
            continue;
        };
        let pid: Option<i32> = rest.split('-').next().and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| !process_alive(p)) && fs::remove_file(e.path()).is_ok() {
            n += 1;
        }
    }
    n
}

/// Whether a process with this pid exists (ours counts as alive).
pub fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Errors when `path` is not under `root`, or when any existing component of `path` below
/// `root` is a symbolic link (`root` itself is the owner's choice and may be one). The
/// error names the path relative to `root`. Missing components end the check: nothing
/// below them exists to follow. Checked right before use: a link planted between this check
/// and the use is not seen (reads of items and files also open with `O_NOFOLLOW`).
pub fn check_no_symlink(root: &Path, path: &Path) -> Result<()> {
    let rel = path
        .strip_prefix(root)
        .map_err(|_| anyhow::anyhow!("`{}` is outside the vault", path.display()))?;
    let mut cur = root.to_path_buf();
    for comp in rel.components() {
        match comp {
            std::path::Component::Normal(c) => cur.push(c),
            _ => bail!("`{}` is not a plain path inside the vault", rel.display()),
        }
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                let shown = cur.strip_prefix(root).unwrap_or(&cur);
                bail!(
                    "`{}` is a symbolic link: aie never follows links inside the vault; replace it with the real file or folder",
                    shown.display()
                );
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot inspect `{}`", cur.display()));
            }
        }
    }
    Ok(())
}

/// Reads a vault file that may be missing (`None`): no component below `root` may be a
/// symbolic link and the file must be a regular file. Errors name the file.
pub fn read_vault_file(root: &Path, path: &Path) -> Result<Option<Vec<u8>>> {
    check_no_symlink(root, path)?;
    match read_regular_nofollow(path) {
        Ok((bytes, _)) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// What became of a rewrite of a file aie holds (see [`rewrite_held`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// The new bytes are at the path, in place of the file that was read.
    Rewritten,
    /// Nothing is at the path any more: someone moved or removed the file. Nothing written.
    Gone,
    /// Another file is at the path now (the owner saved an edit, or replaced it): it was
    /// left as it is. Nothing written.
    Replaced,
}

/// Rewrites `path` with `bytes` only if the file there is still `held` (the one read):
/// the new content goes to a synced temp file that is swapped with the file at `path` in
/// one step (`renameat2 RENAME_EXCHANGE`), which fails when nothing is at `path`, so a file
/// moved away (say, to `Rejected/`) is never recreated at its old place; when the file
/// swapped out was not the one read, it is swapped back. Where the file system lacks the
/// exchange, the identity is checked just before a plain rename: a move in that instant
/// could recreate the file (documented race). Errors name the file.
pub fn rewrite_held(path: &Path, held: FileId, bytes: &[u8]) -> Result<Held> {
    let tmp = write_temp_in(None, path, bytes, false)?;
    let swapped = File::open(&tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| rename_exchange(&tmp, path));
    let res = match swapped {
        // `tmp` now names the file that was at `path`.
        Ok(()) => swap_back_unless_held(path, &tmp, held),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            match e.raw_os_error() {
                Some(libc::ENOENT) if fs::symlink_metadata(path).is_err() => Ok(Held::Gone),
                Some(libc::EINVAL) | Some(libc::ENOSYS) => rewrite_checked(path, held, bytes),
                _ => Err(e),
            }
        }
    };
    let held = res.with_context(|| format!("cannot write `{}`", path.display()))?;
    if held == Held::Rewritten {
        sync_dir(path.parent().unwrap_or(Path::new(".")))
            .with_context(|| format!("cannot sync the folder of `{}`", path.display()))?;
    }
    Ok(held)
}

/// After an exchange: `old` holds what was at `path`. Keeps the swap when that was the file
/// read, else swaps back (or, when `path` went away meanwhile, puts it back by name, or
/// beside it under a free name: someone's file is never deleted).
fn swap_back_unless_held(path: &Path, old: &Path, held: FileId) -> io::Result<Held> {
    if FileId::of(&fs::symlink_metadata(old)?) == held {
        fs::remove_file(old)?;
        return Ok(Held::Rewritten);
    }
    if rename_exchange(old, path).is_ok() {
        fs::remove_file(old)?;
        return Ok(Held::Replaced);
    }
    match move_noreplace(old, path) {
        Ok(()) => Ok(Held::Replaced),
        Err(_) => {
            let dir = path.parent().unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            move_into_free_name(old, dir, &name).map_err(io::Error::other)?;
            Ok(Held::Replaced)
        }
    }
}

/// The fallback where `RENAME_EXCHANGE` is missing: the identity is checked just before a
/// plain rename (a move in that instant could recreate the file).
fn rewrite_checked(path: &Path, held: FileId, bytes: &[u8]) -> io::Result<Held> {
    match fs::symlink_metadata(path) {
        Ok(m) if FileId::of(&m) == held => {}
        Ok(_) => return Ok(Held::Replaced),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Held::Gone),
        Err(e) => return Err(e),
    }
    let tmp = temp_path_for(path);
    let res = (|| {
        fault(Io::Create)?;
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        fault(Io::Write)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fault(Io::Rename)?;
        fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.map(|()| Held::Rewritten)
}

/// Whether the file at `path` is still `held` (not moved away, not replaced). For a step
/// that cannot use [`rewrite_held`]: a move in the instant after this check is not seen.
pub fn still_held(path: &Path, held: FileId) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| FileId::of(&m) == held)
}

/// Swaps two names atomically (`renameat2 RENAME_EXCHANGE`); both must exist.
fn rename_exchange(a: &Path, b: &Path) -> io::Result<()> {
    rename_in(None, a, b, libc::RENAME_EXCHANGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_reads_whole_at_any_size_and_a_plan_write_never_follows_a_link() {
        let d = tempfile::tempdir().unwrap();
        for n in [0usize, 1, 4095, 4096, 4097, 100_000] {
            let p = d.path().join(format!("f{n}"));
            let bytes: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            fs::write(&p, &bytes).unwrap();
            assert_eq!(read_regular_nofollow(&p).unwrap().0, bytes, "{n} bytes");
        }
        // With the folder held open or without, the same.
        let held = Root::open(d.path()).unwrap();
        for (n, root) in [None, Some(&held)].into_iter().enumerate() {
            // New, then rewritten shorter: the old bytes are gone.
            let plan = d.path().join(format!("x{n}.plan.md"));
            write_nofollow(root, &plan, b"a longer first text").unwrap();
            write_nofollow(root, &plan, b"short").unwrap();
            assert_eq!(fs::read(&plan).unwrap(), b"short");
            assert_eq!(read_regular_in(root, &plan).unwrap().0, b"short");
            let outside = d.path().join(format!("outside{n}"));
            fs::write(&outside, b"kept").unwrap();
            let link = d.path().join(format!("link{n}.plan.md"));
            std::os::unix::fs::symlink(&outside, &link).unwrap();
            assert!(write_nofollow(root, &link, b"x").is_err());
            assert!(read_regular_in(root, &link).is_err());
            assert_eq!(fs::read(&outside).unwrap(), b"kept");
        }
    }

    #[test]
    fn ignored_names() {
        for n in [
            ".hidden",
            "a.md~",
            "x.tmp",
            ".x.swp",
            "a.sync-conflict-2026.md",
            "b.swp",
        ] {
            assert!(is_ignored_name(n), "{n}");
        }
        for n in ["a.md", "-dash.txt", "tmp.md", "ünï code.txt"] {
            assert!(!is_ignored_name(n), "{n}");
        }
    }

    #[test]
    fn move_never_overwrites() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        fs::write(&a, "A").unwrap();
        fs::write(&b, "B").unwrap();
        assert!(matches!(move_noreplace(&a, &b), Err(MoveError::Exists(_))));
        assert_eq!(fs::read_to_string(&b).unwrap(), "B");
        assert!(a.exists());
        let c = d.path().join("c");
        move_noreplace(&a, &c).unwrap();
        assert!(!a.exists() && c.exists());
    }

    #[test]
    fn free_names_number_before_extension() {
        assert_eq!(numbered_name("a.txt", 1), "a.txt");
        assert_eq!(numbered_name("a.txt", 3), "a (3).txt");
        assert_eq!(numbered_name(".env", 2), ".env (2)");
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("att");
        for i in 0..3 {
            let src = d.path().join(format!("src{i}"));
            fs::write(&src, "x").unwrap();
            move_into_free_name(&src, &dir, "same.txt").unwrap();
        }
        assert!(dir.join("same (3).txt").exists());
    }

    #[test]
    fn batch_commits_all_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let mut b = WriteBatch::new();
        for i in 0..5 {
            b.stage(&d.path().join(format!("f{i}")), b"data").unwrap();
        }
        b.commit(d.path()).unwrap();
        let names: Vec<_> = fs::read_dir(d.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 5);
        assert!(
            names
                .iter()
                .all(|e| !e.file_name().to_string_lossy().starts_with('.'))
        );
    }

    // A rewrite at the end of a pass recreated an item the owner had moved to `Rejected/`
    // while its send was in flight, so it ended up in two stage folders.
    #[test]
    fn rewrite_lands_only_on_the_file_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.md");
        fs::write(&p, "old").unwrap();
        let (_, held) = read_regular_nofollow(&p).unwrap();
        assert_eq!(rewrite_held(&p, held, b"new").unwrap(), Held::Rewritten);
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        // Moved away: nothing is recreated at the old place.
        let (_, held) = read_regular_nofollow(&p).unwrap();
        let away = d.path().join("moved.md");
        fs::rename(&p, &away).unwrap();
        assert_eq!(rewrite_held(&p, held, b"newer").unwrap(), Held::Gone);
        assert!(!p.exists());
        assert_eq!(fs::read_to_string(&away).unwrap(), "new");
        // Replaced by another file (an editor's save): left as it is.
        fs::write(&p, "owner's edit").unwrap();
        assert_eq!(rewrite_held(&p, held, b"newer").unwrap(), Held::Replaced);
        assert_eq!(fs::read_to_string(&p).unwrap(), "owner's edit");
        let left: Vec<_> = fs::read_dir(d.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 2, "no temp file is left");
    }

    // Links in the vault were followed: a linked file was read, a linked folder written.
    #[test]
    fn links_are_never_followed() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("key");
        fs::write(&secret, "SECRET").unwrap();
        let root = d.path();
        std::os::unix::fs::symlink(&secret, root.join("Dashboard.md")).unwrap();
        let err = read_vault_file(root, &root.join("Dashboard.md")).unwrap_err();
        assert!(
            format!("{err:#}").contains("`Dashboard.md` is a symbolic link"),
            "{err:#}"
        );
        let err = read_regular_nofollow(&root.join("Dashboard.md")).unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        std::os::unix::fs::symlink(outside.path(), root.join("Plans")).unwrap();
        let err = check_no_symlink(root, &root.join("Plans/general/x.plan.md")).unwrap_err();
        assert!(
            format!("{err:#}").contains("`Plans` is a symbolic link"),
            "{err:#}"
        );
        assert!(check_no_symlink(root, &root.join("Missing/x")).is_ok());
        assert!(check_no_symlink(root, Path::new("/etc/passwd")).is_err());
        let mut b = WriteBatch::new();
        assert!(b.write_direct(&root.join("Dashboard.md"), b"x").is_err());
        assert_eq!(fs::read_to_string(&secret).unwrap(), "SECRET");
        assert_eq!(read_vault_file(root, &root.join("none")).unwrap(), None);
    }
}
