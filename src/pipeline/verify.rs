//! What a resume finds on the hosts its journal says finished the install: each must run the
//! build this resume ships (dpkg's version, and the sha256 the host's history recorded for it).
//! A host on another build (a rebuild since, or a change behind the deploy's back) is reinstalled
//! with `force=yes`, else the resume is refused, naming each host and both builds.

use super::run::{Run, Stop};
use super::Kind;

/// The first 12 hex digits of a sha256, as the output shows builds.
fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

impl Run<'_, '_, '_, '_> {
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
        // A rolling resume calls this before each batch: a host marked once is not judged again
        // by what the lock saw before its reinstall.
        for h in self.p.stages[si]
            .hosts
            .iter()
            .filter(|h| !self.reinstall.contains(h))
        {
            let done = self.j.steps[base].done.contains(h);
            for s in release.for_host(job, h) {
                let Some(st) = self.at_lock.get(h, &s.package) else {
                    continue; // not reported: nothing to judge by
                };
                let built = self.at_lock.built(h, &s.package);
                let same_version = st
                    .as_ref()
                    .is_some_and(|(v, st)| *v == s.version && st.starts_with("ii"));
                if same_version && built == Some(s.sha256.as_str()) {
                    continue;
                }
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
        }
        if other.is_empty() {
            return Ok(());
        }
        if !force {
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
            super::run::push(&mut self.reinstall, h);
            for rec in &mut self.j.steps[base..] {
                rec.done.retain(|d| d != h);
            }
        }
        self.save();
        Ok(())
    }
}
