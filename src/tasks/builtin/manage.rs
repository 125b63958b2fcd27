//! `manage:<command>`: the app's management command (`manage:createsuperuser`,
//! `manage:"migrate --plan"`) on the first `app` host, as the app user, attached to this
//! terminal when there is one; its exit status is dfab's (`CommCare`'s `fab <env> manage`). In
//! release mode it runs in the instance's `current` release (or `release=<name>`).

use std::io::IsTerminal as _;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::exec::step::{HostAction, RunCtx};
use crate::instance::app::Which;
use crate::invocation::TaskCall;
use crate::settings::App;
use crate::transport::cmd::Cmd;
use crate::transport::Transport;

use super::{PlanCtx, Step};

/// `manage` runs on the first `app` host; an env with `roledefs` but no `app` role would leave
/// that to the order of its hosts, so it is refused, naming its roles, unless the call names
/// its host (`host=`, `roles=`, `-H`).
pub fn check_roles(env: &crate::environments::Env, roles: &crate::settings::Roles) -> Result<()> {
    let names: Vec<&str> = roles.names().collect();
    if names.is_empty() || names.contains(&"app") {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "task `manage` runs on the first host of role `app`, and environment `{}` has \
             roles {} but no `app`",
            env.name,
            names
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(format!(
            "name the host: `dfab {env} manage:<command>,roles={first}` (or `host=<host>`), or \
             add an `app` role to `roledefs`",
            env = env.name,
            first = names[0]
        )),
    ))
}

/// One management command on the first host of the call (its host keywords, else the `app`
/// role, else the env's first host). The command is the person's own words, run through the
/// shell as Fabric's `run` does.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let command = call.kwarg("command").unwrap_or_default();
    if command.trim().is_empty() {
        return Err(Error::usage(
            "task `manage` needs a management command",
            Some(
                "e.g. `dfab production manage:createsuperuser` or `manage:\"dumpdata --indent=2\"` \
                 (the whole text after `manage:` is the command, `=` included)"
                    .into(),
            ),
        ));
    }
    let cmd = match crate::settings::InstallMode::from_env(cx.env)?.release() {
        // Release mode: in the instance's `current` (or `release=<name>`), never /opt's paths.
        Some(rm) => {
            let which = match call.kwarg("release") {
                Some(name) => Which::Named(name),
                None => Which::Current,
            };
            crate::instance::app::manage(cx.env, rm, which, command)?
        }
        None if call.kwarg("release").is_some() => {
            return Err(Error::usage(
                format!(
                    "manage: release= names a release of release mode, and env `{}` installs \
                     through dpkg",
                    cx.env.name
                ),
                Some("drop release=, or set install_mode = 'release' in the env".into()),
            ))
        }
        None => App::from_env(cx.env)?.manage_command(cx.env, command)?,
    };
    let Some(host) = cx.hosts.first() else {
        return Err(cx.env.key_error(
            "hosts",
            format!("environment `{}` has no hosts", cx.env.name),
            Some("set `hosts` in the env or `__all__`, or pass -H host".into()),
        ));
    };
    Ok(vec![Step::Host {
        task: call.name.clone(),
        hosts: vec![host.clone()],
        action: Arc::new(Manage {
            cmd,
            shown: command.to_string(),
        }),
        warn_only: false,
    }])
}

/// The management command on one host.
#[derive(Debug)]
struct Manage {
    cmd: Cmd,
    /// What the person wrote, for the echo line.
    shown: String,
}

impl HostAction for Manage {
    fn run(&self, host: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        // A terminal on both ends: the command gets one on the host, so prompts
        // (createsuperuser's password) and shells work.
        let tty = !cx.dry_run && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
        cx.rep
            .echo(host.host(), "manage", &Cmd::shell(self.shown.clone()));
        cx.rep.command(host.host(), "sudo", &self.cmd);
        let exit = host.interactive(&self.cmd, tty, Some(cx.rep))?;
        if !exit.success() {
            return Err(Error::Exited {
                host: host.host().to_string(),
                cmd: format!("manage {}", self.shown),
                exit,
            });
        }
        Ok(if host.recording() {
            format!("would run manage {}", self.shown)
        } else {
            "exit status 0".into()
        })
    }
}
