//! `<out_dir>/.dfab-built.json`: exactly the packages the last build wrote, with their hashes and
//! the key of the inputs they were built from; written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BuiltPackage, DebError};

/// The manifest's file name inside `out_dir`.
pub const FILE_NAME: &str = ".dfab-built.json";

/// One built package, its path relative to `out_dir`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub file: String,
    pub package: String,
    pub version: String,
    pub arch: String,
    pub sha256: String,
    pub size: u64,
    pub files: usize,
    /// The file's stat data when it was written (size, mtime, ctime, inode), so a reuse can trust
    /// an untouched file without hashing it again (as git's index does).
    #[serde(default)]
    pub stat: Option<String>,
}

/// Stat data that changes whenever a file is written, replaced or has its mode changed.
#[must_use]
pub fn stat_fingerprint(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = fs_err::metadata(path).ok()?;
    Some(format!(
        "{}:{}.{}:{}.{}:{}",
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        m.ino()
    ))
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// Hash of everything the build read; equal keys mean an identical build.
    pub input_key: String,
    pub packages: Vec<Entry>,
    /// The git commit of the project the build was made from (40 hex digits), when the project
    /// is a git checkout with a commit; written by `deb.build`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Tracked files differed from that commit when the build was made.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dirty: bool,
}

impl Manifest {
    #[must_use]
    pub fn new(input_key: String, built: &[BuiltPackage]) -> Self {
        let packages = built
            .iter()
            .map(|b| Entry {
                file: b
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                package: b.package.clone(),
                version: b.version.clone(),
                arch: b.arch.clone(),
                sha256: b.sha256.clone(),
                size: b.size,
                files: b.files,
                stat: stat_fingerprint(&b.path),
            })
            .collect();
        Self {
            format: 1,
            input_key,
            packages,
            commit: None,
            dirty: false,
        }
    }

    /// Reads the manifest in `out_dir`, if there is a readable one.
    pub fn load(out_dir: &Path) -> Result<Option<Self>, DebError> {
        let path = out_dir.join(FILE_NAME);
        if !path.is_file() {
            return Ok(None);
        }
        let text = fs_err::read(&path)?;
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|source| DebError::Manifest { path, source })
    }

    /// The packages as [`BuiltPackage`]s under `out_dir`.
    #[must_use]
    pub fn built(&self, out_dir: &Path) -> Vec<BuiltPackage> {
        self.packages
            .iter()
            .map(|e| BuiltPackage {
                path: out_dir.join(&e.file),
                package: e.package.clone(),
                version: e.version.clone(),
                arch: e.arch.clone(),
                sha256: e.sha256.clone(),
                size: e.size,
                files: e.files,
            })
            .collect()
    }

    /// Writes to a temporary file in `out_dir`, then renames it into place.
    pub fn write(&self, out_dir: &Path) -> Result<PathBuf, DebError> {
        let path = out_dir.join(FILE_NAME);
        let mut json = serde_json::to_vec_pretty(self).map_err(|source| DebError::Manifest {
            path: path.clone(),
            source,
        })?;
        json.push(b'\n');
        let mut tmp = tempfile::Builder::new()
            .prefix(".dfab-built.")
            .tempfile_in(out_dir)
            .map_err(|e| {
                DebError::Io(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", out_dir.display()),
                ))
            })?;
        tmp.write_all(&json)?;
        super::publishable(tmp.as_file())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| {
            DebError::Io(std::io::Error::new(
                e.error.kind(),
                format!("{}: {}", path.display(), e.error),
            ))
        })?;
        Ok(path)
    }
}
