//! `InstallMode`: how `deb.deploy` puts a package on a host (`install_mode`): through dpkg, one
//! version per host, or as per-instance releases beside each other ([`ReleaseMode`]), with
//! their keys (`instance`, `releases_root`, `shared_paths`, `keep_releases`,
//! `release_start_command`, `release_setup_commands`) read and checked once.

use crate::environments::Env;
use crate::error::Result;
use crate::releases::DEFAULT_KEEP;

use super::text;

/// How the env's packages are installed on its hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallMode {
    /// `install_mode = 'dpkg'` (the default): `dpkg -i`, one version per host.
    Dpkg,
    /// `install_mode = 'release'`: unpacked per instance, switched by a `current` symlink.
    Release(ReleaseMode),
}

/// The release-mode settings of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseMode {
    /// The main package (`package_name`).
    pub package: String,
    /// `instance`, else the env's name: one safe path component ([`check_instance`]).
    pub instance: String,
    /// `releases_root`, else `/srv/<package>/<instance>`: absolute, without a trailing `/`.
    pub root: String,
    /// `shared_paths`: relative paths in a release linked to the same path under `shared/`.
    pub shared: Vec<String>,
    /// `keep_releases`: releases kept besides `current`, its rollback target and pinned ones.
    pub keep: usize,
    /// `release_start_command`: what (re)starts the instance; `None`: the systemd template
    /// unit `<package>@<instance>.service`.
    pub start: Option<String>,
    /// `release_setup_commands`: shell commands run in a new release, before its checks,
    /// taking over what the package's maintainer scripts would do.
    pub setup: Vec<String>,
}

/// Why `name` is not a safe instance name, or `Ok`: 1 to 64 of `A-Z a-z 0-9 . _ -`, starting
/// with a letter or digit (so never `.`, `..`, empty, an option or a path with `/`), as a
/// systemd instance (`%i`) and a directory name both take it.
pub fn check_instance(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!(
            "`{name}` is not 1 to 64 characters long ({})",
            name.len()
        ));
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(format!("`{name}` does not start with a letter or a digit"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c)))
    {
        return Err(format!(
            "`{name}` holds `{c}`, which is not safe in a path component"
        ));
    }
    Ok(())
}

/// Why `p` is not an absolute, normal directory path for `releases_root` (`/srv/app/prod`), or
/// `Ok` with it without its trailing `/`.
fn check_root(p: &str) -> std::result::Result<String, String> {
    let trimmed = p.trim_end_matches('/');
    if !p.starts_with('/') || trimmed.is_empty() {
        return Err(format!("`{p}` is not an absolute directory below `/`"));
    }
    if trimmed
        .split('/')
        .skip(1)
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(format!("`{p}` has an empty, `.` or `..` component"));
    }
    if p.chars().any(|c| c.is_control() || c == '\'' || c == '"') {
        return Err(format!("`{p}` holds a control character or a quote"));
    }
    Ok(trimmed.to_string())
}

/// Why `p` is not a relative path inside a release (`media`, `var/log`), or `Ok`.
fn check_shared(p: &str) -> std::result::Result<(), String> {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() || p.starts_with('/') {
        return Err(format!("`{p}` is not a relative path inside a release"));
    }
    if trimmed
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == ".." || c.starts_with(".dfab"))
    {
        return Err(format!(
            "`{p}` has an empty, `.`, `..` or `.dfab…` component"
        ));
    }
    Ok(())
}

