//! The built-in tasks' planners, one module each: each turns a checked call into [`Step`]s from
//! the env and the project alone. Their domain modules (`deb`, `lxc`, …) do the work.

pub mod app_test;
pub mod apt;
pub mod data_refresh;
pub mod database;
pub mod deb_build;
pub mod deb_deploy;
pub mod deb_reconfigure;
pub mod deploy;
pub mod facts;
pub mod init;
pub mod lock;
pub mod lxc;
pub mod lxc_fleet;
pub mod manage;
pub mod noop;
pub mod release_mode;
pub mod releases;
pub mod rollback;
pub mod services;
pub mod web_mode;
pub mod web_restart;

use std::path::Path;

use crate::environments::{Env, Project};

use super::plan::Targets;

#[allow(unused_imports)]
pub(crate) use crate::exec::step::Step;

/// What a planner sees: the env, the project, and the hosts this call runs on.
pub struct PlanCtx<'a> {
    pub project: &'a Project,
    pub env: &'a Env,
    pub targets: &'a Targets,
    /// The project directory (`local_dir` applied).
    pub project_dir: &'a Path,
    /// The hosts of this call: its host keywords, else the built-in's default roles, else every
    /// host of the env. For an LXC env, the container's name (resolved when it starts).
    pub hosts: Vec<String>,
    /// Every host of the env (the `-H` list when one was given).
    pub all_hosts: &'a [String],
    /// `-H` was given: it limits every step, a built-in's default roles included.
    pub hosts_given: bool,
    /// An earlier call of this plan builds the packages (`deb.build`): under `-n` there may be
    /// no build record yet, and that is not an error.
    pub built: Option<crate::deploy::PlannedBuild>,
    /// `--json`: print JSON where the task can (`facts`).
    pub json: bool,
}
