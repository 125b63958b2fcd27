//! The app's own commands in an instance's release (release mode): `manage` and the `test`
//! step's Django check, run in `current` (or a named release) with that release's venv, app
//! directory and the variables `dfab-host release` gives its commands, never dpkg mode's paths.

use crate::environments::Env;
use crate::error::Result;
use crate::settings::{text, App, ReleaseMode};
use crate::transport::cmd::{quote, Cmd};

/// Which release a command runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which<'a> {
    /// The release `current` points at.
    Current,
    /// A release by name (`setup_release` prints its path, `releases` lists them).
    Named(&'a str),
}

/// Why `name` is not a release name (`<version>-<UTC stamp>`, one path component), or `Ok`:
/// the rule of the host program's `check_rname`.
pub fn check_release_name(name: &str) -> std::result::Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+~_-".contains(c))
    {
        return Err(format!(
            "`{name}` is not a release name (`<version>-<UTC stamp>`, as `releases` lists them)"
        ));
    }
    Ok(())
}

/// A path inside a release, from `key`'s absolute path as the package lays it out
/// (`/opt/djdemo/venv`); a relative one cannot be placed in a release: an error naming `key`.
fn inside(env: &Env, key: &str, path: &str) -> Result<String> {
    if !path.starts_with('/') {
        return Err(env.key_error(
            key,
            format!(
                "release mode needs an absolute path as the package installs it (`{path}` is relative)"
            ),
            Some(format!(
                "each release unpacks the package under its own directory: name the path the \
                 package has, e.g. {}",
                env.example(key, "'/opt/myapp/venv'")
            )),
        ));
    }
    Ok(format!("\"$DFAB_RELEASE\"{}", quote(path)))
}

/// `script` (shell words) run in release `which` of instance `rm`, as the app user: `cd` to the
/// release's `app_dir`, with `DFAB_RELEASE`, `DFAB_SHARED`, `DFAB_RELEASES_ROOT`,
/// `DFAB_CURRENT`, `DFAB_INSTANCE`, `DFAB_PACKAGE` and `DFAB_CONFIG` set as the host program's
/// `rel_env_run` sets them, and the release's `usr/bin` first on `PATH` (its `manage`
/// wrapper). A missing release fails on the host with a line saying so.
fn in_release(
    env: &Env,
    app: &App,
    rm: &ReleaseMode,
    which: Which<'_>,
    script: &str,
) -> Result<Cmd> {
    let root = quote(&rm.root);
    let find = match which {
        Which::Current => format!(
            "r=$(cd {root}/current 2>/dev/null && pwd -P) || {{ echo {} >&2; exit 1; }}",
            quote(&format!(
                "dfab: instance {} has no current release in {} (deploy it first)",
                rm.instance, rm.root
            ))
        ),
        Which::Named(name) => {
            check_release_name(name).map_err(|why| {
                crate::error::Error::usage(
                    format!("manage: release={name}: {why}"),
                    Some(format!("`dfab {} releases` lists them", env.name)),
                )
            })?;
            format!(
                "r={root}/releases/{n}; [ -d \"$r\" ] || {{ echo {} >&2; exit 1; }}",
                quote(&format!(
                    "dfab: no release {name} in {}/releases (`releases` lists them)",
                    rm.root
                )),
                n = quote(name)
            )
        }
    };
    let (dir, shown) = match &app.app_dir {
        Some(d) => (inside(env, "app_dir", d)?, d.as_str()),
        None => ("\"$DFAB_RELEASE\"".into(), "/"),
    };
    let no_dir = quote(&format!(
        "has no app directory {shown} (app_dir, by default the parent of venv_path): is the \
         app installed there by the package?"
    ));
    let user = app.require_user(env)?;
    let full = format!(
        "{find}\nexport DFAB_RELEASE=\"$r\" DFAB_SHARED={root}/shared DFAB_RELEASES_ROOT={root} \
         DFAB_CURRENT={root}/current DFAB_INSTANCE={i} DFAB_PACKAGE={p} \
         DFAB_CONFIG=\"$r/.dfab\" PATH=\"$r/usr/bin:$PATH\"\n\
         cd {dir} 2>/dev/null || {{ echo \"dfab: release $r\" {no_dir} >&2; exit 1; }}\n{script}",
        i = quote(&rm.instance),
        p = quote(&rm.package),
    );
    Ok(Cmd::shell(full).sudo(Some(user.to_string())))
}

