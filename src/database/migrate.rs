//! `database.migrate` (`db_migrate`): the app's migrations, in the app directory, as the app user.

use crate::environments::Env;
use crate::error::Result;
use crate::transport::cmd::Cmd;

/// `migrate_command` (default `{venv_path}/bin/python manage.py migrate --noinput`), run in
/// `app_dir` (default: the directory above `venv_path`) as `app_user` (default: the login user).
pub fn command(env: &Env) -> Result<Cmd> {
    let venv = env.str("venv_path").filter(|s| !s.is_empty());
    let script = match (env.str("migrate_command").filter(|s| !s.is_empty()), venv) {
        (Some(c), _) => c.to_string(),
        (None, Some(v)) => format!(
            "{}/bin/python manage.py migrate --noinput",
            crate::transport::cmd::quote(v.trim_end_matches('/'))
        ),
        (None, None) => {
            return Err(env.key_error(
                "migrate_command",
                format!("environment `{}` sets neither `migrate_command` nor `venv_path`", env.name),
                Some("set `venv_path` (dfab runs {venv_path}/bin/python manage.py migrate --noinput) or `migrate_command`".into()),
            ))
        }
    };
    let dir = match (env.str("app_dir").filter(|s| !s.is_empty()), venv) {
        (Some(d), _) => d.to_string(),
        (None, Some(v)) => std::path::Path::new(v.trim_end_matches('/'))
            .parent()
            .map_or_else(|| "/".into(), |p| p.display().to_string()),
        (None, None) => {
            return Err(env.key_error(
                "app_dir",
                "the app directory is unknown",
                Some("set `app_dir` (where manage.py is) or `venv_path`".into()),
            ))
        }
    };
    let mut cmd = Cmd::shell(script).cwd(dir);
    if let Some(u) = env.str("app_user").filter(|s| !s.is_empty()) {
        cmd = cmd.sudo(Some(u.to_string()));
    }
    Ok(cmd)
}
