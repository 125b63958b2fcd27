//! `database.dump`, `database.push`, `database.force_push`, `database.migrate`/`db_migrate` and
//! `db_clone`: glue from the env and the call to the `database` module's work.

use std::path::PathBuf;
use std::sync::Arc;

use crate::database::clone::{self, Source};
use crate::database::identity::{self, Identity};
use crate::database::lock::{self, Mode};
use crate::database::push::Push;
use crate::database::Role;
use crate::database::{dump, migrate, DbError, DbTarget};
use crate::environments::Env;
use crate::error::{Error, Result};
use crate::exec::step::{HostAction, RunCtx};
use crate::invocation::TaskCall;
use crate::settings::{App, Protection};
use crate::transport::Transport;

use super::{PlanCtx, Step};

fn target(cx: &PlanCtx<'_>) -> Result<DbTarget> {
    DbTarget::from_env(cx.env, cx.hosts.first().map(String::as_str))
}

fn host_step(call: &TaskCall, host: &str, action: Arc<dyn HostAction>) -> Vec<Step> {
    vec![Step::Host {
        task: call.name.clone(),
        hosts: vec![host.to_string()],
        action,
        warn_only: false,
    }]
}

/// `database.dump`: stream the env's database into `dumps/<env>.dump`.
pub fn plan_dump(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let db = target(cx)?;
    let dest = dump::local_path(cx.project_dir, &cx.env.name);
    let host = db.host.clone();
    let task = call.name.clone();
    Ok(host_step(
        call,
        &host,
        Arc::new(DumpAction { task, db, dest }),
    ))
}

#[derive(Debug)]
struct DumpAction {
    task: String,
    db: DbTarget,
    dest: PathBuf,
}

impl HostAction for DumpAction {
    fn run(&self, host: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let shown = crate::fsutil::shown(&self.dest, cx.project_dir);
        let mut lock_t = lock_connection(host, &self.db, cx)?;
        let mut ran = false;
        let dumped = lock::holding(
            lock_t.as_mut(),
            &self.db,
            Mode::Read,
            &self.task,
            cx.rep,
            || {
                ran = true;
                dump::run(host, &self.db, &self.dest, cx.project_dir, cx.rep)
            },
        );
        if dumped.is_err() && !ran {
            // Refused by the lock (or its session failed): the dump says what it keeps.
            let shown = dump::unchanged(&self.db.host, &self.dest, cx.project_dir);
            cx.rep.warn(&shown);
        }
        let dumped = dumped?;
        Ok(match dumped {
            Some(d) => format!("dumped `{}` into {shown}: {}", self.db.name, d.contents()),
            None => format!("would dump `{}` into {shown}", self.db.name),
        })
    }
}

/// A second connection to the host `host` reaches (the engine's address for an LXC env), for
/// the lock session that lives as long as the operation.
fn lock_connection(
    host: &dyn Transport,
    db: &DbTarget,
    cx: &RunCtx<'_>,
) -> Result<Box<dyn Transport>> {
    let addr = match (cx.env.str("lxc"), cx.addresses.first()) {
        (Some(_), Some(a)) => a.clone(),
        _ => db.host.clone(),
    };
    cx.connector.connect(&addr, host.host(), cx.env)
}

/// Before a write into this env's database: ask its server who it is, refuse when it is the
/// copy's source (`known[0]`, when `source`) or a protected env's database (`known`: envs
/// already asked, with their answers).
fn check_target(
    task: &str,
    db: &DbTarget,
    host: &mut dyn Transport,
    known: &[(String, Option<Identity>)],
    source: bool,
    unverified: bool,
    cx: &RunCtx<'_>,
) -> Result<()> {
    let target = identity::read_identity(host, db, Role::Admin, cx.rep)?;
    if let Some(t) = &target {
        if cx.rep.verbose() {
            cx.rep
                .info(&format!("[{}] {task}: the target is {t}", host.host()));
        }
    }
    if let (true, Some((env, Some(s))), Some(t)) = (source, known.first(), &target) {
        if s.same(t) {
            return Err(DbError::SameDatabase {
                task: task.to_string(),
                source_env: env.clone(),
                target_env: cx.env.name.clone(),
                identity: t.to_string(),
            }
            .into());
        }
    }
    identity::refuse_protected(
        task,
        cx.project,
        cx.env,
        target.as_ref(),
        known,
        cx.connector,
        cx.rep,
        unverified,
    )
}

