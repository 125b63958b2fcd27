//! `data_refresh`: media from `data_from`'s first host into the local cache `media/<env>/`, then
//! to this env's hosts; every path is checked (at plan time, then symlinks resolved on each
//! host) before anything is copied.

use std::path::PathBuf;
use std::sync::Arc;

use crate::environments::Env;
use crate::error::{Error, Result};
use crate::exec::record::exec;
use crate::exec::step::{HostAction, LocalAction, RunCtx};
use crate::invocation::TaskCall;
use crate::media::{self, MediaPath};
use crate::settings::{App, Protection};
use crate::transport::Transport;

use super::{PlanCtx, Step};

/// Check, pull, push.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let env = cx.env;
    let force = call.flag("force")?;
    let protection = Protection::of(env);
    if !force && protection.is_protected() {
        return Err(Error::usage(
            format!(
                "data_refresh would overwrite the media of `{}`, a {} environment; nothing was copied",
                env.name,
                protection.label()
            ),
            Some(format!("if you mean it: dfab {} data_refresh:force=yes", env.name)),
        ));
    }
    let from = env.str("data_from").unwrap_or("production");
    if from == env.name {
        return Err(env.key_error(
            "data_from",
            format!("`{from}` is this environment: nothing to copy from"),
            Some("name the environment to copy media from".into()),
        ));
    }
    let source = cx
        .project
        .activate(from)
        .map_err(|e| env.key_error("data_from", format!("{e}"), e.hint()))?;
    // An LXC source is its container, brought up when the copy runs.
    let source_host = source
        .str("lxc")
        .map(String::from)
        .or_else(|| source.str_list("hosts").into_iter().next());
    let Some(source_host) = source_host else {
        return Err(source.key_error(
            "hosts",
            format!("environment `{from}` (data_from) has no hosts to copy media from"),
            None,
        ));
    };
    let src = media::media_paths(&source)?;
    let dst = media::media_paths(env)?;
    if src.len() != dst.len() {
        return Err(env.key_error(
            "media_paths",
            format!(
                "`{from}` has {} media path(s) and `{}` has {}",
                src.len(),
                env.name,
                dst.len()
            ),
            Some("the lists pair up in order".into()),
        ));
    }
    let owner = App::from_env(env)?.require_user(env)?.to_string();
    let delete = env.bool("media_delete") == Some(true);
    let caches: Vec<PathBuf> = dst
        .iter()
        .map(|m| media::cache_dir(cx.project_dir, &env.name, &m.path))
        .collect();
    let task = call.name.clone();
    Ok(vec![
        Step::Host {
            task: task.clone(),
            hosts: cx.hosts.clone(),
            action: Arc::new(Check { paths: dst.clone() }),
            warn_only: false,
        },
        Step::Here {
            task: task.clone(),
            action: Arc::new(Pull {
                source,
                host: source_host,
                paths: src,
                caches: caches.clone(),
                delete,
            }),
        },
        Step::Host {
            task,
            hosts: cx.hosts.clone(),
            action: Arc::new(Push {
                paths: dst,
                caches,
                owner,
                delete,
            }),
            warn_only: false,
        },
    ])
}

/// The target's paths, symlinks resolved on the host, inside their roots.
#[derive(Debug)]
struct Check {
    paths: Vec<MediaPath>,
}

impl HostAction for Check {
    fn run(&self, host: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let cmd = media::check_on_host(&self.paths);
        let o = exec(host, cx.rep, "check", cmd.clone())?;
        crate::transport::check(host.host(), &cmd, o)?;
        Ok("media paths checked".into())
    }
}

/// Source host → local cache.
#[derive(Debug)]
struct Pull {
    source: Env,
    host: String,
    paths: Vec<MediaPath>,
    caches: Vec<PathBuf>,
    delete: bool,
}

impl LocalAction for Pull {
    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        let mut src = cx.connector.connect_env(&self.source, &self.host, cx.rep)?;
        let check = media::check_on_host(&self.paths);
        let o = exec(src.as_mut(), cx.rep, "check", check.clone())?;
        crate::transport::check(src.host(), &check, o)?;
        let ssh = media::ssh_route(src.as_ref())?;
        let mut local = cx.local();
        for (p, c) in self.paths.iter().zip(&self.caches) {
            if !cx.dry_run {
                fs_err::create_dir_all(c)?;
            }
            cx.rep.info(&format!(
                "data_refresh: {}:{} -> {}",
                self.host,
                p.path,
                c.display()
            ));
            local.run(
                &media::pull(&ssh, src.login_user(), &p.path, c, self.delete),
                cx.rep,
                false,
            )?;
        }
        Ok(())
    }
}

/// Local cache → each target host, owned by the app user.
#[derive(Debug)]
struct Push {
    paths: Vec<MediaPath>,
    caches: Vec<PathBuf>,
    owner: String,
    delete: bool,
}

impl HostAction for Push {
    fn run(&self, host: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let ssh = media::ssh_route(host)?;
        let mut local = cx.local();
        for (p, c) in self.paths.iter().zip(&self.caches) {
            cx.rep.info(&format!(
                "data_refresh: {} -> {}:{}",
                c.display(),
                host.host(),
                p.path
            ));
            local.run(
                &media::push(
                    &ssh,
                    host.login_user(),
                    c,
                    &p.path,
                    &self.owner,
                    self.delete,
                ),
                cx.rep,
                false,
            )?;
        }
        Ok(format!("media copied to {} path(s)", self.paths.len()))
    }
}
