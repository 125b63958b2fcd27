//! `deb.deploy`: the env's deploy settings read into a [`Job`], planned as preflight (here and on
//! every host), a gate, upload and install; the executor's summary reports each host.

use std::sync::Arc;

use crate::deploy::preflight::{Gate, HostChecks, LocalChecks, Shared};
use crate::deploy::ship::{Install, Upload};
use crate::deploy::{Job, Select};
use crate::environments::value::{Kind, Value};
use crate::environments::Env;
use crate::error::Result;
use crate::invocation::TaskCall;
use crate::releases::DEFAULT_KEEP;

use super::{PlanCtx, Step};

/// Plan a deploy of the last build.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let job = job(cx, call.flag("force")?)?;
    let shared = Arc::new(Shared::default());
    let hosts = cx.hosts.clone();
    let mut steps = preflight(&call.name, "deb.deploy", &job, &shared, &hosts, true);
    steps.push(Step::Host {
        task: call.name.clone(),
        hosts: hosts.clone(),
        action: Arc::new(Upload {
            job: job.clone(),
            shared: shared.clone(),
        }),
        warn_only: false,
    });
    steps.push(Step::Host {
        task: call.name.clone(),
        hosts,
        action: Arc::new(Install { job, shared }),
        warn_only: false,
    });
    Ok(steps)
}

/// The checks before any host changes, shared by `deb.deploy` and `rollback`: the build record
/// and debconf answers here (with the packages' templates when `templates`), every host, then a
/// gate that refuses unless every host passed.
pub(crate) fn preflight(
    task: &str,
    label: &'static str,
    job: &Job,
    shared: &Arc<Shared>,
    hosts: &[String],
    templates: bool,
) -> Vec<Step> {
    vec![
        Step::Here {
            task: task.to_string(),
            action: Arc::new(LocalChecks {
                job: job.clone(),
                shared: shared.clone(),
                templates,
            }),
        },
        Step::Host {
            task: task.to_string(),
            hosts: hosts.to_vec(),
            action: Arc::new(HostChecks {
                shared: shared.clone(),
                task: label,
            }),
            warn_only: false,
        },
        Step::Here {
            task: task.to_string(),
            action: Arc::new(Gate {
                shared: shared.clone(),
                hosts: hosts.len(),
                task: label,
            }),
        },
    ]
}

/// The deploy settings of the env: `package_dir`, `debconf`, `deploy_packages`,
/// `deb_conffiles`, `keep_releases`.
pub fn job(cx: &PlanCtx<'_>, force: bool) -> Result<Job> {
    let env = cx.env;
    let conffiles_new = match env.str("deb_conffiles") {
        None | Some("old") => false,
        Some("new") => true,
        Some(other) => {
            return Err(env.key_error(
                "deb_conffiles",
                format!("unknown value `{other}`"),
                Some("'old' (default: keep local changes) or 'new' (install the package's)".into()),
            ))
        }
    };
    let keep = env.count("keep_releases", DEFAULT_KEEP, "releases")?;
    Ok(Job {
        package_dir: super::deb_build::package_dir(env, cx.project_dir),
        debconf: env.str("debconf").map(|d| cx.project_dir.join(d)),
        debconf_key: env
            .str("debconf")
            .map(|_| crate::deploy::debconf_db::KeyAt {
                file: env.file.clone(),
                pos: env
                    .vars
                    .get("debconf")
                    .map(|v| v.pos)
                    .filter(|p| p.line > 0),
                key: format!("{}.debconf", env.name),
            }),
        select: select(cx)?,
        conffiles_new,
        force,
        keep,
    })
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
    let defs = env.vars.get("roledefs");
    let mut hosts = Vec::new();
    for role in roles {
        let Some(list) = defs.and_then(|d| d.get(role)).and_then(Value::as_seq) else {
            let known: Vec<String> = defs
                .and_then(Value::as_dict)
                .map(|d| {
                    d.iter()
                        .filter_map(|(k, _)| k.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            return Err(env.key_error(
                "deploy_packages",
                format!(
                    "package `{package}` names role `{role}`, which `roledefs` does not define"
                ),
                crate::suggestion::hint(role, known.iter().map(String::as_str), "roles"),
            ));
        };
        for h in list.iter().filter_map(Value::as_str) {
            if !hosts.iter().any(|x| x == h) {
                hosts.push(h.to_string());
            }
        }
    }
    Ok(hosts)
}
