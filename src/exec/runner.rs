//! Carrying out a plan's steps: each in order; a host-scoped step on all its hosts at once (at
//! most `parallel` at a time); a failed host takes no further steps, and the run stops after
//! the step in which any host failed. `--dry-run` runs the same code against recorders (see
//! [`super::record`]): every command is shown and nothing connects anywhere.

use std::path::Path;

use crate::environments::{Env, Project};
use crate::error::Result;
use crate::report::Reporter;

use super::connect::Connector;
use super::engine::Engine;
use super::record::RecordingConnector;
use super::step::{RunCtx, Step};
use super::summary::Tally;

pub use super::engine::{get_dest, run_on};

/// How many hosts a step runs on at once when neither `--parallel` nor the env's `parallel`
/// says: a fleet of up to 64 hosts goes in one wave, as Fabric's `ThreadingGroup` and
/// Capistrano send every host at once (at 16, a 64-host deploy took four waves, each a whole
/// login and every stage's round trips late: 2.3× Fabric's wall time through an 80 ms round
/// trip, `scripts/bench-latency.sh`). Each host in flight costs this machine one ssh master
/// (a process of a few MB) and a thread; connection starts are paced per sshd
/// (`transport::master`), not by this number.
pub const DEFAULT_PARALLEL: usize = 64;

/// Run-wide switches for [`execute`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecOptions {
    pub dry_run: bool,
    pub yes: bool,
    pub quiet: bool,
    /// Hosts at a time (`--parallel`, else the env's `parallel`, else [`DEFAULT_PARALLEL`]).
    pub parallel: usize,
}

/// What the executor carries out: a resolved plan's steps and where they come from.
#[derive(Clone, Copy)]
pub struct Work<'a> {
    pub steps: &'a [Step],
    pub env: &'a Env,
    pub project_dir: &'a Path,
    /// An LXC env: every planned host is its one container, at the first activated address.
    pub lxc: bool,
}

/// Run every step of `work` on its hosts; `addresses` are the activated targets (an LXC env's
/// container address). Under `o.dry_run` the same code runs against recorders.
pub fn execute(
    project: &Project,
    work: Work<'_>,
    addresses: &[String],
    connector: &dyn Connector,
    rep: &dyn Reporter,
    o: ExecOptions,
) -> Result<()> {
    let recording = RecordingConnector { lxc: work.lxc };
    let connector: &dyn Connector = if o.dry_run { &recording } else { connector };
    let cx = RunCtx {
        project,
        env: work.env,
        project_dir: work.project_dir,
        connector,
        rep,
        yes: o.yes,
        quiet: o.quiet,
        addresses,
        parallel: o.parallel.max(1),
        dry_run: o.dry_run,
    };
    let eng = Engine::new(&cx, work.lxc);
    // Every question is asked before anything runs, never from a pool thread.
    let mut asked = false;
    for step in work.steps {
        if let Step::Confirm { question, .. } = step {
            super::engine::ask(question, &cx)?;
            asked = true;
        }
    }
    let mut tally = Tally::default();
    tally.expect(work.steps.iter().filter_map(Step::hosts).flatten().cloned());
    for step in work.steps {
        if asked && matches!(step, Step::Confirm { .. }) {
            continue;
        }
        let Some(step_hosts) = step.hosts() else {
            if let Some((_, Err(e))) = eng.step(step, None).pop() {
                return tally.finish_with(rep, e);
            }
            continue;
        };
        require_hosts(work.env, step_hosts)?;
        let live: Vec<String> = step_hosts
            .iter()
            .filter(|h| !tally.failed(h))
            .cloned()
            .collect();
        for (host, r) in eng.step(step, Some(&live)) {
            match r {
                // A fleet step that stopped before any host changed.
                Err(e) if host == super::engine::LOCAL => return tally.finish_with(rep, e),
                r => tally.record(&host, step.task(), r, false, rep),
            }
        }
        if tally.any_failed() {
            break;
        }
    }
    if o.dry_run && !tally.any_failed() {
        // Nothing ran: no summary of outcomes.
        return Ok(());
    }
    tally.finish(rep)
}

fn require_hosts(env: &Env, hosts: &[String]) -> Result<()> {
    if hosts.is_empty() {
        return Err(env.key_error(
            "hosts",
            format!("environment `{}` has no hosts", env.name),
            Some("set `hosts` in the env or `__all__`, or pass -H host1,host2".into()),
        ));
    }
    Ok(())
}
