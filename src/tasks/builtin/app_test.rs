//! `test`: `test_commands` (user-task steps: run, sudo, local) or Django's deploy check in the
//! app's venv, then an HTTP smoke check of `health_url`. Its exit status is the result.

use std::sync::Arc;

use crate::error::Result;
use crate::exec::step::{LocalAction, RunCtx};
use crate::invocation::TaskCall;
use crate::settings::{text, App, Roles};
use crate::tasks::registry;
use crate::tasks::user::{parse_step_list, Action};
use crate::transport::cmd::Cmd;

use super::web_restart::health;
use super::{PlanCtx, Step};

/// The checks, then the smoke check (or a warning that there is none).
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let env = cx.env;
    let task = call.name.clone();
    let mut steps = Vec::new();
    if let Some(v) = env.vars.get("test_commands") {
        for (i, st) in parse_step_list(&env.file, "test_commands", v)?
            .into_iter()
            .enumerate()
        {
            let key = format!("test_commands[{i}]");
            let Some(hosts) = step_hosts(cx, i, &st.roles, matches!(st.action, Action::Local(_)))?
            else {
                continue;
            };
            let cd = st
                .cd
                .as_deref()
                .map(|d| text::plain(env, &key, d))
                .transpose()?;
            let with_cd = |c: Cmd| match &cd {
                Some(d) => c.cwd(d),
                None => c,
            };
            steps.push(match &st.action {
                Action::Run(c) => Step::Run {
                    task: task.clone(),
                    hosts: hosts.clone(),
                    cmd: with_cd(Cmd::shell(text::shell(env, &key, c)?)),
                    warn_only: st.warn_only,
                    builtin: None,
                },
                Action::Sudo { command, user } => Step::Run {
                    task: task.clone(),
                    hosts: hosts.clone(),
                    cmd: with_cd(Cmd::shell(text::shell(env, &key, command)?)).sudo(user.clone()),
                    warn_only: st.warn_only,
                    builtin: None,
                },
                Action::Local(c) => {
                    let dir = st
                        .lcd
                        .as_deref()
                        .map_or_else(|| cx.project_dir.to_path_buf(), |d| cx.project_dir.join(d));
                    Step::Local {
                        task: task.clone(),
                        cmd: Cmd::shell(text::shell(env, &key, c)?).cwd(&dir),
                        warn_only: st.warn_only,
                    }
                }
                _ => {
                    return Err(env.key_error(
                        "test_commands",
                        format!("step {i}: `test` runs `run`, `sudo` and `local` steps only"),
                        Some(format!(
                            "call other tasks on the command line: dfab {} test other_task",
                            env.name
                        )),
                    ))
                }
            });
        }
    } else {
        let release = crate::settings::InstallMode::from_env(env)?;
        let cmd = if let Some(rm) = release.release() {
            // Release mode: the check runs in the instance's `current`, never /opt's paths.
            crate::instance::app::django_check(env, rm, &["check", "--deploy"])?
        } else {
            App::from_env(env)?
                .manage(env, &["check", "--deploy"])?
                .ok_or_else(|| {
                    env.key_error(
                        "test_commands",
                        "no `test_commands`, and no `package_name` to find the Django app's venv",
                        Some(format!(
                            "set {}, or package_name for the default `manage.py check --deploy`",
                            env.example("test_commands", "[{'run': 'make check'}]")
                        )),
                    )
                })?
        };
        steps.push(Step::Run {
            task: task.clone(),
            hosts: cx.hosts.clone(),
            cmd,
            warn_only: false,
            builtin: Some("run Django's `check --deploy`".into()),
        });
    }
    match health(cx, call)? {
        Some(h) => steps.push(h),
        None => steps.push(Step::Here {
            task,
            action: Arc::new(NoSmoke),
        }),
    }
    Ok(steps)
}

/// The hosts of step `i` of `test_commands`: those of its `roles` (among the hosts the call
/// named, when it named some; else among every host of the env, as a project task's step with
/// `roles` does), else the call's. `None`: its roles leave no host here, so it does not run.
/// An unknown role, or `roles` on a `local` step, is an error before anything runs.
fn step_hosts(
    cx: &PlanCtx<'_>,
    i: usize,
    roles: &[String],
    local: bool,
) -> Result<Option<Vec<String>>> {
    let env = cx.env;
    if roles.is_empty() {
        return Ok(Some(cx.hosts.clone()));
    }
    if local {
        return Err(env.key_error(
            "test_commands",
            format!("step {i}: a `local` step runs on this machine: `roles` does not apply to it"),
            Some("remove `roles` from it, or make it a `run` step".into()),
        ));
    }
    let defs = Roles::from_env(env);
    let of = defs.hosts(roles).map_err(|e| {
        env.key_error(
            "test_commands",
            format!("step {i}: role `{}` is not in the env's `roledefs`", e.role),
            e.hint(),
        )
    })?;
    // The call's hosts are its default roles' unless it named others (host keywords, -H).
    let default =
        registry::builtin("test").map_or_else(Vec::new, |b| defs.hosts_of_defined(b.roles));
    let named = !default.is_empty() && cx.hosts != default;
    let pool: &[String] = if named { &cx.hosts } else { cx.all_hosts };
    let hosts: Vec<String> = of.into_iter().filter(|h| pool.contains(h)).collect();
    Ok((!hosts.is_empty()).then_some(hosts))
}

/// Says that the HTTP smoke check was skipped.
#[derive(Debug)]
struct NoSmoke;

impl LocalAction for NoSmoke {
    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        cx.rep
            .warn("test: no `health_url` in the env, so no HTTP smoke check was made");
        Ok(())
    }
}
