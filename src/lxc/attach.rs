//! Reach a container by attach (`lxc_transport = 'attach'`): run commands, put and get files
//! through `cat`, with no sshd and no address needed.
//!
//! Locally this uses liblxc's `attach_run_wait` with our own pipes as the program's stdout and
//! stderr (reader threads drain them while liblxc waits, so a chatty program cannot block), and
//! a local file itself as stdin for `put` or stdout for `get` (no copy through memory). liblxc
//! does not capture output itself, which is why the pipes are ours. On `lxc_host`, or in a build
//! without liblxc, the same argv goes through `lxc-attach --clear-env`, by ssh for `lxc_host`.
//!
//! The host's environment never leaks in (like `lxc-attach --clear-env`): the program gets
//! liblxc's default `PATH`, `container=lxc` and [`ENV`].
//!
//! A standalone type until main's `transport::Transport` lands; it has the same three methods.

#[cfg(feature = "liblxc")]
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};

use super::error::{LxcError, Result};
use super::spec::LxcSpec;
use super::tool::Runner;
use crate::report::Stream;
use crate::transport::cmd::Cmd;
pub use crate::transport::Output;

/// Environment of every attached program, beyond liblxc's `PATH` and `container=lxc`.
pub const ENV: &[&str] = &["HOME=/root", "LANG=C.UTF-8"];

/// How attach is carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Via {
    /// liblxc in this process.
    #[cfg(feature = "liblxc")]
    Liblxc,
    /// `lxc-attach`, run by this runner.
    Tool(Runner),
}

/// Runs programs inside one container as root.
#[derive(Debug, Clone)]
pub struct Attach {
    name: String,
    lxcpath: Option<PathBuf>,
    via: Via,
}

impl Attach {
    /// Attach to `spec`'s container: liblxc locally (root needed), `lxc-attach` over ssh for
    /// `lxc_host`.
    pub fn new(spec: &LxcSpec) -> Result<Self> {
        super::name::validate(&spec.name)?;
        let via = if spec.host.is_some() {
            Via::Tool(spec.runner())
        } else {
            super::backend::check_root(super::backend::current_euid())?;
            #[cfg(feature = "liblxc")]
            let via = Via::Liblxc;
            #[cfg(not(feature = "liblxc"))]
            let via = Via::Tool(Runner::Local);
            via
        };
        Ok(Self {
            name: spec.name.clone(),
            lxcpath: spec.lxcpath.clone(),
            via,
        })
    }

    /// Attach by running `lxc-attach` with `runner` (the `lxc_host` path, also usable locally).
    #[must_use]
    pub fn with_tool(spec: &LxcSpec, runner: Runner) -> Self {
        Self {
            name: spec.name.clone(),
            lxcpath: spec.lxcpath.clone(),
            via: Via::Tool(runner),
        }
    }

    /// The hand-run equivalent of running `argv` (for `--dry-run` and logs).
    #[must_use]
    pub fn command(&self, argv: &[&str]) -> Cmd {
        let mut words = Vec::new();
        if let Some(path) = &self.lxcpath {
            words.extend(["-P".to_owned(), path.display().to_string()]);
        }
        words.extend(["-n".to_owned(), self.name.clone(), "--clear-env".to_owned()]);
        for var in ENV {
            words.extend(["-v".to_owned(), (*var).to_owned()]);
        }
        words.push("--".to_owned());
        words.extend(argv.iter().map(|&a| a.to_owned()));
        Cmd::new("lxc-attach", words)
    }

    /// Run `script` with `sh -c`; a non-zero exit is in the output, not an error.
    pub fn run(&self, script: &str) -> Result<Output> {
        self.run_argv(&["sh", "-c", script], Input::Null)
    }

    /// Run `argv` with `stdin`.
    pub fn run_argv(&self, argv: &[&str], stdin: Input<'_>) -> Result<Output> {
        self.run_echoed(argv, stdin, None)
    }

    /// Run `argv` with `stdin`, passing each output line to `echo` (as it comes with liblxc;
    /// after the program ends with `lxc-attach`).
    pub fn run_echoed(
        &self,
        argv: &[&str],
        stdin: Input<'_>,
        echo: Option<LineSink<'_>>,
    ) -> Result<Output> {
        self.run_io(argv, stdin, None, echo)
    }

