//! `deb.deploy`: the env's deploy settings read into a [`Job`], planned as one fleet step (the
//! checks here, every host's preflight, a gate, each host's upload and install); the executor's
//! summary reports each host.

use std::sync::Arc;

use crate::deploy::fleet::Deploy;
use crate::deploy::{Job, Select};
use crate::environments::value::{Kind, Value};
use crate::environments::Env;
use crate::error::Result;
use crate::invocation::TaskCall;
use crate::settings::apt::Delivery;
use crate::settings::{Roles, Shipping};

use super::{PlanCtx, Step};

/// Plan a deploy of the last build.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    if let Some(inst) = super::release_mode::instance(cx)? {
        return super::release_mode::deploy(cx, call, inst);
    }
    let job = job_for(cx, call)?;
    // Inside `deploy`'s sequence the wrapped deploy checked the checkout already.
    let mut steps = if super::deploy::planning() {
        Vec::new()
    } else {
        git_safety(cx, &call.name, job.force, cx.built.is_some())?
    };
    steps.push(Step::Fleet {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: Arc::new(Deploy::new(job)),
    });
    Ok(steps)
}

/// [`crate::git::check`] of the build that ships: the build record's, or the work tree's when
/// `builds_first` (a `deb.build` of the same invocation runs before); the problems
/// `force=yes` overrode, as a note step.
pub fn git_safety(
    cx: &PlanCtx<'_>,
    task: &str,
    force: bool,
    builds_first: bool,
) -> Result<Vec<Step>> {
    let problems = crate::git::check(cx.env, cx.project_dir, task, force, builds_first)?;
    Ok(super::rollback::note_step(
        task,
        (!problems.is_empty())
            .then(|| format!("force=yes: deploying although {}", problems.join("; "))),
    ))
}

/// The job of a `deb.deploy` call: the env's settings and the call's `force` and
/// `allow_downgrade` (which the env's `allow_downgrade` also grants).
pub fn job_for(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Job> {
    let mut job = job(cx, call.flag("force")?)?;
    job.allow_downgrade |= call.flag("allow_downgrade")?;
    Ok(job)
}

/// The deploy settings of the env ([`Shipping`]) and `deploy_packages`.
pub fn job(cx: &PlanCtx<'_>, force: bool) -> Result<Job> {
    let s = Shipping::from_env(cx.env, cx.project_dir)?;
    let (debconf, debconf_key) = s.debconf.unzip();
    Ok(Job {
        env: cx.env.name.clone(),
        package_dir: s.package_dir,
        debconf,
        debconf_key,
        debconf_text: s.debconf_text,
        select: select(cx)?,
        conffiles_new: s.conffiles_new,
        force,
        allow_downgrade: s.allow_downgrade,
        keep: s.keep,
        apt: apt_source(cx.env)?,
        after_build: cx.built.clone(),
    })
}

/// With `deploy_strategy = 'apt'`, the name of the hosts' APT source (`dfab-<env>`); `apt_url`
/// is required then (`init` installs the source that points at it).
pub fn apt_source(env: &Env) -> Result<Option<String>> {
    if crate::settings::apt::strategy(env)?.0 != Delivery::Apt {
        return Ok(None);
    }
    if env.str("apt_url").is_none() {
        return Err(env.key_error(
            "apt_url",
            "deploy_strategy = 'apt' needs the URL hosts fetch the repository from",
            Some(format!(
                "set {} (the directory `deb.publish` writes, served by a web server)",
                env.example("apt_url", "'http://apt.example.com/'")
            )),
        ));
    }
    Ok(Some(crate::apt::source_name(&env.name)))
}

/// `deploy_packages`: a list of package names, or a dict of package name to roles.
fn select(cx: &PlanCtx<'_>) -> Result<Select> {
    let env = cx.env;
    let Some(v) = env.vars.get("deploy_packages") else {
        return Ok(Select::All);
    };
    let bad = || {
        env.key_error(
            "deploy_packages",
            format!("expected a list of package names or a dict of package to roles, got {v}"),
            Some("for example ['app'] or {'app': ['web'], 'app-worker': ['worker']}".into()),
        )
    };
    let name = |x: &Value| -> Result<String> {
        let s = x.as_str().ok_or_else(bad)?;
        crate::releases::check_package_name(s)
            .map_err(|e| env.key_error("deploy_packages", e.to_string(), e.hint()))?;
        Ok(s.to_string())
    };
    match &v.kind {
        Kind::List(items) | Kind::Tuple(items) => Ok(Select::Names(
            items.iter().map(name).collect::<Result<_>>()?,
        )),
        Kind::Dict(entries) => {
            let lxc = matches!(cx.targets, crate::tasks::plan::Targets::Lxc { .. });
            let mut out = Vec::new();
            for (k, roles) in entries {
                let package = name(k)?;
                let roles: Vec<String> = match &roles.kind {
                    Kind::Str(s) => vec![s.clone()],
                    Kind::List(r) | Kind::Tuple(r) => r
                        .iter()
                        .map(|x| x.as_str().map(String::from).ok_or_else(bad))
                        .collect::<Result<_>>()?,
                    _ => return Err(bad()),
                };
                // A one-host env (an LXC container) has every role.
                let hosts = if lxc {
                    cx.all_hosts.to_vec()
                } else {
                    role_hosts(env, &package, &roles)?
                };
                out.push((package, hosts));
            }
            Ok(Select::Hosts(out))
        }
        _ => Err(bad()),
    }
}

fn role_hosts(env: &Env, package: &str, roles: &[String]) -> Result<Vec<String>> {
    Roles::from_env(env).hosts(roles).map_err(|e| {
        env.key_error(
            "deploy_packages",
            format!(
                "package `{package}` names role `{}`, which `roledefs` does not define",
                e.role
            ),
            e.hint(),
        )
    })
}
