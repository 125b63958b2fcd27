//! Transports: how a `Cmd` reaches a host (local, ssh; lxc attach lives in `lxc`).

pub mod cmd;
pub(crate) mod connect_error;
pub mod exit;
pub mod local;
mod master;
mod process;
pub mod ssh;
pub(crate) mod transfer;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::report::Reporter;
use cmd::{quote, Cmd};
pub use exit::Exit;

/// What a finished command left behind.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// The exit code, or 128 plus the signal that killed it (as a shell's `$?`); read
    /// [`Output::exit`] to tell the two apart.
    pub status: i32,
    /// The signal that killed the command, when one did and the transport knows it.
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// The output of a command that ended as `exit` said.
    #[must_use]
    pub fn new(exit: Exit, stdout: Vec<u8>, stderr: Vec<u8>) -> Self {
        Output {
            status: exit.shell_status(),
            signal: exit.signal(),
            stdout,
            stderr,
        }
    }

    /// How the command ended: its exit code, or the signal that killed it.
    #[must_use]
    pub fn exit(&self) -> Exit {
        match self.signal {
            Some(s) => Exit::Signal(s),
            None => Exit::Code(self.status),
        }
    }

    #[must_use]
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    #[must_use]
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Streams for [`Transport::exec_io`]: a reader fed to the command's standard input (after the
/// `Cmd`'s own stdin and secrets), and a writer that takes its standard output instead of the
/// capture. Both are copied in 256 KiB pieces, so memory stays bounded whatever the size.
#[derive(Default)]
pub struct Io<'a> {
    pub stdin: Option<&'a mut (dyn Read + Send)>,
    pub stdout: Option<&'a mut (dyn Write + Send)>,
}

/// A host that can run commands. `put`/`get` are built on `exec_io`, so every transport gets
/// the same streamed, atomic, checksum-verified file transfer.
pub trait Transport: Send {
    /// The label for `[host]` prefixes and errors.
    fn host(&self) -> &str;

    /// True for this machine (commands are echoed as `local`).
    fn is_local(&self) -> bool {
        false
    }

    /// The user commands run as before any sudo.
    fn login_user(&self) -> &str;

    /// True for a recorder (`-n`): commands are shown, nothing runs, and what a command
    /// prints is unknown (see `exec::record`).
    fn recording(&self) -> bool {
        false
    }

    /// The `ssh` command line that reaches this host through the transport's own connection,
    /// for programs that take a remote shell (`rsync -e`): the same route, host keys and
    /// options as every other command. `None` for transports that are not ssh.
    fn ssh_command(&self) -> Option<Vec<String>> {
        None
    }

    /// When the login shell of this host prints something of its own before every command
    /// (`~/.bashrc`), the sentence that says so: the cause to name when a protocol spoken over
    /// the host's ssh (rsync) fails. dfab's own commands are framed and read past it. Known
    /// once a command has run (the first one tells); [`Transport::probe_login`] asks before.
    fn login_noise(&self) -> Option<String> {
        None
    }

    /// Learn what [`Transport::login_noise`] reports, with a command of its own (`true`) when
    /// no command has run yet: for a protocol spoken over the host's ssh (rsync), which cannot
    /// read past what the shell prints.
    fn probe_login(&mut self) -> Result<()> {
        Ok(())
    }

