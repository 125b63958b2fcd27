//! A fleet's deploys, `FabulAWS`'s two kinds: `bluegreen` (its "full" deployment: a whole new set
//! of members beside the old one, then one balancer switch, the old set kept stopped for
//! `rollback`) and `serial` (members replaced `serial_batch` at a time, each replacement
//! healthy before the balancer takes it and drains the one it replaces); and `rollback`, the
//! switch back to the newest kept set.

use std::time::{Duration, Instant};

use crate::deploy::Job;
use crate::error::Result;
use crate::exec::step::RunCtx;
use crate::lxc::attach::{Attach, Input};

use super::error::FleetError;
use super::handle::Fleet;
use super::member;

/// How long the old config's workers may take to finish their requests before the members they
/// served stop anyway.
const DRAIN: Duration = Duration::from_secs(30);

/// Wait for the old config's workers to finish their requests; say so when they take longer
/// than [`DRAIN`] (the members they served stop anyway).
fn drain(f: &Fleet, cx: &RunCtx<'_>, workers: &[i32]) {
    if !f.nginx.wait_drained(workers, DRAIN) {
        cx.rep.warn(&format!(
            "balancer: the old config's workers still run after {} s: stopping their members anyway",
            DRAIN.as_secs()
        ));
    }
}

/// The migration commands of a fleet deploy: `migrate_check_command` (exit 0: nothing pending)
/// and `migrate_command`, each run once in one new member.
#[derive(Debug, Clone, Default)]
pub struct Migrations {
    pub check: Option<String>,
    pub migrate: Option<String>,
}