/// `push` refuses `production` and `protected = True`; `force_push` asks instead.
fn guard(env: &Env, task: &str) -> Result<()> {
    let protection = Protection::of(env);
    if protection.is_protected() {
        return Err(Error::usage(
            format!(
                "{task} refuses to replace the database of env `{}`: {}",
                env.name,
                protection.reason()
            ),
            Some(format!(
                "to replace it anyway: `dfab {} database.force_push` (asks for confirmation; -y answers)",
                env.name
            )),
        ));
    }
    Ok(())
}

fn push_settings(cx: &PlanCtx<'_>, db: DbTarget, keep_remote: bool) -> Result<Push> {
    let env = cx.env;
    let jobs = match env.vars.get("db_restore_jobs") {
        None => 2,
        Some(v) => v
            .to_plain_string()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                env.key_error(
                    "db_restore_jobs",
                    "not a positive number",
                    Some(format!(
                        "for example {}",
                        env.example("db_restore_jobs", "4")
                    )),
                )
            })?,
    };
    let sanitize = match env.vars.get("db_sanitize") {
        None => None,
        Some(v) if v.as_seq().is_some() => Some(env.str_list("db_sanitize").iter().fold(
            String::new(),
            |mut acc, s| {
                acc.push_str(s.trim().trim_end_matches(';'));
                acc.push_str(";\n");
                acc
            },
        )),
        Some(v) => match v.as_str() {
            Some(f) if f.to_ascii_lowercase().ends_with(".sql") => {
                let p = cx.project_dir.join(f);
                Some(fs_err::read_to_string(&p).map_err(|e| {
                    env.key_error(
                        "db_sanitize",
                        format!("cannot read {}: {e}", p.display()),
                        None,
                    )
                })?)
            }
            _ => {
                return Err(env.key_error(
                    "db_sanitize",
                    "expected a list of SQL statements or a `.sql` file",
                    Some(format!(
                        "for example {}",
                        env.example(
                            "db_sanitize",
                            "[\"UPDATE auth_user SET email = id || '@example.com'\"]"
                        )
                    )),
                ))
            }
        },
    };
    Ok(Push::new(db, jobs, sanitize, keep_remote))
}

fn clone_from(env: &Env) -> String {
    env.str("db_clone_from")
        .filter(|s| !s.is_empty())
        .unwrap_or("production")
        .to_string()
}

/// `database.push` and `database.force_push`.
pub fn plan_push(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let force = call.name.ends_with("force_push");
    if !force {
        guard(cx.env, &call.name)?;
    }
    let mut source = None;
    let file = match (call.kwarg("file"), call.kwarg("from")) {
        (Some(_), Some(_)) => {
            return Err(Error::usage(
                format!("{}: give `file` or `from`, not both", call.name),
                None,
            ))
        }
        (Some(f), None) => cx.project_dir.join(f),
        (None, from) => {
            let from = from.map_or_else(|| clone_from(cx.env), String::from);
            let path = dump::local_path(cx.project_dir, &from);
            source = Some(from);
            path
        }
    };
    if !file.is_file() {
        return Err(Error::usage(
            format!("{}: no dump at {}", call.name, file.display()),
            Some(match source {
                Some(from) => {
                    format!("dump one first: `dfab {from} database.dump` (or pass file=PATH)")
                }
                None => "pass `file=` the path of a dump (`database.dump` writes one)".into(),
            }),
        ));
    }
    let db = target(cx)?;
    let push = push_settings(cx, db, true)?;
    let host = push.db.host.clone();
    let mut steps = Vec::new();
    if force {
        steps.push(Step::Confirm {
            task: call.name.clone(),
            question: format!(
                "Replace database `{}` of env `{}` on {} with {}?",
                push.db.name,
                push.db.env,
                push.db.host,
                file.display()
            ),
        });
    }
    let task = call.name.clone();
    steps.extend(host_step(
        call,
        &host,
        Arc::new(PushAction {
            task,
            push,
            file,
            unverified: call.flag("unverified")?,
        }),
    ));
    Ok(steps)
}

#[derive(Debug)]
struct PushAction {
    task: String,
    push: Push,
    file: PathBuf,
    /// `unverified=yes`: a protected env whose server cannot be asked is a warning.
    unverified: bool,
}

