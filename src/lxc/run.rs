//! Where the rest of dfab meets the container: activating an LXC environment, a connector that
//! picks ssh or attach, and the `lxc.template` and `lxc_remove` tasks.

use super::backend;
use super::spec::LxcTransport;
use super::transport::AttachTransport;
use crate::environments::value::{Kind, Value};
use crate::environments::Env;
use crate::error::Result;
use crate::exec::{Connector, SshConnector};
use crate::report::Reporter;
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
            "[{}] lxc: `{name}` not looked up (-n); if missing, it would be cloned from `{}`",
            label(env),
            spec.template
        ));
        super::validate(&spec)?;
        let steps = super::step::plan_ensure(
            &spec,
            super::step::State::Absent,
            || Ok((None, None)),
            || Ok(super::step::State::Stopped),
        )?;
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
    let host = match (spec.transport, env.str("user")) {
        (LxcTransport::Attach, _) => running.name.clone(),
        (LxcTransport::Ssh, Some(_)) => running.ipv4.clone(),
        (LxcTransport::Ssh, None) => format!("root@{}", running.ipv4),
    };
    if spec.transport == LxcTransport::Ssh && spec.host.is_none() {
        wait_for_sshd(env, &running.name, &running.ipv4, spec.timeout)?;
        reach(env, &spec, &host, rep)?;
    }
    Ok(vec![host])
}

/// Log in once before any task runs, so an unreachable container says why now, not after the
/// expensive work. When root's login fails and the env names no `key_filename`, dfab authorises
/// its own key (see [`super::key`]) in the container by attach and tries again.
fn reach(env: &Env, spec: &super::LxcSpec, host: &str, rep: &dyn Reporter) -> Result<()> {
    let Err(first) = LxcConnector.open(host, host, env) else {
        return Ok(());
    };
    let as_root = env.str("user").is_none_or(|u| u == "root");
    let err = if env.str("key_filename").is_none() && as_root {
        let (key, created) = super::key::ensure()?;
        if created {
            rep.info(&format!(
                "created dfab's ssh key for LXC containers: {}",
                key.private.display()
            ));
        }
        if super::key::authorize(spec, &key)? {
            rep.info(&format!(
                "container {}: added dfab's ssh key to root's authorized_keys (it accepted none \
                 of this machine's keys)",
                spec.name
            ));
        }
        // The key is in place; a container that has just booted has been seen to refuse it
        // once (intermittently, cause unknown), so a refusal is asked again twice, a second
        // apart, before it is an error.
        let mut tries = 0;
        loop {
            match LxcConnector.open(host, host, env) {
                Ok(_) => return Ok(()),
                Err(e) if tries < 2 && crate::transport::connect_error::login_refused(&e) => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
                Err(e) => break e,
            }
        }
    } else {
        first
    };
    let attach = env.example("lxc_transport", "'attach'");
    let hint = match (env.str("key_filename"), as_root) {
        (Some(k), _) => format!(
            "the container does not accept `key_filename` ({k}): add its .pub to the container's \
             authorized_keys, or drop `key_filename` and dfab uses (and installs) its own key; \
             or set {attach}, which needs no ssh"
        ),
        (None, false) => format!(
            "dfab installs its own key for root only: log in as root (drop `user`), add a key \
             for `{}` to the container, or set {attach}",
            env.str("user").unwrap_or_default()
        ),
        (None, true) => format!(
            "check sshd in the container (`lxc-attach -n {} -- journalctl -u ssh`), \
             or set {attach}, which needs no ssh",
            spec.name
        ),
    };
    Err(crate::error::Error::Transport {
        host: host.to_owned(),
        message: format!(
            "container {} is running, but dfab cannot log in to it over ssh (nothing was run): {err}",
            spec.name
        ),
        hint: Some(hint),
    })
}

/// Open `host` of another environment than the run's (`db_clone`'s and `data_refresh`'s
/// source): an LXC env's container is brought up first (cloned and started when missing, as
/// activation does) and reached as that env says (ssh or attach); other envs over ssh.
pub fn connect_env_host(env: &Env, host: &str, rep: &dyn Reporter) -> Result<Box<dyn Transport>> {
    if let Some(container) = env.str("lxc") {
        let hosts = activate(env, container, false, false, rep)?;
        let Some(h) = hosts.first() else {
            return Err(crate::error::Error::Transport {
                host: container.to_owned(),
                message: format!("the container of env `{}` gave no address", env.name),
                hint: None,
            });
        };
        return LxcConnector.open(h, container, env);
    }
    Ok(Box::new(SshConnector::open(host, host, env)?))
}

/// The live connector of a run: an LXC env's container (see [`LxcConnector`]) or hosts over
/// ssh; another env's hosts through [`connect_env_host`].
pub struct LiveConnector {
    /// Whether the run's env is an LXC env.
    pub lxc: bool,
}

impl Connector for LiveConnector {
    fn connect(&self, host: &str, label: &str, env: &Env) -> Result<Box<dyn Transport>> {
        if self.lxc {
            LxcConnector.open(host, label, env)
        } else {
            Ok(Box::new(SshConnector::open(host, label, env)?))
        }
    }

    fn connect_env(&self, env: &Env, host: &str, rep: &dyn Reporter) -> Result<Box<dyn Transport>> {
        connect_env_host(env, host, rep)
    }
}

/// Connects to an LXC environment's container by attach when `lxc_transport = 'attach'`, else
/// over ssh like any host.
pub struct LxcConnector;

