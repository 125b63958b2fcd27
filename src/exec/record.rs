//! `-n` as a recorder of the real run: a [`Recorder`] is a host that shows each command it is
//! handed and connects nowhere. The executor and every action run the same code under `-n` as
//! in a real run, against recorders; what a host would answer is [`Reading::Unknown`], and the
//! action then takes the branch that does the most.

use std::path::Path;

use crate::environments::Env;
use crate::error::Result;
use crate::report::Reporter;
use crate::transport::cmd::Cmd;
use crate::transport::{Io, Output, Transport};

use super::connect::Connector;

/// A host under `-n`: it shows what it is handed (through the reporter, as the live transports
/// do) and answers every command with an empty success.
#[derive(Debug, Clone)]
pub struct Recorder {
    host: String,
    user: String,
}

impl Recorder {
    /// A recorder for `host` (its label), logging in as `user` (`root` drops the sudo wrapper,
    /// as the live transports do).
    #[must_use]
    pub fn new(host: &str, user: &str) -> Self {
        Recorder {
            host: host.to_string(),
            user: user.to_string(),
        }
    }
}

impl Transport for Recorder {
    fn host(&self) -> &str {
        &self.host
    }

    fn login_user(&self) -> &str {
        &self.user
    }

    fn recording(&self) -> bool {
        true
    }

    fn ssh_command(&self) -> Option<Vec<String>> {
        Some(vec![
            "ssh".into(),
            "-S".into(),
            format!("<control socket of {}>", self.host),
            "-o".into(),
            "ControlMaster=no".into(),
            "-T".into(),
        ])
    }

    fn exec_io(&mut self, _cmd: &Cmd, _io: Io<'_>, _echo: Option<&dyn Reporter>) -> Result<Output> {
        Ok(Output::default())
    }

    fn put_making(
        &mut self,
        local: &Path,
        remote: &str,
        _sudo: bool,
        _dirs: &[String],
        rep: &dyn Reporter,
    ) -> Result<()> {
        rep.command(
            &self.host,
            "put",
            &Cmd::new("put", [local.display().to_string(), remote.to_string()]),
        );
        Ok(())
    }

    fn get(&mut self, remote: &str, local: &Path, rep: &dyn Reporter) -> Result<()> {
        rep.command(
            &self.host,
            "get",
            &Cmd::new("get", [remote.to_string(), local.display().to_string()]),
        );
        Ok(())
    }
}

/// Hands out recorders: the connector of `-n`.
pub struct RecordingConnector {
    /// The user an LXC env's container is reached as when the env names none.
    pub lxc: bool,
}

impl Connector for RecordingConnector {
    fn connect(&self, host: &str, label: &str, env: &Env) -> Result<Box<dyn Transport>> {
        Ok(Box::new(Recorder::new(
            label,
            &login_user(host, env, self.lxc).unwrap_or_default(),
        )))
    }

    fn connect_env(
        &self,
        env: &Env,
        host: &str,
        _rep: &dyn Reporter,
    ) -> Result<Box<dyn Transport>> {
        let lxc = env.str("lxc");
        Ok(Box::new(Recorder::new(
            lxc.unwrap_or(host),
            &login_user(host, env, lxc.is_some()).unwrap_or_default(),
        )))
    }
}

/// The login user a host string and env imply, when known without connecting.
#[must_use]
pub fn login_user(host: &str, env: &Env, lxc: bool) -> Option<String> {
    if let Some((u, _)) = host.rsplit_once('@') {
        return Some(u.to_string());
    }
    match env.str("user") {
        Some(u) => Some(u.to_string()),
        None if lxc => Some("root".into()),
        None => None,
    }
}

/// What a host answered to a read.
#[derive(Debug, Clone)]
pub enum Reading {
    /// The real run: the command's output, whatever its exit status.
    Known(Output),
    /// `-n`: nothing ran, so the answer is unknown.
    Unknown,
}

impl Reading {
    /// The output, when known.
    #[must_use]
    pub fn known(self) -> Option<Output> {
        match self {
            Reading::Known(o) => Some(o),
            Reading::Unknown => None,
        }
    }
}

/// Run `cmd` on `t` (shown as `verb`, with no sudo wrapper when logged in as root) and give
/// back what it said; under `-n`, shown only, and [`Reading::Unknown`].
pub fn read(t: &mut dyn Transport, rep: &dyn Reporter, verb: &str, cmd: Cmd) -> Result<Reading> {
    let cmd = cmd.without_sudo_if_root(t.login_user());
    rep.command(t.host(), verb, &cmd);
    let out = crate::hostside::exec(t, &cmd, None)?;
    Ok(if t.recording() {
        Reading::Unknown
    } else {
        Reading::Known(out)
    })
}

/// Run `cmd` on `t` (shown as `verb`) and give back its output whatever its exit status; under
/// `-n` an empty success. For commands whose output the caller does not need to branch on.
pub fn exec(t: &mut dyn Transport, rep: &dyn Reporter, verb: &str, cmd: Cmd) -> Result<Output> {
    let cmd = cmd.without_sudo_if_root(t.login_user());
    rep.command(t.host(), verb, &cmd);
    crate::hostside::exec(t, &cmd, None)
}
