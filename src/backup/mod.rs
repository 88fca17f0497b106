//! Snapshots of the vault in a content-addressed store outside it (`backup.dir`), and their
//! checks. An object is a file's bytes, compressed (zstd) when that saves space, known by the SHA-256
//! of its plain bytes, so a file that did not change is never stored again. Objects under
//! 1 MiB are appended to pack files (`packs/`, see [`pack`]); larger ones are files of their
//! own, `objects/<ab>/<sha256>` (as every object was in stores written before packs: those
//! still read). `snapshots/<id>.json.zst` is the manifest: every file's path, mode, times, size
//! and SHA-256, under a first line that is the SHA-256 of the rest, compressed with zstd
//! (`<id>.json`, plain, in stores written before: those still read). A snapshot's packs and
//! objects are written first, then its manifest to a temp name, checked, then renamed into
//! place: a crash leaves either the whole snapshot or none listed. Pruning deletes objects
//! no snapshot names: loose ones at once, packed ones by repacking a pack once more than a
//! quarter of its bytes are dead (a pack with nothing alive is deleted; less dead garbage is
//! tolerated until then). This module never prints and never reads the environment;
//! restoring lives in [`restore`], which snapshots to keep in [`retention`].
//!
//! What is taken: every regular file and folder of the vault, except `.git/` (the remote has
//! it, and its config may hold a credential) and, in `.aie/`, everything but the records
//! (`state.json`, `journal.jsonl`, `approvals.jsonl`, other `.json`/`.jsonl` files whose
//! names do not mention a token or a secret): never a lock, a token cache or a secret.
//! A symbolic link is never followed and never stored: it is reported, by path.

pub mod age;
pub mod configured;
pub mod keys;
mod manifest;
pub mod pack;
mod prune;
pub mod restore;
pub mod retention;
mod snapshot;

use crate::fsutil;
use anyhow::{Context, Result, anyhow, bail};
use manifest::{MANIFEST_EXT, deflate_manifest, inflate_manifest, parse_manifest, render_manifest};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One file or folder in a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the vault root, `/`-separated; `.` is the root folder itself.
    pub path: String,
    /// `file` or `dir`.
    pub kind: String,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    pub mtime: i64,
    pub mtime_ns: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub size: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// Change time and inode: only to tell, at the next snapshot, that a file is unchanged
    /// without reading it again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ctime_ns: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ino: u64,
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A snapshot's manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub id: String,
    /// When it was taken (RFC 3339, the owner's zone).
    pub time: String,
    pub agent: String,
    pub files: u64,
    pub bytes: u64,
    pub entries: Vec<Entry>,
}

/// What `backup --list` tells of a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotInfo {
    pub id: String,
    pub time: String,
    pub files: u64,
    pub bytes: u64,
}

/// What one snapshot run did.
#[derive(Debug, Default)]
pub struct BackupReport {
    pub id: String,
    pub files: u64,
    pub bytes: u64,
    /// Objects written by this run (content not stored before).
    pub new_objects: u64,
    pub new_bytes: u64,
    /// Paths left out because they are symbolic links or not plain files and folders.
    pub refused: Vec<String>,
}

/// The store under `backup.dir`.
pub struct Store {
    root: PathBuf,
    /// Where each packed object lies, from the pack indexes.
    index: RefCell<HashMap<String, pack::Loc>>,
    /// Pack indexes that did not parse (reported by `verify`).
    bad_indexes: RefCell<Vec<String>>,
    /// Packs opened for reading, by name.
    open_packs: RefCell<HashMap<String, fs::File>>,
    /// With `backup.encrypt_to`: every blob written is an age file to this recipient.
    seal: Option<age::Recipient>,
    /// The identity that opens age blobs (restore, verify); backing up never needs it.
    identity: Option<age::Identity>,
}

/// The secret that holds the identity of an encrypted store.
pub const IDENTITY_SECRET: &str = "AIE_BACKUP_IDENTITY";

/// What a snapshot of an encrypted store says in the clear, in `snapshots/<id>.refs`:
/// its counts and the SHA-256 names of its objects (what pruning needs), no path.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Refs {
    time: String,
    files: u64,
    bytes: u64,
    objects: BTreeSet<String>,
}

/// A file name in `.aie/` that is a record to keep, never a secret, token or lock.
fn aie_record(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.ends_with(".json") || lower.ends_with(".jsonl"))
        && !lower.contains("token")
        && !lower.contains("secret")
        && !lower.starts_with('.')
}