    /// As [`Attach::run_echoed`], with standard output copied into `stdout` when given (streamed
    /// with liblxc; through memory with `lxc-attach` on `lxc_host`).
    pub fn run_io(
        &self,
        argv: &[&str],
        stdin: Input<'_>,
        stdout: Option<&mut (dyn std::io::Write + Send)>,
        echo: Option<LineSink<'_>>,
    ) -> Result<Output> {
        match &self.via {
            #[cfg(feature = "liblxc")]
            Via::Liblxc => self.liblxc_run(argv, stdin, Sink::from(stdout), echo),
            Via::Tool(runner) => {
                let cmd = self.command(argv);
                let cmd = match stdin {
                    Input::Null => cmd,
                    Input::Bytes(b) => cmd.stdin(b),
                    Input::File(path) => cmd.stdin(fs_err::read(path)?),
                    Input::Reader(first, r) => {
                        let mut all = first.unwrap_or_default().to_vec();
                        r.read_to_end(&mut all)?;
                        cmd.stdin(all)
                    }
                };
                let mut out = runner.output(&cmd)?;
                if let Some(w) = stdout {
                    w.write_all(&out.stdout)?;
                    out.stdout.clear();
                }
                if let Some(echo) = echo {
                    for (stream, bytes) in [(Stream::Out, &out.stdout), (Stream::Err, &out.stderr)]
                    {
                        String::from_utf8_lossy(bytes)
                            .lines()
                            .for_each(|l| echo(stream, l));
                    }
                }
                Ok(out)
            }
        }
    }

    /// Copy local file `local` to `remote` in the container (through `cat`).
    pub fn put(&self, local: &Path, remote: &str) -> Result<()> {
        let argv = ["sh", "-c", "cat > \"$1\"", "sh", remote];
        let out = self.run_argv(&argv, Input::File(local))?;
        self.check(&argv, &out)
    }

    /// Copy `remote` in the container to local file `local` (through `cat`); on failure `local`
    /// is removed.
    pub fn get(&self, remote: &str, local: &Path) -> Result<()> {
        let argv = ["cat", "--", remote];
        let result = match &self.via {
            #[cfg(feature = "liblxc")]
            Via::Liblxc => {
                let file = fs_err::File::create(local)?;
                self.liblxc_run(&argv, Input::Null, Sink::Fd(file.file().as_raw_fd()), None)
            }
            Via::Tool(_) => self.run_argv(&argv, Input::Null).and_then(|out| {
                fs_err::write(local, &out.stdout)?;
                Ok(out)
            }),
        };
        let checked = result.and_then(|out| self.check(&argv, &out));
        if checked.is_err() {
            let _ = fs_err::remove_file(local);
        }
        checked
    }

