//! What a resume (or a revert) finds on the hosts: each host whose dpkg state changed since the
//! journal's snapshot was changed by the deploy it continues, recorded or not (a deploy killed
//! during the install records nothing of it); each host the install finished, or that has the
//! exact build this resume ships, must run that build (dpkg's version, and the sha256 the
//! host's history recorded for it, or the kept release's when the history has no line). A host
//! on another build (a rebuild since, or a change behind the deploy's back) is reinstalled with
//! `force=yes`, else the resume is refused, naming each host and both builds.

use crate::releases::history;

use super::run::{push, Run, Stop};
use super::Kind;

/// The first 12 hex digits of a sha256, as the output shows builds.
fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

impl Run<'_, '_, '_, '_> {
    /// Count as changed (and installed on) each host whose dpkg state, as the lock saw it,
    /// differs from what the journal's snapshot says it had before the deploy: that deploy
    /// changed it, whether or not it lived to record it.
    pub(crate) fn adopt_changed(&mut self) {
        let mut found = Vec::new();
        for (h, packages) in &self.j.previous {
            for (p, before) in packages {
                let Some(now) = self.at_lock.get(h, p) else {
                    continue; // not reported: nothing to judge by
                };
                let same = match (before, now) {
                    (None, None) => true,
                    (Some(b), Some(now)) => b.same_as(now),
                    _ => false,
                };
                if !same && !self.j.changed.contains(h) {
                    let now = now.as_ref().map_or_else(
                        || "not installed".to_string(),
                        |(v, st)| crate::releases::state::version_words(v, st),
                    );
                    found.push((
                        h.clone(),
                        format!(
                            "{p} {} before the last deploy, {now} now: counted as changed by it",
                            before.as_ref().map_or_else(
                                || "not installed".into(),
                                super::journal::Before::words
                            )
                        ),
                    ));
                }
            }
        }
        for (h, what) in &found {
            self.eng.said(h, "deploy", what, None);
            push(&mut self.j.changed, h);
            push(&mut self.j.installed, h);
        }
    }

