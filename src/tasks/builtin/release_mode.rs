//! Release mode's planners: `deb.deploy`, `rollback` and `releases` when the env sets
//! `install_mode = 'release'` (and the wrapped `deploy`'s install stage and `web_restart`
//! there), and `setup_release[:keep_days=N]` and `clean_releases`, each one
//! step over the env's hosts (the work is in `instance/`).

use std::sync::Arc;

use crate::deploy::Job;
use crate::error::{Error, Result};
use crate::instance::actions::{Clean, Deploy, List, Restart, Rollback};
use crate::instance::Instance;
use crate::invocation::TaskCall;
use crate::settings::{text, App, InstallMode};

use super::{PlanCtx, Step};

/// The env's instance when it is in release mode, its settings checked; `None` in dpkg mode.
pub fn instance(cx: &PlanCtx<'_>) -> Result<Option<Instance>> {
    let InstallMode::Release(rm) = InstallMode::from_env(cx.env)? else {
        return Ok(None);
    };
    let env = cx.env;
    let app = App::from_env(env)?;
    let venv = app
        .venv
        .unwrap_or_else(|| format!("/opt/{}/venv", rm.package));
    let wheelhouse = text::plain_or(
        env,
        "wheelhouse_path",
        &format!("/usr/share/{}/wheelhouse", rm.package),
    )?
    .trim_end_matches('/')
    .to_string();
    let migrate = env
        .str("migrate_command")
        .map(|c| text::shell(env, "migrate_command", c))
        .transpose()?;
    let health = match super::web_restart::health_url(env)? {
        None => None,
        Some(url) => Some((url, env.count("health_timeout", 30, "seconds")? as u64)),
    };
    Ok(Some(Instance {
        rm,
        env: env.name.clone(),
        venv,
        wheelhouse,
        migrate,
        health,
    }))
}

/// The instance, or the error a release-mode-only task gives in dpkg mode.
fn required(cx: &PlanCtx<'_>, task: &str) -> Result<Instance> {
    instance(cx)?.ok_or_else(|| {
        Error::usage(
            format!(
                "`{task}` works in release mode, and env `{}` installs through dpkg",
                cx.env.name
            ),
            Some(format!(
                "set {} in the env",
                cx.env.example("install_mode", "'release'")
            )),
        )
    })
}

/// `deb.deploy` in release mode, after the same git safety as dpkg mode's
/// ([`super::deb_deploy::git_safety`]; inside `deploy`'s sequence the wrapped deploy checked
/// it already).
pub fn deploy(cx: &PlanCtx<'_>, call: &TaskCall, inst: Instance) -> Result<Vec<Step>> {
    let job = super::deb_deploy::job_for(cx, call)?;
    let mut steps = if super::deploy::planning() {
        Vec::new()
    } else {
        super::deb_deploy::git_safety(cx, &call.name, job.force, cx.built.is_some())?
    };
    steps.push(Step::Fleet {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: Arc::new(Deploy::new(inst, job, None, false)),
    });
    Ok(steps)
}

/// The wrapped `deploy`'s install stage in release mode: the release install of `job`
/// (`resume`: of `deploy:resume=yes`), the stage's one fleet step on its hosts (the pipeline
/// runs it as any other step, under the instance's lock, and asks it first whether there is
/// anything to deploy).
#[must_use]
pub fn deploy_job(inst: Instance, job: Job, resume: bool) -> Arc<Deploy> {
    Arc::new(Deploy::new(inst, job, None, resume))
}

/// `web_restart` in release mode: the instance restarted in its `current` release
/// (`release_start_command` or its `<package>@<instance>` unit), then `health_url` waited for.
#[must_use]
pub fn restart(cx: &PlanCtx<'_>, call: &TaskCall, inst: Instance) -> Vec<Step> {
    vec![Step::Host {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: Arc::new(Restart { inst }),
        warn_only: false,
    }]
}

/// `setup_release[:keep_days=N]`: a release prepared (not current, no migrations) and its
/// path printed, kept from `clean_releases` for N days.
pub fn plan_setup(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let inst = required(cx, &call.name)?;
    let days = match call.kwarg("keep_days") {
        None => None,
        Some(d) => Some(d.parse::<u64>().map_err(|_| {
            Error::usage(
                format!(
                    "{}: keep_days must be a whole number of days, got `{d}`",
                    call.name
                ),
                Some("for example setup_release:keep_days=3".into()),
            )
        })?),
    };
    let job = super::deb_deploy::job(cx, false)?;
    Ok(vec![Step::Fleet {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: Arc::new(Deploy::new(inst, job, Some(days), false)),
    }])
}

/// `rollback[:version=<release>]` in release mode: `current` back, restarted.
#[must_use]
pub fn rollback(cx: &PlanCtx<'_>, call: &TaskCall, inst: Instance) -> Vec<Step> {
    vec![Step::Host {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: Arc::new(Rollback {
            inst,
            to: call.kwarg("version").map(String::from),
        }),
        warn_only: false,
    }]
}

/// `releases` in release mode.
#[must_use]
pub fn list(cx: &PlanCtx<'_>, call: &TaskCall, inst: Instance) -> Vec<Step> {
    vec![Step::Host {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: Arc::new(List { inst }),
        warn_only: false,
    }]
}

/// `clean_releases`.
pub fn plan_clean(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let inst = required(cx, &call.name)?;
    Ok(vec![Step::Host {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: Arc::new(Clean { inst }),
        warn_only: false,
    }])
}
