//! The one engine: running a step on some of its hosts through the run's connection pool, each
//! host labelled by its planned name, with one line per host saying what the step did and how
//! long it took. The executor (a plan, step by step) and the wrapped deploy both run on it.

use std::time::Instant;

use crate::error::{Error, Result};
use crate::report::{Reporter, Stream};
use crate::transport::cmd::Cmd;
use crate::transport::{check, Output, Transport};

use super::pool::Pool;
use super::step::{RunCtx, Step};

/// What a step on this machine answers as, in place of a host.
pub const LOCAL: &str = "localhost";

/// The run's hands: its pool of hosts and its context.
pub struct Engine<'a, 'c> {
    pub cx: &'a RunCtx<'c>,
    pool: Pool<'a>,
}

impl<'a, 'c> Engine<'a, 'c> {
    /// The engine of a run; `lxc`: the env is an LXC env, whose every planned host is its one
    /// container at `cx.addresses[0]`.
    #[must_use]
    pub fn new(cx: &'a RunCtx<'c>, lxc: bool) -> Self {
        let addr = if lxc {
            cx.addresses.first().cloned()
        } else {
            None
        };
        // Under `-n` nothing waits on a host: one at a time, so the lines come in plan order.
        let parallel = if cx.dry_run { 1 } else { cx.parallel.max(1) };
        Engine {
            cx,
            pool: Pool::new(cx.connector, cx.env, parallel, addr, cx.rep),
        }
    }

    /// Run `f` on each of `hosts` (planned names), at most `parallel` at a time.
    pub fn on_hosts<T: Send>(
        &self,
        hosts: &[String],
        f: &(dyn Fn(&mut dyn Transport, &str) -> Result<T> + Sync),
    ) -> Vec<(String, Result<T>)> {
        self.pool.run(hosts, f)
    }

    /// Run one command on each of `hosts`, shown as `verb` (with `-v`); each host's output
    /// whatever its exit status (under `-n`, an empty success).
    pub fn cmd_on(&self, hosts: &[String], verb: &str, cmd: &Cmd) -> Vec<(String, Result<Output>)> {
        let rep = self.cx.rep;
        self.on_hosts(hosts, &|t: &mut dyn Transport, _h: &str| {
            super::record::exec(t, rep, verb, cmd.clone())
        })
    }

    /// The line of a host's step: `[web1] deb.deploy: installed djdemo 1.1 (0.9 s)` (no time
    /// under `-n`, "ok" when nothing is said).
    pub fn said(&self, host: &str, task: &str, what: &str, secs: Option<f64>) {
        said(self.cx, host, task, what, secs.filter(|_| !self.cx.dry_run));
    }

    /// Run a step on `only` of its hosts (all of them when `None`); a step on this machine
    /// answers as [`LOCAL`]. A failure under `warn_only` is a warning and counts as done.
    pub fn step(&self, step: &Step, only: Option<&[String]>) -> Vec<(String, Result<()>)> {
        let cx = self.cx;
        let Some(planned) = step.hosts() else {
            let r = match step {
                Step::Local { cmd, warn_only, .. } => {
                    let mut here = cx.local();
                    user_run(here.as_mut(), "local", cmd, *warn_only, cx.rep).map(drop)
                }
                Step::Here { action, .. } => action.run(cx),
                Step::Confirm { question, .. } => ask(question, cx),
                _ => unreachable!("host-scoped steps have hosts"),
            };
            return vec![(LOCAL.to_string(), r)];
        };
        let hosts: Vec<String> = planned
            .iter()
            .filter(|h| only.is_none_or(|o| o.contains(h)))
            .cloned()
            .collect();
        if hosts.is_empty() {
            return Vec::new();
        }
        if let Step::Put { local, .. } = step {
            // Under `-n` an earlier step of the plan may still make the file.
            if !local.is_file() && !cx.dry_run {
                return hosts
                    .into_iter()
                    .map(|h| (h, Err(not_a_file(local))))
                    .collect();
            }
        }
        if let Step::Fleet { action, .. } = step {
            // The fleet prints each host's line itself, with its time.
            return match action.run(self, &hosts) {
                Err(e) => vec![(LOCAL.to_string(), Err(e))],
                Ok(results) => results.into_iter().map(|(h, r)| (h, r.map(drop))).collect(),
            };
        }
        let many = planned.len() > 1;
        let warn_only = step.warn_only();
        self.on_hosts(&hosts, &|t: &mut dyn Transport, h: &str| {
            run_on(step, t, h, many, cx)
        })
        .into_iter()
        .map(|(h, r)| match r {
            Err(e) if warn_only => {
                cx.rep.warn(&format!("[{h}] {e} (warn_only)"));
                (h, Ok(()))
            }
            r => (h, r),
        })
        .collect()
    }
}

