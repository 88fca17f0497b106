//! Pack files: objects under [`PACK_LIMIT`] are appended, one after another, to
//! `packs/<name>.pack` (about [`PACK_TARGET`] bytes each, `<name>` the SHA-256 of the pack),
//! and found through `packs/<name>.idx`: a first line `sha256:<hex>` of the rest, then one
//! line `<object sha256> <offset> <length>` per object. A pack is written to a temp name and
//! renamed, then its index the same way: an index is only ever there for a whole pack, and a
//! pack with no index (a crash between the two renames) holds nothing any snapshot names.
//! Many small objects in a few large files is what makes a first backup fast and the store
//! small (one file per object cost a block and an inode each).

use super::{sha256_hex, write_via_temp};
use anyhow::{Context, Result, anyhow, bail};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Objects smaller than this (plain bytes) go into packs; larger ones stay loose files.
pub const PACK_LIMIT: usize = 1 << 20;
/// A pack is closed once it holds this many bytes.
pub const PACK_TARGET: usize = 8 << 20;

/// Where a packed object lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub pack: String,
    pub offset: u64,
    pub len: u64,
}

/// A pack's name: 64 lowercase hex digits.
pub fn valid_name(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Where each of a pack's index rows (`object offset length`) lies.
fn located(
    pack: &str,
    rows: impl IntoIterator<Item = (String, u64, u64)>,
) -> impl Iterator<Item = (String, Loc)> {
    rows.into_iter().map(move |(h, offset, len)| {
        let loc = Loc {
            pack: pack.to_string(),
            offset,
            len,
        };
        (h, loc)
    })
}

/// Renders an index: its SHA-256 line, then one line per object.
fn render_index(entries: &[(String, u64, u64)]) -> String {
    let body: String = entries
        .iter()
        .map(|(h, o, l)| format!("{h} {o} {l}\n"))
        .collect();
    format!("sha256:{}\n{body}", sha256_hex(body.as_bytes()))
}

/// Parses an index. Errors when it does not match its SHA-256 line or a line is malformed.
pub fn parse_index(text: &str) -> Result<Vec<(String, u64, u64)>> {
    let (first, body) = text
        .split_once('\n')
        .ok_or_else(|| anyhow!("it is truncated"))?;
    let want = first
        .strip_prefix("sha256:")
        .ok_or_else(|| anyhow!("it has no SHA-256 line"))?;
    if sha256_hex(body.as_bytes()) != want {
        bail!("it does not match its SHA-256");
    }
    body.lines()
        .map(|l| {
            let mut f = l.split(' ');
            match (f.next(), f.next(), f.next(), f.next()) {
                (Some(h), Some(o), Some(n), None) if valid_name(h) => {
                    Ok((h.to_string(), o.parse()?, n.parse()?))
                }
                _ => bail!("it has a malformed line"),
            }
        })
        .collect()
}

/// Every pack in `dir` with its index: (name, objects). Indexes that do not parse are
/// returned apart, by name, with the reason; a pack or an index alone is in neither.
#[allow(clippy::type_complexity)]
pub fn read_all(dir: &Path) -> Result<(Vec<(String, Vec<(String, Loc)>)>, Vec<String>)> {
    let mut packs = Vec::new();
    let mut bad = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok((packs, bad));
    };
    let mut names: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.strip_suffix(".idx").map(str::to_string)
        })
        .filter(|n| valid_name(n) && dir.join(format!("{n}.pack")).is_file())
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(format!("{name}.idx"));
        let parsed = fs::read_to_string(&path)
            .map_err(anyhow::Error::from)
            .and_then(|t| parse_index(&t));
        match parsed {
            Ok(rows) => {
                let objs = located(&name, rows).collect();
                packs.push((name, objs));
            }
            Err(e) => bad.push(format!("pack index `{}` is damaged: {e:#}", path.display())),
        }
    }
    Ok((packs, bad))
}

