//! The native `.deb` builder (`deb.build`): reads a project's debhelper-style `debian/` directory
//! and writes reproducible binary packages without dpkg-buildpackage, debhelper or fakeroot.
//!
//! Inputs follow debhelper's declarative conventions (`control`, `changelog`, `install`, `dirs`,
//! `links`, `docs`, `conffiles`, cron, logrotate, systemd units, debconf, maintainer scripts with
//! `#DEBHELPER#`). Python dependencies can be vendored as wheels and installed into a virtualenv
//! by the generated postinst. Output is byte-for-byte reproducible for the same inputs.
//!
//! Caches, all under `<project>/.dfab/`: `wheelhouse/<sha256 of requirements>` (so an unchanged
//! rebuild never runs pip), `digests` (file digests keyed by stat data) and `frames` (gzip-compressed
//! segments of the data tar, so a gzip rebuild compresses only what changed). An unchanged rebuild,
//! detected by the input key in `<out_dir>/.dfab-built.json`, reuses the packages as they are.
//! Warnings (undefined substitution variables, packages not for this architecture) go to stderr.
//!
//! What it does not reproduce (see `native`) is built with dpkg-buildpackage instead, said in one
//! warning. `dh_strip_nondeterminism` (`nondeterminism`) and `dh_dwz` (`elf`) run debhelper's own
//! module and `dwz` on copies, only when the package has files they handle. Not done: `-dbgsym`
//! packages (`dh_strip`'s `.gnu_debuglink` is reproduced, the debug files are not shipped).

mod ar;
mod arch;
mod assemble;
mod autoscripts;
mod cache_key;
pub mod changelog;
mod chunks;
pub mod cmd;
mod compress;
pub mod control;
mod data_member;
pub mod deb822;
mod dh_compress;
mod digests;
pub mod dpkg_buildpackage;
mod elf;
mod error;
mod fixperms;
mod frame_cache;
mod gencontrol;
mod gzip_parallel;
mod install;
mod installers;
mod maintscripts;
pub mod manifest;
mod manpages;
mod native;
mod nondeterminism;
mod options;
mod phases;
mod pkgfile;
mod plan;
pub mod relation;
mod rules;
mod segments;
pub mod simplify;
mod substvars;
mod tar;
mod tree;
pub mod version;
pub mod wheels;

use std::path::Path;

pub use error::DebError;
pub use options::{Build, BuildOptions, BuiltPackage, Compression, WheelMode};

use cmd::{Cmd, RunLocal as _};
use manifest::Manifest;
use pkgfile::read_text;
use plan::{Context, PackagePlan};

/// Builds every binary package of the project into `opts.out_dir` and records them in
/// `.dfab-built.json`. Nothing is written to `out_dir` unless every package builds.
pub fn build(opts: &BuildOptions) -> Result<Vec<BuiltPackage>, DebError> {
    build_with(opts, &mut |w| eprintln!("dfab: warning: {w}"))
}

/// [`build`], handing each warning (an undefined substitution variable, a package not for this
/// architecture) to `warn` instead of stderr.
pub fn build_with(
    opts: &BuildOptions,
    warn: &mut dyn FnMut(&str),
) -> Result<Vec<BuiltPackage>, DebError> {
    build_or_reuse(opts, warn).map(|b| b.packages)
}

