//! When the sequence stops: maintenance off again if no host changed; else the hosts named and
//! the two ways on, or the revert (`on_failure = 'revert'`, `deploy:revert=yes`): on the hosts
//! this deploy installed on, the release `rollback` would go back to, then live. And the per-host
//! summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::deploy::fleet::Rollback;
use crate::deploy::ship::change_words;
use crate::deploy::Select;
use crate::error::{describe, render, Result};
use crate::exec::record::read;
use crate::exec::step::Step;
use crate::releases::state;
use crate::transport::{check, Transport};

use super::error::cause;
use super::journal::{self, LOCAL};
use super::run::{push, Run, Stop};
use super::{OnFailure, Strategy};

impl Run<'_, '_, '_, '_> {
    /// The sequence stopped at `stop`.
    pub(crate) fn failed(&mut self, stop: Stop) -> Result<()> {
        let rep = self.eng.cx.rep;
        if self.refused {
            // A resume refused before it changed anything leaves the journal as it found it,
            // for the commands its hint names (`resume=yes,force=yes`, `revert=yes`).
            if let (Some(old), false) = (&self.old, self.eng.cx.dry_run) {
                if let Err(e) = journal::save(&self.p.journal, old) {
                    rep.warn(&format!("deploy: could not put the journal back: {e}"));
                }
            }
            return Err(stop.error);
        }
        let interrupted = super::interrupt::requested();
        self.j.status = if interrupted { "interrupted" } else { "failed" }.into();
        self.j.next = self.j.steps.iter().position(|s| !s.finished());
        self.j.error = Some(render(&stop.error));
        self.save();
        let env = &self.p.env;
        let verb = if interrupted {
            "stopped (Ctrl-C) at"
        } else {
            "failed in"
        };
        let msg;
        if self.j.changed.is_empty() {
            let mut on = self.j.maintenance_on.clone();
            // A host whose last step took maintenance off and released the lock is done.
            if let Some(f) = &self.fold {
                let released = f.released.lock().expect("released lock").clone();
                on.retain(|h| !released.contains(h));
            }
            if on.is_empty() {
                msg = format!(
                    "deploy {verb} {} before any host changed; nothing to undo",
                    stop.task
                );
            } else {
                self.live(&on);
                msg = format!(
                    "deploy {verb} {} before any host changed: maintenance taken off again on {}",
                    stop.task,
                    on.join(", ")
                );
            }
            self.j.next = None;
            self.save();
            rep.warn(&msg);
            rep.info(&self.summary());
            return Err(stop.error);
        }
        let targets: Vec<String> = match self.p.settings.strategy {
            // A rolling deploy reverts the failed batch only: earlier batches passed their check.
            Strategy::Rolling(_) => self
                .batch
                .iter()
                .filter(|h| self.j.installed.contains(h))
                .cloned()
                .collect(),
            Strategy::Parallel => self.j.installed.clone(),
            Strategy::Bluegreen | Strategy::Serial => {
                unreachable!("a fleet's deploy is planned by lxc_fleet")
            }
        };
        if self.p.settings.on_failure == OnFailure::Revert {
            rep.warn(&format!(
                "deploy {verb} {}: on_failure = 'revert': reinstalling the previous release on {}",
                stop.task,
                if targets.is_empty() {
                    "no host".to_string()
                } else {
                    targets.join(", ")
                }
            ));
            let r = self.revert(&targets);
            rep.info(&self.summary());
            r?;
            return Err(super::Error::Reverted {
                task: stop.task,
                releases: crate::releases::releases_dir(&self.p.lock_package),
                cause: describe(&stop.error).trim_end().to_string(),
                cause_hint: stop.error.hint(),
            }
            .into());
        }
        let next = self
            .j
            .next
            .and_then(|i| self.j.steps.get(i))
            .map_or_else(|| stop.task.clone(), |s| s.task.clone());
        rep.info(&self.summary());
        Err(super::Error::Failed {
            task: stop.task,
            interrupted,
            cause: describe(&stop.error).trim_end().to_string(),
            cause_hint: stop.error.hint(),
            env: env.clone(),
            changed: self.j.changed.clone(),
            maintenance: (!self.j.maintenance_on.is_empty())
                .then(|| self.j.maintenance_on.join(", ")),
            next,
            installed: self.j.installed.clone(),
            journal: self.p.journal.clone(),
            release_mode: self.p.release_mode,
        }
        .into())
    }

    /// `deploy:revert=yes`.
    pub(crate) fn revert_command(&mut self) -> Result<()> {
        let hosts = self.j.installed.clone();
        if hosts.is_empty() && self.j.maintenance_on.is_empty() {
            return Err(super::Error::NothingToRevert {
                env: self.p.env.clone(),
            }
            .into());
        }
        let r = self.revert(&hosts);
        self.eng.cx.rep.info(&self.summary());
        r
    }

