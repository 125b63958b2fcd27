//! Values that never live in the project (Kamal's `.kamal/secrets`, Ansible Vault): any env
//! value written as `{'from_env': 'X'}`, `{'from_file': '~/path'}` or
//! `{'from_command': 'pass show prod/db'}` (in dfab.toml the same as an inline table), read when
//! a run is planned, before anything acts, and kept as secrets: redacted from every output.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::keys::{self, Shape};
use super::value::{Kind, Value};
use super::Env;
use crate::error::Result;
use crate::secret::Secret;

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An environment variable of dfab's process.
    Env(String),
    /// A file on this machine (`~/` is the home directory); its text, less one final newline.
    File(String),
    /// A shell command run here (`sh -c`); its stdout, less one final newline.
    Command(String),
}

/// The words of a source dict.
pub const WORDS: [&str; 3] = ["from_env", "from_file", "from_command"];

/// The source a value names, if it is a dict of exactly one of [`WORDS`] to a string.
#[must_use]
pub fn source(v: &Value) -> Option<Source> {
    let [(k, x)] = v.as_dict()? else {
        return None;
    };
    let what = x.as_str()?.to_string();
    match k.as_str()? {
        "from_env" => Some(Source::Env(what)),
        "from_file" => Some(Source::File(what)),
        "from_command" => Some(Source::Command(what)),
        _ => None,
    }
}

/// How far [`resolve`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reading {
    /// Read every source (a real run, or `-n --run-secret-commands`).
    #[default]
    All,
    /// `-n`: environment variables and files are read, commands are not run: their values
    /// stand as [`NOT_RUN`] (the `debconf` key: no answers).
    NoCommands,
    /// Nothing read (`dfab <env> -l`): the sources are shown as written.
    Nothing,
}

/// The value a `from_command` stands for under `-n`.
pub const NOT_RUN: &str = "(from_command, not run under -n)";

