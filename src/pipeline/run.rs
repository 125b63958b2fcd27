//! Running the pipeline: lock, then each stage's steps (per rolling batch), the journal written
//! after every step, the checks and the no-op test before the first change, and the failure
//! paths.

use std::sync::{Condvar, Mutex};

use crate::error::describe;
use crate::error::{render, Error, Result};
use crate::exec::step::{LocalAction, RunCtx, Step};
use crate::transport::cmd::Cmd;

use super::held;
use super::journal::{self, Journal, StepRec, LOCAL};
use super::{interrupt, Kind, Maintenance, Mode, OnFailure, Pipeline, Strategy};
use crate::exec::engine::Engine;

impl LocalAction for Pipeline {
    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        let lxc = self.lxc;
        let eng = Engine::new(cx, lxc);
        let old = journal::load(&self.journal)?;
        let j = self.start_journal(old.as_ref())?;
        if let Err(e) = interrupt::install(&self.env) {
            cx.rep.warn(&format!(
                "deploy: Ctrl-C cannot be caught ({e}); it would leave the deploy lock"
            ));
        }
        if cx.dry_run {
            // The plan in two lines before its steps (what `-n` is asked for).
            let seq: Vec<&str> = self
                .settings
                .sequence
                .iter()
                .map(|(w, _)| w.as_str())
                .collect();
            cx.rep.info(&format!("deploy: {}", seq.join(", ")));
            cx.rep.info(&format!(
                "deploy: maintenance {}; {}; on failure {}; {}",
                match self.settings.maintenance {
                    Maintenance::Always => "always",
                    Maintenance::Auto => "if migrations are pending",
                    Maintenance::Never => "never",
                },
                match self.settings.strategy {
                    Strategy::Parallel => "all hosts at once".to_string(),
                    Strategy::Rolling(n) => format!("rolling, {n} at a time"),
                    Strategy::Bluegreen | Strategy::Serial => {
                        unreachable!("a fleet's deploy is planned by lxc_fleet")
                    }
                },
                match self.settings.on_failure {
                    super::OnFailure::Stop => "stop",
                    super::OnFailure::Revert => "revert",
                },
                mode_word(&self.mode)
            ));
        }
        let what = format!("deploy {} ({})", self.env, mode_word(&self.mode));
        let recorded = self.recorded();
        let packages: Vec<String> = recorded.iter().map(|(p, _)| p.clone()).collect();
        let paths: Vec<String> = recorded
            .iter()
            .map(|(p, f)| crate::deploy::remote::release_path(p, f))
            .collect();
        // A resume or revert goes on under the token of the deploy it continues: a deploy that
        // was killed still holds the lock with it.
        let killed = old
            .as_ref()
            .filter(|o| matches!(o.status.as_str(), "running" | "reverting"));
        let inherit = match self.mode {
            Mode::Fresh => None,
            Mode::Resume { .. } | Mode::Revert => old.as_ref().and_then(|o| o.token.as_deref()),
        };
        if let (Some(o), Mode::Resume { .. } | Mode::Revert) = (killed, &self.mode) {
            cx.rep.info(&format!(
                "deploy: the last deploy of `{}` ({}) is no longer running: {} it",
                self.env,
                o.process
                    .as_ref()
                    .map_or_else(|| "by an older dfab".into(), ToString::to_string),
                if self.mode == Mode::Revert {
                    "reverting"
                } else {
                    "resuming"
                }
            ));
        }
        let prior = held::Prior {
            token: inherit,
            killed: killed
                .filter(|o| self.mode == Mode::Fresh && o.still_running() == Some(false))
                .map(|o| {
                    (
                        self.env.as_str(),
                        o.process
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                    )
                }),
        };
        let held = held::take(
            &eng,
            &self.lock_package,
            &self.hosts,
            &what,
            &self.journal,
            &packages,
            self.deploy.is_some().then_some(paths.as_slice()),
            prior,
        )?;
        let stop = (Mutex::new(false), Condvar::new());
        let r = std::thread::scope(|s| {
            s.spawn(|| held.refresher(cx, lxc, &stop));
            // Nothing of the run touches a host after its last step when every host goes at
            // once and a failure stops: that step may release the lock too.
            let fold = held.fold().filter(|_| {
                self.settings.strategy == Strategy::Parallel
                    && self.settings.on_failure == OnFailure::Stop
            });
            let mut run = Run {
                p: self,
                eng: &eng,
                j,
                old,
                fold,
                at_lock: held.installed.clone(),
                facts: held.facts.clone(),
                maintenance_skipped: false,
                reverted: Vec::new(),
                batch: Vec::new(),
                reinstall: Vec::new(),
                refused: false,
            };
            run.j.token = Some(held.token.clone());
            let r = run.go();
            *stop.0.lock().expect("stop flag") = true;
            stop.1.notify_all();
            (r, run.refused)
        });
        let (r, refused) = r;
        // A refused resume leaves the lock as it found it: still held where the deploy it
        // would have continued held it.
        held.release(&eng, refused);
        if cx.dry_run && r.is_ok() {
            cx.rep.info(&format!(
                "deploy -n: the steps above would run on {}; nothing was changed",
                hosts_word(self.hosts.len())
            ));
        }
        r
    }
}

