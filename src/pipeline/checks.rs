//! What the pipeline reads before it changes anything: the build (its sha256, the same build on
//! resume), `deb.deploy`'s checks on this machine, the no-op check, the versions each host had,
//! and `maintenance = 'auto'`'s check.

use crate::deploy::{record, Release};
use crate::error::Error;
use crate::instance::actions::Verdict;
use crate::releases::state;
use crate::transport::sha256_hex;

use super::held::DpkgState;
use super::journal::{Before, Build};
use super::run::{Run, Stop};
use super::{Kind, Mode, Pipeline};

impl Pipeline {
    /// The release this deploy ships, if this run has loaded it ([`Run::check_here`]).
    #[must_use]
    pub fn release(&self) -> Option<&Release> {
        match (&self.deploy, &self.release_deploy) {
            (Some(d), _) => d.loaded(),
            (None, Some(d)) => d.loaded(),
            (None, None) => None,
        }
    }

    /// The shipped packages, with one sha256 over them: of the release this run loaded (none
    /// before it is loaded, or under `-n` before the first build).
    #[must_use]
    pub fn build(&self) -> Option<Build> {
        let r = self.release().filter(|r| !r.planned)?;
        let (sha256, packages) = r.build_id();
        Some(Build { sha256, packages })
    }

    /// The `(package, file)` pairs this deploy selects from the build record as it is before
    /// this run's build step may write a new one (none without a record), read once: the lock
    /// reports the packages' dpkg state, and its preflight asks which of the files a host holds
    /// (a build that keeps its version and bytes, a deploy after a rollback, is then not sent
    /// again).
    #[must_use]
    pub fn recorded(&self) -> Vec<(String, String)> {
        let Some(job) = &self.job else {
            return Vec::new();
        };
        record::peek_files(&job.package_dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|(p, _)| job.select.wants(p))
            .collect()
    }

    /// The packages this deploy ships: the loaded release's, else those of the record.
    fn shipped_packages(&self) -> Vec<String> {
        match self.release() {
            Some(r) => r.packages.iter().map(|s| s.package.clone()).collect(),
            None => self.recorded().into_iter().map(|(p, _)| p).collect(),
        }
    }

    /// sha256 of the debconf answers, if the env has them: of the text this run loaded (an
    /// answers file decrypted in memory, or one from outside the project), else of the file.
    #[must_use]
    pub fn debconf_sha(&self) -> Option<String> {
        if let Some(db) = self.release().and_then(|r| r.debconf.as_ref()) {
            return Some(sha256_hex(db.text.expose().as_bytes()));
        }
        let p = self.job.as_ref()?.debconf.as_ref()?;
        fs_err::read(p).ok().map(|b| sha256_hex(&b))
    }

    /// `host package=version` for every package each install host gets.
    #[must_use]
    pub fn expected_installed(&self) -> Vec<String> {
        let (Some(job), Some(release), Some(install)) = (
            &self.job,
            self.release(),
            self.stages.iter().find(|s| s.kind == super::Kind::Install),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for h in &install.hosts {
            for s in release.for_host(job, h) {
                out.push(format!("{h} {}={}", s.package, s.version));
            }
        }
        out.sort();
        out
    }
}

impl Run<'_, '_, '_, '_> {
    /// Before the first stage after the build: on resume, the build must be the failed
    /// deploy's; then `deb.deploy`'s checks on this machine ([`Run::check_here`]); then, on a
    /// fresh deploy, an unchanged build, debconf and hosts is nothing to do.
    ///
    /// The checks come before the no-op test: a debconf file the env names but that is missing
    /// or wrong is an error even when nothing would be installed (with no answers file the
    /// no-op test would see "no debconf, as last time" and say nothing), and a .deb changed
    /// after its build is caught although its build record is unchanged.
    pub(crate) fn before_first_change(&mut self) -> Result<bool, Stop> {
        let stop = |e: Error| Stop {
            task: "deploy".into(),
            error: e,
        };
        self.check_here()?;
        let now = self.p.build();
        if self.j.build.is_none() && now.is_some() {
            // Recorded now: a deploy killed in the install (whose stage records nothing before
            // it ends, as in release mode) leaves the build a resume must match.
            self.j.build.clone_from(&now);
            self.save();
        }
        if let Mode::Resume { force } = self.p.mode {
            let was = self.old.as_ref().and_then(|o| o.build.clone());
            if let (Some(was), Some(now)) = (&was, &now) {
                if was.sha256 != now.sha256 && !force {
                    self.refused = true;
                    return Err(stop(
                        super::Error::BuildChanged {
                            env: self.p.env.clone(),
                            was: was.sha256.clone(),
                            now: now.sha256.clone(),
                            release_mode: self.p.release_mode,
                        }
                        .into(),
                    ));
                }
            }
        }
        if let Mode::Resume { force } = self.p.mode {
            self.verify_resumed(force)?;
            return Ok(true);
        }
        if self.p.release_mode {
            return self.release_noop();
        }
        self.dpkg_noop()
    }