impl LxcConnector {
    /// Open the container at `host` (its address, or its name for attach), labelled `label`.
    pub fn open(&self, host: &str, label: &str, env: &Env) -> Result<Box<dyn Transport>> {
        if env.str("lxc_transport") == Some("attach") {
            let spec = super::env::lxc_spec(env, host, false)?;
            return Ok(Box::new(AttachTransport::new(&spec)?.labelled(label)));
        }
        // dfab made this container itself, often a moment ago with fresh host keys at a reused
        // address: trust it unless the env says otherwise, and log in as root by default.
        let mut env = env.clone();
        let pos = crate::environments::value::Pos::default();
        // With no `key_filename`, offer dfab's own key (ssh still tries the user's keys too).
        let own_key = match env.str("key_filename") {
            Some(_) => None,
            None => super::key::existing()?.map(|k| k.private.display().to_string()),
        };
        for (k, v) in [
            ("host_key_checking", Some("accept".to_owned())),
            ("known_hosts", Some("/dev/null".to_owned())),
            ("user", Some("root".to_owned())),
            ("key_filename", own_key),
        ] {
            if let Some(v) = v {
                env.vars
                    .entry(k.to_string())
                    .or_insert_with(|| Value::new(Kind::Str(v), pos));
            }
        }
        Ok(Box::new(SshConnector::open(host, label, &env)?))
    }
}

/// The template `env` asks for, with dfab's own key among root's authorized keys, and a line
/// saying whose keys go in. `create` makes dfab's key when it is missing (not in a dry run).
pub fn template_with_keys(
    env: &Env,
    create: bool,
    rep: &dyn Reporter,
) -> Result<(super::template::TemplateSpec, String)> {
    let mut spec = super::env::template_spec(env)?;
    // dfab's own key always goes in, so the template is reachable with no ssh set-up at all.
    let own = if create {
        let (key, created) = super::key::ensure()?;
        if created {
            rep.info(&format!(
                "created dfab's ssh key for LXC containers: {}",
                key.private.display()
            ));
        }
        Some(key)
    } else {
        super::key::existing()?
    };
    let user_keys = spec.authorized_keys.len();
    if let Some(k) = &own {
        if !spec.authorized_keys.contains(&k.public) {
            spec.authorized_keys.push(k.public.clone());
        }
    }
    let note = format!(
        "[{}] root's authorized_keys in {}: {}",
        label(env),
        spec.name,
        match (&own, user_keys) {
            (Some(k), 0) => format!("dfab's key ({})", k.private.display()),
            (Some(k), _) => format!("your ~/.ssh key and dfab's key ({})", k.private.display()),
            (None, _) => format!(
                "dfab's key, created at {} when this runs for real",
                super::key::dir()?.join("id_ed25519").display()
            ),
        }
    );
    Ok((spec, note))
}

/// `dfab <env> lxc.template`: build the env's template (`lxc_template`, default `vanilla`).
pub fn template_task(env: &Env, dry_run: bool, rep: &dyn Reporter) -> Result<()> {
    let (spec, note) = template_with_keys(env, !dry_run, rep)?;
    rep.info(&note);
    let show = |action: &super::template::Action| match action {
        super::template::Action::Run(cmd) => {
            rep.command(label(env), "lxc.template", cmd);
        }
        write @ super::template::Action::Write { .. } => {
            rep.command(label(env), "write", &write.command());
        }
    };
    if dry_run {
        // Offline: a dry run reads nothing on an `lxc_host` (its lxc-config, its mirror).
        let actions = super::template::plan_offline(&spec)?;
        actions.iter().for_each(show);
        rep.info(&format!(
            "[{}] lxc.template: would build template {} ({} actions; -v shows them)",
            label(env),
            spec.name,
            actions.len()
        ));
        return Ok(());
    }
    super::template::build(&spec, &mut |a| show(a))?;
    rep.info(&format!(
        "template {} is ready; environments clone it with `{}`",
        spec.name,
        env.example(
            "lxc_template",
            &crate::environments::value::Value::new(
                crate::environments::value::Kind::Str(spec.name.clone()),
                crate::environments::value::Pos::default(),
            )
            .to_string()
        )
    ));
    Ok(())
}

/// `dfab <env> lxc_remove`: stop and destroy the env's container (nothing when it is absent).
pub fn remove_task(env: &Env, name: &str, dry_run: bool, rep: &dyn Reporter) -> Result<()> {
    let spec = super::env::lxc_spec(env, name, false)?;
    if dry_run {
        // The state is not read (a dry run connects nowhere, `lxc_host` included): the most a
        // removal does, on a running container.
        let steps = super::step::plan_remove(&spec, super::step::State::Running);
        for step in &steps {
            rep.command(label(env), "lxc_remove", &step.command(None));
        }
        rep.info(&format!(
            "[{}] lxc_remove: would stop and destroy container {name}",
            label(env)
        ));
        return Ok(());
    }
    let backend = backend::for_spec(&spec)?;
    let lxcpath = backend.lxcpath();
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
    let addr: std::net::SocketAddr =
        format!("{ip}:{port}")
            .parse()
            .map_err(|_| crate::error::Error::Transport {
                host: name.to_owned(),
                message: format!("bad address {ip}"),
                hint: None,
            })?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let step = std::time::Duration::from_millis(200);
        if std::net::TcpStream::connect_timeout(&addr, step).is_ok() {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(crate::error::Error::Transport {
                host: name.to_owned(),
                message: format!(
                    "the container is running at {ip}, but nothing accepted ssh on port {port} \
                     within {}s",
                    timeout.as_secs()
                ),
                hint: Some(format!(
                    "does its template run sshd? `dfab {} lxc.template` builds one that does; \
                     or set {} to need no sshd",
                    env.name,
                    env.example("lxc_transport", "'attach'")
                )),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
