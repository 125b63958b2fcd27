//! `deb.deploy` and `rollback` over their hosts, as colmena runs a deployment: the checks here
//! once (a [`Release`]), then every host's preflight, a gate (no host changes unless every host
//! passed), then each host's change. Each phase hands its values to the next; a batch or the
//! hosts left to resume are just a shorter list of hosts.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use crate::error::Result;
use crate::exec::engine::Engine;
use crate::exec::step::{FleetAction, RunCtx};
use crate::transport::Transport;

use super::ship::{self, Change, HostFacts};
use super::{Job, Release};

/// What a fleet gives back: each host and what happened there.
pub type Outcomes = Vec<(String, Result<Change>)>;

/// The engine's view of [`Outcomes`]: each host's line.
fn lines(o: Outcomes) -> Vec<(String, Result<String>)> {
    o.into_iter().map(|(h, r)| (h, r.map(|c| c.what))).collect()
}

/// `deb.deploy`: the last build to its hosts.
#[derive(Debug)]
pub struct Deploy {
    pub job: Job,
    /// The release, loaded the first time it is needed and never again in this run.
    release: OnceLock<Release>,
}

impl Deploy {
    /// A deploy of `job`'s build.
    #[must_use]
    pub fn new(job: Job) -> Self {
        Deploy {
            job,
            release: OnceLock::new(),
        }
    }

    /// The release this deploy ships: loaded and checked here on the first call (the build
    /// record, each .deb's sha256, the debconf answers against the templates), then the same
    /// value for the rest of the run. The wrapped deploy calls it before maintenance.
    pub fn release(&self, cx: &RunCtx<'_>) -> Result<&Release> {
        if let Some(r) = self.release.get() {
            return Ok(r);
        }
        let r = Release::load(&self.job, cx.dry_run, cx.rep)?;
        Ok(self.release.get_or_init(|| r))
    }

    /// For the wrapped deploy, whose hosts passed this preflight in the session that took the
    /// deploy lock (`facts`: what it found on each host): each host's change only. The hosts
    /// of `reinstall` get the release even where its version is installed (from another build).
    pub fn run_locked(
        &self,
        eng: &Engine<'_, '_>,
        hosts: &[String],
        facts: &HashMap<String, HostFacts>,
        reinstall: &[String],
    ) -> Result<Outcomes> {
        let release = self.release(eng.cx)?;
        let none = HostFacts::default();
        let forced = Job {
            force: true,
            ..self.job.clone()
        };
        Ok(change_all(
            eng,
            "deb.deploy",
            hosts,
            Instant::now(),
            &|t, cx, h| {
                let job = if reinstall.iter().any(|r| r == h) {
                    &forced
                } else {
                    &self.job
                };
                ship::ship(t, cx, release, job, facts.get(h).unwrap_or(&none))
            },
        ))
    }

    /// The release, if this run has loaded it.
    #[must_use]
    pub fn loaded(&self) -> Option<&Release> {
        self.release.get()
    }
}

impl FleetAction for Deploy {
    fn run(&self, eng: &Engine<'_, '_>, hosts: &[String]) -> Result<Vec<(String, Result<String>)>> {
        let release = self.release(eng.cx)?;
        Ok(lines(to_hosts(
            eng,
            "deb.deploy",
            release,
            hosts,
            |t, cx, facts| ship::ship(t, cx, release, &self.job, facts),
        )))
    }
}

/// `rollback`: each host back to a kept release.
#[derive(Debug)]
pub struct Rollback {
    pub job: Job,
    pub packages: Vec<String>,
    /// `version=X`, else the release before the current one.
    pub version: Option<String>,
    /// The task named in errors (`rollback`, or the wrapped deploy's `revert`).
    pub task: &'static str,
}

impl FleetAction for Rollback {
    fn run(&self, eng: &Engine<'_, '_>, hosts: &[String]) -> Result<Vec<(String, Result<String>)>> {
        let release = Release::answers_only(&self.job)?;
        Ok(lines(to_hosts(
            eng,
            self.task,
            &release,
            hosts,
            |t, cx, _| {
                super::rollback::roll_back(
                    t,
                    cx,
                    &release,
                    &self.job,
                    &self.packages,
                    self.version.as_deref(),
                )
            },
        )))
    }
}

/// Preflight `release` on every host; unless every host passed, change none (a host that
/// passed says it was left unchanged); then `change` each host with what its preflight found,
/// each host's line printed with its time.
pub fn to_hosts(
    eng: &Engine<'_, '_>,
    task: &'static str,
    release: &Release,
    hosts: &[String],
    change: impl Fn(&mut dyn Transport, &RunCtx<'_>, &HostFacts) -> Result<Change> + Sync,
) -> Outcomes {
    let cx = eng.cx;
    let checked = eng.on_hosts(hosts, &|t: &mut dyn Transport, _h: &str| {
        let start = Instant::now();
        ship::preflight(t, cx, release, task).map(|f| (f, start))
    });
    if checked.iter().any(|(_, r)| r.is_err()) {
        return checked
            .into_iter()
            .map(|(h, r)| {
                let r = r.map(|_| Change {
                    what: "preflight passed; left unchanged (another host failed its preflight)"
                        .to_string(),
                    changed: false,
                });
                if let Ok(c) = &r {
                    eng.said(&h, task, &c.what, None);
                }
                (h, r)
            })
            .collect();
    }
    let checked: Vec<(String, HostFacts, Instant)> = checked
        .into_iter()
        .filter_map(|(h, r)| r.ok().map(|(f, start)| (h, f, start)))
        .collect();
    let start = Instant::now();
    change_all(eng, task, hosts, start, &|t, cx, h| {
        let (_, facts, _) = checked
            .iter()
            .find(|(x, _, _)| x == h)
            .expect("every host passed its preflight");
        change(t, cx, facts)
    })
}

/// `change` on each host, each host's line printed with the time since `start`.
fn change_all(
    eng: &Engine<'_, '_>,
    task: &str,
    hosts: &[String],
    start: Instant,
    change: &(dyn Fn(&mut dyn Transport, &RunCtx<'_>, &str) -> Result<Change> + Sync),
) -> Outcomes {
    let cx = eng.cx;
    eng.on_hosts(hosts, &|t: &mut dyn Transport, h: &str| {
        let c = change(t, cx, h)?;
        eng.said(h, task, &c.what, Some(start.elapsed().as_secs_f64()));
        Ok(c)
    })
}