/// `manage:<command>` in release mode: `manage_command` (its words run in the release, where
/// the release's wrapper is first on `PATH` and `$DFAB_RELEASE` names the release), else the
/// release's venv python with its `manage.py`. An env with neither is an error naming the keys.
pub fn manage(env: &Env, rm: &ReleaseMode, which: Which<'_>, command: &str) -> Result<Cmd> {
    let app = App::from_env(env)?;
    let prefix = if let Some(c) = env.str("manage_command") {
        text::shell(env, "manage_command", c)?
    } else {
        django(env, &app)?
    };
    let script = if command.trim().is_empty() {
        prefix
    } else {
        format!("{prefix} {command}")
    };
    in_release(env, &app, rm, which, &script)
}

/// Django's `manage.py` with `args` in the current release's venv, as the app user (the `test`
/// step's default `check --deploy` in release mode).
pub fn django_check(env: &Env, rm: &ReleaseMode, args: &[&str]) -> Result<Cmd> {
    let app = App::from_env(env)?;
    let mut script = django(env, &app)?;
    for a in args {
        script.push(' ');
        script.push_str(&quote(a));
    }
    in_release(env, &app, rm, Which::Current, &script)
}

/// `"$DFAB_RELEASE"/<venv>/bin/python "$DFAB_RELEASE"/<manage.py>`, or the error saying which
/// keys would name them.
fn django(env: &Env, app: &App) -> Result<String> {
    let (Some(venv), Some(manage)) = (&app.venv, &app.manage_py) else {
        return Err(env.key_error(
            "manage_command",
            format!(
                "environment `{}` (release mode) names no way to run the app's management \
                 commands: no `manage_command`, and no `venv_path` and `manage_py` (nor \
                 `package_name`, for /opt/<package_name>/venv inside each release)",
                env.name
            ),
            Some(format!(
                "set {} (a wrapper in the release, found through $DFAB_RELEASE) or `package_name`",
                env.example("manage_command", "'\"$DFAB_RELEASE/usr/bin/myapp-manage\"'")
            )),
        ));
    };
    Ok(format!(
        "{}/bin/python {}",
        inside(env, "venv_path", venv)?,
        inside(env, "manage_py", manage)?
    ))
}

#[cfg(test)]
mod tests {
    use super::{check_release_name, django_check, manage, Which};
    use crate::settings::testing::env_named;
    use crate::settings::InstallMode;
    use crate::transport::cmd::{Cmd, Program};

    /// The script a command runs, after asserting it runs as `user`.
    fn script(c: &Cmd, user: &str) -> String {
        assert_eq!(c.sudo.as_ref().and_then(|s| s.user.as_deref()), Some(user));
        match &c.program {
            Program::Shell(s) => s.clone(),
            Program::Argv(a) => panic!("not a script: {a:?}"),
        }
    }

    #[test]
    fn commands_run_in_the_release_never_in_dpkg_modes_paths() {
        let e = env_named(
            "prod",
            "'package_name': 'myapp',\n'install_mode': 'release',",
        );
        let rm = InstallMode::from_env(&e)
            .unwrap()
            .release()
            .unwrap()
            .clone();
        let c = script(
            &django_check(&e, &rm, &["check", "--deploy"]).unwrap(),
            "myapp",
        );
        assert!(c.contains("cd /srv/myapp/prod/current"), "{c}");
        assert!(
            c.contains("\"$DFAB_RELEASE\"/opt/myapp/venv/bin/python \"$DFAB_RELEASE\"/opt/myapp/manage.py check --deploy"),
            "{c}"
        );
        assert!(
            c.contains("cd \"$DFAB_RELEASE\"/opt/myapp 2>/dev/null ||"),
            "{c}"
        );
        assert!(c.contains("DFAB_INSTANCE=prod"), "{c}");
        assert!(
            !c.contains(" /opt/myapp/venv") && !c.contains("cd /opt"),
            "{c}"
        );
        let c = script(
            &manage(&e, &rm, Which::Named("1.0-1-20261207T050000Z"), "shell").unwrap(),
            "myapp",
        );
        assert!(
            c.contains("r=/srv/myapp/prod/releases/1.0-1-20261207T050000Z;"),
            "{c}"
        );
        let bad = manage(&e, &rm, Which::Named("../x"), "shell").unwrap_err();
        assert!(bad.to_string().contains("not a release name"), "{bad}");
        let e = env_named(
            "prod",
            "'package_name': 'myapp',\n'install_mode': 'release',\n'venv_path': 'venv',",
        );
        let err = django_check(&e, &rm, &["check"]).unwrap_err().to_string();
        assert!(err.contains("key `prod.venv_path`"), "{err}");
        assert!(check_release_name("1.0-1-20261207T050000Z").is_ok());
        assert!(check_release_name("-x").is_err());
    }
}