impl HostAction for PushAction {
    fn run(&self, host: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let push = self.push.for_run(host.recording());
        let mut lock_t = lock_connection(host, &push.db, cx)?;
        lock::holding(
            lock_t.as_mut(),
            &push.db,
            Mode::Write,
            &self.task,
            cx.rep,
            || {
                check_target(&self.task, &push.db, host, &[], false, self.unverified, cx)?;
                crate::database::push_file(&push, &self.file, cx.project_dir, host, cx.rep)
            },
        )?;
        Ok(swapped(host, &push))
    }
}

/// The step's line after a push or clone.
fn swapped(host: &dyn Transport, push: &Push) -> String {
    if host.recording() {
        format!("would replace database `{}`", push.db.name)
    } else {
        format!("replaced database `{}`", push.db.name)
    }
}

/// `database.migrate` / `db_migrate`: one command on the first db host, output streamed.
pub fn plan_migrate(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let cmd = migrate::command(cx.env, &App::from_env(cx.env)?)?;
    let Some(host) = cx.hosts.first() else {
        return Err(cx.env.key_error(
            "hosts",
            format!("environment `{}` has no hosts", cx.env.name),
            None,
        ));
    };
    Ok(vec![Step::Run {
        task: call.name.clone(),
        hosts: vec![host.clone()],
        cmd,
        warn_only: false,
        builtin: Some("run the migrations".into()),
    }])
}

/// `db_clone[:keep=yes][:cached=yes]`: `db_clone_from`'s database into this env.
pub fn plan_clone(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    guard(cx.env, &call.name)?;
    let from = clone_from(cx.env);
    let db = target(cx)?;
    let (keep, cached) = (call.flag("keep")?, call.flag("cached")?);
    let source = if cached {
        let file = dump::local_path(cx.project_dir, &from);
        if !file.is_file() {
            return Err(Error::usage(
                format!(
                    "db_clone:cached=yes: no dump of `{from}` at {}",
                    file.display()
                ),
                Some(format!(
                    "run `dfab {from} database.dump` first, or drop cached=yes"
                )),
            ));
        }
        Source::Cached(file)
    } else {
        if from == cx.env.name {
            return Err(Error::usage(
                format!("db_clone: env `{from}` cannot be cloned into itself"),
                Some("set `db_clone_from` to another env".into()),
            ));
        }
        let (env, src) = clone::source_target(cx.project, &from)?;
        if src.same_settings(&db) {
            return Err(Error::usage(
                format!(
                    "db_clone: `{from}` and `{}` are the same database (`{}` on {})",
                    cx.env.name, db.name, db.host
                ),
                Some("point `db_name`, `db_host` or the hosts of one env elsewhere".into()),
            ));
        }
        let keep = keep.then(|| dump::local_path(cx.project_dir, &from));
        Source::Live {
            env: Box::new(env),
            db: src,
            keep,
        }
    };
    let push = push_settings(cx, db, false)?;
    let host = push.db.host.clone();
    let task = call.name.clone();
    Ok(host_step(
        call,
        &host,
        Arc::new(CloneAction {
            task,
            source,
            push,
            unverified: call.flag("unverified")?,
        }),
    ))
}

#[derive(Debug)]
struct CloneAction {
    task: String,
    source: Source,
    push: Push,
    /// `unverified=yes`: a protected env whose server cannot be asked is a warning.
    unverified: bool,
}

impl HostAction for CloneAction {
    fn run(&self, host: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let push = self.push.for_run(host.recording());
        let mut lock_t = lock_connection(host, &push.db, cx)?;
        let task = self.task.as_str();
        lock::holding(lock_t.as_mut(), &push.db, Mode::Write, task, cx.rep, || {
            let Source::Live { env, db, .. } = &self.source else {
                check_target(task, &push.db, host, &[], false, self.unverified, cx)?;
                return clone::run(
                    &self.source,
                    &push,
                    host,
                    cx.connector,
                    cx.project_dir,
                    cx.rep,
                );
            };
            // The source's server, asked with the source env's settings, before any write.
            let mut src = cx.connector.connect_env(env, &db.host, cx.rep)?;
            let source = identity::read_identity(src.as_mut(), db, Role::Owner, cx.rep)?;
            let known = [(env.name.clone(), source.clone())];
            check_target(task, &push.db, host, &known, true, self.unverified, cx)?;
            // The source is read while it is copied: no push into it meanwhile.
            lock::holding(src.as_mut(), db, Mode::Read, task, cx.rep, || {
                clone::run(
                    &self.source,
                    &push,
                    host,
                    cx.connector,
                    cx.project_dir,
                    cx.rep,
                )
            })
        })?;
        Ok(swapped(host, &push))
    }
}
