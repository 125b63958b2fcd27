//! The web tier: the maintenance switch (a flag file the web server checks on each request), its
//! nginx and Apache snippets, the splash page, `web_restart`'s health wait and `init`'s install.
//! Everything here builds `Cmd` values from the env; nothing connects anywhere.

pub mod install;
pub mod restart;
pub mod snippet;
pub mod switch;

use std::net::IpAddr;

use crate::environments::Env;
use crate::error::{Error, Result};
use crate::settings::text;

/// The web server in front of the app (`web_server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Nginx,
    Apache,
}

impl Server {
    /// Its name, as `web_server` spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Server::Nginx => "nginx",
            Server::Apache => "apache",
        }
    }

    /// Parse `nginx` or `apache`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Server> {
        match s {
            "nginx" => Some(Server::Nginx),
            "apache" | "apache2" => Some(Server::Apache),
            _ => None,
        }
    }
}

/// Everything the maintenance switch needs, read and checked from the env.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    pub env_name: String,
    pub remote_path: String,
    /// `maintenance_file`: while it exists, the site is in maintenance.
    pub flag: String,
    /// Where the splash page lives on the hosts.
    pub page: String,
    /// Records the last switch to live (for `web_mode:status`).
    pub state: String,
    /// `maintenance_allow`: URL prefixes served as usual during maintenance.
    pub allow: Vec<String>,
    /// `maintenance_bypass`: client addresses that see the app during maintenance.
    pub bypass: Vec<IpAddr>,
    /// `maintenance_retry_after`: seconds, sent as `Retry-After`.
    pub retry_after: u32,
    pub server: Server,
    /// `web_snippet_path`: where `init` installs the snippet.
    pub snippet_path: String,
    /// `maintenance_check_url`: what `web_mode` and `init` ask on each host to check that the
    /// web server answers the switch (`None`: not checked).
    pub check_url: Option<String>,
    /// `package_name`: the app's package. A host where it is not installed and no site includes
    /// the snippet is before its first deploy (maintenance is set, said "not shown yet"); where
    /// it is installed, such a site is refused.
    pub package: Option<String>,
}

/// The env's `remote_path`, which the web tier and media need.
pub fn remote_path(env: &Env) -> Result<String> {
    let Some(p) = env.str("remote_path") else {
        return Err(env.key_error(
            "remote_path",
            format!("environment `{}` has no `remote_path`", env.name),
            Some(format!(
                "set it in the env or `__all__`, e.g. {}",
                env.example("remote_path", "'/srv/app/'")
            )),
        ));
    };
    let p = text::plain(env, "remote_path", p)?;
    conf_path(env, "remote_path", &p)?;
    Ok(p)
}

/// A path that goes into a web-server config unquoted: absolute, no `..`, and only characters
/// that need no quoting there (so a value can never change the config's syntax).
pub fn conf_path(env: &Env, key: &str, p: &str) -> Result<()> {
    let ok = p.starts_with('/')
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._~-".contains(&b))
        && !p.split('/').any(|c| c == "..");
    if ok {
        Ok(())
    } else {
        Err(env.key_error(
            key,
            format!("`{p}` must be an absolute path of letters, digits and `/._~-`, without `..`"),
            Some("for example '/srv/app/'".into()),
        ))
    }
}

/// In release mode, the instance's own place for the switch: `<releases_root>/shared/` (where
/// the flag, the splash page and the state file go unless set) and its snippet's name
/// (`dfab-maintenance-<package>-<instance>.conf`), so two instances on one host never share a
/// flag or a snippet. `None` in dpkg mode.
fn instance_defaults(env: &Env) -> Result<Option<(String, String)>> {
    let Some(rm) = crate::settings::InstallMode::from_env(env)?
        .release()
        .cloned()
    else {
        return Ok(None);
    };
    let base = format!("{}/shared/", rm.root);
    conf_path(env, "releases_root", &base)?;
    Ok(Some((
        base,
        format!("dfab-maintenance-{}-{}.conf", rm.package, rm.instance),
    )))
}