    /// Run a command with streamed standard input and output (see [`Io`]); echo the lines it
    /// prints to `echo` as they come. Returns the output whatever the exit status; see [`check`].
    fn exec_io(&mut self, cmd: &Cmd, io: Io<'_>, echo: Option<&dyn Reporter>) -> Result<Output>;

    /// Run a command for a person at this terminal (`manage`): with `tty`, on a terminal of
    /// its own on the host, with dfab's standard input, output and error passed straight
    /// through, so an interactive program (a prompt, a shell) works; without, as
    /// [`Transport::exec`] with its lines echoed to `echo`. Returns how it ended. Transports
    /// that cannot give a terminal (a recorder, lxc attach) run it without one.
    fn interactive(&mut self, cmd: &Cmd, tty: bool, echo: Option<&dyn Reporter>) -> Result<Exit> {
        let _ = tty;
        self.exec(cmd, echo).map(|o| o.exit())
    }

    /// Run a command; stream its output lines to `echo` if given; capture it all.
    fn exec(&mut self, cmd: &Cmd, echo: Option<&dyn Reporter>) -> Result<Output> {
        self.exec_io(cmd, Io::default(), echo)
    }

    /// Run a command, echo it and its output, and fail on a non-zero exit unless `warn_only`.
    fn run(&mut self, cmd: &Cmd, rep: &dyn Reporter, warn_only: bool) -> Result<Output> {
        let cmd = cmd.clone().without_sudo_if_root(self.login_user());
        let verb = match (self.is_local(), cmd.sudo.is_some()) {
            (true, _) => "local",
            (false, true) => "sudo",
            (false, false) => "run",
        };
        rep.command(self.host(), verb, &cmd);
        let out = self.exec(&cmd, Some(rep))?;
        if !out.exit().success() && warn_only {
            rep.warn(&format!(
                "[{}] {} (warn_only): {cmd}",
                self.host(),
                out.exit()
            ));
            return Ok(out);
        }
        check(self.host(), &cmd, out)
    }

    /// Copy a local file to `remote` atomically: streamed into a temp file beside the target,
    /// its sha256 (computed on the stream) checked on the host, then renamed into place.
    fn put(&mut self, local: &Path, remote: &str, sudo: bool, rep: &dyn Reporter) -> Result<()> {
        self.put_making(local, remote, sudo, &[], rep)
    }

    /// [`Transport::put`], first making the directories `dirs` (mode 0755, as `install -d`) in
    /// the same command.
    fn put_making(
        &mut self,
        local: &Path,
        remote: &str,
        sudo: bool,
        dirs: &[String],
        rep: &dyn Reporter,
    ) -> Result<()> {
        let file = fs_err::File::open(local)?;
        let size = file.metadata()?.len();
        let mode = file_mode(local);
        rep.command(
            self.host(),
            "put",
            &Cmd::new("put", [local.display().to_string(), remote.to_string()]),
        );
        let cmd = put_command(remote, local, size, mode, sudo, dirs)
            .without_sudo_if_root(self.login_user());
        let meter = rep.transfer(self.host(), &format!("put {}", local.display()), size);
        let mut reader = transfer::HashThenSum::new(transfer::Metered { inner: file, meter });
        let out = self.exec_io(
            &cmd,
            Io {
                stdin: Some(&mut reader),
                stdout: None,
            },
            None,
        );
        reader.inner_mut().meter.done();
        check(self.host(), &cmd, out?).map(drop)
    }

    /// Copy `remote` to a local path atomically: streamed into a temp file beside the target,
    /// its sha256 computed on the stream and compared with the host's, then renamed.
    fn get(&mut self, remote: &str, local: &Path, rep: &dyn Reporter) -> Result<()> {
        rep.command(
            self.host(),
            "get",
            &Cmd::new("get", [remote.to_string(), local.display().to_string()]),
        );
        let dest = if local.is_dir() {
            local.join(Path::new(remote).file_name().unwrap_or_default())
        } else {
            local.to_path_buf()
        };
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".dfab-get-")
            .tempfile_in(dir)
            .map_err(|source| Error::File {
                action: "create a temp file in",
                path: dir.to_path_buf(),
                source,
                hint: None,
            })?;
        // The size first (one short command), so the meter knows its total.
        let size = self
            .exec(&Cmd::new("stat", ["-c", "%s", "--", remote]), None)
            .ok()
            .and_then(|o| o.stdout_str().trim().parse::<u64>().ok())
            .unwrap_or(0);
        let meter = rep.transfer(self.host(), &format!("get {remote}"), size);
        let mut sink = transfer::HashingWriter::new(transfer::Metered {
            inner: std::io::BufWriter::with_capacity(256 << 10, tmp),
            meter,
        });
        let cmd = Cmd::shell(format!(
            "sha256sum {r} | cut -d' ' -f1 >&2 && cat {r}",
            r = quote(remote)
        ));
        let out = self.exec_io(
            &cmd,
            Io {
                stdin: None,
                stdout: Some(&mut sink),
            },
            None,
        );
        sink.inner_mut().meter.done();
        let out = out?;
        let out = check(self.host(), &cmd, out)?;
        let want = out.stderr_str().trim().to_string();
        let (got, writer) = sink.finish();
        let writer = writer.inner;
        if want != got {
            return Err(Error::Transport {
                host: self.host().to_string(),
                message: format!(
                    "checksum mismatch fetching {remote}: host says {want}, got {got}"
                ),
                hint: Some("the file may have changed while it was read; try again".into()),
            });
        }
        let tmp = writer.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        tmp.as_file().sync_all()?;
        tmp.persist(&dest).map_err(|e| Error::File {
            action: "rename the fetched file into",
            path: dest.clone(),
            source: e.error,
            hint: None,
        })?;
        Ok(())
    }
}

/// The shell side of `put`: `head -c SIZE` into a temp file, then the sha256 line that follows
/// the data on stdin, compared before `mv`.
fn put_command(
    remote: &str,
    local: &Path,
    size: u64,
    mode: u32,
    sudo: bool,
    dirs: &[String],
) -> Cmd {
    let base = local
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into());
    let cmd = Cmd::shell(put_script(remote, &base, size, mode, dirs));
    if sudo {
        cmd.sudo(None)
    } else {
        cmd
    }
}

