//! Resolving `<env> <task>...` against the project into a `Plan`: every command known before
//! anything runs, so a typo or an undefined variable fails with nothing executed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::environments::external::Reading;
use crate::environments::interpolate::{interpolate, Mode, Problem};
use crate::environments::value::{Kind, Value};
use crate::environments::{Env, Project};
use crate::error::{Error, Result};
use crate::invocation::TaskCall;
use crate::settings::Roles;
use crate::suggestion;
use crate::transport::cmd::Cmd;

use super::builtin::PlanCtx;
use super::registry::{self, Builtin};
use super::user::{parse_tasks, Action, UserTask};
use crate::exec::step::Step;

/// Where the hosts of a run come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// A fixed list (the env's `hosts`, or `-H`).
    Hosts(Vec<String>),
    /// A local LXC container, started (or cloned) when the run begins.
    Lxc { name: String, force_new: bool },
}

/// A resolved command line.
#[derive(Debug, Clone)]
pub struct Plan {
    pub env: Env,
    /// Whether any call needs the env's hosts up (an LXC env's container started).
    pub activation: bool,
    pub targets: Targets,
    pub steps: Vec<Step>,
    pub project_dir: PathBuf,
}

/// Options from the command line that change the plan.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub hosts: Option<Vec<String>>,
    pub user: Option<String>,
    /// The shell command after `--` (its words joined by spaces, as Fabric 1 joins them), run
    /// on every host of the env after the tasks; the env's host keywords and `sudo=yes` apply
    /// to it.
    pub adhoc: Option<String>,
    /// `--json`: tasks that can print JSON do (`facts`).
    pub json: bool,
    /// How far values from outside the project are read (`-n` runs no `from_command` unless
    /// `--run-secret-commands`; `-l` reads none).
    pub secrets: Reading,
}

/// The keywords an ad-hoc command takes on the env (`production:roles=web -- cmd`).
const ADHOC_KEYWORDS: &[&str] = &["host", "hosts", "role", "roles", "exclude_hosts", "sudo"];

/// The env `name` as every task sees it: activated, its external values read as far as `how`
/// allows, and its inventory (if it names one) made its hosts and roles. `dfab serve` shows
/// envs through this too. Errors name the key.
pub fn activate(project: &Project, name: &str, how: Reading) -> Result<Env> {
    let mut env = project.activate(name)?;
    crate::environments::external::resolve(&mut env, how)?;
    let inventory_dir = env
        .str("local_dir")
        .map_or_else(|| project.dir(), |d| project.dir().join(d));
    crate::inventory::apply(&mut env, &inventory_dir)?;
    Ok(env)
}