/// `~/x` as a path under the home directory.
#[must_use]
pub fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// Read one source; the error names `env.key`.
fn read(env: &Env, key: &str, s: &Source) -> Result<String> {
    let text = match s {
        Source::Env(var) => std::env::var(var).map_err(|_| {
            env.key_error(
                key,
                format!("the environment variable `{var}` (from_env) is not set"),
                Some(format!("export {var}=... before running dfab")),
            )
        })?,
        Source::File(p) => {
            let path = expand_home(p);
            fs_err::read_to_string(&path).map_err(|e| {
                env.key_error(
                    key,
                    format!("cannot read {} (from_file): {}", path.display(), kind(&e)),
                    Some("from_file names a file on this machine; `~/` is your home".into()),
                )
            })?
        }
        Source::Command(c) => {
            let o = std::process::Command::new("sh")
                .args(["-c", c])
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .output()
                .map_err(|e| {
                    env.key_error(key, format!("cannot run `sh` (from_command): {e}"), None)
                })?;
            if !o.status.success() {
                let err = String::from_utf8_lossy(&o.stderr);
                let last = err.trim().lines().last().unwrap_or_default().to_string();
                return Err(env.key_error(
                    key,
                    format!(
                        "the command `{c}` (from_command) failed ({}){}",
                        o.status,
                        if last.is_empty() {
                            String::new()
                        } else {
                            format!(": {last}")
                        }
                    ),
                    Some("run it by hand to see why; its stdout is the value".into()),
                ));
            }
            String::from_utf8(o.stdout).map_err(|_| {
                env.key_error(key, format!("`{c}` (from_command) printed no UTF-8"), None)
            })?
        }
    };
    Ok(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

/// An I/O error's kind in words, without the path (the message has it).
fn kind(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Replace every source among `env`'s values by what it reads: a string (a number for the keys
/// that take one), then checked as the key's value would be. The `debconf` key's text is the
/// debconf database itself: it goes into `env.external` and leaves `vars`. Returns the values
/// read, for the redactor. A variable not set, a file not there, a command that fails: an error
/// naming the key, before anything acts.
pub fn resolve(env: &mut Env, how: Reading) -> Result<Vec<String>> {
    if how == Reading::Nothing {
        return Ok(Vec::new());
    }
    let mut read_values = Vec::new();
    let mut found: Vec<(String, Source)> = env
        .vars
        .iter()
        .filter_map(|(k, v)| source(v).map(|s| (k.clone(), s)))
        .collect();
    // Commands last: a variable not set or a file not there stops the run before any command
    // (which may prompt, or have effects) has run.
    found.sort_by_key(|(_, s)| matches!(s, Source::Command(_)));
    if let Some(t) = decrypt_debconf(env)? {
        read_values.extend(crate::secret::debconf_values(t.expose()));
        env.external.insert("debconf".into(), t);
    }
    for (key, s) in found {
        let text = if how == Reading::NoCommands && matches!(s, Source::Command(_)) {
            if key == "debconf" {
                env.vars.remove(&key);
                continue;
            }
            NOT_RUN.to_string()
        } else {
            let t = read(env, &key, &s)?;
            read_values.push(t.clone());
            t
        };
        if key == "debconf" {
            env.vars.remove(&key);
            env.external.insert(key, Secret::new(text));
            continue;
        }
        let pos = env.vars[&key].pos;
        let kind = match keys::shape(&key) {
            Some(Shape::Count | Shape::Seconds | Shape::Port) => text
                .trim()
                .parse::<i128>()
                .map_or_else(|_| Kind::Str(text.clone()), Kind::Int),
            Some(Shape::Bool) => match text.trim() {
                "true" | "True" | "yes" => Kind::Bool(true),
                "false" | "False" | "no" => Kind::Bool(false),
                _ => Kind::Str(text.clone()),
            },
            _ => Kind::Str(text.clone()),
        };
        let v = Value::new(kind, pos);
        if let Err((m, _)) = keys::check(&key, &v, env.syntax()) {
            // The message may quote the value: it is a secret, so only its shape is said.
            let _ = m;
            return Err(env.key_error(
                &key,
                format!("the value read from outside the project is not a valid `{key}`"),
                keys::doc(&key).map(String::from),
            ));
        }
        env.external.insert(key.clone(), Secret::new(text));
        env.vars.insert(key, v);
    }
    Ok(read_values)
}

/// The identity `age` decrypts with: `age_identity`, else `$SOPS_AGE_KEY_FILE`, else sops's
/// default `~/.config/sops/age/keys.txt`.
fn age_identity(env: &Env) -> PathBuf {
    if let Some(p) = env.str("age_identity") {
        return expand_home(p);
    }
    match std::env::var("SOPS_AGE_KEY_FILE") {
        Ok(p) if !p.is_empty() => PathBuf::from(p),
        _ => expand_home("~/.config/sops/age/keys.txt"),
    }
}

/// A `debconf` file that ends in `.age`, decrypted in memory with Debian's `age` (never
/// written to disk): its text, or `None` when the file is no `.age` file.
fn decrypt_debconf(env: &Env) -> Result<Option<Secret>> {
    let is_age = |p: &&str| {
        std::path::Path::new(p)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("age"))
    };
    let Some(path) = env.str("debconf").filter(is_age) else {
        return Ok(None);
    };
    let identity = age_identity(env);
    if !identity.is_file() {
        return Err(env.key_error(
            "debconf",
            format!(
                "{path} is encrypted with age, and the identity {} does not exist",
                identity.display()
            ),
            Some(format!(
                "name your age key: {} (or set SOPS_AGE_KEY_FILE)",
                env.example("age_identity", "'~/.config/dfab/age.key'")
            )),
        ));
    }
    let o = std::process::Command::new("age")
        .arg("--decrypt")
        .arg("--identity")
        .arg(&identity)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            env.key_error(
                "debconf",
                format!("cannot run `age` to decrypt {path}: {e}"),
                Some("install it: apt-get install age".into()),
            )
        })?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        return Err(env.key_error(
            "debconf",
            format!(
                "age could not decrypt {path} with {}: {}",
                identity.display(),
                age_reason(&err)
            ),
            Some("encrypt it to your key: age -r <recipient> -o debconf.<env>.dat.age debconf.<env>.dat".into()),
        ));
    }
    let text = String::from_utf8(o.stdout)
        .map_err(|_| env.key_error("debconf", format!("{path} decrypts to no UTF-8"), None))?;
    Ok(Some(Secret::new(text)))
}

/// Why age failed, from its stderr: every line it printed but its standing invitation to report
/// unhelpful errors, each without its `age: error: ` prefix, joined by `; ` (age prints no
/// plaintext on stderr).
fn age_reason(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains("report unexpected or unhelpful errors"))
        .map(|l| {
            l.strip_prefix("age: error: ")
                .or_else(|| l.strip_prefix("age: "))
                .unwrap_or(l)
        })
        .collect();
    if lines.is_empty() {
        "it gave no reason".into()
    } else {
        lines.join("; ")
    }
}

/// The secret keys written in plain text in the project's environments file (not as a source):
/// `(env, key, value position)` for `dfab -l`'s warning when git tracks the file.
#[must_use]
pub fn plain_secrets(project: &super::Project) -> Vec<(String, String, super::value::Pos)> {
    let mut out = Vec::new();
    let all = std::iter::once((super::DEFAULTS, &project.defaults))
        .chain(project.envs.iter().map(|e| (e.name.as_str(), &e.vars)));
    for (env, vars) in all {
        for (k, v) in vars {
            let plain = v.as_str().is_some_and(|s| !s.is_empty());
            if plain && crate::secret::is_secret_key(k) {
                out.push((env.to_string(), k.clone(), v.pos));
            }
        }
    }
    out
}

