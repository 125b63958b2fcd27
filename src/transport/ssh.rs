//! The SSH transport: the system `ssh` through one multiplexed master connection per host, so
//! `~/.ssh/config`, the agent, `ProxyJump` and `known_hosts` all apply. The master is dfab's
//! own (see [`super::master`]: a short socket path, paced and retried starts, ended with dfab);
//! each command is a session opened on its control socket by the mux protocol itself
//! (the `openssh` crate's `native-mux`, with our pipes passed to the master).

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::Duration;

use openssh::{Session, Stdio};

use crate::error::{Error, Result};
use crate::report::Reporter;

use super::cmd::Cmd;
use super::master::{self, Master};
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
    /// The environment the host belongs to, for the commands hints name.
    pub env: Option<String>,
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
    /// Dropped before `master`: a resumed session owns nothing of the master.
    session: Option<Session>,
    master: Option<Master>,
    runtime: tokio::runtime::Runtime,
    /// The marker each command prints first on stdout and stderr: what comes before it is the
    /// login shell's (`.bashrc`), never the command's. Set from the start, so the first command
    /// tells whether the shell prints; dropped after it when the shell printed nothing.
    frame: Option<String>,
    /// Whether a framed command has shown what the login shell prints (see `frame`).
    probed: bool,
    /// What the login shell printed, for messages (its first line, shortened).
    noise: Option<String>,
    /// The environment the host belongs to (see [`SshTarget::env`]).
    env: Option<String>,
}

impl Ssh {
    /// Open the master connection (fails fast with the reason ssh gave, and the sshd limit
    /// when it was one). Whether the login shell prints something of its own is learned from
    /// the first command, which is framed (no session of its own: a round trip saved per host).
    pub fn connect(target: &SshTarget) -> Result<Self> {
        let label = if target.label.is_empty() {
            target.host.clone()
        } else {
            target.label.clone()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let opts = master_options(target);
        let sshd = master::first_sshd(&opts, &target.host);
        let master = Master::start(&opts, &target.host, &sshd).map_err(|(f, tries)| {
            super::connect_error::connect_error(target, &opts, &label, &sshd, f, tries)
        })?;
        let session = Session::resume_mux(master.socket().into_boxed_path(), None);
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut ssh = Ssh {
            label,
            user: String::new(),
            session: Some(session),
            master: Some(master),
            runtime,
            frame: Some(format!("dfab-output-{nonce:x}-{}", std::process::id())),
            probed: false,
            noise: None,
            env: target.env.clone(),
        };
        ssh.user = match &target.user {
            Some(u) => u.clone(),
            None => ssh.remote_user().unwrap_or_default(),
        };
        Ok(ssh)
    }

    /// Ask the host who we are when the user came from ssh's own config.
    fn remote_user(&mut self) -> Option<String> {
        let out = self
            .exec_io(&Cmd::new("id", ["-un"]), Io::default(), None)
            .ok()?;
        out.exit()
            .success()
            .then(|| out.stdout_str().trim().to_string())
    }

    /// The sentence that names the login shell's output as the cause of a garbled exchange.
    fn noise_cause(&self) -> Option<String> {
        let who = if self.user.is_empty() || self.label.contains('@') {
            self.label.clone()
        } else {
            format!("{}@{}", self.user, self.label)
        };
        self.noise.as_ref().map(|n| {
            format!(
                "the login shell of {who} prints '{n}' before every command (from ~/.bashrc or \
                 ~/.profile?); make it print only in interactive shells (e.g. put it after \
                 `case $- in *i*) ;; *) return;; esac`)"
            )
        })
    }
}

/// The ssh options of a master to `target` (the ones the `openssh` crate gave it before, and
/// the same meaning of `host_key_checking`).
fn master_options(target: &SshTarget) -> Vec<OsString> {
    let mut o: Vec<OsString> = Vec::new();
    let mut opt = |k: &str, v: &dyn std::fmt::Display| {
        o.push("-o".into());
        o.push(format!("{k}={v}").into());
    };
    opt(
        "StrictHostKeyChecking",
        &match target.host_key_checking.as_deref() {
            Some("strict") => "yes",
            Some("accept") => "no",
            _ => "accept-new",
        },
    );
    opt(
        "ConnectTimeout",
        &target
            .connect_timeout
            .unwrap_or(Duration::from_secs(10))
            .as_secs()
            .max(1),
    );
    opt("ServerAliveInterval", &KEEPALIVE.as_secs());
    if let Some(k) = &target.known_hosts_file {
        opt("UserKnownHostsFile", &k.display());
    }
    if target.key_filename.is_some() {
        opt("IdentitiesOnly", &"yes");
    }
    if let Some(p) = target.port {
        o.extend(["-p".into(), p.to_string().into()]);
    }
    if let Some(u) = &target.user {
        o.extend(["-l".into(), u.into()]);
    }
    if let Some(k) = &target.key_filename {
        o.extend(["-i".into(), k.clone().into_os_string()]);
    }
    if let Some(c) = &target.ssh_config {
        o.extend(["-F".into(), c.clone().into_os_string()]);
    }
    o
}

/// How long to wait before opening a session again after sshd refused it (`MaxSessions`: the
/// previous session's channel may not be closed on its side yet).
const SESSION_RETRIES: [u64; 6] = [20, 50, 100, 200, 400, 800];

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

