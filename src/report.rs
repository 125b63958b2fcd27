//! Output: command echo, per-host prefixed lines, and messages, at the chosen verbosity.

use std::io::Write;
use std::sync::{Mutex, RwLock};

use crate::secret::Redactor;

use crate::transport::cmd::Cmd;

/// Which stream a line of command output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// Where dfab's output goes. Passed explicitly; tests use [`Capture`].
pub trait Reporter: Sync {
    /// The exact command behind a step, about to run on `host` (or, under `--dry-run`, that
    /// would run): shown with `-v`, and written to the trace (`DFAB_TRACE`).
    fn command(&self, host: &str, verb: &str, cmd: &Cmd);
    /// A command the user wrote (a user task's `run`, `sudo`, `local`, `put`, `get`): shown by
    /// default, as Fabric shows it, and traced like [`Reporter::command`].
    fn echo(&self, host: &str, verb: &str, cmd: &Cmd) {
        self.command(host, verb, cmd);
    }
    /// One line a command printed.
    fn line(&self, host: &str, stream: Stream, line: &str);
    /// A progress or status message.
    fn info(&self, msg: &str);
    /// A warning, always shown.
    fn warn(&self, msg: &str);
    /// The summary of a run in which a host failed: as [`Reporter::info`], and where that shows
    /// nothing (`-q`, `--json`), on stderr all the same, since the error's hint points at it.
    fn failed_summary(&self, msg: &str) {
        self.info(msg);
    }
    /// Is the remote output of successful commands wanted (`-v`)? Built-ins that run their
    /// commands without echo pass the output to [`Reporter::line`] only then.
    fn verbose(&self) -> bool {
        false
    }
    /// From now on, print `value` as a secret is printed (redacted). A value made at run time,
    /// such as the deploy lock's token.
    fn secret(&self, _value: &str) {}
    /// A transfer of `total` bytes to or from `host` starts; the returned meter is told each
    /// piece as it passes. The console draws a bar on a terminal and prints plain lines
    /// otherwise; the default shows nothing.
    fn transfer(&self, host: &str, what: &str, total: u64) -> Box<dyn Meter> {
        let _ = (host, what, total);
        Box::new(NoMeter)
    }
}

/// Progress of one transfer.
pub trait Meter: Send {
    /// `n` more bytes passed.
    fn add(&mut self, n: u64);
    /// The transfer ended (successfully or not).
    fn done(&mut self);
}

struct NoMeter;

impl Meter for NoMeter {
    fn add(&mut self, _: u64) {}
    fn done(&mut self) {}
}

/// Transfers smaller than this get no progress display.
pub const METER_MIN_BYTES: u64 = 8 << 20;

/// A bar on a terminal.
struct BarMeter(indicatif::ProgressBar);

