//! Which .debs ship: exactly the packages of the last build record (`.dfab-built.json`), each
//! re-hashed here before anything leaves this machine. This is the one place the record is read
//! from disk; a run reads it once, into a [`super::Release`].

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::deb::manifest::Manifest;
use crate::error::Result;

use super::Error;

/// One built package to ship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub path: PathBuf,
    /// Its file name, also its name on the hosts.
    pub file: String,
    pub package: String,
    pub version: String,
    /// Lowercase hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

/// The packages of the build record in `dir` (not yet verified); `None` when there is no
/// record.
pub fn read(dir: &Path) -> Result<Option<Vec<Shipment>>> {
    Ok(read_stamped(dir)?.map(|(s, _)| s))
}

/// [`read`], with the git commit the build was made from as the history keeps it (`<hash>`, or
/// `<hash>-dirty` when tracked files had changed), if the build recorded one.
pub fn read_stamped(dir: &Path) -> Result<Option<(Vec<Shipment>, Option<String>)>> {
    let Some(m) = Manifest::load(dir)? else {
        return Ok(None);
    };
    let commit = m.commit.as_ref().map(|c| {
        if m.dirty {
            format!("{c}-dirty")
        } else {
            c.clone()
        }
    });
    Ok(Some((
        m.packages
            .into_iter()
            .map(|e| Shipment {
                path: dir.join(&e.file),
                file: e.file,
                package: e.package,
                version: e.version,
                sha256: e.sha256,
                size: e.size,
            })
            .collect(),
        commit,
    )))
}

/// The build record's `(package, file)` pairs, if there is a readable record (never an error):
/// for decisions made before this run's build step may write a new record (which package's
/// lock, which releases a host may hold already).
#[must_use]
pub fn peek_files(dir: &Path) -> Option<Vec<(String, String)>> {
    read(dir)
        .ok()
        .flatten()
        .map(|s| s.into_iter().map(|s| (s.package, s.file)).collect())
}

/// The build record's package names, as [`peek_files`] reads them.
#[must_use]
pub fn package_names(dir: &Path) -> Option<Vec<String>> {
    peek_files(dir).map(|f| f.into_iter().map(|(p, _)| p).collect())
}

/// Hash the file again; it must be the one the build wrote.
/// `env` names the env in the hint.
pub fn verify(s: &Shipment, env: &str) -> Result<()> {
    let got = sha256_file(&s.path).map_err(|source| Error::Unreadable {
        path: s.path.clone(),
        env: env.to_string(),
        source,
    })?;
    if got != s.sha256 {
        return Err(Error::Checksum {
            path: s.path.clone(),
            env: env.to_string(),
            want: s.sha256.clone(),
            got,
        }
        .into());
    }
    Ok(())
}

/// Lowercase hex SHA-256 of a file, read in blocks.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = fs_err::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(crate::transport::hex(&h.finalize()))
}
