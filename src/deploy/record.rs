//! Which .debs ship: exactly the packages of the last build record (`.dfab-built.json`), each
//! re-hashed here before anything leaves this machine.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::deb::manifest::{Manifest, FILE_NAME};
use crate::error::{Error, Result};

/// One package to ship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub path: PathBuf,
    /// Its file name, also its name on the hosts.
    pub file: String,
    pub package: String,
    pub version: String,
    pub sha256: String,
    pub size: u64,
}

/// The packages of the build record in `dir` (not yet verified).
pub fn load(dir: &Path) -> Result<Vec<Shipment>> {
    let Some(m) = Manifest::load(dir)? else {
        return Err(Error::other(
            format!(
                "no build record: {} does not exist",
                dir.join(FILE_NAME).display()
            ),
            Some(
                "build first: `dfab <env> deb.build` (deb.deploy ships what that build wrote)"
                    .into(),
            ),
        ));
    };
    Ok(m.packages
        .into_iter()
        .map(|e| Shipment {
            path: dir.join(&e.file),
            file: e.file,
            package: e.package,
            version: e.version,
            sha256: e.sha256,
            size: e.size,
        })
        .collect())
}

/// The build record's packages if it can be read, for `--dry-run` (never an error).
#[must_use]
pub fn peek(dir: &Path) -> Option<Vec<Shipment>> {
    load(dir).ok()
}

/// Hash the file again; it must be the one the build wrote.
pub fn verify(s: &Shipment) -> Result<()> {
    let got = sha256_file(&s.path).map_err(|e| {
        Error::other(
            format!(
                "{}: listed in the build record but unreadable: {e}",
                s.path.display()
            ),
            Some("rebuild with `dfab <env> deb.build`".into()),
        )
    })?;
    if got != s.sha256 {
        return Err(Error::other(
            format!(
                "{}: checksum mismatch: the build record says sha256 {}, the file has {got}",
                s.path.display(),
                s.sha256
            ),
            Some("the file changed after it was built; rebuild with `dfab <env> deb.build`".into()),
        ));
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
