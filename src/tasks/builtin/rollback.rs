//! `rollback` and `rollback:version=X`: on a protected env a question first (`-y` answers it),
//! then preflight like `deb.deploy` (the debconf file parsed, every host checked) and each host
//! reinstalls a kept release; in release mode, `current` switched back instead.

use std::sync::Arc;

use crate::deploy::fleet::Rollback;
use crate::error::{Error, Result};
use crate::exec::step::{LocalAction, RunCtx};
use crate::invocation::TaskCall;

use super::{PlanCtx, Step};

/// Plan a rollback of the env's packages.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    if cx.env.vars.contains_key("fleet") {
        return super::lxc_fleet::plan_rollback(cx, call);
    }
    if let Some(inst) = super::release_mode::instance(cx)? {
        // Release mode's rollback is one switch, but it changes what production serves all
        // the same: asked as dpkg mode's is.
        let what = format!("{} instance {}", inst.rm.package, inst.rm.instance);
        let mut steps = confirm(cx, &call.name, &what);
        steps.extend(super::release_mode::rollback(cx, call, inst));
        return Ok(steps);
    }
    let job = super::deb_deploy::job(cx, false)?;
    let (packages, note) = packages(cx, &job)?;
    let mut steps = note_step(&call.name, note);
    steps.extend(confirm(cx, &call.name, &packages.join(", ")));
    steps.push(Step::Fleet {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: Arc::new(Rollback {
            job,
            packages,
            version: call.kwarg("version").map(String::from),
            task: "rollback",
        }),
    });
    Ok(steps)
}

/// On a protected env (production, `protected = True`: [`crate::settings::Protection`]), the
/// question a rollback of `what` asks first (`-y` answers it); none elsewhere.
fn confirm(cx: &PlanCtx<'_>, task: &str, what: &str) -> Vec<Step> {
    let protection = crate::settings::Protection::of(cx.env);
    if !protection.is_protected() {
        return Vec::new();
    }
    // Production's releases change only when someone says so (`-y` answers).
    vec![Step::Confirm {
        task: task.to_string(),
        question: format!(
            "Roll back {what} on {} of the {} env `{}`?",
            cx.hosts.join(", "),
            protection.label(),
            cx.env.name,
        ),
    }]
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
    if let Some(names) = crate::deploy::record::package_names(&job.package_dir) {
        let mut out: Vec<String> = Vec::new();
        for n in names {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        return Ok((out, None));
    }
    if let Some(name) = crate::settings::App::from_env(cx.env)?.package {
        let note = format!(
            "packages: {name}, from `package_name` (env `{}` sets no `deploy_packages` and there is no build record in {})",
            cx.env.name,
            job.package_dir.display()
        );
        return Ok((vec![name], Some(note)));
    }
    Err(Error::usage(
        format!(
            "which packages? env `{}` sets no `deploy_packages` or `package_name` and there is no build record in {}",
            cx.env.name,
            job.package_dir.display()
        ),
        Some(format!(
            "set {} (or {}) in the env",
            cx.env.example("package_name", "'myapp'"),
            cx.env.example("deploy_packages", "['myapp', 'myapp-worker']")
        )),
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