    /// dpkg mode's no-op test, by what each install host said when the lock was taken (its
    /// dpkg state, the build its history records for the installed version, the answers that
    /// build was last configured with): every host has this build and the env's answers is
    /// nothing to deploy; this build everywhere with answers some host is not known to have is
    /// `deb.reconfigure` on those hosts alone; anything else (or a host that could not say),
    /// the whole sequence. `-n` asks no host: it says so, and shows the whole sequence.
    fn dpkg_noop(&mut self) -> Result<bool, Stop> {
        let (Some(job), Some(release), Some(install)) = (
            &self.p.job,
            self.p.release(),
            self.p.stages.iter().find(|s| s.kind == Kind::Install),
        ) else {
            return Ok(true);
        };
        let builds = if release.planned {
            "the one this run's build makes".to_string()
        } else {
            release
                .packages
                .iter()
                .map(|s| {
                    format!(
                        "{} sha256 {}",
                        s.package,
                        &s.sha256[..s.sha256.len().min(12)]
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.eng.cx.dry_run {
            self.eng.cx.rep.info(&format!(
                "deploy: -n asks no host: the steps below are for hosts without this build \
                 ({builds})"
            ));
            self.eng.cx.rep.info(
                "deploy: a host with this build gets nothing, or only deb.reconfigure if its \
                 debconf answers differ",
            );
            return Ok(true);
        }
        if release.planned {
            return Ok(true);
        }
        let answers = self.p.debconf_sha();
        let mut differ = Vec::new();
        for h in &install.hosts {
            let mut host_differs = false;
            for s in release.for_host(job, h) {
                let Some(Some((v, st))) = self.at_lock.get(h, &s.package) else {
                    return Ok(true);
                };
                if *v != s.version
                    || !st.starts_with("ii")
                    || self.at_lock.built(h, &s.package) != Some(s.sha256.as_str())
                {
                    return Ok(true);
                }
                // Answers the host did not record (or other ones) are applied; with none in
                // the env there is nothing to apply.
                if let Some(a) = &answers {
                    host_differs |= self.at_lock.answers(h, &s.package) != Some(a.as_str());
                }
            }
            if host_differs {
                differ.push(h.clone());
            }
        }
        if install.hosts.is_empty() {
            return Ok(true);
        }
        if !differ.is_empty() {
            // Only the answers changed: applied to the installed version, no new release.
            self.reconfigure_only(&differ)?;
            return Ok(false);
        }
        self.j.status = "nothing to deploy".into();
        self.j.next = None;
        self.save();
        self.eng.cx.rep.info(&format!(
            "deploy: nothing to deploy: every host has this build ({builds}){}",
            if answers.is_some() {
                " and the env's debconf answers"
            } else {
                ""
            }
        ));
        Ok(false)
    }

    /// A deploy whose only change is the debconf answers: `deb.reconfigure` on the install
    /// hosts (each host's packages), then the journal records the answers as shipped.
    fn reconfigure_only(&mut self, hosts: &[String]) -> Result<(), Stop> {
        let stop = |e: Error| Stop {
            task: "deb.reconfigure".into(),
            error: e,
        };
        let (Some(job), Some(release)) = (&self.p.job, self.p.release()) else {
            return Ok(());
        };
        let Some(answers) = release.debconf.clone() else {
            return Ok(());
        };
        self.eng.cx.rep.info(&format!(
            "deploy: every host has this build and only the debconf answers changed (on {}, \
             by what each host recorded): applying them with deb.reconfigure (no new release)",
            hosts.join(", ")
        ));
        let mut failed = None;
        for h in hosts {
            let packages: Vec<String> = release
                .packages
                .iter()
                .filter(|s| job.select.wants_on(&s.package, h))
                .map(|s| s.package.clone())
                .collect();
            let action = crate::deploy::reconfigure::Reconfigure {
                packages,
                answers: answers.clone(),
                commit: release.commit.clone(),
                built: release
                    .packages
                    .iter()
                    .map(|s| (s.package.clone(), s.sha256.clone()))
                    .collect(),
                by: "deploy",
            };
            let cx = self.eng.cx;
            let t0 = std::time::Instant::now();
            for (host, r) in self.eng.on_hosts(std::slice::from_ref(h), &|t, _| {
                crate::exec::step::HostAction::run(&action, t, cx)
            }) {
                match r {
                    Ok(what) => {
                        self.eng.said(
                            &host,
                            "deb.reconfigure",
                            &what,
                            Some(t0.elapsed().as_secs_f64()),
                        );
                    }
                    Err(e) => {
                        failed.get_or_insert(e);
                    }
                }
            }
        }
        if let Some(e) = failed {
            self.save();
            return Err(stop(e));
        }
        if self.eng.cx.dry_run {
            return Ok(());
        }
        self.j.status = "reconfigured".into();
        self.j.next = None;
        if let Some(last) = self.j.last_success.as_mut() {
            last.debconf_sha256 = self.p.debconf_sha();
        }
        self.save();
        self.eng.cx.rep.info(&format!(
            "deploy: done: the debconf answers reached {} (no new release)",
            hosts.join(", ")
        ));
        Ok(())
    }

    /// Release mode's no-op test: every install host's `current` runs this build with these
    /// answers is nothing to deploy; this build with other answers on some is the install
    /// alone, which applies them to `current` (no new release, no maintenance); anything
    /// else, the whole sequence.
    fn release_noop(&mut self) -> Result<bool, Stop> {
        let (Some(d), Some(install)) = (
            &self.p.release_deploy,
            self.p.stages.iter().find(|s| s.kind == Kind::Install),
        ) else {
            return Ok(true);
        };
        let hosts = install.hosts.clone();
        let stop = |task: &str, error: Error| Stop {
            task: task.into(),
            error,
        };
        let survey = d
            .survey(self.eng, &hosts)
            .map_err(|e| stop(&install.word, e))?;
        let mut answers = false;
        for (_, v) in &survey {
            match v {
                Ok(Verdict::Same(_)) => {}
                Ok(Verdict::Answers(_)) => answers = true,
                Ok(Verdict::New) | Err(_) => return Ok(true),
            }
        }
        if survey.is_empty() {
            return Ok(true);
        }
        let sha = self.p.build().map(|b| b.sha256).unwrap_or_default();
        if !answers {
            self.j.status = "nothing to deploy".into();
            self.j.next = None;
            self.save();
            self.eng.cx.rep.info(&format!(
                "deploy: nothing to deploy: the current release of every host has this build \
                 (sha256 {}) and its answers",
                &sha[..sha.len().min(12)]
            ));
            return Ok(false);
        }
        self.eng.cx.rep.info(
            "deploy: the build is unchanged and only the debconf answers changed: applying \
             them to the current release (no new release)",
        );
        let word = install.word.clone();
        let mut failed = None;
        for (_, r) in crate::exec::step::FleetAction::run(d.as_ref(), self.eng, &hosts)
            .map_err(|e| stop(&word, e))?
        {
            if let Err(e) = r {
                failed.get_or_insert(e);
            }
        }
        if let Some(e) = failed {
            self.save();
            return Err(stop(&word, e));
        }
        self.j.status = "reconfigured".into();
        self.j.next = None;
        if let Some(last) = self.j.last_success.as_mut() {
            last.debconf_sha256 = self.p.debconf_sha();
        }
        self.save();
        self.eng.cx.rep.info(&format!(
            "deploy: done: the debconf answers reached {} (no new release)",
            hosts.join(", ")
        ));
        Ok(false)
    }

    /// `deb.deploy`'s checks on this machine, made once, before the first stage that touches a
    /// host, so that a bad debconf file or build record stops the deploy before maintenance:
    /// the release is loaded here, and the install stage ships this same value.
    pub(crate) fn check_here(&mut self) -> Result<(), Stop> {
        let loaded = match (&self.p.deploy, &self.p.release_deploy) {
            (Some(d), _) => d.release(self.eng.cx).map(drop),
            (None, Some(d)) => d.release(self.eng.cx).map(drop),
            (None, None) => return Ok(()),
        };
        loaded.map_err(|error| Stop {
            task: self
                .p
                .stages
                .iter()
                .find(|s| s.kind == Kind::Install)
                .map_or_else(|| "deb.deploy".into(), |s| s.word.clone()),
            error,
        })
    }

    /// Record what each host had installed before this deploy touches it.
    pub(crate) fn snapshot(&mut self, hosts: &[String]) {
        let Some(job) = &self.p.job else { return };
        let packages = self.p.shipped_packages();
        let from_lock = self.j.changed.is_empty();
        for (h, p, st) in self.dpkg_states(hosts, &packages, from_lock) {
            if !job.select.wants_on(&p, &h) {
                continue;
            }
            // dpkg's status with the version: `iF` (an earlier deploy failed) is not "nothing".
            let v = st.ok().flatten().map(|(version, st)| Before {
                version,
                status: st.trim().to_string(),
            });
            self.j.previous.entry(h).or_default().insert(p, v);
        }
        self.save();
    }

    /// dpkg's state of each of `packages` on each of `hosts`: `(host, package, state)`, where
    /// the state is `Err` when the host could not be asked. With `from_lock` (no host has changed since the lock was taken), the
    /// lock's report answers when it covers them all; otherwise one command per package.
    fn dpkg_states(
        &self,
        hosts: &[String],
        packages: &[String],
        from_lock: bool,
    ) -> Vec<(String, String, Result<DpkgState, ()>)> {
        if from_lock {
            let mut out = Vec::new();
            for h in hosts {
                for p in packages {
                    let Some(st) = self.at_lock.get(h, p) else {
                        return self.dpkg_states(hosts, packages, false);
                    };
                    out.push((h.clone(), p.clone(), Ok(st.clone())));
                }
            }
            return out;
        }
        let mut out = Vec::new();
        for p in packages {
            for (h, r) in self.eng.cmd_on(hosts, "check", &state::installed_cmd(p)) {
                let st = r
                    .map(|o| state::parse_installed(&o.stdout_str()))
                    .map_err(drop);
                out.push((h, p.clone(), st));
            }
        }
        out
    }

    /// `maintenance = 'auto'`: whether the check says migrations are pending (exit 1), none
    /// (exit 0); anything else stops the deploy before any change.
    pub(crate) fn migrations_pending(&mut self) -> Result<bool, Stop> {
        let Some((cmd, host)) = &self.p.migrate_check else {
            self.eng.cx.rep.info(
                "deploy: maintenance = 'auto': the sequence has no migration step, so no maintenance",
            );
            return Ok(false);
        };
        let (_, r) = self
            .eng
            .cmd_on(std::slice::from_ref(host), "check", cmd)
            .pop()
            .expect("one host");
        let stop = |e: Error| Stop {
            task: "migrate check".into(),
            error: e,
        };
        let o = r.map_err(stop)?;
        if self.eng.cx.dry_run {
            self.eng.cx.rep.info(
                "deploy: maintenance = 'auto': would enter maintenance if the check says migrations are pending",
            );
            return Ok(true);
        }
        match o.status {
            0 => {
                self.eng.cx.rep.info(
                    "deploy: maintenance = 'auto': no pending migration; the site stays live",
                );
                Ok(false)
            }
            1 if o.stderr_str().trim().is_empty() => {
                self.eng.cx.rep.info(
                    "deploy: maintenance = 'auto': migrations are pending; entering maintenance",
                );
                Ok(true)
            }
            // Exit 1 with errors is also a Python traceback or `sudo: unknown user`: not a
            // known answer, so the safe side, said as it is.
            1 => {
                self.eng.cx.rep.warn(&format!(
                    "[{host}] maintenance = 'auto': the migration check exited 1 with errors, so dfab \
                     cannot tell whether migrations are pending; entering maintenance to be safe: {}",
                    crate::deploy::remote::tail(&o.stderr_str(), 3)
                ));
                Ok(true)
            }
            _ => Err(stop(
                super::Error::MigrateCheck {
                    host: host.clone(),
                    exit: o.exit(),
                    stderr: o.stderr_str().trim().to_string(),
                }
                .into(),
            )),
        }
    }
}
