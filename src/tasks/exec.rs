//! Carrying out a `Plan`: connect to hosts as needed, run each item in order, or only print it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::environments::Env;
use crate::error::{Error, Result};
use crate::report::Reporter;
use crate::transport::cmd::Cmd;
use crate::transport::local::Local;
use crate::transport::ssh::{Ssh, SshTarget};
use crate::transport::Transport;

use super::plan::Plan;
use super::step::{RunCtx, Step};
use crate::environments::Project;

/// Opens a transport to a host of an environment. Tests and LXC attach supply their own.
pub trait Connector {
    fn connect(&self, host: &str, env: &Env) -> Result<Box<dyn Transport>>;
}

/// Hosts over SSH, configured by the env's `user`, `port`, `key_filename`, … keys.
pub struct SshConnector;

impl Connector for SshConnector {
    fn connect(&self, host: &str, env: &Env) -> Result<Box<dyn Transport>> {
        Ok(Box::new(Ssh::connect(&ssh_target(host, env)?)?))
    }
}

/// The SSH settings for `host` from the env: the host string wins over env keys.
pub fn ssh_target(host: &str, env: &Env) -> Result<SshTarget> {
    let mut t = SshTarget::parse(host)?;
    if t.user.is_none() {
        t.user = env.str("user").map(String::from);
    }
    if t.port.is_none() {
        t.port = match env
            .vars
            .get("port")
            .map(super::super::environments::value::Value::to_plain_string)
        {
            Some(p) => Some(
                p.parse()
                    .map_err(|_| env.key_error("port", "not a port number", None))?,
            ),
            None => None,
        };
    }
    t.key_filename = env.str("key_filename").map(PathBuf::from);
    t.ssh_config = env.str("ssh_config").map(PathBuf::from);
    t.known_hosts_file = env.str("known_hosts").map(PathBuf::from);
    t.host_key_checking = env.str("host_key_checking").map(String::from);
    if let Some(v) = env.vars.get("timeout") {
        let secs: u64 = v
            .to_plain_string()
            .parse()
            .map_err(|_| env.key_error("timeout", "not a number of seconds", None))?;
        t.connect_timeout = Some(std::time::Duration::from_secs(secs));
    }
    Ok(t)
}

/// Run-wide switches for [`execute`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecOptions {
    pub dry_run: bool,
    pub yes: bool,
    pub quiet: bool,
}

/// Run (or, with `dry_run`, print) every step of the plan on `hosts`.
pub fn execute(
    project: &Project,
    plan: &Plan,
    hosts: &[String],
    connector: &dyn Connector,
    rep: &dyn Reporter,
    o: ExecOptions,
) -> Result<()> {
    let dry_run = o.dry_run;
    let cx = RunCtx {
        project,
        env: &plan.env,
        project_dir: &plan.project_dir,
        connector,
        rep,
        yes: o.yes,
        quiet: o.quiet,
    };
    let mut conns: HashMap<String, Box<dyn Transport>> = HashMap::new();
    let mut local = Local::new();
    // Steps name the env's hosts; an LXC env's single host is resolved at activation.
    let map = |h: &String| -> String {
        match &plan.targets {
            super::plan::Targets::Lxc { .. } => hosts.first().cloned().unwrap_or_else(|| h.clone()),
            super::plan::Targets::Hosts(_) => h.clone(),
        }
    };
    for step in &plan.steps {
        match step {
            Step::Here { action, .. } => {
                if dry_run {
                    for sh in action.describe() {
                        rep.command("localhost", &sh.verb, &sh.cmd);
                    }
                } else {
                    action.run(&cx)?;
                }
            }
            Step::Host {
                hosts: hs, action, ..
            } => {
                require_hosts(plan, hs)?;
                for h in hs.iter().map(map) {
                    if dry_run {
                        for sh in action.describe(&h) {
                            rep.command(&h, &sh.verb, &sh.cmd);
                        }
                        continue;
                    }
                    action.run(conn(&mut conns, &h, connector, &plan.env)?.as_mut(), &cx)?;
                }
            }
            Step::Local { cmd, warn_only, .. } => {
                if dry_run {
                    rep.command("localhost", "local", cmd);
                } else {
                    local.run(cmd, rep, *warn_only)?;
                }
            }
            Step::Run {
                hosts: hs,
                cmd,
                warn_only,
                ..
            } => {
                require_hosts(plan, hs)?;
                for h in hs.iter().map(map) {
                    if dry_run {
                        // Show what would really run: no sudo wrapper when logging in as root.
                        let cmd = match login_user(&h, plan) {
                            Some(u) => cmd.clone().without_sudo_if_root(&u),
                            None => cmd.clone(),
                        };
                        let verb = if cmd.sudo.is_some() { "sudo" } else { "run" };
                        rep.command(&h, verb, &cmd);
                        continue;
                    }
                    conn(&mut conns, &h, connector, &plan.env)?.run(cmd, rep, *warn_only)?;
                }
            }
            Step::Put {
                hosts: hs,
                local: l,
                remote,
                sudo,
                ..
            } => {
                require_hosts(plan, hs)?;
                if !dry_run && !l.is_file() {
                    return Err(Error::other(
                        format!("put: no such local file {}", l.display()),
                        Some(
                            "paths are relative to the project directory (or the step's `lcd`)"
                                .into(),
                        ),
                    ));
                }
                for h in hs.iter().map(map) {
                    if dry_run {
                        rep.command(
                            &h,
                            "put",
                            &Cmd::new("put", [l.display().to_string(), remote.clone()]),
                        );
                        continue;
                    }
                    conn(&mut conns, &h, connector, &plan.env)?.put(l, remote, *sudo, rep)?;
                }
            }
            Step::Get {
                hosts: hs,
                remote,
                local: l,
                ..
            } => {
                require_hosts(plan, hs)?;
                let many = hs.len() > 1;
                for h in hs.iter().map(map) {
                    let dest = get_dest(l, &h, many)?;
                    if dry_run {
                        rep.command(
                            &h,
                            "get",
                            &Cmd::new("get", [remote.clone(), dest.display().to_string()]),
                        );
                        continue;
                    }
                    conn(&mut conns, &h, connector, &plan.env)?.get(remote, &dest, rep)?;
                }
            }
        }
    }
    Ok(())
}

fn get_dest(l: &Path, host: &str, many: bool) -> Result<PathBuf> {
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

fn conn<'a>(
    conns: &'a mut HashMap<String, Box<dyn Transport>>,
    host: &str,
    connector: &dyn Connector,
    env: &Env,
) -> Result<&'a mut Box<dyn Transport>> {
    if !conns.contains_key(host) {
        let t = connector.connect(host, env)?;
        conns.insert(host.to_string(), t);
    }
    Ok(conns.get_mut(host).expect("inserted above"))
}

/// The login user a host string and env imply, when known without connecting.
fn login_user(host: &str, plan: &Plan) -> Option<String> {
    if let Some((u, _)) = host.rsplit_once('@') {
        return Some(u.to_string());
    }
    match (plan.env.str("user"), &plan.targets) {
        (Some(u), _) => Some(u.to_string()),
        (None, super::plan::Targets::Lxc { .. }) => Some("root".into()),
        (None, super::plan::Targets::Hosts(_)) => None,
    }
}