/// Build the plan for `env_call` (the env, with Fabric-style args) and `calls`.
pub fn resolve(
    project: &Project,
    env_call: &TaskCall,
    calls: &[TaskCall],
    o: &Overrides,
) -> Result<Plan> {
    let mut env = activate(project, &env_call.name, o.secrets)?;
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
    // With `--`, the env's host keywords and `sudo` belong to the command.
    let (env_call, adhoc_call) = if o.adhoc.is_none() {
        (env_call.clone(), None)
    } else {
        let (kw, rest): (Vec<_>, Vec<_>) = env_call
            .kwargs
            .iter()
            .cloned()
            .partition(|(k, _)| ADHOC_KEYWORDS.contains(&k.as_str()));
        let env_only = TaskCall {
            kwargs: rest,
            ..env_call.clone()
        };
        let adhoc = TaskCall {
            name: ADHOC_TASK.to_string(),
            // The command, for messages that name it (see [`what`]).
            args: o.adhoc.iter().cloned().collect(),
            kwargs: kw,
        };
        (env_only, Some(adhoc))
    };
    let env_call = &env_call;
    let targets = targets(&env, env_call, o)?;
    let all_hosts = match &targets {
        Targets::Hosts(h) => h.clone(),
        Targets::Lxc { name, .. } => vec![name.clone()],
    };
    let project_dir = env
        .str("local_dir")
        .map_or_else(|| project.dir(), |d| project.dir().join(d));
    let roles = Roles::from_env(&env);
    let mut r = Resolver {
        project,
        targets: &targets,
        activation: false,
        env: &env,
        roles: &roles,
        user_tasks: &user_tasks,
        all_hosts: &all_hosts,
        hosts_given: o.hosts.is_some(),
        project_dir: &project_dir,
        steps: Vec::new(),
        stack: Vec::new(),
        built: None,
        json: o.json,
    };
    for call in calls {
        r.call(call)?;
    }
    if let (Some(command), Some(call)) = (&o.adhoc, &adhoc_call) {
        r.adhoc(call, command)?;
    }
    let steps = r.steps;
    let activation = r.activation;
    Ok(Plan {
        env,
        activation,
        targets,
        steps,
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
        if let Some(h) = o.hosts.as_ref().filter(|h| h.iter().any(|h| h != name)) {
            return Err(not_the_container(
                &format!("`-H {}`", h.join(",")),
                &env.name,
                name,
                &format!("drop -H, or pass `-H {name}`"),
            ));
        }
        return Ok(Targets::Lxc {
            name: name.to_string(),
            force_new: env_call.flag("force_new")?,
        });
    }
    if let Some((k, _)) = env_call.kwargs.first() {
        return Err(Error::usage(
            format!("environment `{}` takes no argument `{k}`", env.name),
            ADHOC_KEYWORDS.contains(&k.as_str()).then(|| {
                format!(
                    "`{k}=` on the env picks the hosts of a command after `--`: `dfab {}:{k}=... -- uname -a`; a task takes it as `task:{k}=...`",
                    env.name
                )
            }),
        ));
    }
    if let Some(h) = &o.hosts {
        return Ok(Targets::Hosts(h.clone()));
    }
    Ok(Targets::Hosts(env.str_list("hosts")))
}

struct Resolver<'a> {
    project: &'a Project,
    targets: &'a Targets,
    activation: bool,
    env: &'a Env,
    roles: &'a Roles,
    user_tasks: &'a [UserTask],
    all_hosts: &'a [String],
    /// `-H` was given: it limits every step's hosts (a role's too); a task's own host keywords
    /// (`task:host=…`) still name exactly theirs, as in Fabric.
    hosts_given: bool,
    project_dir: &'a PathBuf,
    steps: Vec<Step>,
    stack: Vec<String>,
    /// An earlier call of this plan builds the packages (`deb.build`).
    built: Option<crate::deploy::PlannedBuild>,
    /// `--json` (see [`Overrides::json`]).
    json: bool,
}

