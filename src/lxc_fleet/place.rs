//! Where the balancer runs: this machine, or inside a container (by attach, here or on
//! `lxc_host`). Every effect the balancer has (its files written atomically, `nginx` run, its
//! master signalled, its workers watched, HTTP asked of it or of the members) goes through a
//! [`Place`], so [`super::balancer`] is one piece of logic for both. In a container each effect
//! is one small `sh` script run by attach, its values passed as positional arguments (never
//! spliced into the script).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::lxc::attach::{Attach, Input};
use crate::transport::Output;

use super::http;

/// Where the balancer (and, on `lxc_host`, the members' health checks) runs.
#[derive(Debug, Clone)]
pub enum Place {
    /// This machine: files and processes directly.
    Here,
    /// Inside container `name`, every effect run by `attach`.
    Container { name: String, attach: Attach },
}

/// A signal the balancer's master gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// nginx's graceful reload.
    Hup,
    /// nginx's graceful shutdown.
    Quit,
    Kill,
}

impl Signal {
    fn number(self) -> i32 {
        match self {
            Signal::Hup => libc::SIGHUP,
            Signal::Quit => libc::SIGQUIT,
            Signal::Kill => libc::SIGKILL,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Signal::Hup => "HUP",
            Signal::Quit => "QUIT",
            Signal::Kill => "KILL",
        }
    }
}

