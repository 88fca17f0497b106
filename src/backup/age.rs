//! The age v1 file format (<https://age-encryption.org/v1>) for X25519 recipients, enough
//! for the backup store: encrypt to one recipient (`age1...`), decrypt with one identity
//! (`AGE-SECRET-KEY-1...`). Every blob is a whole age file, so `age -d` or any other age
//! implementation reads it. The header is `age-encryption.org/v1`, one `X25519` stanza (an
//! ephemeral share and the 16-byte file key wrapped with ChaCha20-Poly1305 under a key
//! HKDF-derived from the X25519 shared secret), and an HMAC-SHA256 of the header; the
//! payload is a 16-byte nonce, then the plain bytes in 64 KiB chunks, each sealed with
//! ChaCha20-Poly1305 under the HKDF-derived payload key (nonce: an 11-byte counter and a
//! last-chunk flag). Hand-written on RustCrypto parts rather than the `age` crate, whose
//! localisation machinery would add more to the build than this whole file.

use anyhow::{Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};

const INTRO: &str = "age-encryption.org/v1\n";
const X25519_INFO: &[u8] = b"age-encryption.org/v1/X25519";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

/// Whether `bytes` is an age file (starts with the v1 header line).
pub fn is_age(bytes: &[u8]) -> bool {
    bytes.starts_with(INTRO.as_bytes())
}

/// A recipient: the public key an `age1...` string encodes.
#[derive(Clone)]
pub struct Recipient(PublicKey);

/// An identity: the secret key an `AGE-SECRET-KEY-1...` string encodes.
#[derive(Clone)]
pub struct Identity(StaticSecret);

impl Recipient {
    /// Parses `age1...`. Errors say what is wrong, never echo the string.
    pub fn parse(s: &str) -> Result<Recipient> {
        let (hrp, data) = bech32::decode(s.trim()).map_err(|_| anyhow!("it is not bech32"))?;
        if hrp.as_str() != "age" {
            bail!("it does not start with `age1`");
        }
        let key: [u8; 32] = data
            .try_into()
            .map_err(|_| anyhow!("it is not a 32-byte X25519 key"))?;
        Ok(Recipient(PublicKey::from(key)))
    }

    /// The `age1...` string.
    pub fn encode(&self) -> String {
        let hrp = bech32::Hrp::parse("age").expect("invariant: a valid hrp");
        bech32::encode::<bech32::Bech32>(hrp, self.0.as_bytes())
            .expect("invariant: 32 bytes encode")
    }
}

impl Identity {
    /// Parses `AGE-SECRET-KEY-1...`, ignoring comment lines (`#`) as `age-keygen` writes
    /// them. Errors never echo the secret.
    pub fn parse(s: &str) -> Result<Identity> {
        let line = s
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| anyhow!("it holds no key"))?;
        let (hrp, data) =
            bech32::decode(line).map_err(|_| anyhow!("it is not an age secret key"))?;
        if !hrp.as_str().eq_ignore_ascii_case("age-secret-key-") {
            bail!("it does not start with `AGE-SECRET-KEY-1`");
        }
        let key: [u8; 32] = data
            .try_into()
            .map_err(|_| anyhow!("it is not a 32-byte X25519 key"))?;
        Ok(Identity(StaticSecret::from(key)))
    }

    /// A new random identity.
    pub fn generate() -> Result<Identity> {
        Ok(Identity(StaticSecret::from(random::<32>()?)))
    }

    /// The `AGE-SECRET-KEY-1...` string.
    pub fn encode(&self) -> String {
        let hrp = bech32::Hrp::parse("age-secret-key-").expect("invariant: a valid hrp");
        bech32::encode_upper::<bech32::Bech32>(hrp, self.0.as_bytes())
            .expect("invariant: 32 bytes encode")
    }

    /// Its recipient.
    pub fn recipient(&self) -> Recipient {
        Recipient(PublicKey::from(&self.0))
    }
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| anyhow!("no randomness from the system: {e}"))?;
    Ok(b)
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut out)
        .expect("invariant: 32 bytes is a valid HKDF length");
    out
}

fn header_mac(file_key: &[u8; 16], header: &[u8]) -> [u8; 32] {
    let key = hkdf(&[], file_key, b"header");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("invariant: any key length");
    mac.update(header);
    mac.finalize().into_bytes().into()
}

fn aead(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(Key::from_slice(key))
}