/// The sources an env's values name, by key, for `dfab <env> -l`.
#[must_use]
pub fn sources(vars: &BTreeMap<String, Value>) -> Vec<(String, Source)> {
    vars.iter()
        .filter_map(|(k, v)| source(v).map(|s| (k.clone(), s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::testing::env;

    // The age error showed only age's last stderr line, its "report unexpected or unhelpful
    // errors" invitation, and lost the reason.
    #[test]
    fn age_s_reason_is_kept_and_its_report_line_dropped() {
        let err = "age: error: no identity matched any of the recipients\n\
                   age: report unexpected or unhelpful errors at https://filippo.io/age/report\n";
        assert_eq!(age_reason(err), "no identity matched any of the recipients");
        let err = "age: warning: x\nage: error: failed to read header\nage: error: y\n";
        assert_eq!(age_reason(err), "warning: x; failed to read header; y");
        assert_eq!(age_reason(""), "it gave no reason");
    }

    #[test]
    fn sources_are_one_word_dicts() {
        let e = env(
            "'db_password': {'from_env': 'X'},\n'a': {'from_file': '~/f'},\n\
             'b': {'from_command': 'true'},\n'c': {'from_env': 'X', 'x': 1},\n'd': {'other': 'y'},",
        );
        assert_eq!(
            source(&e.vars["db_password"]),
            Some(Source::Env("X".into()))
        );
        assert_eq!(source(&e.vars["a"]), Some(Source::File("~/f".into())));
        assert_eq!(source(&e.vars["b"]), Some(Source::Command("true".into())));
        assert_eq!(source(&e.vars["c"]), None);
        assert_eq!(source(&e.vars["d"]), None);
    }

    #[test]
    fn each_source_read_or_an_error_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        fs_err::write(&f, "from-a-file\n").unwrap();
        let mut e = env(&format!(
            "'db_password': {{'from_file': '{}'}},\n'port': {{'from_command': 'echo 2222'}},\n\
             'api_token': {{'from_command': 'printf tok-123'}},",
            f.display()
        ));
        let read = resolve(&mut e, Reading::All).unwrap();
        assert_eq!(e.str("db_password"), Some("from-a-file"));
        assert_eq!(e.vars["port"].kind, Kind::Int(2222));
        assert_eq!(e.vars["api_token"].as_str(), Some("tok-123"));
        assert_eq!(read.len(), 3);
        assert_eq!(e.external["db_password"].expose(), "from-a-file");

        let mut e = env("'db_password': {'from_env': 'DFAB_TEST_SURELY_UNSET_VAR'},");
        let err = resolve(&mut e, Reading::All).unwrap_err();
        assert!(
            err.to_string().contains("key `production.db_password`: the environment variable `DFAB_TEST_SURELY_UNSET_VAR` (from_env) is not set"),
            "{err}"
        );
        let mut e = env("'db_password': {'from_command': 'echo nope >&2; exit 3'},");
        let err = resolve(&mut e, Reading::All).unwrap_err().to_string();
        assert!(err.contains("key `production.db_password`"), "{err}");
        assert!(err.contains("failed (exit status: 3): nope"), "{err}");
        let mut e = env("'db_password': {'from_file': '/no/such/file'},");
        let err = resolve(&mut e, Reading::All).unwrap_err().to_string();
        assert!(
            err.contains("cannot read /no/such/file (from_file): no such file"),
            "{err}"
        );
    }

    #[test]
    fn under_dry_run_commands_are_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("ran");
        let mut e = env(&format!(
            "'db_password': {{'from_command': 'touch {}'}},\n'debconf': {{'from_command': 'touch {}'}},",
            mark.display(),
            mark.display()
        ));
        resolve(&mut e, Reading::NoCommands).unwrap();
        assert!(!mark.exists());
        assert_eq!(e.str("db_password"), Some(NOT_RUN));
        assert!(!e.vars.contains_key("debconf") && !e.external.contains_key("debconf"));
    }

    // A from_command ran (a side effect, a prompt) although an earlier-named key's from_env was
    // not set and the run then stopped: commands now run after every other source was read.
    #[test]
    fn no_command_runs_when_another_source_fails() {
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("ran");
        let mut e = env(&format!(
            "'a_token': {{'from_command': 'touch {}'}},\n\
             'z_password': {{'from_env': 'DFAB_TEST_SURELY_UNSET_VAR'}},",
            mark.display()
        ));
        let err = resolve(&mut e, Reading::All).unwrap_err().to_string();
        assert!(err.contains("z_password"), "{err}");
        assert!(
            !mark.exists(),
            "the command ran before the failing from_env"
        );
    }
}
