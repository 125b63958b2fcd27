//! What `facts` says of a release-mode instance (`install_mode = 'release'`): its root, the
//! release `current` points at and its own deploy lock, with dpkg's host-wide state of the
//! package kept apart so it is never read as the instance's.

use serde::Serialize;

use super::Lock;

/// The package of a release-mode instance on a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InstancePackage {
    /// Always `release`: how the env installs this package.
    pub install_mode: &'static str,
    /// The instance, as its root on the host says.
    pub instance: Instance,
    /// dpkg's state of the package on the host: another env's (a dpkg-mode install), never
    /// this instance's.
    pub dpkg: Dpkg,
}

/// One instance under its `releases_root`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Instance {
    /// `instance` (the env's name by default).
    pub name: String,
    /// `releases_root` (`/srv/<package>/<instance>` by default).
    pub root: String,
    /// The release `current` points at; `None` when nothing was ever switched to.
    pub current: Option<Current>,
    /// The instance's deploy lock, `<releases_root>/.dfab/deploy.lock`.
    pub lock: Lock,
}

/// The release `current` points at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Current {
    /// The release's directory name under `releases/`: `<version>-<UTC stamp>`.
    pub release: String,
    /// The package version it holds (from its name).
    pub version: String,
    /// The commit it was built from, when its build recorded one.
    pub commit: Option<String>,
    /// When it was made current (UTC), by whom and how (`switch`, `rollback`), from the
    /// instance's history; empty when its history has no such line.
    pub at: String,
    pub user: String,
    pub action: String,
}

/// dpkg's view of a package: its version (empty when dpkg does not know it) and
/// `db:Status-Abbrev` (`ii`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dpkg {
    pub version: String,
    pub status: String,
}

/// The version a release's name holds: the name without its `-<stamp>` suffix, a `_` back to
/// the epoch's `:` (`dfab-host release prepare` names it so; a Debian version has no `_`).
#[must_use]
pub fn version_of(release: &str) -> String {
    release
        .rsplit_once('-')
        .map_or(release, |(v, _)| v)
        .replace('_', ":")
}

#[cfg(test)]
mod tests {
    use super::version_of;

    #[test]
    fn a_release_name_gives_its_version() {
        assert_eq!(version_of("1.0-1-20261207T050000Z"), "1.0-1");
        assert_eq!(version_of("2_1.0-1-20261207T050000Z.2"), "2:1.0-1");
    }
}