fn mode_word(m: &Mode) -> &'static str {
    match m {
        Mode::Fresh => "fresh",
        Mode::Resume { .. } => "resume",
        Mode::Revert => "revert",
    }
}

/// One run in progress.
pub(crate) struct Run<'p, 'e, 'a, 'c> {
    pub p: &'p Pipeline,
    pub eng: &'e Engine<'a, 'c>,
    pub j: Journal,
    pub old: Option<Journal>,
    /// The lock's release, for the last step of the run to do on each host (`None`: released
    /// at the end).
    pub fold: Option<held::Fold>,
    /// What dpkg had installed on each host when the lock was taken.
    pub at_lock: held::Installed,
    /// What each host's preflight (with the lock) found: the releases it holds.
    pub facts: std::collections::HashMap<String, crate::deploy::ship::HostFacts>,
    pub maintenance_skipped: bool,
    /// Hosts reverted by this run, for the summary.
    pub reverted: Vec<String>,
    /// The rolling batch in progress.
    pub batch: Vec<String>,
    /// Hosts a resume found with another build of the release installed, to reinstall.
    pub reinstall: Vec<String>,
    /// The resume was refused before it changed anything (another build, the build changed):
    /// the journal and the lock are left as they were found.
    pub refused: bool,
}

/// Why the sequence stopped.
pub(crate) struct Stop {
    pub task: String,
    pub error: Error,
}

impl Run<'_, '_, '_, '_> {
    pub(crate) fn save(&mut self) {
        self.j.updated = journal::now();
        let shown =
            crate::transport::cmd::Cmd::new("journal", [self.p.journal.display().to_string()]);
        self.eng.cx.rep.command(LOCAL, "write", &shown);
        if self.eng.cx.dry_run {
            return;
        }
        if let Err(e) = journal::save(&self.p.journal, &self.j) {
            self.eng
                .cx
                .rep
                .warn(&format!("deploy: could not write the journal: {e}"));
        }
    }