    /// Check the hosts that finished the install step against the build this resume ships;
    /// with `force`, mark those on another build to be reinstalled (and every later step to
    /// run on them again), else refuse naming them.
    pub(crate) fn verify_resumed(&mut self, force: bool) -> Result<(), Stop> {
        if self.eng.cx.dry_run {
            return Ok(());
        }
        let (Some(job), Some(release)) = (&self.p.job, self.p.release()) else {
            return Ok(());
        };
        let Some(si) = self.p.stages.iter().position(|s| s.kind == Kind::Install) else {
            return Ok(());
        };
        let base: usize = self.p.stages[..si].iter().map(|s| s.steps.len()).sum();
        let mut other = Vec::new();
        // Hosts not done that have exactly this build (the deploy it continues installed it and
        // did not live to record it), with the packages whose history line is missing.
        let mut has_it: Vec<(String, Vec<String>)> = Vec::new();
        // A rolling resume calls this before each batch: a host marked once is not judged again
        // by what the lock saw before its reinstall.
        for h in self.p.stages[si]
            .hosts
            .iter()
            .filter(|h| !self.reinstall.contains(h))
        {
            let done = self.j.steps[base].done.contains(h);
            let mut exact = true;
            let mut unrecorded = Vec::new();
            for s in release.for_host(job, h) {
                let Some(st) = self.at_lock.get(h, &s.package) else {
                    exact = false;
                    continue; // not reported: nothing to judge by
                };
                let built = self.at_lock.built(h, &s.package);
                let same_version = st
                    .as_ref()
                    .is_some_and(|(v, st)| *v == s.version && st.starts_with("ii"));
                // No history line for the installed version (the install's shell did not live
                // to write it): the release the host keeps for it tells which build it was.
                let kept = self.facts.get(h).and_then(|f| {
                    let path = crate::deploy::remote::release_path(&s.package, &s.file);
                    f.there
                        .iter()
                        .find(|(p, _)| *p == path)
                        .map(|(_, sha)| sha.as_str())
                });
                if same_version && built.is_none() && kept == Some(s.sha256.as_str()) {
                    unrecorded.push(s.package.clone());
                    continue;
                }
                if same_version && built == Some(s.sha256.as_str()) {
                    continue;
                }
                exact = false;
                // A host not done yet gets the release anyway; one on the same version from
                // another build needs the reinstall too (the install refuses it otherwise).
                if !done && !same_version {
                    continue;
                }
                let has = match (st, built) {
                    (Some((v, _)), Some(b)) if same_version => format!(
                        "has {} {v} from another build (sha256 {}), not this deploy's ({})",
                        s.package,
                        short(b),
                        short(&s.sha256)
                    ),
                    (Some((v, _)), None) if same_version => format!(
                        "has {} {v} from a build its history does not know, not this deploy's ({})",
                        s.package,
                        short(&s.sha256)
                    ),
                    (Some((v, st)), _) => format!(
                        "has {} {v} ({}), not this deploy's {} (sha256 {})",
                        s.package,
                        st.trim(),
                        s.version,
                        short(&s.sha256)
                    ),
                    (None, _) => format!(
                        "does not have {} installed, not this deploy's {} (sha256 {})",
                        s.package,
                        s.version,
                        short(&s.sha256)
                    ),
                };
                other.push((h.clone(), has));
            }
            if exact && (!done || !unrecorded.is_empty()) {
                has_it.push((h.clone(), unrecorded));
            }
        }
        if other.is_empty() {
            self.adopt_installed(si, &has_it);
            return Ok(());
        }
        if !force {
            self.refused = true;
            return Err(Stop {
                task: self.p.stages[si].word.clone(),
                error: super::Error::OtherBuildInstalled {
                    env: self.p.env.clone(),
                    hosts: other.iter().map(|(h, w)| format!("[{h}] {w}")).collect(),
                }
                .into(),
            });
        }
        for (h, has) in &other {
            self.eng.said(
                h,
                "deploy",
                &format!("{has}: reinstalling it (force=yes)"),
                None,
            );
            push(&mut self.reinstall, h);
            for rec in &mut self.j.steps[base..] {
                rec.done.retain(|d| d != h);
            }
        }
        has_it.retain(|(h, _)| !self.reinstall.contains(h));
        self.adopt_installed(si, &has_it);
        self.save();
        Ok(())
    }

    /// The hosts of `has_it` have exactly this build installed: they finished the install
    /// stage `si` (said per host), and the history line their install did not live to write
    /// (an older dfab-host, killed with dfab) is written now, for each package named.
    fn adopt_installed(&mut self, si: usize, has_it: &[(String, Vec<String>)]) {
        if has_it.is_empty() {
            return;
        }
        let base: usize = self.p.stages[..si].iter().map(|s| s.steps.len()).sum();
        let task = self.p.stages[si].word.clone();
        let Some(release) = self.p.release() else {
            return;
        };
        for (h, unrecorded) in has_it {
            for s in release
                .packages
                .iter()
                .filter(|s| unrecorded.contains(&s.package))
            {
                let line = history::Record {
                    package: &s.package,
                    version: &s.version,
                    sha256: &s.sha256,
                    outcome: history::Outcome::Ok,
                    action: "deploy",
                    commit: release.commit.as_deref(),
                };
                let cmd = history::append(&line, &history::local_user());
                for (h, r) in self.eng.cmd_on(std::slice::from_ref(h), "sudo", &cmd) {
                    if let Err(e) = r.and_then(|o| crate::transport::check(&h, &cmd, o)) {
                        self.eng.cx.rep.warn(&format!(
                            "[{h}] the history line of {} {} could not be written: {e}",
                            s.package, s.version
                        ));
                    }
                }
            }
            let what = if unrecorded.is_empty() {
                "has this deploy's build already: done".to_string()
            } else {
                format!(
                    "has this deploy's build already (by its kept release's sha256; the \
                     history line missing for {} is written now): done",
                    unrecorded.join(", ")
                )
            };
            self.eng.said(h, &task, &what, None);
            // Whether it changed is what its snapshot says ([`Run::adopt_changed`]): a host
            // that had this build before the deploy is done, not changed.
            push(&mut self.j.steps[base].done, h);
        }
        self.save();
    }
}
