//! The per-host tally of a run and its closing summary: each host's last step and outcome.

use std::fmt::Write as _;

use crate::error::{render, Error, Result};
use crate::report::Reporter;

/// What happened on one host.
enum Outcome {
    NotReached,
    Ok,
    Failed(Error),
}

/// Hosts in the order they were first reached, with their last task and outcome.
#[derive(Default)]
pub(crate) struct Tally {
    hosts: Vec<(String, String, Outcome)>,
}

impl Tally {
    /// Record `host`'s result for a step of `task`; a failure under `warn_only` is a warning.
    pub(crate) fn record(
        &mut self,
        host: &str,
        task: &str,
        r: Result<()>,
        warn_only: bool,
        rep: &dyn Reporter,
    ) {
        let outcome = match r {
            Ok(()) => Outcome::Ok,
            Err(e) if warn_only => {
                rep.warn(&format!("[{host}] {e} (warn_only)"));
                Outcome::Ok
            }
            Err(e) => Outcome::Failed(e),
        };
        match self.hosts.iter_mut().find(|(h, _, _)| h == host) {
            Some(entry) => *entry = (host.to_string(), task.to_string(), outcome),
            None => self
                .hosts
                .push((host.to_string(), task.to_string(), outcome)),
        }
    }

    /// Note the hosts a run plans for, so the summary can name those it never reached.
    pub(crate) fn expect(&mut self, hosts: impl IntoIterator<Item = String>) {
        for h in hosts {
            if !self.hosts.iter().any(|(x, _, _)| *x == h) {
                self.hosts.push((h, String::new(), Outcome::NotReached));
            }
        }
    }

    /// Whether `host` failed a step already.
    pub(crate) fn failed(&self, host: &str) -> bool {
        self.hosts
            .iter()
            .any(|(h, _, o)| h == host && matches!(o, Outcome::Failed(_)))
    }

    pub(crate) fn any_failed(&self) -> bool {
        self.hosts
            .iter()
            .any(|(_, _, o)| matches!(o, Outcome::Failed(_)))
    }

    /// End the run after a step on this machine failed with `e`.
    pub(crate) fn finish_with(self, rep: &dyn Reporter, e: Error) -> Result<()> {
        if self.hosts.len() > 1 {
            rep.info(&self.summary());
        }
        Err(e)
    }

    /// End the run: with one host, its own error; with several, the summary and how many failed.
    pub(crate) fn finish(mut self, rep: &dyn Reporter) -> Result<()> {
        let total = self.hosts.len();
        if total <= 1 {
            return match self.hosts.pop() {
                Some((_, _, Outcome::Failed(e))) => Err(e),
                _ => Ok(()),
            };
        }
        let failed = self
            .hosts
            .iter()
            .filter(|(_, _, o)| matches!(o, Outcome::Failed(_)))
            .count();
        if failed == 0 {
            rep.info(&self.summary());
            Ok(())
        } else {
            rep.failed_summary(&self.summary());
            Err(Error::HostsFailed { failed, total })
        }
    }

    fn summary(&self) -> String {
        let mut out = String::from("Summary:\n");
        for (host, task, o) in &self.hosts {
            match o {
                Outcome::NotReached => {
                    let _ = writeln!(out, "  [{host}] not reached");
                }
                // An ad-hoc command's steps are named "the command `…`", as typed.
                Outcome::Ok if task.starts_with("the command `") => {
                    let _ = writeln!(out, "  [{host}] ok ({task})");
                }
                Outcome::Ok => {
                    let _ = writeln!(out, "  [{host}] ok (last task: {task})");
                }
                Outcome::Failed(e) => {
                    let what = if task.starts_with("the command `") {
                        task.clone()
                    } else {
                        format!("task {task}")
                    };
                    let _ = writeln!(out, "  [{host}] FAILED in {what}:");
                    for line in render(e).lines() {
                        let _ = writeln!(out, "      {line}");
                    }
                }
            }
        }
        out.trim_end().to_string()
    }
}