/// A `put` whose local file is not there (or is not a file): the OS's reason kept as the cause.
fn not_a_file(local: &std::path::Path) -> Error {
    let source = match fs_err::metadata(local) {
        Err(e) => e,
        Ok(_) => std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
    };
    Error::File {
        action: "put",
        path: local.to_path_buf(),
        source,
        hint: Some("paths are relative to the project directory (or the step's `lcd`)".into()),
    }
}

/// One host-scoped step on one host: a user's command, put or get shown as Fabric shows it
/// (`[web1] run: uname -a`, then its output); a built-in's work as one line saying what it did
/// and how long it took (`[web1] deb.deploy: installed djdemo 1.1 (0.9 s)`).
pub fn run_on(
    step: &Step,
    t: &mut dyn Transport,
    host: &str,
    many: bool,
    cx: &RunCtx<'_>,
) -> Result<()> {
    let echo = Echoing(cx.rep);
    match step {
        Step::Run {
            task,
            cmd,
            warn_only,
            builtin: Some(phrase),
            ..
        } => {
            let start = Instant::now();
            let out = super::record::exec(t, cx.rep, "sudo", cmd.clone())?;
            let what = builtin_what(t, cx, host, (task, phrase, *warn_only), cmd, out)?;
            let secs = (!t.recording()).then(|| start.elapsed().as_secs_f64());
            said(cx, host, task, &what, secs);
            Ok(())
        }
        Step::Run { cmd, warn_only, .. } => {
            let verb = if cmd
                .clone()
                .without_sudo_if_root(t.login_user())
                .sudo
                .is_some()
            {
                "sudo"
            } else {
                "run"
            };
            user_run(t, verb, cmd, *warn_only, cx.rep).map(drop)
        }
        Step::Put {
            local,
            remote,
            sudo,
            ..
        } => t.put(local, remote, *sudo, &echo),
        Step::Get { remote, local, .. } => {
            let dest = if t.recording() {
                if many {
                    local.join(host)
                } else {
                    local.clone()
                }
            } else {
                get_dest(local, host, many)?
            };
            t.get(remote, &dest, &echo)
        }
        Step::Host { task, action, .. } => {
            let start = Instant::now();
            let what = action.run(t, cx)?;
            let secs = (!t.recording()).then(|| start.elapsed().as_secs_f64());
            said(cx, host, task, &what, secs);
            Ok(())
        }
        Step::Local { .. } | Step::Here { .. } | Step::Confirm { .. } | Step::Fleet { .. } => {
            unreachable!("not a single host's step")
        }
    }
}

/// How a built-in's command (`cmd`, which printed `out` on `t`) ended, for its line: under
/// `-n` what it would do; its last line (`web_mode: live (…)` under the task `web_mode` reads
/// `live (…)`); with `warn_only` a failure said as a warning. `step`: its task, its phrase for
/// `-n` and `warn_only`. Its stderr's warnings are said once per run. A failure is the error.
pub fn builtin_what(
    t: &dyn Transport,
    cx: &RunCtx<'_>,
    host: &str,
    step: (&str, &str, bool),
    cmd: &Cmd,
    out: Output,
) -> Result<String> {
    let (task, phrase, warn_only) = step;
    let shown = cmd.clone().without_sudo_if_root(t.login_user());
    if t.recording() {
        return Ok(format!("would {phrase}"));
    }
    if out.status != 0 && warn_only {
        cx.rep
            .warn(&format!("[{host}] {} (warn_only): {shown}", out.exit()));
        return Ok(format!("failed ({}), a warning only", out.exit()));
    }
    let out = check(t.host(), &shown, out)?;
    // Its warnings are dfab's own (a maintenance switch with no snippet to read it): shown
    // whatever the verbosity.
    for l in out.stderr_str().lines().filter(|l| l.contains("warning")) {
        let w = format!("[{host}] {task}: {}", bare_warning(l, task));
        if first_time(&w) {
            cx.rep.warn(&w);
        }
    }
    let last = last_line(&out.stdout_str()).unwrap_or("ok").to_string();
    Ok(last
        .strip_prefix(&format!("{task}: "))
        .map_or(last.clone(), String::from))
}

/// Whether this run has not said `warning` yet: a host program's warning about the host (no
/// systemd as PID 1) is said once per host and run, however many of its calls print it.
fn first_time(warning: &str) -> bool {
    static SAID: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    SAID.lock()
        .map_or(true, |mut s| s.insert(warning.to_string()))
}

/// A warning line of a host program without its own `task: warning:` prefix (the console adds
/// `warning: [host] task:`).
#[must_use]
pub fn bare_warning<'a>(line: &'a str, task: &str) -> &'a str {
    let l = line.trim();
    let l = l.strip_prefix(&format!("{task}: ")).unwrap_or(l);
    l.strip_prefix("warning: ").unwrap_or(l)
}

