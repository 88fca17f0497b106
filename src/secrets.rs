//! Secrets: only from the environment or the file named by `AIE_SECRETS_FILE` (`KEY=value`
//! lines, mode 0600, outside the vault). They are never written to the vault, a log or a
//! report. The [`Scrubber`] finds each secret and its encodings (base64 in both alphabets,
//! with and without padding, also inside a longer base64 text; percent-encoding; the SMTP
//! AUTH PLAIN and HTTP Basic forms of a login) in any text that came from outside, so that
//! every writer can replace them before anything is stored. The scrubber of the run is also
//! kept process-wide ([`install_scrubber`], [`scrub`]): writers deep in the domain code (the
//! journal, the approvals ledger, an item's front matter, the Dashboard) use it without every
//! caller threading the secrets through.

use crate::exit::AieError;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::RwLock;

/// The secrets of this run.
#[derive(Clone, Default)]
pub struct Secrets {
    map: BTreeMap<String, String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only, never values.
        f.debug_list().entries(self.map.keys()).finish()
    }
}

impl Secrets {
    /// Builds the secrets from environment values (which win) and an optional secrets file.
    /// The file must be mode 0600 (or stricter) and outside `vault`: otherwise a config error.
    pub fn load(
        env: &BTreeMap<String, String>,
        file: Option<&Path>,
        vault: Option<&Path>,
    ) -> Result<Secrets> {
        let mut map = BTreeMap::new();
        if let Some(path) = file {
            check_file(path, vault)?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read secrets file `{}`", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let line = line.strip_prefix("export ").unwrap_or(line);
                let Some((k, v)) = line.split_once('=') else {
                    return Err(AieError::Config(format!(
                        "secrets file `{}` line {}: expected KEY=value",
                        path.display(),
                        n + 1
                    ))
                    .into());
                };
                let v = v.trim().trim_matches('"').trim_matches('\'');
                map.insert(k.trim().to_string(), v.to_string());
            }
        }
        // Every name a connector declares (connectors::capabilities is the one list).
        for name in crate::connectors::capabilities::secret_names() {
            if let Some(v) = env.get(name).filter(|v| !v.is_empty()) {
                map.insert(name.to_string(), v.clone());
            }
        }
        Ok(Secrets { map })
    }

    /// A secret by name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// All of `names`, or a config error (exit 78) listing the missing ones for `service`.
    pub fn require(&self, service: &str, names: &[&str]) -> Result<Vec<String>> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.get(n).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(AieError::Config(format!(
                "{service} is set up in aie.yaml but its secrets are missing: {} (set them in the environment or in AIE_SECRETS_FILE)",
                missing.join(", ")
            ))
            .into());
        }
        Ok(names.iter().map(|n| self.map[*n].clone()).collect())
    }

    /// Every text to scrub from logs and stored texts: each secret value and its encodings,
    /// longest first (see [`Scrubber`]).
    pub fn values(&self) -> Vec<String> {
        self.scrubber().needles
    }

    /// The scrubber of these secrets: each value, and each login (user and password) in the
    /// forms a server may echo (SMTP AUTH PLAIN, HTTP Basic).
    pub fn scrubber(&self) -> Scrubber {
        let logins: Vec<(&str, &str)> = LOGINS
            .iter()
            .filter_map(|(u, p)| Some((self.get(u)?, self.get(p)?)))
            .collect();
        Scrubber::new(self.map.values().map(String::as_str), &logins)
    }
}

/// Secret pairs that are sent together as a login.
const LOGINS: &[(&str, &str)] = &[
    ("AIE_SMTP_USERNAME", "AIE_SMTP_PASSWORD"),
    ("AIE_ODOO_USERNAME", "AIE_ODOO_API_KEY"),
    ("AIE_GMAIL_CLIENT_ID", "AIE_GMAIL_CLIENT_SECRET"),
];

/// Shorter secret values are not scrubbed (they would match ordinary words).
const MIN_SECRET: usize = 4;
/// Shorter pieces of a base64 text that only partly encode a secret are not scrubbed.
const MIN_FRAGMENT: usize = 8;

/// Finds every known secret, and its encodings, in a text.
#[derive(Clone, Default)]
pub struct Scrubber {
    /// What to replace, longest first (so an encoding goes whole before a piece of it).
    needles: Vec<String>,
}

