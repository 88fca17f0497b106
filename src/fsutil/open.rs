//! One file at a time, never through a link: open a regular file to read it, create or
//! truncate one, move one without overwriting. Each call takes the vault's folder held open
//! ([`Root`]) when there is one, and then finds its path from that folder (`openat`,
//! `renameat2`, `fstatat`) instead of from `/`: a pass makes a few such calls per item, and
//! walking the folders above the vault each time was a tenth of their cost. A path not
//! below the root is used as given, as it is without one.

use super::{Io, fault};
use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A folder held open (the vault's), that paths below it are found from.
#[derive(Debug)]
pub struct Root {
    path: PathBuf,
    fd: OwnedFd,
}

impl Root {
    /// Holds the folder at `path` open (`O_PATH`: it can only be searched from).
    pub fn open(path: &Path) -> io::Result<Root> {
        let c = cpath(path)?;
        // SAFETY: a valid NUL-terminated path; the descriptor returned is owned below.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Root {
            path: path.to_path_buf(),
            // SAFETY: `fd` was just opened and nothing else owns it.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }
}

/// Where a call finds `path`: the root's folder and the path below it, when `path` is the
/// root's path, a `/`, and a relative rest (the same file the whole path names: the rest is
/// resolved from the folder the root's path named when it was opened); else `path` itself.
fn locate(root: Option<&Root>, path: &Path) -> io::Result<(RawFd, CString)> {
    if let Some(r) = root {
        let (base, p) = (r.path.as_os_str().as_bytes(), path.as_os_str().as_bytes());
        if let Some(rest) = p.strip_prefix(base).and_then(|x| x.strip_prefix(b"/"))
            && !base.is_empty()
            && !base.ends_with(b"/")
            && !rest.is_empty()
            && !rest.starts_with(b"/")
        {
            let rest = CString::new(rest).map_err(|_| nul_error())?;
            return Ok((r.fd.as_raw_fd(), rest));
        }
    }
    Ok((libc::AT_FDCWD, cpath(path)?))
}

fn nul_error() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "path has a NUL byte")
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| nul_error())
}

/// `openat(2)` of `path` with `flags` (and `O_CLOEXEC`); new files get mode 0666 less the
/// umask, as std's `File` gives them.
pub(super) fn open_in(root: Option<&Root>, path: &Path, flags: libc::c_int) -> io::Result<File> {
    open_in_mode(root, path, flags, 0o666)
}

