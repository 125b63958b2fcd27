//! The SSH transport: the system `ssh` through one multiplexed master connection per host
//! (the `openssh` crate), so `~/.ssh/config`, the agent, `ProxyJump` and `known_hosts` all apply.
//! Each command is a session opened on the master's control socket by the mux protocol itself
//! (`native-mux`, with our pipes passed to the master): no `ssh` client process per command.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use openssh::{KnownHosts, Session, SessionBuilder, Stdio};

use crate::error::{Error, Result};
use crate::report::Reporter;

use super::cmd::Cmd;
use super::{process, Exit, Io, Output, Transport};

/// How often ssh asks a silent host whether it is there (`ServerAliveInterval`).
const KEEPALIVE: Duration = Duration::from_secs(15);

/// How many unanswered keepalives make ssh close the connection (ssh's default
/// `ServerAliveCountMax`).
const KEEPALIVE_COUNT: u32 = 3;

/// Where and how to connect; every field but `host` may be left to `~/.ssh/config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshTarget {
    /// The host as the user wrote it (`deploy@app:2222`): the `[label]` of its output.
    pub label: String,
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub key_filename: Option<PathBuf>,
    pub ssh_config: Option<PathBuf>,
    pub known_hosts_file: Option<PathBuf>,
    /// `strict`, `add` (accept new keys, Fabric's habit) or `accept` (any key; test hosts only).
    pub host_key_checking: Option<String>,
    pub connect_timeout: Option<Duration>,
}

impl SshTarget {
    /// Parse Fabric's host string `[user@]host[:port]` (IPv6 as `[addr]:port`).
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = || {
            Error::usage(
                format!("bad host `{spec}`"),
                Some("write hosts as `host`, `user@host` or `user@host:port`".into()),
            )
        };
        let (user, rest) = match spec.rsplit_once('@') {
            Some((u, r)) if !u.is_empty() => (Some(u.to_string()), r),
            Some(_) => return Err(bad()),
            None => (None, spec),
        };
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, tail) = r.split_once(']').ok_or_else(bad)?;
            let port = match tail.strip_prefix(':') {
                Some(p) => Some(p.parse().map_err(|_| bad())?),
                None if tail.is_empty() => None,
                None => return Err(bad()),
            };
            (h.to_string(), port)
        } else if let Some((h, p)) = rest.split_once(':') {
            (h.to_string(), Some(p.parse().map_err(|_| bad())?))
        } else {
            (rest.to_string(), None)
        };
        if host.is_empty() || host.contains(char::is_whitespace) || host.starts_with('-') {
            return Err(bad());
        }
        Ok(SshTarget {
            label: spec.to_string(),
            host,
            user,
            port,
            ..SshTarget::default()
        })
    }
}

/// A connected host.
pub struct Ssh {
    label: String,
    user: String,
    session: Option<Session>,
    runtime: tokio::runtime::Runtime,
}

