//! Environments: loading `environments.py` or `dfab.toml`, `__all__` merging and interpolation.

pub mod external;
pub mod interpolate;
pub mod keys;
pub mod literal;
mod python;
mod python_source;
pub mod syntax;
mod tagged;
mod toml_file;
pub mod value;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::suggestion;
use value::{Kind, Pos, Value};

/// The name of the defaults entry.
pub const DEFAULTS: &str = "__all__";

/// A loaded project: its environments and its user tasks, before any is activated.
#[derive(Debug, Clone)]
pub struct Project {
    /// The file everything came from, as the user named it (for messages).
    pub file: PathBuf,
    /// The absolute directory of `file`: what a relative `-f` path means to the shell.
    pub file_dir: PathBuf,
    /// The `__all__` entry, in source order.
    pub defaults: Vec<(String, Value)>,
    /// Every environment but `__all__`, in source order.
    pub envs: Vec<EnvDef>,
    /// The raw `tasks` value, if the file has one.
    pub tasks: Option<Value>,
    /// True when `--python` evaluated the file (positions are then unknown).
    pub evaluated: bool,
}

/// One environment as written.
#[derive(Debug, Clone)]
pub struct EnvDef {
    pub name: String,
    pub pos: Pos,
    pub vars: Vec<(String, Value)>,
}

/// The variable activation adds to every env: its name, at the position of its definition.
const ENV_NAME: &str = "env_name";

/// An activated environment: `__all__` merged under its own keys, plus `env_name`.
#[derive(Debug, Clone)]
pub struct Env {
    pub name: String,
    pub file: PathBuf,
    pub vars: BTreeMap<String, Value>,
    /// The values read from outside the project (`from_env`, `from_file`, `from_command`), by
    /// key, once [`external::resolve`] has read them; the `debconf` key's is the database text.
    pub external: BTreeMap<String, crate::secret::Secret>,
    /// Where a host named by its inventory name is reached (`web1` → `root@10.0.3.157:22`),
    /// from an Ansible inventory ([`crate::inventory::apply`]); the name is the host's one name
    /// everywhere else (`hosts`, `roledefs`, host keywords, output).
    pub addresses: BTreeMap<String, String>,
}

impl Env {
    /// The syntax of the file the env was read from, for examples in hints.
    #[must_use]
    pub fn syntax(&self) -> syntax::Syntax {
        syntax::Syntax::of(&self.file)
    }

    /// `key` set to `example` (a Python literal), as the env's file writes a setting:
    /// `'key': False` in environments.py, `key = false` in dfab.toml.
    #[must_use]
    pub fn example(&self, key: &str, example: &str) -> String {
        self.syntax().setting(key, example)
    }

    /// A string setting.
    #[must_use]
    pub fn str(&self, key: &str) -> Option<&str> {
        self.vars.get(key).and_then(Value::as_str)
    }

    /// A bool setting (validated at load time).
    #[must_use]
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.vars.get(key).and_then(Value::as_bool)
    }

    /// A list-of-strings setting.
    #[must_use]
    pub fn str_list(&self, key: &str) -> Vec<String> {
        self.vars
            .get(key)
            .and_then(Value::as_seq)
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A count setting (`parallel`, `keep_releases`, `rolling_batch`): a whole number, 1 or
    /// more, written as an int or a string of digits; `default` when unset. `what` names the
    /// unit in the error (`hosts`, `releases`).
    pub fn count(&self, key: &str, default: usize, what: &str) -> Result<usize> {
        let Some(v) = self.vars.get(key) else {
            return Ok(default);
        };
        v.to_plain_string()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                self.key_error(
                    key,
                    format!("expected a number of {what} (1 or more), got {v}"),
                    Some(format!(
                        "for example {}",
                        self.example(key, &default.to_string())
                    )),
                )
            })
    }

    /// An error about one of this environment's keys, pointing into the file.
    pub fn key_error(&self, key: &str, message: impl Into<String>, hint: Option<String>) -> Error {
        let mut pos = self.vars.get(key).map(|v| v.pos).filter(|p| p.line > 0);
        let mut hint = hint;
        // The key is not set, but one a slip away is: point at that one.
        if !self.vars.contains_key(key) {
            if let Some(near) =
                crate::suggestion::nearest(key, self.vars.keys().map(String::as_str))
            {
                let at = self.vars[near].pos;
                pos = Some(at).filter(|p| p.line > 0);
                let typo = format!("`{near}` is set here: did you mean `{key}`?");
                hint = Some(match hint {
                    Some(h) => format!("{typo} ({h})"),
                    None => typo,
                });
            }
        }
        // A key set nowhere: point at the env itself, where it would go (`env_name` carries
        // the position of the env's definition).
        if pos.is_none() {
            pos = self
                .vars
                .get(ENV_NAME)
                .map(|v| v.pos)
                .filter(|p| p.line > 0);
        }
        Error::Config {
            file: self.file.clone(),
            pos,
            key: Some(format!("{}.{key}", self.name)),
            message: message.into(),
            hint,
        }
    }
}

