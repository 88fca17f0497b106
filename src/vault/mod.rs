//! The vault: stage folders, where an item is, and how it moves. No network, no printing.
//! An item lives in exactly one stage folder; a move between them is a rename that never
//! overwrites, so a crash leaves it in the old folder or the new one, never both.

mod actions_block;
pub mod approval_box;
pub mod approvals;
mod flat_front;
mod flat_write;
pub mod git;
mod identity;
pub mod item;
pub mod template;
pub mod waiting;

use crate::exit::AieError;
use crate::fsutil;
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use item::Item;

/// The domains of SPEC.md.
pub const DOMAINS: &[&str] = &["email", "social", "accounting", "general"];

/// Where an item is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Stage {
    NeedsAction(String),
    InProgress(String),
    PendingApproval(String),
    Approved,
    Rejected,
    Done,
}

impl Stage {
    /// The `status:` value written into items in this stage.
    pub fn status(&self) -> &'static str {
        match self {
            Stage::NeedsAction(_) => "needs_action",
            Stage::InProgress(_) => "in_progress",
            Stage::PendingApproval(_) => "pending_approval",
            Stage::Approved => "approved",
            Stage::Rejected => "rejected",
            Stage::Done => "done",
        }
    }

    /// The folder, relative to the vault root.
    pub fn rel(&self) -> PathBuf {
        match self {
            Stage::NeedsAction(d) => Path::new("Needs_Action").join(d),
            Stage::InProgress(a) => Path::new("In_Progress").join(a),
            Stage::PendingApproval(d) => Path::new("Pending_Approval").join(d),
            Stage::Approved => PathBuf::from("Approved"),
            Stage::Rejected => PathBuf::from("Rejected"),
            Stage::Done => PathBuf::from("Done"),
        }
    }
}

/// Folders every vault has (besides the per-domain and per-agent ones).
pub const TOP_FOLDERS: &[&str] = &[
    "Inbox",
    "Needs_Action",
    "In_Progress",
    "Plans",
    "Pending_Approval",
    "Approved",
    "Rejected",
    "Done",
    "Briefings",
    "Logs",
    "Updates",
    "Attachments",
];

/// The name of the settings file at the vault root.
pub const SETTINGS_FILE: &str = "aie.yaml";

/// An open vault.
#[derive(Debug, Clone)]
pub struct Vault {
    root: PathBuf,
    /// The root held open once opened: a pass's per-item calls find their paths from it.
    anchor: Option<Arc<fsutil::Root>>,
}

impl Vault {
    /// A vault at `root` without checking it (for `init` and `demo`).
    pub fn at(root: &Path) -> Vault {
        Vault {
            root: root.to_path_buf(),
            anchor: None,
        }
    }

    /// The root held open, for the writes of a pass ([`fsutil::WriteBatch::within`]).
    pub fn anchor(&self) -> Option<Arc<fsutil::Root>> {
        self.anchor.clone()
    }

    /// The root held open, for one call ([`fsutil::Root`]).
    pub fn held_root(&self) -> Option<&fsutil::Root> {
        self.anchor.as_deref()
    }