fn chunk_nonce(counter: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// The X25519 wrap key from a shared secret, the ephemeral share and the recipient, or
/// None for a shared secret of all zeros (a low-order point).
fn wrap_key(
    shared: x25519_dalek::SharedSecret,
    share: &PublicKey,
    recipient: &PublicKey,
) -> Option<[u8; 32]> {
    if !shared.was_contributory() {
        return None;
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(share.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    Some(hkdf(&salt, shared.as_bytes(), X25519_INFO))
}

/// Encrypts `plain` to `to`: a whole age file.
pub fn encrypt(to: &Recipient, plain: &[u8]) -> Result<Vec<u8>> {
    let file_key = random::<16>()?;
    let eph = StaticSecret::from(random::<32>()?);
    let share = PublicKey::from(&eph);
    let key = wrap_key(eph.diffie_hellman(&to.0), &share, &to.0)
        .ok_or_else(|| anyhow!("the recipient is not a usable X25519 key"))?;
    let wrapped = aead(&key)
        .encrypt(Nonce::from_slice(&[0; 12]), &file_key[..])
        .map_err(|_| anyhow!("cannot wrap the file key"))?;
    let mut header = format!(
        "{INTRO}-> X25519 {}\n{}\n---",
        B64.encode(share.as_bytes()),
        B64.encode(&wrapped)
    );
    let mac = header_mac(&file_key, header.as_bytes());
    header.push_str(&format!(" {}\n", B64.encode(mac)));
    let nonce = random::<16>()?;
    let payload = aead(&hkdf(&nonce, &file_key, b"payload"));
    let mut out =
        Vec::with_capacity(header.len() + 16 + plain.len() + TAG * (1 + plain.len() / CHUNK));
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&nonce);
    let chunks: Vec<&[u8]> = if plain.is_empty() {
        vec![&[][..]]
    } else {
        plain.chunks(CHUNK).collect()
    };
    let n = chunks.len();
    for (i, c) in chunks.into_iter().enumerate() {
        let sealed = payload
            .encrypt(Nonce::from_slice(&chunk_nonce(i as u64, i + 1 == n)), c)
            .map_err(|_| anyhow!("cannot seal a chunk"))?;
        out.extend_from_slice(&sealed);
    }
    Ok(out)
}

/// Decrypts a whole age file with `id`. Errors: not an age file, no stanza for this
/// identity ("the identity does not match"), or a header or payload that was changed.
pub fn decrypt(id: &Identity, bytes: &[u8]) -> Result<Vec<u8>> {
    if !is_age(bytes) {
        bail!("it is not an age file");
    }
    // The header is text up to the line starting `--- `, then the MAC line.
    let mac_at = find(bytes, b"\n--- ").ok_or_else(|| anyhow!("its age header is truncated"))? + 1;
    let mac_end = mac_at
        + find(&bytes[mac_at..], b"\n").ok_or_else(|| anyhow!("its age header is truncated"))?;
    let header =
        std::str::from_utf8(&bytes[..mac_at]).map_err(|_| anyhow!("its age header is not text"))?;
    let mac: [u8; 32] = B64
        .decode(&bytes[mac_at + 4..mac_end])
        .ok()
        .and_then(|m| m.try_into().ok())
        .ok_or_else(|| anyhow!("its age header MAC is malformed"))?;
    let mine = id.recipient().0;
    let mut file_key = None;
    let mut lines = header[INTRO.len()..].lines();
    while let Some(line) = lines.next() {
        let Some(args) = line.strip_prefix("-> ") else {
            continue;
        };
        // A stanza's body: lines of 64 columns, ended by a shorter one.
        let mut body = String::new();
        for l in lines.by_ref() {
            body.push_str(l);
            if l.len() < 64 {
                break;
            }
        }
        let mut a = args.split(' ');
        if a.next() != Some("X25519") {
            continue;
        }
        let share: Option<[u8; 32]> = a
            .next()
            .and_then(|s| B64.decode(s).ok())
            .and_then(|s| s.try_into().ok());
        let (Some(share), Ok(wrapped)) = (share, B64.decode(&body)) else {
            bail!("its age header has a malformed X25519 stanza");
        };
        let share = PublicKey::from(share);
        let Some(key) = wrap_key(id.0.diffie_hellman(&share), &share, &mine) else {
            continue;
        };
        if let Ok(k) = aead(&key).decrypt(Nonce::from_slice(&[0; 12]), &wrapped[..])
            && let Ok(k) = <[u8; 16]>::try_from(k)
        {
            file_key = Some(k);
            break;
        }
    }
    let file_key =
        file_key.ok_or_else(|| anyhow!("it was not encrypted to this identity (wrong key)"))?;
    // The MAC covers the header up to and including `---`.
    let want = header_mac(&file_key, &bytes[..mac_at + 3]);
    if want != mac {
        bail!("its age header was changed (the MAC does not match)");
    }
    let rest = &bytes[mac_end + 1..];
    if rest.len() < 16 + TAG {
        bail!("its age payload is truncated");
    }
    let (nonce, mut sealed) = rest.split_at(16);
    let payload = aead(&hkdf(nonce, &file_key, b"payload"));
    let mut out = Vec::with_capacity(sealed.len());
    let mut i = 0u64;
    loop {
        let take = sealed.len().min(CHUNK + TAG);
        let (c, more) = sealed.split_at(take);
        let last = more.is_empty();
        let plain = payload
            .decrypt(Nonce::from_slice(&chunk_nonce(i, last)), c)
            .map_err(|_| anyhow!("its age payload was changed or truncated"))?;
        if last && plain.is_empty() && i > 0 {
            bail!("its age payload ends with an empty chunk");
        }
        out.extend_from_slice(&plain);
        if last {
            return Ok(out);
        }
        sealed = more;
        i += 1;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_across_chunk_edges_and_keys_encode_back() {
        let id = Identity::generate().unwrap();
        let r = Recipient::parse(&id.recipient().encode()).unwrap();
        assert!(id.recipient().encode().starts_with("age1"));
        let again = Identity::parse(&format!("# created: now\n{}\n", id.encode())).unwrap();
        assert_eq!(again.encode(), id.encode());
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
            let plain: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            let sealed = encrypt(&r, &plain).unwrap();
            assert!(is_age(&sealed));
            assert_eq!(decrypt(&again, &sealed).unwrap(), plain, "{n}");
        }
    }

    #[test]
    fn a_wrong_key_or_a_changed_byte_is_refused() {
        let id = Identity::generate().unwrap();
        let sealed = encrypt(&id.recipient(), b"the plain text").unwrap();
        let other = Identity::generate().unwrap();
        let e = decrypt(&other, &sealed).unwrap_err().to_string();
        assert!(e.contains("wrong key"), "{e}");
        for at in [30, sealed.len() - 3] {
            let mut bad = sealed.clone();
            bad[at] ^= 1;
            assert!(decrypt(&id, &bad).is_err(), "{at}");
        }
        let cut = &sealed[..sealed.len() - 1];
        assert!(decrypt(&id, cut).is_err());
    }
}
