//! The builder's local commands (pip, dpkg-buildpackage, dpkg) are dfab's [`Cmd`], run here.

pub use crate::transport::cmd::Cmd;
use crate::transport::local::Local;
use crate::transport::{Output, Transport as _};

use super::DebError;

/// Running a `Cmd` on this machine for the builder: output captured, a non-zero exit an error.
pub trait RunLocal {
    fn output(&self) -> Result<Output, DebError>;
}

impl RunLocal for Cmd {
    fn output(&self) -> Result<Output, DebError> {
        let out = Local::new()
            .exec(self, None)
            .map_err(|e| DebError::Command {
                cmd: self.to_string(),
                status: format!("could not start: {e}"),
                stderr: String::new(),
            })?;
        if out.status == 0 {
            Ok(out)
        } else {
            Err(DebError::Command {
                cmd: self.to_string(),
                status: format!("exit status: {}", out.status),
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
                .starts_with("command failed (exit status: 1): false"),
            "{err}"
        );
    }
}
