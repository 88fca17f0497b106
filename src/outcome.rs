//! What a pass did: counts, problems, a summary for people and one for scripts. Domain
//! passes fill it; the runner prints it and turns problems into exit code 1 (once each).

use crate::exit::Exit;
use serde_json::Value;
use std::collections::BTreeMap;

/// A problem found during a pass: a bad item, a failed check. Keyed so that a problem that
/// repeats pass after pass is reported once and then kept under attention.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Stable key, e.g. `item:<id>` or `file:Inbox/x.pdf`.
    pub key: String,
    pub message: String,
}

/// What a pass did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The code when no problem is found (problems raise it to 1 in the runner).
    pub exit: Option<Exit>,
    pub counts: BTreeMap<String, u64>,
    /// Short human summary for stdout.
    pub summary: String,
    /// The same, for `--json`.
    pub json: Value,
    pub problems: Vec<Problem>,
    /// Whether this pass changed the vault (idle passes do not touch the dashboard).
    pub changed: bool,
    /// Lines for the dashboard's recent activity.
    pub activity: Vec<String>,
}

impl Outcome {
    /// Adds `n` to a named count.
    pub fn count(&mut self, name: &str, n: u64) {
        *self.counts.entry(name.to_string()).or_default() += n;
    }

    /// Adds what `part` counted, found and did (a part of this pass done on another
    /// thread), after what this one holds.
    pub fn absorb(&mut self, part: Outcome) {
        for (name, n) in part.counts {
            self.count(&name, n);
        }
        self.problems.extend(part.problems);
        self.activity.extend(part.activity);
        self.changed |= part.changed;
    }

    /// Records a problem.
    pub fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// `name=n` pairs of the non-zero counts, for one-line summaries.
    pub fn counts_line(&self) -> String {
        self.counts
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
