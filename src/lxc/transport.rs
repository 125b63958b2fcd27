//! `lxc_transport = 'attach'`: main's [`Transport`] over [`Attach`], so tasks reach a container
//! with no sshd and no address.

use super::attach::{Attach, Input};
use super::spec::LxcSpec;
use crate::error::Result;
use crate::report::{Reporter, Stream};
use crate::transport::cmd::Cmd;
use crate::transport::{Io, Output, Transport};

/// One container, reached by attach, commands running as root. `put` and `get` are the trait's
/// own (atomic, checksummed), carried by `exec`.
#[derive(Debug)]
pub struct AttachTransport {
    attach: Attach,
    host: String,
}

impl AttachTransport {
    /// Attach to `spec`'s container (liblxc locally, `lxc-attach` over ssh for `lxc_host`).
    pub fn new(spec: &LxcSpec) -> Result<Self> {
        Ok(Self {
            attach: Attach::new(spec)?,
            host: spec.name.clone(),
        })
    }

    /// The same transport, labelled `label` in output and errors.
    #[must_use]
    pub fn labelled(mut self, label: &str) -> Self {
        label.clone_into(&mut self.host);
        self
    }

    /// From an [`Attach`] made some other way, labelled `host`.
    #[must_use]
    pub fn from_attach(attach: Attach, host: &str) -> Self {
        Self {
            attach,
            host: host.to_owned(),
        }
    }
}

impl Transport for AttachTransport {
    fn host(&self) -> &str {
        &self.host
    }

    fn login_user(&self) -> &'static str {
        "root"
    }

    fn exec_io(&mut self, cmd: &Cmd, io: Io<'_>, echo: Option<&dyn Reporter>) -> Result<Output> {
        // Logged in as root already: no sudo wrapper (a minimal host may lack sudo, and each
        // `sudo -n` costs a few milliseconds on every command of a deploy).
        let cmd = &cmd.clone().without_sudo_if_root(self.login_user());
        let script = cmd.to_shell_exec();
        let stdin = cmd.stdin_bytes();
        let input = match io.stdin {
            Some(reader) => Input::Reader(stdin.as_deref(), reader),
            None => stdin.as_deref().map_or(Input::Null, Input::Bytes),
        };
        let host = self.host.as_str();
        let sink = |stream: Stream, line: &str| {
            if let Some(rep) = echo {
                rep.line(host, stream, line);
            }
        };
        // The attached program's own wait status, a signal included.
        self.attach
            .run_io(
                &["sh", "-c", &script],
                input,
                io.stdout,
                echo.map(|_| &sink as _),
            )
            .map_err(|e| e.at_host(&self.host))
    }
}
