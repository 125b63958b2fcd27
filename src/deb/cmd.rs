//! The builder's local commands (pip, dpkg-buildpackage, dpkg) are dfab's [`Cmd`], run here.

pub use crate::transport::cmd::Cmd;
use crate::transport::local::Local;
use crate::transport::Output;

use super::DebError;

/// Running a `Cmd` on this machine for the builder: output captured, a non-zero exit an error.
pub trait RunLocal {
    fn output(&self) -> Result<Output, DebError>;
}

impl RunLocal for Cmd {
    fn output(&self) -> Result<Output, DebError> {
        let out = Local::new()
            .output(self)
            .map_err(|source| DebError::Spawn {
                cmd: self.to_string(),
                source,
            })?;
        let exit = out.exit();
        if exit.success() {
            Ok(out)
        } else {
            Err(DebError::Command {
                cmd: self.to_string(),
                exit,
                stderr: out.stderr_str(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_locally_and_reports_failure() {
        let out = Cmd::new("sh", ["-c", "echo 'hi' there"])
            .cwd("/tmp")
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"hi there\n");
        let err = Cmd::of("false").output().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("command failed (exit status 1): false"),
            "{err}"
        );
    }

    // Regression: the runner recorded a failed command's status as text ("exit status: 137"),
    // parsed back into a number further up, so a signal read as a code.
    #[test]
    fn a_command_killed_by_a_signal_fails_as_that_signal() {
        use crate::transport::Exit;
        let err = Cmd::new("sh", ["-c", "echo dying >&2; kill -9 $$"])
            .output()
            .unwrap_err();
        let DebError::Command { exit, stderr, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!((*exit, stderr.as_str()), (Exit::Signal(9), "dying\n"));
        assert_eq!(
            err.to_string(),
            "command failed (killed by signal 9 (SIGKILL)): sh -c 'echo dying >&2; kill -9 $$'\n\
             dying"
        );
        let top = crate::error::Error::from(err);
        assert!(
            matches!(
                top,
                crate::error::Error::CommandFailed {
                    exit: Exit::Signal(9),
                    ..
                }
            ),
            "{top:?}"
        );
        assert_eq!(
            crate::error::render(&top),
            "error: [localhost] command failed (killed by signal 9 (SIGKILL)): \
             sh -c 'echo dying >&2; kill -9 $$'\n  | dying\n"
        );
    }

    #[test]
    fn a_command_that_cannot_start_keeps_the_reason() {
        // Only a missing `sh` (or no room for a process) fails a start here: built by hand.
        let err = DebError::Spawn {
            cmd: "dpkg-deb --build x".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(err.to_string(), "cannot start: dpkg-deb --build x");
        assert_eq!(
            std::error::Error::source(&err).map(ToString::to_string),
            Some("entity not found".to_owned())
        );
        let top = crate::error::Error::from(err);
        assert_eq!(
            crate::error::render(&top),
            "error: [localhost] cannot start `dpkg-deb --build x`\n  caused by: entity not found\n"
        );
    }
}
