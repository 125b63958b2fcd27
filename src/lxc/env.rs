//! The `lxc_*` keys of an environment, read into an [`LxcSpec`] or a [`TemplateSpec`].
//!
//! Keys beyond main's `keys.rs` list (`lxc`, `lxc_template`, `lxc_clone`, `lxc_transport`,
//! `lxc_host`): `lxc_host_ssh_options` (extra `ssh` arguments for `lxc_host`, a list such as
//! `['-p', '2222', '-i', '/root/.ssh/lxc']`), `lxc_timeout` (seconds, default 60), `lxc_ipv4` (`10.0.3.123/24`: a static
//! address instead of DHCP), `lxc_ipv4_gateway`, `lxc_path`, and for `lxc.template`
//! `lxc_release` (default `bookworm`), `lxc_packages` (extra packages), `lxc_mirror` (default:
//! this machine's apt mirror) and `lxc_bridge` (default `lxcbr0`).

use std::path::PathBuf;
use std::time::Duration;

use super::spec::{CloneMode, LxcSpec, LxcTransport};
use super::template::TemplateSpec;
use super::tool::Runner;
use crate::environments::value::Kind;
use crate::environments::Env;
use crate::error::Result;

/// The container `name` of `env` (its `lxc` key), recreated when `force_new`.
pub fn lxc_spec(env: &Env, name: &str, force_new: bool) -> Result<LxcSpec> {
    super::name::validate(name).map_err(|e| env.key_error("lxc", e.to_string(), e.hint()))?;
    let mut spec = LxcSpec::new(name);
    spec.env = Some(env.name.clone());
    spec.force_new = force_new;
    if let Some(t) = env.str("lxc_template") {
        super::name::validate(t)
            .map_err(|e| env.key_error("lxc_template", e.to_string(), e.hint()))?;
        t.clone_into(&mut spec.template);
    }
    if let Some(c) = env.str("lxc_clone") {
        spec.clone = CloneMode::parse(c).ok_or_else(|| {
            env.key_error(
                "lxc_clone",
                format!("unknown clone mode {c:?}"),
                Some("use 'snapshot' or 'copy'".into()),
            )
        })?;
    }
    if let Some(t) = env.str("lxc_transport") {
        spec.transport = match t {
            "ssh" => LxcTransport::Ssh,
            "attach" => LxcTransport::Attach,
            _ => {
                return Err(env.key_error(
                    "lxc_transport",
                    format!("unknown LXC transport {t:?}"),
                    Some("use 'ssh' or 'attach'".into()),
                ))
            }
        };
    }
    spec.host = env.str("lxc_host").map(str::to_owned);
    spec.host_ssh_options = env.str_list("lxc_host_ssh_options");
    if let Some(timeout) = timeout(env)? {
        spec.timeout = timeout;
    }
    if let Some(ip) = env.str("lxc_ipv4") {
        let valid = ip.split_once('/').is_some_and(|(a, p)| {
            a.parse::<std::net::Ipv4Addr>().is_ok() && p.parse::<u8>().is_ok_and(|p| p <= 32)
        });
        if !valid {
            return Err(env.key_error(
                "lxc_ipv4",
                format!("{ip:?} is not an IPv4 address with a prefix length"),
                Some("write it like '10.0.3.123/24'".into()),
            ));
        }
        spec.ipv4 = Some(ip.to_owned());
    }
    spec.ipv4_gateway = env.str("lxc_ipv4_gateway").map(str::to_owned);
    spec.lxcpath = env.str("lxc_path").map(PathBuf::from);
    Ok(spec)
}

/// `lxc_timeout`: whole seconds, an int or a string of digits, above zero.
fn timeout(env: &Env) -> Result<Option<Duration>> {
    let Some(v) = env.vars.get("lxc_timeout") else {
        return Ok(None);
    };
    let secs = match &v.kind {
        Kind::Int(i) => u64::try_from(*i).ok(),
        Kind::Str(s) => s.parse().ok(),
        _ => None,
    };
    match secs {
        Some(s) if s > 0 => Ok(Some(Duration::from_secs(s))),
        _ => Err(env.key_error(
            "lxc_timeout",
            "must be a whole number of seconds above 0",
            Some("for example 30".into()),
        )),
    }
}

