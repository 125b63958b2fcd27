//! dfab: build and ship Debian packages of web apps to named environments.

pub mod apt;
pub mod cli;
pub mod database;
pub mod deb;
pub mod deploy;
pub mod environments;
pub mod error;
pub mod exec;
pub mod facts;
pub mod fsutil;
pub mod git;
pub mod hostside;
pub mod instance;
pub mod inventory;
pub mod invocation;
pub mod lxc;
pub mod lxc_fleet;
pub mod media;
pub mod pipeline;
pub mod releases;
pub mod report;
pub mod run;
pub mod secret;
pub mod serve;
pub mod services;
pub mod settings;
pub mod suggestion;
pub mod tasks;
pub mod transport;
pub mod web_mode;

use std::ffi::OsString;
use std::process::ExitCode;

use error::Result;
use report::Reporter;
use tasks::plan::{Plan, Targets};

/// The whole program, behind a thin `main`.
pub fn main_entry<I: IntoIterator<Item = OsString>>(args: I) -> ExitCode {
    ExitCode::from(run::run(args))
}

/// Run-wide switches every task sees.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    pub yes: bool,
    pub dry_run: bool,
    /// `-q`: no progress bars or chatter.
    pub quiet: bool,
}

/// Make the plan's targets reachable; returns the host strings to connect to.
/// An LXC env's container is cloned, started and waited for here, unless every task acts on the
/// container itself (`lxc_remove`, `lxc.template`).
pub fn activate(plan: &Plan, ctx: &Context, rep: &dyn Reporter) -> Result<Vec<String>> {
    match &plan.targets {
        Targets::Hosts(h) => Ok(h.clone()),
        Targets::Lxc { .. } if !plan.activation => Ok(Vec::new()),
        Targets::Lxc { name, force_new } => {
            lxc::run::activate(&plan.env, name, *force_new, ctx.dry_run, rep)
        }
    }
}

/// How to reach the plan's hosts: ssh, or attach for an LXC env with `lxc_transport = 'attach'`.
#[must_use]
pub fn connector(plan: &Plan) -> Box<dyn exec::Connector> {
    match plan.targets {
        Targets::Lxc { .. } => Box::new(lxc::run::LiveConnector { lxc: true }),
        Targets::Hosts(_) => Box::new(lxc::run::LiveConnector { lxc: false }),
    }
}

/// Ask on the terminal; without one, refuse and point at `-y` (see [`report::confirm`]).
pub fn confirm(question: &str) -> Result<()> {
    report::confirm(question)
}
