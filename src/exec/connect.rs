//! Opening hosts: the `Connector` seam (ssh, LXC attach, tests) and the env's ssh settings.

use std::path::PathBuf;

use crate::environments::Env;
use crate::error::Result;
use crate::report::Reporter;
use crate::transport::ssh::{Ssh, SshTarget};
use crate::transport::Transport;

/// Opens a transport to a host of an environment: live (ssh, LXC attach) or a recorder for
/// `-n` (see [`super::record`]).
pub trait Connector: Sync {
    /// Open `host` (what to connect to) of the run's env, labelled `label` in all output (the
    /// host as planned: one name per host everywhere).
    fn connect(&self, host: &str, label: &str, env: &Env) -> Result<Box<dyn Transport>>;
    /// Open `host` of another env than the run's (`db_clone`'s and `data_refresh`'s source):
    /// an LXC env's container is brought up first.
    fn connect_env(&self, env: &Env, host: &str, rep: &dyn Reporter) -> Result<Box<dyn Transport>>;
}

/// Hosts over SSH, configured by the env's `user`, `port`, `key_filename`, … keys.
pub struct SshConnector;

impl SshConnector {
    /// Open `host` over ssh, labelled `label`.
    pub fn open(host: &str, label: &str, env: &Env) -> Result<Ssh> {
        let mut t = ssh_target(host, env)?;
        if !label.is_empty() {
            t.label = label.to_string();
        }
        Ssh::connect(&t)
    }
}

/// The SSH settings for `host` from the env: the host string wins over env keys.
///
/// A host named by its inventory name is reached at its inventory address
/// ([`Env::addresses`]), still labelled by its name.
pub fn ssh_target(host: &str, env: &Env) -> Result<SshTarget> {
    let mut t = match env.addresses.get(host) {
        Some(addr) => SshTarget {
            label: host.to_string(),
            ..SshTarget::parse(addr)?
        },
        None => SshTarget::parse(host)?,
    };
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
    t.env = Some(env.name.clone());
    t.key_filename = env.str("key_filename").map(PathBuf::from);
    t.ssh_config = env.str("ssh_config").map(PathBuf::from);
    t.known_hosts_file = env.str("known_hosts").map(PathBuf::from);
    t.host_key_checking = env.str("host_key_checking").map(String::from);
    // Any other word fell through to ssh's accept-new: `'yes'` (meant strict) or `'no'` (meant
    // accept) silently did something else.
    if let Some(v) = t.host_key_checking.as_deref() {
        if !matches!(v, "strict" | "add" | "accept") {
            return Err(env.key_error(
                "host_key_checking",
                format!("unknown value `{v}`"),
                Some(
                    "'strict' (StrictHostKeyChecking=yes), 'add' (accept-new: new keys are \
                     added, changed ones refused; the default) or 'accept' (no: any key)"
                        .into(),
                ),
            ));
        }
    }
    if let Some(v) = env.vars.get("timeout") {
        let secs: u64 = v
            .to_plain_string()
            .parse()
            .map_err(|_| env.key_error("timeout", "not a number of seconds", None))?;
        t.connect_timeout = Some(std::time::Duration::from_secs(secs));
    }
    Ok(t)
}