/// What `dfab <env> lxc.template` builds for `env`.
pub fn template_spec(env: &Env) -> Result<TemplateSpec> {
    let name = env
        .str("lxc_template")
        .unwrap_or(super::spec::DEFAULT_TEMPLATE);
    super::name::validate(name)
        .map_err(|e| env.key_error("lxc_template", e.to_string(), e.hint()))?;
    let mut spec = TemplateSpec::new(name);
    if let Some(r) = env.str("lxc_release") {
        r.clone_into(&mut spec.release);
    }
    spec.packages = env.str_list("lxc_packages");
    spec.mirror = env.str("lxc_mirror").map(str::to_owned);
    if let Some(b) = env.str("lxc_bridge") {
        b.clone_into(&mut spec.bridge);
    }
    spec.lxcpath = env.str("lxc_path").map(PathBuf::from);
    spec.runner = Runner::for_host(env.str("lxc_host"), &env.str_list("lxc_host_ssh_options"));
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::{lxc_spec, template_spec};
    use crate::environments::value::{Kind, Pos, Value};
    use crate::environments::Env;
    use crate::error::Error;
    use crate::lxc::spec::{CloneMode, LxcSpec, LxcTransport};
    use crate::lxc::tool::Runner;

    fn env(pairs: &[(&str, Kind)]) -> Env {
        let vars: BTreeMap<String, Value> = pairs
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    Value::new(v.clone(), Pos { line: 3, col: 5 }),
                )
            })
            .collect();
        Env {
            name: "staging".to_owned(),
            file: "environments.py".into(),
            vars,
            external: std::collections::BTreeMap::new(),
            addresses: std::collections::BTreeMap::new(),
        }
    }

    fn s(v: &str) -> Kind {
        Kind::Str(v.to_owned())
    }

    #[test]
    fn defaults_and_every_key() {
        assert_eq!(
            lxc_spec(&env(&[]), "app", false).unwrap(),
            LxcSpec {
                env: Some("staging".to_owned()),
                ..LxcSpec::new("app")
            }
        );
        let e = env(&[
            ("lxc_template", s("base")),
            ("lxc_clone", s("copy")),
            ("lxc_transport", s("attach")),
            ("lxc_host", s("root@box")),
            ("lxc_timeout", Kind::Int(5)),
            ("lxc_ipv4", s("10.0.3.150/24")),
            ("lxc_ipv4_gateway", s("10.0.3.1")),
            ("lxc_path", s("/srv/lxc")),
        ]);
        let spec = lxc_spec(&e, "app", true).unwrap();
        assert_eq!(
            (
                spec.template.as_str(),
                spec.clone,
                spec.transport,
                spec.host.as_deref(),
                spec.timeout
            ),
            (
                "base",
                CloneMode::Copy,
                LxcTransport::Attach,
                Some("root@box"),
                Duration::from_secs(5)
            )
        );
        assert!(spec.force_new);
        assert_eq!(spec.ipv4.as_deref(), Some("10.0.3.150/24"));
        assert_eq!(
            spec.lxcpath.as_deref(),
            Some(std::path::Path::new("/srv/lxc"))
        );
        let opts = Kind::List(vec![
            Value::new(s("-p"), Pos::default()),
            Value::new(s("2222"), Pos::default()),
        ]);
        let remote = lxc_spec(
            &env(&[("lxc_host", s("box")), ("lxc_host_ssh_options", opts)]),
            "app",
            false,
        )
        .unwrap();
        assert_eq!(
            remote.runner(),
            Runner::for_host(Some("box"), &["-p".to_owned(), "2222".to_owned()])
        );
        let digits = lxc_spec(&env(&[("lxc_timeout", s("12"))]), "app", false).unwrap();
        assert_eq!(digits.timeout, Duration::from_secs(12));
    }

    fn config_error(e: &Env) -> String {
        match lxc_spec(e, "app", false) {
            Err(err @ Error::Config { .. }) => {
                format!("{err} / {}", err.hint().unwrap_or_default())
            }
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn bad_values_point_at_the_key() {
        assert_eq!(
            config_error(&env(&[("lxc_clone", s("thin"))])),
            "environments.py:3:5: key `staging.lxc_clone`: unknown clone mode \"thin\" / use 'snapshot' or 'copy'"
        );
        assert!(
            config_error(&env(&[("lxc_transport", s("telnet"))])).contains("unknown LXC transport")
        );
        assert!(config_error(&env(&[("lxc_timeout", Kind::Int(0))])).contains("above 0"));
        assert!(config_error(&env(&[("lxc_timeout", s("soon"))])).contains("lxc_timeout"));
        assert!(config_error(&env(&[("lxc_ipv4", s("10.0.3.5"))])).contains("prefix length"));
        assert!(config_error(&env(&[("lxc_template", s("a b"))])).contains("white space"));
        assert!(matches!(
            lxc_spec(&env(&[]), "bad/name", false),
            Err(Error::Config { .. })
        ));
    }

    #[test]
    fn template_keys() {
        let t = template_spec(&env(&[])).unwrap();
        assert_eq!(
            (t.name.as_str(), t.release.as_str(), t.bridge.as_str()),
            ("vanilla", "bookworm", "lxcbr0")
        );
        let e = env(&[
            ("lxc_template", s("tpl")),
            ("lxc_release", s("trixie")),
            (
                "lxc_packages",
                Kind::List(vec![Value::new(s("nginx-light"), Pos::default())]),
            ),
            ("lxc_mirror", s("http://m.test/debian")),
            ("lxc_bridge", s("br1")),
            ("lxc_host", s("box")),
        ]);
        let t = template_spec(&e).unwrap();
        assert_eq!(
            (t.name.as_str(), t.release.as_str(), t.bridge.as_str()),
            ("tpl", "trixie", "br1")
        );
        assert_eq!(t.packages, ["nginx-light"]);
        assert_eq!(t.mirror.as_deref(), Some("http://m.test/debian"));
        assert_eq!(t.runner, Runner::for_host(Some("box"), &[]));
    }
}
