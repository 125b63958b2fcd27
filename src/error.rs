//! Errors of every domain, each with its exit code and hint, rendered in exactly one place.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::environments::value::Pos;
use crate::transport::exit::Exit;

/// Every way dfab can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input in a configuration file: names the file, position and key.
    #[error("{}: {message}", location(file, *pos, key.as_deref()))]
    Config {
        file: PathBuf,
        pos: Option<Pos>,
        key: Option<String>,
        message: String,
        hint: Option<String>,
    },
    /// Bad command-line usage (unknown env or task, bad argument syntax).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A remote or local command exited non-zero, or was killed by a signal.
    #[error("[{host}] command failed ({exit}): {cmd}")]
    CommandFailed {
        host: String,
        cmd: String,
        exit: Exit,
        stderr: String,
        hint: Option<String>,
    },
    /// A command run for a person (`manage`) ended other than 0: dfab exits with its status
    /// (a signal as 128 + n), as `ssh host cmd` would; its output was shown as it came.
    #[error("[{host}] {cmd}: {exit}")]
    Exited {
        host: String,
        cmd: String,
        exit: Exit,
    },
    /// Could not reach or talk to a host.
    #[error("[{host}] {message}")]
    Transport {
        host: String,
        message: String,
        hint: Option<String>,
    },
    /// A program could not be started at all; `source` is the OS's reason.
    #[error("[{host}] cannot start `{program}`")]
    Spawn {
        host: String,
        program: String,
        #[source]
        source: std::io::Error,
        hint: Option<String>,
    },
    /// A file operation on a path dfab chose (a temp file, a rename into place) failed;
    /// `source` is the OS's reason.
    #[error("cannot {action} {}", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
        hint: Option<String>,
    },
    /// Another holder has the package's deploy lock on a host.
    #[error("[{host}] the deploy lock of {package} is held by {holder}")]
    LockHeld {
        host: String,
        package: String,
        holder: String,
    },
    /// Some hosts of a run failed; each was reported in the run's summary.
    #[error("{failed} of {total} hosts failed")]
    HostsFailed { failed: usize, total: usize },
    /// Anything else, with a hint.
    #[error("{message}")]
    Other {
        message: String,
        hint: Option<String>,
    },
    /// A domain's own failure (`deploy`, `pipeline`, `database`, `media`): its text, causes
    /// and hint are its own; it is wrapped here by its `From`, so this room imports no domain.
    #[error("{0}")]
    Domain(Box<dyn DomainError>),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Where in a configuration file: `file:line:col`, then the key if given. A position with no
/// line (a value `--python` evaluated, or one made by dfab) is left out.
pub(crate) fn location(file: &std::path::Path, pos: Option<Pos>, key: Option<&str>) -> String {
    let mut s = file.display().to_string();
    if let Some(p) = pos.filter(|p| p.line > 0) {
        let _ = write!(s, ":{p}");
    }
    if let Some(k) = key {
        let _ = write!(s, ": key `{k}`");
    }
    s
}

impl Error {
    /// Shorthand for a usage error.
    pub fn usage(message: impl Into<String>, hint: Option<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint,
        }
    }

    /// Shorthand for any other error.
    pub fn other(message: impl Into<String>, hint: Option<String>) -> Self {
        Error::Other {
            message: message.into(),
            hint,
        }
    }

    /// The process exit code: 2 for bad input (nothing was run), 1 for failures while running.
    #[must_use]
    pub fn code(&self) -> u8 {
        match self {
            Error::Config { .. } | Error::Usage { .. } => 2,
            Error::Domain(e) => e.code(),
            Error::Exited { exit, .. } => u8::try_from(exit.shell_status())
                .ok()
                .filter(|c| *c != 0)
                .unwrap_or(1),
            _ => 1,
        }
    }

    /// The failure is known to have changed nothing on its host (see
    /// [`DomainError::left_host_unchanged`]); another deploy holding the lock changed nothing
    /// of ours either. Anything else may have changed something.
    #[must_use]
    pub fn left_host_unchanged(&self) -> bool {
        match self {
            Error::Domain(e) => e.left_host_unchanged(),
            Error::LockHeld { .. } => true,
            _ => false,
        }
    }

    /// A suggestion for the user, if we have one.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config { hint, .. }
            | Error::Usage { hint, .. }
            | Error::CommandFailed { hint, .. }
            | Error::Transport { hint, .. }
            | Error::Spawn { hint, .. }
            | Error::File { hint, .. }
            | Error::Other { hint, .. } => hint.clone(),
            Error::Domain(e) => e.hint(),
            Error::LockHeld { .. } => Some(
                "only its holder releases it; `lock:release,force=yes` breaks it after \
                 confirmation"
                    .into(),
            ),
            Error::HostsFailed { .. } => {
                Some("each host's outcome and error is in the summary above".into())
            }
            Error::Io(_) | Error::Exited { .. } => None,
        }
    }
}

