//! What stops release mode, as values: the package, the scripts' lines, the host and release
//! are fields; the text and hint are made where the error is printed.

use std::path::PathBuf;

use super::scripts::Finding;

/// A failure of release mode.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The package's maintainer scripts do work release mode cannot reproduce.
    #[error("release mode refused, nothing done: {package}'s maintainer scripts ({}) do work release mode does not do:\n{}", .deb.display(), .findings.iter().map(|f| format!("  {}:{}: {} ({})", f.script, f.line, f.what, f.text)).collect::<Vec<_>>().join("\n"))]
    ScriptsRefused {
        env: String,
        package: String,
        deb: PathBuf,
        findings: Vec<Finding>,
    },
    /// The build record holds no package `package_name` names.
    #[error("release mode ships `{package}` (package_name), which the build record in {} lacks (it has {})", .dir.display(), .built.join(", "))]
    NotBuilt {
        package: String,
        dir: PathBuf,
        built: Vec<String>,
    },
    /// The new release was switched to, but the instance did not come up healthy: `current`
    /// went back (`back`), or, for the instance's first release, is gone again (`None`).
    #[error("[{host}] release {release} did not pass its health check after the switch; {} and {release} is marked failed:\n{cause}", .back.as_ref().map_or_else(|| "it was the instance's first, so there is no current release again".to_string(), |b| format!("current is back on {b}")))]
    Unhealthy {
        host: String,
        release: String,
        back: Option<String>,
        cause: String,
    },
    /// `deb.reconfigure`: the instance has no current release to reconfigure.
    #[error("[{host}] deb.reconfigure: instance {instance} has no current release in {root}: nothing to reconfigure, nothing done")]
    NoCurrent {
        host: String,
        instance: String,
        root: String,
        env: String,
    },
    /// `deb.reconfigure`: `current` runs another build than the one built here, whose
    /// templates would render the answers.
    #[error("[{host}] deb.reconfigure: current release {release} runs another build than {}, whose templates would render the answers: nothing done", .deb.display())]
    OtherBuild {
        host: String,
        release: String,
        deb: PathBuf,
        env: String,
    },
}

impl Error {
    /// What to do about it.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::ScriptsRefused { env, .. } => format!(
                "do that work in `release_setup_commands` of env `{env}` (run in each new release, \
                 with DFAB_RELEASE, DFAB_SHARED and the release's debconf answers in \
                 $DFAB_CONFIG/debconf.env), \
                 or deploy with install_mode = 'dpkg'"
            ),
            Error::NotBuilt { .. } => {
                "run deb.build, or set package_name to a built package".into()
            }
            Error::Unhealthy { .. } => {
                "`releases` lists the instance's releases; fix the release and deploy again".into()
            }
            Error::NoCurrent { env, .. } => format!(
                "deploy first: `dfab {env} deb.deploy` (it renders the answers into the new release)"
            ),
            Error::OtherBuild { env, .. } => format!(
                "`dfab {env} deb.deploy` ships this build with the answers; or build the current \
                 release's version again, then deb.reconfigure"
            ),
        })
    }
}

impl crate::error::DomainError for Error {
    fn hint(&self) -> Option<String> {
        Error::hint(self)
    }

    fn code(&self) -> u8 {
        match self {
            Error::ScriptsRefused { .. } | Error::NotBuilt { .. } => 2,
            Error::Unhealthy { .. } | Error::NoCurrent { .. } | Error::OtherBuild { .. } => 1,
        }
    }

    fn left_host_unchanged(&self) -> bool {
        matches!(
            self,
            Error::ScriptsRefused { .. }
                | Error::NotBuilt { .. }
                | Error::NoCurrent { .. }
                | Error::OtherBuild { .. }
        )
    }
}

crate::domain_error!(Error);
