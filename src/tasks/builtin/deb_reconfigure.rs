//! `deb.reconfigure`: the env's debconf answers (loaded and parsed here, before anything runs)
//! applied on each host to the installed version of the env's packages, as one host step (in
//! release mode, to the instance's `current` release).

use std::sync::Arc;

use crate::deploy::reconfigure::Reconfigure;
use crate::deploy::{record, Release};
use crate::error::Result;
use crate::invocation::TaskCall;

use super::{PlanCtx, Step};

/// Plan `deb.reconfigure`: an env without `debconf` answers is an error; on a protected env it
/// asks first (its maintainer scripts run again with new answers, passwords among them).
/// In release mode: the instance's `current` release reconfigured
/// ([`crate::instance::actions::Reconfigure`]), never dpkg's packages.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let work = if let Some(inst) = super::release_mode::instance(cx)? {
        let job = super::deb_deploy::job(cx, false)?;
        if Release::answers_only(&job)?.debconf.is_none() {
            return Err(no_answers(cx));
        }
        Step::Fleet {
            task: call.name.clone(),
            hosts: cx.hosts.clone(),
            action: Arc::new(crate::instance::actions::Reconfigure {
                deploy: crate::instance::actions::Deploy::new(inst, job, None, false),
            }),
        }
    } else {
        step(cx, &call.name, "deb.reconfigure")?
    };
    if let Some(question) = crate::settings::Protection::of(cx.env).question(
        &cx.env.name,
        "reconfigure the installed packages with the env's debconf answers (their config and \
         postinst run again)",
        &cx.hosts,
    ) {
        steps.push(Step::Confirm {
            task: call.name.clone(),
            question,
        });
    }
    steps.push(work);
    Ok(steps)
}

/// The error of an env without debconf answers.
fn no_answers(cx: &PlanCtx<'_>) -> crate::error::Error {
    cx.env.key_error(
        "debconf",
        "deb.reconfigure applies the env's debconf answers, and this env has none",
        Some(format!(
            "name a debconf database: {}",
            cx.env.example("debconf", "'debconf.dat'")
        )),
    )
}

/// The host step that reconfigures the env's packages with its current answers; `by` names
/// the task for hints (`deb.reconfigure`, or `deploy` when the answers were its only change).
pub fn step(cx: &PlanCtx<'_>, task: &str, by: &'static str) -> Result<Step> {
    let job = super::deb_deploy::job(cx, false)?;
    let Some(answers) = Release::answers_only(&job)?.debconf else {
        return Err(no_answers(cx));
    };
    let recorded = record::read_stamped(&job.package_dir).ok().flatten();
    let mut packages = job.select.names();
    if packages.is_empty() {
        packages = recorded
            .as_ref()
            .map(|(s, _)| s.iter().map(|s| s.package.clone()).collect())
            .unwrap_or_default();
    }
    if packages.is_empty() {
        return Err(cx.env.key_error(
            "deploy_packages",
            "deb.reconfigure: which packages? no `deploy_packages` and no build record",
            Some(format!(
                "set {}, or build first",
                cx.env.example("deploy_packages", "['myapp']")
            )),
        ));
    }
    Ok(Step::Host {
        task: task.to_string(),
        hosts: cx.hosts.clone(),
        action: Arc::new(Reconfigure {
            packages,
            answers,
            built: recorded
                .as_ref()
                .map(|(s, _)| {
                    s.iter()
                        .map(|s| (s.package.clone(), s.sha256.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            commit: recorded.and_then(|(_, c)| c),
            by,
        }),
        warn_only: false,
    })
}
