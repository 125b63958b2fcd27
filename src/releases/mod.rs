//! Releases on a host: each package's state directory `/var/lib/dfab/<package>/` with its kept
//! .debs (`releases/`), its lock and its append-only `history`; keep N, and what rollback picks.

pub mod history;
pub mod list;
pub mod state;

use crate::error::{Error, Result};

/// Where dfab keeps everything about `package` on a host.
#[must_use]
pub fn state_dir(package: &str) -> String {
    format!("/var/lib/dfab/{package}")
}

/// The kept .debs of `package`.
#[must_use]
pub fn releases_dir(package: &str) -> String {
    format!("{}/releases", state_dir(package))
}

/// `keep_releases` when the env does not set it.
pub const DEFAULT_KEEP: usize = 5;

/// A Debian package name (policy 5.6.1): it becomes a path on the host, so nothing else passes.
pub fn check_package_name(name: &str) -> Result<()> {
    if crate::deb::control::is_package_name(name) {
        Ok(())
    } else {
        Err(Error::other(
            format!("`{name}` is not a Debian package name"),
            Some("package names are lowercase letters, digits, `+`, `-` and `.`".into()),
        ))
    }
}