    /// Opens an existing vault: refuses a folder without `aie.yaml` (exit 78) and recreates
    /// missing stage folders (git does not keep empty ones) for `agent`.
    pub fn open(root: &Path, agent: &str) -> Result<Vault> {
        let settings = root.join(SETTINGS_FILE);
        if fs::symlink_metadata(&settings).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(AieError::Config(format!(
                "`{SETTINGS_FILE}` in `{}` is a symbolic link: aie never follows links inside the vault; replace it with the file itself",
                root.display()
            ))
            .into());
        }
        if !settings.is_file() {
            return Err(AieError::Config(format!(
                "`{}` is not an aie vault (no {SETTINGS_FILE}): run `aie init {}` first, or pass --vault",
                root.display(),
                root.display()
            ))
            .into());
        }
        let mut v = Vault::at(root);
        v.ensure_layout(agent)?;
        // Without it (a folder that cannot be held open), every path is used whole.
        v.anchor = fsutil::Root::open(root).ok().map(Arc::new);
        Ok(v)
    }

    /// Creates every missing stage folder. Errors name the folder (exit 78), also when one
    /// is a symbolic link: a folder of the layout is never followed out of the vault.
    pub fn ensure_layout(&self, agent: &str) -> Result<()> {
        for dir in self.layout_dirs(agent) {
            fsutil::check_no_symlink(&self.root, &dir)
                .map_err(|e| AieError::Config(format!("{e:#}")))?;
            if !dir.is_dir() {
                fs::create_dir_all(&dir).map_err(|e| {
                    AieError::Config(format!("cannot create `{}`: {e}", dir.display()))
                })?;
            }
        }
        Ok(())
    }

    /// Every folder of the layout for this agent.
    pub fn layout_dirs(&self, agent: &str) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = TOP_FOLDERS.iter().map(|f| self.root.join(f)).collect();
        for d in DOMAINS {
            dirs.push(self.stage_dir(&Stage::NeedsAction(d.to_string())));
            dirs.push(self.stage_dir(&Stage::PendingApproval(d.to_string())));
            dirs.push(self.root.join("Plans").join(d));
        }
        dirs.push(self.stage_dir(&Stage::InProgress(agent.to_string())));
        dirs.push(self.aie_dir());
        dirs
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// This agent's private folder (`.aie/`): state, locks, journal. Never synced.
    pub fn aie_dir(&self) -> PathBuf {
        self.root.join(".aie")
    }

    pub fn inbox(&self) -> PathBuf {
        self.root.join("Inbox")
    }

    pub fn logs(&self) -> PathBuf {
        self.root.join("Logs")
    }

    pub fn attachments(&self, id: &str) -> PathBuf {
        self.root.join("Attachments").join(id)
    }

    /// `Attachments/<id>/`, checked before anything is read from or put into it: the id is
    /// a safe one and no part of the folder is a symbolic link. Errors name the id or path.
    pub fn attachment_dir(&self, id: &str) -> Result<PathBuf> {
        item::check_id(id)?;
        let dir = self.attachments(id);
        fsutil::check_no_symlink(&self.root, &dir)?;
        Ok(dir)
    }

    pub fn plan_path(&self, domain: &str, id: &str) -> PathBuf {
        self.root
            .join("Plans")
            .join(domain)
            .join(format!("{id}.plan.md"))
    }

    pub fn settings_path(&self) -> PathBuf {
        self.root.join(SETTINGS_FILE)
    }

    pub fn stage_dir(&self, stage: &Stage) -> PathBuf {
        self.root.join(stage.rel())
    }

    /// The path of item `id` in `stage`.
    pub fn item_path(&self, stage: &Stage, id: &str) -> PathBuf {
        self.stage_dir(stage).join(format!("{id}.md"))
    }

    /// The stage folders that exist now, each with its stage (subfolders of Needs_Action,
    /// In_Progress and Pending_Approval are read from disk, so hand-made ones count too).
    pub fn stages(&self) -> Vec<Stage> {
        let mut out = Vec::new();
        for (top, make) in [
            ("Needs_Action", Stage::NeedsAction as fn(String) -> Stage),
            ("In_Progress", Stage::InProgress),
            ("Pending_Approval", Stage::PendingApproval),
        ] {
            let mut subs = subdirs(&self.root.join(top));
            subs.sort();
            out.extend(subs.into_iter().map(make));
        }
        out.extend([Stage::Approved, Stage::Rejected, Stage::Done]);
        out
    }

    /// Where item `id` is now, looking at every stage folder (a few `stat`s; never a scan).
    pub fn locate(&self, id: &str) -> Option<(Stage, PathBuf)> {
        self.stages().into_iter().find_map(|s| {
            let p = self.item_path(&s, id);
            p.exists().then_some((s, p))
        })
    }

    /// The item files of one stage folder, sorted by name (temp and editor files skipped).
    pub fn list(&self, stage: &Stage) -> Result<Vec<PathBuf>> {
        list_items(&self.stage_dir(stage))
    }

    /// Moves an item file into `to` under its own name, never overwriting.
    /// Errors name both places; the item stays where it was.
    pub fn move_item(&self, from: &Path, to: &Stage) -> Result<PathBuf> {
        let dir = self.stage_dir(to);
        let name = from
            .file_name()
            .expect("invariant: item paths have a file name");
        let target = dir.join(name);
        let root = self.held_root();
        let mut res = fsutil::move_noreplace_in(root, from, &target);
        // The stage folder is made only when it is missing (not one mkdir per move).
        if matches!(&res, Err(fsutil::MoveError::Other { source, .. }) if source.kind() == std::io::ErrorKind::NotFound)
            && !dir.exists()
        {
            fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            res = fsutil::move_noreplace_in(root, from, &target);
        }
        res.with_context(|| format!("cannot move `{}`", self.rel(from)))?;
        Ok(target)
    }

    /// Reads an item for a pass. A bad one becomes a problem naming it, and stays where it is.
    pub fn read_for_pass(&self, path: &Path, out: &mut crate::outcome::Outcome) -> Option<Item> {
        self.read_held_for_pass(path, out).map(|(item, _)| item)
    }

    /// [`Vault::read_for_pass`] with the identity of the file read, for a pass that
    /// rewrites or moves the item at its end ([`fsutil::rewrite_held`]).
    pub fn read_held_for_pass(
        &self,
        path: &Path,
        out: &mut crate::outcome::Outcome,
    ) -> Option<(Item, fsutil::FileId)> {
        match Item::read_held_in(self.held_root(), path) {
            Ok(held) => Some(held),
            Err(e) => {
                let rel = self.rel(path);
                out.problem(format!("item:{rel}"), format!("{e:#}: it stays in `{rel}`"));
                None
            }
        }
    }

    /// A path relative to the vault root, for messages.
    pub fn rel(&self, p: &Path) -> String {
        use std::os::unix::ffi::OsStrExt;
        // Most paths are the root joined with more: cut the root's bytes off.
        let (root, path) = (self.root.as_os_str().as_bytes(), p.as_os_str().as_bytes());
        if let Some(rest) = path.strip_prefix(root).and_then(|r| r.strip_prefix(b"/"))
            && !root.is_empty()
            && !root.ends_with(b"/")
            && let Ok(rest) = std::str::from_utf8(rest)
            && !rest
                .as_bytes()
                .split(|&b| b == b'/')
                .any(|c| c.is_empty() || c == b"." || c == b"..")
        {
            return rest.to_string();
        }
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .display()
            .to_string()
    }

    /// Removes temp files of dead aie processes from every stage folder.
    pub fn clean_temps(&self) -> usize {
        let mut dirs: Vec<PathBuf> = self.stages().iter().map(|s| self.stage_dir(s)).collect();
        dirs.push(self.root.clone());
        dirs.push(self.aie_dir());
        for d in DOMAINS {
            dirs.push(self.root.join("Plans").join(d));
        }
        dirs.iter().map(|d| fsutil::clean_stale_temps(d)).sum()
    }
}

