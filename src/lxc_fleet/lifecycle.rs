//! The fleet's own tasks: `fleet.create` (the members made in parallel from the newest bake,
//! then put in the balancer), `fleet.status`, `fleet.suspend` / `fleet.resume`, and
//! `fleet.destroy`.

use std::time::Duration;

use crate::error::Result;
use crate::exec::step::RunCtx;
use crate::lxc::State;

use super::deploy::Migrations;
use super::error::FleetError;
use super::handle::Fleet;
use super::state::{now_utc, Suspension};

/// `fleet.create`: `size` members from the newest bake, each healthy before any takes traffic,
/// pending migrations run once in the first of them (`mig`: a fleet's members share one
/// database, and one whose schema is missing would serve errors), then the balancer (started
/// when it does not run) sends traffic to all of them. A failed migration removes the members.
pub fn create(f: &mut Fleet, cx: &RunCtx<'_>, mig: &Migrations) -> Result<()> {
    f.check_not_suspended()?;
    if !f.state.live.is_empty() {
        return Err(FleetError::Exists {
            env: f.fs.env.clone(),
            members: f.state.live.len(),
        }
        .into());
    }
    let bake = f.newest_bake()?;
    let made = f.create_members(cx, &bake, f.fs.size)?;
    let names: Vec<String> = made.iter().map(|m| m.name.clone()).collect();
    if let Some(first) = made.first().filter(|_| !cx.dry_run) {
        if let Err(e) = super::deploy::migrate(f, cx, &first.name, mig, false) {
            f.destroy_members(&names)?;
            return Err(e);
        }
    }
    f.switch(cx, names)?;
    cx.rep.info(&format!(
        "fleet.create: {} members of {} serve {} behind http://{}",
        made.len(),
        f.fs.env,
        bake.version,
        f.url()
    ));
    Ok(())
}

/// `fleet.status`: the balancer, then one line per member: its bake and version, its address,
/// whether it runs, its health answer, and whether the balancer sends it traffic.
pub fn status(f: &Fleet, cx: &RunCtx<'_>) -> Result<()> {
    let balancer = match f.nginx.pid() {
        Some(pid) => format!(
            "nginx (pid {pid}) in {} on http://{}, generation {}",
            f.nginx.place.describe(),
            f.url(),
            f.state.generation
        ),
        None => format!("not running (in {})", f.nginx.place.describe()),
    };
    cx.rep
        .info(&format!("fleet {}: balancer {balancer}", f.fs.env));
    if let Some(s) = &f.state.suspended {
        cx.rep.info(&format!(
            "fleet {}: suspended by {} since {}{}",
            f.fs.env,
            s.by,
            s.at,
            s.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    for m in &f.state.members {
        let state = f.backend.state(&m.name)?;
        let health = if state == State::Running {
            match f.health_from.get(
                &format!("{}:{}", m.ipv4, f.fs.port),
                &f.fs.health_path,
                Duration::from_secs(2),
            ) {
                Ok((code, _)) => code.to_string(),
                Err(e) => format!("no answer ({e})"),
            }
        } else {
            "-".to_owned()
        };
        let traffic = if f.state.live.contains(&m.name) {
            "in the balancer"
        } else if f.state.kept.iter().flatten().any(|k| k == &m.name) {
            "kept for rollback"
        } else {
            "no traffic"
        };
        let run = match state {
            State::Running => "running",
            State::Stopped => "stopped",
            State::Absent => "missing",
        };
        // On lxc_host the address is on that machine's bridge, which this one may not reach.
        let on =
            f.fs.lxc_host
                .as_deref()
                .map(|h| format!(" on {h}"))
                .unwrap_or_default();
        cx.rep.info(&format!(
            "[{}] {} {} {}{on} {run}, health {health}, {traffic}",
            m.name, m.version, m.bake, m.ipv4
        ));
    }
    Ok(())
}

/// Who runs dfab: `user@machine`.
fn who() -> String {
    let host = fs_err::read_to_string("/etc/hostname")
        .map_or_else(|_| "localhost".into(), |s| s.trim().to_owned());
    format!("{}@{host}", crate::releases::history::local_user())
}

/// `fleet.suspend`: from now on no dfab command changes the members or the balancer.
pub fn suspend(f: &mut Fleet, cx: &RunCtx<'_>, reason: Option<String>) -> Result<()> {
    if let Some(s) = &f.state.suspended {
        cx.rep.info(&format!(
            "fleet {}: suspended already by {} since {}",
            f.fs.env, s.by, s.at
        ));
        return Ok(());
    }
    let s = Suspension {
        by: who(),
        at: now_utc(),
        reason,
    };
    cx.rep.info(&format!(
        "fleet {}: suspended by {} at {}",
        f.fs.env, s.by, s.at
    ));
    if !cx.dry_run {
        f.state.suspended = Some(s);
        f.save()?;
    }
    Ok(())
}

/// `fleet.resume`: dfab may change the fleet again.
pub fn resume(f: &mut Fleet, cx: &RunCtx<'_>) -> Result<()> {
    match f.state.suspended.take() {
        None => cx
            .rep
            .info(&format!("fleet {}: not suspended: nothing to do", f.fs.env)),
        Some(s) => {
            cx.rep.info(&format!(
                "fleet {}: resumed (suspended by {} since {})",
                f.fs.env, s.by, s.at
            ));
            if !cx.dry_run {
                f.save()?;
            }
        }
    }
    Ok(())
}

/// `fleet.destroy`: every member destroyed and the balancer stopped; with `bakes`, the bakes
/// too. The logs stay.
pub fn destroy(f: &mut Fleet, cx: &RunCtx<'_>, bakes: bool) -> Result<()> {
    f.check_not_suspended()?;
    let names: Vec<String> = f.state.members.iter().map(|m| m.name.clone()).collect();
    if cx.dry_run {
        cx.rep.info(&format!(
            "fleet.destroy: would destroy {} and stop the balancer",
            names.join(", ")
        ));
        return Ok(());
    }
    let ran = f.nginx.pid().is_some();
    f.nginx.stop()?;
    f.destroy_members(&names)?;
    f.state.live.clear();
    f.state.kept.clear();
    cx.rep.info(&format!(
        "fleet.destroy: destroyed {} members of {}, {}",
        names.len(),
        f.fs.env,
        if ran {
            "balancer stopped"
        } else {
            "no balancer was running"
        }
    ));
    // The balancer's container goes when dfab made it; one that was there before stays.
    if let Some(b) = f.state.balancer.take() {
        if b.made {
            super::member::destroy(&*f.backend, &b.name)?;
            cx.rep.info(&format!(
                "fleet.destroy: removed the balancer's container {}",
                b.name
            ));
        }
    }
    if bakes {
        for b in std::mem::take(&mut f.state.bakes) {
            super::member::destroy(&*f.backend, &b.name)?;
            cx.rep
                .info(&format!("fleet.destroy: removed bake {}", b.name));
        }
    }
    f.save()
}
