//! `web_restart`: `web_restart_command` (or the package's unit, or a web-server reload) on each
//! web host, then a wait for `health_url`.

use crate::error::Result;
use crate::invocation::TaskCall;
use crate::settings::{text, App};
use crate::transport::cmd::Cmd;
use crate::web_mode::{self, restart};

use super::{PlanCtx, Step};

/// The restart, then the health wait when `health_url` is set.
/// In release mode (without `web_restart_command`): the instance's restart instead.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let env = cx.env;
    if env.str("web_restart_command").is_none() {
        if let Some(inst) = super::release_mode::instance(cx)? {
            return Ok(super::release_mode::restart(cx, call, inst));
        }
    }
    let cmd = match env.str("web_restart_command") {
        Some(c) => Cmd::shell(text::shell(env, "web_restart_command", c)?).sudo(None),
        None => restart::default_restart(
            App::from_env(env)?.package.as_deref(),
            web_mode::server(env)?,
        ),
    };
    let mut steps = vec![Step::Run {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        cmd,
        warn_only: false,
        builtin: Some("restart the app".into()),
    }];
    if let Some(h) = health(cx, call)? {
        steps.push(h);
    }
    Ok(steps)
}

/// `health_url`, checked, when the env sets it.
pub fn health_url(env: &crate::environments::Env) -> Result<Option<String>> {
    let Some(url) = env.str("health_url") else {
        return Ok(None);
    };
    let url = text::plain(env, "health_url", url)?;
    web_mode::http_url(env, "health_url", &url)?;
    Ok(Some(url))
}

/// The health wait on each host, when `health_url` is set.
pub fn health(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Option<Step>> {
    health_on(cx.env, &call.name, &cx.hosts)
}

/// The health wait of `task` on `hosts`, when `health_url` is set (`web_restart`, `services`).
pub fn health_on(
    env: &crate::environments::Env,
    task: &str,
    hosts: &[String],
) -> Result<Option<Step>> {
    let Some(url) = health_url(env)? else {
        return Ok(None);
    };
    let timeout = match env.vars.get("health_timeout") {
        None => 30,
        Some(v) => v.to_plain_string().parse::<u64>().map_err(|_| {
            env.key_error(
                "health_timeout",
                "not a number of seconds",
                Some("e.g. 60".into()),
            )
        })?,
    };
    Ok(Some(Step::Run {
        task: task.to_string(),
        hosts: hosts.to_vec(),
        cmd: restart::wait_healthy(&url, timeout),
        warn_only: false,
        builtin: Some(format!("wait for {url} to answer 2xx")),
    }))
}