fn subdirs(dir: &Path) -> Vec<String> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !fsutil::is_ignored_name(n))
        .collect()
}

/// Whether a folder's entry counts as an item: a `*.md` name that is not ignored.
fn counts_as_item(e: &fs::DirEntry) -> bool {
    let name = e.file_name();
    let name = name.to_string_lossy();
    name.ends_with(".md") && !fsutil::is_ignored_name(&name)
}

/// Whether an entry that counts as an item is listed as one: a file, or a link (listed so
/// that reading it refuses it and says so), not a sub-folder.
fn listed_as_item(e: &fs::DirEntry) -> bool {
    e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink())
}

/// The `*.md` items of a folder, sorted by name; ignored names and sub-folders skipped.
pub fn list_items(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", dir.display())),
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| counts_as_item(e) && listed_as_item(e))
        .map(|e| e.path())
        .collect();
    // By name: every path is the folder's, `/` and a name, so their bytes sort as their
    // names do, and as the paths would by components (parsing 10,000 paths into components
    // on every comparison cost 100 ms over 10,000 items).
    out.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    Ok(out)
}

/// What [`count_items`] and [`list_items`] give for `dir`, from one reading of it: the
/// number of its items, and the first `n` of its item files by name (none when the folder
/// cannot be read).
pub fn count_and_first(dir: &Path, n: usize) -> (usize, Vec<PathBuf>) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(rd) = fs::read_dir(dir) else {
        return (0, Vec::new());
    };
    let mut count = 0;
    let mut names: Vec<std::ffi::OsString> = Vec::new();
    for e in rd.flatten().filter(counts_as_item) {
        count += 1;
        if listed_as_item(&e) {
            names.push(e.file_name());
        }
    }
    // By name, as `list_items` sorts the paths: only the first `n` are put in order.
    let by_name = |a: &std::ffi::OsString, b: &std::ffi::OsString| a.as_bytes().cmp(b.as_bytes());
    if names.len() > n {
        names.select_nth_unstable_by(n, by_name);
        names.truncate(n);
    }
    names.sort_unstable_by(by_name);
    (
        count,
        names.into_iter().map(|name| dir.join(name)).collect(),
    )
}

