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
    // It judges the build that ships: the one a build stage of this fresh deploy makes (the
    // work tree now), else the build record.
    let settings = settings::read(env)?;
    let note = if mode == Mode::Revert {
        Vec::new()
    } else {
        let builds = cx.built.is_some()
            || (mode == Mode::Fresh
                && settings
                    .sequence
                    .iter()
                    .any(|(_, c)| Kind::of(c, false) == Kind::Build));
        super::deb_deploy::git_safety(cx, &call.name, force, builds)?
    };
    if matches!(
        settings.strategy,
        settings::Strategy::Bluegreen | settings::Strategy::Serial
    ) {
        let mut steps = note;
        steps.extend(super::lxc_fleet::plan_deploy(cx, call, &settings)?);
        return Ok(steps);
    }
    let instance = super::release_mode::instance(cx)?;
    if instance.is_some() {
        release_mode_checks(cx, &settings, &mode)?;
    }
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
    let mut release_deploy = None;
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
        if let Some(inst) = &instance {
            // Release mode: the release install (prepare, migrate with the new code, switch,
            // restart, health) is the stage's one fleet step, run as any other step.
            let resume = matches!(mode, Mode::Resume { .. });
            let d = super::release_mode::deploy_job(inst.clone(), job, resume);
            s.steps = vec![Step::Fleet {
                task: s.call.name.clone(),
                hosts: s.hosts.clone(),
                action: d.clone(),
            }];
            release_deploy.get_or_insert(d);
            continue;
        }
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
        release_mode: instance.is_some(),
        settings,
        mode,
        stages,
        hosts,
        rolling_hosts,
        job,
        deploy,
        release_deploy,
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

/// What the wrapped deploy does not do in release mode, refused before anything runs: its
/// revert reinstalls through dpkg (release mode's is `rollback`, one switch), and
/// `maintenance = 'auto'` would ask the live release, not the new one, for pending migrations.
fn release_mode_checks(cx: &PlanCtx<'_>, s: &settings::Settings, mode: &Mode) -> Result<()> {
    let env = cx.env;
    let rollback = format!(
        "`dfab {} rollback` switches `current` back in release mode (no reinstall)",
        env.name
    );
    if *mode == Mode::Revert {
        return Err(Error::usage(
            "deploy: `revert=yes` reinstalls through dpkg; this env installs in release mode",
            Some(rollback),
        ));
    }
    if s.on_failure == settings::OnFailure::Revert {
        return Err(env.key_error(
            "on_failure",
            "'revert' reinstalls through dpkg; this env installs in release mode (install_mode = 'release'), where a failed release never becomes current",
            Some(format!("drop it or set 'stop'; {rollback}")),
        ));
    }
    if s.maintenance == settings::Maintenance::Auto {
        return Err(env.key_error(
            "maintenance",
            "'auto' is not available in release mode: its check would ask the live release, not the new one, whether migrations are pending",
            Some("'always' (maintenance around the release install) or 'never' (migrations run in the new release before the switch)".into()),
        ));
    }
    Ok(())
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
///
/// In release mode the lock is the instance's: the key is its `releases_root` (see
/// [`crate::pipeline::lock::lock_path`]).
pub fn lock_package(cx: &PlanCtx<'_>) -> Result<String> {
    let env = cx.env;
    if let Some(rm) = crate::settings::InstallMode::from_env(env)?.release() {
        return Ok(rm.root.clone());
    }
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
