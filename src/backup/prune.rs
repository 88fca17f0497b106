//! Pruning: deleting snapshots, then every object no remaining snapshot names (loose ones
//! at once, packed ones by repacking; see the module header of [`super`]).

use super::*;

impl Store {
    /// Deletes the snapshots `ids`, then every object no remaining snapshot names.
    /// Returns (snapshots removed, objects removed).
    pub fn prune(&self, ids: &[String]) -> Result<(usize, usize)> {
        for id in ids {
            let p = self.manifest_path(id);
            fs::remove_file(&p).with_context(|| format!("cannot remove `{}`", p.display()))?;
            let _ = fs::remove_file(self.refs_path(id));
            fsutil::failpoint("backup:pruned-one");
        }
        fsutil::sync_dir(&self.root.join("snapshots")).ok();
        let remaining = self.ids()?;
        self.remove_stray_refs(&remaining);
        let mut live = BTreeSet::new();
        for id in remaining {
            // An encrypted snapshot names its objects in the clear; a damaged manifest keeps
            // every object: it may still be worth repairing.
            if self.sealed_manifest(&id)
                && let Some(r) = self.refs(&id)
            {
                live.extend(r.objects);
                continue;
            }
            let m = self.manifest(&id)?;
            live.extend(m.entries.into_iter().map(|e| e.sha256));
        }
        let mut removed = 0;
        for d in fs::read_dir(self.root.join("objects"))?.flatten() {
            for o in fs::read_dir(d.path())?.flatten() {
                let name = o.file_name().to_string_lossy().to_string();
                if name.len() == 64 && !live.contains(&name) {
                    fs::remove_file(o.path())
                        .with_context(|| format!("cannot remove `{}`", o.path().display()))?;
                    removed += 1;
                }
            }
        }
        removed += self.prune_packs(&live)?;
        Ok((ids.len(), removed))
    }

    /// Removes `.refs` files whose snapshot is gone (a crash between writing them and the
    /// manifest, or while pruning).
    fn remove_stray_refs(&self, ids: &[String]) {
        let Ok(rd) = fs::read_dir(self.root.join("snapshots")) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(id) = name.strip_suffix(".refs")
                && !ids.iter().any(|i| i == id)
            {
                let _ = fs::remove_file(e.path());
            }
        }
    }

    /// Whether stored bytes open (when encrypted) and unpack to plain bytes that match `hash`.
    fn plain_matches(&self, hash: &str, stored: &[u8]) -> bool {
        self.open_bytes(stored.to_vec(), "an object")
            .ok()
            .and_then(|s| unpack(&s).ok())
            .is_some_and(|p| sha256_hex(&p) == hash)
    }

    /// Drops dead objects from packs: a pack with nothing alive is deleted, one with more
    /// than a quarter of its bytes dead is repacked (its live objects, each checked against
    /// its SHA-256, into a new pack, written before the old one is deleted); less garbage
    /// is tolerated. Packs or indexes left alone by a crash are deleted. Returns how many
    /// dead objects went.
    fn prune_packs(&self, live: &BTreeSet<String>) -> Result<usize> {
        let dir = self.packs_dir();
        for p in pack::strays(&dir) {
            fs::remove_file(&p).with_context(|| format!("cannot remove `{}`", p.display()))?;
        }
        let (packs, _) = pack::read_all(&dir)?;
        let mut writer = pack::PackWriter::new(&dir);
        let mut gone = Vec::new();
        let mut removed = 0;
        for (name, objs) in &packs {
            let total: u64 = objs.iter().map(|(_, l)| l.len).sum();
            let dead: Vec<_> = objs.iter().filter(|(h, _)| !live.contains(h)).collect();
            let dead_bytes: u64 = dead.iter().map(|(_, l)| l.len).sum();
            if dead.is_empty() || (dead_bytes * 4 <= total && dead.len() < objs.len()) {
                continue;
            }
            // A damaged live object keeps its pack as it is (`verify` reports it).
            let mut keep = Vec::new();
            // Encrypted with no identity at hand, the whole pack must match the SHA-256
            // that names it instead.
            let mut pack_sound = None;
            let mut sound = |stored: &[u8], h: &str| {
                if age::is_age(stored) && self.identity.is_none() {
                    *pack_sound.get_or_insert_with(|| {
                        fs::read(dir.join(format!("{name}.pack")))
                            .is_ok_and(|b| sha256_hex(&b) == *name)
                    })
                } else {
                    self.plain_matches(h, stored)
                }
            };
            for (h, loc) in objs.iter().filter(|(h, _)| live.contains(h)) {
                match self.read_packed(loc) {
                    Ok(s) if sound(&s, h) => keep.push((h, s)),
                    _ => break,
                }
            }
            if keep.len() + dead.len() < objs.len() {
                continue;
            }
            for (h, stored) in keep {
                writer.add(h, &stored);
                if writer.full() {
                    writer.flush()?;
                }
            }
            gone.push(name.clone());
            removed += dead.len();
        }
        writer.flush()?;
        if gone.is_empty() {
            return Ok(removed);
        }
        fsutil::sync_fs(&self.root)
            .with_context(|| format!("cannot sync `{}`", self.root.display()))?;
        fsutil::failpoint("backup:repacked");
        for name in &gone {
            for ext in ["idx", "pack"] {
                let p = dir.join(format!("{name}.{ext}"));
                fs::remove_file(&p).with_context(|| format!("cannot remove `{}`", p.display()))?;
            }
        }
        fsutil::sync_dir(&dir).with_context(|| format!("cannot sync `{}`", dir.display()))?;
        self.load_index()?;
        Ok(removed)
    }
}