/// The one place errors become text: the message, each source, stderr of a failed command, a hint.
#[must_use]
pub fn render(err: &Error) -> String {
    let mut out = format!("error: {}", describe(err));
    if let Some(h) = err.hint() {
        let _ = writeln!(out, "hint: {h}");
    }
    out
}

/// An error as the cause inside another's message: [`render`]'s text without its `error: `
/// and its hint (the outer error shows the hint itself).
#[must_use]
pub fn describe(err: &Error) -> String {
    let mut out = format!("{err}\n");
    let mut source = match err {
        Error::Domain(d) => d.source(),
        _ => std::error::Error::source(err),
    };
    while let Some(s) = source {
        let _ = writeln!(out, "  caused by: {s}");
        source = s.source();
    }
    if let Error::CommandFailed { stderr, .. } = err {
        let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
        for line in tail.iter().rev() {
            let _ = writeln!(out, "  | {line}");
        }
    }
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of a domain room, wrapped as [`Error::Domain`]: a typed enum with its context as
/// fields (its `source()` the cause), and the hint that goes with it (uv's `Hint` trait).
pub trait DomainError: std::error::Error + Send + Sync + 'static {
    /// A suggestion for the user, if there is one.
    fn hint(&self) -> Option<String>;
    /// The process exit code: 2 for bad input found before anything changed, else 1.
    fn code(&self) -> u8 {
        1
    }
    /// The failure is known to have left its host as it was (judged by the host's state, as
    /// dpkg's before and after an install); `false` when it changed something or nobody knows.
    fn left_host_unchanged(&self) -> bool {
        false
    }
}

/// `impl From<$ty> for Error` for domain errors, boxed (an `Error` stays small where it is
/// returned); the domain room writes the line, so `error.rs` imports none of them.
#[macro_export]
macro_rules! domain_error {
    ($ty:ty) => {
        impl From<$ty> for $crate::error::Error {
            fn from(e: $ty) -> Self {
                $crate::error::Error::Domain(Box::new(e))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::{render, Error};
    use crate::transport::Exit;

    #[test]
    fn a_failed_command_renders_its_exit_the_tail_of_stderr_and_the_hint() {
        let e = Error::CommandFailed {
            host: "web1".into(),
            cmd: "dpkg -i app.deb".into(),
            exit: Exit::Code(1),
            stderr: "line 1\nline 2\n".into(),
            hint: Some("look at dpkg".into()),
        };
        assert_eq!(e.code(), 1);
        assert_eq!(
            render(&e),
            "error: [web1] command failed (exit status 1): dpkg -i app.deb\n  | line 1\n  | line 2\n\
             hint: look at dpkg\n"
        );
        let e = Error::CommandFailed {
            host: "web1".into(),
            cmd: "migrate".into(),
            exit: Exit::Signal(15),
            stderr: String::new(),
            hint: None,
        };
        assert_eq!(
            render(&e),
            "error: [web1] command failed (killed by signal 15 (SIGTERM)): migrate\n"
        );
    }

    #[test]
    fn a_held_lock_names_the_host_package_and_holder_and_says_who_releases_it() {
        let e = Error::LockHeld {
            host: "web1".into(),
            package: "djdemo".into(),
            holder: "ann@laptop (hotfix, since 2026-12-07 10:00)".into(),
        };
        assert_eq!(e.code(), 1);
        assert_eq!(
            render(&e),
            "error: [web1] the deploy lock of djdemo is held by ann@laptop (hotfix, since \
             2026-12-07 10:00)\nhint: only its holder releases it; `lock:release,force=yes` \
             breaks it after confirmation\n"
        );
    }

    #[test]
    fn render_walks_the_sources() {
        let inner = fs_err::canonicalize("/nonexistent/dfab-test").unwrap_err();
        let e = Error::File {
            action: "resolve the directory of",
            path: "/nonexistent/dfab-test/environments.py".into(),
            source: inner,
            hint: Some("run dfab from an existing directory".into()),
        };
        assert_eq!(e.code(), 1);
        // The source (fs-err's, which names the path and the OS's reason) on its own line.
        assert_eq!(
            render(&e),
            "error: cannot resolve the directory of /nonexistent/dfab-test/environments.py\n  \
             caused by: failed to canonicalize path `/nonexistent/dfab-test`: \
             No such file or directory (os error 2)\n\
             hint: run dfab from an existing directory\n"
        );
    }
}
