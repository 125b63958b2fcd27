//! What an env says about its fleet: the `fleet` dict, `bake_commands`, `user_data`,
//! `keep_bakes`, `bluegreen_keep`, `serial_batch`, `keep_failed` and the `lxc_*` keys a bake and
//! its members are made with (here or on `lxc_host`), read once and checked (the shapes are
//! checked on load by `environments::keys`; the rules between keys here).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::environments::value::Kind;
use crate::environments::Env;
use crate::error::Result;
use crate::lxc::tool::Runner;
use crate::lxc::LxcSpec;

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
    /// Any other value: nginx inside the container of that name (here, or on `lxc_host`),
    /// used as it is when it exists, else cloned from `lxc_template` (with `lxc_ipv4` as its
    /// address, when set) and removed again by `fleet.destroy`. The spec is the env's
    /// container keys read for that name.
    Container(Box<LxcSpec>),
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
    /// nginx's `listen`: `address:port` (`fleet['listen']`); the default is `127.0.0.1:<port>` on
    /// this machine, and `<port>` (every address: clients reach the container's own) in a
    /// container.
    pub listen: String,
    /// The machine the containers are on (`lxc_host`, reached by `ssh`); `None`: this one.
    pub lxc_host: Option<String>,
    /// Extra `ssh` arguments for `lxc_host` (`lxc_host_ssh_options`).
    pub lxc_host_ssh_options: Vec<String>,
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
    /// Read `env`'s fleet; an env without `fleet` or `health_url`, with a balancer name that is
    /// no container name, or with `'balancer': 'host'` and `lxc_host` (nginx here cannot reach
    /// the members on that host's bridge) is an error naming the key.
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
        let lxc_host = env.str("lxc_host").map(str::to_owned);
        let balancer = match get("balancer").and_then(|v| v.as_str()) {
            Some("host") if lxc_host.is_some() => return Err(env.key_error(
                "fleet",
                "'balancer': 'host' runs nginx on this machine, which cannot reach the members \
                     on the bridge of `lxc_host`",
                Some(format!(
                    "on an lxc_host the balancer runs in a container there: name it, as in \
                         'balancer': '{}-lb' (made from lxc_template when missing)",
                    env.name
                )),
            )),
            Some("host") => Balancer::Host,
            Some(name) => {
                crate::lxc::name::validate(name).map_err(|e| {
                    env.key_error(
                        "fleet",
                        format!("balancer {name:?}: {e}"),
                        Some(
                            "'host' (nginx on this machine) or the name of the container nginx \
                             runs in"
                                .into(),
                        ),
                    )
                })?;
                Balancer::Container(Box::new(crate::lxc::env::lxc_spec(env, name, false)?))
            }
            None => unreachable!("keys::check makes `balancer` a string on load"),
        };
        let listen = get("listen").and_then(|v| v.as_str()).map_or_else(
            || match balancer {
                Balancer::Host => format!("127.0.0.1:{port}"),
                Balancer::Container(_) => port.to_string(),
            },
            str::to_owned,
        );
        let addresses: Vec<String> = get("addresses")
            .and_then(|v| v.as_seq())
            .map(|s| {
                s.iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(dup) = duplicate(&addresses) {
            return Err(env.key_error(
                "fleet",
                format!("fleet['addresses'] lists {dup:?} twice: two members would share it"),
                Some("list each address once".into()),
            ));
        }
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
            lxc_host,
            lxc_host_ssh_options: env.str_list("lxc_host_ssh_options"),
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

    /// Where the `lxc-*` tools and attach run: here, or on `lxc_host` by ssh.
    #[must_use]
    pub fn runner(&self) -> Runner {
        Runner::for_host(self.lxc_host.as_deref(), &self.lxc_host_ssh_options)
    }

    /// The address `listen` names, unless it names every address (`0.0.0.0`, `*`, or only a
    /// port).
    #[must_use]
    pub fn listen_address(&self) -> Option<&str> {
        self.listen
            .rsplit_once(':')
            .map(|(a, _)| a)
            .filter(|a| !matches!(*a, "0.0.0.0" | "*"))
    }

    /// The port the balancer listens on (the last part of `listen`).
    #[must_use]
    pub fn listen_port(&self) -> &str {
        self.listen
            .rsplit_once(':')
            .map_or(self.listen.as_str(), |(_, p)| p)
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

    /// `path` as the user names it from the project directory, where dfab runs
    /// (`.dfab/logs/<env>/<member>.log`); absolute when it is outside.
    #[must_use]
    pub fn shown(&self, path: &Path) -> String {
        crate::fsutil::shown(path, self.state_dir.parent().unwrap_or(&self.state_dir))
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

/// The first address `addresses` lists twice (`10.0.3.5/24` and `10.0.3.5` are the same).
fn duplicate(addresses: &[String]) -> Option<&str> {
    let ip = |a: &str| a.split('/').next().unwrap_or(a).trim().to_owned();
    addresses
        .iter()
        .enumerate()
        .find(|(i, a)| addresses[..*i].iter().any(|b| ip(b) == ip(a)))
        .map(|(_, a)| a.as_str())
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
    use super::{duplicate, health_path};

    #[test]
    fn an_address_listed_twice_is_found() {
        let l = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(duplicate(&l(&["10.0.3.5/24", "10.0.3.6/24"])), None);
        assert_eq!(
            duplicate(&l(&["10.0.3.5/24", "10.0.3.6/24", "10.0.3.5/16"])),
            Some("10.0.3.5/16")
        );
    }

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
