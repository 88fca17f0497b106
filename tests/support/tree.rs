//! A folder tree as data (path, kind, bytes, mode, modification time), to compare a restored
//! vault with the one it was taken from.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// One file or folder: kind (`f`, `d`, `l`), its bytes (files), mode bits and mtime (s, ns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: char,
    pub bytes: Vec<u8>,
    pub mode: u32,
    pub mtime: (i64, i64),
}

/// Every path under `root` (relative) for which `keep` holds, without following links.
pub fn tree(root: &Path, keep: impl Fn(&str) -> bool) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(root).follow_links(false).min_depth(1) {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        if !keep(&rel) {
            continue;
        }
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        let kind = if m.is_symlink() {
            'l'
        } else if m.is_dir() {
            'd'
        } else {
            'f'
        };
        let bytes = if kind == 'f' {
            std::fs::read(e.path()).unwrap()
        } else {
            Vec::new()
        };
        out.insert(
            rel,
            Node {
                kind,
                bytes,
                mode: m.permissions().mode() & 0o7777,
                mtime: (m.mtime(), m.mtime_nsec()),
            },
        );
    }
    out
}
