//! Carrying out a `Plan`: each step in order; a host-scoped step on all its hosts at once (at
//! most `parallel` at a time); a failed host takes no further steps, and the run stops after
//! the step in which any host failed. Under `--dry-run`, every command is printed instead and
//! nothing connects anywhere.

use std::path::{Path, PathBuf};

use crate::environments::Project;
use crate::error::{Error, Result};
use crate::report::Reporter;
use crate::transport::cmd::Cmd;
use crate::transport::local::Local;
use crate::transport::Transport;

pub use super::connect::{ssh_target, Connector, SshConnector};
use super::plan::{Plan, Targets};
use super::pool::Pool;
use super::step::{RunCtx, Step};
use super::summary::Tally;

/// How many hosts a step runs on at once when neither `--parallel` nor the env's `parallel`
/// says: enough for a typical fleet in one wave, few enough for a 2-core laptop.
pub const DEFAULT_PARALLEL: usize = 16;

/// Run-wide switches for [`execute`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecOptions {
    pub dry_run: bool,
    pub yes: bool,
    pub quiet: bool,
    /// Hosts at a time (`--parallel`, else the env's `parallel`, else [`DEFAULT_PARALLEL`]).
    pub parallel: usize,
}

/// Run (or, with `dry_run`, print) every step of the plan on `hosts` (the activated targets:
/// an LXC env's container address replaces its name).
pub fn execute(
    project: &Project,
    plan: &Plan,
    hosts: &[String],
    connector: &dyn Connector,
    rep: &dyn Reporter,
    o: ExecOptions,
) -> Result<()> {
    let map = |h: &String| -> String {
        match &plan.targets {
            Targets::Lxc { .. } => hosts.first().cloned().unwrap_or_else(|| h.clone()),
            Targets::Hosts(_) => h.clone(),
        }
    };
    if o.dry_run {
        return dry_run(plan, &map, rep);
    }
    let cx = RunCtx {
        project,
        env: &plan.env,
        project_dir: &plan.project_dir,
        connector,
        rep,
        yes: o.yes,
        quiet: o.quiet,
        addresses: hosts,
        parallel: o.parallel.max(1),
    };
    let pool = Pool::new(connector, &plan.env, o.parallel.max(1));
    let mut local = Local::new();
    let mut tally = Tally::default();
    tally.expect(
        plan.steps
            .iter()
            .filter_map(Step::hosts)
            .flatten()
            .map(&map),
    );
    for step in &plan.steps {
        let Some(step_hosts) = step.hosts() else {
            let r = match step {
                Step::Local { cmd, warn_only, .. } => local.run(cmd, rep, *warn_only).map(drop),
                Step::Here { action, .. } => action.run(&cx),
                _ => unreachable!("host-scoped steps have hosts"),
            };
            if let Err(e) = r {
                return tally.finish_with(rep, e);
            }
            continue;
        };
        require_hosts(plan, step_hosts)?;
        if let Step::Put { local: l, .. } = step {
            if !l.is_file() {
                return Err(Error::other(
                    format!("put: no such local file {}", l.display()),
                    Some(
                        "paths are relative to the project directory (or the step's `lcd`)".into(),
                    ),
                ));
            }
        }
        let mapped: Vec<String> = step_hosts.iter().map(&map).collect();
        let live: Vec<String> = mapped
            .iter()
            .filter(|h| !tally.failed(h))
            .cloned()
            .collect();
        let many = mapped.len() > 1;
        let results = pool.run(&live, &|t: &mut dyn Transport, host: &str| {
            run_on(step, t, host, many, &cx)
        });
        let warn_only = step.warn_only();
        for (host, r) in results {
            tally.record(&host, step.task(), r, warn_only, rep);
        }
        if tally.any_failed() {
            break;
        }
    }
    tally.finish(rep)
}

