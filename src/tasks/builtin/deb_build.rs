//! `deb.build`: the build options an env and the call ask for, planned as one local step.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use crate::deb::{self, BuildOptions, Compression, WheelMode};
use crate::environments::Env;
use crate::error::{Error, Result};
use crate::exec::step::{LocalAction, RunCtx};
use crate::invocation::TaskCall;
use crate::transport::cmd::Cmd;

use super::{PlanCtx, Step};

/// One step on this machine: the native builder, or `dpkg-buildpackage` (`deb_builder`).
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let opts = build_options(call, cx.env, cx.project_dir)?;
    let slow = builder(cx.env)?;
    Ok(vec![Step::Here {
        task: call.name.clone(),
        action: Arc::new(DebBuild { opts, slow }),
    }])
}

/// What a planned `deb.build` call makes, as far as the plan can tell: its version.
#[must_use]
pub fn planned(call: &TaskCall, env: &Env, project: &Path) -> crate::deploy::PlannedBuild {
    let version = build_options(call, env, project)
        .ok()
        .and_then(|o| planned_version(&o).map(|(_, v)| v));
    crate::deploy::PlannedBuild { version }
}

/// The source package and version a build with `opts` makes: debian/changelog's newest entry,
/// its version replaced by `version=`; `None` when the changelog cannot be read.
fn planned_version(opts: &BuildOptions) -> Option<(String, String)> {
    let changelog = opts.project_dir.join("debian/changelog");
    let text = fs_err::read_to_string(&changelog).ok()?;
    let top = deb::changelog::parse(&changelog, &text).ok()?;
    Some((top.source, opts.version.clone().unwrap_or(top.version)))
}

/// Build the project's packages.
#[derive(Debug)]
pub struct DebBuild {
    pub opts: BuildOptions,
    /// `deb_builder = 'dpkg-buildpackage'`.
    pub slow: bool,
}

impl DebBuild {
    /// Under `-n`: what the build would run, as the real run's lines (the build runs in
    /// process, with no host handle to record it).
    fn show(&self, cx: &RunCtx<'_>) {
        let dir = self.opts.project_dir.display().to_string();
        for c in &self.opts.build_commands {
            cx.rep
                .echo("localhost", "local", &Cmd::shell(c.clone()).cwd(&dir));
        }
        let how = if self.slow {
            "dpkg-buildpackage -rfakeroot -us -uc -b"
        } else {
            "the native builder"
        };
        // What it would build: debian/changelog's source and version (or `version=`).
        let what = match (planned_version(&self.opts), &self.opts.version) {
            (Some((source, version)), _) => format!("{source} {version} from "),
            (None, Some(v)) => format!("version {v} from "),
            (None, None) => String::new(),
        };
        cx.rep.info(&format!(
            "deb.build: would build {what}{} with {how} ({} compression) into {}",
            crate::fsutil::shown(
                &self.opts.project_dir.join("debian"),
                &self.opts.project_dir
            ),
            self.opts.compression,
            crate::fsutil::shown(&self.opts.out_dir, &self.opts.project_dir)
        ));
    }
}

impl LocalAction for DebBuild {
    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        if cx.dry_run {
            self.show(cx);
            return Ok(());
        }
        let mut opts = self.opts.clone();
        opts.progress = !cx.quiet && std::io::stderr().is_terminal();
        let rep = cx.rep;
        let build = if self.slow {
            deb::Build::written(deb::dpkg_buildpackage::build(&opts)?)
        } else {
            deb::build_or_reuse(&opts, &mut |w| rep.warn(w))?
        };
        for line in built_lines(&build, &opts.project_dir, rep.verbose()) {
            rep.info(&line);
        }
        stamp(&opts, rep)
    }
}

/// Record in the build record the git commit the project was at and whether tracked files
/// had changed (`deb.deploy` ships it into each host's history, and a protected env's deploy
/// judges it: [`crate::git::check`]). Outside a git checkout the record is left as the build wrote it.
fn stamp(opts: &BuildOptions, rep: &dyn crate::report::Reporter) -> Result<()> {
    let Some(co) = crate::git::read(&opts.project_dir) else {
        return Ok(());
    };
    let Some(mut m) = deb::manifest::Manifest::load(&opts.out_dir)? else {
        return Ok(());
    };
    if co.dirty {
        rep.warn(&format!(
            "deb.build: built from a work tree with uncommitted changes (commit {}): a protected \
             env's deploy refuses it without force=yes",
            co.commit
                .as_deref()
                .map_or("none", |c| &c[..c.len().min(12)])
        ));
    }
    if (m.commit.as_ref(), m.dirty) != (co.commit.as_ref(), co.dirty) {
        m.commit = co.commit;
        m.dirty = co.dirty;
        m.write(&opts.out_dir)?;
    }
    Ok(())
}

/// One line per package: `built <path> (...)`, or `unchanged: <path> (reused, ...)` when the
/// last build's package was reused; the path relative to the project directory. With `-v`
/// (`verbose`), a package written in segments (gzip) says how many came from `.dfab/frames`.
fn built_lines(build: &deb::Build, project_dir: &Path, verbose: bool) -> Vec<String> {
    build
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let path = crate::fsutil::shown(&p.path, project_dir);
            let sha = p.sha256.get(..16).unwrap_or(&p.sha256);
            if build.reused {
                format!("unchanged: {path} (reused, sha256 {sha})")
            } else {
                let reuse = build
                    .segments
                    .get(i)
                    .filter(|_| verbose)
                    .map(|(asked, hits)| format!(", {hits} of {asked} segments reused"))
                    .unwrap_or_default();
                format!(
                    "built {path} ({} {} {}, {} entries, {} bytes, sha256 {sha}{reuse})",
                    p.package, p.version, p.arch, p.files, p.size
                )
            }
        })
        .collect()
}

/// The build options an env and `deb.build:version=…,compression=…` ask for.
pub fn build_options(call: &TaskCall, env: &Env, project: &Path) -> Result<BuildOptions> {
    let out_dir = crate::settings::shipping::package_dir(env, project);
    let project = project.to_path_buf();
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
        progress: false,
    })
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