/// Whether process `pid` of this machine exists.
fn alive_here(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// The parent pid of process `pid` of this machine, from `/proc/<pid>/stat`.
fn parent_here(pid: i32) -> Option<i32> {
    let s = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: comm may hold spaces, so split after `)`.
    let rest = &s[s.rfind(')')? + 2..];
    rest.split(' ').nth(1)?.parse().ok()
}

/// The pids in `text`, one a line.
fn pids(text: &str) -> Vec<i32> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// The script that asks `http://$1$2` with a timeout of `$3` seconds: the body, a newline and
/// the status code (`000` when nothing answered).
const GET: &str = "curl -s -m \"$3\" -w '\\n%{http_code}' \"http://$1$2\" || true";

/// The script that waits (at most `$4` s) until `http://$1$2` answers `$3`, polling every 5 ms;
/// with `$5` a pid, sends it HUP first. Prints the nanoseconds it took, or `last: <answer>`
/// and exits 1.
const WAIT: &str =
    "[ -n \"$5\" ] && kill -HUP \"$5\"; t0=$(date +%s%N); end=$(( $(date +%s) + $4 )); \
                    while :; do g=$(curl -s -m 1 \"http://$1$2\"); \
                    if [ \"$g\" = \"$3\" ]; then echo $(( $(date +%s%N) - t0 )); exit 0; fi; \
                    if [ \"$(date +%s)\" -ge \"$end\" ]; then echo \"last: $g\"; exit 1; fi; \
                    sleep 0.005; done";

impl Place {
    /// For messages: `this machine` or `container <name>`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Place::Here => "this machine".into(),
            Place::Container { name, .. } => format!("container {name}"),
        }
    }

    /// Run `script` with `sh -c` in the container, `args` as `$1`… (only for `Container`).
    fn sh(&self, script: &str, args: &[&str], stdin: Input<'_>) -> Result<Output> {
        let Place::Container { attach, .. } = self else {
            unreachable!("only a container runs scripts by attach")
        };
        let mut argv = vec!["sh", "-c", script, "sh"];
        argv.extend_from_slice(args);
        Ok(attach.run_argv(&argv, stdin)?)
    }

    /// Run `script` in the container and fail unless it exits 0.
    fn sh_ok(&self, script: &str, args: &[&str], stdin: Input<'_>) -> Result<String> {
        let out = self.sh(script, args, stdin)?;
        if out.status == 0 {
            return Ok(out.stdout_str());
        }
        Err(crate::error::Error::CommandFailed {
            host: self.describe(),
            cmd: format!("{script} {}", args.join(" ")),
            exit: out.exit(),
            stderr: out.stderr_str(),
            hint: None,
        })
    }

    /// Make directory `dir` (and its parents).
    pub fn mkdir(&self, dir: &Path) -> Result<()> {
        match self {
            Place::Here => Ok(fs_err::create_dir_all(dir)?),
            Place::Container { .. } => self
                .sh_ok(
                    "mkdir -p \"$1\"",
                    &[&dir.display().to_string()],
                    Input::Null,
                )
                .map(drop),
        }
    }

    /// Write `bytes` to `path` atomically (a temporary file beside it, renamed over it).
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        match self {
            Place::Here => crate::fsutil::write_atomic(path, bytes),
            Place::Container { .. } => self
                .sh_ok(
                    "cat > \"$1.dfab-tmp\" && mv -f \"$1.dfab-tmp\" \"$1\"",
                    &[&path.display().to_string()],
                    Input::Bytes(bytes),
                )
                .map(drop),
        }
    }

    /// Rename `from` over `to` (atomic within a directory).
    pub fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        match self {
            Place::Here => Ok(fs_err::rename(from, to)?),
            Place::Container { .. } => self
                .sh_ok(
                    "mv -f \"$1\" \"$2\"",
                    &[&from.display().to_string(), &to.display().to_string()],
                    Input::Null,
                )
                .map(drop),
        }
    }

    /// Remove `path`; nothing to do when it is gone.
    pub fn remove(&self, path: &Path) -> Result<()> {
        match self {
            Place::Here => match fs_err::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            },
            Place::Container { .. } => self
                .sh_ok("rm -f \"$1\"", &[&path.display().to_string()], Input::Null)
                .map(drop),
        }
    }

    /// Run `program` with `args` there: its output whatever its exit status; `Err` only when it
    /// could not be started (the message names it).
    pub fn run(&self, program: &str, args: &[String]) -> std::result::Result<Output, String> {
        match self {
            Place::Here => std::process::Command::new(program)
                .args(args)
                .output()
                .map(|o| Output::new(crate::transport::Exit::from(o.status), o.stdout, o.stderr))
                .map_err(|e| e.to_string()),
            Place::Container { attach, .. } => {
                let mut argv = vec![program];
                argv.extend(args.iter().map(String::as_str));
                attach
                    .run_argv(&argv, Input::Null)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// The pid in `pidfile` when that process runs.
    #[must_use]
    pub fn pid(&self, pidfile: &Path) -> Option<i32> {
        match self {
            Place::Here => {
                let pid: i32 = fs_err::read_to_string(pidfile).ok()?.trim().parse().ok()?;
                alive_here(pid).then_some(pid)
            }
            Place::Container { .. } => {
                let out = self
                    .sh(
                        "p=$(cat \"$1\" 2>/dev/null) && kill -0 \"$p\" 2>/dev/null && echo \"$p\"",
                        &[&pidfile.display().to_string()],
                        Input::Null,
                    )
                    .ok()?;
                pids(&out.stdout_str()).first().copied()
            }
        }
    }

    /// Send `signal` to `pid`.
    pub fn signal(&self, pid: i32, signal: Signal) -> Result<()> {
        match self {
            Place::Here => {
                // SAFETY: a signal to a process the caller read from nginx's pid file.
                unsafe { libc::kill(pid, signal.number()) };
                Ok(())
            }
            Place::Container { .. } => self
                .sh_ok(
                    "kill -s \"$1\" \"$2\"",
                    &[signal.name(), &pid.to_string()],
                    Input::Null,
                )
                .map(drop),
        }
    }

    /// The children of `pid` now (nginx's workers, from `/proc`).
    #[must_use]
    pub fn children(&self, pid: i32) -> Vec<i32> {
        match self {
            Place::Here => fs_err::read_dir("/proc")
                .map(|dir| {
                    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
                        .filter(|&p| parent_here(p) == Some(pid))
                        .collect()
                })
                .unwrap_or_default(),
            // Field 4 of /proc/<pid>/stat is the parent (a worker's comm, `nginx`, has no space).
            Place::Container { .. } => self
                .sh(
                    "cat /proc/[0-9]*/stat 2>/dev/null | awk -v p=\"$1\" '$4 == p { print $1 }'",
                    &[&pid.to_string()],
                    Input::Null,
                )
                .map(|o| pids(&o.stdout_str()))
                .unwrap_or_default(),
        }
    }

    /// Wait until every process of `pids` has exited, at most `timeout`; says whether they did.
    #[must_use]
    pub fn wait_gone(&self, pids: &[i32], timeout: Duration) -> bool {
        if pids.is_empty() {
            return true;
        }
        match self {
            Place::Here => {
                let end = Instant::now() + timeout;
                loop {
                    if !pids.iter().any(|&p| alive_here(p)) {
                        return true;
                    }
                    if Instant::now() >= end {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            Place::Container { .. } => {
                let list: Vec<String> = pids.iter().map(ToString::to_string).collect();
                let mut args = vec![timeout.as_secs().max(1).to_string()];
                args.extend(list);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                self.sh(
                    "end=$(( $(date +%s) + $1 )); shift; \
                     while :; do up=; for p; do kill -0 \"$p\" 2>/dev/null && up=1; done; \
                     [ -z \"$up\" ] && exit 0; [ \"$(date +%s)\" -ge \"$end\" ] && exit 1; \
                     sleep 0.02; done",
                    &args,
                    Input::Null,
                )
                .is_ok_and(|o| o.status == 0)
            }
        }
    }

    /// `GET path` of `addr` (`host:port`) as seen from here: the status and the body, or why
    /// nothing answered.
    pub fn get(
        &self,
        addr: &str,
        path: &str,
        timeout: Duration,
    ) -> std::result::Result<(u16, String), String> {
        match self {
            Place::Here => http::get(addr, path, timeout),
            Place::Container { name, .. } => {
                let secs = timeout.as_secs().max(1).to_string();
                let out = self
                    .sh(GET, &[addr, path, &secs], Input::Null)
                    .map_err(|e| e.to_string())?;
                let text = out.stdout_str();
                let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
                match code.trim().parse::<u16>() {
                    Ok(0) | Err(_) => Err(format!("no answer (curl in {name}: {})", {
                        let e = out.stderr_str();
                        if e.trim().is_empty() {
                            "connection failed or timed out".to_owned()
                        } else {
                            e.trim().to_owned()
                        }
                    })),
                    Ok(code) => Ok((code, body.to_owned())),
                }
            }
        }
    }

    /// Send HUP to `pid` (when given), then wait until `http://addr path` answers `want` (at
    /// most `timeout`): how long that took from the signal, measured where the balancer runs.
    pub fn reload_until(
        &self,
        pid: Option<i32>,
        addr: &str,
        path: &str,
        want: &str,
        timeout: Duration,
    ) -> std::result::Result<Duration, String> {
        match self {
            Place::Here => {
                if let Some(pid) = pid {
                    self.signal(pid, Signal::Hup).map_err(|e| e.to_string())?;
                }
                let t = Instant::now();
                let end = t + timeout;
                let mut last;
                loop {
                    match http::get(addr, path, Duration::from_secs(1)) {
                        Ok((200, body)) if body.trim() == want => return Ok(t.elapsed()),
                        Ok((code, body)) => last = format!("{code} {}", body.trim()),
                        Err(e) => last = e,
                    }
                    if Instant::now() >= end {
                        return Err(format!("last: {last}"));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            Place::Container { .. } => {
                let secs = timeout.as_secs().max(1).to_string();
                let pid = pid.map(|p| p.to_string()).unwrap_or_default();
                let out = self
                    .sh(WAIT, &[addr, path, want, &secs, &pid], Input::Null)
                    .map_err(|e| e.to_string())?;
                let text = out.stdout_str();
                if out.status == 0 {
                    let ns: u64 = text.trim().parse().unwrap_or(0);
                    return Ok(Duration::from_nanos(ns));
                }
                Err(format!("{} {}", text.trim(), out.stderr_str().trim()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Place, Signal};

    #[test]
    fn here_writes_atomically_and_finds_a_live_pid() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a");
        Place::Here.write(&f, b"1\n").unwrap();
        Place::Here.rename(&f, &dir.path().join("b")).unwrap();
        assert_eq!(fs_err::read_to_string(dir.path().join("b")).unwrap(), "1\n");
        Place::Here.remove(&dir.path().join("missing")).unwrap();
        let pidfile = dir.path().join("pid");
        fs_err::write(&pidfile, format!("{}\n", std::process::id())).unwrap();
        let me = i32::try_from(std::process::id()).unwrap();
        assert_eq!(Place::Here.pid(&pidfile), Some(me));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        assert!(Place::Here.children(me).contains(&pid));
        assert!(!Place::Here.wait_gone(&[pid], Duration::from_millis(50)));
        Place::Here.signal(pid, Signal::Kill).unwrap();
        child.wait().unwrap();
        assert!(Place::Here.wait_gone(&[pid], Duration::from_secs(1)));
    }
}
