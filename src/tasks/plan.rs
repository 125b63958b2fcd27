//! Resolving `<env> <task>...` against the project into a `Plan`: every command known before
//! anything runs, so a typo or an undefined variable fails with nothing executed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::environments::interpolate::{interpolate, Mode, Problem};
use crate::environments::value::{Kind, Value};
use crate::environments::{Env, Project};
use crate::error::{Error, Result};
use crate::invocation::TaskCall;
use crate::suggestion;
use crate::transport::cmd::Cmd;

use super::registry::{self, Builtin};
use super::user::{parse_tasks, Action, UserTask};

/// Where the hosts of a run come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// A fixed list (the env's `hosts`, or `-H`).
    Hosts(Vec<String>),
    /// A local LXC container, started (or cloned) when the run begins.
    Lxc { name: String, force_new: bool },
}

/// One thing to do, in order.
#[derive(Debug, Clone)]
pub enum Item {
    /// A command on each of `hosts`.
    Remote {
        task: String,
        hosts: Vec<String>,
        cmd: Cmd,
        warn_only: bool,
    },
    /// A command on this machine, once.
    Local {
        task: String,
        cmd: Cmd,
        warn_only: bool,
    },
    Put {
        task: String,
        hosts: Vec<String>,
        local: PathBuf,
        remote: String,
        sudo: bool,
    },
    Get {
        task: String,
        hosts: Vec<String>,
        remote: String,
        local: PathBuf,
    },
    /// A built-in task, run by its own module.
    Builtin { call: TaskCall },
}

/// A resolved command line.
#[derive(Debug, Clone)]
pub struct Plan {
    pub env: Env,
    pub targets: Targets,
    pub items: Vec<Item>,
    pub project_dir: PathBuf,
}

/// Options from the command line that change the plan.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub hosts: Option<Vec<String>>,
    pub user: Option<String>,
}

/// Build the plan for `env_call` (the env, with Fabric-style args) and `calls`.
pub fn resolve(
    project: &Project,
    env_call: &TaskCall,
    calls: &[TaskCall],
    o: &Overrides,
) -> Result<Plan> {
    let mut env = project.activate(&env_call.name)?;
    if let Some(u) = &o.user {
        env.vars.insert(
            "user".into(),
            Value::new(
                Kind::Str(u.clone()),
                crate::environments::value::Pos::default(),
            ),
        );
    }
    let user_tasks = match &project.tasks {
        Some(v) => parse_tasks(&project.file, v)?,
        None => Vec::new(),
    };
    let targets = targets(&env, env_call, o)?;
    let all_hosts = match &targets {
        Targets::Hosts(h) => h.clone(),
        Targets::Lxc { name, .. } => vec![name.clone()],
    };
    let project_dir = env
        .str("local_dir")
        .map_or_else(|| project.dir(), |d| project.dir().join(d));
    let mut r = Resolver {
        env: &env,
        user_tasks: &user_tasks,
        all_hosts: &all_hosts,
        project_dir: &project_dir,
        items: Vec::new(),
        stack: Vec::new(),
    };
    for call in calls {
        r.call(call)?;
    }
    let items = r.items;
    Ok(Plan {
        env,
        targets,
        items,
        project_dir,
    })
}

fn targets(env: &Env, env_call: &TaskCall, o: &Overrides) -> Result<Targets> {
    if let Some(name) = env.str("lxc") {
        for (k, _) in &env_call.kwargs {
            if k != "force_new" {
                return Err(Error::usage(
                    format!("environment `{}` takes no argument `{k}`", env.name),
                    Some(format!(
                        "`{}:force_new=yes` recreates the container",
                        env.name
                    )),
                ));
            }
        }
        return Ok(Targets::Lxc {
            name: name.to_string(),
            force_new: env_call.flag("force_new")?,
        });
    }
    if let Some((k, _)) = env_call.kwargs.first() {
        return Err(Error::usage(
            format!("environment `{}` takes no argument `{k}`", env.name),
            None,
        ));
    }
    if let Some(h) = &o.hosts {
        return Ok(Targets::Hosts(h.clone()));
    }
    Ok(Targets::Hosts(env.str_list("hosts")))
}