/// Whether a vault path (relative, `/`-separated) is left out of every snapshot.
pub fn excluded(rel: &str) -> bool {
    let mut parts = rel.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(".git"), _, _) => true,
        (Some(".aie"), None, None) => false,
        (Some(".aie"), Some(name), None) => !aie_record(name),
        (Some(".aie"), Some(_), Some(_)) => true,
        _ => false,
    }
}

/// Nanoseconds since the epoch of a change time.
fn ctime_ns(m: &fs::Metadata) -> u64 {
    (m.ctime() as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(m.ctime_nsec() as u64)
}

fn entry_of(rel: &str, kind: &str, m: &fs::Metadata) -> Entry {
    Entry {
        path: rel.to_string(),
        kind: kind.into(),
        mode: m.permissions().mode() & 0o7777,
        mtime: m.mtime(),
        mtime_ns: m.mtime_nsec() as u32,
        size: if kind == "file" { m.len() } else { 0 },
        sha256: String::new(),
        ctime_ns: if kind == "file" { ctime_ns(m) } else { 0 },
        ino: if kind == "file" { m.ino() } else { 0 },
    }
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::vault::item::hex(&Sha256::digest(bytes))
}

/// Object files start with one byte: `r` (raw), `s` (zstd) or `z` (deflated, written by
/// earlier versions and still read).
const RAW: u8 = b'r';
const ZSTD: u8 = b's';
const DEFLATED: u8 = b'z';

/// zstd's level for objects: its default, faster than deflate's and smaller on text.
const ZSTD_LEVEL: i32 = 3;

/// Turns plain bytes into an object's stored bytes: compressed when that saves at least an
/// eighth.
fn compress(plain: &[u8]) -> Vec<u8> {
    if plain.len() >= 256
        && let Ok(z) = zstd::bulk::compress(plain, ZSTD_LEVEL)
        && z.len() + z.len() / 7 < plain.len()
    {
        let mut out = Vec::with_capacity(z.len() + 1);
        out.push(ZSTD);
        out.extend_from_slice(&z);
        return out;
    }
    let mut out = Vec::with_capacity(plain.len() + 1);
    out.push(RAW);
    out.extend_from_slice(plain);
    out
}

/// Unpacks an object's bytes. Errors when it is neither raw nor valid zstd or deflate.
fn unpack(stored: &[u8]) -> Result<Vec<u8>> {
    match stored.split_first() {
        Some((&RAW, rest)) => Ok(rest.to_vec()),
        Some((&ZSTD, rest)) => {
            let mut out = Vec::new();
            zstd::stream::read::Decoder::new(rest)
                .and_then(|mut d| d.read_to_end(&mut out))
                .context("it does not decompress")?;
            Ok(out)
        }
        Some((&DEFLATED, rest)) => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(rest)
                .read_to_end(&mut out)
                .context("it does not inflate")?;
            Ok(out)
        }
        _ => bail!("it has no object header"),
    }
}

