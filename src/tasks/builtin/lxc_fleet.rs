//! `lxc.bake`, `fleet.create`, `fleet.status`, `fleet.suspend`, `fleet.resume`,
//! `fleet.destroy`, and a fleet env's `deploy` (`deploy_strategy = 'bluegreen'` or `'serial'`)
//! and `rollback`: the settings read and checked here, the work done by `lxc_fleet` on this
//! machine.

use std::sync::Arc;

use crate::deploy::Job;
use crate::environments::Env;
use crate::error::Result;
use crate::exec::step::{LocalAction, RunCtx};
use crate::invocation::TaskCall;
use crate::lxc::{self, LxcSpec};
use crate::lxc_fleet::deploy::Migrations;
use crate::lxc_fleet::settings::Balancer;
use crate::lxc_fleet::state::FleetState;
use crate::lxc_fleet::{deploy, lifecycle, Fleet, FleetSettings};
use crate::pipeline::settings::{Settings, Strategy};
use crate::tasks::plan;

use super::{PlanCtx, Step};

/// What a fleet step does.
#[derive(Debug, Clone)]
enum Op {
    Bake,
    Create(Migrations),
    Status,
    Suspend(Option<String>),
    Resume,
    Destroy { bakes: bool },
    Bluegreen(Migrations),
    Serial,
    Rollback,
}

/// One fleet task, its settings checked when planned.
#[derive(Debug)]
struct FleetTask {
    fs: FleetSettings,
    /// The build to bake (`lxc.bake` and the deploys).
    job: Option<Job>,
    op: Op,
    /// Said first when it runs (the sequence's tasks a fleet deploy leaves to the bake).
    note: Option<String>,
}

impl LocalAction for FleetTask {
    fn reaches_hosts(&self) -> bool {
        false
    }

    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        if let Some(note) = &self.note {
            cx.rep.info(note);
        }
        let change = !matches!(self.op, Op::Status);
        let mut f = Fleet::open(self.fs.clone(), change)?;
        let job = || self.job.as_ref().expect("planned with a job");
        match &self.op {
            Op::Bake => {
                f.check_not_suspended()?;
                crate::lxc_fleet::bake::bake(&f.fs, job(), cx, &*f.backend, &mut f.state).map(drop)
            }
            Op::Create(m) => lifecycle::create(&mut f, cx, m),
            Op::Status => lifecycle::status(&f, cx),
            Op::Suspend(reason) => lifecycle::suspend(&mut f, cx, reason.clone()),
            Op::Resume => lifecycle::resume(&mut f, cx),
            Op::Destroy { bakes } => lifecycle::destroy(&mut f, cx, *bakes),
            Op::Bluegreen(m) => deploy::bluegreen(&mut f, cx, job(), m),
            Op::Serial => deploy::serial(&mut f, cx, job()),
            Op::Rollback => deploy::rollback(&mut f, cx),
        }
    }
}

fn step(
    cx: &PlanCtx<'_>,
    call: &TaskCall,
    op: Op,
    with_job: bool,
    note: Option<String>,
) -> Result<Step> {
    let fs = FleetSettings::from_env(cx.env, cx.project_dir)?;
    // A suspended fleet, or a deploy to a fleet with no members, refuses before anything runs
    // (a deploy's build included).
    if !matches!(op, Op::Status | Op::Suspend(_) | Op::Resume) {
        let state = FleetState::load(&fs.state_file())?;
        state.check_not_suspended(&fs.env)?;
        if matches!(op, Op::Bluegreen(_) | Op::Serial) && state.live.is_empty() {
            return Err(crate::lxc_fleet::FleetError::NoFleet {
                env: fs.env.clone(),
            }
            .into());
        }
    }
    check_containers(cx.env, &fs, &op)?;
    let job = if with_job {
        Some(super::deb_deploy::job(cx, false)?)
    } else {
        None
    };
    Ok(Step::Here {
        task: call.name.clone(),
        action: Arc::new(FleetTask { fs, job, op, note }),
    })
}

