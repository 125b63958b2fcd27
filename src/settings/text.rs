//! String settings with `{name}` filled in from the env: plain (paths) or shell-quoted (commands).

use crate::environments::interpolate::{interpolate, Mode};
use crate::environments::Env;
use crate::error::Result;

fn fill(env: &Env, key: &str, template: &str, mode: Mode) -> Result<String> {
    interpolate(template, &env.vars, mode).map_err(|p| {
        let hint = p.hint(env.vars.keys().map(String::as_str));
        env.key_error(key, format!("cannot fill in `{template}`: {p}"), hint)
    })
}

/// `template` (the value of `key`, or its default) with `{name}` filled in as it is: for paths.
pub fn plain(env: &Env, key: &str, template: &str) -> Result<String> {
    fill(env, key, template, Mode::Plain)
}

/// `template` with each `{name}` shell-quoted: for commands.
pub fn shell(env: &Env, key: &str, template: &str) -> Result<String> {
    fill(env, key, template, Mode::Shell)
}

/// The string `key`, filled in as [`plain`], or `default` (a template) when unset.
pub fn plain_or(env: &Env, key: &str, default: &str) -> Result<String> {
    plain(env, key, env.str(key).unwrap_or(default))
}

/// The string `key`, filled in as [`plain`], or `None` when unset.
pub fn plain_opt(env: &Env, key: &str) -> Result<Option<String>> {
    env.str(key).map(|t| plain(env, key, t)).transpose()
}

#[cfg(test)]
mod tests {
    use super::{plain, plain_opt, plain_or, shell};
    use crate::settings::testing::env;

    #[test]
    fn fills_in_plain_or_quoted_and_names_the_key_of_a_bad_template() {
        let e = env("'package_name': 'myapp',\n'venv_path': '/srv/{nope}/venv',");
        assert_eq!(plain(&e, "x", "/opt/{package_name}").unwrap(), "/opt/myapp");
        assert_eq!(
            shell(&e, "x", "echo {env_name}").unwrap(),
            "echo production"
        );
        assert_eq!(
            plain_or(&e, "manage_py", "/opt/{package_name}/manage.py").unwrap(),
            "/opt/myapp/manage.py"
        );
        assert_eq!(plain_opt(&e, "app_dir").unwrap(), None);
        let err = plain_opt(&e, "venv_path").unwrap_err().to_string();
        assert!(
            err.starts_with("environments.py:4:"),
            "the line of the key: {err}"
        );
        assert!(err.contains("key `production.venv_path`"), "{err}");
        assert!(err.contains("nope"), "{err}");
        // It said `Undefined("nope")`, Rust's debug text.
        assert!(err.ends_with("undefined variable `nope`"), "{err}");
        let hint = plain_opt(&e, "venv_path").unwrap_err().hint().unwrap();
        assert!(hint.starts_with("define `nope` in the env"), "{hint}");
    }
}