/// Counts the item files of a folder without reading them.
pub fn count_items(dir: &Path) -> usize {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    rd.flatten().filter(counts_as_item).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_listed_in_the_order_of_their_paths() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "a.md", "a-b.md", "A.md", "ä.md", "a b.md", "a.md.md", "b.md", "10.md", "9.md",
        ] {
            fs::write(d.path().join(n), "x").unwrap();
        }
        let listed = list_items(d.path()).unwrap();
        let mut by_components = listed.clone();
        by_components.sort();
        assert_eq!(listed, by_components);
        assert_eq!(listed.len(), 9);
    }

    #[test]
    fn one_reading_counts_and_lists_the_first_items_as_counting_and_listing_do() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "a.md",
            "a-b.md",
            "A.md",
            "ä.md",
            "b.md",
            "10.md",
            "9.md",
            ".hidden.md",
            "c.md~",
            "note.txt",
            "z.md",
        ] {
            fs::write(d.path().join(n), "x").unwrap();
        }
        // A folder named like an item is counted but not listed; a link is both.
        fs::create_dir(d.path().join("sub.md")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", d.path().join("link.md")).unwrap();
        let (count, listed) = (count_items(d.path()), list_items(d.path()).unwrap());
        assert_eq!((count, listed.len()), (10, 9));
        for n in [0, 1, 4, 9, 50] {
            let first: Vec<PathBuf> = listed.iter().take(n).cloned().collect();
            assert_eq!(count_and_first(d.path(), n), (count, first), "first {n}");
        }
        assert_eq!(
            count_and_first(&d.path().join("missing"), 5),
            (0, Vec::new())
        );
    }

    #[test]
    fn rel_cuts_the_root_as_path_components_do() {
        let slow = |root: &Path, p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
        for root in ["/v", "/v/", "/srv/my vault", "v", "/v/./w"] {
            let v = Vault::at(Path::new(root));
            for p in [
                "/v/a.md",
                "/v/Needs_Action/email/x.md",
                "/v",
                "/v/",
                "/vx/a.md",
                "/v//a.md",
                "/v/./a.md",
                "/v/../a.md",
                "/srv/my vault/Done/é.md",
                "v/a.md",
                "/v/a/",
                "/other/a.md",
                "/v/./w/Done/a.md",
            ] {
                let p = Path::new(p);
                assert_eq!(
                    v.rel(p),
                    slow(Path::new(root), p),
                    "root {root:?}, path {p:?}"
                );
            }
        }
    }

    #[test]
    fn open_refuses_a_folder_without_settings_and_recreates_stages() {
        let d = tempfile::tempdir().unwrap();
        let err = Vault::open(d.path(), "local").unwrap_err();
        assert_eq!(crate::exit::exit_for(&err), crate::exit::Exit::Config);
        fs::write(d.path().join(SETTINGS_FILE), "").unwrap();
        let v = Vault::open(d.path(), "local").unwrap();
        assert!(
            v.stage_dir(&Stage::PendingApproval("social".into()))
                .is_dir()
        );
        assert!(v.stage_dir(&Stage::InProgress("local".into())).is_dir());
        fs::write(v.item_path(&Stage::Done, "abc"), "x").unwrap();
        assert_eq!(v.locate("abc").unwrap().0, Stage::Done);
        assert!(v.locate("nope").is_none());
    }

    // A stage folder replaced by a symbolic link (to `~/.ssh`, say) moved the owner's keys
    // into the vault: now the vault refuses to open (exit 78) naming the folder.
    #[test]
    fn a_symlinked_stage_folder_or_attachment_folder_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(d.path().join(SETTINGS_FILE), "").unwrap();
        let v = Vault::open(d.path(), "local").unwrap();
        fs::remove_dir(v.inbox()).unwrap();
        std::os::unix::fs::symlink(outside.path(), v.inbox()).unwrap();
        let err = Vault::open(d.path(), "local").unwrap_err();
        assert_eq!(crate::exit::exit_for(&err), crate::exit::Exit::Config);
        assert!(
            format!("{err:#}").contains("`Inbox` is a symbolic link"),
            "{err:#}"
        );
        fs::remove_file(v.inbox()).unwrap();
        fs::create_dir(v.inbox()).unwrap();
        std::os::unix::fs::symlink(outside.path(), v.attachments("a1")).unwrap();
        let err = v.attachment_dir("a1").unwrap_err();
        assert!(format!("{err:#}").contains("Attachments/a1"), "{err:#}");
        assert!(v.attachment_dir("../../etc").is_err());
        assert!(v.attachment_dir("b2").is_ok());
    }
}
