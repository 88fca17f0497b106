//! Safe names for attachments written into the vault, and their content types.

/// Longest file name [`safe_component`] keeps, in characters and in bytes.
const NAME_MAX_CHARS: usize = 120;

const NAME_MAX_BYTES: usize = 200;

/// The final component of a name, without separators, leading dots, control characters or
/// the invisible characters that change how a name reads (a right-to-left override makes
/// `invoice\u{202E}fdp.exe` show as `invoiceexe.pdf`). A name too long is cut in its stem:
/// the extension stays.
pub fn safe_component(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string();
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && !e.is_empty() && e.chars().count() <= 16 => {
            (s.to_string(), format!(".{e}"))
        }
        _ => (cleaned.clone(), String::new()),
    };
    let mut out = String::new();
    for c in stem.chars() {
        if out.chars().count() + 1 + ext.chars().count() > NAME_MAX_CHARS
            || out.len() + c.len_utf8() + ext.len() > NAME_MAX_BYTES
        {
            break;
        }
        out.push(c);
    }
    let out = format!("{}{ext}", out.trim_end());
    if out.is_empty() || out == ext {
        if ext.is_empty() {
            "attachment".into()
        } else {
            format!("attachment{ext}")
        }
    } else {
        out
    }
}

/// Unicode format characters that reorder or hide text: bidirectional overrides, embeddings
/// and isolates, zero-width characters, and the byte order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

/// A content type by extension, for attachments.
pub fn content_type_of(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "txt" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        assert_eq!(safe_component("../../etc/passwd"), "passwd");
        assert_eq!(safe_component("..\\..\\win.ini"), "win.ini");
        assert_eq!(safe_component(".."), "attachment");
        assert_eq!(safe_component(".hidden"), "hidden");
        // Finding 14: a right-to-left override stayed in the name, and the 120-character cut
        // dropped the extension.
        assert_eq!(safe_component("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(safe_component("a\u{200B}b\u{2066}c.pdf"), "abc.pdf");
        let long = format!("{}.pdf", "x".repeat(300));
        let cut = safe_component(&long);
        assert!(cut.ends_with(".pdf") && cut.chars().count() == 120, "{cut}");
        let wide = format!("{}.docx", "é".repeat(150));
        let cut = safe_component(&wide);
        assert!(cut.ends_with(".docx") && cut.len() <= 200, "{cut}");
    }
}