/// Search `start` and its parents for `environments.py`, then `dfab.toml`.
#[must_use]
pub fn find(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        ["environments.py", "dfab.toml"]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
    })
}

impl Project {
    /// Load a file: `.toml` natively, anything else as a Python literal file (or with python3).
    pub fn load(file: &Path, use_python: bool) -> Result<Project> {
        let src = fs_err::read_to_string(file)?;
        let is_toml = file.extension().is_some_and(|e| e == "toml");
        let (top, evaluated): (Vec<(String, Value)>, bool) = if is_toml {
            (
                toml_file::parse(&src).map_err(|(pos, m)| cfg(file, pos, None, m, None))?,
                false,
            )
        } else if use_python {
            (python::evaluate(file)?, true)
        } else {
            let module = literal::parse_module(&src).map_err(|e| Error::Config {
                file: file.to_path_buf(),
                pos: Some(e.pos),
                key: None,
                message: e.message,
                hint: e.hint,
            })?;
            let top = module
                .assignments
                .into_iter()
                .map(|a| (a.name, a.value))
                .collect();
            (top, false)
        };
        Project::from_top(file, &top, evaluated)
    }

    /// The absolute directory holding `file`, resolved against the current directory when
    /// `file` is relative (a bare `environments.py` has the empty path as its parent).
    fn absolute_dir(file: &Path) -> Result<PathBuf> {
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        // The directory exists (the file was just read from it): resolve `.` and `..` too.
        fs_err::canonicalize(parent).map_err(|source| Error::File {
            action: "resolve the directory of",
            path: file.to_path_buf(),
            source,
            hint: Some("run dfab from an existing directory, or pass -f an absolute path".into()),
        })
    }

    fn from_top(file: &Path, top: &[(String, Value)], evaluated: bool) -> Result<Project> {
        let get = |name: &str| {
            top.iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let Some(envs_value) = get("environments") else {
            return Err(cfg(
                file,
                None,
                None,
                "no `environments` dict in this file".into(),
                Some(match syntax::Syntax::of(file) {
                    syntax::Syntax::Python => {
                        "define `environments = {'production': {'hosts': [...]}, ...}`".into()
                    }
                    syntax::Syntax::Toml => {
                        "add a table per environment: `[environments.production]`, then \
                         `hosts = [...]` under it"
                            .into()
                    }
                }),
            ));
        };
        let Kind::Dict(entries) = &envs_value.kind else {
            return Err(cfg(
                file,
                Some(envs_value.pos),
                Some("environments"),
                format!("must be a dict, got {}", envs_value.type_name()),
                None,
            ));
        };
        let mut defaults = Vec::new();
        let mut envs: Vec<EnvDef> = Vec::new();
        for (k, v) in entries {
            let Some(name) = k.as_str() else {
                return Err(cfg(
                    file,
                    Some(k.pos),
                    None,
                    format!("environment names must be strings, got {k}"),
                    None,
                ));
            };
            // Key types are checked when an env is activated, so one env's bad value never makes
            // the file unusable for the others.
            let vars = string_keyed(file, name, v)?;
            if name == DEFAULTS {
                defaults = vars;
            } else {
                if let Err(why) = valid_env_name(name) {
                    return Err(cfg(
                        file,
                        Some(k.pos),
                        None,
                        format!("environment name `{name}` {why}"),
                        Some("use letters, digits, `_` and `-`".into()),
                    ));
                }
                envs.push(EnvDef {
                    name: name.to_string(),
                    pos: k.pos,
                    vars,
                });
            }
        }
        Ok(Project {
            file: file.to_path_buf(),
            file_dir: Project::absolute_dir(file)?,
            defaults,
            envs,
            tasks: get("tasks"),
            evaluated,
        })
    }

    /// Names of the environments, in file order.
    pub fn env_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.envs.iter().map(|e| e.name.as_str())
    }

