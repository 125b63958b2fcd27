//! `lxc.template` and `lxc_remove`: the env's container itself, planned as local steps (with
//! `lxc_host`, the commands run there over ssh).

use std::sync::Arc;

use crate::environments::Env;
use crate::error::Result;
use crate::exec::step::{LocalAction, RunCtx};
use crate::invocation::TaskCall;
use crate::lxc;
use crate::tasks::plan::Targets;

use super::{PlanCtx, Step};

/// `lxc.template`: build the env's template (`lxc_template`, default `vanilla`).
pub fn plan_template(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    // Check the settings now, so a bad one is refused before anything runs.
    lxc::run::template_with_keys(cx.env, false, &crate::report::Capture::default())?;
    Ok(vec![Step::Here {
        task: call.name.clone(),
        action: Arc::new(Template {
            env: cx.env.clone(),
        }),
    }])
}

#[derive(Debug)]
struct Template {
    env: Env,
}

impl LocalAction for Template {
    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        lxc::run::template_task(&self.env, cx.dry_run, cx.rep)
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
    lxc::env::lxc_spec(cx.env, name, false)?;
    Ok(vec![
        Step::Confirm {
            task: call.name.clone(),
            question: format!("Stop and destroy LXC container `{name}`?"),
        },
        Step::Here {
            task: call.name.clone(),
            action: Arc::new(Remove {
                env: cx.env.clone(),
                name: name.clone(),
            }),
        },
    ])
}

#[derive(Debug)]
struct Remove {
    env: Env,
    name: String,
}

impl LocalAction for Remove {
    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        lxc::run::remove_task(&self.env, &self.name, cx.dry_run, cx.rep)
    }
}