/// The shell text of [`put_command`] (`base` names the file when `remote` is a directory). It
/// reads exactly the file and its sha256 line from stdin, so a script may go on after it with
/// the rest of its input (`crate::hostside` installs the host program and runs it in one go).
pub(crate) fn put_script(
    remote: &str,
    base: &str,
    size: u64,
    mode: u32,
    dirs: &[String],
) -> String {
    // The directories missing before (`$m`, innermost first) go again, when empty, if the
    // put fails: a refused put leaves the host as it was.
    let (mkdir, unmake) = if dirs.is_empty() {
        (String::new(), "")
    } else {
        let q: Vec<String> = dirs.iter().map(|d| quote(d)).collect();
        (
            format!(
                "m=$(for y in {q}; do while [ -n \"$y\" ] && [ ! -d \"$y\" ]; do \
                 printf '%s\\n' \"$y\"; case $y in */*) y=${{y%/*}};; *) y=;; esac; done; done); install -d -m 0755 {q}; ",
                q = q.join(" ")
            ),
            "; printf \"%s\\n\" \"$m\" | while IFS= read -r y; do \
             [ -z \"$y\" ] || rmdir \"$y\" 2>/dev/null || true; done",
        )
    };
    format!(
        "set -e; {mkdir}d={r}; case \"$d\" in */) d=\"$d\"{base};; esac; \
         if [ -d \"$d\" ]; then d=\"$d\"/{base}; fi; \
         t=$(mktemp \"$d.dfab-XXXXXX\"); trap 'rm -f \"$t\"{unmake}' EXIT; {signals}; \
         head -c {size} > \"$t\"; \
         IFS= read -r want; s=$(sha256sum \"$t\"); s=${{s%% *}}; \
         if [ \"$s\" != \"$want\" ]; then echo \"checksum mismatch: got $s, sent $want\" >&2; exit 70; fi; \
         chmod {mode:o} \"$t\"; mv -f \"$t\" \"$d\"; trap - EXIT",
        r = quote(remote),
        base = quote(base),
        signals = cmd::EXIT_ON_SIGNALS,
    )
}

/// Turn a non-zero exit into a `CommandFailed` error carrying host, command and stderr.
pub fn check(host: &str, cmd: &Cmd, out: Output) -> Result<Output> {
    let exit = out.exit();
    if exit.success() {
        return Ok(out);
    }
    let stderr = out.stderr_str();
    let hint = if cmd.sudo.is_some() && stderr.contains("password is required") {
        Some(
            "sudo wants a password on this host; dfab runs `sudo -n` and never prompts. \
              Allow the user passwordless sudo (NOPASSWD in /etc/sudoers.d) or connect as root"
                .to_string(),
        )
    } else if stderr.contains("sudo: not found") || stderr.contains("sudo: command not found") {
        Some("sudo is not installed on this host; install it or connect as root".to_string())
    } else {
        None
    };
    Err(Error::CommandFailed {
        host: host.to_string(),
        cmd: cmd.to_string(),
        exit,
        stderr,
        hint,
    })
}

/// Lowercase hex SHA-256 of some bytes.
#[must_use]
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex of a digest (the one helper; `deb` uses it too).
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs_err::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run `put_command`'s script here with `body` on stdin.
    fn run_put(dest: &Path, dirs: &[String], body: &[u8]) -> std::process::Output {
        let local = Path::new("/nonexistent/app.deb");
        let cmd = put_command(&dest.display().to_string(), local, 5, 0o640, false, dirs);
        let mut c = std::process::Command::new("sh");
        c.arg("-c").arg(cmd.to_shell().trim_start_matches("sh -c "));
        let mut child = c
            .arg("sh")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), body).unwrap();
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    }

    #[test]
    fn put_checks_the_sum_on_the_host_before_the_rename_and_makes_its_directories() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        let dest = sub.join("app.deb");
        let good = format!("{}\n", sha256_hex(b"hello"));
        let dirs = [sub.display().to_string()];
        // A wrong sum: refused, nothing left behind.
        let o = run_put(
            &dest,
            &dirs,
            format!("hello{}\n", "0".repeat(64)).as_bytes(),
        );
        assert_eq!(o.status.code(), Some(70), "{o:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("checksum mismatch"));
        assert!(!dest.exists());
        // Nor the directories it made (review of issue 19: a refused command left them).
        assert!(!dir.path().join("a").exists(), "its directories were left");
        // A directory that was there before stays, empty or not.
        fs_err::create_dir_all(&sub).unwrap();
        let o = run_put(
            &dest,
            &dirs,
            format!("hello{}\n", "0".repeat(64)).as_bytes(),
        );
        assert_eq!(o.status.code(), Some(70), "{o:?}");
        assert_eq!(
            fs_err::read_dir(&sub).unwrap().count(),
            0,
            "a temp file was left"
        );
        // The right one: in place, with the mode given.
        let o = run_put(&dest, &dirs, format!("hello{good}").as_bytes());
        assert!(o.status.success(), "{o:?}");
        assert_eq!(fs_err::read(&dest).unwrap(), b"hello");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs_err::metadata(&dest).unwrap().permissions(),
        ) & 0o777;
        assert_eq!(mode, 0o640);
    }
}
