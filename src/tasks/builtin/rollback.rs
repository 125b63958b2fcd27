//! `rollback` and `rollback:version=X`: preflight like `deb.deploy` (the debconf file parsed,
//! every host checked), then each host reinstalls a kept release.

use std::sync::Arc;

use crate::deploy::preflight::Shared;
use crate::error::{Error, Result};
use crate::exec::step::{LocalAction, RunCtx};
use crate::invocation::TaskCall;
use crate::releases::rollback::Rollback;

use super::{PlanCtx, Step};

/// Plan a rollback of the env's packages.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let job = super::deb_deploy::job(cx, false)?;
    let (packages, note) = packages(cx, &job)?;
    let shared = Arc::new(Shared::default());
    let hosts = cx.hosts.clone();
    let mut steps = note_step(&call.name, note);
    steps.extend(super::deb_deploy::preflight(
        &call.name, "rollback", &job, &shared, &hosts, false,
    ));
    steps.push(Step::Host {
        task: call.name.clone(),
        hosts,
        action: Arc::new(Rollback {
            job,
            packages,
            version: call.kwarg("version").map(String::from),
            shared,
        }),
        warn_only: false,
    });
    Ok(steps)
}

/// The packages of this project: `deploy_packages`, else those of the build record, else
/// `package_name` (a fresh checkout has no build record). With `package_name`, also the info
/// line that says so.
pub fn packages(
    cx: &PlanCtx<'_>,
    job: &crate::deploy::Job,
) -> Result<(Vec<String>, Option<String>)> {
    let names = job.select.names();
    if !names.is_empty() {
        return Ok((names, None));
    }
    if let Some(ships) = crate::deploy::record::peek(&job.package_dir) {
        let mut out: Vec<String> = Vec::new();
        for s in ships {
            if !out.contains(&s.package) {
                out.push(s.package);
            }
        }
        return Ok((out, None));
    }
    if let Some(name) = cx.env.str("package_name") {
        crate::releases::check_package_name(name)
            .map_err(|e| cx.env.key_error("package_name", e.to_string(), e.hint()))?;
        let note = format!(
            "packages: {name}, from `package_name` (env `{}` sets no `deploy_packages` and there is no build record in {})",
            cx.env.name,
            job.package_dir.display()
        );
        return Ok((vec![name.to_string()], Some(note)));
    }
    Err(Error::usage(
        format!(
            "which packages? env `{}` sets no `deploy_packages` or `package_name` and there is no build record in {}",
            cx.env.name,
            job.package_dir.display()
        ),
        Some("set 'package_name': '<package>' (or 'deploy_packages': ['<package>', ...]) in the env".into()),
    ))
}

/// A step that prints `note` as an info line (`-n` prints it too), prefixed with the task.
#[must_use]
pub fn note_step(task: &str, note: Option<String>) -> Vec<Step> {
    note.map(|n| Step::Here {
        task: task.to_string(),
        action: Arc::new(Note(format!("{task}: {n}"))),
    })
    .into_iter()
    .collect()
}

/// An info line, decided while planning.
#[derive(Debug)]
struct Note(String);

impl LocalAction for Note {
    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        cx.rep.info(&self.0);
        Ok(())
    }
}
