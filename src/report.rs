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
    /// A command about to run on `host` (or, under `--dry-run`, that would run).
    fn command(&self, host: &str, verb: &str, cmd: &Cmd);
    /// One line a command printed.
    fn line(&self, host: &str, stream: Stream, line: &str);
    /// A progress or status message.
    fn info(&self, msg: &str);
    /// A warning, always shown.
    fn warn(&self, msg: &str);
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
}

impl Console {
    #[must_use]
    pub fn new(verbosity: Verbosity) -> Self {
        Console {
            verbosity,
            lock: Mutex::new(()),
            redactor: RwLock::new(Redactor::default()),
        }
    }

    /// Redact these secrets from everything printed from now on.
    pub fn set_redactor(&self, r: Redactor) {
        *self.redactor.write().expect("redactor lock") = r;
    }

    /// `text` with the secrets replaced (for the error printed at exit).
    #[must_use]
    pub fn redact(&self, text: &str) -> String {
        self.redactor.read().expect("redactor lock").apply(text)
    }
}

impl Reporter for Console {
    fn command(&self, host: &str, verb: &str, cmd: &Cmd) {
        if self.verbosity >= Verbosity::Normal {
            let _g = self.lock.lock();
            let text = self.redact(&format!("[{host}] {verb}: {cmd}"));
            let _ = writeln!(std::io::stdout(), "{text}");
        }
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
}