/// Writes `bytes` to `target` through a temp name in the same folder (no fsync: the caller
/// syncs the batch once).
fn write_via_temp(target: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = fsutil::temp_path_for(target);
    let res = (|| -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        fs::rename(&tmp, target)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.with_context(|| format!("cannot write `{}`", target.display()))
}

impl Store {
    /// The store at `dir`. Errors when `dir` is inside the vault (a snapshot would hold
    /// the snapshots) or cannot be made.
    pub fn open(dir: &Path, vault_root: &Path) -> Result<Store> {
        let root = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            vault_root.join(dir)
        };
        for sub in ["objects", "packs", "snapshots"] {
            fs::create_dir_all(root.join(sub))
                .with_context(|| format!("cannot create `{}`", root.join(sub).display()))?;
        }
        let store =
            fs::canonicalize(&root).with_context(|| format!("cannot open `{}`", root.display()))?;
        let vault = fs::canonicalize(vault_root)
            .with_context(|| format!("cannot open `{}`", vault_root.display()))?;
        if store.starts_with(&vault) {
            return Err(crate::exit::AieError::Config(format!(
                "`backup.dir` `{}` is inside the vault: put it outside",
                root.display()
            ))
            .into());
        }
        let store = Store {
            root: store,
            index: RefCell::default(),
            bad_indexes: RefCell::default(),
            open_packs: RefCell::default(),
            seal: None,
            identity: None,
        };
        store.load_index()?;
        Ok(store)
    }

    /// Sets the keys: `seal` encrypts what is written from now on, `identity` opens what
    /// is encrypted.
    pub fn with_keys(
        mut self,
        seal: Option<age::Recipient>,
        identity: Option<age::Identity>,
    ) -> Store {
        self.seal = seal;
        self.identity = identity;
        self
    }

    /// Bytes as they are written: encrypted when the store seals.
    fn seal_bytes(&self, bytes: Vec<u8>) -> Result<Vec<u8>> {
        match &self.seal {
            Some(r) => age::encrypt(r, &bytes),
            None => Ok(bytes),
        }
    }

    /// Bytes as they were before sealing. Errors: an age blob and no identity (exit 78,
    /// naming the secret), or an identity that does not open it. `what` names the blob.
    fn open_bytes(&self, bytes: Vec<u8>, what: &str) -> Result<Vec<u8>> {
        if !age::is_age(&bytes) {
            return Ok(bytes);
        }
        let Some(id) = &self.identity else {
            return Err(crate::exit::AieError::Config(format!(
                "{what} is encrypted: set the secret `{IDENTITY_SECRET}` (the store's `AGE-SECRET-KEY-1...`) or give --identity FILE"
            ))
            .into());
        };
        age::decrypt(id, &bytes).with_context(|| format!("cannot decrypt {what}"))
    }

    fn refs_path(&self, id: &str) -> PathBuf {
        self.root.join("snapshots").join(format!("{id}.refs"))
    }

    /// The clear counts and objects of an encrypted snapshot, when it has them.
    fn refs(&self, id: &str) -> Option<Refs> {
        let text = fs::read_to_string(self.refs_path(id)).ok()?;
        let (first, body) = text.split_once('\n')?;
        let body = body.strip_suffix('\n').unwrap_or(body);
        (first.strip_prefix("sha256:")? == sha256_hex(body.as_bytes()))
            .then(|| serde_json::from_str(body).ok())
            .flatten()
    }

    /// Whether snapshot `id`'s manifest is encrypted.
    fn sealed_manifest(&self, id: &str) -> bool {
        let mut head = [0u8; 22];
        fs::File::open(self.manifest_path(id))
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok_and(|()| age::is_age(&head))
    }

    fn packs_dir(&self) -> PathBuf {
        self.root.join("packs")
    }

    /// (Re)reads every pack index.
    fn load_index(&self) -> Result<()> {
        let (packs, bad) = pack::read_all(&self.packs_dir())?;
        let mut index = HashMap::new();
        for (_, objs) in packs {
            for (h, loc) in objs {
                index.entry(h).or_insert(loc);
            }
        }
        *self.index.borrow_mut() = index;
        *self.bad_indexes.borrow_mut() = bad;
        self.open_packs.borrow_mut().clear();
        Ok(())
    }

    /// The stored bytes of a packed object.
    fn read_packed(&self, loc: &pack::Loc) -> Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut open = self.open_packs.borrow_mut();
        if !open.contains_key(&loc.pack) {
            let path = self.packs_dir().join(format!("{}.pack", loc.pack));
            let f = fs::File::open(&path)
                .with_context(|| format!("cannot open `{}`", path.display()))?;
            open.insert(loc.pack.clone(), f);
        }
        let f = open.get(&loc.pack).expect("invariant: inserted above");
        let mut buf = vec![0; usize::try_from(loc.len)?];
        f.read_exact_at(&mut buf, loc.offset)
            .with_context(|| format!("pack `{}` is truncated", loc.pack))?;
        Ok(buf)
    }

    /// Writes out what `w` holds and records where its objects now lie. Returns the name
    /// of the pack written, if any.
    fn flush(&self, w: &mut pack::PackWriter) -> Result<Option<String>> {
        let locs = w.flush()?;
        let name = locs.first().map(|(_, l)| l.pack.clone());
        if !locs.is_empty() {
            self.index.borrow_mut().extend(locs);
            fsutil::failpoint("backup:object-written");
        }
        Ok(name)
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_path(&self, hash: &str) -> PathBuf {
        self.root.join("objects").join(&hash[..2]).join(hash)
    }

    /// Snapshot `id`'s manifest: `<id>.json.zst`, or `<id>.json` as stores written before
    /// manifests were compressed have it.
    fn manifest_path(&self, id: &str) -> PathBuf {
        let dir = self.root.join("snapshots");
        let zst = dir.join(format!("{id}{MANIFEST_EXT}"));
        let plain = dir.join(format!("{id}.json"));
        if !zst.exists() && plain.exists() {
            plain
        } else {
            zst
        }
    }

    /// Removes temp files a crashed run left in the store. Returns how many.
    pub fn clean_temps(&self) -> usize {
        let mut n = fsutil::clean_stale_temps(&self.root.join("snapshots"))
            + fsutil::clean_stale_temps(&self.packs_dir());
        if let Ok(dirs) = fs::read_dir(self.root.join("objects")) {
            for d in dirs.flatten() {
                n += fsutil::clean_stale_temps(&d.path());
            }
        }
        n
    }

    /// The ids of the complete snapshots, oldest first (ids sort by time).
    pub fn ids(&self) -> Result<Vec<String>> {
        let dir = self.root.join("snapshots");
        let mut ids = Vec::new();
        for e in fs::read_dir(&dir).with_context(|| format!("cannot read `{}`", dir.display()))? {
            let name = e?.file_name().to_string_lossy().to_string();
            if let Some(id) = name
                .strip_suffix(MANIFEST_EXT)
                .or_else(|| name.strip_suffix(".json"))
                && valid_id(id)
            {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Reads and checks a snapshot's manifest. Errors name the snapshot: missing, or its
    /// text does not match its SHA-256 line.
    pub fn manifest(&self, id: &str) -> Result<Manifest> {
        if !valid_id(id) {
            bail!("`{id}` is not a snapshot id");
        }
        let path = self.manifest_path(id);
        let bytes = fs::read(&path)
            .with_context(|| format!("no snapshot `{id}` in `{}`", self.root.display()))?;
        let bytes = self.open_bytes(bytes, &format!("snapshot `{id}`"))?;
        let bytes = inflate_manifest(bytes).with_context(|| {
            format!("snapshot `{id}` is damaged: its manifest does not decompress")
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow!("snapshot `{id}` is damaged: its manifest is not text"))?;
        parse_manifest(&text).with_context(|| format!("snapshot `{id}` is damaged"))
    }

    /// Every snapshot, oldest first. A damaged manifest is listed with zero counts.
    pub fn list(&self) -> Result<Vec<SnapshotInfo>> {
        Ok(self
            .ids()?
            .into_iter()
            .map(|id| match self.manifest(&id) {
                Ok(m) => SnapshotInfo {
                    id: m.id,
                    time: m.time,
                    files: m.files,
                    bytes: m.bytes,
                },
                Err(_) if let Some(r) = self.refs(&id) => SnapshotInfo {
                    id,
                    time: r.time,
                    files: r.files,
                    bytes: r.bytes,
                },
                Err(_) => SnapshotInfo {
                    time: String::new(),
                    files: 0,
                    bytes: 0,
                    id,
                },
            })
            .collect())
    }

    /// Reads the plain bytes of an object and checks them against its name.
    pub fn read_object(&self, hash: &str) -> Result<Vec<u8>> {
        let loc = self.index.borrow().get(hash).cloned();
        let stored = match loc {
            Some(loc) => self.read_packed(&loc)?,
            None => fs::read(self.object_path(hash))
                .with_context(|| format!("object `{hash}` is missing"))?,
        };
        let stored = self.open_bytes(stored, &format!("object `{hash}`"))?;
        let plain = unpack(&stored).with_context(|| format!("object `{hash}` is damaged"))?;
        if sha256_hex(&plain) != hash {
            bail!("object `{hash}` is damaged: its content does not match its SHA-256");
        }
        Ok(plain)
    }

    /// Re-reads every object of snapshot `id` and checks its SHA-256 and size. Returns the
    /// problems found (empty: the snapshot is sound). Errors when the manifest is damaged.
    pub fn verify(&self, id: &str) -> Result<Vec<String>> {
        let m = self.manifest(id)?;
        let mut problems = self.bad_indexes.borrow().clone();
        let mut checked = BTreeSet::new();
        for e in m.entries.iter().filter(|e| e.kind == "file") {
            if !checked.insert(e.sha256.clone()) {
                continue;
            }
            match self.read_object(&e.sha256) {
                Ok(b) if b.len() as u64 == e.size => {}
                Ok(_) => problems.push(format!("`{}`: its size does not match", e.path)),
                Err(err) => problems.push(format!("`{}`: {err:#}", e.path)),
            }
        }
        Ok(problems)
    }

    /// What can be checked of an encrypted snapshot with no identity at hand: every object
    /// it names is present, each pack holding one matches the SHA-256 that names it, each
    /// loose one is an age file. Returns the problems found; None when the snapshot can be
    /// checked whole instead ([`Store::verify`]: it is plain, or the identity is here) or
    /// has no clear list of its objects.
    pub fn verify_outer(&self, id: &str) -> Option<Vec<String>> {
        if self.identity.is_some() || !self.sealed_manifest(id) {
            return None;
        }
        let refs = self.refs(id)?;
        let mut problems = self.bad_indexes.borrow().clone();
        let mut packs = BTreeSet::new();
        for h in &refs.objects {
            if let Some(loc) = self.index.borrow().get(h) {
                packs.insert(loc.pack.clone());
                continue;
            }
            let mut head = [0u8; 22];
            let ok = fs::File::open(self.object_path(h))
                .and_then(|mut f| f.read_exact(&mut head))
                .is_ok_and(|()| age::is_age(&head));
            if !ok {
                problems.push(format!("object `{h}` is missing or not an age file"));
            }
        }
        for name in packs {
            let p = self.packs_dir().join(format!("{name}.pack"));
            if !fs::read(&p).is_ok_and(|b| sha256_hex(&b) == name) {
                problems.push(format!("pack `{name}` does not match its SHA-256"));
            }
        }
        Some(problems)
    }

    /// Whether an object is present with a plausible size (a header byte at least).
    fn object_ok(&self, hash: &str) -> bool {
        hash.len() == 64
            && (self.index.borrow().contains_key(hash)
                || fs::symlink_metadata(self.object_path(hash))
                    .is_ok_and(|m| m.is_file() && m.len() > 0))
    }

    /// The size in bytes of everything in the store.
    pub fn size(&self) -> u64 {
        walkdir::WalkDir::new(&self.root)
            .follow_links(false)
            .into_iter()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    }
}

/// `f` over `items` on up to `workers` threads, results in order.
fn par_map<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if workers <= 1 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(items.len().div_ceil(workers))
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("invariant: a backup worker does not panic"))
            .collect()
    })
}