impl Meter for BarMeter {
    fn add(&mut self, n: u64) {
        self.0.inc(n);
    }
    fn done(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Plain lines for logs: one at the start, one at each quarter, one at the end with the rate.
struct LineMeter {
    label: String,
    total: u64,
    seen: u64,
    next_quarter: u64,
    start: std::time::Instant,
    redactor: Redactor,
}

impl Meter for LineMeter {
    fn add(&mut self, n: u64) {
        self.seen += n;
        while self.next_quarter < 4 && self.seen * 4 >= self.total * (self.next_quarter + 1) {
            self.next_quarter += 1;
            if self.next_quarter < 4 {
                let line = format!("{}: {}%", self.label, self.next_quarter * 25);
                let _ = writeln!(std::io::stderr(), "{}", self.redactor.apply(&line));
            }
        }
    }
    fn done(&mut self) {
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        #[allow(clippy::cast_precision_loss)]
        let mib = self.seen as f64 / f64::from(1u32 << 20);
        let line = format!(
            "{}: {mib:.1} MiB in {secs:.1} s ({:.0} MiB/s)",
            self.label,
            mib / secs
        );
        let _ = writeln!(std::io::stderr(), "{}", self.redactor.apply(&line));
    }
}

/// How chatty the console is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// Prints to stdout/stderr, each output line prefixed `[host]` as Fabric does.
/// Every line it prints passes through its [`Redactor`], so no secret value reaches the
/// terminal or a log, whatever form or path it took.
pub struct Console {
    pub verbosity: Verbosity,
    lock: Mutex<()>,
    redactor: RwLock<Redactor>,
    /// `DFAB_TRACE=FILE`: every command shown or not, one `[host] verb: cmd` line each, appended
    /// (redacted as the console is); the tests compare a `-n` run's with a real run's.
    trace: Option<Mutex<fs_err::File>>,
}

impl Console {
    #[must_use]
    pub fn new(verbosity: Verbosity) -> Self {
        let trace = std::env::var_os("DFAB_TRACE").and_then(|p| {
            fs_err::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
                .map(Mutex::new)
        });
        Console {
            verbosity,
            lock: Mutex::new(()),
            redactor: RwLock::new(Redactor::default()),
            trace,
        }
    }

    /// Redact these secrets from everything printed from now on.
    pub fn set_redactor(&self, r: Redactor) {
        *self.redactor.write().expect("redactor lock") = r;
    }

    /// Redact `value` too from now on.
    pub fn add_secret(&self, value: &str) {
        let mut r = self.redactor.write().expect("redactor lock");
        *r = r.with(value);
    }

    /// Print `[host] verb: cmd` from `level` on, and write it to the trace.
    fn show(&self, host: &str, verb: &str, cmd: &Cmd, level: Verbosity) {
        let text = self.redact(&format!("[{host}] {verb}: {cmd}"));
        let _g = self.lock.lock();
        if let Some(trace) = &self.trace {
            let mut f = trace.lock().expect("trace lock");
            let _ = writeln!(f, "{text}");
        }
        if self.verbosity >= Verbosity::Verbose {
            let _ = writeln!(std::io::stdout(), "{text}");
        } else if self.verbosity >= level {
            // A script's first line; `-v` shows the whole command.
            let _ = writeln!(std::io::stdout(), "{}", one_line(&text, usize::MAX));
        }
    }

    /// `text` with the secrets replaced (for the error printed at exit).
    #[must_use]
    pub fn redact(&self, text: &str) -> String {
        self.redactor.read().expect("redactor lock").apply(text)
    }
}

impl Reporter for Console {
    fn secret(&self, value: &str) {
        self.add_secret(value);
    }

    fn command(&self, host: &str, verb: &str, cmd: &Cmd) {
        self.show(host, verb, cmd, Verbosity::Verbose);
    }

    fn echo(&self, host: &str, verb: &str, cmd: &Cmd) {
        self.show(host, verb, cmd, Verbosity::Normal);
    }

    fn line(&self, host: &str, stream: Stream, line: &str) {
        if self.verbosity == Verbosity::Quiet && stream == Stream::Out {
            return;
        }
        let line = self.redact(line);
        let _g = self.lock.lock();
        match stream {
            Stream::Out => drop(writeln!(std::io::stdout(), "[{host}] out: {line}")),
            Stream::Err => drop(writeln!(std::io::stderr(), "[{host}] err: {line}")),
        }
    }

    fn info(&self, msg: &str) {
        if self.verbosity >= Verbosity::Normal {
            let msg = self.redact(msg);
            let _g = self.lock.lock();
            let _ = writeln!(std::io::stdout(), "{msg}");
        }
    }

    fn warn(&self, msg: &str) {
        let msg = self.redact(msg);
        let _g = self.lock.lock();
        let _ = writeln!(std::io::stderr(), "warning: {msg}");
    }

    fn failed_summary(&self, msg: &str) {
        if self.verbosity >= Verbosity::Normal {
            return self.info(msg);
        }
        let msg = self.redact(msg);
        let _g = self.lock.lock();
        let _ = writeln!(std::io::stderr(), "{msg}");
    }

    fn verbose(&self) -> bool {
        self.verbosity >= Verbosity::Verbose
    }

    fn transfer(&self, host: &str, what: &str, total: u64) -> Box<dyn Meter> {
        use std::io::IsTerminal;
        if self.verbosity == Verbosity::Quiet || total < METER_MIN_BYTES {
            return Box::new(NoMeter);
        }
        let label = format!("[{host}] {what}");
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(self.redact(&label));
            return Box::new(BarMeter(bar));
        }
        Box::new(LineMeter {
            label,
            total,
            seen: 0,
            next_quarter: 0,
            start: std::time::Instant::now(),
            redactor: self.redactor.read().expect("redactor lock").clone(),
        })
    }
}

/// Collects everything, for tests.
#[derive(Default)]
pub struct Capture {
    pub lines: Mutex<Vec<String>>,
}

impl Capture {
    /// Everything reported so far, one entry per line.
    #[must_use]
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().expect("capture lock"))
    }

    fn push(&self, s: String) {
        self.lines.lock().expect("capture lock").push(s);
    }
}

impl Reporter for Capture {
    fn command(&self, host: &str, verb: &str, cmd: &Cmd) {
        self.push(format!("[{host}] {verb}: {cmd}"));
    }
    fn line(&self, host: &str, stream: Stream, line: &str) {
        let tag = if stream == Stream::Out { "out" } else { "err" };
        self.push(format!("[{host}] {tag}: {line}"));
    }
    fn info(&self, msg: &str) {
        self.push(msg.to_string());
    }
    fn warn(&self, msg: &str) {
        self.push(format!("warning: {msg}"));
    }
    /// Everything is collected, the output lines of quiet commands too.
    fn verbose(&self) -> bool {
        true
    }
}

/// Ask on the terminal; without one, refuse and point at `-y`.
pub fn confirm(question: &str) -> crate::error::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(crate::error::Error::usage(
            format!("{question} (refused: no terminal to ask on)"),
            Some("pass -y to confirm".into()),
        ));
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if crate::invocation::parse_bool(answer.trim()) == Some(true) {
        Ok(())
    } else {
        Err(crate::error::Error::usage(
            "not confirmed; nothing done",
            None,
        ))
    }
}

/// `text` as one line of at most `max` characters, ending in ` …` where it was cut (the first
/// line only).
#[must_use]
pub fn one_line(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or_default();
    let cut = first.chars().count() > max || text.contains('\n');
    if !cut {
        return first.to_string();
    }
    let keep: String = first.chars().take(max.saturating_sub(2)).collect();
    format!("{keep} …")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_long_or_multi_line_command_is_shown_as_one_cut_line() {
        assert_eq!(one_line("[h] run: ls", 120), "[h] run: ls");
        assert_eq!(one_line("[h] run: a\nb", 120), "[h] run: a …");
        let long = format!("[h] run: {}", "x".repeat(200));
        let shown = one_line(&long, 120);
        assert_eq!(shown.chars().count(), 120);
        assert!(shown.ends_with(" …"));
    }
}
