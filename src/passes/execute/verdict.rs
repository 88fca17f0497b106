//! What happens to an item's action, decided in one place each: before it runs, from what
//! its file and the journal recorded of it ([`resume_of`]); after it ran, from its
//! executor's outcome ([`verdict_of`]). Pure: `run` does what they say.

use crate::executor::ActionOutcome;
use crate::journal::KeyState;

/// Results in an item's file that say an action ended without success: it runs again only
/// after the owner approves it again.
const FINAL_RESULTS: &[&str] = &["failed", "refused", "unknown"];

/// What to do with an action before running it, from what was recorded of it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Resume {
    /// The file says it ran (`result: ok`): on to the next action, whatever else says.
    Skip,
    /// The journal says it ran (the file was not written after): write `ok` beside it, and
    /// on to the next action.
    MarkOk,
    /// It ended without success and the owner has not approved it again: the item goes back
    /// for review with this note.
    Review(String),
    /// Its outcome is unknown: `unknown` beside it, and back for review with this note.
    /// `record`: the journal holds only its intent (a run stopped mid-action), so the
    /// unknown outcome is recorded first, in the journal and the audit log.
    Unknown { record: bool, note: String },
    /// It runs now.
    Run,
}

/// What to do with action `n` (counting from 0) of kind `kind`, whose file records
/// `recorded` as its `result` ("" for none) and whose journal key is in `journal`, in an
/// item the owner did or did not approve again in this pass (`fresh_approval`). What the
/// file says outlives the journal (a new machine, a restored vault): `ok` is done, always,
/// even when its text was edited since; an action that ended otherwise runs again only on a
/// fresh approval, and one whose outcome is unknown (or may have happened: an intent with
/// no outcome) never runs blindly.
pub(super) fn resume_of(
    recorded: &str,
    journal: &KeyState,
    fresh_approval: bool,
    n: usize,
    kind: &str,
) -> Resume {
    if recorded == "ok" {
        return Resume::Skip;
    }
    let unknown = |record| Resume::Unknown {
        record,
        note: unknown_note(n, kind, "a run stopped mid-action"),
    };
    match journal {
        // Its outcome is still unknown and no one approved it again since (a crash came
        // between recording that and sending the item back): never re-run it.
        KeyState::Finished(r) if r == "unknown" => unknown(false),
        // Crashed mid-way: it may have happened. Never retry blindly.
        KeyState::InFlight => unknown(true),
        _ if FINAL_RESULTS.contains(&recorded) && !fresh_approval => Resume::Review(format!(
            "action {} (`{kind}`) already ended with `{recorded}`: it runs again only when you approve it again",
            n + 1
        )),
        KeyState::Finished(r) if r == "ok" => Resume::MarkOk,
        _ => Resume::Run,
    }
}

/// What happens to an item after one of its actions ran live.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Then {
    /// On to its next action; after the last one the item is done (`Done/`).
    Next,
    /// The item stays in `Approved/` as it was, for the next pass.
    Wait,
    /// The item goes back to `Pending_Approval/` with this review note.
    Review(String),
}

/// What an executor's outcome means, decided in one place.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Verdict {
    /// The result the journal and the audit log record.
    pub(super) journal: &'static str,
    /// The `result` written beside the action in the item; none: the item is left as it was
    /// (a `failed` there would be final, and nothing was done).
    pub(super) result: Option<&'static str>,
    /// The count of the pass it adds one to.
    pub(super) count: &'static str,
    pub(super) then: Then,
}

/// The verdict on action `n` (counting from 0) of kind `kind` whose executor said `outcome`.
pub(super) fn verdict_of(outcome: &ActionOutcome, n: usize, kind: &str) -> Verdict {
    let (journal, result, count, then) = match outcome {
        ActionOutcome::Ok(_) => ("ok", Some("ok"), "executed", Then::Next),
        ActionOutcome::Unreachable(_) => ("failed", None, "unreachable", Then::Wait),
        ActionOutcome::Retry(_) => ("failed", None, "retry_later", Then::Wait),
        ActionOutcome::Failed(d) => (
            "failed",
            Some("failed"),
            "failed",
            Then::Review(format!("action {} (`{kind}`) failed: {d}", n + 1)),
        ),
        ActionOutcome::Unknown(d) => (
            "unknown",
            Some("unknown"),
            "unknown",
            Then::Review(unknown_note(n, kind, d)),
        ),
    };
    Verdict {
        journal,
        result,
        count,
        then,
    }
}

/// What the executor or the service said, whatever the outcome.
pub(super) fn detail_of(outcome: &ActionOutcome) -> &str {
    match outcome {
        ActionOutcome::Ok(d)
        | ActionOutcome::Retry(d)
        | ActionOutcome::Unreachable(d)
        | ActionOutcome::Failed(d)
        | ActionOutcome::Unknown(d) => d,
    }
}

