//! Release mode (`install_mode = 'release'`): the same built .deb installed per instance, beside
//! others of the same app on one host, as Capistrano and `CommCare`'s `releases/` do: unpacked
//! into `releases/<version>-<UTC stamp>/` with its own venv, config rendered from the debconf
//! answers into `shared/`, and a `current` symlink switched atomically after the checks pass.
//! [`scripts`] refuses packages whose maintainer scripts it cannot stand in for, [`config`]
//! renders the answers, [`host`] builds the host program's `release` calls, [`routine`] is one
//! host's phases, [`actions`] the tasks' steps over the hosts and [`app`] the app's own
//! commands (`manage`, the `test` step's check) in a release.

pub mod actions;
pub mod app;
pub mod config;
mod error;
pub mod host;
pub mod routine;
pub mod scripts;

pub use error::Error;

use crate::settings::ReleaseMode;

/// One instance as a deploy, rollback or listing needs it: the release-mode settings and the
/// app's paths inside a release.
#[derive(Debug, Clone)]
pub struct Instance {
    pub rm: ReleaseMode,
    /// The env's name (for hints).
    pub env: String,
    /// `venv_path` (default `/opt/<package>/venv`): where in a release the venv is built.
    pub venv: String,
    /// `wheelhouse_path` (default `/usr/share/<package>/wheelhouse`): the vendored wheels in a
    /// release; without a `requirements.txt` there, no venv is built.
    pub wheelhouse: String,
    /// `migrate_command`, shell-ready: run in the new release before the switch.
    pub migrate: Option<String>,
    /// `health_url` and `health_timeout` (seconds), waited for after each restart.
    pub health: Option<(String, u64)>,
}
