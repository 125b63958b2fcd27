//! `deb.deploy` and `rollback`: which .debs ship (the build record, loaded once into a
//! [`Release`]) and where (`deploy_packages`), the debconf answers and their check against the
//! packages' templates, then each host's preflight, upload, install and verify ([`fleet`]).

pub mod debconf_db;
mod error;
pub mod fleet;
pub mod reconfigure;
pub mod record;
mod release;
pub mod remote;
pub mod rollback;
pub mod ship;
pub mod templates;

pub use error::{Error, Preflight};
pub use release::Release;

use std::path::PathBuf;

use crate::error::Result;

use record::Shipment;

/// Which built packages go to which hosts (`deploy_packages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    /// Every built package on every host (the default).
    All,
    /// These packages on every host.
    Names(Vec<String>),
    /// Each package on the hosts of its roles.
    Hosts(Vec<(String, Vec<String>)>),
}

impl Select {
    /// Whether `package` ships at all.
    #[must_use]
    pub fn wants(&self, package: &str) -> bool {
        match self {
            Select::All => true,
            Select::Names(n) => n.iter().any(|p| p == package),
            Select::Hosts(m) => m.iter().any(|(p, _)| p == package),
        }
    }

    /// Whether `package` ships to `host`.
    #[must_use]
    pub fn wants_on(&self, package: &str, host: &str) -> bool {
        match self {
            Select::Hosts(m) => m
                .iter()
                .any(|(p, hs)| p == package && hs.iter().any(|h| h == host)),
            other => other.wants(package),
        }
    }

    /// The names it lists, if any.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        match self {
            Select::All => Vec::new(),
            Select::Names(n) => n.clone(),
            Select::Hosts(m) => m.iter().map(|(p, _)| p.clone()).collect(),
        }
    }

    /// The shipments it selects from the build record; a name the record lacks is an error.
    pub fn pick(&self, all: Vec<Shipment>) -> Result<Vec<Shipment>> {
        for name in self.names() {
            if !all.iter().any(|s| s.package == name) {
                return Err(Error::NotBuilt {
                    name,
                    built: all.iter().map(|s| s.package.clone()).collect(),
                }
                .into());
            }
        }
        Ok(all.into_iter().filter(|s| self.wants(&s.package)).collect())
    }
}

/// One `deb.deploy` or `rollback` as planned from the env and the call.
#[allow(clippy::struct_excessive_bools)] // independent switches, as apt-get's options are
#[derive(Debug, Clone)]
pub struct Job {
    /// The env's name, for the commands hints give.
    pub env: String,
    /// Where the build record and the .debs are (`package_dir`).
    pub package_dir: PathBuf,
    /// The env's `debconf` file.
    pub debconf: Option<PathBuf>,
    /// Where the `debconf` key is set (environments file, position, `env.debconf`), for errors.
    pub debconf_key: Option<debconf_db::KeyAt>,
    /// The answers read from outside the project (or decrypted in memory): used instead of
    /// reading `debconf`.
    pub debconf_text: Option<crate::secret::Secret>,
    pub select: Select,
    /// `deb_conffiles = 'new'`.
    pub conffiles_new: bool,
    /// `force=yes`: reinstall an identical version.
    pub force: bool,
    /// `allow_downgrade=yes` (or the env's `allow_downgrade`): install a lower version than the
    /// host has. Without it a downgrade is refused on both install paths, as apt refuses one;
    /// `rollback` always allows it.
    pub allow_downgrade: bool,
    /// `keep_releases`.
    pub keep: usize,
    /// `deploy_strategy = 'apt'`: the hosts' APT source (`dfab-<env>`) that each host installs
    /// the release from, instead of receiving the .deb from here.
    pub apt: Option<String>,
    /// A build step of the same run comes first: under `-n`, what it makes is what ships (a
    /// missing build record is not an error, and a recorded build of another version is not
    /// shown as the one to ship).
    pub after_build: Option<PlannedBuild>,
}

/// A `deb.build` planned before a deploy in the same run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlannedBuild {
    /// The version it makes (`version=`, else debian/changelog's newest entry), when known.
    pub version: Option<String>,
}