/// The review note of an action whose outcome is unknown (`n` counts from 0).
pub(super) fn unknown_note(n: usize, kind: &str, why: &str) -> String {
    format!(
        "action {} (`{kind}`) may or may not have happened: {why}. Check, then move this item to Done/ if it happened, or to Approved/ to try again",
        n + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a verdict writes: in the journal, beside the action, and the count.
    fn marks(v: &Verdict) -> (&str, Option<&str>, &str) {
        (v.journal, v.result, v.count)
    }

    fn all(d: &str) -> [ActionOutcome; 5] {
        [
            ActionOutcome::Ok(d.into()),
            ActionOutcome::Retry(d.into()),
            ActionOutcome::Unreachable(d.into()),
            ActionOutcome::Failed(d.into()),
            ActionOutcome::Unknown(d.into()),
        ]
    }

    #[test]
    fn ok_is_recorded_and_the_item_goes_on_to_done() {
        let v = verdict_of(&ActionOutcome::Ok("message <a@b>".into()), 0, "send_email");
        assert_eq!(
            v,
            Verdict {
                journal: "ok",
                result: Some("ok"),
                count: "executed",
                then: Then::Next,
            }
        );
    }

    #[test]
    fn retry_and_unreachable_leave_the_item_untouched_in_approved() {
        for (o, count) in [
            (ActionOutcome::Retry("429".into()), "retry_later"),
            (ActionOutcome::Unreachable("refused".into()), "unreachable"),
        ] {
            let v = verdict_of(&o, 2, "send_email");
            assert_eq!(
                v.result, None,
                "{o:?}: nothing may be written beside the action"
            );
            assert_eq!(v.then, Then::Wait, "{o:?}");
            assert_eq!(v.count, count);
            assert_eq!(
                v.journal, "failed",
                "{o:?}: the journal says it did not happen"
            );
        }
    }

    #[test]
    fn failed_goes_back_for_review_naming_the_action_and_the_reason() {
        let failed = ActionOutcome::Failed("550 no such user".into());
        let v = verdict_of(&failed, 1, "send_email");
        assert_eq!(marks(&v), ("failed", Some("failed"), "failed"));
        assert_eq!(
            v.then,
            Then::Review("action 2 (`send_email`) failed: 550 no such user".into())
        );
    }

    #[test]
    fn unknown_goes_back_for_review_and_says_how_to_retry_or_close_it() {
        let unknown = ActionOutcome::Unknown("connection reset after DATA".into());
        let v = verdict_of(&unknown, 0, "post_x");
        assert_eq!(marks(&v), ("unknown", Some("unknown"), "unknown"));
        let Then::Review(note) = v.then else {
            panic!("an unknown outcome must go back for review: {v:?}");
        };
        assert!(
            note.starts_with(
                "action 1 (`post_x`) may or may not have happened: connection reset after DATA."
            ),
            "{note}"
        );
        assert!(
            note.contains("to Done/") && note.contains("to Approved/"),
            "{note}"
        );
    }

    #[test]
    fn only_ok_lets_the_item_go_on_and_only_ok_is_recorded_as_ok() {
        for o in all("x") {
            let v = verdict_of(&o, 0, "note");
            let ok = matches!(o, ActionOutcome::Ok(_));
            assert_eq!(v.then == Then::Next, ok, "{o:?}");
            assert_eq!(v.journal == "ok", ok, "{o:?}");
            assert_eq!(detail_of(&o), "x");
        }
    }

    fn finished(r: &str) -> KeyState {
        KeyState::Finished(r.into())
    }

    #[test]
    fn an_action_the_file_records_as_ok_never_runs_again_whatever_the_journal_says() {
        for j in [
            KeyState::New,
            KeyState::InFlight,
            finished("failed"),
            finished("unknown"),
        ] {
            for fresh in [false, true] {
                assert_eq!(
                    resume_of("ok", &j, fresh, 0, "send_email"),
                    Resume::Skip,
                    "{j:?}"
                );
            }
        }
    }

    #[test]
    fn an_action_the_journal_records_as_ok_is_marked_ok_and_skipped() {
        for (recorded, fresh) in [("", false), ("dry_run", false), ("failed", true)] {
            assert_eq!(
                resume_of(recorded, &finished("ok"), fresh, 0, "send_email"),
                Resume::MarkOk,
                "{recorded}"
            );
        }
    }

    #[test]
    fn an_action_that_ended_without_success_waits_for_a_fresh_approval() {
        for recorded in FINAL_RESULTS {
            for j in [KeyState::New, finished("failed"), finished("ok")] {
                let Resume::Review(note) = resume_of(recorded, &j, false, 1, "payment") else {
                    panic!("`{recorded}` with {j:?} must go back for review");
                };
                assert_eq!(
                    note,
                    format!(
                        "action 2 (`payment`) already ended with `{recorded}`: it runs again only when you approve it again"
                    )
                );
            }
            // Approved again in this pass: it runs again.
            for j in [KeyState::New, finished("failed")] {
                assert_eq!(resume_of(recorded, &j, true, 1, "payment"), Resume::Run);
            }
        }
    }

    #[test]
    fn an_unknown_or_interrupted_action_never_runs_blindly_even_when_approved_again() {
        for recorded in ["", "dry_run", "failed", "unknown"] {
            for fresh in [false, true] {
                let want = |record| Resume::Unknown {
                    record,
                    note: unknown_note(0, "send_email", "a run stopped mid-action"),
                };
                // The journal already says unknown: nothing more to record.
                assert_eq!(
                    resume_of(recorded, &finished("unknown"), fresh, 0, "send_email"),
                    want(false)
                );
                // An intent with no outcome: recorded as unknown first.
                assert_eq!(
                    resume_of(recorded, &KeyState::InFlight, fresh, 0, "send_email"),
                    want(true)
                );
            }
        }
    }

    #[test]
    fn a_new_action_or_one_that_may_be_retried_runs() {
        for (recorded, j) in [
            ("", KeyState::New),
            ("dry_run", KeyState::New),
            ("", finished("failed")),
            ("dry_run", finished("failed")),
        ] {
            for fresh in [false, true] {
                assert_eq!(resume_of(recorded, &j, fresh, 0, "note"), Resume::Run);
            }
        }
    }
}
