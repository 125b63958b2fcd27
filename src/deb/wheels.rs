//! Vendored wheels: `pip wheel -r requirements.txt` into a cache keyed by the requirements, so an
//! unchanged rebuild never runs pip.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::cmd::{Cmd, RunLocal as _};
use super::{BuildOptions, DebError, WheelMode};

/// The wheels to ship and the requirements they satisfy.
#[derive(Debug, Clone)]
pub struct Wheelhouse {
    pub dir: PathBuf,
    pub requirements: PathBuf,
    /// Sorted `.whl` files in `dir`.
    pub wheels: Vec<PathBuf>,
}

/// Where the wheel caches live.
#[must_use]
pub fn cache_root(project_dir: &Path) -> PathBuf {
    project_dir.join(".dfab").join("wheelhouse")
}

/// The Python that runs pip: Debian's `/usr/bin/python3` when present (it has `wheel`), else the
/// first `python3` on `PATH`.
#[must_use]
pub fn python() -> String {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3".into()
    } else {
        "python3".into()
    }
}

/// The `pip wheel` command filling `wheel_dir`.
#[must_use]
pub fn pip_wheel_cmd(opts: &BuildOptions, requirements: &Path, wheel_dir: &Path) -> Cmd {
    let mut cmd = Cmd::of(python())
        .args([
            "-m",
            "pip",
            "wheel",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
        ])
        .arg(requirements.to_string_lossy())
        .arg("--wheel-dir")
        .arg(wheel_dir.to_string_lossy())
        .cwd(&opts.project_dir);
    if let Some(index) = &opts.wheelserver {
        cmd = cmd.arg("--index-url").arg(index);
    }
    if let Some(host) = &opts.wheelserver_trusted_host {
        cmd = cmd.arg("--trusted-host").arg(host);
    }
    if let Some(dir) = &opts.pip_build_dir {
        cmd = cmd.env("TMPDIR", dir.to_string_lossy());
    }
    cmd
}

/// Builds (or reuses) the wheelhouse when the options ask for one.
pub fn prepare(opts: &BuildOptions) -> Result<Option<Wheelhouse>, DebError> {
    let requirements = opts.project_dir.join("requirements.txt");
    match opts.wheel {
        WheelMode::Off | WheelMode::Unset => return Ok(None),
        WheelMode::Auto if !requirements.is_file() => return Ok(None),
        WheelMode::On if !requirements.is_file() => {
            return Err(DebError::Missing { path: requirements })
        }
        _ => {}
    }
    let mut hasher = Sha256::new();
    hasher.update(fs_err::read(&requirements)?);
    for part in [&opts.wheelserver, &opts.wheelserver_trusted_host] {
        hasher.update([0]);
        hasher.update(part.as_deref().unwrap_or_default());
    }
    let key = hex(&hasher.finalize());
    let root = cache_root(&opts.project_dir);
    let dir = root.join(&key);
    if !dir.join(".complete").is_file() {
        let tmp = root.join(format!("{key}.tmp-{}", std::process::id()));
        if tmp.exists() {
            fs_err::remove_dir_all(&tmp)?;
        }
        fs_err::create_dir_all(&tmp)?;
        let cmd = pip_wheel_cmd(opts, &requirements, &tmp);
        let mut log = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(root.join("pip.log"))?;
        writeln!(log, "{cmd}")?;
        if let Err(e) = cmd.output() {
            let _ = fs_err::remove_dir_all(&tmp);
            return Err(e);
        }
        fs_err::write(tmp.join(".complete"), b"")?;
        if dir.exists() {
            fs_err::remove_dir_all(&dir)?;
        }
        fs_err::rename(&tmp, &dir)?;
    }
    let mut wheels: Vec<PathBuf> = fs_err::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    wheels.sort();
    Ok(Some(Wheelhouse {
        dir,
        requirements,
        wheels,
    }))
}

pub use crate::transport::hex;