    fn login_noise(&self) -> Option<String> {
        self.noise_cause()
    }

    fn probe_login(&mut self) -> Result<()> {
        if !self.probed {
            self.exec_io(&Cmd::new("true", Vec::<String>::new()), Io::default(), None)?;
        }
        Ok(())
    }

    fn interactive(&mut self, cmd: &Cmd, tty: bool, echo: Option<&dyn Reporter>) -> Result<Exit> {
        if !tty {
            return self.exec(cmd, echo).map(|o| o.exit());
        }
        let cmd = cmd.clone().without_sudo_if_root(self.login_user());
        let session = self.session.as_ref().expect("session open until drop");
        // A mux client of the master with a terminal of its own (`-tt`): the same connection,
        // host keys and options as every other command; the host argument is ignored.
        let mut c = std::process::Command::new("ssh");
        c.arg("-S")
            .arg(session.control_socket())
            .args([
                "-o",
                "ControlMaster=no",
                "-o",
                "LogLevel=ERROR",
                "-tt",
                "none",
                "--",
            ])
            .arg(cmd.to_shell());
        super::process::run_attached(c, &self.label)
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
        let wire = match &self.frame {
            Some(m) => format!(
                "printf '%s\\n' {m}; printf '%s\\n' {m} >&2; {}",
                cmd.to_shell()
            ),
            None => cmd.to_shell(),
        };
        let stdin = cmd.stdin_bytes();
        let feed = stdin.is_some() || io.stdin.is_some();
        let mut waits = SESSION_RETRIES.iter();
        let (child, in_w, out_r, err_r) = loop {
            let (in_r, in_w) = if feed {
                let (r, w) = std::io::pipe()?;
                (Some(r), Some(w))
            } else {
                (None, None)
            };
            let (out_r, out_w) = std::io::pipe()?;
            let (err_r, err_w) = std::io::pipe()?;
            let child = self.runtime.block_on(async {
                let mut c = session.raw_command(&wire);
                c.stdin(in_r.map_or_else(Stdio::null, |r| Stdio::from(OwnedFd::from(r))))
                    .stdout(Stdio::from(OwnedFd::from(out_w)))
                    .stderr(Stdio::from(OwnedFd::from(err_w)));
                // The command (and with it our copy of the far ends) is dropped here: the
                // master holds them now, so the pipes end when the remote command does.
                c.spawn().await
            });
            match child {
                Ok(c) => break (c, in_w, out_r, err_r),
                Err(e) if session_refused(&e) => match waits.next() {
                    Some(ms) => std::thread::sleep(Duration::from_millis(*ms)),
                    None => {
                        return Err(Error::Transport {
                            host: label.clone(),
                            message: format!(
                                "sshd refused to open a session, {} times: {}",
                                SESSION_RETRIES.len() + 1,
                                ssh_reason(&e)
                            ),
                            hint: Some(
                                "sshd's `MaxSessions` limit (sessions per connection) was \
                                 reached: raise it on the host (dfab needs 2 for a command \
                                 that runs beside another, as rsync or a database copy)"
                                    .into(),
                            ),
                        })
                    }
                },
                Err(e) => return Err(lost("session", &ssh_reason(&e))),
            }
        };
        let started = std::time::Instant::now();
        let marker = self.frame.as_deref().map(str::as_bytes);
        let mut framed_out = Framed::new(out_r, marker);
        let mut framed_err = Framed::new(err_r, marker);
        let (stdout, stderr, copied) = process::drive(
            in_w,
            &mut framed_out,
            &mut framed_err,
            stdin,
            io,
            &self.label,
            echo,
        );
        if !self.probed {
            match login_shell_said(framed_out.before(), framed_err.before()) {
                LoginShell::Unknown => {}
                LoginShell::Quiet => (self.probed, self.frame) = (true, None),
                LoginShell::Prints(first) => (self.probed, self.noise) = (true, Some(first)),
            }
        }
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
                            "the host stopped answering: no reply to ssh's keepalives for {} s, so ssh closed the connection after the command had run {ran} s; whether it finished there is unknown",
                            silent.as_secs()
                        ),
                        Some(stopped_answering_hint(self.env.as_deref())),
                    )
                } else {
                    (
                        format!(
                            "the connection dropped after {ran} s, before the remote command reported its exit"
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

/// What a framed command showed of the login shell.
#[derive(Debug, PartialEq, Eq)]
enum LoginShell {
    /// A marker was not seen: the shell stopped before the command ran.
    Unknown,
    /// It printed nothing: commands may go unframed.
    Quiet,
    /// It printed this first line (shortened to 60 characters): commands stay framed.
    Prints(String),
}

/// What the login shell printed before a framed command's markers (`out`, `err`: what came
/// before each, `None` where the marker was not seen).
fn login_shell_said(out: Option<&[u8]>, err: Option<&[u8]>) -> LoginShell {
    let (Some(out), Some(err)) = (out, err) else {
        return LoginShell::Unknown;
    };
    let printed = [String::from_utf8_lossy(out), String::from_utf8_lossy(err)].concat();
    let Some(first) = printed.lines().find(|l| !l.trim().is_empty()) else {
        return LoginShell::Quiet;
    };
    let mut first = first.trim().to_owned();
    if first.chars().count() > 60 {
        first = first.chars().take(57).collect::<String>() + "...";
    }
    LoginShell::Prints(first)
}

/// sshd said no to a new session on the connection (its `MaxSessions`).
fn session_refused(e: &openssh::Error) -> bool {
    ssh_reason(e).contains("open refused")
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

/// A stream of a framed command: what comes before the marker line is the login shell's and
/// is dropped; a stream that ends with no marker is passed on whole (the shell failed before
/// the command ran, and what it said is the reason).
struct Framed<'m, R> {
    inner: R,
    marker: Option<&'m [u8]>,
    buf: Vec<u8>,
    pos: usize,
    /// Where the marker line started in `buf`, once seen.
    seen: Option<usize>,
}

impl<'m, R: Read> Framed<'m, R> {
    fn new(inner: R, marker: Option<&'m [u8]>) -> Self {
        Framed {
            inner,
            marker,
            buf: Vec::new(),
            pos: 0,
            seen: None,
        }
    }

    /// What came before the marker line (the login shell's output), once it was seen.
    fn before(&self) -> Option<&[u8]> {
        self.seen.map(|i| &self.buf[..i])
    }

    /// Read up to the marker line (bounded: 1 MiB of a shell's chatter at most).
    fn skip_prefix(&mut self, marker: &[u8]) -> std::io::Result<()> {
        let mut chunk = [0u8; 8192];
        loop {
            let seen = self
                .buf
                .windows(marker.len() + 1)
                .position(|w| w[..marker.len()] == *marker && w[marker.len()] == b'\n');
            if let Some(i) = seen {
                self.seen = Some(i);
                self.pos = i + marker.len() + 1;
                return Ok(());
            }
            if self.buf.len() > 1 << 20 {
                return Ok(());
            }
            let n = self.inner.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

impl<R: Read> Read for Framed<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if let Some(m) = self.marker.take() {
            self.skip_prefix(m)?;
        }
        if self.pos < self.buf.len() {
            let n = out.len().min(self.buf.len() - self.pos);
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(out)
    }
}

impl Drop for Ssh {
    fn drop(&mut self) {
        // The session first (a resumed one owns nothing); the master then ends with its
        // watchdog, its socket directory removed.
        drop(self.session.take());
        drop(self.master.take());
    }
}

/// What to do once a host that stopped answering answers again: the env's commands that show
/// or finish where it stopped.
fn stopped_answering_hint(env: Option<&str>) -> String {
    let (releases, resume) = match env {
        Some(e) => (
            format!("`dfab {e} releases`"),
            format!("`dfab {e} deploy:resume=yes`"),
        ),
        None => (
            "the `releases` task".to_owned(),
            "`deploy:resume=yes`".to_owned(),
        ),
    };
    format!(
        "check the host (frozen, overloaded, or its network down); once it answers, {releases} \
         shows where it stopped, and {resume} finishes a deploy"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_framed_command_tells_what_the_login_shell_prints() {
        let m: &[u8] = b"dfab-output-1";
        let read = |data: &[u8]| {
            let mut f = Framed::new(data, Some(m));
            let mut got = Vec::new();
            f.read_to_end(&mut got).unwrap();
            (got, f.before().map(<[u8]>::to_vec))
        };
        // A quiet shell: the command's output whole, nothing before the marker.
        let (got, before) = read(b"dfab-output-1\n0\n");
        assert_eq!(
            (got.as_slice(), before.as_deref()),
            (&b"0\n"[..], Some(&b""[..]))
        );
        assert_eq!(login_shell_said(Some(b""), Some(b"")), LoginShell::Quiet);
        // A chatty one: its words dropped from the output and named.
        let (got, before) = read(b"Welcome to web1\ndfab-output-1\n0\n");
        assert_eq!(got, b"0\n");
        assert_eq!(
            login_shell_said(before.as_deref(), Some(b"")),
            LoginShell::Prints("Welcome to web1".into())
        );
        // The shell stopped before the marker: its words are the output, and nothing is known.
        let (got, before) = read(b"bash: cannot start\n");
        assert_eq!(
            (got.as_slice(), before),
            (&b"bash: cannot start\n"[..], None)
        );
        assert_eq!(login_shell_said(None, Some(b"")), LoginShell::Unknown);
    }

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

    // Review of issue 19: a frozen host's hint said `dfab <env> releases`.
    #[test]
    fn the_stopped_answering_hint_names_the_env_s_commands() {
        let h = stopped_answering_hint(Some("staging"));
        assert!(h.contains("`dfab staging releases`"), "{h}");
        assert!(h.contains("`dfab staging deploy:resume=yes`"), "{h}");
        assert!(!stopped_answering_hint(None).contains('<'));
    }
}
