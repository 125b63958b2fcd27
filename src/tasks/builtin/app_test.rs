//! `test`: `test_commands` (user-task steps: run, sudo, local) or Django's deploy check in the
//! app's venv, then an HTTP smoke check of `health_url`. Its exit status is the result.

use std::sync::Arc;

use crate::error::Result;
use crate::exec::step::{LocalAction, RunCtx};
use crate::invocation::TaskCall;
use crate::settings::{text, App};
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
                    hosts: cx.hosts.clone(),
                    cmd: with_cd(Cmd::shell(text::shell(env, &key, c)?)),
                    warn_only: st.warn_only,
                    builtin: None,
                },
                Action::Sudo { command, user } => Step::Run {
                    task: task.clone(),
                    hosts: cx.hosts.clone(),
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
                        Some(
                            "call other tasks on the command line: dfab <env> test other_task"
                                .into(),
                        ),
                    ))
                }
            });
        }
    } else {
        let cmd = App::from_env(env)?
            .manage(env, &["check", "--deploy"])?
            .ok_or_else(|| {
                env.key_error(
                    "test_commands",
                    "no `test_commands`, and no `package_name` to find the Django app's venv",
                    Some("set test_commands = [{'run': '...'}], or package_name for the default `manage.py check --deploy`".into()),
                )
            })?;
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
