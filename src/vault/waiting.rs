//! What is known of the requests waiting in `Pending_Approval/` without reading them
//! (`.aie/review-seen.json`): each file (relative to the vault) with the stamp of the
//! version aie last read or wrote (inode, change and modification times, size) and the
//! fields the plan pass and the nudge digest need to pass it by (not its summary: the
//! digest reads the few requests it lists). An entry counts only while the file's
//! stamp is unchanged; a lost or unreadable index only costs reading the files again.
//! Disk times are only compared with disk times.

use crate::vault::Item;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What identifies a file's version on disk without reading it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    ino: u64,
    ctime: (i64, i64),
    mtime: (i64, i64),
    size: u64,
}

impl Stamp {
    /// The stamp of `path` (never following a link), or None when it cannot be read.
    pub fn of(path: &Path) -> Option<Stamp> {
        Stamp::of_in(None, path)
    }

    /// [`Stamp::of`], the path found from `root` when below it.
    pub fn of_in(root: Option<&crate::fsutil::Root>, path: &Path) -> Option<Stamp> {
        let st = crate::fsutil::symlink_stat_in(root, path).ok()?;
        Some(Stamp {
            ino: st.st_ino,
            ctime: (st.st_ctime, st.st_ctime_nsec),
            mtime: (st.st_mtime, st.st_mtime_nsec),
            size: u64::try_from(st.st_size).unwrap_or(0),
        })
    }
}

/// One waiting request as it was when its file had `stamp` (none: not known on disk).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Seen {
    stamp: Option<Stamp>,
    pub id: String,
    pub requested: String,
    pub expires: String,
}

impl Seen {
    /// What the index keeps of `item`, whose file has `stamp` (taken as it was written or
    /// moved), for [`Waiting::note_seen`].
    pub fn stamped(stamp: Stamp, item: &Item) -> Seen {
        Seen::of(item).at(stamp)
    }

    /// This, as its file was when it had `stamp`.
    pub fn at(self, stamp: Stamp) -> Seen {
        Seen {
            stamp: Some(stamp),
            ..self
        }
    }

    /// What the index keeps of `item`.
    pub fn of(item: &Item) -> Seen {
        Seen {
            stamp: None,
            id: item.id().to_string(),
            requested: item.str("requested").to_string(),
            expires: item.str("expires").to_string(),
        }
    }
}

/// The index of waiting requests (see the module's header).
#[derive(Debug, Default)]
pub struct Waiting {
    path: PathBuf,
    entries: BTreeMap<String, Seen>,
    /// Differs from the file on disk.
    dirty: bool,
}

impl Waiting {
    /// The index kept in `aie_dir` (empty when missing or unreadable).
    pub fn load(aie_dir: &Path) -> Waiting {
        let path = aie_dir.join("review-seen.json");
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Waiting {
            path,
            entries,
            dirty: false,
        }
    }

    /// An empty index that saves where `self` was loaded from, to be filled with what a
    /// pass finds still waiting; [`Waiting::compare`] then says whether it changed.
    pub fn empty_like(&self) -> Waiting {
        Waiting {
            path: self.path.clone(),
            entries: BTreeMap::new(),
            dirty: false,
        }
    }

    /// Marks this index to be saved when it differs from `before`.
    pub fn compare(&mut self, before: &Waiting) {
        self.dirty |= self.entries != before.entries;
    }

    /// The entry of `rel`, as it was noted (see [`Waiting::current`] for one checked
    /// against the file now).
    pub fn get(&self, rel: &str) -> Option<&Seen> {
        self.entries.get(rel)
    }

    /// The entry of `rel` (the file `path`) when the file is still the version it describes.
    pub fn current(&self, rel: &str, path: &Path) -> Option<&Seen> {
        let seen = self.entries.get(rel)?;
        (seen.stamp.is_some() && Stamp::of(path) == seen.stamp).then_some(seen)
    }

    /// Keeps `seen` for `rel` as it is.
    pub fn keep(&mut self, rel: &str, seen: &Seen) {
        self.entries.insert(rel.to_string(), seen.clone());
    }

    /// Notes `item`, just read from or written to `path` (`rel`).
    pub fn note(&mut self, rel: &str, path: &Path, item: &Item) {
        if let Some(stamp) = Stamp::of(path) {
            self.note_seen(rel.to_string(), Seen::stamped(stamp, item));
        }
    }

    /// [`Waiting::note`] with what [`Seen::stamped`] kept of the file at `rel`.
    pub fn note_seen(&mut self, rel: String, seen: Seen) {
        self.entries.insert(rel, seen);
        self.dirty = true;
    }

    /// Writes the index when it changed (a failed write is ignored: it only costs a full
    /// read next pass).
    pub fn save(&self) {
        if self.dirty {
            // Room for an entry's usual size (its path, id, times and stamp: about 250
            // bytes), so that 10,000 of them are not copied as the text grows.
            let mut b = Vec::with_capacity(288 * self.entries.len() + 2);
            let _ = serde_json::to_writer(&mut b, &self.entries)
                .map_err(anyhow::Error::from)
                .and_then(|()| crate::fsutil::write_atomic(&self.path, &b));
        }
    }
}