/// A snapshot id: `YYYYMMDDTHHMMSSZ`, maybe with `-N`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 40 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The id of a snapshot taken at `t`.
pub fn id_for(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn rel_of(root: &Path, p: &Path) -> Option<String> {
    let rel = p.strip_prefix(root).ok()?;
    if rel.as_os_str().is_empty() {
        return Some(".".into());
    }
    let s = rel.to_str()?;
    Some(s.to_string())
}

/// Checks that a manifest path stays inside the folder it is restored to.
pub fn safe_rel(p: &str) -> Result<()> {
    if p == "." {
        return Ok(());
    }
    let ok = !p.is_empty()
        && !p.starts_with('/')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    if !ok {
        bail!("its manifest names the path `{p}`, which leaves the folder");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_locks_and_git_are_never_taken() {
        for p in [
            ".aie/locks",
            ".aie/locks/plan.lock",
            ".aie/gmail_token.json",
            ".aie/secrets.json",
            ".git",
            ".git/config",
            ".aie/secrets.env",
        ] {
            assert!(excluded(p), "{p}");
        }
        for p in [
            ".aie",
            ".aie/state.json",
            ".aie/journal.jsonl",
            ".aie/approvals.jsonl",
            "Done/x.md",
            ".obsidian/app.json",
        ] {
            assert!(!excluded(p), "{p}");
        }
    }

    #[test]
    fn objects_round_trip_packed_or_raw() {
        for plain in [vec![], b"short".to_vec(), "abc ".repeat(500).into_bytes()] {
            assert_eq!(unpack(&compress(&plain)).unwrap(), plain);
        }
        assert_eq!(compress(&"abc ".repeat(500).into_bytes())[0], ZSTD);
        // An object deflated by an earlier version still reads.
        let plain = "old object ".repeat(100).into_bytes();
        let mut enc =
            flate2::write::DeflateEncoder::new(vec![DEFLATED], flate2::Compression::default());
        enc.write_all(&plain).unwrap();
        assert_eq!(unpack(&enc.finish().unwrap()).unwrap(), plain);
    }

    #[test]
    fn a_manifest_path_that_leaves_the_folder_is_refused() {
        for p in ["../x", "/etc/passwd", "a/../../b", "", "a//b"] {
            assert!(safe_rel(p).is_err(), "{p}");
        }
        assert!(safe_rel("Done/é x.md").is_ok());
    }
}