/// One host-scoped step on one host.
pub(crate) fn run_on(
    step: &Step,
    t: &mut dyn Transport,
    host: &str,
    many: bool,
    cx: &RunCtx<'_>,
) -> Result<()> {
    match step {
        Step::Run { cmd, warn_only, .. } => {
            crate::hostside::run(t, cmd, cx.rep, *warn_only).map(drop)
        }
        Step::Put {
            local,
            remote,
            sudo,
            ..
        } => t.put(local, remote, *sudo, cx.rep),
        Step::Get { remote, local, .. } => {
            let dest = get_dest(local, host, many)?;
            t.get(remote, &dest, cx.rep)
        }
        Step::Host { action, .. } => action.run(t, cx),
        Step::Local { .. } | Step::Here { .. } => unreachable!("not host-scoped"),
    }
}

/// Print every command each step would run, per host, in order; connect nowhere.
fn dry_run(plan: &Plan, map: &dyn Fn(&String) -> String, rep: &dyn Reporter) -> Result<()> {
    for step in &plan.steps {
        if let Some(hs) = step.hosts() {
            require_hosts(plan, hs)?;
        }
        match step {
            Step::Local { cmd, .. } => rep.command("localhost", "local", cmd),
            Step::Here { action, .. } => {
                for note in action.notes() {
                    rep.info(&note);
                }
                for sh in action.describe() {
                    rep.command(sh.on.as_deref().unwrap_or("localhost"), &sh.verb, &sh.cmd);
                }
            }
            Step::Run { hosts, cmd, .. } => {
                for h in hosts.iter().map(map) {
                    // Show what would really run: no sudo wrapper when logging in as root.
                    let cmd = match login_user(&h, plan) {
                        Some(u) => cmd.clone().without_sudo_if_root(&u),
                        None => cmd.clone(),
                    };
                    let verb = if cmd.sudo.is_some() { "sudo" } else { "run" };
                    rep.command(&h, verb, &cmd);
                }
            }
            Step::Put {
                hosts,
                local,
                remote,
                ..
            } => {
                for h in hosts.iter().map(map) {
                    let cmd = Cmd::new("put", [local.display().to_string(), remote.clone()]);
                    rep.command(&h, "put", &cmd);
                }
            }
            Step::Get {
                hosts,
                remote,
                local,
                ..
            } => {
                let many = hosts.len() > 1;
                for h in hosts.iter().map(map) {
                    let dest = if many { local.join(&h) } else { local.clone() };
                    let cmd = Cmd::new("get", [remote.clone(), dest.display().to_string()]);
                    rep.command(&h, "get", &cmd);
                }
            }
            Step::Host { hosts, action, .. } => {
                for h in hosts.iter().map(map) {
                    for sh in action.describe(&h) {
                        rep.command(&h, &sh.verb, &sh.cmd);
                    }
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn get_dest(l: &Path, host: &str, many: bool) -> Result<PathBuf> {
    let dest = if many { l.join(host) } else { l.to_path_buf() };
    let dir = if many || l.to_string_lossy().ends_with('/') {
        dest.clone()
    } else {
        dest.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    if !dir.as_os_str().is_empty() {
        fs_err::create_dir_all(&dir)?;
    }
    Ok(dest)
}

fn require_hosts(plan: &Plan, hosts: &[String]) -> Result<()> {
    if hosts.is_empty() {
        return Err(plan.env.key_error(
            "hosts",
            format!("environment `{}` has no hosts", plan.env.name),
            Some("set `hosts` in the env or `__all__`, or pass -H host1,host2".into()),
        ));
    }
    Ok(())
}

/// The login user a host string and env imply, when known without connecting.
fn login_user(host: &str, plan: &Plan) -> Option<String> {
    if let Some((u, _)) = host.rsplit_once('@') {
        return Some(u.to_string());
    }
    match (plan.env.str("user"), &plan.targets) {
        (Some(u), _) => Some(u.to_string()),
        (None, Targets::Lxc { .. }) => Some("root".into()),
        (None, Targets::Hosts(_)) => None,
    }
}
