//! Where hand-run commands (`lxc-copy`, `lxc-start`, …, as [`Cmd`] values) run: here, or on
//! `lxc_host` over ssh.

use super::error::{LxcError, Result};
use crate::transport::cmd::Cmd;
use crate::transport::local::Local;
use crate::transport::Output;

/// Where tool commands run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runner {
    /// On this machine.
    Local,
    /// On `lxc_host`, through `ssh` (non-interactive: keys or an agent must be set up), with
    /// extra `ssh` arguments (`lxc_host_ssh_options`, e.g. `-p 2222 -i key`).
    Ssh { host: String, options: Vec<String> },
}

impl Runner {
    /// `Local` without a host, else `Ssh` to it.
    #[must_use]
    pub fn for_host(host: Option<&str>, options: &[String]) -> Self {
        match host {
            None => Self::Local,
            Some(host) => Self::Ssh {
                host: host.to_owned(),
                options: options.to_vec(),
            },
        }
    }

    /// The local command that runs `cmd` here or on the remote host (its stdin included).
    #[must_use]
    pub fn command(&self, cmd: &Cmd) -> Cmd {
        match self {
            Self::Local => cmd.clone(),
            // ssh joins its arguments with spaces for the remote shell: pass one shell line.
            Self::Ssh { host, options } => {
                let mut args = vec!["-o".to_owned(), "BatchMode=yes".to_owned()];
                args.extend(options.iter().cloned());
                args.extend([host.clone(), "--".to_owned(), cmd.to_shell()]);
                let ssh = Cmd::new("ssh", args);
                match cmd.stdin_bytes() {
                    Some(bytes) => ssh.stdin(bytes),
                    None => ssh,
                }
            }
        }
    }

    /// Run `cmd` through main's local transport (`sh -c`, stdin fed from its own thread) and
    /// collect its output whatever the exit status (a signal kept as one: see [`Output::exit`]).
    pub fn output(&self, cmd: &Cmd) -> Result<Output> {
        Local::new()
            .output(&self.command(cmd))
            .map_err(|source| LxcError::Spawn {
                program: "sh".to_owned(),
                source,
            })
    }

    /// Run `cmd` and fail with its stderr unless it exits 0; returns stdout.
    pub fn run(&self, cmd: &Cmd) -> Result<String> {
        let output = self.output(cmd)?;
        let exit = output.exit();
        if exit.success() {
            Ok(output.stdout_str())
        } else {
            Err(LxcError::Tool {
                command: self.command(cmd).to_string(),
                exit,
                stderr: output.stderr_str(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Runner;
    use crate::transport::cmd::Cmd;

    #[test]
    fn ssh_runner_passes_one_quoted_line() {
        let runner = Runner::for_host(
            Some("root@lxc.example"),
            &["-p".to_owned(), "2222".to_owned()],
        );
        let cmd = Cmd::new("lxc-info", ["-n", "my app", "-sH"]);
        assert_eq!(
            runner.command(&cmd).to_string(),
            r"ssh -o BatchMode=yes -p 2222 root@lxc.example -- 'lxc-info -n '\''my app'\'' -sH'"
        );
        let fed = runner.command(&Cmd::new("cat", ["-"]).stdin("data"));
        assert_eq!(fed.stdin.as_deref(), Some(&b"data"[..]));
    }

    #[test]
    fn local_runner_feeds_stdin_and_reports_stderr_of_a_failure() {
        assert_eq!(
            Runner::Local
                .run(&Cmd::new("cat", ["-"]).stdin("fed"))
                .unwrap(),
            "fed"
        );
        let err = Runner::Local
            .run(&Cmd::shell("echo oops >&2; exit 3"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`echo oops >&2; exit 3` failed (exit status 3): oops"
        );
    }

    // Regression: the runner rebuilt a wait status from the shell's `$?`, so a tool killed by a
    // signal read as "exit status: 137".
    #[test]
    fn a_tool_killed_by_a_signal_fails_as_that_signal() {
        use crate::lxc::error::LxcError;
        use crate::transport::Exit;
        let cmd = Cmd::new("sh", ["-c", "kill -9 $$"]);
        assert_eq!(Runner::Local.output(&cmd).unwrap().exit(), Exit::Signal(9));
        let err = Runner::Local.run(&cmd).unwrap_err();
        assert!(
            matches!(
                err,
                LxcError::Tool {
                    exit: Exit::Signal(9),
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