impl InstallMode {
    /// Read `install_mode` and, in release mode, its keys; a bad value is an error naming its
    /// key and line, before anything is acted on.
    pub fn from_env(env: &Env) -> Result<InstallMode> {
        match env.str("install_mode") {
            None | Some("dpkg") => return Ok(InstallMode::Dpkg),
            Some("release") => {}
            Some(other) => {
                return Err(env.key_error(
                    "install_mode",
                    format!("unknown install mode `{other}`"),
                    Some("'dpkg' (default) or 'release'".into()),
                ))
            }
        }
        let package = super::App::from_env(env)?.package.ok_or_else(|| {
            env.key_error(
                "install_mode",
                "release mode needs the package's name".to_string(),
                Some(format!(
                    "set {} in the env",
                    env.example("package_name", "'myapp'")
                )),
            )
        })?;
        let instance = match text::plain_opt(env, "instance")? {
            Some(i) => i,
            None => env.name.clone(),
        };
        check_instance(&instance).map_err(|why| {
            env.key_error(
                "instance",
                format!("not a safe instance name: {why}"),
                Some(format!(
                    "letters, digits, `.`, `_` and `-`, for example {}",
                    env.example("instance", "'staging'")
                )),
            )
        })?;
        let root_text =
            text::plain_or(env, "releases_root", &format!("/srv/{package}/{instance}/"))?;
        let root = check_root(&root_text).map_err(|why| {
            env.key_error(
                "releases_root",
                why,
                Some(format!(
                    "for example {}",
                    env.example("releases_root", &format!("'/srv/{package}/{instance}/'"))
                )),
            )
        })?;
        let shared = env.str_list("shared_paths");
        for p in &shared {
            check_shared(p).map_err(|why| {
                env.key_error(
                    "shared_paths",
                    why,
                    Some(format!(
                        "for example {}",
                        env.example("shared_paths", "['media', 'var/log']")
                    )),
                )
            })?;
        }
        let shared = shared
            .into_iter()
            .map(|p| p.trim_end_matches('/').to_string())
            .collect();
        Ok(InstallMode::Release(ReleaseMode {
            package,
            instance,
            root,
            shared,
            keep: env.count("keep_releases", DEFAULT_KEEP, "releases")?,
            start: text::plain_opt(env, "release_start_command")?,
            setup: env.str_list("release_setup_commands"),
        }))
    }

    /// The release-mode settings, when the env is in release mode.
    #[must_use]
    pub fn release(&self) -> Option<&ReleaseMode> {
        match self {
            InstallMode::Dpkg => None,
            InstallMode::Release(r) => Some(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{check_instance, InstallMode};
    use crate::settings::testing::{env, env_named};

    #[test]
    fn dpkg_by_default_and_release_with_its_defaults() {
        assert_eq!(
            InstallMode::from_env(&env("'package_name': 'app',")).unwrap(),
            InstallMode::Dpkg
        );
        let m = InstallMode::from_env(&env_named(
            "staging",
            "'package_name': 'app',\n'install_mode': 'release',",
        ))
        .unwrap();
        let r = m.release().unwrap();
        assert_eq!(
            (r.instance.as_str(), r.root.as_str()),
            ("staging", "/srv/app/staging")
        );
        assert!(r.shared.is_empty() && r.setup.is_empty() && r.start.is_none());
        let m = InstallMode::from_env(&env(
            "'package_name': 'app',\n'install_mode': 'release',\n'instance': 'demo-2',\n\
             'releases_root': '/srv/x/{instance}/',\n'shared_paths': ['media/', 'var/log'],\n\
             'keep_releases': 2,\n'release_start_command': 'app-start',",
        ))
        .unwrap();
        let r = m.release().unwrap();
        assert_eq!(r.root, "/srv/x/demo-2");
        assert_eq!(r.shared, ["media", "var/log"]);
        assert_eq!((r.keep, r.start.as_deref()), (2, Some("app-start")));
    }

    #[test]
    fn bad_values_name_their_key_and_line() {
        let err = |body: &str| {
            InstallMode::from_env(&env(&format!("'package_name': 'app',\n{body}")))
                .unwrap_err()
                .to_string()
        };
        let e = err("'install_mode': 'docker',");
        assert!(e.starts_with("environments.py:4:"), "{e}");
        assert!(
            e.contains("key `production.install_mode`: unknown install mode `docker`"),
            "{e}"
        );
        let e = err("'install_mode': 'release',\n'instance': '../prod',");
        assert!(e.starts_with("environments.py:5:"), "{e}");
        assert!(
            e.contains("key `production.instance`: not a safe instance name"),
            "{e}"
        );
        let e = err("'install_mode': 'release',\n'releases_root': 'srv/app',");
        assert!(e.contains("key `production.releases_root`"), "{e}");
        let e = err("'install_mode': 'release',\n'releases_root': '/srv/../etc',");
        assert!(e.contains("`..` component"), "{e}");
        let e = err("'install_mode': 'release',\n'shared_paths': ['/etc/app'],");
        assert!(e.contains("key `production.shared_paths`"), "{e}");
        let e = err("'install_mode': 'release',\n'shared_paths': ['a/../../b'],");
        assert!(e.contains("key `production.shared_paths`"), "{e}");
        let e = InstallMode::from_env(&env("'install_mode': 'release',"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("release mode needs the package's name"), "{e}");
    }

    #[test]
    fn an_instance_is_one_safe_path_component() {
        for ok in ["staging", "prod-2", "a.b_c", "0"] {
            assert!(check_instance(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "-rf",
            "a/b",
            "a b",
            "é",
            "x'y",
            &"a".repeat(65),
        ] {
            assert!(check_instance(bad).is_err(), "{bad:?}");
        }
    }
}
