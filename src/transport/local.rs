//! The local transport: commands run through `sh -c` on this machine.

use std::process::Command;

use crate::error::{Error, Result};
use crate::report::Reporter;

use super::cmd::Cmd;
use super::{process, Exit, Io, Output, Transport};

/// This machine, as a host named `localhost`.
pub struct Local {
    user: String,
}

impl Local {
    #[must_use]
    pub fn new() -> Self {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| {
                if is_root() {
                    "root".into()
                } else {
                    String::new()
                }
            });
        Local { user }
    }
}

impl Local {
    /// Run `cmd` here and capture its output whatever its exit, for the layers under dfab's
    /// top-level error (`deb`, `lxc`): a failure to start `sh`, or to wait for it, is handed
    /// back as the OS's own error (its cause kept), for the caller to wrap.
    pub fn output(&mut self, cmd: &Cmd) -> std::io::Result<Output> {
        self.exec(cmd, None).map_err(|e| match e {
            Error::Spawn { source, .. } | Error::Io(source) => source,
            // `process::run_io` fails only in those two ways.
            other => std::io::Error::other(other.to_string()),
        })
    }
}

impl Default for Local {
    fn default() -> Self {
        Local::new()
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc_geteuid() == 0 }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

impl Transport for Local {
    fn host(&self) -> &'static str {
        "localhost"
    }

    fn is_local(&self) -> bool {
        true
    }

    fn login_user(&self) -> &str {
        &self.user
    }

    fn exec_io(&mut self, cmd: &Cmd, io: Io<'_>, echo: Option<&dyn Reporter>) -> Result<Output> {
        // Logged in as root already: no sudo wrapper (a minimal host may lack sudo, and each
        // `sudo -n` costs a few milliseconds on every command of a deploy).
        let cmd = &cmd.clone().without_sudo_if_root(self.login_user());
        let mut c = Command::new("sh");
        c.arg("-c").arg(cmd.to_shell_exec());
        process::run_io(c, cmd.stdin_bytes(), io, "localhost", echo)
    }

    fn interactive(&mut self, cmd: &Cmd, tty: bool, echo: Option<&dyn Reporter>) -> Result<Exit> {
        if !tty {
            return self.exec(cmd, echo).map(|o| o.exit());
        }
        let cmd = cmd.clone().without_sudo_if_root(self.login_user());
        let mut c = Command::new("sh");
        c.arg("-c").arg(cmd.to_shell_exec());
        process::run_attached(c, "localhost")
    }
}

#[cfg(test)]
mod tests {
    use super::Local;
    use crate::error::{render, Error};
    use crate::report::Capture;
    use crate::transport::cmd::Cmd;
    use crate::transport::{Exit, Transport as _};

    #[test]
    fn exit_codes_come_back_as_codes() {
        let out = Local::new().exec(&Cmd::shell("exit 3"), None).unwrap();
        assert_eq!(
            (out.exit(), out.status, out.signal),
            (Exit::Code(3), 3, None)
        );
        // A program that exits 137 by itself is not a SIGKILL.
        let out = Local::new().exec(&Cmd::shell("exit 137"), None).unwrap();
        assert_eq!(out.exit(), Exit::Code(137));
    }

    // Regression: a signal was folded into the code 128 + n, so a command killed by the OOM
    // killer read as "exit status 137".
    #[test]
    fn a_command_killed_by_a_signal_is_reported_as_the_signal() {
        let cmd = Cmd::shell("echo before; kill -9 $$; echo after");
        let out = Local::new().exec(&cmd, None).unwrap();
        assert_eq!(out.exit(), Exit::Signal(9), "{out:?}");
        assert_eq!((out.status, out.stdout_str()), (137, "before\n".to_owned()));
        // The same as a program of its own under the local `sh -c`.
        let own = Cmd::new("sh", ["-c", "kill -9 $$"]);
        assert_eq!(
            Local::new().exec(&own, None).unwrap().exit(),
            Exit::Signal(9)
        );

        let err = Local::new()
            .run(&cmd, &Capture::default(), false)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::CommandFailed {
                    exit: Exit::Signal(9),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            render(&err)
                .starts_with("error: [localhost] command failed (killed by signal 9 (SIGKILL)): "),
            "{}",
            render(&err)
        );
    }

    #[test]
    fn warn_only_names_the_signal() {
        let rep = Capture::default();
        let out = Local::new()
            .run(&Cmd::shell("kill -TERM $$"), &rep, true)
            .unwrap();
        assert_eq!(out.exit(), Exit::Signal(15));
        let lines = rep.take();
        assert!(
            lines.iter().any(|l| l
                == "warning: [localhost] killed by signal 15 (SIGTERM) (warn_only): kill -TERM $$"),
            "{lines:#?}"
        );
    }
}
