//! Carrying out built-in tasks: each landed built-in's glue between the plan and its module.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::deb::{self, BuildOptions, Compression, WheelMode};
use crate::environments::Env;
use crate::error::{Error, Result};
use crate::invocation::TaskCall;
use crate::report::Reporter;
use crate::transport::cmd::Cmd;
use crate::{confirm, lxc, Context};

use super::plan::{Plan, Targets};

/// Run one built-in task.
pub fn run(
    call: &TaskCall,
    plan: &Plan,
    _hosts: &[String],
    rep: &dyn Reporter,
    ctx: &Context,
) -> Result<()> {
    match call.name.as_str() {
        "noop" => {
            rep.info("noop: nothing to do");
            Ok(())
        }
        "deb.build" => deb_build(call, plan, rep, ctx),
        "lxc.template" => lxc::run::template_task(&plan.env, ctx.dry_run, rep),
        "lxc_remove" => {
            let Targets::Lxc { name, .. } = &plan.targets else {
                return Err(plan.env.key_error(
                    "lxc",
                    format!(
                        "environment `{}` has no `lxc` container to remove",
                        plan.env.name
                    ),
                    None,
                ));
            };
            if !ctx.dry_run && !ctx.yes {
                confirm(&format!("Stop and destroy LXC container `{name}`?"))?;
            }
            lxc::run::remove_task(&plan.env, name, ctx.dry_run, rep)
        }
        other => Err(Error::NotImplemented {
            task: other.to_string(),
        }),
    }
}

/// The build options an env and `deb.build:version=…,compression=…` ask for.
pub fn build_options(call: &TaskCall, plan: &Plan, ctx: &Context) -> Result<BuildOptions> {
    let env = &plan.env;
    let project = plan.project_dir.clone();
    let out_dir = match env.str("package_dir") {
        Some(d) => project.join(d),
        // dragonfab's default: next to the project, where dpkg-buildpackage leaves packages.
        None => project
            .canonicalize()
            .unwrap_or_else(|_| project.clone())
            .parent()
            .map_or_else(|| project.clone(), PathBuf::from),
    };
    let compression = match call.kwarg("compression").or(env.str("deb_compression")) {
        Some(c) => c
            .parse::<Compression>()
            .map_err(|e| match call.kwarg("compression") {
                Some(_) => Error::usage(
                    format!("deb.build: {e}"),
                    Some("for example deb.build:compression=xz or compression=zstd:19".into()),
                ),
                None => env.key_error(
                    "deb_compression",
                    e.to_string(),
                    Some("'gzip', 'xz' or 'zstd', optionally with a level: 'xz:9'".into()),
                ),
            })?,
        None => Compression::default(),
    };
    let wheel = match env.bool("wheel") {
        Some(true) => WheelMode::On,
        Some(false) => WheelMode::Off,
        // dragonfab built wheels only when `wheel` was set and true.
        None => WheelMode::Unset,
    };
    let source_date_epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse().ok());
    Ok(BuildOptions {
        project_dir: project.clone(),
        out_dir,
        version: call.kwarg("version").map(String::from),
        compression,
        source_date_epoch,
        wheel,
        wheelserver: env.str("wheelserver").map(String::from),
        wheelserver_trusted_host: env.str("wheelserver_trusted_host").map(String::from),
        pip_build_dir: env.str("pip_build_dir").map(|d| project.join(d)),
        build_commands: env.str_list("build_commands"),
        venv_path: env.str("venv_path").map(String::from),
        wheelhouse_path: env.str("wheelhouse_path").map(String::from),
        progress: !ctx.quiet && std::io::stderr().is_terminal(),
    })
}

fn deb_build(call: &TaskCall, plan: &Plan, rep: &dyn Reporter, ctx: &Context) -> Result<()> {
    let opts = build_options(call, plan, ctx)?;
    let slow = builder(&plan.env)?;
    if ctx.dry_run {
        for c in &opts.build_commands {
            rep.command(
                "localhost",
                "local",
                &Cmd::shell(c.clone()).cwd(opts.project_dir.display().to_string()),
            );
        }
        let what = if slow {
            Cmd::new("dpkg-buildpackage", ["-rfakeroot", "-us", "-uc", "-b"])
                .cwd(opts.project_dir.display().to_string())
        } else {
            Cmd::new(
                "deb.build",
                [
                    opts.project_dir.display().to_string(),
                    format!("--compression={}", opts.compression),
                    format!("--out={}", opts.out_dir.display()),
                ],
            )
        };
        rep.command("localhost", "deb.build", &what);
        return Ok(());
    }
    let built = if slow {
        deb::dpkg_buildpackage::build(&opts)?
    } else {
        deb::build_with(&opts, &mut |w| rep.warn(w))?
    };
    for p in &built {
        rep.info(&format!(
            "built {} ({} {} {}, {} entries, {} bytes, sha256 {})",
            p.path.display(),
            p.package,
            p.version,
            p.arch,
            p.files,
            p.size,
            &p.sha256[..16]
        ));
    }
    Ok(())
}

/// `deb_builder`: dfab's own (default) or `dpkg-buildpackage` (the slow path, for custom rules).
fn builder(env: &Env) -> Result<bool> {
    match env.str("deb_builder") {
        None | Some("dfab") => Ok(false),
        Some("dpkg-buildpackage") => Ok(true),
        Some(other) => Err(env.key_error(
            "deb_builder",
            format!("unknown builder `{other}`"),
            Some("'dfab' (default) or 'dpkg-buildpackage'".into()),
        )),
    }
}
