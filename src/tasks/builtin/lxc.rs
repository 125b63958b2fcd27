//! `lxc.template` and `lxc_remove`: the env's container itself, planned as local steps (with
//! `lxc_host`, the commands run there over ssh).

use std::sync::Arc;

use crate::environments::Env;
use crate::error::Result;
use crate::invocation::TaskCall;
use crate::lxc;
use crate::lxc::step::{plan_remove as remove_steps, State};
use crate::tasks::plan::Targets;
use crate::tasks::step::{LocalAction, RunCtx, Shown};

use super::{PlanCtx, Step};

/// `lxc.template`: build the env's template (`lxc_template`, default `vanilla`).
pub fn plan_template(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let (spec, note) =
        lxc::run::template_with_keys(cx.env, false, &crate::report::Capture::default())?;
    let shown = lxc::template::plan_offline(&spec)?
        .iter()
        .map(|a| match a {
            lxc::template::Action::Run(cmd) => {
                Shown::new("lxc.template", cmd.clone()).on(cx.env.str("lxc_host"))
            }
            w @ lxc::template::Action::Write { .. } => {
                Shown::new("write", w.command()).on(cx.env.str("lxc_host"))
            }
        })
        .collect();
    Ok(vec![Step::Here {
        task: call.name.clone(),
        action: Arc::new(Template {
            env: cx.env.clone(),
            shown,
            note,
        }),
    }])
}

#[derive(Debug)]
struct Template {
    env: Env,
    shown: Vec<Shown>,
    note: String,
}

impl LocalAction for Template {
    fn describe(&self) -> Vec<Shown> {
        self.shown.clone()
    }
    fn notes(&self) -> Vec<String> {
        vec![self.note.clone()]
    }
    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        lxc::run::template_task(&self.env, false, cx.rep)
    }
}

/// `lxc_remove`: stop and destroy the env's container, after confirmation (`-y`).
pub fn plan_remove(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let Targets::Lxc { name, .. } = cx.targets else {
        return Err(cx.env.key_error(
            "lxc",
            format!(
                "environment `{}` has no `lxc` container to remove",
                cx.env.name
            ),
            None,
        ));
    };
    let spec = lxc::env::lxc_spec(cx.env, name, false)?;
    // The state is not read while planning (a dry run connects nowhere): show the most a
    // removal does, on a running container.
    let shown = remove_steps(&spec, State::Running)
        .iter()
        .map(|s| Shown::new("lxc_remove", s.command(None)).on(cx.env.str("lxc_host")))
        .collect();
    Ok(vec![Step::Here {
        task: call.name.clone(),
        action: Arc::new(Remove {
            env: cx.env.clone(),
            name: name.clone(),
            shown,
        }),
    }])
}

#[derive(Debug)]
struct Remove {
    env: Env,
    name: String,
    shown: Vec<Shown>,
}

impl LocalAction for Remove {
    fn describe(&self) -> Vec<Shown> {
        self.shown.clone()
    }
    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        if !cx.yes {
            crate::confirm(&format!("Stop and destroy LXC container `{}`?", self.name))?;
        }
        lxc::run::remove_task(&self.env, &self.name, false, cx.rep)
    }
}