/// [`build_with`], saying whether the packages were written or the last build's were reused
/// (its inputs identical and its files intact: nothing was written).
pub fn build_or_reuse(opts: &BuildOptions, warn: &mut dyn FnMut(&str)) -> Result<Build, DebError> {
    let mut phases = phases::Phases::start();
    let debian_dir = opts.project_dir.join("debian");
    let control = control::Control::load(&debian_dir)?;
    let verdict = native::judge(&opts.project_dir, &control, !opts.build_commands.is_empty())?;
    for w in &verdict.warnings {
        warn(w);
    }
    if let Some(reason) = &verdict.fallback {
        return fall_back(opts, reason, warn).map(Build::written);
    }
    run_build_commands(opts)?;
    let changelog_path = debian_dir.join("changelog");
    if !changelog_path.is_file() {
        return Err(DebError::Missing {
            path: changelog_path,
        });
    }
    let changelog = changelog::parse(&changelog_path, &read_text(&changelog_path)?)?;
    let version = if let Some(v) = &opts.version {
        version::validate(v).map_err(|m| DebError::Options(format!("--version: {m}")))?;
        v.clone()
    } else {
        version::validate(&changelog.version)
            .map_err(|m| DebError::at(&changelog_path, changelog.version_line, m))?;
        changelog.version.clone()
    };
    let mtime = timestamp(
        opts,
        changelog_timestamp(&changelog_path, &changelog, warn)?,
    )?;
    let host = arch::host();

    phases.mark("control, changelog");
    let inputs = match cache_key::compute(opts, &host) {
        Err(DebError::Fallback(reason)) => {
            return fall_back(opts, &reason, warn).map(Build::written)
        }
        other => other?,
    };
    phases.mark("input key");
    if opts.wheel == WheelMode::Unset && opts.project_dir.join("requirements.txt").is_file() {
        warn(
            "requirements.txt is not vendored: wheels are built only when the env turns \
             `wheel` on (as in dragonfab); turn `wheel` off to silence this",
        );
    }
    if let Some(cached) = reusable(&opts.out_dir, &inputs.key)? {
        phases.mark("reuse (cache hit)");
        return Ok(Build {
            packages: cached,
            reused: true,
            segments: Vec::new(),
        });
    }

    let wheels = wheels::prepare(opts)?;
    let ctx = Context {
        rules: &verdict.rules,
        opts,
        debian_dir: &debian_dir,
        control: &control,
        version: &version,
        wheels: wheels.as_ref(),
        listing: &inputs.listing,
        digests: &inputs.digests,
        host_arch: &host,
        mtime,
    };
    let mut plans = Vec::new();
    let mut warnings = Vec::new();
    for (index, para) in control.packages.iter().enumerate() {
        let field = para.get("Architecture").unwrap_or_default();
        match arch::resolve(field, &host) {
            Some(arch) => match plan::plan_package(&ctx, index, &arch, &mut warnings) {
                Ok(plan) => plans.push(plan),
                Err(DebError::Fallback(reason)) => {
                    return fall_back(opts, &reason, warn).map(Build::written)
                }
                Err(e) => return Err(e),
            },
            None => warnings.push(format!(
                "{}: Architecture `{field}` does not include {host}; not built",
                para.get("Package").unwrap_or_default()
            )),
        }
    }
    for w in &warnings {
        warn(w);
    }
    if plans.is_empty() {
        return Err(DebError::at(
            &control.file,
            1,
            format!("no package to build for {host}"),
        ));
    }
    phases.mark("wheels, plan");
    let (built, segments) = write_all(opts, &plans, mtime, &inputs.digests, &mut phases)?;
    Manifest::new(inputs.key, &built).write(&opts.out_dir)?;
    phases.mark("manifest");
    Ok(Build {
        segments,
        ..Build::written(built)
    })
}

/// Builds with dpkg-buildpackage because of `reason`, saying so in one line; refuses with a hint
/// when dpkg-buildpackage or debhelper is not installed.
fn fall_back(
    opts: &BuildOptions,
    reason: &str,
    warn: &mut dyn FnMut(&str),
) -> Result<Vec<BuiltPackage>, DebError> {
    let missing: Vec<&str> = ["dpkg-buildpackage", "dh", "fakeroot"]
        .into_iter()
        .filter(|tool| !on_path(tool))
        .collect();
    if !missing.is_empty() {
        return Err(DebError::Unsupported {
            reason: reason.to_owned(),
            hint: format!(
                "{} not installed: apt-get install dpkg-dev debhelper fakeroot (and the \
                 project's Build-Depends)",
                missing.join(", ")
            ),
        });
    }
    warn(&format!(
        "building with dpkg-buildpackage: dfab does not reproduce {reason}"
    ));
    dpkg_buildpackage::build(opts)
}

/// Whether `tool` is an executable file on `PATH`.
fn on_path(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|d| {
            fs_err::metadata(d.join(tool))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// The changelog's timestamp as dpkg-buildpackage takes it: dfab's own reading of a strict
/// `date -R` trailer, else dpkg-parsechangelog's (with its warnings passed on in one line).
fn changelog_timestamp(
    file: &Path,
    changelog: &changelog::Changelog,
    warn: &mut dyn FnMut(&str),
) -> Result<Option<u64>, DebError> {
    let Some(line) = changelog.odd_trailer else {
        return Ok(changelog.timestamp);
    };
    let (stamp, warnings) = changelog::dpkg_timestamp(file)?;
    let what = match stamp {
        Some(t) => format!("dpkg-parsechangelog reads it as {t}"),
        None => "dpkg-parsechangelog cannot read it, so the build time (or SOURCE_DATE_EPOCH) \
                 stands in, as with dpkg-buildpackage"
            .to_owned(),
    };
    if !warnings.is_empty() || stamp.is_none() {
        warn(&format!(
            "{}:{line}: unusual trailer date ({}); {what}",
            file.display(),
            warnings.join("; ")
        ));
    }
    Ok(stamp)
}

/// The archive timestamp: the option, else `SOURCE_DATE_EPOCH`, else the changelog date.
fn timestamp(opts: &BuildOptions, changelog: Option<u64>) -> Result<u64, DebError> {
    if let Some(t) = opts.source_date_epoch {
        return Ok(t);
    }
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| DebError::Options(format!("SOURCE_DATE_EPOCH=`{v}` is not a number"))),
        Err(_) => Ok(changelog.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })),
    }
}