impl Scrubber {
    /// A scrubber of `values` (each of [`MIN_SECRET`] bytes or more) and of `logins`
    /// (`user`, `password`): `\0user\0password` and `user\0password` (SMTP AUTH PLAIN)
    /// and `user:password` (HTTP Basic), base64-encoded.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>, logins: &[(&str, &str)]) -> Scrubber {
        let mut needles = Vec::new();
        for v in values.into_iter().filter(|v| v.len() >= MIN_SECRET) {
            needles.push(v.to_string());
            needles.extend(encodings(v.as_bytes()));
        }
        for (user, pass) in logins.iter().filter(|(_, p)| p.len() >= MIN_SECRET) {
            for form in [
                format!("\0{user}\0{pass}"),
                format!("{user}\0{pass}"),
                format!("{user}:{pass}"),
            ] {
                needles.extend(base64_forms(form.as_bytes()));
            }
        }
        needles.retain(|n| n.len() >= MIN_SECRET);
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Scrubber { needles }
    }

    /// What this scrubber replaces, longest first.
    pub fn needles(&self) -> &[String] {
        &self.needles
    }

    /// `s` with every secret and encoding replaced by `[secret]`.
    pub fn scrub(&self, s: &str) -> String {
        scrub_with(s, &self.needles)
    }
}

/// `s` with each of `needles` (in their order) replaced by `[secret]`.
pub fn scrub_with(s: &str, needles: &[String]) -> String {
    let mut out = s.to_string();
    for n in needles.iter().filter(|n| n.len() >= MIN_SECRET) {
        if out.contains(n.as_str()) {
            out = out.replace(n.as_str(), "[secret]");
        }
    }
    out
}

/// The encodings of one secret a server or a URL may show: base64 (standard and URL-safe,
/// padded or not, and the pieces that stay the same when it starts at any of the three byte
/// alignments inside a longer base64 text) and percent-encoding.
fn encodings(secret: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut out = base64_forms(secret);
    for k in 0..3usize {
        // Characters 6i..6i+6 (bits) that lie wholly within the secret's bytes k..k+len.
        let mut buf = vec![0u8; k];
        buf.extend_from_slice(secret);
        let first = (8 * k).div_ceil(6);
        let end = 8 * (k + secret.len()) / 6;
        for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            let enc = engine.encode(&buf);
            if let Some(piece) = enc.get(first..end).filter(|p| p.len() >= MIN_FRAGMENT) {
                out.push(piece.to_string());
            }
        }
    }
    for upper in [true, false] {
        for plus in [true, false] {
            let p = percent_encode(secret, upper, plus);
            if p.as_bytes() != secret {
                out.push(p);
            }
        }
    }
    out
}

/// `bytes` in base64, standard and URL-safe, with and without `=` padding.
fn base64_forms(bytes: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .map(|e| e.encode(bytes))
        .collect()
}