    fn check(&self, argv: &[&str], out: &Output) -> Result<()> {
        let exit = out.exit();
        if exit.success() {
            return Ok(());
        }
        Err(LxcError::Tool {
            command: self.command(argv).to_string(),
            exit,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// liblxc attach with our pipes; `stdout_to` replaces the stdout capture (a descriptor for
    /// `get`, a writer for streams); `echo` sees each captured line as it arrives.
    #[cfg(feature = "liblxc")]
    fn liblxc_run(
        &self,
        argv: &[&str],
        stdin: Input<'_>,
        stdout_to: Sink<'_>,
        echo: Option<LineSink<'_>>,
    ) -> Result<Output> {
        let container = super::sys::Container::new(&self.name, self.lxcpath.as_deref())?;
        if !container.is_running() {
            return Err(LxcError::Op {
                name: self.name.clone(),
                op: "attach",
                errno: 0,
                message: Some("the container is not running".to_owned()),
            });
        }
        // Standard input: /dev/null, a file, or a pipe fed by a writer thread.
        let (stdin_fd, stdin_pipe) = match stdin {
            Input::Null => (
                OwnedFd::from(fs_err::File::open("/dev/null")?.into_file()),
                None,
            ),
            Input::File(path) => (OwnedFd::from(fs_err::File::open(path)?.into_file()), None),
            Input::Bytes(bytes) => {
                let (read, write) = pipe()?;
                (read, Some((write, bytes, None)))
            }
            Input::Reader(first, reader) => {
                let (read, write) = pipe()?;
                (read, Some((write, first.unwrap_or_default(), Some(reader))))
            }
        };
        let (out_read, out_write) = pipe()?;
        let (err_read, err_write) = pipe()?;
        std::thread::scope(|scope| {
            if let Some((write, bytes, reader)) = stdin_pipe {
                scope.spawn(move || {
                    use std::io::Write as _;
                    // A program that exits without reading all of stdin closes the pipe: fine.
                    let mut w = std::fs::File::from(write);
                    if w.write_all(bytes).is_ok() {
                        if let Some(r) = reader {
                            let _ = std::io::copy(r, &mut w);
                        }
                    }
                });
            }
            let (stdout_fd, writer) = match stdout_to {
                Sink::Capture => (None, None),
                Sink::Fd(fd) => (Some(fd), None),
                Sink::Writer(w) => (None, Some(w)),
            };
            let stdout = scope.spawn(move || match writer {
                Some(w) => {
                    let mut r =
                        std::io::BufReader::with_capacity(256 << 10, std::fs::File::from(out_read));
                    std::io::copy(&mut r, w)
                        .map(|_| Vec::new())
                        .map_err(Into::into)
                }
                None => read_lines(out_read, Stream::Out, echo),
            });
            let stderr = scope.spawn(move || read_lines(err_read, Stream::Err, echo));
            let fds = super::sys::AttachStdio {
                stdin: stdin_fd.as_raw_fd(),
                stdout: stdout_fd.unwrap_or(out_write.as_raw_fd()),
                stderr: err_write.as_raw_fd(),
            };
            let status = container.attach_run_wait(argv, ENV, fds);
            // Close our ends so the readers see end of file once the program's copies are gone.
            drop((out_write, err_write, stdin_fd));
            let stdout = stdout.join().expect("stdout reader does not panic")?;
            let stderr = stderr.join().expect("stderr reader does not panic")?;
            Ok(Output::new(status?.into(), stdout, stderr))
        })
    }
}

/// Receives each line (without its newline) a program prints, as it prints it.
pub type LineSink<'a> = &'a (dyn Fn(Stream, &str) + Sync);

/// Read `fd` to its end, passing each line to `echo`.
#[cfg(feature = "liblxc")]
fn read_lines(fd: OwnedFd, stream: Stream, echo: Option<LineSink<'_>>) -> Result<Vec<u8>> {
    use std::io::BufRead as _;
    let mut reader = std::io::BufReader::new(std::fs::File::from(fd));
    let mut all = Vec::new();
    loop {
        let start = all.len();
        if reader.read_until(b'\n', &mut all)? == 0 {
            return Ok(all);
        }
        if let Some(echo) = echo {
            let line = String::from_utf8_lossy(&all[start..]);
            echo(stream, line.trim_end_matches(['\n', '\r']));
        }
    }
}

/// Where a liblxc run's standard output goes.
#[cfg(feature = "liblxc")]
enum Sink<'a> {
    Capture,
    Fd(i32),
    Writer(&'a mut (dyn std::io::Write + Send)),
}

#[cfg(feature = "liblxc")]
impl<'a> From<Option<&'a mut (dyn std::io::Write + Send)>> for Sink<'a> {
    fn from(w: Option<&'a mut (dyn std::io::Write + Send)>) -> Self {
        w.map_or(Sink::Capture, Sink::Writer)
    }
}

/// Standard input for [`Attach::run_argv`].
pub enum Input<'a> {
    /// `/dev/null`.
    Null,
    /// These bytes.
    Bytes(&'a [u8]),
    /// This local file's contents.
    File(&'a Path),
    /// These bytes (the command's secrets), then everything this reader yields.
    Reader(Option<&'a [u8]>, &'a mut (dyn std::io::Read + Send)),
}

/// A close-on-exec pipe: (read end, write end). Close-on-exec keeps other programs this process
/// starts meanwhile from holding the write end open; liblxc's `dup2` onto 0–2 clears the flag
/// for the attached program only.
#[cfg(feature = "liblxc")]
fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: pipe2 succeeded, so both are fresh descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

#[cfg(test)]
mod tests {
    use super::Attach;
    use crate::lxc::spec::LxcSpec;
    use crate::lxc::tool::Runner;

    #[test]
    fn hand_run_and_lxc_host_commands() {
        let mut spec = LxcSpec::new("app");
        let attach = Attach::with_tool(&spec, Runner::Local);
        assert_eq!(
            attach.command(&["sh", "-c", "echo hi; id -u"]).to_string(),
            "lxc-attach -n app --clear-env -v HOME=/root -v LANG=C.UTF-8 -- sh -c 'echo hi; id -u'"
        );
        spec.lxcpath = Some("/srv/lxc".into());
        let runner = Runner::for_host(Some("box"), &[]);
        let attach = Attach::with_tool(&spec, runner.clone());
        assert_eq!(
            runner
                .command(&attach.command(&["cat", "--", "/etc/hostname"]))
                .to_string(),
            "ssh -o BatchMode=yes box -- 'lxc-attach -P /srv/lxc -n app --clear-env -v HOME=/root \
             -v LANG=C.UTF-8 -- cat -- /etc/hostname'"
        );
    }
}
