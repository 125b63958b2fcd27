//! `deploy`: the env's sequence planned task by task into the stages of a [`Pipeline`], with
//! its lock, journal, maintenance and strategy settings; `deploy:resume=yes`,
//! `deploy:revert=yes`.

use std::cell::Cell;
use std::sync::Arc;

use crate::deploy::fleet::Deploy;
use crate::error::{Error, Result};
use crate::invocation::TaskCall;
use crate::pipeline::{journal, settings, Kind, Maintenance, Mode, Pipeline, Stage};
use crate::settings::App;
use crate::tasks::plan;
use crate::transport::cmd::Cmd;
use crate::web_mode;

use super::{PlanCtx, Step};

thread_local! {
    static PLANNING: Cell<bool> = const { Cell::new(false) };
}

/// Whether a `deploy` is planning its sequence (its tasks plan for a deploy).
#[must_use]
pub fn planning() -> bool {
    PLANNING.with(Cell::get)
}

/// Plan the whole deploy.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    if crate::settings::InstallMode::from_env(cx.env)?
        .release()
        .is_some()
    {
        // Release mode's deb.deploy migrates, switches, restarts and checks health itself; the
        // wrapped sequence (journal, resume, revert by reinstall) is dpkg mode's.
        return Err(Error::usage(
            format!(
                "`deploy` is not available in release mode yet (env `{}` sets install_mode = 'release')",
                cx.env.name
            ),
            Some(format!(
                "run `dfab {} deb.build deb.deploy`: in release mode it migrates, switches `current`, restarts and waits for health",
                cx.env.name
            )),
        ));
    }
    if PLANNING.with(Cell::get) {
        return Err(Error::usage(
            "`deploy` cannot run inside its own sequence (a task of `deploy = [...]` calls it)",
            None,
        ));
    }
    let (resume, revert, force) = (
        call.flag("resume")?,
        call.flag("revert")?,
        call.flag("force")?,
    );
    let mode = match (resume, revert) {
        (true, true) => {
            return Err(Error::usage(
                "deploy: `resume=yes` and `revert=yes` exclude each other",
                None,
            ))
        }
        (true, false) => Mode::Resume { force },
        (false, true) => Mode::Revert,
        // `force=yes` on a fresh deploy overrides git safety only (see below).
        (false, false) => Mode::Fresh,
    };
    let env = cx.env;
    // Git safety (a revert ships nothing new): `force=yes` lets a protected env's deploy go
    // from a dirty tree, another branch, or a branch behind its upstream, said first.
    let note = if mode == Mode::Revert {
        Vec::new()
    } else {
        super::deb_deploy::git_safety(cx, &call.name, force)?
    };
    let settings = settings::read(env)?;
    let calls: Vec<TaskCall> = settings.sequence.iter().map(|(_, c)| c.clone()).collect();
    PLANNING.with(|p| p.set(true));
    let planned = plan::resolve_calls(cx, "deploy", &calls);
    PLANNING.with(|p| p.set(false));
    let planned = planned?;
    let users: Vec<String> = plan::user_tasks(cx.project)?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let mut stages = Vec::new();
    for ((word, call), steps) in settings.sequence.iter().zip(planned) {
        let user = !call.name.starts_with("dfab.") && users.contains(&call.name);
        let kind = match Kind::of(call, user) {
            Kind::Other
                if ["db_migrate", "migrate", "database.migrate"].contains(&call.name.as_str()) =>
            {
                Kind::Migrate
            }
            k => k,
        };
        let mut hosts: Vec<String> = Vec::new();
        for h in steps.iter().filter_map(Step::hosts).flatten() {
            if !hosts.contains(h) {
                hosts.push(h.clone());
            }
        }
        stages.push(Stage {
            word: word.clone(),
            call: call.clone(),
            kind,
            steps,
            hosts,
        });
    }
    // `deb.deploy` is one fleet step whose release the pipeline loads before maintenance.
    let mut deploy = None;
    let mut built = None;
    for s in &mut stages {
        if s.kind == Kind::Build {
            built = Some(super::deb_build::planned(&s.call, cx.env, cx.project_dir));
        }
        if s.kind != Kind::Install {
            continue;
        }
        let mut job = super::deb_deploy::job_for(cx, &s.call)?;
        // A build stage before it: under `-n` what it makes is what ships.
        job.after_build.clone_from(&built);
        let d = Arc::new(Deploy::new(job));
        s.steps = vec![Step::Fleet {
            task: s.call.name.clone(),
            hosts: s.hosts.clone(),
            action: d.clone(),
        }];
        deploy.get_or_insert(d);
    }
    let job = deploy.as_ref().map(|d| d.job.clone());
    let install = stages.iter().find(|s| s.kind == Kind::Install);
    let mut hosts: Vec<String> = Vec::new();
    for h in stages.iter().flat_map(|s| s.hosts.iter()) {
        if !hosts.contains(h) {
            hosts.push(h.clone());
        }
    }
    if hosts.is_empty() {
        hosts = cx.all_hosts.to_vec();
    }
    let rolling_hosts = install.map_or_else(|| hosts.clone(), |s| s.hosts.clone());
    let migrate_check = match settings.maintenance {
        Maintenance::Auto => stages
            .iter()
            .find(|s| s.kind == Kind::Migrate)
            .and_then(|s| s.hosts.first().cloned())
            .map(|h| Ok::<_, Error>((migrate_check(cx)?, h)))
            .transpose()?,
        _ => None,
    };
    let health = match super::web_restart::health(cx, call)? {
        Some(Step::Run { cmd, .. }) => Some(cmd),
        _ => None,
    };
    let live = if stages
        .iter()
        .any(|s| matches!(s.kind, Kind::MaintenanceOn | Kind::Live))
    {
        Some(web_mode::switch::live(&web_mode::WebSettings::from_env(
            env,
        )?))
    } else {
        None
    };
    let left_out = env
        .str_list("hosts")
        .into_iter()
        .filter(|h| !cx.all_hosts.contains(h))
        .collect();
    let pipeline = Pipeline {
        env: env.name.clone(),
        lock_package: lock_package(cx)?,
        settings,
        mode,
        stages,
        hosts,
        rolling_hosts,
        job,
        deploy,
        journal: journal::path(cx.project_dir, &env.name),
        migrate_check,
        health,
        live,
        lxc: matches!(cx.targets, plan::Targets::Lxc { .. }),
        all_hosts: cx.all_hosts.to_vec(),
        left_out,
    };
    let mut steps = note;
    steps.push(Step::Here {
        task: call.name.clone(),
        action: Arc::new(pipeline),
    });
    Ok(steps)
}

