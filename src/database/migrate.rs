//! `database.migrate` (`db_migrate`): the app's migrations, in the app directory, as the app user.

use crate::environments::Env;
use crate::error::Result;
use crate::transport::cmd::Cmd;

/// `migrate_command` (default `{venv_path}/bin/python manage.py migrate --noinput`), run in
/// `app_dir` (default: the directory above `venv_path`) as `app_user` (default: the login user).
/// `venv_path` defaults to `/opt/<package_name>/venv`, as for `deb.build` and `test`.
pub fn command(env: &Env) -> Result<Cmd> {
    // Values may name other keys (`{package_name}`), as web_restart_command's do.
    let key = |k: &str| -> Result<Option<String>> {
        env.str(k)
            .filter(|s| !s.is_empty())
            .map(|v| crate::web_mode::interp(env, k, v))
            .transpose()
    };
    let venv = key("venv_path")?.or_else(|| {
        env.str("package_name")
            .filter(|s| !s.is_empty())
            .map(|p| format!("/opt/{p}/venv"))
    });
    let venv = venv.as_deref();
    let script = match (key("migrate_command")?, venv) {
        (Some(c), _) => c,
        (None, Some(v)) => format!(
            "{}/bin/python manage.py migrate --noinput",
            crate::transport::cmd::quote(v.trim_end_matches('/'))
        ),
        (None, None) => {
            return Err(env.key_error(
                "migrate_command",
                format!(
                    "environment `{}` sets neither `migrate_command` nor `venv_path` (nor `package_name`, for the default /opt/<package_name>/venv)",
                    env.name
                ),
                Some("set `venv_path` (dfab runs {venv_path}/bin/python manage.py migrate --noinput) or `migrate_command`".into()),
            ))
        }
    };
    let dir = match (key("app_dir")?, venv) {
        (Some(d), _) => d,
        (None, Some(v)) => std::path::Path::new(v.trim_end_matches('/'))
            .parent()
            .map_or_else(|| "/".into(), |p| p.display().to_string()),
        (None, None) => {
            return Err(env.key_error(
                "app_dir",
                "the app directory is unknown",
                Some("set `app_dir` (where manage.py is), `venv_path` or `package_name`".into()),
            ))
        }
    };
    let mut cmd = Cmd::shell(script).cwd(dir);
    if let Some(u) = key("app_user")? {
        cmd = cmd.sudo(Some(u));
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::command;
    use crate::environments::value::{Kind, Pos, Value};
    use crate::environments::Env;

    fn env(pairs: &[(&str, &str)]) -> Env {
        let vars: BTreeMap<String, Value> = pairs
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    Value::new(Kind::Str((*v).to_owned()), Pos { line: 2, col: 5 }),
                )
            })
            .collect();
        Env {
            name: "production".to_owned(),
            file: "environments.py".into(),
            vars,
        }
    }

    #[test]
    fn venv_path_defaults_to_the_packages_venv() {
        let shown = command(&env(&[("package_name", "myapp")]))
            .unwrap()
            .to_string();
        assert!(
            shown.contains("/opt/myapp/venv/bin/python manage.py migrate --noinput"),
            "{shown}"
        );
        assert!(shown.contains("cd /opt/myapp"), "{shown}");
    }

    #[test]
    fn venv_path_wins_over_the_default() {
        let shown = command(&env(&[("package_name", "myapp"), ("venv_path", "/srv/v/")]))
            .unwrap()
            .to_string();
        assert!(
            shown.contains("/srv/v/bin/python manage.py migrate"),
            "{shown}"
        );
        assert!(shown.contains("cd /srv"), "{shown}");
    }

    #[test]
    fn without_venv_path_or_package_name_it_is_a_key_error() {
        let e = command(&env(&[])).unwrap_err();
        assert_eq!(e.code(), 2);
        assert!(e.to_string().contains("production.migrate_command"), "{e}");
    }

    #[test]
    fn migrate_command_names_other_keys_and_an_unknown_one_is_a_key_error() {
        let shown = command(&env(&[
            ("package_name", "myapp"),
            ("db_name", "shop"),
            (
                "migrate_command",
                "{package_name}-manage migrate --database {db_name}",
            ),
        ]))
        .unwrap()
        .to_string();
        assert!(
            shown.contains("myapp-manage migrate --database shop"),
            "{shown}"
        );
        let e = command(&env(&[
            ("package_name", "myapp"),
            ("migrate_command", "manage migrate {db_nme}"),
        ]))
        .unwrap_err();
        assert_eq!(e.code(), 2);
        assert!(e.to_string().contains("production.migrate_command"), "{e}");
        assert!(e.to_string().contains("db_nme"), "{e}");
    }
}