/// Refuse, before anything runs, a fleet task whose containers cannot be made: the template a
/// bake is cloned from (`lxc_template`; a bake and a deploy need it), or a balancer container
/// that does not exist with no template to clone it from (`fleet['balancer']`; the tasks that
/// bring the balancer up need it). When the containers cannot be asked (not root here, an
/// `lxc_host` ssh cannot reach), the task says so itself when it runs.
fn check_containers(env: &Env, fs: &FleetSettings, op: &Op) -> Result<()> {
    let bakes = matches!(op, Op::Bake | Op::Bluegreen(_) | Op::Serial);
    let balances = matches!(
        op,
        Op::Create(_) | Op::Bluegreen(_) | Op::Serial | Op::Rollback
    );
    if !bakes && !balances {
        return Ok(());
    }
    let mut spec = LxcSpec::new(&fs.template);
    spec.lxcpath.clone_from(&fs.lxcpath);
    spec.host.clone_from(&fs.lxc_host);
    spec.host_ssh_options.clone_from(&fs.lxc_host_ssh_options);
    let Ok(backend) = lxc::backend::for_spec(&spec) else {
        return Ok(());
    };
    let absent = |name: &str| matches!(backend.state(name), Ok(lxc::State::Absent));
    let build_it = format!(
        "build it once with `dfab {} lxc.template`, or set `lxc_template` to an existing container",
        env.name
    );
    if bakes && absent(&fs.template) {
        return Err(env.key_error(
            "lxc_template",
            format!(
                "LXC template {:?} does not exist (needed to bake the build of `{}`)",
                fs.template, env.name
            ),
            Some(build_it),
        ));
    }
    if let (true, Balancer::Container(b)) = (balances, &fs.balancer) {
        if absent(&b.name) && absent(&b.template) {
            return Err(env.key_error(
                "fleet",
                format!(
                    "fleet['balancer']: container {:?} does not exist, nor does LXC template {:?} \
                     to create it from",
                    b.name, b.template
                ),
                Some(format!(
                    "is {:?} mistyped? An existing container is used as it is; else {build_it}",
                    b.name
                )),
            ));
        }
    }
    Ok(())
}

/// `lxc.bake`: bake the recorded build into a versioned template.
pub fn plan_bake(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    Ok(vec![step(cx, call, Op::Bake, true, None)?])
}

/// `fleet.create`: the members from the newest bake, pending migrations run once, then the
/// balancer.
pub fn plan_create(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    Ok(vec![step(
        cx,
        call,
        Op::Create(migrations(cx)),
        false,
        None,
    )?])
}

/// The env's `migrate_check_command` and `migrate_command`.
fn migrations(cx: &PlanCtx<'_>) -> Migrations {
    Migrations {
        check: cx.env.str("migrate_check_command").map(str::to_owned),
        migrate: cx.env.str("migrate_command").map(str::to_owned),
    }
}

/// `fleet.status`.
pub fn plan_status(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    Ok(vec![step(cx, call, Op::Status, false, None)?])
}

/// `fleet.suspend[:reason=...]`.
pub fn plan_suspend(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let reason = call.kwarg("reason").map(str::to_owned);
    Ok(vec![step(cx, call, Op::Suspend(reason), false, None)?])
}

/// `fleet.resume`.
pub fn plan_resume(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    Ok(vec![step(cx, call, Op::Resume, false, None)?])
}

/// `fleet.destroy[:bakes=yes]`, after confirmation (`-y`).
pub fn plan_destroy(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let bakes = call.flag("bakes")?;
    let s = step(cx, call, Op::Destroy { bakes }, false, None)?;
    Ok(vec![
        Step::Confirm {
            task: call.name.clone(),
            question: format!(
                "Destroy every member of the fleet of `{}`{}?",
                cx.env.name,
                if bakes { " and its bakes" } else { "" }
            ),
        },
        s,
    ])
}

/// A fleet env's `rollback`: the balancer switched back to the newest kept members.
pub fn plan_rollback(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    Ok(vec![step(cx, call, Op::Rollback, false, None)?])
}

/// A fleet env's `deploy` with `deploy_strategy = 'bluegreen'` or `'serial'`: the sequence's
/// `deb.build` (when it has one), then the fleet's deploy, which bakes the build and replaces
/// the members. The other tasks of the sequence run in the members' bake (`bake_commands`)
/// or on first boot (`user_data`), so they are not run against hosts here.
pub fn plan_deploy(cx: &PlanCtx<'_>, call: &TaskCall, settings: &Settings) -> Result<Vec<Step>> {
    let is_build = |c: &TaskCall| c.name.strip_prefix("dfab.").unwrap_or(&c.name) == "deb.build";
    let builds: Vec<TaskCall> = settings
        .sequence
        .iter()
        .map(|(_, c)| c.clone())
        .filter(is_build)
        .collect();
    let left: Vec<&str> = settings
        .sequence
        .iter()
        .filter(|(_, c)| !is_build(c))
        .map(|(w, _)| w.as_str())
        .collect();
    let mut steps: Vec<Step> = plan::resolve_calls(cx, "deploy", &builds)?
        .into_iter()
        .flatten()
        .collect();
    let op = match settings.strategy {
        Strategy::Serial => Op::Serial,
        _ => Op::Bluegreen(migrations(cx)),
    };
    let note = (!left.is_empty()).then(|| {
        format!(
            "deploy: a fleet bakes the build and replaces its members; {} of the sequence belong in the bake (bake_commands) or the first boot (user_data) and do not run here",
            left.join(", ")
        )
    });
    let fleet = step(cx, call, op, true, note)?;
    steps.push(fleet);
    Ok(steps)
}
