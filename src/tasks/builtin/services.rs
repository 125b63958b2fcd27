//! `services:status|restart|stop|start[,name]`: the services the env's packages run (the
//! systemd units and init scripts in the built packages' data trees, supervisor programs in
//! their supervisor configs, or the env's `services`), on the hosts that run them; restarts
//! and starts then wait for `health_url`, as `web_restart` does. In release mode, the
//! instance instead.

use crate::environments::value::Kind as ValueKind;
use crate::error::{Error, Result};
use crate::invocation::TaskCall;
use crate::services::{self, Action, Kind, Service};
use crate::settings::Roles;

use super::{PlanCtx, Step};

/// One host-program call per kind of service and set of hosts, then the health wait.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let word = call.kwarg("action").unwrap_or("status");
    let action = Action::parse(word).ok_or_else(|| {
        Error::usage(
            format!("services: unknown action `{word}`"),
            Some(format!(
                "write services:status, services:restart, services:stop or services:start{}",
                crate::suggestion::nearest(word, Action::ALL.iter().map(|a| a.word()))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default()
            )),
        )
    })?;
    if !cx.env.vars.contains_key("services") {
        if let Some(inst) = super::release_mode::instance(cx)? {
            return release_mode(cx, call, action, &inst);
        }
    }
    let mut known = known(cx)?;
    if let Some(name) = call.kwarg("name") {
        let name = name.strip_suffix(".service").unwrap_or(name);
        if !known.iter().any(|(s, _)| s.name == name) {
            let names: Vec<&str> = known.iter().map(|(s, _)| s.name.as_str()).collect();
            // The list once, in the hint; the error points at `services` when it is the list.
            let message = format!(
                "services: `{name}` is not a service of environment `{}`",
                cx.env.name
            );
            let hint = Some(format!(
                "{}its services: {}{}",
                crate::suggestion::nearest(name, names.iter().copied())
                    .map_or_else(String::new, |n| format!("did you mean `{n}`? ")),
                names.join(", "),
                if cx.env.vars.contains_key("services") {
                    ""
                } else {
                    " (from the built packages; `services = [...]` in the env names others)"
                }
            ));
            return Err(if cx.env.vars.contains_key("services") {
                cx.env.key_error("services", message, hint)
            } else {
                Error::usage(message, hint)
            });
        }
        known.retain(|(s, _)| s.name == name);
    }
    // One call per (kind, hosts), in the order the services were found.
    let mut groups: Vec<(Kind, Vec<String>, Vec<String>)> = Vec::new();
    for (s, hosts) in &known {
        if hosts.is_empty() {
            continue;
        }
        match groups
            .iter_mut()
            .find(|(k, h, _)| *k == s.kind && h == hosts)
        {
            Some((_, _, names)) => names.push(s.name.clone()),
            None => groups.push((s.kind, hosts.clone(), vec![s.name.clone()])),
        }
    }
    if groups.is_empty() {
        return Err(Error::usage(
            format!(
                "services: no host of this call runs {}",
                known
                    .iter()
                    .map(|(s, _)| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some("name the hosts with `hosts=` or `roles=`, or check `deploy_packages`".into()),
        ));
    }
    let mut steps = Vec::new();
    if action != Action::Status {
        // A protected env's services change only when someone says so, as its ad-hoc commands.
        let all: Vec<String> =
            groups
                .iter()
                .flat_map(|(_, h, _)| h.clone())
                .fold(Vec::new(), |mut all, h| {
                    if !all.contains(&h) {
                        all.push(h);
                    }
                    all
                });
        let names: Vec<&str> = groups
            .iter()
            .flat_map(|(_, _, n)| n.iter().map(String::as_str))
            .collect();
        let what = format!("{} {}", action.word(), names.join(", "));
        if let Some(question) =
            crate::settings::Protection::of(cx.env).question(&cx.env.name, &what, &all)
        {
            steps.push(Step::Confirm {
                task: call.name.clone(),
                question,
            });
        }
    }
    let mut touched: Vec<String> = Vec::new();
    for (kind, hosts, names) in groups {
        for h in &hosts {
            if !touched.contains(h) {
                touched.push(h.clone());
            }
        }
        steps.push(Step::Run {
            task: call.name.clone(),
            hosts,
            cmd: services::command(action, kind, &names),
            warn_only: false,
            builtin: Some(match action {
                Action::Status => format!("report the state of {}", names.join(", ")),
                _ => format!("{} {}", action.word(), names.join(", ")),
            }),
        });
    }
    if matches!(action, Action::Restart | Action::Start) {
        steps.extend(super::web_restart::health_on(cx.env, &call.name, &touched)?);
    }
    Ok(steps)
}

/// `services` in release mode (without a `services` key naming host-wide units): the
/// package's units are not installed there, the instance is what runs. `restart` and `start`
/// are the instance's restart in `current` with the health wait (as `web_restart`); `status`
/// asks `health_url` once and names the current release; `stop` has no command in release mode
/// and is refused, as is `status` without `health_url`.
fn release_mode(
    cx: &PlanCtx<'_>,
    call: &TaskCall,
    action: Action,
    inst: &crate::instance::Instance,
) -> Result<Vec<Step>> {
    let rm = &inst.rm;
    let hint_services = format!(
        "(`services = [...]` in the env names host-wide units to act on instead, e.g. {})",
        cx.env.example("services", "['nginx']")
    );
    match action {
        Action::Restart | Action::Start => Ok(super::release_mode::restart(cx, call, inst.clone())),
        Action::Stop => Err(Error::usage(
            format!(
                "services:stop: env `{}` is in release mode, where instance {} has no stop \
                 command (release_start_command only (re)starts it): nothing done",
                cx.env.name, rm.instance
            ),
            Some(format!(
                "stop the instance's process on the host; `dfab {} web_restart` or \
                 services:restart restarts it {hint_services}",
                cx.env.name
            )),
        )),
        Action::Status => {
            let Some((url, _)) = &inst.health else {
                return Err(Error::usage(
                    format!(
                        "services:status: env `{}` is in release mode, where instance {} runs \
                         no unit dfab knows, and without `health_url` whether it answers \
                         cannot be asked",
                        cx.env.name, rm.instance
                    ),
                    Some(format!(
                        "set {} (asked once by services:status, waited for by web_restart) \
                         {hint_services}",
                        cx.env
                            .example("health_url", "'http://127.0.0.1:8000/health'")
                    )),
                ));
            };
            let cmd = crate::transport::cmd::Cmd::shell(format!(
                "u={u}; i={i}; c=$(readlink {cur} 2>/dev/null || true); c=${{c##*/}}\n\
                 code=$(curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 \"$u\" 2>/dev/null) || true\n\
                 echo \"instance $i: current release ${{c:-none}}; $u answered ${{code:-nothing}}\"\n\
                 case \"$code\" in 2??) ;; *) exit 1;; esac",
                cur = crate::transport::cmd::quote(&format!("{}/current", rm.root)),
                u = crate::transport::cmd::quote(url),
                i = crate::transport::cmd::quote(&rm.instance),
            ))
            .sudo(None);
            Ok(vec![Step::Run {
                task: call.name.clone(),
                hosts: cx.hosts.clone(),
                cmd,
                warn_only: false,
                builtin: Some(format!(
                    "ask instance {}'s health_url whether it answers",
                    rm.instance
                )),
            }])
        }
    }
}

/// The env's services and the hosts of this call that run each: `services`, else what the
/// built packages ship (each on the hosts its package goes to).
fn known(cx: &PlanCtx<'_>) -> Result<Vec<(Service, Vec<String>)>> {
    if let Some(v) = cx.env.vars.get("services") {
        return from_key(cx, v);
    }
    let job = super::deb_deploy::job(cx, false)?;
    let Some(shipments) = crate::deploy::record::read(&job.package_dir)? else {
        return Err(Error::usage(
            format!(
                "services: which services? environment `{}` sets no `services` and there is no \
                 build record in {}",
                cx.env.name,
                job.package_dir.display()
            ),
            Some(format!(
                "run `dfab {} deb.build` first (the units come from the built packages), or set {}",
                cx.env.name,
                cx.env.example("services", "['myapp', 'myapp-worker']")
            )),
        ));
    };
    let mut out = Vec::new();
    for s in shipments.iter().filter(|s| job.select.wants(&s.package)) {
        let hosts: Vec<String> = cx
            .hosts
            .iter()
            .filter(|h| job.select.wants_on(&s.package, h))
            .cloned()
            .collect();
        for svc in services::in_tree(&s.package, &services::deb_tree(&s.path)?) {
            out.push((svc, hosts.clone()));
        }
    }
    if out.is_empty() {
        return Err(Error::usage(
            format!(
                "services: the built packages ({}) ship no systemd unit, init script or \
                 supervisor program",
                shipments
                    .iter()
                    .map(|s| s.package.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(format!(
                "set {} to name the services",
                cx.env.example("services", "['myapp']")
            )),
        ));
    }
    Ok(out)
}

/// `services`: a list of names, or a dict of name to a role or roles; `supervisor:<name>`
/// names a supervisor program, `<name>[.service]` a unit.
fn from_key(
    cx: &PlanCtx<'_>,
    v: &crate::environments::value::Value,
) -> Result<Vec<(Service, Vec<String>)>> {
    let env = cx.env;
    let bad = |what: String| {
        env.key_error(
            "services",
            what,
            Some("for example ['myapp', 'supervisor:celery'] or {'myapp': ['web'], 'myapp-worker': 'worker'}".into()),
        )
    };
    let service = |x: &crate::environments::value::Value| -> Result<Service> {
        let s = x
            .as_str()
            .ok_or_else(|| bad(format!("expected a service name, got {x}")))?;
        let (kind, name) = match s.strip_prefix("supervisor:") {
            Some(n) => (Kind::Supervisor, n),
            None => (Kind::Unit, s.strip_suffix(".service").unwrap_or(s)),
        };
        if !services::valid_name(name) {
            return Err(bad(format!("`{s}` is not a service name")));
        }
        Ok(Service {
            name: name.to_string(),
            kind,
            package: None,
        })
    };
    match &v.kind {
        ValueKind::List(items) | ValueKind::Tuple(items) => items
            .iter()
            .map(|x| Ok((service(x)?, cx.hosts.clone())))
            .collect(),
        ValueKind::Dict(entries) => {
            let lxc = matches!(cx.targets, crate::tasks::plan::Targets::Lxc { .. });
            let mut out = Vec::new();
            for (k, roles) in entries {
                let svc = service(k)?;
                let roles: Vec<String> = match &roles.kind {
                    ValueKind::Str(s) => vec![s.clone()],
                    ValueKind::List(r) | ValueKind::Tuple(r) => r
                        .iter()
                        .map(|x| {
                            x.as_str()
                                .map(String::from)
                                .ok_or_else(|| bad(format!("expected role names, got {roles}")))
                        })
                        .collect::<Result<_>>()?,
                    _ => return Err(bad(format!("expected role names, got {roles}"))),
                };
                let hosts = if lxc {
                    cx.hosts.clone()
                } else {
                    let of_roles = Roles::from_env(env).hosts(&roles).map_err(|e| {
                        env.key_error(
                            "services",
                            format!(
                                "service `{}` names role `{}`, which `roledefs` does not define",
                                svc.name, e.role
                            ),
                            e.hint(),
                        )
                    })?;
                    cx.hosts
                        .iter()
                        .filter(|h| of_roles.contains(h))
                        .cloned()
                        .collect()
                };
                out.push((svc, hosts));
            }
            Ok(out)
        }
        _ => Err(bad(format!(
            "expected a list of services or a dict of service to roles, got {v}"
        ))),
    }
}