/// Names in `dir` of packs with no index and indexes with no pack: leftovers of a crash.
pub fn strays(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string());
            match name.as_deref().and_then(|n| n.rsplit_once('.')) {
                Some((n, "pack")) => valid_name(n) && !dir.join(format!("{n}.idx")).exists(),
                Some((n, "idx")) => valid_name(n) && !dir.join(format!("{n}.pack")).exists(),
                _ => false,
            }
        })
        .collect()
}

/// Gathers objects in memory and writes them out as one pack and its index.
pub struct PackWriter {
    dir: PathBuf,
    buf: Vec<u8>,
    rows: Vec<(String, u64, u64)>,
    pending: HashMap<String, usize>,
}

impl PackWriter {
    /// A writer for packs in `dir`.
    pub fn new(dir: &Path) -> PackWriter {
        PackWriter {
            dir: dir.to_path_buf(),
            buf: Vec::new(),
            rows: Vec::new(),
            pending: HashMap::new(),
        }
    }

    /// Whether the object is waiting in this writer.
    pub fn contains(&self, hash: &str) -> bool {
        self.pending.contains_key(hash)
    }

    /// The stored bytes of an object waiting here.
    pub fn get(&self, hash: &str) -> Option<&[u8]> {
        let (_, o, l) = &self.rows[*self.pending.get(hash)?];
        Some(&self.buf[*o as usize..(*o + *l) as usize])
    }

    /// Appends an object's stored bytes (once per hash).
    pub fn add(&mut self, hash: &str, stored: &[u8]) {
        if self.contains(hash) {
            return;
        }
        self.pending.insert(hash.to_string(), self.rows.len());
        self.rows
            .push((hash.to_string(), self.buf.len() as u64, stored.len() as u64));
        self.buf.extend_from_slice(stored);
    }

    /// Whether the pack is big enough to close.
    pub fn full(&self) -> bool {
        self.buf.len() >= PACK_TARGET
    }

    /// Writes the pack, then its index (each through a temp name; no fsync: the caller
    /// syncs the batch), and empties the writer. Returns where each object now lies.
    pub fn flush(&mut self) -> Result<Vec<(String, Loc)>> {
        if self.rows.is_empty() {
            return Ok(Vec::new());
        }
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create `{}`", self.dir.display()))?;
        let name = sha256_hex(&self.buf);
        write_via_temp(&self.dir.join(format!("{name}.pack")), &self.buf)?;
        write_via_temp(
            &self.dir.join(format!("{name}.idx")),
            render_index(&self.rows).as_bytes(),
        )?;
        let locs = located(&name, self.rows.drain(..)).collect();
        self.buf.clear();
        self.pending.clear();
        Ok(locs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_round_trips_and_a_changed_line_is_found() {
        let h = "ab".repeat(32);
        let text = render_index(&[(h.clone(), 0, 10), (h.replace('a', "c"), 10, 3)]);
        assert_eq!(parse_index(&text).unwrap().len(), 2);
        assert!(parse_index(&text.replace(" 10 3", " 10 4")).is_err());
    }

    #[test]
    fn a_writer_packs_each_object_once_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PackWriter::new(dir.path());
        w.add(&"1".repeat(64), b"one");
        w.add(&"1".repeat(64), b"one");
        w.add(&"2".repeat(64), b"two!");
        assert_eq!(w.get(&"2".repeat(64)), Some(&b"two!"[..]));
        let locs = w.flush().unwrap();
        assert_eq!(locs.len(), 2);
        let (packs, bad) = read_all(dir.path()).unwrap();
        assert!(bad.is_empty());
        assert_eq!(packs[0].1, locs);
        let bytes = fs::read(dir.path().join(format!("{}.pack", locs[1].1.pack))).unwrap();
        assert_eq!(&bytes[3..7], b"two!");
        assert!(strays(dir.path()).is_empty());
    }
}