/// The last non-empty line a command printed: how a built-in's script says it ended.
fn last_line(out: &str) -> Option<&str> {
    out.lines().rev().map(str::trim).find(|l| !l.is_empty())
}

/// The line of a host's step, as [`Engine::said`] prints it.
fn said(cx: &RunCtx<'_>, host: &str, task: &str, what: &str, secs: Option<f64>) {
    let what = if what.is_empty() { "ok" } else { what };
    match secs {
        Some(s) => cx.rep.info(&format!("[{host}] {task}: {what} ({s:.1} s)")),
        None => cx.rep.info(&format!("[{host}] {task}: {what}")),
    }
}

/// A question of the plan: `-y` answers yes; under `-n` it is shown, not asked.
pub fn ask(question: &str, cx: &RunCtx<'_>) -> Result<()> {
    if cx.dry_run {
        cx.rep.info(&format!("would ask: {question}"));
        return Ok(());
    }
    if cx.yes {
        return Ok(());
    }
    crate::report::confirm(question)
}

/// A command the user wrote: shown as the user wrote it (no sudo wrapper when logged in as
/// root), its output as it comes; a non-zero exit fails unless `warn_only`.
fn user_run(
    t: &mut dyn Transport,
    verb: &str,
    cmd: &Cmd,
    warn_only: bool,
    rep: &dyn Reporter,
) -> Result<Output> {
    let cmd = cmd.clone().without_sudo_if_root(t.login_user());
    // Shown as the user wrote it, as Fabric shows `sudo: <command>`: the sudo wrapper is the
    // verb (`-v` and the trace show the same line; the command run is `cmd` whole).
    let (verb, shown) = match &cmd.sudo {
        Some(s) => (
            s.user
                .as_ref()
                .map_or_else(|| "sudo".to_string(), |u| format!("sudo -u {u}")),
            Cmd {
                sudo: None,
                ..cmd.clone()
            },
        ),
        None => (verb.to_string(), cmd.clone()),
    };
    rep.echo(t.host(), &verb, &shown);
    let out = crate::hostside::exec(t, &cmd, Some(rep))?;
    if out.status != 0 && warn_only {
        rep.warn(&format!(
            "[{}] exit status {} (warn_only): {cmd}",
            t.host(),
            out.status
        ));
        return Ok(out);
    }
    check(t.host(), &cmd, out)
}

/// Where a `get` from `host` lands: `<local>/<host>/` when the step has several hosts.
pub fn get_dest(l: &std::path::Path, host: &str, many: bool) -> Result<std::path::PathBuf> {
    let dest = if many { l.join(host) } else { l.to_path_buf() };
    let dir = if many || l.to_string_lossy().ends_with('/') {
        dest.clone()
    } else {
        dest.parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    };
    if !dir.as_os_str().is_empty() {
        fs_err::create_dir_all(&dir)?;
    }
    Ok(dest)
}

/// A reporter that shows the commands it is told of as the user's own (by default, not only
/// with `-v`): for a user's `put` and `get`.
struct Echoing<'a>(&'a dyn Reporter);

impl Reporter for Echoing<'_> {
    fn command(&self, host: &str, verb: &str, cmd: &Cmd) {
        self.0.echo(host, verb, cmd);
    }
    fn verbose(&self) -> bool {
        self.0.verbose()
    }
    fn line(&self, host: &str, stream: Stream, line: &str) {
        self.0.line(host, stream, line);
    }
    fn info(&self, msg: &str) {
        self.0.info(msg);
    }
    fn warn(&self, msg: &str) {
        self.0.warn(msg);
    }
    fn secret(&self, value: &str) {
        self.0.secret(value);
    }
    fn transfer(&self, host: &str, what: &str, total: u64) -> Box<dyn crate::report::Meter> {
        self.0.transfer(host, what, total)
    }
}

#[cfg(test)]
mod tests {
    use super::not_a_file;
    use crate::error::render;

    #[test]
    fn a_put_of_a_missing_file_keeps_the_os_reason_and_names_the_path() {
        let e = not_a_file(std::path::Path::new("/nonexistent/dfab-test/app.conf"));
        assert_eq!(e.code(), 1);
        assert_eq!(
            render(&e),
            "error: cannot put /nonexistent/dfab-test/app.conf\n  caused by: failed to query \
             resolved metadata `/nonexistent/dfab-test/app.conf`: No such file or directory (os \
             error 2)\nhint: paths are relative to the project directory (or the step's `lcd`)\n"
        );
        assert!(render(&not_a_file(std::path::Path::new("/"))).contains("not a regular file"));
    }
}
