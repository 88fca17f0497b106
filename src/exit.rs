//! The exit-code table of SPEC.md, and the mapping from an error to its code.
//! Only the kinds that change the exit code are typed; everything else is `anyhow`.

use std::process::ExitCode;

/// How a pass ended. The numbers are the contract in SPEC.md ("Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// The pass finished (nothing to do counts).
    Ok,
    /// The pass finished, but some items or checks failed.
    Partial,
    /// Wrong usage.
    Usage,
    /// A service the command needs was unreachable; nothing was changed.
    Unavailable,
    /// Another run holds the lock; skipped, nothing was changed.
    LockBusy,
    /// Bad configuration or vault layout.
    Config,
}

impl Exit {
    /// Every exit status with its meaning, as the README's table and the man page give them.
    pub const TABLE: &[(Exit, &str)] = &[
        (Exit::Ok, "the pass finished (nothing to do counts)"),
        (
            Exit::Partial,
            "the pass finished, but some items or checks failed: they are named on stderr and in the log",
        ),
        (Exit::Usage, "wrong usage"),
        (
            Exit::Unavailable,
            "a service the command needs was unreachable, nothing was changed",
        ),
        (
            Exit::LockBusy,
            "another run holds the lock: skipped, nothing was changed",
        ),
        (Exit::Config, "bad configuration or vault layout"),
    ];

    /// The process exit status of this outcome.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Partial => 1,
            Exit::Usage => 2,
            Exit::Unavailable => 69,
            Exit::LockBusy => 75,
            Exit::Config => 78,
        }
    }

    /// Severity for combining steps: worst first is 78, 1, 69, 75, 0 (usage ranks with config).
    pub fn severity(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::LockBusy => 1,
            Exit::Unavailable => 2,
            Exit::Partial => 3,
            Exit::Usage => 4,
            Exit::Config => 5,
        }
    }

    /// The worse of two outcomes, by [`Exit::severity`].
    pub fn worst(self, other: Exit) -> Exit {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// The outcome for a raw exit status, if it is one of the table's.
    pub fn from_code(code: i32) -> Option<Exit> {
        Some(match code {
            0 => Exit::Ok,
            1 => Exit::Partial,
            2 => Exit::Usage,
            69 => Exit::Unavailable,
            75 => Exit::LockBusy,
            78 => Exit::Config,
            _ => return None,
        })
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// Errors whose kind picks the exit code.
#[derive(Debug, thiserror::Error)]
pub enum AieError {
    #[error("another run holds the lock `{0}`")]
    LockBusy(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Usage(String),
    /// Skipped until something else has run first (exit 75, like a busy lock): nothing
    /// was changed.
    #[error("{0}")]
    Deferred(String),
}

/// The exit code for an error that ended a command: the first typed error in its chain decides.
pub fn exit_for(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<AieError>() {
            return match e {
                AieError::LockBusy(_) => Exit::LockBusy,
                AieError::Config(_) => Exit::Config,
                AieError::Unavailable(_) => Exit::Unavailable,
                AieError::Usage(_) => Exit::Usage,
                AieError::Deferred(_) => Exit::LockBusy,
            };
        }
    }
    Exit::Partial
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_contract() {
        let table = [
            (Exit::Ok, 0),
            (Exit::Partial, 1),
            (Exit::Usage, 2),
            (Exit::Unavailable, 69),
            (Exit::LockBusy, 75),
            (Exit::Config, 78),
        ];
        for (exit, code) in table {
            assert_eq!(exit.code(), code);
            assert_eq!(Exit::from_code(code as i32), Some(exit));
        }
    }

    #[test]
    fn worst_orders_config_then_partial_then_unavailable_then_busy() {
        assert_eq!(Exit::Ok.worst(Exit::LockBusy), Exit::LockBusy);
        assert_eq!(Exit::LockBusy.worst(Exit::Unavailable), Exit::Unavailable);
        assert_eq!(Exit::Unavailable.worst(Exit::Partial), Exit::Partial);
        assert_eq!(Exit::Partial.worst(Exit::Config), Exit::Config);
        assert_eq!(Exit::Config.worst(Exit::Ok), Exit::Config);
    }

    #[test]
    fn typed_error_deep_in_chain_picks_code() {
        let err = anyhow::Error::new(AieError::Config("bad".into())).context("while loading");
        assert_eq!(exit_for(&err), Exit::Config);
        assert_eq!(exit_for(&anyhow::anyhow!("plain")), Exit::Partial);
    }
}
