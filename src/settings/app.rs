//! `App`: the app a project ships, as its hosts know it: package, system user, venv, `manage.py`
//! and app directory, with one set of defaults.

use std::path::Path;

use crate::environments::Env;
use crate::error::Result;
use crate::transport::cmd::{quote, Cmd};

use super::text;

/// The app's identity. Every default derives from `package_name`, the way a Debian package of a
/// Django app lays itself out: the venv in `/opt/<package>/venv`, `manage.py` beside it, and a
/// system user named after the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// `package_name`: the main binary package.
    pub package: Option<String>,
    /// The system user the app runs as (and `init` creates): `app_user`, else `package_name`
    /// when that is a valid user name.
    pub user: Option<String>,
    /// `venv_path`, else `/opt/<package>/venv`; without a trailing `/`.
    pub venv: Option<String>,
    /// `manage_py`, else `/opt/<package>/manage.py`.
    pub manage_py: Option<String>,
    /// `app_dir`, else the directory above `venv`.
    pub app_dir: Option<String>,
}

/// A name `useradd` takes and no shell or sudo reads as an option.
fn valid_user(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 32
        && user
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b))
        && !user.starts_with('-')
}

impl App {
    /// Read `package_name`, `app_user`, `venv_path`, `manage_py` and `app_dir` (each may name
    /// other keys, `{package_name}`). A bad `package_name` or `app_user` is an error at its line;
    /// a missing one is not, until a caller needs it.
    pub fn from_env(env: &Env) -> Result<App> {
        let package = env.str("package_name").map(String::from);
        if let Some(p) = &package {
            crate::releases::check_package_name(p)
                .map_err(|e| env.key_error("package_name", e.to_string(), e.hint()))?;
        }
        let user = match text::plain_opt(env, "app_user")? {
            Some(u) if valid_user(&u) => Some(u),
            Some(u) => {
                return Err(env.key_error(
                    "app_user",
                    format!("`{u}` is not a valid user name"),
                    Some("lower-case letters, digits, `_` and `-`".into()),
                ))
            }
            None => package.clone().filter(|p| valid_user(p)),
        };
        let venv = match text::plain_opt(env, "venv_path")? {
            Some(v) => Some(v),
            None => package.as_ref().map(|p| format!("/opt/{p}/venv")),
        }
        .map(|v| v.trim_end_matches('/').to_string());
        let manage_py = match text::plain_opt(env, "manage_py")? {
            Some(m) => Some(m),
            None => package.as_ref().map(|p| format!("/opt/{p}/manage.py")),
        };
        let app_dir = match text::plain_opt(env, "app_dir")? {
            Some(d) => Some(d),
            None => venv.as_ref().map(|v| {
                Path::new(v)
                    .parent()
                    .map_or_else(|| "/".into(), |p| p.display().to_string())
            }),
        };
        Ok(App {
            package,
            user,
            venv,
            manage_py,
            app_dir,
        })
    }

    /// The app user, or the error saying how to name one.
    pub fn require_user(&self, env: &Env) -> Result<&str> {
        if let Some(u) = &self.user {
            return Ok(u);
        }
        let message = match &self.package {
            Some(p) => format!(
                "environment `{}` names no app user, and its `package_name` `{p}` is not a valid user name",
                env.name
            ),
            None => format!("environment `{}` names no app user", env.name),
        };
        Err(env.key_error(
            "app_user",
            message,
            Some(format!(
                "set `app_user` (or `package_name`, its default), e.g. {}",
                env.example("app_user", "'myapp'")
            )),
        ))
    }

    /// Django's `manage.py` with `args`, in the venv's python, as the app user; `None` when the
    /// venv or `manage.py` is unknown. Known, it needs the app user ([`App::require_user`]).
    pub fn manage(&self, env: &Env, args: &[&str]) -> Result<Option<Cmd>> {
        let (Some(venv), Some(manage)) = (&self.venv, &self.manage_py) else {
            return Ok(None);
        };
        let user = self.require_user(env)?;
        Ok(Some(
            Cmd::new(
                format!("{venv}/bin/python"),
                std::iter::once(manage.as_str()).chain(args.iter().copied()),
            )
            .sudo(Some(user.to_string())),
        ))
    }