/// The packages of the last build when its inputs were identical and its files are intact.
/// `build_commands`, each through `sh -c` in the project directory, before anything is read.
/// Like dh, they see `dpkg-buildflags`' flags (`CFLAGS`, `LDFLAGS`, ...) unless already set.
pub(crate) fn run_build_commands(opts: &BuildOptions) -> Result<(), DebError> {
    if opts.build_commands.is_empty() {
        return Ok(());
    }
    let flags = if on_path("dpkg-buildflags") {
        let out = Cmd::of("dpkg-buildflags")
            .arg("--export=sh")
            .cwd(&opts.project_dir)
            .output()?;
        build_flags(&String::from_utf8_lossy(&out.stdout))
    } else {
        Vec::new()
    };
    for command in &opts.build_commands {
        let mut cmd = Cmd::of("sh").arg("-c").arg(command).cwd(&opts.project_dir);
        for (name, value) in &flags {
            if std::env::var_os(name).is_none() {
                cmd = cmd.env(name.clone(), value.clone());
            }
        }
        cmd.output()?;
    }
    Ok(())
}

/// The `export NAME="value"` lines of `dpkg-buildflags --export=sh`, uppercase names only (as dh).
fn build_flags(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .filter(|(n, _)| n.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|(n, v)| (n.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

fn reusable(out_dir: &Path, key: &str) -> Result<Option<Vec<BuiltPackage>>, DebError> {
    let Ok(Some(manifest)) = Manifest::load(out_dir) else {
        return Ok(None);
    };
    if manifest.input_key != key || manifest.packages.is_empty() {
        return Ok(None);
    }
    let built = manifest.built(out_dir);
    for (b, entry) in built.iter().zip(&manifest.packages) {
        if entry.stat.is_some() && entry.stat == manifest::stat_fingerprint(&b.path) {
            continue; // untouched since it was written and hashed
        }
        let Ok(mut file) = fs_err::File::open(&b.path) else {
            return Ok(None);
        };
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        std::io::copy(&mut file, &mut hasher)?;
        if wheels::hex(&sha2::Digest::finalize(hasher)) != b.sha256 {
            return Ok(None);
        }
    }
    Ok(Some(built))
}

/// Temporary files are created 0600; published files are world-readable like dpkg-deb's.
pub(crate) fn publishable(file: &std::fs::File) -> Result<(), DebError> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    Ok(())
}

/// Writes every package to a temporary file, then renames them all into place; with the
/// segments each looked up in the frame cache and reused (empty: none was written in segments).
fn write_all(
    opts: &BuildOptions,
    plans: &[PackagePlan],
    mtime: u64,
    digests: &digests::DigestMap,
    phases: &mut phases::Phases,
) -> Result<(Vec<BuiltPackage>, Vec<(usize, usize)>), DebError> {
    fs_err::create_dir_all(&opts.out_dir)?;
    let bar = opts.progress.then(|| {
        let total = plans.iter().map(|p| p.tree.content_bytes()).sum();
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:20} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    });
    let frames = frame_cache::FrameCache::new(opts.project_dir.join(".dfab").join("frames"));
    let mut written = Vec::new();
    let mut segments = Vec::new();
    for plan in plans {
        let before = frames.reuse();
        if let Some(bar) = &bar {
            bar.set_message(plan.name.clone());
        }
        let w = assemble::write_deb(
            plan,
            mtime,
            opts.compression,
            &opts.out_dir,
            digests,
            Some(&frames),
            bar.as_ref(),
            phases,
        )?;
        let after = frames.reuse();
        segments.push((after.0 - before.0, after.1 - before.1));
        written.push((plan, w));
    }
    frames.prune();
    if segments.iter().all(|(asked, _)| *asked == 0) {
        segments.clear();
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut built = Vec::new();
    for (plan, w) in written {
        let name = format!(
            "{}_{}_{}.deb",
            plan.name,
            version::without_epoch(&plan.version),
            plan.arch
        );
        let path = opts.out_dir.join(name);
        publishable(w.file.as_file())?;
        w.file.persist(&path).map_err(|e| {
            DebError::Io(std::io::Error::new(
                e.error.kind(),
                format!("{}: {}", path.display(), e.error),
            ))
        })?;
        built.push(BuiltPackage {
            path,
            package: plan.name.clone(),
            version: plan.version.clone(),
            arch: plan.arch.clone(),
            sha256: w.sha256,
            size: w.size,
            files: w.entries,
        });
    }
    Ok((built, segments))
}