    /// Activate an environment by name, merging `__all__` under it.
    pub fn activate(&self, name: &str) -> Result<Env> {
        let def = self.envs.iter().find(|e| e.name == name).ok_or_else(|| {
            Error::usage(
                format!("unknown environment `{name}` in {}", self.file.display()),
                suggestion::hint(name, self.env_names(), "environments"),
            )
        })?;
        let mut vars: BTreeMap<String, Value> = self.defaults.iter().cloned().collect();
        vars.extend(def.vars.iter().cloned());
        // dragonfab passed an option only when its value was truthy: `''` and `None` in a known
        // key mean "not set", even over a value from `__all__`.
        vars.retain(|k, v| keys::shape(k).is_none() || !keys::is_unset(v));
        for (key, val) in &vars {
            // A value from outside the project is checked when it is read.
            if external::source(val).is_some() {
                continue;
            }
            keys::check(key, val, syntax::Syntax::of(&self.file)).map_err(|(m, h)| {
                let from = if def.vars.iter().any(|(k, _)| k == key) {
                    name
                } else {
                    DEFAULTS
                };
                cfg(
                    &self.file,
                    Some(val.pos),
                    Some(&format!("{from}.{key}")),
                    m,
                    Some(h),
                )
            })?;
        }
        // Paths on this machine mean the project's files, whatever the current directory.
        keys::resolve_paths(&mut vars, &self.file_dir);
        vars.insert(
            "env_name".into(),
            Value::new(Kind::Str(name.to_string()), def.pos),
        );
        Ok(Env {
            name: name.to_string(),
            file: self.file.clone(),
            vars,
            external: BTreeMap::new(),
            addresses: BTreeMap::new(),
        })
    }

    /// The environments file's directory, absolute: every relative path dfab derives (the path
    /// keys, made absolute at activation by [`keys::resolve_paths`], `lcd`, put and get sources)
    /// is joined to it, so it resolves the same whether `-f` was given relative or absolute.
    #[must_use]
    pub fn dir(&self) -> PathBuf {
        self.file_dir.clone()
    }
}

fn valid_env_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.contains(':') || name.contains(char::is_whitespace) {
        return Err("cannot contain `:` or spaces (they separate tasks on the command line)");
    }
    if name.starts_with('-') {
        return Err("cannot start with `-`");
    }
    Ok(())
}

fn string_keyed(file: &Path, env: &str, v: &Value) -> Result<Vec<(String, Value)>> {
    let Kind::Dict(entries) = &v.kind else {
        return Err(cfg(
            file,
            Some(v.pos),
            Some(env),
            format!("an environment must be a dict, got {}", v.type_name()),
            Some(match syntax::Syntax::of(file) {
                syntax::Syntax::Python => format!("'{env}': {{'hosts': ['app.example.com']}}"),
                syntax::Syntax::Toml => {
                    format!("[environments.{env}] with hosts = [\"app.example.com\"] under it")
                }
            }),
        ));
    };
    entries
        .iter()
        .map(|(k, val)| match k.as_str() {
            Some(s) => Ok((s.to_string(), val.clone())),
            None => Err(cfg(
                file,
                Some(k.pos),
                Some(env),
                format!("setting names must be strings, got {k}"),
                None,
            )),
        })
        .collect()
}

fn cfg(
    file: &Path,
    pos: Option<Pos>,
    key: Option<&str>,
    message: String,
    hint: Option<String>,
) -> Error {
    Error::Config {
        file: file.to_path_buf(),
        pos: pos.filter(|p| p.line > 0),
        key: key.map(String::from),
        message,
        hint,
    }
}