struct Resolver<'a> {
    env: &'a Env,
    user_tasks: &'a [UserTask],
    all_hosts: &'a [String],
    project_dir: &'a PathBuf,
    items: Vec<Item>,
    stack: Vec<String>,
}

impl Resolver<'_> {
    fn call(&mut self, call: &TaskCall) -> Result<()> {
        if let Some(b) = registry::builtin(&call.name) {
            return self.builtin(b, call);
        }
        let Some(task) = self.user_tasks.iter().find(|t| t.name == call.name) else {
            let names: Vec<&str> = registry::BUILTINS
                .iter()
                .map(|b| b.name)
                .chain(self.user_tasks.iter().map(|t| t.name.as_str()))
                .collect();
            return Err(Error::usage(
                format!("unknown task `{}`", call.name),
                suggestion::hint(&call.name, names.iter().copied(), "tasks"),
            ));
        };
        if self.stack.contains(&task.name) {
            return Err(Error::usage(
                format!(
                    "task `{}` calls itself: {} -> {}",
                    task.name,
                    self.stack.join(" -> "),
                    task.name
                ),
                None,
            ));
        }
        if call.args.len() > task.params.len() {
            return Err(Error::usage(
                format!(
                    "task `{}` takes {} positional argument(s), got {}",
                    task.name,
                    task.params.len(),
                    call.args.len()
                ),
                (!task.params.is_empty())
                    .then(|| format!("its arguments: {}", task.params.join(", "))),
            ));
        }
        let mut vars = self.env.vars.clone();
        for (name, v) in task
            .params
            .iter()
            .zip(&call.args)
            .chain(call.kwargs.iter().map(|(k, v)| (k, v)))
        {
            vars.insert(name.clone(), Value::new(Kind::Str(v.clone()), task.pos));
        }
        self.stack.push(task.name.clone());
        for step in &task.steps {
            let at = |e: Problem| self.problem(task, step.pos, &e);
            let hosts = self.hosts_for(&step.roles, task, step.pos)?;
            let cd = step
                .cd
                .as_ref()
                .map(|c| interpolate(c, &vars, Mode::Plain))
                .transpose()
                .map_err(at)?;
            let lcd = step
                .lcd
                .as_ref()
                .map(|c| interpolate(c, &vars, Mode::Plain))
                .transpose()
                .map_err(at)?;
            let shell = |s: &str| interpolate(s, &vars, Mode::Shell).map_err(at);
            let plain = |s: &str| interpolate(s, &vars, Mode::Plain).map_err(at);
            let local_dir = lcd
                .as_ref()
                .map_or_else(|| self.project_dir.clone(), |d| self.project_dir.join(d));
            let remote_path = |p: String| match (&cd, p.starts_with('/')) {
                (Some(dir), false) => format!("{}/{p}", dir.trim_end_matches('/')),
                _ => p,
            };
            let name = task.name.clone();
            let item = match &step.action {
                Action::Run(c) => Item::Remote {
                    task: name,
                    hosts,
                    cmd: with_cd(Cmd::shell(shell(c)?), cd.clone()),
                    warn_only: step.warn_only,
                },
                Action::Sudo { command, user } => Item::Remote {
                    task: name,
                    hosts,
                    cmd: with_cd(Cmd::shell(shell(command)?), cd.clone())
                        .sudo(user.as_ref().map(|u| plain(u)).transpose()?),
                    warn_only: step.warn_only,
                },
                Action::Local(c) => Item::Local {
                    task: name,
                    cmd: Cmd::shell(shell(c)?).cwd(local_dir.display().to_string()),
                    warn_only: step.warn_only,
                },
                Action::Put {
                    local,
                    remote,
                    sudo,
                } => Item::Put {
                    task: name,
                    hosts,
                    local: local_dir.join(plain(local)?),
                    remote: remote_path(plain(remote)?),
                    sudo: *sudo,
                },
                Action::Get { remote, local } => {
                    if hosts.len() > 1 && !local.ends_with('/') {
                        return Err(self.step_error(task, step.pos, "`get` from several hosts needs a directory destination ending in `/` (files land in <dir>/<host>/)".into()));
                    }
                    Item::Get {
                        task: name,
                        hosts,
                        remote: remote_path(plain(remote)?),
                        local: local_dir.join(plain(local)?),
                    }
                }
                Action::Task(sub) => {
                    self.call(sub)?;
                    continue;
                }
            };
            self.items.push(item);
        }
        self.stack.pop();
        Ok(())
    }

    fn builtin(&mut self, b: &Builtin, call: &TaskCall) -> Result<()> {
        if !b.implemented {
            return Err(Error::NotImplemented {
                task: b.name.to_string(),
            });
        }
        self.items.push(Item::Builtin { call: call.clone() });
        Ok(())
    }

    fn hosts_for(
        &self,
        roles: &[String],
        task: &UserTask,
        pos: crate::environments::value::Pos,
    ) -> Result<Vec<String>> {
        if roles.is_empty() {
            return Ok(self.all_hosts.to_vec());
        }
        let defs = self.env.vars.get("roledefs");
        let mut hosts = Vec::new();
        for role in roles {
            let Some(list) = defs.and_then(|d| d.get(role)).and_then(Value::as_seq) else {
                let known: Vec<&str> = defs
                    .and_then(Value::as_dict)
                    .map(|d| d.iter().filter_map(|(k, _)| k.as_str()).collect())
                    .unwrap_or_default();
                return Err(self
                    .step_error(
                        task,
                        pos,
                        format!("role `{role}` is not in the env's `roledefs`"),
                    )
                    .with_hint(suggestion::hint(role, known.iter().copied(), "roles")));
            };
            for h in list.iter().filter_map(Value::as_str) {
                if !hosts.iter().any(|x: &String| x == h) {
                    hosts.push(h.to_string());
                }
            }
        }
        Ok(hosts)
    }

    fn step_error(
        &self,
        task: &UserTask,
        pos: crate::environments::value::Pos,
        message: String,
    ) -> Error {
        Error::Config {
            file: self.env.file.clone(),
            pos: Some(pos).filter(|p| p.line > 0),
            key: Some(format!("tasks.{}", task.name)),
            message,
            hint: None,
        }
    }

    fn problem(&self, task: &UserTask, pos: crate::environments::value::Pos, p: &Problem) -> Error {
        let (msg, hint) = match p {
            Problem::Undefined(name) => (
                format!("undefined variable `{name}` (env `{}`)", self.env.name),
                suggestion::nearest(name, self.env.vars.keys().map(String::as_str)).map(|n| format!("did you mean `{n}`? Or define `{name}` in the env, in `__all__`, or pass `{}:{name}=...`", task.name)).or_else(|| Some(format!("define `{name}` in the env or `__all__`, or pass `{}:{name}=...`", task.name))),
            ),
            Problem::NotScalar(name, ty) => (format!("variable `{name}` is a {ty}; only strings, numbers and lists can be interpolated"), None),
            Problem::Syntax(m) => (m.clone(), Some("write `{{` or `%%` for a literal brace or percent".into())),
        };
        self.step_error(task, pos, msg).with_hint(hint)
    }
}

fn with_cd(cmd: Cmd, cd: Option<String>) -> Cmd {
    match cd {
        Some(d) => cmd.cwd(d),
        None => cmd,
    }
}

impl Error {
    /// Replace the hint of a config or usage error.
    #[must_use]
    pub fn with_hint(mut self, new: Option<String>) -> Self {
        if let Error::Config { hint, .. } | Error::Usage { hint, .. } = &mut self {
            *hint = new;
        }
        self
    }
}

/// The user tasks of a project, for listings.
pub fn user_tasks(project: &Project) -> Result<Vec<UserTask>> {
    project
        .tasks
        .as_ref()
        .map_or_else(|| Ok(Vec::new()), |v| parse_tasks(&project.file, v))
}

/// Variables of an env for display, secrets redacted.
#[must_use]
pub fn display_vars(env: &Env) -> BTreeMap<String, String> {
    env.vars
        .iter()
        .map(|(k, v)| {
            let shown = if crate::secret::is_secret_key(k) {
                "(redacted)".to_string()
            } else {
                v.to_string()
            };
            (k.clone(), shown)
        })
        .collect()
}
