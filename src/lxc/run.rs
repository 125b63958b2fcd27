//! Where the rest of dfab meets the container: activating an LXC environment, a connector that
//! picks ssh or attach, and the `lxc.template` and `lxc_remove` tasks.

use super::backend;
use super::spec::LxcTransport;
use super::transport::AttachTransport;
use crate::environments::value::{Kind, Value};
use crate::environments::Env;
use crate::error::Result;
use crate::report::Reporter;
use crate::tasks::exec::{Connector, SshConnector};
use crate::transport::Transport;

/// The `[host]` label for LXC management output.
fn label(env: &Env) -> &str {
    env.str("lxc_host").unwrap_or("localhost")
}

/// Bring `env`'s container `name` up (cloning, starting, waiting for its address); returns the
/// host string tasks connect to: `root@<ip>` (or the bare address when the env sets `user`) for
/// ssh, the container name for attach. Under `dry_run` only prints the steps (reading state).
pub fn activate(
    env: &Env,
    name: &str,
    force_new: bool,
    dry_run: bool,
    rep: &dyn Reporter,
) -> Result<Vec<String>> {
    let spec = super::env::lxc_spec(env, name, force_new)?;
    if dry_run {
        // A dry run connects nowhere, so the container's state is not read (no `lxc-info`, no
        // ssh to `lxc_host`): show what activation does for a container that is not there yet.
        rep.info(&format!(
            "[{}] (dry run: container `{name}` not looked up; if it is missing, activation runs:)",
            label(env)
        ));
        super::validate(&spec)?;
        let steps = super::step::plan_ensure(&spec, super::step::State::Absent, || {
            Ok(super::step::State::Stopped)
        })?;
        for step in steps {
            rep.command(label(env), "lxc", &step.command(None));
        }
        return Ok(vec![name.to_owned()]);
    }
    let backend = backend::for_spec(&spec)?;
    let lxcpath = backend.lxcpath();
    let running = super::ensure(&spec, backend.as_ref(), &mut |step| {
        rep.command(label(env), "lxc", &step.command(lxcpath.as_deref()));
    })?;
    rep.info(&format!(
        "container {} is running at {}",
        running.name, running.ipv4
    ));
    if spec.transport == LxcTransport::Ssh && spec.host.is_none() {
        wait_for_sshd(env, &running.name, &running.ipv4, spec.timeout)?;
    }
    Ok(vec![match (spec.transport, env.str("user")) {
        (LxcTransport::Attach, _) => running.name,
        (LxcTransport::Ssh, Some(_)) => running.ipv4,
        (LxcTransport::Ssh, None) => format!("root@{}", running.ipv4),
    }])
}

/// Connects to an LXC environment's container by attach when `lxc_transport = 'attach'`, else
/// over ssh like any host.
pub struct LxcConnector;

impl Connector for LxcConnector {
    fn connect(&self, host: &str, env: &Env) -> Result<Box<dyn Transport>> {
        if env.str("lxc_transport") == Some("attach") {
            let spec = super::env::lxc_spec(env, host, false)?;
            return Ok(Box::new(AttachTransport::new(&spec)?));
        }
        // dfab made this container itself, often a moment ago with fresh host keys at a reused
        // address: trust it unless the env says otherwise, and log in as root by default.
        let mut env = env.clone();
        let pos = crate::environments::value::Pos::default();
        for (k, v) in [
            ("host_key_checking", "accept"),
            ("known_hosts", "/dev/null"),
            ("user", "root"),
        ] {
            env.vars
                .entry(k.to_string())
                .or_insert_with(|| Value::new(Kind::Str(v.to_string()), pos));
        }
        SshConnector.connect(host, &env)
    }
}

/// `dfab <env> lxc.template`: build the env's template (`lxc_template`, default `vanilla`).
pub fn template_task(env: &Env, dry_run: bool, rep: &dyn Reporter) -> Result<()> {
    let spec = super::env::template_spec(env)?;
    let show = |action: &super::template::Action| match action {
        super::template::Action::Run(cmd) => {
            rep.command(label(env), "lxc.template", cmd);
        }
        write @ super::template::Action::Write { .. } => {
            rep.info(&format!("[{}] {write}", label(env)));
        }
    };
    if dry_run {
        super::template::plan(&spec)?.iter().for_each(show);
        return Ok(());
    }
    super::template::build(&spec, &mut |a| show(a))?;
    rep.info(&format!(
        "template {} is ready; environments clone it with `lxc_template = '{}'`",
        spec.name, spec.name
    ));
    Ok(())
}

/// `dfab <env> lxc_remove`: stop and destroy the env's container (nothing when it is absent).
pub fn remove_task(env: &Env, name: &str, dry_run: bool, rep: &dyn Reporter) -> Result<()> {
    let spec = super::env::lxc_spec(env, name, false)?;
    let backend = backend::for_spec(&spec)?;
    let lxcpath = backend.lxcpath();
    if dry_run {
        let steps = super::step::plan_remove(&spec, backend.state(name)?);
        for step in &steps {
            rep.command(label(env), "lxc_remove", &step.command(lxcpath.as_deref()));
        }
        return Ok(());
    }
    let steps = super::remove(&spec, backend.as_ref(), &mut |step| {
        rep.command(label(env), "lxc_remove", &step.command(lxcpath.as_deref()));
    })?;
    if steps.is_empty() {
        rep.info(&format!(
            "container {name} does not exist; nothing to remove"
        ));
    }
    Ok(())
}

/// Wait until the container's sshd accepts TCP connections (it starts a moment after the address
/// appears), polling every 20 ms up to `timeout`.
fn wait_for_sshd(env: &Env, name: &str, ip: &str, timeout: std::time::Duration) -> Result<()> {
    let port: u16 = env
        .vars
        .get("port")
        .and_then(|p| p.to_plain_string().parse().ok())
        .unwrap_or(22);
    let addr: std::net::SocketAddr = format!("{ip}:{port}").parse().map_err(|_| {
        crate::error::Error::other(format!("container {name}: bad address {ip}"), None)
    })?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let step = std::time::Duration::from_millis(200);
        if std::net::TcpStream::connect_timeout(&addr, step).is_ok() {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(crate::error::Error::other(
                format!(
                    "container {name} is running at {ip}, but nothing accepted ssh on port {port} \
                     within {}s",
                    timeout.as_secs()
                ),
                Some(
                    "does its template run sshd? `dfab <env> lxc.template` builds one that does; \
                     or set lxc_transport = 'attach' to need no sshd"
                        .into(),
                ),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