impl Ssh {
    /// Open the master connection (fails fast with the reason ssh gave).
    pub fn connect(target: &SshTarget) -> Result<Self> {
        let label = if target.label.is_empty() {
            target.host.clone()
        } else {
            target.label.clone()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut b = SessionBuilder::default();
        if let Some(u) = &target.user {
            b.user(u.clone());
        }
        if let Some(p) = target.port {
            b.port(p);
        }
        if let Some(k) = &target.key_filename {
            b.keyfile(k);
        }
        if let Some(c) = &target.ssh_config {
            b.config_file(c);
        }
        if let Some(k) = &target.known_hosts_file {
            b.user_known_hosts_file(k);
        }
        b.known_hosts_check(match target.host_key_checking.as_deref() {
            Some("strict") => KnownHosts::Strict,
            Some("accept") => KnownHosts::Accept,
            _ => KnownHosts::Add,
        });
        b.connect_timeout(target.connect_timeout.unwrap_or(Duration::from_secs(10)));
        b.server_alive_interval(KEEPALIVE);
        let session =
            runtime
                .block_on(b.connect_mux(&target.host))
                .map_err(|e| Error::Transport {
                    host: label.clone(),
                    message: format!("cannot connect over ssh: {}", ssh_reason(&e)),
                    hint: Some(
                        "check that `ssh <host>` works by hand with the same user, port and key \
                     (env keys `user`, `port`, `key_filename`, `ssh_config`)"
                            .into(),
                    ),
                })?;
        let user = target
            .user
            .clone()
            .or_else(|| remote_user(&session))
            .unwrap_or_default();
        Ok(Ssh {
            label,
            user,
            session: Some(session),
            runtime,
        })
    }
}

fn ssh_reason(e: &openssh::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// Ask the host who we are when the user came from ssh's own config.
fn remote_user(session: &Session) -> Option<String> {
    let out = Command::new("ssh")
        .arg("-S")
        .arg(session.control_socket())
        .args(["-o", "ControlMaster=no", "-T", "none", "id -un"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Transport for Ssh {
    fn host(&self) -> &str {
        &self.label
    }

    fn login_user(&self) -> &str {
        &self.user
    }

    fn ssh_command(&self) -> Option<Vec<String>> {
        let session = self.session.as_ref()?;
        // A mux client of the master connection; the host argument (`none`) is ignored.
        Some(vec![
            "ssh".into(),
            "-S".into(),
            session.control_socket().to_string_lossy().into_owned(),
            "-o".into(),
            "ControlMaster=no".into(),
            "-T".into(),
        ])
    }

    fn exec_io(&mut self, cmd: &Cmd, io: Io<'_>, echo: Option<&dyn Reporter>) -> Result<Output> {
        // Logged in as root already: no sudo wrapper (a minimal host may lack sudo, and each
        // `sudo -n` costs a few milliseconds on every command of a deploy).
        let cmd = &cmd.clone().without_sudo_if_root(self.login_user());
        let session = self.session.as_ref().expect("session open until drop");
        let label = &self.label;
        let lost = |what: &str, e: &dyn std::fmt::Display| Error::Transport {
            host: label.clone(),
            message: format!("ssh {what} failed: {e}"),
            hint: Some("the connection dropped; run again".into()),
        };
        let stdin = cmd.stdin_bytes();
        let (in_r, in_w) = if stdin.is_some() || io.stdin.is_some() {
            let (r, w) = std::io::pipe()?;
            (Some(r), Some(w))
        } else {
            (None, None)
        };
        let (out_r, out_w) = std::io::pipe()?;
        let (err_r, err_w) = std::io::pipe()?;
        let child = self.runtime.block_on(async {
            let mut c = session.raw_command(cmd.to_shell());
            c.stdin(in_r.map_or_else(Stdio::null, |r| Stdio::from(OwnedFd::from(r))))
                .stdout(Stdio::from(OwnedFd::from(out_w)))
                .stderr(Stdio::from(OwnedFd::from(err_w)));
            // The command (and with it our copy of the far ends) is dropped here: the master
            // holds them now, so the pipes end when the remote command does.
            c.spawn().await
        });
        let child = child.map_err(|e| lost("session", &ssh_reason(&e)))?;
        let started = std::time::Instant::now();
        let (stdout, stderr, copied) =
            process::drive(in_w, out_r, err_r, stdin, io, &self.label, echo);
        let waited = self.runtime.block_on(child.wait());
        copied?;
        let exit = match waited {
            Ok(status) => Exit::from(status),
            // openssh reports exit code 127 as an error of its own; it is the command's code
            // (the remote shell found no such program), not a broken connection.
            Err(openssh::Error::Remote(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                Exit::Code(127)
            }
            // The mux protocol carries no signal number: a command killed by a signal and a
            // dropped connection look alike, so ask the master which it was. Either way no
            // code is made up.
            Err(openssh::Error::RemoteProcessTerminated) => {
                let alive = self.runtime.block_on(session.check()).is_ok();
                let ran = started.elapsed().as_secs();
                let silent = KEEPALIVE * KEEPALIVE_COUNT;
                let (message, hint) = if alive {
                    (
                        "the remote command was killed by a signal (ssh does not say which)"
                            .to_owned(),
                        None,
                    )
                } else if started.elapsed() >= silent {
                    // ssh closes the connection after this many keepalives go unanswered.
                    (
                        format!(
                            "the host stopped answering: no reply to ssh's keepalives for {} s,                              so ssh closed the connection after the command had run {ran} s;                              whether it finished there is unknown",
                            silent.as_secs()
                        ),
                        Some(
                            "check the host (frozen, overloaded, or its network down); once it                              answers, `dfab <env> releases` or `deploy:resume=yes` shows or                              finishes where it stopped"
                                .to_owned(),
                        ),
                    )
                } else {
                    (
                        format!(
                            "the connection dropped after {ran} s, before the remote command                              reported its exit"
                        ),
                        Some("run again".to_owned()),
                    )
                };
                return Err(Error::Transport {
                    host: label.clone(),
                    message,
                    hint,
                });
            }
            Err(e) => return Err(lost("session", &ssh_reason(&e))),
        };
        Ok(Output::new(exit, stdout, stderr))
    }
}

impl Drop for Ssh {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = self.runtime.block_on(s.close());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_strings() {
        let t = SshTarget::parse("deploy@app.example.com:2222").unwrap();
        assert_eq!(
            (t.user.as_deref(), t.host.as_str(), t.port),
            (Some("deploy"), "app.example.com", Some(2222))
        );
        let t = SshTarget::parse("[::1]:22").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", Some(22)));
        assert!(SshTarget::parse("a@").is_err());
        assert!(SshTarget::parse("-oProxyCommand=x").is_err());
        assert!(SshTarget::parse("h:notaport").is_err());
    }
}