    /// Reinstall on each host the release rollback would go back to (see
    /// [`Run::choose_revert_targets`]), then take maintenance off.
    pub(crate) fn revert(&mut self, hosts: &[String]) -> Result<()> {
        let mut problems = Vec::new();
        let mut groups: Vec<(String, String, Vec<String>)> = Vec::new();
        let mut known = Vec::new();
        for h in hosts {
            if self.j.previous.contains_key(h) {
                known.push(h.clone());
            } else {
                problems.push(format!("[{h}] what it had before is not in the journal"));
            }
        }
        self.choose_revert_targets(&known, &mut problems);
        for h in &known {
            let Some(targets) = self.j.revert_to.get(h) else {
                continue;
            };
            for (p, v) in targets {
                match groups.iter_mut().find(|(gp, gv, _)| gp == p && gv == v) {
                    Some(g) => g.2.push(h.clone()),
                    None => groups.push((p.clone(), v.clone(), vec![h.clone()])),
                }
            }
        }
        for (package, version, group) in groups {
            let steps = self.rollback_steps(&package, &version, &group);
            let mut ok = true;
            for step in &steps {
                for (h, r) in self.eng.step(step, step.hosts().map(|_| group.as_slice())) {
                    if let Err(e) = r {
                        ok = false;
                        problems.push(format!(
                            "[{h}] revert of {package} to {version}: {}",
                            cause(&e)
                        ));
                    }
                }
                if !ok {
                    break;
                }
            }
            if ok {
                for h in &group {
                    push(&mut self.reverted, h);
                }
            }
        }
        let on = self.j.maintenance_on.clone();
        if !on.is_empty() {
            self.live(&on);
        }
        self.j.status = if problems.is_empty() {
            "reverted"
        } else {
            "revert failed"
        }
        .into();
        self.j.next = None;
        self.save();
        if problems.is_empty() {
            self.eng.cx.rep.info(&format!(
                "deploy: reverted {}; the site is live",
                if self.reverted.is_empty() {
                    "nothing".to_string()
                } else {
                    self.reverted.join(", ")
                }
            ));
            Ok(())
        } else {
            Err(super::Error::RevertIncomplete {
                env: self.p.env.clone(),
                problems,
            }
            .into())
        }
    }

    /// Choose, for each package this deploy shipped to each of `hosts`, the release its revert
    /// goes back to, by rollback's own rule ([`state::rollback_target`] on the host's state and
    /// history as the failed deploy left them): the last release that was installed and
    /// working before this deploy, which is not always what dpkg had (`iF` after an earlier
    /// failed deploy). The choice goes into the journal; one made by an earlier revert stands.
    /// Where no release qualifies, the package is left installed and `problems` says why.
    fn choose_revert_targets(&mut self, hosts: &[String], problems: &mut Vec<String>) {
        let rep = self.eng.cx.rep;
        let mut packages: Vec<String> = Vec::new();
        for h in hosts {
            for p in self.j.previous.get(h).into_iter().flat_map(BTreeMap::keys) {
                if !packages.contains(p) {
                    packages.push(p.clone());
                }
            }
        }
        for p in &packages {
            let todo: Vec<String> = hosts
                .iter()
                .filter(|h| self.j.previous.get(*h).is_some_and(|m| m.contains_key(p)))
                .filter(|h| !self.j.revert_to.get(*h).is_some_and(|m| m.contains_key(p)))
                .cloned()
                .collect();
            let cmd = state::read_cmd(p);
            let read = self.eng.on_hosts(&todo, &|t: &mut dyn Transport, h: &str| {
                match read(t, rep, "read", cmd.clone())?.known() {
                    Some(o) => {
                        let st = state::parse(&check(h, &cmd, o)?.stdout_str());
                        Ok(state::rollback_target(&st, None).map(|k| k.version.clone()))
                    }
                    // `-n`: found in the host's history at run time.
                    None => Ok(Ok("<previous-version>".to_string())),
                }
            });
            for (h, r) in read {
                match r {
                    Ok(Ok(v)) => {
                        self.j.revert_to.entry(h).or_default().insert(p.clone(), v);
                    }
                    Ok(Err(why)) => problems.push(format!("[{h}] {p} left installed: {why}")),
                    Err(e) => problems.push(format!(
                        "[{h}] {p}: its releases could not be read: {}",
                        cause(&e)
                    )),
                }
            }
        }
        self.save();
    }