    /// `manage:<command>`: the app's management command with `command` (the person's own
    /// shell words, as Fabric's `run` takes them) in the app directory, as the app user:
    /// `manage_command` (the package's wrapper, `djdemo-manage`; its `{name}`s shell-quoted)
    /// when set, else the venv's python with `manage.py`, as [`App::manage`]. An env with
    /// neither (no `manage_command`, `venv_path` or `package_name`) is an error naming the keys.
    pub fn manage_command(&self, env: &Env, command: &str) -> Result<Cmd> {
        let prefix = match (env.str("manage_command"), &self.venv, &self.manage_py) {
            (Some(c), _, _) => text::shell(env, "manage_command", c)?,
            (None, Some(venv), Some(manage)) => {
                format!("{}/bin/python {}", quote(venv), quote(manage))
            }
            _ => {
                return Err(env.key_error(
                    "manage_command",
                    format!(
                        "environment `{}` has no app settings: it sets neither \
                         `manage_command` nor `venv_path` (nor `package_name`, for the default \
                         /opt/<package_name>/venv)",
                        env.name
                    ),
                    Some(format!(
                        "set {} (the package's manage wrapper) or `package_name`",
                        env.example("manage_command", "'myapp-manage'")
                    )),
                ))
            }
        };
        let user = self.require_user(env)?;
        let script = if command.trim().is_empty() {
            prefix
        } else {
            format!("{prefix} {command}")
        };
        let cmd = Cmd::shell(script).sudo(Some(user.to_string()));
        Ok(match &self.app_dir {
            Some(dir) => cmd.cwd(dir),
            None => cmd,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::App;
    use crate::settings::testing::env;

    #[test]
    fn every_default_derives_from_package_name() {
        let e = env("'package_name': 'myapp',");
        let app = App::from_env(&e).unwrap();
        assert_eq!(
            app,
            App {
                package: Some("myapp".into()),
                user: Some("myapp".into()),
                venv: Some("/opt/myapp/venv".into()),
                manage_py: Some("/opt/myapp/manage.py".into()),
                app_dir: Some("/opt/myapp".into()),
            }
        );
        assert_eq!(
            app.manage(&e, &["check", "--deploy"])
                .unwrap()
                .unwrap()
                .to_string(),
            "sudo -n -H -u myapp -- /opt/myapp/venv/bin/python /opt/myapp/manage.py check --deploy"
        );
    }

    #[test]
    fn set_keys_win_and_may_name_other_keys() {
        let app = App::from_env(&env(
            "'package_name': 'myapp',\n'app_user': 'www-{package_name}',\n\
             'venv_path': '/srv/{package_name}/venv/',\n'manage_py': '/srv/m.py',\n'app_dir': '/srv/app',",
        ))
        .unwrap();
        assert_eq!(app.user.as_deref(), Some("www-myapp"));
        assert_eq!(
            app.venv.as_deref(),
            Some("/srv/myapp/venv"),
            "no trailing /"
        );
        assert_eq!(app.manage_py.as_deref(), Some("/srv/m.py"));
        assert_eq!(app.app_dir.as_deref(), Some("/srv/app"));
        let e = env("'venv_path': '/srv/v/',");
        let app = App::from_env(&e).unwrap();
        assert_eq!(app.app_dir.as_deref(), Some("/srv"), "the venv's parent");
        assert_eq!(app.user, None);
        assert_eq!(app.manage(&e, &["check"]).unwrap(), None, "no manage.py");
        let e = env("'venv_path': '/srv/v/',\n'manage_py': '/srv/manage.py',");
        let err = App::from_env(&e)
            .unwrap()
            .manage(&e, &["check"])
            .unwrap_err();
        assert!(err.to_string().contains("names no app user"), "{err}");
    }

    #[test]
    fn manage_runs_the_wrapper_or_the_venv_s_manage_py_as_the_app_user() {
        let e = env("'package_name': 'myapp',");
        let cmd = App::from_env(&e)
            .unwrap()
            .manage_command(&e, "migrate --plan")
            .unwrap();
        let shown = cmd.to_string();
        assert!(
            shown.starts_with("sudo -n -H -u myapp -- sh -c 'cd /opt/myapp && "),
            "{shown}"
        );
        assert!(
            shown.contains("/opt/myapp/venv/bin/python /opt/myapp/manage.py migrate --plan"),
            "{shown}"
        );
        let e = env("'package_name': 'myapp',\n'manage_command': '{package_name}-manage',");
        let cmd = App::from_env(&e)
            .unwrap()
            .manage_command(&e, "createsuperuser")
            .unwrap();
        assert!(
            cmd.to_string().contains("myapp-manage createsuperuser"),
            "{cmd}"
        );
        let e = env("'hosts': ['h'],");
        let err = App::from_env(&e)
            .unwrap()
            .manage_command(&e, "check")
            .unwrap_err();
        assert_eq!(err.code(), 2);
        assert!(err.to_string().contains("has no app settings"), "{err}");
        assert!(err.hint().unwrap().contains("manage_command"), "{err:?}");
    }

    #[test]
    fn nothing_set_is_no_error_until_the_user_is_needed() {
        let e = env("'hosts': ['h'],");
        let app = App::from_env(&e).unwrap();
        assert_eq!(app.venv, None);
        let err = app.require_user(&e).unwrap_err();
        assert_eq!(err.code(), 2);
        let text = err.to_string();
        assert!(text.contains("key `production.app_user`"), "{text}");
        assert!(text.contains("names no app user"), "{text}");
        assert!(err.hint().unwrap().contains("set `app_user`"), "{err:?}");
    }

    #[test]
    fn a_misspelt_app_user_is_pointed_at() {
        let e = env("'package_name': 'my.app',\n'app_usr': 'web',");
        let err = App::from_env(&e).unwrap().require_user(&e).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("environments.py:4:"),
            "at `app_usr`: {text}"
        );
        assert!(text.contains("`my.app` is not a valid user name"), "{text}");
        assert!(
            err.hint().unwrap().contains("did you mean `app_user`"),
            "{err:?}"
        );
    }

    #[test]
    fn a_bad_app_user_or_package_name_is_an_error_at_its_line() {
        let err = App::from_env(&env("'hosts': ['h'],\n'app_user': 'Web App',")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("environments.py:4:"), "{text}");
        assert!(text.contains("key `production.app_user`"), "{text}");
        assert!(
            text.contains("`Web App` is not a valid user name"),
            "{text}"
        );
        let err = App::from_env(&env("'package_name': 'My_App',")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("environments.py:3:"), "{text}");
        assert!(text.contains("key `production.package_name`"), "{text}");
        assert!(text.contains("not a Debian package name"), "{text}");
        let err = App::from_env(&env("'manage_py': '/srv/{nope}/manage.py',")).unwrap_err();
        assert!(
            err.to_string().contains("key `production.manage_py`"),
            "{err}"
        );
    }
}
