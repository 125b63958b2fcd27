//! The wrapped `deploy`: the env's sequence of tasks as stages, run under a deploy lock with a
//! journal after each step, maintenance on and off as `maintenance` says, rolling batches, and
//! on failure either maintenance off (no host changed), or the hosts named and the two ways on
//! (`deploy:resume=yes`, `deploy:revert=yes`), or the revert itself (`on_failure = 'revert'`).

// `Stop` (a task and an error) is made once per run and never sits on a hot path.
#![allow(clippy::result_large_err)]

mod checks;
mod error;

mod held;
pub mod interrupt;
pub mod journal;
pub mod lock;
mod revert;
mod run;
pub mod settings;
mod start;
mod verify;

pub use held::token_file as held_token_file;

use std::path::PathBuf;

use crate::deploy::fleet::Deploy;
use crate::deploy::Job;
use crate::exec::step::Step;
use crate::invocation::TaskCall;
use crate::transport::cmd::Cmd;
use std::sync::Arc;

pub use error::Error;
pub use settings::{Maintenance, OnFailure, Settings, Strategy};

/// What a task of the sequence is to the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `deb.build`, and `deb.publish` (`deploy_strategy = 'apt'`): this machine only, once,
    /// before the first stage that changes a host (and before the first rolling batch).
    Build,
    /// `web_mode:maintenance`.
    MaintenanceOn,
    /// `web_mode:live`.
    Live,
    /// `deb.deploy`: one fleet step that changes the hosts it installs on.
    Install,
    /// `db_migrate`, `database.migrate`: changes the database.
    Migrate,
    /// `web_restart`, `test`, `releases`, `web_mode:status`: change no release.
    Check,
    /// A project task or another built-in: every host step counts as a change.
    Other,
}

impl Kind {
    /// Classify a call of the sequence.
    #[must_use]
    pub fn of(call: &TaskCall, user_task: bool) -> Kind {
        if user_task {
            return Kind::Other;
        }
        let name = call.name.strip_prefix("dfab.").unwrap_or(&call.name);
        let mode = call.kwarg("mode").or(call.args.first().map(String::as_str));
        match (name, mode) {
            ("deb.build" | "deb.publish", _) => Kind::Build,
            ("web_mode", Some("maintenance")) => Kind::MaintenanceOn,
            ("web_mode", Some("live")) => Kind::Live,
            ("web_mode" | "web_restart" | "test" | "releases", _) => Kind::Check,
            ("deb.deploy", _) => Kind::Install,
            ("db_migrate" | "database.migrate", _) => Kind::Migrate,
            _ => Kind::Other,
        }
    }
}

/// One task of the sequence, planned.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The invocation as written in the sequence.
    pub word: String,
    pub call: TaskCall,
    pub kind: Kind,
    pub steps: Vec<Step>,
    /// Every host its steps run on, in order.
    pub hosts: Vec<String>,
}

impl Stage {
    /// Whether step `i` changes the hosts it runs on.
    #[must_use]
    pub fn changes(&self, i: usize) -> bool {
        match self.kind {
            Kind::Install | Kind::Migrate | Kind::Other => self.steps[i].hosts().is_some(),
            _ => false,
        }
    }
}

/// What `deploy` does: a fresh deploy, the rest of a failed one, or the revert of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Fresh,
    /// `deploy:resume=yes`: from the journal's first unfinished step; `force` accepts a changed
    /// build.
    Resume {
        force: bool,
    },
    /// `deploy:revert=yes`.
    Revert,
}

/// The whole planned deploy (a `LocalAction`: see `run.rs` and `describe.rs`).
#[derive(Debug)]
pub struct Pipeline {
    pub env: String,
    pub settings: Settings,
    pub mode: Mode,
    pub stages: Vec<Stage>,
    /// The key of the deploy lock taken: the package, or in release mode the instance's root
    /// (see [`lock::lock_path`]).
    pub lock_package: String,
    /// `install_mode = 'release'`: the install stage is the instance's release install (which
    /// runs the migrations in the new release before its switch, so the sequence's migration
    /// steps are skipped, and leaves `current` as it was when it fails).
    pub release_mode: bool,
    /// Every host of the deploy (the lock is taken on each).
    pub hosts: Vec<String>,
    /// The hosts the rolling batches go over (those of `deb.deploy`).
    pub rolling_hosts: Vec<String>,
    /// `deb.deploy`'s settings (build record, debconf, packages).
    pub job: Option<Job>,
    /// `deb.deploy` itself: its install stage's one step, and the release it loads once.
    pub deploy: Option<Arc<Deploy>>,
    /// In release mode, `deb.deploy` itself: the release install, asked before the stages
    /// whether `current` runs this build already, and the release it loads once.
    pub release_deploy: Option<Arc<crate::instance::actions::Deploy>>,
    pub journal: PathBuf,
    /// `migrate_check_command` (or Django's) and the host it runs on, for `maintenance = 'auto'`.
    pub migrate_check: Option<(Cmd, String)>,
    /// The health wait (`health_url`) for rolling batches.
    pub health: Option<Cmd>,
    /// Live switch, for taking maintenance off again.
    pub live: Option<Cmd>,
    /// An LXC env: every host is its one container, at the activated address.
    pub lxc: bool,
    pub all_hosts: Vec<String>,
    /// The env's `-H`-less hosts left out of this run, for the summary.
    pub left_out: Vec<String>,
}
