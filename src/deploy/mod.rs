//! `deb.deploy`: which .debs ship (the build record) and where (`deploy_packages`), the debconf
//! answers and their check against the packages' templates, upload, install and verify.

pub mod debconf_db;
pub mod preflight;
pub mod record;
pub mod remote;
pub mod ship;
pub mod templates;

use std::path::PathBuf;

use crate::error::{Error, Result};

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
                let built: Vec<&str> = all.iter().map(|s| s.package.as_str()).collect();
                return Err(Error::other(
                    format!("deploy_packages names `{name}`, which the last build did not make"),
                    crate::suggestion::hint(&name, built.iter().copied(), "built packages"),
                ));
            }
        }
        Ok(all.into_iter().filter(|s| self.wants(&s.package)).collect())
    }
}

/// One `deb.deploy` or `rollback` as planned from the env and the call.
#[derive(Debug, Clone)]
pub struct Job {
    /// Where the build record and the .debs are (`package_dir`).
    pub package_dir: PathBuf,
    /// The env's `debconf` file.
    pub debconf: Option<PathBuf>,
    /// Where the `debconf` key is set (environments file, position, `env.debconf`), for errors.
    pub debconf_key: Option<debconf_db::KeyAt>,
    pub select: Select,
    /// `deb_conffiles = 'new'`.
    pub conffiles_new: bool,
    /// `force=yes`: reinstall an identical version.
    pub force: bool,
    /// `keep_releases`.
    pub keep: usize,
}
