//! A [`Release`]: the build a run ships, loaded and checked once (the build record's .debs, each
//! re-hashed; the debconf answers, checked against the packages' templates) and then passed by
//! reference to every host's routine.

use std::path::Path;

use crate::error::Result;
use crate::report::Reporter;
use crate::transport::sha256_hex;

use super::debconf_db::{self, DebconfDb};
use super::record::{self, Shipment};
use super::{templates, Job};

/// What one deploy ships.
#[derive(Debug, Clone)]
pub struct Release {
    /// The selected packages of the build record, verified by sha256 (empty for a rollback,
    /// which installs what each host keeps, and under `-n` before the first build).
    pub packages: Vec<Shipment>,
    /// The env's debconf answers, if it names a file.
    pub debconf: Option<DebconfDb>,
    /// `-n` with no build record yet: the run would ship what its build step makes.
    pub planned: bool,
    /// The git commit the build was made from (`<hash>` or `<hash>-dirty`), for the history.
    pub commit: Option<String>,
}

impl Release {
    /// The build record of `job` (the packages `deploy_packages` selects), each .deb re-hashed,
    /// and the debconf answers checked against the packages' templates: a misspelt question is
    /// an error naming the file and line, a question with neither answer nor default a warning.
    /// Under `dry_run` a missing record is the build this run makes, said so.
    pub fn load(job: &Job, dry_run: bool, rep: &dyn Reporter) -> Result<Release> {
        Self::load_as(job, dry_run, rep, "deb.deploy")
    }

    /// [`Release::load`] for `task` (`setup_release`), which heads its lines.
    pub fn load_as(job: &Job, dry_run: bool, rep: &dyn Reporter, task: &str) -> Result<Release> {
        let debconf = Self::answers(job)?;
        let (record, commit) = match record::read_stamped(&job.package_dir)? {
            Some((r, c)) => (Some(r), c),
            None => (None, None),
        };
        // Under -n after a deb.build of the same plan, the run ships what that build makes: the
        // record an earlier build left stands for it only when it is of the version that build
        // makes (which the build then reuses), never another (maybe a lower) one.
        let stale = |all: &[record::Shipment]| {
            let v = job.after_build.as_ref().and_then(|b| b.version.as_deref());
            v.is_none_or(|v| all.iter().any(|s| s.version != v))
        };
        if dry_run && job.after_build.is_some() && record.as_deref().is_none_or(stale) {
            rep.info(&format!(
                "{task}: would ship what deb.build makes ({} in {})",
                if record.is_some() {
                    "not the earlier build recorded"
                } else {
                    "no build record yet"
                },
                job.package_dir.display()
            ));
            return Ok(Release {
                packages: Vec::new(),
                debconf,
                planned: true,
                commit: None,
            });
        }
        let Some(all) = record else {
            return Err(super::Error::NoBuildRecord {
                path: job.package_dir.join(crate::deb::manifest::FILE_NAME),
                env: job.env.clone(),
            }
            .into());
        };
        let packages = job.select.pick(all)?;
        let mut tpl = Vec::new();
        for s in &packages {
            crate::releases::check_package_name(&s.package)?;
            record::verify(s, &job.env)?;
            tpl.extend(templates::from_deb(&s.path)?);
        }
        let checked = templates::check(debconf.as_ref(), &tpl)?;
        for q in &checked.unanswered {
            rep.warn(&format!(
                "debconf question `{q}` has neither an answer{} nor a default",
                job.debconf
                    .as_ref()
                    .map(|p| format!(" in {}", p.display()))
                    .unwrap_or_default()
            ));
        }
        for s in &packages {
            rep.info(&format!(
                "{task}: {} {} ({}, sha256 {} verified)",
                s.package,
                s.version,
                s.file,
                &s.sha256[..16]
            ));
        }
        Ok(Release {
            packages,
            debconf,
            planned: false,
            commit,
        })
    }

    /// What a rollback needs: the debconf answers only (each host reinstalls a release it
    /// keeps).
    pub fn answers_only(job: &Job) -> Result<Release> {
        Ok(Release {
            packages: Vec::new(),
            debconf: Self::answers(job)?,
            planned: false,
            commit: None,
        })
    }

    fn answers(job: &Job) -> Result<Option<DebconfDb>> {
        if let Some(text) = &job.debconf_text {
            // Read from outside the project, or decrypted: parsed from memory, named by the
            // file when there is one.
            let file = job.debconf.clone().unwrap_or_else(|| {
                format!("{}.debconf (from outside the project)", job.env).into()
            });
            return debconf_db::from_text(&file, text.clone()).map(Some);
        }
        job.debconf
            .as_deref()
            .map(|p: &Path| debconf_db::load(p, job.debconf_key.as_ref()))
            .transpose()
    }

    /// The packages `host` gets.
    pub fn for_host<'a>(
        &'a self,
        job: &'a Job,
        host: &'a str,
    ) -> impl Iterator<Item = &'a Shipment> {
        self.packages
            .iter()
            .filter(move |s| job.select.wants_on(&s.package, host))
    }

    /// One sha256 over the shipped packages (`package version sha256` lines, sorted), and those
    /// lines: what the journal compares to tell a changed build.
    #[must_use]
    pub fn build_id(&self) -> (String, Vec<String>) {
        let mut lines: Vec<String> = self
            .packages
            .iter()
            .map(|s| format!("{} {} {}", s.package, s.version, s.sha256))
            .collect();
        lines.sort();
        (sha256_hex(lines.join("\n").as_bytes()), lines)
    }
}