    /// The rollback of `package` to `version` on `hosts`, as one fleet step (preflight, gate,
    /// each host's install of its kept release).
    fn rollback_steps(&self, package: &str, version: &str, hosts: &[String]) -> Vec<Step> {
        let Some(job) = &self.p.job else {
            return Vec::new();
        };
        let mut job = job.clone();
        job.select = Select::Names(vec![package.to_string()]);
        job.force = false;
        vec![Step::Fleet {
            task: "deploy (revert)".to_string(),
            hosts: hosts.to_vec(),
            action: Arc::new(Rollback {
                job,
                packages: vec![package.to_string()],
                version: Some(version.to_string()),
                task: "revert",
            }),
        }]
    }

    /// Take maintenance off on `hosts`.
    pub(crate) fn live(&mut self, hosts: &[String]) {
        let Some(cmd) = &self.p.live else { return };
        for (h, r) in self.eng.cmd_on(hosts, "sudo", cmd) {
            match r {
                Ok(o) if o.status == 0 => self.j.maintenance_on.retain(|x| *x != h),
                Ok(o) => self.eng.cx.rep.warn(&format!(
                    "[{h}] maintenance could not be taken off: {}",
                    o.stderr_str().trim()
                )),
                Err(e) => self
                    .eng
                    .cx
                    .rep
                    .warn(&format!("[{h}] maintenance could not be taken off: {e}")),
            }
        }
        self.save();
    }

    /// Per host: what the deploy did there.
    pub(crate) fn summary(&self) -> String {
        let mut out = String::from("Deploy summary:\n");
        for h in &self.p.hosts {
            let failed = self
                .j
                .steps
                .iter()
                .find_map(|s| s.failed.get(h).map(|e| (s, e)));
            let reached = self
                .j
                .steps
                .iter()
                .any(|s| s.done.contains(h) || s.failed.contains_key(h));
            let line = if self.reverted.contains(h) {
                let to = self.j.revert_to.get(h).map(|m| {
                    m.iter()
                        .map(|(p, v)| format!("{p} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                });
                format!(
                    "reverted to the previous release ({})",
                    to.unwrap_or_default()
                )
            } else if let Some((s, e)) = failed {
                format!("FAILED in {}: {}", s.task, summary_line(h, e))
            } else if self.j.installed.contains(h) {
                self.installed_line(h)
            } else if self.j.changed.contains(h) {
                "changed (no package installed)".into()
            } else if reached && self.j.status == "done" {
                "ok, release unchanged".into()
            } else if reached {
                // Not "ok": the deploy stopped, maybe before this host's turn.
                "release unchanged".into()
            } else {
                "not reached: left on its old release".into()
            };
            let _ = writeln!(out, "  [{h}] {line}");
        }
        for h in &self.p.left_out {
            let _ = writeln!(out, "  [{h}] left out of this run (-H)");
        }
        let _ = LOCAL;
        out.trim_end().to_string()
    }
}

impl Run<'_, '_, '_, '_> {
    /// The summary's line for a host the deploy installed on: per package, what dpkg had
    /// before (with its status when that was not `ii`: `iF` after an earlier failed deploy)
    /// and the version shipped, e.g. `upgraded p 1.1-1 (half-configured, dpkg iF) → 1.2-1`; in
    /// release mode, what the release install did (`switched current a → b`).
    fn installed_line(&self, h: &str) -> String {
        if self.p.release_mode {
            // Release mode: what the release install said it did (`switched current a → b`);
            // dpkg's states are not what changed.
            return self
                .p
                .release_deploy
                .as_ref()
                .and_then(|d| d.said(h))
                .unwrap_or_else(|| "installed a new release (`releases` lists it)".into());
        }
        let Some(before) = self.j.previous.get(h).filter(|m| !m.is_empty()) else {
            return "installed (what it had before is not in the journal)".into();
        };
        let build = self.j.build.clone().or_else(|| self.p.build());
        let shipped = |p: &str| -> Option<String> {
            build.as_ref()?.packages.iter().find_map(|l| {
                let mut f = l.split(' ');
                (f.next() == Some(p)).then(|| f.next().map(String::from))?
            })
        };
        before
            .iter()
            .map(|(p, b)| {
                let was = b.as_ref().map(|b| (b.version.as_str(), b.status.as_str()));
                match (shipped(p), b) {
                    (Some(v), _) => change_words(p, was, &v),
                    (None, Some(b)) => format!("changed {p} (was {})", b.words()),
                    (None, None) => format!("installed {p} (nothing of it was installed before)"),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A host's error (as the journal keeps it, rendered) as one line for the summary: its first
/// line without `error: ` and the host's own `[host] `, which the summary line names already.
fn summary_line(host: &str, rendered: &str) -> String {
    let first = rendered.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    first
        .strip_prefix(&format!("[{host}] "))
        .unwrap_or(first)
        .to_string()
}
