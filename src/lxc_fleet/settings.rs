//! What an env says about its fleet: the `fleet` dict, `bake_commands`, `user_data`,
//! `keep_bakes`, `bluegreen_keep`, `serial_batch`, `keep_failed` and the `lxc_*` keys a bake and
//! its members are made with, read once and checked (the shapes are checked on load by
//! `environments::keys`; the rules between keys here).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::environments::value::Kind;
use crate::environments::Env;
use crate::error::Result;

/// Default `keep_bakes`: `FabulAWS` keeps a few launch configurations back.
pub const DEFAULT_KEEP_BAKES: usize = 3;
/// Default `bluegreen_keep`: the previous fleet stays, stopped, for one `rollback`.
pub const DEFAULT_BLUEGREEN_KEEP: usize = 1;
/// Default `health_timeout` for a member, seconds.
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the balancer runs (`fleet['balancer']`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Balancer {
    /// `'host'`: nginx on this machine, as a plain process of its own, listening on `listen`.
    Host,
}

/// One env's fleet, as its keys describe it.
#[derive(Debug, Clone)]
pub struct FleetSettings {
    /// The env's name: the prefix of its bakes and members.
    pub env: String,
    /// Members serving at once (`fleet['size']`).
    pub size: usize,
    pub balancer: Balancer,
    /// The port the app listens on in each member (`fleet['port']`).
    pub port: u16,
    /// Where the balancer listens, `address:port` (`fleet['listen']`, default `127.0.0.1:<port>`).
    pub listen: String,
    /// Static addresses (`a.b.c.d/prefix`) members take, the first free one each
    /// (`fleet['addresses']`); empty: the template's own addressing (DHCP).
    pub addresses: Vec<String>,
    /// The gateway written with a static address (`lxc_ipv4_gateway`).
    pub gateway: Option<String>,
    /// The container a bake is cloned from (`lxc_template`).
    pub template: String,
    /// The LXC path (`lxc_path`); `None`: liblxc's default.
    pub lxcpath: Option<PathBuf>,
    /// Wait for RUNNING and an address (`lxc_timeout`).
    pub timeout: Duration,
    /// Run in the bake after the install (`bake_commands`).
    pub bake_commands: Vec<String>,
    /// Run in each member once, on its first boot (`user_data`, a local file).
    pub user_data: Option<PathBuf>,
    /// The path (and query) of `health_url`, asked of each member at its address and `port`.
    pub health_path: String,
    /// How long a member may take to answer its health check (`health_timeout`).
    pub health_timeout: Duration,
    pub keep_bakes: usize,
    pub bluegreen_keep: usize,
    pub serial_batch: usize,
    pub keep_failed: bool,
    /// `.dfab` of the project: the fleet's state, balancer and logs live under it.
    pub state_dir: PathBuf,
}

impl FleetSettings {
    /// Read `env`'s fleet; an env without `fleet`, with `lxc_host` (not yet supported), without
    /// `health_url` or with an unknown balancer is an error naming the key.
    pub fn from_env(env: &Env, project_dir: &Path) -> Result<FleetSettings> {
        let Some(v) = env.vars.get("fleet") else {
            return Err(env.key_error(
                "fleet",
                format!("environment `{}` has no `fleet`", env.name),
                Some(format!(
                    "set {}",
                    env.example("fleet", "{'size': 4, 'balancer': 'host', 'port': 8000}")
                )),
            ));
        };
        let Kind::Dict(entries) = &v.kind else {
            unreachable!("keys::check makes `fleet` a dict on load")
        };
        let get = |k: &str| {
            entries
                .iter()
                .find(|(key, _)| key.as_str() == Some(k))
                .map(|(_, v)| v)
        };
        let int = |k: &str| match get(k).map(|v| &v.kind) {
            Some(Kind::Int(i)) => Some(*i),
            _ => None,
        };
        let size = int("size")
            .and_then(|i| usize::try_from(i).ok())
            .unwrap_or(1);
        let port = int("port")
            .and_then(|i| u16::try_from(i).ok())
            .unwrap_or(80);
        let balancer =
            match get("balancer").and_then(|v| v.as_str()) {
                Some("host") => Balancer::Host,
                other => return Err(env.key_error(
                    "fleet",
                    format!("unknown balancer {other:?}"),
                    Some(
                        "'host' (nginx on this machine, in front of the members on the LXC bridge)"
                            .into(),
                    ),
                )),
            };
        let listen = get("listen")
            .and_then(|v| v.as_str())
            .map_or_else(|| format!("127.0.0.1:{port}"), str::to_owned);
        let addresses: Vec<String> = get("addresses")
            .and_then(|v| v.as_seq())
            .map(|s| {
                s.iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let bluegreen_keep = env.count("bluegreen_keep", DEFAULT_BLUEGREEN_KEEP, "deploys")?;
        // A bluegreen deploy runs the live members, the kept ones and the new ones at once.
        let need = size * (2 + bluegreen_keep);
        if !addresses.is_empty() && addresses.len() < need {
            return Err(env.key_error(
                "fleet",
                format!(
                    "{} addresses for a fleet of {size}: a bluegreen deploy holds {need} at once \
                     (the live members, {bluegreen_keep} kept set(s) and the new members)",
                    addresses.len()
                ),
                Some(format!(
                    "list at least {need} addresses, or none (the template's DHCP)"
                )),
            ));
        }
        if env.str("lxc_host").is_some() {
            return Err(env.key_error(
                "lxc_host",
                "a fleet runs on this machine: `lxc_host` is not supported with `fleet` yet",
                Some("remove `lxc_host` from the fleet's env".into()),
            ));
        }
        let Some(url) = env.str("health_url") else {
            return Err(env.key_error(
                "health_url",
                "a fleet checks each member with `health_url`, which the env does not set",
                Some(format!(
                    "set {} (its path is asked of each member at its address and the fleet's port)",
                    env.example("health_url", "'http://127.0.0.1:8000/health'")
                )),
            ));
        };
        let health_path = health_path(url).ok_or_else(|| {
            env.key_error(
                "health_url",
                format!("{url:?} is not an http:// URL"),
                Some("write it like 'http://127.0.0.1:8000/health'".into()),
            )
        })?;
        let spec = crate::lxc::env::lxc_spec(env, &format!("{}-fleet", env.name), false)?;
        let health_timeout = match env.vars.get("health_timeout") {
            Some(v) => Duration::from_secs(v.to_plain_string().parse().unwrap_or(30)),
            None => DEFAULT_HEALTH_TIMEOUT,
        };
        Ok(FleetSettings {
            env: env.name.clone(),
            size,
            balancer,
            port,
            listen,
            addresses,
            gateway: spec.ipv4_gateway.clone(),
            template: spec.template.clone(),
            lxcpath: spec.lxcpath.clone(),
            timeout: spec.timeout,
            bake_commands: env.str_list("bake_commands"),
            user_data: env.str("user_data").map(|p| project_dir.join(p)),
            health_path,
            health_timeout,
            keep_bakes: env.count("keep_bakes", DEFAULT_KEEP_BAKES, "bakes")?,
            bluegreen_keep,
            serial_batch: env.count("serial_batch", 1, "members")?,
            keep_failed: env.bool("keep_failed").unwrap_or(false),
            state_dir: project_dir.join(".dfab"),
        })
    }

    /// The file that holds the fleet's state.
    #[must_use]
    pub fn state_file(&self) -> PathBuf {
        self.state_dir
            .join("fleet")
            .join(format!("{}.json", self.env))
    }

    /// The balancer's own directory (nginx's prefix: config, pid, logs, temp paths).
    #[must_use]
    pub fn balancer_dir(&self) -> PathBuf {
        self.state_dir.join("balancer").join(&self.env)
    }

    /// Member `name`'s log file (`FabulAWS`'s per-server log): `.dfab/logs/<env>/<member>.log`.
    #[must_use]
    pub fn log_file(&self, member: &str) -> PathBuf {
        self.state_dir
            .join("logs")
            .join(&self.env)
            .join(format!("{member}.log"))
    }
}

/// The path and query of an `http://` URL (`/` when it has none).
fn health_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    Some(match rest.find('/') {
        Some(i) => rest[i..].to_owned(),
        None => "/".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::health_path;

    #[test]
    fn the_health_path_is_what_follows_the_host() {
        assert_eq!(
            health_path("http://127.0.0.1:8000/health?x=1").as_deref(),
            Some("/health?x=1")
        );
        assert_eq!(health_path("http://app").as_deref(), Some("/"));
        assert_eq!(health_path("https://app/health"), None);
    }
}