/// `migrate_check_command`, or Django's `migrate --check` in the app's venv as the app user.
fn migrate_check(cx: &PlanCtx<'_>) -> Result<Cmd> {
    let env = cx.env;
    if let Some(c) = env.str("migrate_check_command") {
        return Ok(Cmd::shell(crate::settings::text::shell(
            env,
            "migrate_check_command",
            c,
        )?));
    }
    App::from_env(env)?
        .manage(env, &["migrate", "--check"])?
        .ok_or_else(|| {
            env.key_error(
                "migrate_check_command",
                "maintenance = 'auto' needs a migration check: no `migrate_check_command`, and no `package_name` for Django's default",
                Some(format!(
                    "set migrate_check_command (exit 0: nothing pending, 1: pending), or {}",
                    env.example("maintenance", "'always'")
                )),
            )
        })
}

/// The package whose deploy lock is taken: `package_name`, else the first of `deploy_packages`,
/// else the first of the build record, else the first of debian/control.
pub fn lock_package(cx: &PlanCtx<'_>) -> Result<String> {
    let env = cx.env;
    let name = App::from_env(env)?
        .package
        .or_else(|| {
            let job = super::deb_deploy::job(cx, false).ok()?;
            job.select.names().into_iter().next().or_else(|| {
                crate::deploy::record::package_names(&job.package_dir)?
                    .into_iter()
                    .next()
            })
        })
        .or_else(|| {
            let text = fs_err::read_to_string(cx.project_dir.join("debian/control")).ok()?;
            text.lines()
                .find_map(|l| l.strip_prefix("Package:"))
                .map(|p| p.trim().to_string())
        });
    let Some(name) = name else {
        return Err(env.key_error(
            "package_name",
            "which package's deploy lock? no `package_name`, `deploy_packages`, build record or debian/control",
            Some(format!("set {}", env.example("package_name", "'myapp'"))),
        ));
    };
    crate::releases::check_package_name(&name)
        .map_err(|e| env.key_error("package_name", e.to_string(), e.hint()))?;
    Ok(name)
}
