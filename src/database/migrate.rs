//! `database.migrate` (`db_migrate`): the app's migrations, in the app directory, as the app user.

use crate::environments::Env;
use crate::error::Result;
use crate::settings::{text, App};
use crate::transport::cmd::{quote, Cmd};

/// `migrate_command` (default `{venv_path}/bin/python manage.py migrate --noinput`, its `{name}`s
/// shell-quoted), run in the app's directory as the app's user: [`App`]'s defaults, which `test`
/// and `deploy`'s migration check share.
pub fn command(env: &Env, app: &App) -> Result<Cmd> {
    let script = match (env.str("migrate_command"), &app.venv) {
        (Some(c), _) => text::shell(env, "migrate_command", c)?,
        (None, Some(v)) => format!("{}/bin/python manage.py migrate --noinput", quote(v)),
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
    let Some(dir) = &app.app_dir else {
        return Err(env.key_error(
            "app_dir",
            "the app directory is unknown",
            Some("set `app_dir` (where manage.py is), `venv_path` or `package_name`".into()),
        ));
    };
    let user = app.require_user(env)?;
    Ok(Cmd::shell(script).cwd(dir).sudo(Some(user.to_string())))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::command;
    use crate::environments::value::{Kind, Pos, Value};
    use crate::environments::Env;
    use crate::settings::App;

    fn migrate(env: &Env) -> crate::error::Result<crate::transport::cmd::Cmd> {
        command(env, &App::from_env(env)?)
    }

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
            external: std::collections::BTreeMap::new(),
            addresses: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn venv_path_defaults_to_the_packages_venv() {
        let shown = migrate(&env(&[("package_name", "myapp")]))
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
        let shown = migrate(&env(&[("package_name", "myapp"), ("venv_path", "/srv/v/")]))
            .unwrap()
            .to_string();
        assert!(
            shown.contains("/srv/v/bin/python manage.py migrate"),
            "{shown}"
        );
        assert!(shown.contains("cd /srv"), "{shown}");
    }

    // db_migrate ran as the login user (root, on most hosts) when `app_user` was unset, while
    // `test` and the migration check ran as `package_name`: one rule now, the package's user.
    #[test]
    fn migrations_run_as_the_package_user_unless_app_user_names_another() {
        let shown = migrate(&env(&[("package_name", "myapp")]))
            .unwrap()
            .to_string();
        assert!(
            shown.starts_with("sudo -n -H -u myapp -- sh -c "),
            "{shown}"
        );
        let shown = migrate(&env(&[("package_name", "myapp"), ("app_user", "www")]))
            .unwrap()
            .to_string();
        assert!(shown.starts_with("sudo -n -H -u www -- sh -c "), "{shown}");
        let e = migrate(&env(&[("venv_path", "/srv/v")])).unwrap_err();
        assert_eq!(e.code(), 2);
        assert!(e.to_string().contains("production.app_user"), "{e}");
    }

    #[test]
    fn without_venv_path_or_package_name_it_is_a_key_error() {
        let e = migrate(&env(&[])).unwrap_err();
        assert_eq!(e.code(), 2);
        assert!(e.to_string().contains("production.migrate_command"), "{e}");
    }

    #[test]
    fn migrate_command_names_other_keys_and_an_unknown_one_is_a_key_error() {
        let shown = migrate(&env(&[
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
        let e = migrate(&env(&[
            ("package_name", "myapp"),
            ("migrate_command", "manage migrate {db_nme}"),
        ]))
        .unwrap_err();
        assert_eq!(e.code(), 2);
        assert!(e.to_string().contains("production.migrate_command"), "{e}");
        assert!(e.to_string().contains("db_nme"), "{e}");
    }
}