/// Percent-encoding of every byte but the unreserved ones (RFC 3986), hex digits upper or
/// lower case, a space as `+` (form encoding) or `%20`.
fn percent_encode(bytes: &[u8], upper: bool, plus: bool) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else if b == b' ' && plus {
            out.push('+');
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// The scrubber of this run, for writers that are not handed the secrets.
static RUN_SCRUBBER: RwLock<Option<Scrubber>> = RwLock::new(None);

/// Makes `scrubber` the one [`scrub`] uses from now on (the context does this once it has
/// read the secrets).
pub fn install_scrubber(scrubber: Scrubber) {
    if let Ok(mut g) = RUN_SCRUBBER.write() {
        *g = Some(scrubber);
    }
}

/// `s` with every secret of this run and its encodings replaced by `[secret]` (unchanged
/// before [`install_scrubber`]).
pub fn scrub(s: &str) -> String {
    match RUN_SCRUBBER.read() {
        Ok(g) => match g.as_ref() {
            Some(sc) => sc.scrub(s),
            None => s.to_string(),
        },
        Err(_) => s.to_string(),
    }
}

/// [`scrub`] of an owned text: the text itself, not a copy, when it holds no secret (the
/// usual case: a front matter field aie sets).
pub fn scrub_owned(s: String) -> String {
    match RUN_SCRUBBER.read() {
        Ok(g) => match g.as_ref() {
            Some(sc) if sc.needles.iter().any(|n| s.contains(n.as_str())) => sc.scrub(&s),
            _ => s,
        },
        Err(_) => s,
    }
}

/// Adds `value` (and its encodings) to what [`scrub`] replaces: a secret learnt during the
/// run, such as a rotated OAuth refresh token.
pub fn scrub_also(value: &str) {
    if let Ok(mut g) = RUN_SCRUBBER.write() {
        let mut needles = g.take().map(|s| s.needles).unwrap_or_default();
        needles.extend(Scrubber::new([value], &[]).needles);
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        *g = Some(Scrubber { needles });
    }
}

/// Checks that a secrets file is private and lives outside the vault.
pub fn check_file(path: &Path, vault: Option<&Path>) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| {
        AieError::Config(format!(
            "cannot read secrets file `{}` (AIE_SECRETS_FILE): {e}",
            path.display()
        ))
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(AieError::Config(format!(
            "secrets file `{}` has mode {mode:04o}: run `chmod 600 {}`",
            path.display(),
            path.display()
        ))
        .into());
    }
    if let Some(vault) = vault {
        let (Ok(p), Ok(v)) = (path.canonicalize(), vault.canonicalize()) else {
            return Ok(());
        };
        if p.starts_with(&v) {
            return Err(AieError::Config(format!(
                "secrets file `{}` is inside the vault, which is synced: move it outside `{}`",
                path.display(),
                vault.display()
            ))
            .into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn an_owned_text_is_scrubbed_as_a_borrowed_one() {
        // A value no other test uses: the run's scrubber is process-wide.
        scrub_also("scrub-owned-test-Zq7x");
        for s in [
            "",
            "nothing secret here",
            "token scrub-owned-test-Zq7x in the middle",
            "scrub-owned-test-Zq7xscrub-owned-test-Zq7x",
        ] {
            assert_eq!(scrub_owned(s.to_string()), scrub(s), "{s}");
        }
        assert!(!scrub_owned("a scrub-owned-test-Zq7x b".into()).contains("Zq7x"));
    }

    #[test]
    fn file_and_env_merge_env_wins() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("secrets");
        fs::write(
            &f,
            "# comment\nAIE_SMTP_PASSWORD=filepw\nAIE_X_TOKEN=\"xt\"\n",
        )
        .unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        let mut env = BTreeMap::new();
        env.insert("AIE_SMTP_PASSWORD".to_string(), "envpw".to_string());
        let s = Secrets::load(&env, Some(&f), None).unwrap();
        assert_eq!(s.get("AIE_SMTP_PASSWORD"), Some("envpw"));
        assert_eq!(s.get("AIE_X_TOKEN"), Some("xt"));
        assert!(!format!("{s:?}").contains("envpw"));
    }

    /// Finding 13: only the raw value was scrubbed, so a server that echoed the AUTH PLAIN
    /// string or the password in base64 or percent-encoding leaked it.
    #[test]
    fn scrubber_knows_encodings_of_each_secret_and_login() {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let pass = "s3cr3t pa/ss?word>";
        let sc = Scrubber::new(["mailuser", pass], &[("mailuser", pass)]);
        let texts = [
            format!("535 {pass}"),
            format!("535 {}", STANDARD.encode(format!("\0mailuser\0{pass}"))),
            format!("x {}", STANDARD.encode(format!("mailuser\0{pass}"))),
            format!("x {}", URL_SAFE_NO_PAD.encode(pass)),
            format!("Basic {}", STANDARD.encode(format!("mailuser:{pass}"))),
            format!("x {}", percent_encode(pass.as_bytes(), true, true)),
            format!("x {}", percent_encode(pass.as_bytes(), false, false)),
        ];
        for t in &texts {
            let out = sc.scrub(t);
            assert!(out.contains("[secret]"), "{t} -> {out}");
            assert!(!out.contains(pass), "{out}");
        }
        // The secret at any offset inside a longer base64 text.
        for prefix in ["", "a", "ab", "abc", "abcd"] {
            let enc = STANDARD.encode(format!("{prefix}{pass}trailing"));
            let out = sc.scrub(&enc);
            assert!(
                out.contains("[secret]"),
                "offset {}: {enc} -> {out}",
                prefix.len()
            );
        }
        // Short values are left alone.
        assert_eq!(Scrubber::new(["abc"], &[]).scrub("abc"), "abc");
    }

    #[test]
    fn loose_mode_and_inside_vault_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("secrets");
        fs::write(&f, "A=b\n").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Secrets::load(&BTreeMap::new(), Some(&f), None).is_err());
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        let err = Secrets::load(&BTreeMap::new(), Some(&f), Some(d.path())).unwrap_err();
        assert!(err.to_string().contains("inside the vault"));
    }
}
