//! What an executor's outcome means for the item, decided in one place.

use crate::executor::ActionOutcome;

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
}
