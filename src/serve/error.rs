//! What stops `dfab serve` before or while it serves: a bad bind, no accounts where they are
//! required, the job store, a user that cannot be added.

use std::path::PathBuf;

/// A failure of `dfab serve`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--bind` is not an `ADDR:PORT`.
    #[error("--bind {given}: not an address and port such as 127.0.0.1:8714")]
    BadBind { given: String },
    /// A non-loopback address with no accounts: anyone who reaches it could deploy.
    #[error(
        "refusing to serve on {addr} without accounts: only loopback may run in single-user mode"
    )]
    NeedsAccounts { addr: String },
    /// The port is taken, or the address is not ours.
    #[error("cannot listen on {addr}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The `SQLite` job store failed.
    #[error("the job store {}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// `--add-user` with a name that is empty or has spaces or control characters.
    #[error("--add-user {name:?}: a user name is 1-64 letters, digits, `.`, `-`, `_` or `@`")]
    BadUserName { name: String },
    /// No password, or too short a one.
    #[error("the password for {name} is too short ({len} characters; 8 or more are needed)")]
    WeakPassword { name: String, len: usize },
    /// A file of the server's (its folder, the password read from stdin).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Hashing failed (argon2's own error, as text).
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

impl crate::error::DomainError for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::BadBind { .. } => Some("for example: dfab serve --bind 127.0.0.1:8714".into()),
            Error::NeedsAccounts { .. } => Some(
                "add one first: `dfab serve --add-user NAME --role deployer`, or bind to 127.0.0.1"
                    .into(),
            ),
            Error::Listen { .. } => {
                Some("is another `dfab serve` running? pick another port with --bind".into())
            }
            Error::Store { .. } => {
                Some("remove .dfab/serve.sqlite3 to start afresh (its jobs are lost)".into())
            }
            Error::WeakPassword { .. } => {
                Some("on a terminal it is asked twice; without one it is read from stdin".into())
            }
            Error::BadUserName { .. } | Error::Hash(_) | Error::Io(_) => None,
        }
    }

    fn code(&self) -> u8 {
        match self {
            Error::BadBind { .. }
            | Error::NeedsAccounts { .. }
            | Error::BadUserName { .. }
            | Error::WeakPassword { .. } => 2,
            _ => 1,
        }
    }
}

crate::domain_error!(Error);
