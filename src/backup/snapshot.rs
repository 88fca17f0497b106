//! Taking a snapshot: the vault's files walked, each new or changed one stored once
//! (packed when small), then the manifest written to a temp name, checked and renamed into
//! place (see the module header of [`super`]).

use super::*;

impl Store {
    /// Takes a snapshot of the vault at `vault_root`, named for `time` (RFC 3339) and
    /// `stamp_id` (its id, made unique here). Files unchanged since the newest snapshot
    /// (same size, times and inode) are not read again. Errors leave no snapshot listed.
    pub fn snapshot(
        &self,
        vault_root: &Path,
        stamp_id: &str,
        time: &str,
        agent: &str,
    ) -> Result<BackupReport> {
        if self.seal.is_some() {
            // Unchanged files would be found in the plain objects and stay readable.
            if let Some(plain) = self.ids()?.into_iter().find(|i| !self.sealed_manifest(i)) {
                return Err(crate::exit::AieError::Config(format!(
                    "`backup.encrypt_to` is set but `{}` holds plain snapshots (`{plain}`): point `backup.dir` at a new folder for encrypted ones",
                    self.root.display()
                ))
                .into());
            }
        }
        let mut id = stamp_id.to_string();
        let mut n = 1;
        while self.manifest_path(&id).exists() {
            n += 1;
            id = format!("{stamp_id}-{n}");
        }
        // An encrypted manifest with no identity at hand: every file is read again.
        let cache: BTreeMap<String, Entry> = match self.ids()?.last() {
            Some(last) if self.sealed_manifest(last) && self.identity.is_none() => BTreeMap::new(),
            Some(last) => self
                .manifest(last)
                .map(|m| {
                    m.entries
                        .into_iter()
                        .filter(|e| e.kind == "file")
                        .map(|e| (e.path.clone(), e))
                        .collect()
                })
                .unwrap_or_default(),
            None => BTreeMap::new(),
        };
        let mut report = BackupReport {
            id: id.clone(),
            ..BackupReport::default()
        };
        let mut entries = Vec::new();
        // Loose objects written (hash, size), packs written, and files still to read.
        let mut written: Vec<(String, String)> = Vec::new();
        let mut packs_written: Vec<String> = Vec::new();
        let mut todo: Vec<(usize, PathBuf)> = Vec::new();
        let mut packer = pack::PackWriter::new(&self.packs_dir());
        let walker = walkdir::WalkDir::new(vault_root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let rel = rel_of(vault_root, e.path());
                rel.as_deref().is_none_or(|r| !excluded(r))
            });
        for ent in walker {
            let ent = ent.with_context(|| format!("cannot read `{}`", vault_root.display()))?;
            let Some(rel) = rel_of(vault_root, ent.path()) else {
                report.refused.push(ent.path().display().to_string());
                continue;
            };
            let ft = ent.file_type();
            if ft.is_symlink() || !(ft.is_file() || ft.is_dir()) {
                report.refused.push(rel);
                continue;
            }
            let meta = ent
                .metadata()
                .with_context(|| format!("cannot read `{}`", ent.path().display()))?;
            if ft.is_dir() {
                entries.push(entry_of(&rel, "dir", &meta));
                continue;
            }
            let mut e = entry_of(&rel, "file", &meta);
            report.files += 1;
            let cached = cache.get(&rel).filter(|c| {
                c.size == e.size
                    && c.mtime == e.mtime
                    && c.mtime_ns == e.mtime_ns
                    && c.ctime_ns == e.ctime_ns
                    && c.ino == e.ino
                    && self.object_ok(&c.sha256)
            });
            if let Some(c) = cached {
                e.sha256 = c.sha256.clone();
            } else {
                todo.push((entries.len(), ent.path().to_path_buf()));
            }
            entries.push(e);
        }
        // The files to read, a batch at a time: read and hash on every core, then compress
        // on every core what the store does not hold yet, then add in order.
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        for batch in todo.chunks(64 * workers) {
            let read = par_map(batch, workers, |(_, path)| {
                fsutil::read_regular_nofollow(path)
                    .map(|(b, _)| {
                        let h = sha256_hex(&b);
                        (b, h)
                    })
                    .with_context(|| format!("cannot read `{}`", path.display()))
            });
            let mut need: Vec<(String, Vec<u8>)> = Vec::new();
            let mut in_batch = BTreeSet::new();
            for ((at, _), r) in batch.iter().zip(read) {
                let (bytes, hash) = r?;
                let e = &mut entries[*at];
                e.size = bytes.len() as u64;
                e.sha256.clone_from(&hash);
                if !self.object_ok(&hash)
                    && !packer.contains(&hash)
                    && in_batch.insert(hash.clone())
                {
                    need.push((hash, bytes));
                }
            }
            let seal = self.seal.as_ref();
            let stored = par_map(&need, workers, |(_, b)| match seal {
                Some(r) => age::encrypt(r, &compress(b)),
                None => Ok(compress(b)),
            });
            for ((hash, bytes), stored) in need.iter().zip(stored) {
                let stored = stored?;
                if bytes.len() < pack::PACK_LIMIT {
                    packer.add(hash, &stored);
                    if packer.full() {
                        packs_written.extend(self.flush(&mut packer)?);
                    }
                } else {
                    let dir = self.root.join("objects").join(&hash[..2]);
                    fs::create_dir_all(&dir)
                        .with_context(|| format!("cannot create `{}`", dir.display()))?;
                    write_via_temp(&self.object_path(hash), &stored)?;
                    written.push((hash.clone(), sha256_hex(&stored)));
                    fsutil::failpoint("backup:object-written");
                }
                report.new_objects += 1;
                report.new_bytes += bytes.len() as u64;
            }
        }
        packs_written.extend(self.flush(&mut packer)?);
        report.bytes = entries.iter().map(|e| e.size).sum();
        let manifest = Manifest {
            version: 1,
            id: id.clone(),
            time: time.to_string(),
            agent: agent.to_string(),
            files: report.files,
            bytes: report.bytes,
            entries,
        };
        let text = self.seal_bytes(deflate_manifest(&render_manifest(&manifest)?)?)?;
        if self.seal.is_some() {
            let refs = Refs {
                time: manifest.time.clone(),
                files: manifest.files,
                bytes: manifest.bytes,
                objects: manifest
                    .entries
                    .iter()
                    .filter(|e| e.kind == "file")
                    .map(|e| e.sha256.clone())
                    .collect(),
            };
            let body = serde_json::to_string(&refs)?;
            let refs_text = format!("sha256:{}\n{body}\n", sha256_hex(body.as_bytes()));
            write_via_temp(&self.refs_path(&id), refs_text.as_bytes())?;
        }
        // Every object of this run, then the manifest under a temp name, durable at once.
        let target = self.manifest_path(&id);
        let tmp = fsutil::temp_path_for(&target);
        fs::write(&tmp, &text).with_context(|| format!("cannot write `{}`", tmp.display()))?;
        fsutil::failpoint("backup:manifest-temp");
        fsutil::sync_fs(&self.root)
            .with_context(|| format!("cannot sync `{}`", self.root.display()))?;
        // Check before it counts: the temp manifest reads back whole, each pack this run
        // wrote reads back with the SHA-256 that names it, each loose object with its own.
        let check = (|| -> Result<()> {
            if fs::read(&tmp)? != text {
                bail!("its manifest reads back with other bytes");
            }
            for name in &packs_written {
                let p = self.packs_dir().join(format!("{name}.pack"));
                let bytes = fs::read(&p).with_context(|| format!("pack `{name}` is missing"))?;
                if sha256_hex(&bytes) != *name {
                    bail!("pack `{name}` reads back with other bytes");
                }
            }
            for (hash, outer) in &written {
                let b = fs::read(self.object_path(hash))
                    .with_context(|| format!("object `{hash}` is missing"))?;
                if sha256_hex(&b) != *outer {
                    bail!("object `{hash}` reads back with other bytes");
                }
            }
            for e in manifest.entries.iter().filter(|e| e.kind == "file") {
                if !self.object_ok(&e.sha256) {
                    bail!("object `{}` of `{}` is missing", e.sha256, e.path);
                }
            }
            Ok(())
        })();
        if let Err(e) = check {
            let _ = fs::remove_file(&tmp);
            return Err(e.context(format!("snapshot `{id}` did not verify; it is not kept")));
        }
        fsutil::failpoint("backup:verified");
        fsutil::move_noreplace(&tmp, &target)
            .map_err(|e| anyhow!("cannot rename the manifest of `{id}` into place: {e}"))?;
        fsutil::sync_dir(&self.root.join("snapshots"))
            .with_context(|| format!("cannot sync `{}`", self.root.display()))?;
        fsutil::failpoint("backup:renamed");
        Ok(report)
    }
}
