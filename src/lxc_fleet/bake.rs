//! `lxc.bake`: a release baked into a stopped container kept as a versioned template
//! (`<env>-<version>-<short build id>`), as `FabulAWS` bakes an image: the env's template cloned,
//! the recorded build installed with the env's debconf answers (by `deploy::ship`, the routine
//! `deb.deploy` runs on every host, here over attach), `bake_commands` run, the container
//! stopped. The same build baked twice is the same bake; `keep_bakes` older bakes stay, never
//! removing one a member came from.

use std::time::Instant;

use crate::deploy::{ship, Job, Release};
use crate::error::Result;
use crate::exec::step::RunCtx;
use crate::lxc::attach::{Attach, Input};
use crate::lxc::transport::AttachTransport;
use crate::lxc::{self, Backend, LxcSpec, State, Step};

use super::error::FleetError;
use super::settings::FleetSettings;
use super::state::{Bake, FleetState};

/// The bake name of `version` of `env`'s build `build_id` (`Release::build_id`: one sha256 over
/// the shipped packages' `package version sha256` lines): `<env>-<version>-<first 8 hex>`,
/// with any character a container name cannot hold (`:`, `~`, `+`) as `_`.
#[must_use]
pub fn name(env: &str, version: &str, build_id: &str) -> String {
    let version: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{env}-{version}-{}", &build_id[..8.min(build_id.len())])
}

/// Bake `job`'s recorded build (or find it baked already) and record it in `state` (saved);
/// prune older bakes beyond `keep_bakes`. Returns the bake.
pub fn bake(
    fs: &FleetSettings,
    job: &Job,
    cx: &RunCtx<'_>,
    backend: &dyn Backend,
    state: &mut FleetState,
) -> Result<Bake> {
    let release = Release::load(job, cx.dry_run, cx.rep)?;
    let (build_id, _) = release.build_id();
    let version = release
        .packages
        .first()
        .map_or_else(|| "planned".to_owned(), |s| s.version.clone());
    let name = name(&fs.env, &version, &build_id);
    lxc::name::validate(&name)?;
    let bake = Bake {
        name: name.clone(),
        version,
        build_id,
    };
    let there = backend.state(&name)?;
    if there == State::Stopped && state.bakes.iter().any(|b| b.name == name) {
        cx.rep.info(&format!(
            "lxc.bake: {name} is baked already (the same build): nothing to do"
        ));
        return Ok(bake);
    }
    if cx.dry_run {
        cx.rep.info(&format!(
            "lxc.bake: would bake {name} from {} (install the build, run {} bake_commands, stop)",
            fs.template,
            fs.bake_commands.len()
        ));
        return Ok(bake);
    }
    let t = Instant::now();
    if there != State::Absent {
        // Left by a bake that did not finish (it is recorded only once stopped).
        cx.rep.warn(&format!(
            "lxc.bake: {name} was left half-made by an earlier bake: made again"
        ));
        super::member::destroy(backend, &name)?;
    }
    let mut spec = LxcSpec::new(&name);
    spec.template.clone_from(&fs.template);
    spec.lxcpath.clone_from(&fs.lxcpath);
    spec.host.clone_from(&fs.lxc_host);
    spec.host_ssh_options.clone_from(&fs.lxc_host_ssh_options);
    let mut steps = vec![Step::Clone {
        template: fs.template.clone(),
        name: name.clone(),
        mode: lxc::CloneMode::Snapshot,
    }];
    // With static addresses the template may name a gateway, which LXC refuses without an
    // address: the bake borrows a free one of the pool while it runs.
    match state.free_address(&fs.addresses, &[]) {
        Some(Some(ipv4)) => steps.push(Step::SetAddress {
            name: name.clone(),
            ipv4,
            gateway: fs.gateway.clone(),
        }),
        Some(None) => {}
        None => {
            return Err(FleetError::NoAddress {
                env: fs.env.clone(),
                used: state.members.len(),
            }
            .into())
        }
    }
    steps.push(Step::Start { name: name.clone() });
    steps.push(Step::WaitRunning {
        name: name.clone(),
        timeout: fs.timeout,
    });
    let started = steps.iter().try_for_each(|step| {
        cx.rep
            .command(&name, "lxc", &step.command(fs.lxcpath.as_deref()));
        backend.apply(step)
    });
    let made = started
        .map_err(crate::error::Error::from)
        .and_then(|()| fill(fs, job, cx, &release, &spec));
    let stopped = backend
        .apply(&Step::Stop { name: name.clone() })
        .map_err(crate::error::Error::from);
    if let Err(e) = made.and(stopped) {
        let _ = super::member::destroy(backend, &name);
        return Err(e);
    }
    state.bakes.retain(|b| b.name != name);
    state.bakes.push(bake.clone());
    state.save(&fs.state_file())?;
    cx.rep.info(&format!(
        "lxc.bake: baked {name} from {} in {:.1}s (build id {})",
        fs.template,
        t.elapsed().as_secs_f64(),
        bake.build_id
    ));
    prune(fs, cx, backend, state)?;
    Ok(bake)
}

/// Install the release in the running bake container, then run `bake_commands`.
fn fill(
    fs: &FleetSettings,
    job: &Job,
    cx: &RunCtx<'_>,
    release: &Release,
    spec: &LxcSpec,
) -> Result<()> {
    let mut t = AttachTransport::new(spec)?;
    let facts = ship::preflight(&mut t, cx, release, "lxc.bake")?;
    let change = ship::ship(&mut t, cx, release, job, &facts)?;
    cx.rep.info(&format!("[{}] {}", spec.name, change.what));
    let attach = Attach::new(spec)?;
    for command in &fs.bake_commands {
        let argv = ["sh", "-c", command.as_str()];
        cx.rep.command(&spec.name, "bake", &attach.command(&argv));
        let out = attach.run_argv(&argv, Input::Null)?;
        if out.status != 0 {
            let all = format!("{}{}", out.stdout_str(), out.stderr_str());
            return Err(FleetError::BakeFailed {
                container: spec.name.clone(),
                command: command.clone(),
                status: out.exit().to_string(),
                tail: crate::deploy::remote::tail(&all, 5),
            }
            .into());
        }
    }
    Ok(())
}

/// Remove the bakes beyond the newest and `keep_bakes` more, never one a member came from.
pub fn prune(
    fs: &FleetSettings,
    cx: &RunCtx<'_>,
    backend: &dyn Backend,
    state: &mut FleetState,
) -> Result<()> {
    for old in state.bakes_to_prune(fs.keep_bakes) {
        if cx.dry_run {
            cx.rep.info(&format!(
                "lxc.bake: would remove {old} (keep_bakes = {})",
                fs.keep_bakes
            ));
            continue;
        }
        super::member::destroy(backend, &old)?;
        state.bakes.retain(|b| b.name != old);
        state.save(&fs.state_file())?;
        cx.rep.info(&format!(
            "lxc.bake: removed {old} (keep_bakes = {})",
            fs.keep_bakes
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bake_is_named_for_env_version_and_build() {
        assert_eq!(
            super::name("web", "1:2.0~rc1+b1", "0123456789abcdef"),
            "web-1_2.0_rc1_b1-01234567"
        );
    }
}
