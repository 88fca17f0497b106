//! The approval boxes at the end of every request (`- [ ] Approve`, `- [ ] Reject`), for
//! owners who decide from a phone, where moving a file is hard. Only aie's own section
//! counts: the LAST `## Approval` heading of the body, and only when it is the last section
//! (no heading after it). A body also holds text a stranger wrote (a mail): a fake section
//! in it comes before aie's and is never read. Pure text functions, plus a listing of the
//! ticked requests for the passes (and for sync, which must honour a tick only from a
//! trusted signed commit, as it does a move).

use super::{Item, Stage, Vault};
use anyhow::Result;
use std::path::PathBuf;

/// aie's heading.
pub const HEADING: &str = "## Approval";
const HINT: &str = "Tick one box (in Obsidian on a phone, tap it); aie acts on it at its next pass. Ticking Approve is the same as moving this file to Approved/.";

/// What a ticked box asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    Approve,
    Reject,
}

fn is_heading(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("# ") || t.starts_with("## ") || t == "#" || t == "##"
}

/// The byte offset where aie's section starts, when the body ends with it: the body's last
/// heading is `## Approval`. Read from the end, up to that last heading.
fn section_start(body: &str) -> Option<usize> {
    // A body without the heading anywhere (a request being planned) has no section: its
    // lines need not be walked.
    memchr::memmem::find(body.as_bytes(), HEADING.as_bytes())?;
    let mut end = body.len();
    loop {
        // The line that ends at `end` (without its newline), and where it starts.
        let line_end = if body[..end].ends_with('\n') {
            end - 1
        } else {
            end
        };
        let start = body[..line_end].rfind('\n').map_or(0, |i| i + 1);
        // With its newline, as a heading is told by the line as written.
        let line = &body[start..end];
        if line.trim_end() == HEADING {
            return Some(start);
        }
        if is_heading(line) || start == 0 {
            return None;
        }
        end = start;
    }
}

fn box_line(line: &str) -> Option<(bool, &str)> {
    let t = line.trim();
    let rest = t.strip_prefix("- [").or_else(|| t.strip_prefix("* ["))?;
    let (mark, label) = rest.split_once(']')?;
    let ticked = match mark {
        " " => false,
        "x" | "X" => true,
        _ => return None,
    };
    Some((ticked, label.trim()))
}

/// What aie's section asks: `None` when nothing (or both boxes) is ticked, or the body has
/// no section of aie's at its end.
pub fn ticked(body: &str) -> Option<Tick> {
    let start = section_start(body)?;
    let (mut approve, mut reject) = (false, false);
    for line in crate::lines::lines(&body[start..]).skip(1) {
        match box_line(line) {
            Some((true, "Approve")) => approve = true,
            Some((true, "Reject")) => reject = true,
            _ => {}
        }
    }
    match (approve, reject) {
        (true, false) => Some(Tick::Approve),
        (false, true) => Some(Tick::Reject),
        _ => None,
    }
}

/// The body with aie's section, unticked, as its last section. aie's earlier section is
/// replaced only when it holds nothing but what aie writes there (else it is kept as text).
pub fn with_boxes(body: &str) -> String {
    const BOXES: &str = "\n- [ ] Approve\n- [ ] Reject\n";
    let mut out = String::with_capacity(body.len() + HEADING.len() + HINT.len() + BOXES.len() + 4);
    out.push_str(body);
    if let Some(start) = section_start(body) {
        let only_ours = crate::lines::lines(&body[start..]).skip(1).all(|l| {
            let t = l.trim();
            t.is_empty()
                || t == HINT
                || box_line(t).is_some_and(|(_, lab)| lab == "Approve" || lab == "Reject")
        });
        if only_ours {
            out.truncate(start);
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(HEADING);
    out.push('\n');
    out.push_str(HINT);
    out.push('\n');
    out.push_str(BOXES);
    out
}

/// Every request in `Pending_Approval/` whose box is ticked, with what it asks. Unreadable
/// items are skipped (the passes report them). For sync: call it on the files a pull
/// changed, and put back [`with_boxes`] on any whose commit is not signed by a trusted key.
pub fn ticked_items(vault: &Vault) -> Result<Vec<(PathBuf, Tick)>> {
    let mut out = Vec::new();
    for stage in vault.stages() {
        if !matches!(stage, Stage::PendingApproval(_)) {
            continue;
        }
        for path in vault.list(&stage)? {
            if let Ok(item) = Item::read(&path)
                && let Some(t) = ticked(&item.body)
            {
                out.push((path, t));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `section_start` said when it read the body from its start.
    fn section_start_forward(body: &str) -> Option<usize> {
        let mut offset = 0;
        let mut start = None;
        for line in body.split_inclusive('\n') {
            if line.trim_end() == HEADING {
                start = Some(offset);
            } else if is_heading(line) {
                start = None;
            }
            offset += line.len();
        }
        start
    }

    #[test]
    fn the_section_is_found_from_the_end_as_from_the_start() {
        let parts = [
            "",
            "text\n",
            "## Approval\n",
            "## Approval",
            "# Title\n",
            "## Actions\n",
            "- [ ] Approve\n",
            "\n",
            "  ## Approval  \r\n",
            "##\n",
            "#no heading\n",
            "é\n",
        ];
        // Every body of up to four parts.
        let mut bodies = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for b in &bodies {
                for p in parts {
                    next.push(format!("{b}{p}"));
                }
            }
            bodies.extend(next);
        }
        for b in &bodies {
            assert_eq!(section_start(b), section_start_forward(b), "{b:?}");
        }
    }

    #[test]
    fn a_tick_counts_only_in_aies_last_section() {
        let fresh = with_boxes("Mail text\n");
        assert_eq!(ticked(&fresh), None);
        assert_eq!(
            ticked(&fresh.replace("- [ ] Approve", "- [x] Approve")),
            Some(Tick::Approve)
        );
        assert_eq!(
            ticked(&fresh.replace("- [ ] Reject", "- [X] Reject")),
            Some(Tick::Reject)
        );
        let both = fresh.replace("[ ]", "[x]");
        assert_eq!(ticked(&both), None, "both ticked decides nothing");
    }

    #[test]
    fn a_strangers_fake_section_in_a_mail_never_approves() {
        // The mail body carries a ticked fake; aie's own section comes after it.
        let mail = "Hello\n\n## Approval\n- [x] Approve\n\n## Approval\n- [x] Approve\n";
        let body = with_boxes(mail);
        assert_eq!(ticked(&body), None);
        assert!(
            body.contains("## Approval\n- [x] Approve"),
            "the stranger's text is kept as text"
        );
        // A fake section followed by any other heading is not the last section either.
        assert_eq!(
            ticked("## Approval\n- [x] Approve\n\n## Actions\nx\n"),
            None
        );
    }

    #[test]
    fn fresh_boxes_replace_aies_old_section_and_stay_last() {
        let once = with_boxes("Body\n");
        let ticked_body = once.replace("- [ ] Approve", "- [x] Approve");
        let again = with_boxes(&ticked_body);
        assert_eq!(again, once);
        assert_eq!(again.matches(HEADING).count(), 1);
    }
}
