//! The local transport: commands run through `sh -c` on this machine.

use std::process::Command;

use crate::error::Result;
use crate::report::Reporter;

use super::cmd::Cmd;
use super::{process, Io, Output, Transport};

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
        c.arg("-c").arg(cmd.to_shell());
        process::run_io(c, cmd.stdin_bytes(), io, "localhost", echo)
    }
}
