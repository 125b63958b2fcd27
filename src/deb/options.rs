//! What the caller asks for: [`BuildOptions`], and what it gets back: [`BuiltPackage`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::DebError;

/// How to build: the project to read and where to put the packages.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The project root, holding `debian/`.
    pub project_dir: PathBuf,
    /// Where the `.deb` files and `.dfab-built.json` go (dragonfab's `package_dir`).
    pub out_dir: PathBuf,
    /// Overrides the version from `debian/changelog`.
    pub version: Option<String>,
    /// Compression of the `control.tar` and `data.tar` members.
    pub compression: Compression,
    /// Timestamp for every archive entry; defaults to the changelog date.
    pub source_date_epoch: Option<u64>,
    /// Whether to vendor wheels from `requirements.txt`.
    pub wheel: WheelMode,
    /// Package index for `pip wheel` (`--index-url`).
    pub wheelserver: Option<String>,
    /// Host to trust for that index (`--trusted-host`).
    pub wheelserver_trusted_host: Option<String>,
    /// Temporary directory for pip builds (passed as `TMPDIR`).
    pub pip_build_dir: Option<PathBuf>,
    /// Shell commands run in the project dir before packaging.
    pub build_commands: Vec<String>,
    /// Where the postinst creates the virtualenv; default `/opt/<pkg>/venv`.
    pub venv_path: Option<String>,
    /// Where the wheels are shipped; default `/usr/share/<pkg>/wheelhouse`.
    pub wheelhouse_path: Option<String>,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// One package written to `out_dir`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltPackage {
    pub path: PathBuf,
    pub package: String,
    pub version: String,
    pub arch: String,
    pub sha256: String,
    pub size: u64,
    /// Number of entries in `data.tar` (files, directories and links).
    pub files: usize,
}

/// What a build gave: its packages, and whether they are the last build's, reused unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub packages: Vec<BuiltPackage>,
    /// The inputs were those of the last build and its files intact: nothing was written.
    pub reused: bool,
    /// For each of `packages`, in order: the data-tar segments (gzip) it looked up in
    /// `.dfab/frames`, and how many it reused from there; empty when none was written in
    /// segments (zstd, xz, a reused build, dpkg-buildpackage's).
    pub segments: Vec<(usize, usize)>,
}

impl Build {
    /// Packages this build wrote.
    #[must_use]
    pub fn written(packages: Vec<BuiltPackage>) -> Self {
        Build {
            packages,
            reused: false,
            segments: Vec::new(),
        }
    }
}

/// Whether to vendor Python wheels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WheelMode {
    /// Vendor when `requirements.txt` exists.
    #[default]
    Auto,
    On,
    Off,
    /// The env did not set `wheel` (dragonfab's default): no wheels, and when
    /// `requirements.txt` exists the build warns once how to turn them on.
    Unset,
}

/// Compression of the archive members, with its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Level 1–9; written as parallel gzip members.
    Gzip(u32),
    /// Preset 0–9; multithreaded encoder.
    Xz(u32),
    /// Level 1–22; multithreaded encoder.
    Zstd(i32),
}

impl Default for Compression {
    /// gzip -6, compressed in parallel: every dpkg installs it, lintian accepts it, and on two
    /// cores it builds faster than `dpkg-deb`'s single-threaded gzip. zstd is faster still but
    /// needs dpkg >= 1.21.18 (Debian 12) and Debian 12's lintian calls it malformed; xz is the
    /// smallest and the slowest. Both are one `deb_compression` away.
    fn default() -> Self {
        Self::Gzip(6)
    }
}

impl Compression {
    /// Extension of the compressed tar members (`data.tar.<ext>`).
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Gzip(_) => "gz",
            Self::Xz(_) => "xz",
            Self::Zstd(_) => "zst",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gzip(l) => write!(f, "gzip:{l}"),
            Self::Xz(l) => write!(f, "xz:{l}"),
            Self::Zstd(l) => write!(f, "zstd:{l}"),
        }
    }
}

impl FromStr for Compression {
    type Err = DebError;

    /// `gzip`, `xz`, `zstd`, optionally with `:<level>`.
    fn from_str(s: &str) -> Result<Self, DebError> {
        let (name, level) = match s.split_once(':') {
            Some((n, l)) => (n, Some(l)),
            None => (s, None),
        };
        let bad = || DebError::Options(format!("invalid compression level in `{s}`"));
        let parse = |default: i64, max: i64| -> Result<i64, DebError> {
            let v = level.map_or(Ok(default), |l| l.parse::<i64>().map_err(|_| bad()))?;
            if (0..=max).contains(&v) {
                Ok(v)
            } else {
                Err(bad())
            }
        };
        match name {
            "gzip" | "gz" => Ok(Self::Gzip(u32::try_from(parse(6, 9)?).map_err(|_| bad())?)),
            "xz" => Ok(Self::Xz(u32::try_from(parse(6, 9)?).map_err(|_| bad())?)),
            "zstd" | "zst" => Ok(Self::Zstd(i32::try_from(parse(3, 22)?).map_err(|_| bad())?)),
            _ => Err(DebError::Options(format!(
                "unknown compression `{name}` (expected gzip, xz or zstd)"
            ))),
        }
    }
}
