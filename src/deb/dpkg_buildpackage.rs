//! The slow path (`deb_builder = 'dpkg-buildpackage'`): run `dpkg-buildpackage -rfakeroot -us -uc
//! -b` in the project and collect the `.deb` files it leaves in the parent directory.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::changelog;
use super::cmd::{Cmd, RunLocal as _};
use super::control::Control;
use super::manifest::Manifest;
use super::pkgfile::read_text;
use super::version::without_epoch;
use super::wheels::hex;
use super::{arch, BuildOptions, BuiltPackage, DebError};

/// The command run in the project directory.
#[must_use]
pub fn command(project_dir: &Path) -> Cmd {
    Cmd::of("dpkg-buildpackage")
        .args(["-rfakeroot", "-us", "-uc", "-b"])
        .cwd(project_dir)
}

/// Builds with dpkg-buildpackage, moves the packages into `out_dir` and writes the manifest.
pub fn build(opts: &BuildOptions) -> Result<Vec<BuiltPackage>, DebError> {
    let debian = opts.project_dir.join("debian");
    let control = Control::load(&debian)?;
    let changelog_path = debian.join("changelog");
    let changelog = changelog::parse(&changelog_path, &read_text(&changelog_path)?)?;
    super::run_build_commands(opts)?;
    let mut cmd = command(&opts.project_dir);
    if let Some(t) = opts.source_date_epoch {
        // The timestamp asked for, as the native path uses it (dpkg-deb clamps mtimes to it).
        cmd = cmd.env("SOURCE_DATE_EPOCH", t.to_string());
    }
    cmd.output()?;
    let parent = fs_err::canonicalize(&opts.project_dir)?
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            DebError::Options("project dir has no parent for dpkg-buildpackage output".into())
        })?;
    fs_err::create_dir_all(&opts.out_dir)?;
    let host = arch::host();
    let version = without_epoch(&changelog.version);
    let mut built = Vec::new();
    for para in &control.packages {
        let package = para.get("Package").unwrap_or_default();
        let Some(deb_arch) = arch::resolve(para.get("Architecture").unwrap_or_default(), &host)
        else {
            continue;
        };
        let name = format!("{package}_{version}_{deb_arch}.deb");
        let from = parent.join(&name);
        let to = opts.out_dir.join(&name);
        if fs_err::rename(&from, &to).is_err() {
            fs_err::copy(&from, &to)?;
            fs_err::remove_file(&from)?;
        }
        let bytes = fs_err::read(&to)?;
        let listing = Cmd::of("dpkg-deb")
            .arg("--contents")
            .arg(to.to_string_lossy())
            .output()?;
        built.push(BuiltPackage {
            path: to,
            package: package.to_owned(),
            version: changelog.version.clone(),
            arch: deb_arch,
            sha256: hex(&Sha256::digest(&bytes)),
            size: bytes.len() as u64,
            files: listing
                .stdout
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .count(),
        });
    }
    Manifest::new(String::new(), &built).write(&opts.out_dir)?;
    Ok(built)
}
