//! A snapshot's manifest as it is stored: JSON under a first line that is the SHA-256 of
//! the rest, compressed with zstd (plain in stores written before).

use super::*;

/// A manifest's file name after its id: a zstd frame (`zstd -dc` shows the JSON). A
/// manifest is mostly paths and hashes, repeated in every snapshot: compressed, it costs a
/// third of its plain size.
pub(super) const MANIFEST_EXT: &str = ".json.zst";

/// The manifest's text as it is stored: zstd-compressed (then sealed when the store seals).
pub(super) fn deflate_manifest(text: &str) -> Result<Vec<u8>> {
    zstd::bulk::compress(text.as_bytes(), ZSTD_LEVEL).context("cannot compress the manifest")
}

/// The manifest's plain bytes: a zstd frame decompressed (at most 1 GiB), a plain manifest
/// of an earlier store as it is.
pub(super) fn inflate_manifest(stored: Vec<u8>) -> Result<Vec<u8>> {
    const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
    if !stored.starts_with(&ZSTD_MAGIC) {
        return Ok(stored);
    }
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(&stored[..])?
        .take(1 << 30)
        .read_to_end(&mut out)?;
    Ok(out)
}

pub(super) fn render_manifest(m: &Manifest) -> Result<String> {
    let body = serde_json::to_string(m)?;
    Ok(format!("sha256:{}\n{body}\n", sha256_hex(body.as_bytes())))
}

pub(super) fn parse_manifest(text: &str) -> Result<Manifest> {
    let (first, rest) = text
        .split_once('\n')
        .ok_or_else(|| anyhow!("its manifest is truncated"))?;
    let body = rest.strip_suffix('\n').unwrap_or(rest);
    let want = first
        .strip_prefix("sha256:")
        .ok_or_else(|| anyhow!("its manifest has no SHA-256 line"))?;
    if sha256_hex(body.as_bytes()) != want {
        bail!("its manifest does not match its SHA-256");
    }
    let m: Manifest = serde_json::from_str(body).context("its manifest does not parse")?;
    for e in &m.entries {
        safe_rel(&e.path)?;
        if e.kind == "file"
            && (e.sha256.len() != 64 || !e.sha256.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            bail!("its manifest names a bad object for `{}`", e.path);
        }
    }
    Ok(m)
}