impl Resolver<'_> {
    /// The command after `--` (Fabric 1's ad-hoc command): one `run` (or, with `sudo=yes`, a
    /// `sudo`) on every host of the env, or on those its host keywords name, shown and
    /// prefixed as a user's own command; on a protected env it asks first (`-y` answers).
    fn adhoc(&mut self, call: &TaskCall, command: &str) -> Result<()> {
        let (rest, sel) = self.host_keywords(call)?;
        let sudo = rest.flag("sudo")?;
        let name = what(call);
        let hosts = sel.unwrap_or_else(|| self.all_hosts.to_vec());
        if hosts.is_empty() {
            return Err(self.env.key_error(
                "hosts",
                format!(
                    "environment `{}` has no hosts to run `{command}` on",
                    self.env.name
                ),
                Some("set `hosts` in the env or `__all__`, or pass -H host1,host2".into()),
            ));
        }
        let protection = crate::settings::Protection::of(self.env);
        if protection.is_protected() {
            self.steps.push(Step::Confirm {
                task: name.clone(),
                question: format!(
                    "run `{command}`{} on {} of {} ({})?",
                    if sudo { " as root" } else { "" },
                    match hosts.len() {
                        1 => hosts[0].clone(),
                        n => format!("{n} hosts"),
                    },
                    self.env.name,
                    protection.reason()
                ),
            });
        }
        let cmd = Cmd::shell(command);
        self.activation = true;
        self.steps.push(Step::Run {
            task: name,
            hosts,
            cmd: if sudo { cmd.sudo(None) } else { cmd },
            warn_only: false,
            builtin: None,
        });
        Ok(())
    }

    fn call(&mut self, call: &TaskCall) -> Result<()> {
        let (call, sel) = self.host_keywords(call)?;
        let call = &call;
        // A project task replaces the built-in of its name; `dfab.<name>` is always the built-in.
        let user = (!call.name.starts_with("dfab."))
            .then(|| self.user_tasks.iter().find(|t| t.name == call.name))
            .flatten();
        let Some(task) = user else {
            if let Some(b) = registry::builtin(&call.name) {
                return self.builtin(b, call, sel);
            }
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
        for (k, _) in &call.kwargs {
            if !task.params.contains(k) {
                return Err(unknown_argument(
                    &task.name,
                    k,
                    task.params.iter().map(String::as_str),
                ));
            }
        }
        self.activation = true;
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
            let hosts = match &sel {
                Some(h) => h.clone(),
                None => self.hosts_for(&step.roles, task, step.pos)?,
            };
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
                Action::Run(c) => Step::Run {
                    task: name,
                    hosts,
                    cmd: with_cd(Cmd::shell(shell(c)?), cd.clone()),
                    warn_only: step.warn_only,
                    builtin: None,
                },
                Action::Sudo { command, user } => Step::Run {
                    task: name,
                    hosts,
                    cmd: with_cd(Cmd::shell(shell(command)?), cd.clone())
                        .sudo(user.as_ref().map(|u| plain(u)).transpose()?),
                    warn_only: step.warn_only,
                    builtin: None,
                },
                Action::Local(c) => Step::Local {
                    task: name,
                    cmd: Cmd::shell(shell(c)?).cwd(local_dir.display().to_string()),
                    warn_only: step.warn_only,
                },
                Action::Put {
                    local,
                    remote,
                    sudo,
                } => Step::Put {
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
                    Step::Get {
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
            self.steps.push(item);
        }
        self.stack.pop();
        Ok(())
    }

    fn builtin(&mut self, b: &Builtin, call: &TaskCall, sel: Option<Vec<String>>) -> Result<()> {
        if call.args.len() > b.args.len() {
            return Err(Error::usage(
                format!(
                    "task `{}` takes {} positional argument(s), got {}",
                    b.name,
                    b.args.len(),
                    call.args.len()
                ),
                (!b.args.is_empty()).then(|| {
                    format!(
                        "its arguments: {}",
                        b.args.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
                    )
                }),
            ));
        }
        let mut checked = TaskCall {
            name: b.name.to_string(),
            args: Vec::new(),
            kwargs: b
                .args
                .iter()
                .zip(&call.args)
                .map(|(a, v)| (a.name.to_string(), v.clone()))
                .collect(),
        };
        for (k, v) in &call.kwargs {
            if !b.args.iter().any(|a| a.name == k) {
                return Err(unknown_argument(b.name, k, b.args.iter().map(|a| a.name)));
            }
            checked.kwargs.push((k.clone(), v.clone()));
        }
        if sel.is_none() && b.name == "manage" && !self.hosts_given {
            super::builtin::manage::check_roles(self.env, self.roles)?;
        }
        let hosts = match sel {
            Some(h) => h,
            None => self.role_hosts(b.roles, b.name)?,
        };
        let cx = PlanCtx {
            project: self.project,
            env: self.env,
            targets: self.targets,
            project_dir: self.project_dir,
            hosts,
            all_hosts: self.all_hosts,
            hosts_given: self.hosts_given,
            built: self.built.clone(),
            json: self.json,
        };
        let steps = (b.plan)(&cx, &checked)?;
        if b.name == "deb.build" {
            self.built = Some(super::builtin::deb_build::planned(
                &checked,
                self.env,
                self.project_dir,
            ));
        }
        // A call that only prints (web_mode:snippet) needs no host up; one that plans no step
        // at all (`noop`) is there for the activation its entry asks for.
        let reaches = steps.is_empty()
            || steps.iter().any(|s| match s {
                Step::Here { action, .. } => action.reaches_hosts(),
                _ => true,
            });
        self.activation |= b.activation && reaches;
        self.steps.extend(steps);
        Ok(())
    }

    /// The hosts of the `roles` the env defines, else every host (a one-host env has every
    /// role); with `-H`, only those of them that `-H` names.
    fn role_hosts(&self, roles: &[&str], task: &str) -> Result<Vec<String>> {
        let hosts = self.roles.hosts_of_defined(roles);
        if hosts.is_empty() {
            return Ok(self.all_hosts.to_vec());
        }
        self.within_h(hosts, &roles.join(", "), task)
    }

    /// `hosts` of `roles` kept to the `-H` list when one was given: a step never reaches a host
    /// `-H` left out; when `-H` names none of them, the plan is refused, naming them.
    fn within_h(&self, hosts: Vec<String>, roles: &str, task: &str) -> Result<Vec<String>> {
        if !self.hosts_given {
            return Ok(hosts);
        }
        let kept: Vec<String> = hosts
            .iter()
            .filter(|h| self.all_hosts.contains(h))
            .cloned()
            .collect();
        if kept.is_empty() {
            return Err(Error::usage(
                format!(
                    "task `{task}` runs on the hosts of role `{roles}` ({}), and -H {} names none \
                     of them",
                    hosts.join(", "),
                    self.all_hosts.join(",")
                ),
                Some(format!(
                    "add its host to -H, or name it for this task alone: `{task}:host={}`",
                    hosts[0]
                )),
            ));
        }
        Ok(kept)
    }

    /// Fabric's per-task host keywords (`host`, `hosts`, `role`, `roles`, `exclude_hosts`;
    /// lists separated by `;`): taken out of the call, they give the exact hosts it runs on.
    fn host_keywords(&self, call: &TaskCall) -> Result<(TaskCall, Option<Vec<String>>)> {
        let mut rest = call.clone();
        rest.kwargs.clear();
        let mut named: Vec<String> = Vec::new();
        let mut roles: Vec<String> = Vec::new();
        let mut exclude: Vec<String> = Vec::new();
        let mut any = false;
        let split = |v: &str| -> Vec<String> {
            v.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        for (k, v) in &call.kwargs {
            match k.as_str() {
                "host" | "hosts" => {
                    any = true;
                    named.extend(split(v));
                }
                "role" | "roles" => {
                    any = true;
                    roles.extend(split(v));
                }
                "exclude_hosts" => exclude.extend(split(v)),
                _ => rest.kwargs.push((k.clone(), v.clone())),
            }
        }
        if !any && exclude.is_empty() {
            return Ok((rest, None));
        }
        if let Targets::Lxc { name, .. } = self.targets {
            // Naming the container itself is naming the one host there is.
            if roles.is_empty() && exclude.is_empty() && named.iter().all(|h| h == name) {
                return Ok((rest, Some(vec![name.clone()])));
            }
            let written: Vec<String> = call
                .kwargs
                .iter()
                .filter(|(k, _)| {
                    matches!(
                        k.as_str(),
                        "host" | "hosts" | "role" | "roles" | "exclude_hosts"
                    )
                })
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            return Err(not_the_container(
                &format!("{}: `{}`", what(call), written.join(",")),
                &self.env.name,
                name,
                &format!(
                    "drop the host keywords, or write `{}:host={name}`",
                    call.name
                ),
            ));
        }
        let mut hosts = if any {
            Vec::new()
        } else {
            self.all_hosts.to_vec()
        };
        for h in named {
            if !hosts.contains(&h) {
                hosts.push(h);
            }
        }
        let by_role = self.roles.hosts(&roles).map_err(|e| {
            if e.known.is_empty() {
                // A built-in's default role takes every host of an env without `roledefs`
                // (README, "host keywords"); a role the user names must name hosts, as Fabric 1
                // refuses a role its `roledefs` lacks.
                return Error::usage(
                    format!(
                        "{}: `roles={}`: environment `{}` has no `roledefs`, so role `{}` names \
                         no hosts",
                        what(call),
                        roles.join(";"),
                        self.env.name,
                        e.role
                    ),
                    Some(format!(
                        "drop `roles=` to run on every host of `{}` ({}), name hosts with \
                         `hosts=`, or define {}",
                        self.env.name,
                        self.all_hosts.join(", "),
                        self.env
                            .example("roledefs", &format!("{{'{}': [...]}}", e.role))
                    )),
                );
            }
            Error::usage(
                format!(
                    "{}: role `{}` is not in the `roledefs` of environment `{}`",
                    what(call),
                    e.role,
                    self.env.name
                ),
                e.hint(),
            )
        })?;
        for h in by_role {
            if !hosts.contains(&h) {
                hosts.push(h);
            }
        }
        // A name to exclude that is no host of the env is a typo, not a no-op.
        let known = self.known_hosts();
        if let Some(bad) = exclude.iter().find(|h| !known.contains(h)) {
            return Err(Error::usage(
                format!(
                    "{}: `exclude_hosts={bad}`: `{bad}` is not a host of environment `{}`",
                    what(call),
                    self.env.name
                ),
                Some(format!(
                    "{}the hosts of `{}`: {}",
                    crate::suggestion::nearest(bad, known.iter().map(String::as_str))
                        .map_or_else(String::new, |n| format!("did you mean `{n}`? ")),
                    self.env.name,
                    known.join(", ")
                )),
            ));
        }
        hosts.retain(|h| !exclude.contains(h));
        if hosts.is_empty() {
            return Err(Error::usage(
                format!("{}: its host keywords leave no host", what(call)),
                None,
            ));
        }
        Ok((rest, Some(hosts)))
    }

    /// Every host the env names (`hosts`, `-H`, `roledefs`), each once, in order: what
    /// `exclude_hosts=` may name.
    fn known_hosts(&self) -> Vec<String> {
        let mut out: Vec<String> = self.all_hosts.to_vec();
        let own = self.env.str_list("hosts");
        let roles: Vec<String> = self
            .roles
            .names()
            .flat_map(|r| self.roles.get(r).unwrap_or_default().to_vec())
            .collect();
        for h in own.into_iter().chain(roles) {
            if !out.contains(&h) {
                out.push(h);
            }
        }
        out
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
        let hosts = self.roles.hosts(roles).map_err(|e| {
            self.step_error(
                task,
                pos,
                format!("role `{}` is not in the env's `roledefs`", e.role),
            )
            .with_hint(e.hint())
        })?;
        self.within_h(hosts, &roles.join(", "), &task.name)
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

/// The name of an ad-hoc command's call while it is planned; messages say [`what`] instead.
pub const ADHOC_TASK: &str = "--";

/// How messages, output and the summary name a call: "task `deploy`", or for an ad-hoc
/// command what the user typed: "the command `uname -a`".
fn what(call: &TaskCall) -> String {
    if call.name == ADHOC_TASK {
        format!("the command `{}`", call.args.join(" "))
    } else {
        format!("task `{}`", call.name)
    }
}

/// A keyword argument the task does not take: exit 2, naming its arguments.
fn unknown_argument<'a>(
    task: &str,
    key: &str,
    known: impl Iterator<Item = &'a str> + Clone,
) -> Error {
    let list: Vec<&str> = known.clone().collect();
    let hint = match suggestion::nearest(key, known) {
        Some(n) => Some(format!(
            "did you mean `{n}`? `{task}` takes: {}",
            list.join(", ")
        )),
        None if list.is_empty() => Some(format!("`{task}` takes no arguments")),
        None => Some(format!("`{task}` takes: {}", list.join(", "))),
    };
    Error::usage(format!("task `{task}` has no argument `{key}`"), hint)
}

/// A host choice (`-H`, a task's host keywords) that is not an LXC env's container: refused
/// before anything runs, since the run would act on the container all the same.
fn not_the_container(what: &str, env: &str, container: &str, hint: &str) -> Error {
    Error::usage(
        format!(
            "{what} does not apply to environment `{env}`: an LXC environment has one host, \
             its container `{container}`"
        ),
        Some(format!(
            "{hint}; to act on other hosts, use an environment that lists them in `hosts`"
        )),
    )
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

/// Resolve `calls` as the command line would, inside the built-in `within` (so it cannot call
/// itself): each call's steps, in order. The wrapped `deploy` plans its sequence with this.
pub(crate) fn resolve_calls(
    cx: &PlanCtx<'_>,
    within: &str,
    calls: &[TaskCall],
) -> Result<Vec<Vec<Step>>> {
    let user_tasks = match &cx.project.tasks {
        Some(v) => parse_tasks(&cx.project.file, v)?,
        None => Vec::new(),
    };
    let project_dir = cx.project_dir.to_path_buf();
    let roles = Roles::from_env(cx.env);
    let mut out = Vec::new();
    let mut built = cx.built.clone();
    for call in calls {
        let base = call.name.strip_prefix("dfab.").unwrap_or(&call.name);
        if base == within && !user_tasks.iter().any(|t| t.name == call.name) {
            return Err(Error::usage(
                format!("task `{within}` cannot call itself"),
                None,
            ));
        }
        let mut r = Resolver {
            project: cx.project,
            targets: cx.targets,
            activation: false,
            env: cx.env,
            roles: &roles,
            user_tasks: &user_tasks,
            all_hosts: cx.all_hosts,
            hosts_given: cx.hosts_given,
            project_dir: &project_dir,
            steps: Vec::new(),
            stack: vec![within.to_string()],
            built,
            json: cx.json,
        };
        r.call(call)?;
        built = r.built;
        out.push(r.steps);
    }
    Ok(out)
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
