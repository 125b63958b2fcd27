//! Typed errors of the `.deb` builder, each carrying the file (and line) it is about.

use std::path::PathBuf;

use crate::transport::Exit;

/// Everything that can go wrong while building a package.
#[derive(Debug, thiserror::Error)]
pub enum DebError {
    /// A problem with an input file, at a known line (1-based; 0 when the whole file is at fault).
    #[error("{}:{line}: {message}", file.display())]
    Input {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// A file the build needs does not exist.
    #[error("{}: missing (needed to build the package)", path.display())]
    Missing { path: PathBuf },
    /// Reading or writing a file failed; `fs-err` puts the path in the message.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An external command exited non-zero or was killed by a signal.
    #[error("command failed ({exit}): {cmd}{}", stderr_suffix(.stderr))]
    Command {
        cmd: String,
        exit: Exit,
        stderr: String,
    },
    /// An external command could not be started at all; `source` is the OS's reason.
    #[error("cannot start: {cmd}")]
    Spawn {
        cmd: String,
        #[source]
        source: std::io::Error,
    },
    /// An input file changed while the build read it, so what was hashed or packed is not what
    /// is there now.
    #[error("{}: changed while {during}; build again", path.display())]
    Changed { path: PathBuf, during: &'static str },
    /// The manifest of built files could not be encoded or decoded.
    #[error("{}: {source}", path.display())]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The project needs dpkg-buildpackage, which cannot run here.
    #[error("dfab does not reproduce {reason}, and dpkg-buildpackage cannot build it")]
    Unsupported { reason: String, hint: String },
    /// Found while planning: only dpkg-buildpackage builds this package right (never returned by
    /// [`crate::deb::build`], which falls back instead).
    #[error("dfab does not reproduce {0}")]
    Fallback(String),
    /// A problem with the options given, such as an unknown compression name.
    #[error("{0}")]
    Options(String),
}

impl DebError {
    /// An input error at `file:line`.
    pub(crate) fn at(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Self::Input {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
}

fn stderr_suffix(stderr: &str) -> String {
    let tail: Vec<&str> = stderr.trim_end().lines().rev().take(20).collect();
    if tail.is_empty() {
        String::new()
    } else {
        let lines: Vec<&str> = tail.into_iter().rev().collect();
        format!("\n{}", lines.join("\n"))
    }
}

/// Into dfab's one error type: input problems are bad input (exit 2, nothing written), the rest
/// failures while running.
impl From<DebError> for crate::error::Error {
    fn from(e: DebError) -> Self {
        use crate::environments::value::Pos;
        match e {
            DebError::Input {
                file,
                line,
                message,
            } => Self::Config {
                file,
                pos: (line > 0).then(|| Pos {
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    col: 1,
                }),
                key: None,
                message,
                hint: Some("fix the packaging input; nothing was written to package_dir".into()),
            },
            DebError::Missing { path } => Self::Config {
                file: path,
                pos: None,
                key: None,
                message: "missing (needed to build the package)".into(),
                hint: Some(
                    "deb.build reads the project's debian/ directory (see README: deb.build)"
                        .into(),
                ),
            },
            DebError::Options(message) => Self::Usage {
                message,
                hint: None,
            },
            DebError::Command { cmd, exit, stderr } => Self::CommandFailed {
                host: "localhost".into(),
                cmd,
                exit,
                stderr,
                hint: None,
            },
            DebError::Spawn { cmd, source } => Self::Spawn {
                host: "localhost".into(),
                program: cmd,
                source,
                hint: None,
            },
            DebError::Unsupported { reason, hint } => Self::Other {
                message: format!(
                    "dfab does not reproduce {reason}, and dpkg-buildpackage cannot build it"
                ),
                hint: Some(hint),
            },
            DebError::Fallback(reason) => Self::Other {
                message: format!("dfab does not reproduce {reason}"),
                hint: None,
            },
            DebError::Io(io) => Self::Io(io),
            m @ (DebError::Manifest { .. } | DebError::Changed { .. }) => Self::Other {
                message: m.to_string(),
                hint: None,
            },
        }
    }
}
