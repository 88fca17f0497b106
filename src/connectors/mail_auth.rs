//! Whether a received message's sender is who its From says: the verdict of the receiving
//! server (Gmail: `mx.google.com`) in the topmost `Authentication-Results` header (RFC 8601),
//! with DKIM, SPF or DMARC passed for the From domain. Only the topmost header counts, and
//! only when the receiving server wrote it (its authserv-id): a sender can write any header
//! below it, or in the body, or in an attached message. Pure functions: no files, no network.

use super::mime::MailMessage;

/// Whether `mail`'s From address is authenticated by the server named `authserv_id`: its
/// topmost `Authentication-Results` has that authserv-id and says `dkim=pass` (signing
/// domain aligned with the From domain), `spf=pass` (envelope sender's domain aligned) or
/// `dmarc=pass` for the From domain. A message with no sender, several From addresses or no
/// such header is not authenticated.
pub fn sender_authenticated(mail: &MailMessage, authserv_id: &str) -> bool {
    let (Some(sender), Some(results)) = (&mail.sender, &mail.auth_results) else {
        return false;
    };
    let Some((_, from_domain)) = sender.rsplit_once('@') else {
        return false;
    };
    let authserv_id = authserv_id.trim();
    !authserv_id.is_empty() && passes_for(results, authserv_id, from_domain)
}

/// Whether one `Authentication-Results` value, written by `authserv_id`, passes a method
/// aligned with `from_domain`.
fn passes_for(value: &str, authserv_id: &str, from_domain: &str) -> bool {
    let text = without_comments(value);
    let mut parts = text.split(';');
    let Some(id) = parts.next().and_then(|p| p.split_whitespace().next()) else {
        return false;
    };
    if !id.eq_ignore_ascii_case(authserv_id) {
        return false;
    }
    parts.any(|res| {
        let mut words = res.split_whitespace();
        let Some((method, result)) = words.next().and_then(|w| w.split_once('=')) else {
            return false;
        };
        if !result.eq_ignore_ascii_case("pass") {
            return false;
        }
        let props: Vec<(String, String)> = words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.trim_matches('"').to_ascii_lowercase(),
                )
            })
            .collect();
        let prop = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| props.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
        };
        let domain = match method.to_ascii_lowercase().as_str() {
            "dkim" => prop(&["header.d", "header.i"]),
            "spf" => prop(&["smtp.mailfrom"]),
            "dmarc" => prop(&["header.from"]),
            _ => None,
        };
        domain.is_some_and(|d| {
            let d = d.rsplit_once('@').map_or(d.as_str(), |(_, d)| d);
            aligned(d, from_domain)
        })
    })
}

/// Relaxed alignment, conservatively: the From domain is the authenticated domain or one of
/// its subdomains (a signature of `mail.trusted.org` never vouches for `trusted.org`).
fn aligned(authenticated: &str, from_domain: &str) -> bool {
    let a = authenticated.trim().trim_end_matches('.');
    let f = from_domain.trim().trim_end_matches('.');
    !a.is_empty() && a.contains('.') && (f == a || f.ends_with(&format!(".{a}")))
}

/// The text without RFC 5322 comments (nested parentheses), quoted strings kept.
fn without_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::mime::parse_message;

    const GMAIL_PASS: &str = "Authentication-Results: mx.google.com;\r\n       dkim=pass header.i=@trusted.org header.s=s1 header.b=AbC;\r\n       spf=pass (google.com: domain of x@trusted.org designates 192.0.2.1 as permitted sender) smtp.mailfrom=x@trusted.org;\r\n       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=trusted.org\r\n";

    fn mail(headers: &str, from: &str) -> MailMessage {
        let raw = format!(
            "Delivered-To: sam@owner.example\r\n{headers}From: {from}\r\nSubject: s\r\n\r\nbody\r\n"
        );
        parse_message(raw.as_bytes()).unwrap()
    }

    #[test]
    fn gmail_pass_aligned_with_the_from_domain_authenticates() {
        let m = mail(GMAIL_PASS, "X <x@trusted.org>");
        assert!(sender_authenticated(&m, "mx.google.com"));
        assert!(sender_authenticated(&m, "MX.Google.com"));
        // Another receiving server's name: the header is not ours to trust.
        assert!(!sender_authenticated(&m, "mx.example.net"));
        assert!(!sender_authenticated(&m, ""));
        // A subdomain of the signer is aligned; a parent of it is not.
        let sub = mail(GMAIL_PASS, "x@mail.trusted.org");
        assert!(sender_authenticated(&sub, "mx.google.com"));
        let only_sub =
            "Authentication-Results: mx.google.com; dkim=pass header.d=mail.trusted.org\r\n";
        assert!(!sender_authenticated(
            &mail(only_sub, "x@trusted.org"),
            "mx.google.com"
        ));
        let spf =
            "Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=bounce@trusted.org\r\n";
        assert!(sender_authenticated(
            &mail(spf, "x@trusted.org"),
            "mx.google.com"
        ));
    }

    // Issue 8, finding 7: a From that only looks like a contact's was treated as theirs.
    #[test]
    fn forged_or_unaligned_results_do_not_authenticate() {
        // The display-name trick: the address is x@trusted.org, evil.com passed.
        let unaligned = "Authentication-Results: mx.google.com; dkim=pass header.i=@evil.com; spf=pass smtp.mailfrom=eve@evil.com; dmarc=fail header.from=trusted.org\r\n";
        let m = mail(unaligned, "\"eve@evil.com\" <x@trusted.org>");
        assert_eq!(m.sender.as_deref(), Some("x@trusted.org"));
        assert!(!sender_authenticated(&m, "mx.google.com"));
        // A pass the sender wrote lower in the headers, under Gmail's own failing verdict.
        let forged_lower = format!(
            "Authentication-Results: mx.google.com; dkim=none; spf=softfail smtp.mailfrom=eve@evil.com\r\nReceived: by 10.0.0.1\r\n{GMAIL_PASS}"
        );
        assert!(!sender_authenticated(
            &mail(&forged_lower, "x@trusted.org"),
            "mx.google.com"
        ));
        // A topmost header from another server.
        let other = GMAIL_PASS.replace("mx.google.com", "mx.evil.com");
        assert!(!sender_authenticated(
            &mail(&other, "x@trusted.org"),
            "mx.google.com"
        ));
        // A pass inside a comment, or for another method, is not a pass.
        let comment = "Authentication-Results: mx.google.com; dkim=fail (dkim=pass header.d=trusted.org) header.d=trusted.org; x-foo=pass header.d=trusted.org\r\n";
        assert!(!sender_authenticated(
            &mail(comment, "x@trusted.org"),
            "mx.google.com"
        ));
        // No header, or several From addresses.
        assert!(!sender_authenticated(
            &mail("", "x@trusted.org"),
            "mx.google.com"
        ));
        let two = mail(GMAIL_PASS, "x@trusted.org, eve@evil.com");
        assert!(!sender_authenticated(&two, "mx.google.com"));
        // Headers in the body are text, not headers.
        let raw = format!(
            "Authentication-Results: mx.google.com; dkim=none\r\nFrom: x@trusted.org\r\n\r\n{GMAIL_PASS}"
        );
        let m = parse_message(raw.as_bytes()).unwrap();
        assert!(!sender_authenticated(&m, "mx.google.com"));
    }
}