/// [`open_in`] creating with `mode` (before the umask): 0600 makes a file private from the
/// moment it exists.
pub(super) fn open_in_mode(
    root: Option<&Root>,
    path: &Path,
    flags: libc::c_int,
    mode: libc::c_uint,
) -> io::Result<File> {
    let (dir, c) = locate(root, path)?;
    loop {
        // SAFETY: a valid descriptor (or AT_FDCWD) and NUL-terminated path; the mode is
        // read only with O_CREAT.
        let fd = unsafe { libc::openat(dir, c.as_ptr(), flags | libc::O_CLOEXEC, mode) };
        if fd >= 0 {
            // SAFETY: `fd` was just opened and nothing else owns it.
            return Ok(unsafe { File::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `renameat2(2)` of `from` to `to` with `flags` (0: a plain rename, over `to`).
pub(super) fn rename_in(
    root: Option<&Root>,
    from: &Path,
    to: &Path,
    flags: libc::c_uint,
) -> io::Result<()> {
    let ((fd_from, c_from), (fd_to, c_to)) = (locate(root, from)?, locate(root, to)?);
    // SAFETY: valid descriptors (or AT_FDCWD) and NUL-terminated paths.
    let rc = unsafe { libc::renameat2(fd_from, c_from.as_ptr(), fd_to, c_to.as_ptr(), flags) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The status of `path` itself, never of what a link there points to (`fstatat` with
/// `AT_SYMLINK_NOFOLLOW`).
pub fn symlink_stat_in(root: Option<&Root>, path: &Path) -> io::Result<libc::stat> {
    let (dir, c) = locate(root, path)?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid descriptor (or AT_FDCWD), NUL-terminated path, and room for the result.
    let rc = unsafe { libc::fstatat(dir, c.as_ptr(), st.as_mut_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    if rc == 0 {
        // SAFETY: fstatat filled it.
        Ok(unsafe { st.assume_init() })
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Error kinds of [`move_noreplace`] that callers react to.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("`{0}` already exists")]
    Exists(PathBuf),
    #[error("`{0}` is gone")]
    SourceGone(PathBuf),
    #[error("cannot move `{from}` to `{to}`: {source}")]
    Other {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
}

/// Moves `from` to `to` without ever overwriting `to` (renameat2 RENAME_NOREPLACE, or
/// link + unlink where the file system lacks it). A move across file systems is an error.
/// Not durable by itself: sync the two folders (or the file system) afterwards.
pub fn move_noreplace(from: &Path, to: &Path) -> std::result::Result<(), MoveError> {
    move_noreplace_in(None, from, to)
}

/// [`move_noreplace`], both paths found from `root` when below it.
pub fn move_noreplace_in(
    root: Option<&Root>,
    from: &Path,
    to: &Path,
) -> std::result::Result<(), MoveError> {
    let other = |e: io::Error| MoveError::Other {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        source: e,
    };
    fault(Io::Rename).map_err(other)?;
    let Err(err) = rename_in(root, from, to, libc::RENAME_NOREPLACE) else {
        return Ok(());
    };
    match err.raw_os_error() {
        Some(libc::EEXIST) => Err(MoveError::Exists(to.to_path_buf())),
        Some(libc::ENOENT) if !from.exists() => Err(MoveError::SourceGone(from.to_path_buf())),
        Some(libc::EINVAL) | Some(libc::ENOSYS) => {
            // No RENAME_NOREPLACE here: a hard link fails if `to` exists, which is the same promise.
            match fs::hard_link(from, to) {
                Ok(()) => fs::remove_file(from).map_err(other),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    Err(MoveError::Exists(to.to_path_buf()))
                }
                Err(e) => Err(other(e)),
            }
        }
        Some(libc::EXDEV) => Err(other(io::Error::other(
            "source and target are on different file systems",
        ))),
        _ => Err(other(err)),
    }
}

/// Creates or truncates `target` and writes `bytes`, refusing a symbolic link or anything
/// but a regular file at `target`.
pub(super) fn write_nofollow(root: Option<&Root>, target: &Path, bytes: &[u8]) -> io::Result<()> {
    const FLAGS: libc::c_int = libc::O_WRONLY | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    fault(Io::Create)?;
    // Most often the file is new: created here, it is a regular file and empty.
    match open_in(root, target, FLAGS | libc::O_EXCL) {
        Ok(mut f) => {
            fault(Io::Write)?;
            return f.write_all(bytes);
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let mut f = open_in(root, target, FLAGS)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    fault(Io::Write)?;
    // A new file is empty already.
    if meta.len() > 0 {
        f.set_len(0)?;
    }
    f.write_all(bytes)
}

/// The identity of a file on disk (device and inode). A rewrite or a move acts only on the
/// file aie read, never on one someone put in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of an open file or of a path's own metadata.
    pub fn of(meta: &fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// Turns the `ELOOP` of an `O_NOFOLLOW` open into words that say what happened (the
/// caller's context names the path).
pub(super) fn link_error(e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is a symbolic link: aie never follows links inside the vault",
        )
    } else {
        e
    }
}

/// Opens a regular file for reading without following a symbolic link at its last
/// component; what was opened is checked to be a regular file (a FIFO or device is refused
/// without blocking). Returns the file and its identity.
pub fn open_regular_nofollow(path: &Path) -> io::Result<(File, FileId)> {
    open_regular_sized(None, path).map(|(f, id, _)| (f, id))
}

/// [`open_regular_nofollow`], with the file's size when opened.
fn open_regular_sized(root: Option<&Root>, path: &Path) -> io::Result<(File, FileId, u64)> {
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let f = open_in(root, path, flags).map_err(link_error)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    Ok((f, FileId::of(&meta), meta.len()))
}

/// Reads a whole regular file without following a symbolic link at its last component.
/// Errors name the file; a missing file keeps the `NotFound` kind for callers to test.
pub fn read_regular_nofollow(path: &Path) -> io::Result<(Vec<u8>, FileId)> {
    read_regular_in(None, path)
}

/// [`read_regular_nofollow`], the path found from `root` when below it.
pub fn read_regular_in(root: Option<&Root>, path: &Path) -> io::Result<(Vec<u8>, FileId)> {
    use std::io::Read;
    /// Only `read`: std's `File::read_to_end` asks the size and the position again.
    struct Plain<'a>(&'a File);
    impl Read for Plain<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            (&mut &*self.0).read(buf)
        }
    }
    let (f, id, size) = open_regular_sized(root, path)?;
    // The size from the open file's metadata, and one byte more: a regular file reads short
    // only at its end, so one read that leaves the byte unfilled has read it all. A file
    // that grew meanwhile is read on to its end.
    let want = usize::try_from(size).unwrap_or(0).saturating_add(1);
    let mut bytes = vec![0u8; want];
    let mut got = 0;
    while got < want {
        match Plain(&f).read(&mut bytes[got..]) {
            Ok(0) => break,
            Ok(n) if got + n < want => {
                got += n;
                bytes.truncate(got);
                return Ok((bytes, id));
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(got);
    if got == want {
        Plain(&f).read_to_end(&mut bytes)?;
    }
    Ok((bytes, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_folder_finds_the_paths_below_it_and_only_those() {
        let d = tempfile::tempdir().unwrap();
        let (vault, other) = (d.path().join("v"), d.path().join("v2"));
        for dir in [&vault, &other] {
            fs::create_dir_all(dir.join("In")).unwrap();
        }
        fs::write(vault.join("In/a.md"), "in the vault").unwrap();
        fs::write(other.join("In/a.md"), "beside it").unwrap();
        let root = Root::open(&vault).unwrap();
        let read = |p: &Path| read_regular_in(Some(&root), p).map(|(b, _)| b);
        assert_eq!(read(&vault.join("In/a.md")).unwrap(), b"in the vault");
        // A name that only starts like the vault's, and a path with a doubled slash.
        assert_eq!(read(&other.join("In/a.md")).unwrap(), b"beside it");
        let doubled = PathBuf::from(format!("{}//In/a.md", vault.display()));
        assert_eq!(read(&doubled).unwrap(), b"in the vault");
        // Moves and renames below it, and a move that would overwrite refused.
        move_noreplace_in(Some(&root), &vault.join("In/a.md"), &vault.join("b.md")).unwrap();
        fs::write(vault.join("In/a.md"), "again").unwrap();
        assert!(matches!(
            move_noreplace_in(Some(&root), &vault.join("In/a.md"), &vault.join("b.md")),
            Err(MoveError::Exists(_))
        ));
        rename_in(Some(&root), &vault.join("In/a.md"), &vault.join("b.md"), 0).unwrap();
        assert_eq!(fs::read(vault.join("b.md")).unwrap(), b"again");
        let st = symlink_stat_in(Some(&root), &vault.join("b.md")).unwrap();
        assert_eq!(st.st_size, 5);
        // The folder is held: a vault moved away mid-pass is still the one worked on.
        fs::rename(&vault, d.path().join("moved")).unwrap();
        fs::create_dir_all(&vault).unwrap();
        fs::write(vault.join("b.md"), "a new folder").unwrap();
        assert_eq!(read(&vault.join("b.md")).unwrap(), b"again");
    }
}