    fn go(&mut self) -> Result<()> {
        if self.p.mode != Mode::Fresh {
            // The deploy it continues may have changed hosts it did not live to record.
            self.adopt_changed();
        }
        if self.p.mode == Mode::Revert {
            return self.revert_command();
        }
        self.save();
        let r = match self.p.settings.strategy {
            Strategy::Parallel => self.stages(None, true),
            Strategy::Rolling(n) => self.rolling(n),
            Strategy::Bluegreen | Strategy::Serial => {
                unreachable!("a fleet's deploy is planned by lxc_fleet")
            }
        };
        match r {
            Ok(true) => {
                self.success();
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(stop) => self.failed(stop),
        }
    }

    /// Every stage, on `batch` of the rolling hosts (all when `None`); `once`: also the stages
    /// outside the rolling hosts. `Ok(false)`: nothing to deploy.
    pub(crate) fn stages(&mut self, batch: Option<&[String]>, once: bool) -> Result<bool, Stop> {
        let mut first_change_checked = false;
        for si in 0..self.p.stages.len() {
            let stage = &self.p.stages[si];
            if stage.kind != Kind::Build && !first_change_checked {
                first_change_checked = true;
                if !self.before_first_change()? {
                    return Ok(false);
                }
            }
            if stage.kind == Kind::Build && batch.is_some() && !once {
                continue;
            }
            let only: Option<Vec<String>> = match batch {
                Some(b) if stage.hosts.iter().any(|h| self.p.rolling_hosts.contains(h)) => Some(
                    stage
                        .hosts
                        .iter()
                        .filter(|h| b.contains(h))
                        .cloned()
                        .collect(),
                ),
                Some(_) if !once => continue,
                _ => None,
            };
            if only.as_ref().is_some_and(Vec::is_empty) {
                continue;
            }
            self.stage(si, only.as_deref())?;
        }
        Ok(true)
    }

    fn rolling(&mut self, n: usize) -> Result<bool, Stop> {
        let batches: Vec<Vec<String>> = self
            .p
            .rolling_hosts
            .chunks(n)
            .map(<[String]>::to_vec)
            .collect();
        for (i, b) in batches.iter().enumerate() {
            self.eng.cx.rep.info(&format!(
                "deploy: rolling batch {} of {}: {}",
                i + 1,
                batches.len(),
                b.join(", ")
            ));
            self.batch.clone_from(b);
            if !self.stages(Some(b), i == 0)? {
                return Ok(false);
            }
            if let Some(h) = &self.p.health {
                let mut bad = Vec::new();
                for (host, r) in self.eng.cmd_on(b, "check", h) {
                    match r {
                        Ok(o) if o.status == 0 => {}
                        Ok(o) => bad.push(format!("[{host}] {}", o.stderr_str().trim())),
                        Err(e) => bad.push(format!("[{host}] {e}")),
                    }
                }
                if !bad.is_empty() {
                    return Err(Stop {
                        task: format!("health check of rolling batch {}", i + 1),
                        error: super::Error::Health { hosts: bad }.into(),
                    });
                }
            }
        }
        Ok(true)
    }

    /// Run stage `si` on `only` of its hosts (those not done yet in any case).
    fn stage(&mut self, si: usize, only: Option<&[String]>) -> Result<(), Stop> {
        let stage = &self.p.stages[si];
        let base: usize = self.p.stages[..si].iter().map(|s| s.steps.len()).sum();
        let skip = match stage.kind {
            Kind::MaintenanceOn | Kind::Live
                if self.p.settings.maintenance == Maintenance::Never =>
            {
                Some("maintenance = 'never'")
            }
            Kind::MaintenanceOn if self.p.settings.maintenance == Maintenance::Auto => {
                if self.migrations_pending()? {
                    None
                } else {
                    self.maintenance_skipped = true;
                    Some("maintenance = 'auto' and no migration is pending")
                }
            }
            Kind::Live if self.maintenance_skipped => {
                Some("maintenance = 'auto' and the site never left live")
            }
            Kind::Migrate if self.p.release_mode => Some(
                "release mode: the release install ran the migrations with the new code before its switch",
            ),
            _ => None,
        };
        if let Some(why) = skip {
            self.eng
                .cx
                .rep
                .info(&format!("deploy: skipping {} ({why})", stage.word));
            for k in 0..stage.steps.len() {
                let rec = &mut self.j.steps[base + k];
                rec.done = if rec.hosts.is_empty() {
                    vec![LOCAL.into()]
                } else {
                    rec.hosts.clone()
                };
            }
            self.save();
            return Ok(());
        }
        // What is left of the stage on these hosts.
        let left = |rec: &StepRec| -> Vec<String> {
            rec.hosts
                .iter()
                .filter(|h| only.is_none_or(|o| o.contains(h)) && !rec.done.contains(h))
                .cloned()
                .collect()
        };
        if stage.kind == Kind::Install {
            // Record what the hosts left to install have before this deploy touches them; the
            // install itself runs on just those hosts (a batch, or those left to resume).
            let todo = left(&self.j.steps[base]);
            let unknown: Vec<String> = todo
                .iter()
                .filter(|h| !self.j.previous.contains_key(*h))
                .cloned()
                .collect();
            if !unknown.is_empty() {
                self.snapshot(&unknown);
            }
        }
        let steps: &[Step] = &stage.steps;
        for (k, step) in steps.iter().enumerate() {
            if interrupt::requested() {
                return Err(Stop {
                    task: stage.word.clone(),
                    error: super::Error::Interrupted { finished: false }.into(),
                });
            }
            let rec = &self.j.steps[base + k];
            if step.hosts().is_none() && rec.done.iter().any(|h| h == LOCAL) {
                continue;
            }
            let todo = left(rec);
            if step.hosts().is_some() && todo.is_empty() {
                continue;
            }
            // Hosts this step left as they were: the install found the release installed
            // already, or failed with dpkg's state as before (another process held dpkg's
            // lock, a rule refused it). "Changed" is what the host's state says, not that a
            // step ran there.
            let mut unchanged: Vec<String> = Vec::new();
            let todo = if stage.kind == Kind::Live {
                self.leave_as_found(&stage.word, base + k, todo)
            } else {
                todo
            };
            if step.hosts().is_some() && todo.is_empty() {
                continue;
            }
            let fold = self.release_after(si, k, step);
            let results = if stage.kind == Kind::MaintenanceOn {
                self.maintenance_on(step, &todo)
            } else if let Some((fold, cmd)) = fold {
                self.last_and_release(step, &cmd, &fold, &todo)
            } else if let (Kind::Install, Some(deploy)) = (stage.kind, &self.p.deploy) {
                // Its hosts passed the preflight when the lock was taken.
                match deploy.run_locked(self.eng, &todo, &self.facts, &self.reinstall) {
                    Err(e) => vec![(LOCAL.to_string(), Err(e))],
                    Ok(v) => v
                        .into_iter()
                        .map(|(h, r)| {
                            if matches!(&r, Ok(c) if !c.changed) {
                                unchanged.push(h.clone());
                            }
                            (h, r.map(drop))
                        })
                        .collect(),
                }
            } else {
                self.eng.step(step, step.hosts().map(|_| todo.as_slice()))
            };
            let changes = stage.changes(k);
            let mut failed = Vec::new();
            // A release install that failed left `current` where it was: it failed before the
            // switch, or switched back (its release is marked failed, never current).
            let release_install = self.p.release_mode && stage.kind == Kind::Install;
            for (h, r) in results {
                if matches!(&r, Err(e) if release_install || e.left_host_unchanged()) {
                    unchanged.push(h.clone());
                }
                if changes && h != LOCAL && !unchanged.contains(&h) {
                    push(&mut self.j.changed, &h);
                    if stage.kind == Kind::Install {
                        push(&mut self.j.installed, &h);
                    }
                }
                let rec = &mut self.j.steps[base + k];
                match r {
                    Ok(()) => {
                        rec.failed.remove(&h);
                        push(&mut rec.done, &h);
                    }
                    Err(e) => {
                        rec.failed.insert(h.clone(), render(&e));
                        failed.push((h, e));
                    }
                }
            }
            if stage.kind == Kind::Build && k + 1 == steps.len() {
                self.j.build = self.p.build();
                self.j.debconf_sha256 = self.p.debconf_sha();
            }
            self.save();
            if failed.is_empty() && interrupt::requested() {
                return Err(Stop {
                    task: stage.word.clone(),
                    error: super::Error::Interrupted { finished: true }.into(),
                });
            }
            if !failed.is_empty() {
                let error = if failed.len() == 1 {
                    failed.pop().expect("one").1
                } else {
                    let mut hints: Vec<String> = Vec::new();
                    for h in failed.iter().filter_map(|(_, e)| e.hint()) {
                        if !hints.contains(&h) {
                            hints.push(h);
                        }
                    }
                    super::Error::Hosts {
                        failures: failed
                            .iter()
                            .map(|(h, e)| (h.clone(), describe(e).trim_end().to_string()))
                            .collect(),
                        hints,
                    }
                    .into()
                };
                return Err(Stop {
                    task: stage.word.clone(),
                    error,
                });
            }
        }
        Ok(())
    }

    /// The maintenance switch, noting the hosts this deploy put into maintenance.
    fn maintenance_on(&mut self, step: &Step, todo: &[String]) -> Vec<(String, Result<()>)> {
        let Step::Run { cmd, .. } = step else {
            return self.eng.step(step, Some(todo));
        };
        let mut out = Vec::new();
        let start = std::time::Instant::now();
        let task = step.task().to_string();
        for (h, r) in self.eng.cmd_on(todo, "sudo", cmd) {
            match r {
                Ok(_) if self.eng.cx.dry_run => {
                    push(&mut self.j.maintenance_on, &h);
                    self.eng.said(&h, &task, "would turn maintenance on", None);
                    out.push((h, Ok(())));
                }
                Ok(o) if o.status == 0 => {
                    let said = o.stdout_str();
                    if said.contains("already in maintenance") {
                        if !self.j.maintenance_on.contains(&h) {
                            push(&mut self.j.maintenance_found, &h);
                        }
                    } else {
                        push(&mut self.j.maintenance_on, &h);
                    }
                    let last = said.lines().last().unwrap_or("maintenance on").trim();
                    let last = last.strip_prefix("web_mode: ").unwrap_or(last);
                    self.eng
                        .said(&h, &task, last, Some(start.elapsed().as_secs_f64()));
                    for l in o.stderr_str().lines().filter(|l| l.contains("warning")) {
                        let l = crate::exec::engine::bare_warning(l, "web_mode");
                        self.eng.cx.rep.warn(&format!("[{h}] {task}: {l}"));
                    }
                    out.push((h, Ok(())));
                }
                Ok(o) => out.push((h.clone(), crate::transport::check(&h, cmd, o).map(drop))),
                Err(e) => out.push((h, Err(e))),
            }
        }
        out
    }

    /// When step `k` of stage `si` is the run's last on its hosts and takes maintenance off
    /// (the sequence's `web_mode:live`), and the run may fold the lock's release into it: the
    /// fold and the step's command with the release after it.
    fn release_after(&self, si: usize, k: usize, step: &Step) -> Option<(held::Fold, Cmd)> {
        let fold = self.fold.as_ref()?;
        let last = self.p.stages.iter().enumerate().rev().find_map(|(i, s)| {
            s.steps
                .iter()
                .rposition(|st| st.hosts().is_some())
                .map(|j| (i, j))
        });
        if self.p.stages[si].kind != Kind::Live || last != Some((si, k)) {
            return None;
        }
        let Step::Run {
            cmd,
            builtin: Some(_),
            ..
        } = step
        else {
            return None;
        };
        let cmd = super::lock::release_after(cmd, &fold.package, &fold.token)?;
        Some((fold.clone(), cmd))
    }

    /// The run's last step (`step`, as `cmd`: with the lock's release after it) on `todo`: its
    /// line per host, then the release's; each host whose lock it released is noted in `fold`.
    fn last_and_release(
        &self,
        step: &Step,
        cmd: &Cmd,
        fold: &held::Fold,
        todo: &[String],
    ) -> Vec<(String, Result<()>)> {
        let Step::Run {
            task,
            warn_only,
            builtin: Some(phrase),
            ..
        } = step
        else {
            unreachable!("release_after folds a built-in's command only")
        };
        let (cx, eng) = (self.eng.cx, self.eng);
        eng.on_hosts(todo, &|t: &mut dyn crate::transport::Transport, h: &str| {
            let start = std::time::Instant::now();
            let out = crate::exec::record::exec(t, cx.rep, "sudo", cmd.clone())?;
            let lock = if t.recording() {
                Ok(true)
            } else {
                super::lock::released_after(&out.stdout_str())
            };
            let what =
                crate::exec::engine::builtin_what(t, cx, h, (task, phrase, *warn_only), cmd, out);
            if let Ok(what) = &what {
                let secs = (!t.recording()).then(|| start.elapsed().as_secs_f64());
                eng.said(h, task, what, secs);
            }
            match lock {
                Ok(true) => {
                    fold.note(h);
                    let said = if t.recording() {
                        "would release the deploy lock"
                    } else {
                        "released the deploy lock"
                    };
                    eng.said(h, "deploy", said, None);
                }
                // The step failed before the release: the lock is released at the end.
                Ok(false) => {}
                Err(holder) => {
                    fold.note(h);
                    cx.rep.warn(&format!(
                        "[{h}] the deploy lock was not released: held by {holder}"
                    ));
                }
            }
            what.map(drop)
        })
    }

    /// `web_mode:live` in the sequence takes off only the maintenance this deploy turned on:
    /// the other hosts of `todo` are left as found, said per host and marked done. The hosts
    /// left to switch.
    fn leave_as_found(&mut self, word: &str, rec: usize, todo: Vec<String>) -> Vec<String> {
        let (ours, others): (Vec<String>, Vec<String>) = todo
            .into_iter()
            .partition(|h| self.j.maintenance_on.contains(h));
        for h in &others {
            let why = if self.j.maintenance_found.contains(h) {
                "left in maintenance as found (it was on before this deploy; `web_mode:live` takes it off)"
            } else {
                "left as found (this deploy did not turn maintenance on here)"
            };
            self.eng.said(h, word, why, None);
            push(&mut self.j.steps[rec].done, h);
        }
        if !others.is_empty() {
            self.save();
        }
        ours
    }

    fn success(&mut self) {
        if self.eng.cx.dry_run {
            return;
        }
        self.j.status = "done".into();
        self.j.next = None;
        if let Some(build) = self.j.build.clone().or_else(|| self.p.build()) {
            self.j.last_success = Some(journal::Shipped {
                build,
                debconf_sha256: self.p.debconf_sha(),
                hosts: self.p.expected_installed(),
            });
        }
        self.save();
        self.eng.cx.rep.info(&self.summary());
        if !self.j.maintenance_found.is_empty() {
            self.eng.cx.rep.info(&format!(
                "deploy: maintenance was on before this deploy on {}: left in maintenance as found",
                self.j.maintenance_found.join(", ")
            ));
        }
        self.eng.cx.rep.info(&format!(
            "deploy: done ({})",
            hosts_word(self.p.hosts.len())
        ));
    }
}

pub(crate) fn push(v: &mut Vec<String>, h: &str) {
    if !v.iter().any(|x| x == h) {
        v.push(h.to_string());
    }
}

/// `1 host`, `3 hosts`.
pub(crate) fn hosts_word(n: usize) -> String {
    if n == 1 {
        "1 host".into()
    } else {
        format!("{n} hosts")
    }
}