/// Bluegreen: bake (or reuse the bake), make `size` new members beside the live ones with no
/// traffic, wait for their health, run pending migrations once (in maintenance), switch the
/// balancer to the new members in one reload, stop the old ones and keep them for
/// `bluegreen_keep` deploys. A failure before the switch leaves the balancer and the old
/// members as they were.
pub fn bluegreen(f: &mut Fleet, cx: &RunCtx<'_>, job: &Job, mig: &Migrations) -> Result<()> {
    f.check_not_suspended()?;
    let t = Instant::now();
    if f.state.live.is_empty() {
        return Err(FleetError::NoFleet {
            env: f.fs.env.clone(),
        }
        .into());
    }
    f.remove_leftovers(cx)?;
    let bake = super::bake::bake(&f.fs, job, cx, &*f.backend, &mut f.state)?;
    let new = f.create_members(cx, &bake, f.fs.size)?;
    let names: Vec<String> = new.iter().map(|m| m.name.clone()).collect();
    let maintenance = match new.first() {
        Some(first) if !cx.dry_run => migrate(f, cx, &first.name, mig, true)?,
        _ => false,
    };
    let old = std::mem::take(&mut f.state.live);
    let switched = f.switch(cx, names);
    if maintenance {
        f.nginx.maintenance(false)?;
        cx.rep.info("balancer: maintenance off");
    }
    let workers = match switched {
        Ok(w) => w,
        Err(e) => {
            f.state.live = old;
            f.save()?;
            let made: Vec<String> = new.iter().map(|m| m.name.clone()).collect();
            f.destroy_members(&made)?;
            return Err(e);
        }
    };
    if cx.dry_run {
        return Ok(());
    }
    drain(f, cx, &workers);
    for name in &old {
        member::stop(&*f.backend, name)?;
    }
    cx.rep.info(&format!(
        "fleet: stopped {} (kept for rollback, bluegreen_keep = {})",
        old.join(", "),
        f.fs.bluegreen_keep
    ));
    f.state.kept.insert(0, old);
    let gone: Vec<String> = f
        .state
        .kept
        .iter()
        .skip(f.fs.bluegreen_keep)
        .flatten()
        .cloned()
        .collect();
    if !gone.is_empty() {
        f.destroy_members(&gone)?;
        cx.rep.info(&format!(
            "fleet: destroyed older members {}",
            gone.join(", ")
        ));
    }
    f.save()?;
    super::bake::prune(&f.fs, cx, &*f.backend, &mut f.state)?;
    cx.rep.info(&format!(
        "deploy: {} now serves {} on {} members (bluegreen, {:.1}s)",
        f.fs.env,
        bake.version,
        f.state.live.len(),
        t.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Ask `mig.check` in `member`; when migrations are pending, run `mig.migrate` there once,
/// with maintenance on when the fleet is `serving` (a deploy; `fleet.create` runs them before
/// any member takes traffic). Returns whether maintenance is on.
pub fn migrate(
    f: &Fleet,
    cx: &RunCtx<'_>,
    member: &str,
    mig: &Migrations,
    serving: bool,
) -> Result<bool> {
    let Some(check) = &mig.check else {
        return Ok(false);
    };
    let spec = member::spec(&f.fs, member, "", None);
    let attach = Attach::new(&spec)?;
    let run = |what: &str, cmd: &str| -> Result<crate::transport::Output> {
        let argv = ["sh", "-c", cmd];
        cx.rep.command(member, what, &attach.command(&argv));
        Ok(attach.run_argv(&argv, Input::Null)?)
    };
    if run("migrate-check", check)?.status == 0 {
        cx.rep
            .info(&format!("[{member}] no migrations pending: no maintenance"));
        return Ok(false);
    }
    let Some(migrate) = &mig.migrate else {
        return Ok(false);
    };
    if serving {
        f.nginx.maintenance(true)?;
        cx.rep
            .info("balancer: maintenance on (migrations are pending)");
    } else {
        cx.rep.info(&format!(
            "[{member}] migrations are pending: run once, before any member takes traffic"
        ));
    }
    let out = run("migrate", migrate)?;
    if out.status != 0 {
        let hint = if serving {
            "maintenance stays on; the old members are unchanged"
        } else {
            "the new members are removed; nothing took traffic"
        };
        return Err(crate::error::Error::CommandFailed {
            host: member.to_owned(),
            cmd: migrate.clone(),
            exit: out.exit(),
            stderr: out.stderr_str(),
            hint: Some(hint.into()),
        });
    }
    cx.rep.info(&format!("[{member}] migrations ran once"));
    Ok(serving)
}

/// Serial: replace the live members `serial_batch` at a time: the replacements made from the
/// bake and healthy first, then one reload that puts them in and takes the old ones out, then
/// the old ones destroyed once the old config's workers have finished their requests.
pub fn serial(f: &mut Fleet, cx: &RunCtx<'_>, job: &Job) -> Result<()> {
    f.check_not_suspended()?;
    let t = Instant::now();
    if f.state.live.is_empty() {
        return Err(FleetError::NoFleet {
            env: f.fs.env.clone(),
        }
        .into());
    }
    f.remove_leftovers(cx)?;
    let bake = super::bake::bake(&f.fs, job, cx, &*f.backend, &mut f.state)?;
    let batches: Vec<Vec<String>> = f
        .state
        .live
        .chunks(f.fs.serial_batch)
        .map(<[String]>::to_vec)
        .collect();
    for batch in batches {
        let new = f.create_members(cx, &bake, batch.len())?;
        let mut live = f.state.live.clone();
        for (old, m) in batch.iter().zip(&new) {
            if let Some(slot) = live.iter_mut().find(|l| *l == old) {
                slot.clone_from(&m.name);
            }
        }
        if cx.dry_run {
            f.switch(cx, live)?;
            continue;
        }
        let workers = f.switch(cx, live)?;
        drain(f, cx, &workers);
        f.destroy_members(&batch)?;
        cx.rep.info(&format!(
            "fleet: replaced {} with {}",
            batch.join(", "),
            new.iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    super::bake::prune(&f.fs, cx, &*f.backend, &mut f.state)?;
    if cx.dry_run {
        return Ok(());
    }
    cx.rep.info(&format!(
        "deploy: {} now serves {} on {} members (serial, {} at a time, {:.1}s)",
        f.fs.env,
        bake.version,
        f.state.live.len(),
        f.fs.serial_batch,
        t.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Rollback: start the newest kept set, wait for its health, switch the balancer back to it in
/// one reload, and keep the set it replaces stopped in its place (a second `rollback` goes
/// forward again).
pub fn rollback(f: &mut Fleet, cx: &RunCtx<'_>) -> Result<()> {
    f.check_not_suspended()?;
    let Some(back) = f.state.kept.first().cloned() else {
        return Err(FleetError::NothingToRollBack {
            env: f.fs.env.clone(),
        }
        .into());
    };
    if cx.dry_run {
        cx.rep.info(&format!(
            "rollback: would start {} and switch the balancer back to them",
            back.join(", ")
        ));
        return Ok(());
    }
    f.balancer_up(cx)?;
    let lock = std::sync::Mutex::new(());
    let stop_again = |f: &Fleet| {
        for n in &back {
            let _ = member::stop(&*f.backend, n);
        }
    };
    for name in &back {
        let m = f
            .state
            .member(name)
            .cloned()
            .expect("a kept member is recorded");
        let log = member::Log::open(&f.fs.log_file(name))?;
        log.line("rollback: start again");
        let spec = member::spec(&f.fs, name, &m.bake, m.address.as_deref());
        let running = {
            let _one = lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            crate::lxc::ensure(&spec, &*f.backend, &mut |_| {})
        };
        let failed = match running {
            Ok(r) => member::health(&f.fs, &f.health_from, &r.ipv4, &log).map(|()| r),
            Err(e) => Err(e.to_string()),
        };
        let running = match failed {
            Ok(r) => r,
            Err(why) => {
                stop_again(f);
                return Err(FleetError::RollbackFailed {
                    env: f.fs.env.clone(),
                    member: name.clone(),
                    why,
                    log: f.fs.shown(&log.path).into(),
                }
                .into());
            }
        };
        if let Some(mm) = f.state.members.iter_mut().find(|x| &x.name == name) {
            mm.ipv4 = running.ipv4;
        }
    }
    let version = f
        .state
        .member(&back[0])
        .map(|m| m.version.clone())
        .unwrap_or_default();
    let current = std::mem::take(&mut f.state.live);
    let workers = f.switch(cx, back)?;
    drain(f, cx, &workers);
    for name in &current {
        member::stop(&*f.backend, name)?;
    }
    f.state.kept[0] = current;
    f.save()?;
    cx.rep.info(&format!(
        "rollback: {} serves {version} again; the members it replaced are kept stopped",
        f.fs.env
    ));
    Ok(())
}