impl WebSettings {
    /// Read and check the web settings of `env`. In release mode the flag, page, state and
    /// snippet default to the instance's own ([`instance_defaults`]), and `remote_path` is not
    /// needed.
    pub fn from_env(env: &Env) -> Result<WebSettings> {
        let instance = instance_defaults(env)?;
        let (remote_path, base) = match &instance {
            Some((base, _)) if env.str("remote_path").is_none() => (base.clone(), base.clone()),
            Some((base, _)) => (remote_path(env)?, base.clone()),
            None => {
                let p = remote_path(env)?;
                (p.clone(), p)
            }
        };
        let flag = match &instance {
            Some(_) => text::plain_or(env, "maintenance_file", &format!("{base}maintenance.on"))?,
            None => text::plain_or(env, "maintenance_file", "{remote_path}maintenance.on")?,
        };
        conf_path(env, "maintenance_file", &flag)?;
        if flag.ends_with('/') {
            return Err(env.key_error(
                "maintenance_file",
                "must name a file, not a directory",
                Some("e.g. '{remote_path}maintenance.on'".into()),
            ));
        }
        let mut allow = Vec::new();
        for a in env.str_list("maintenance_allow") {
            let ok = a.starts_with('/')
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/._~-".contains(&b));
            if !ok {
                return Err(env.key_error(
                    "maintenance_allow",
                    format!("`{a}` is not a URL path prefix"),
                    Some("prefixes start with `/` and use letters, digits and `/._~-`: ['/static/', '/health']".into()),
                ));
            }
            allow.push(a);
        }
        let mut bypass = Vec::new();
        for a in env.str_list("maintenance_bypass") {
            bypass.push(a.parse::<IpAddr>().map_err(|_| {
                env.key_error(
                    "maintenance_bypass",
                    format!("`{a}` is not an IP address"),
                    Some("single addresses, e.g. ['203.0.113.7', '2001:db8::1']".into()),
                )
            })?);
        }
        let retry_after = match env.vars.get("maintenance_retry_after") {
            None => 300,
            Some(v) => v.to_plain_string().parse().map_err(|_| {
                env.key_error(
                    "maintenance_retry_after",
                    "not a number of seconds",
                    Some("e.g. 600".into()),
                )
            })?,
        };
        let server = server(env)?;
        let name = instance
            .as_ref()
            .map_or("dfab-maintenance.conf", |(_, n)| n.as_str());
        let default_snippet = match server {
            Server::Nginx => format!("/etc/nginx/snippets/{name}"),
            Server::Apache => format!("/etc/apache2/{name}"),
        };
        let snippet_path = text::plain_or(env, "web_snippet_path", &default_snippet)?;
        conf_path(env, "web_snippet_path", &snippet_path)?;
        let check_url = check_url(env)?;
        Ok(WebSettings {
            env_name: env.name.clone(),
            page: format!("{base}maintenance.html"),
            state: format!("{base}.dfab-web-mode"),
            remote_path,
            flag,
            allow,
            bypass,
            retry_after,
            server,
            snippet_path,
            check_url,
            package: env
                .str("package_name")
                .filter(|p| crate::releases::check_package_name(p).is_ok())
                .map(String::from),
        })
    }
}

/// `maintenance_check_url` (default `http://127.0.0.1/`; `False`: the switch is not checked).
fn check_url(env: &Env) -> Result<Option<String>> {
    if env.bool("maintenance_check_url") == Some(false) {
        return Ok(None);
    }
    let url = text::plain_or(env, "maintenance_check_url", "http://127.0.0.1/")?;
    http_url(env, "maintenance_check_url", &url)?;
    Ok(Some(url))
}

/// An `http(s)://` URL that curl asks on a host: checked, so that it cannot be taken for an
/// option.
pub fn http_url(env: &Env, key: &str, url: &str) -> Result<()> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(env.key_error(
            key,
            format!("`{url}` is not an http(s) URL"),
            Some("e.g. 'http://127.0.0.1/health' (curl asks it on each web host)".into()),
        ))
    }
}

/// `web_server`: `nginx` (default) or `apache`.
pub fn server(env: &Env) -> Result<Server> {
    match env.str("web_server") {
        None => Ok(Server::Nginx),
        Some(s) => Server::parse(s).ok_or_else(|| {
            env.key_error(
                "web_server",
                format!("unknown web server `{s}`"),
                Some("'nginx' (default) or 'apache'".into()),
            )
        }),
    }
}

/// An error for a bad `web_mode` argument.
#[must_use]
pub fn usage(msg: String) -> Error {
    Error::usage(
        msg,
        Some("web_mode:maintenance[,message=...], web_mode:live, web_mode:status or web_mode:snippet=nginx|apache".into()),
    )
}

#[cfg(test)]
mod instance_tests {
    use super::WebSettings;
    use crate::settings::testing::env_named;

    #[test]
    fn release_mode_gives_each_instance_its_own_flag_and_snippet() {
        let body = |inst: &str| {
            format!(
                "'package_name': 'djdemo',\n'install_mode': 'release',\n'instance': '{inst}',\n\
                 'remote_path': '/srv/shared-by-both/',"
            )
        };
        let a = WebSettings::from_env(&env_named("staging", &body("staging"))).unwrap();
        let b = WebSettings::from_env(&env_named("production", &body("production"))).unwrap();
        assert_eq!(a.flag, "/srv/djdemo/staging/shared/maintenance.on");
        assert_eq!(b.flag, "/srv/djdemo/production/shared/maintenance.on");
        assert_eq!(a.page, "/srv/djdemo/staging/shared/maintenance.html");
        assert_eq!(b.state, "/srv/djdemo/production/shared/.dfab-web-mode");
        assert_eq!(
            a.snippet_path,
            "/etc/nginx/snippets/dfab-maintenance-djdemo-staging.conf"
        );
        assert_ne!(a.snippet_path, b.snippet_path);
        // No remote_path needed in release mode; a set maintenance_file still wins.
        let c = WebSettings::from_env(&env_named(
            "demo",
            "'package_name': 'djdemo',\n'install_mode': 'release',\n\
             'maintenance_file': '/run/demo.on',",
        ))
        .unwrap();
        assert_eq!(
            (c.remote_path.as_str(), c.flag.as_str()),
            ("/srv/djdemo/demo/shared/", "/run/demo.on")
        );
        // dpkg mode keeps its defaults.
        let d = WebSettings::from_env(&env_named("x", "'remote_path': '/srv/app/',")).unwrap();
        assert_eq!(d.flag, "/srv/app/maintenance.on");
        assert_eq!(d.snippet_path, "/etc/nginx/snippets/dfab-maintenance.conf");
    }
}
