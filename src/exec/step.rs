//! `Step`: one thing a plan does, as data. User tasks and built-ins plan into the same values, so
//! `--dry-run`, logs, the deploy journal and tests all see every command before anything runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::environments::{Env, Project};
use crate::error::Result;
use crate::report::Reporter;
use crate::transport::cmd::Cmd;
use crate::transport::Transport;

use super::connect::Connector;

/// One step of a plan, in order. Host-scoped steps run on each of their `hosts` (at most
/// `parallel` at a time); the others run once, on this machine.
#[derive(Debug, Clone)]
pub enum Step {
    /// A command on each host (`run`, or `sudo` when `cmd.sudo` is set).
    Run {
        task: String,
        hosts: Vec<String>,
        cmd: Cmd,
        warn_only: bool,
        /// A built-in's own command (a script of dfab's, a host-program call), with what it does
        /// in a few words for `-n` (`take maintenance off`): shown with `-v`, its output kept,
        /// and one line per host saying how it ended. A user's command (`None`) is shown as
        /// Fabric shows it, with its output as it comes.
        builtin: Option<String>,
    },
    /// A command on this machine, once (`local`).
    Local {
        task: String,
        cmd: Cmd,
        warn_only: bool,
    },
    /// Copy a local file to each host: streamed, checksum-verified, renamed into place.
    Put {
        task: String,
        hosts: Vec<String>,
        local: PathBuf,
        remote: String,
        sudo: bool,
    },
    /// Copy a file from each host (into `<local>/<host>/` when there are several).
    Get {
        task: String,
        hosts: Vec<String>,
        remote: String,
        local: PathBuf,
    },
    /// A built-in's work on each host, including what it reads from the host at run time.
    Host {
        task: String,
        hosts: Vec<String>,
        action: Arc<dyn HostAction>,
        warn_only: bool,
    },
    /// A built-in's work on this machine (it may open hosts of its own through the connector).
    Here {
        task: String,
        action: Arc<dyn LocalAction>,
    },
    /// Work that spans its hosts as one routine (`deb.deploy`, `rollback`): checks here, a
    /// preflight on every host, a gate, then each host's change, with values handed from one
    /// phase to the next rather than through shared state.
    Fleet {
        task: String,
        hosts: Vec<String>,
        action: Arc<dyn FleetAction>,
    },
    /// A question the user answers before anything of the plan runs (`-y` answers yes); under
    /// `-n` it is shown, not asked.
    Confirm { task: String, question: String },
}

impl Step {
    /// The task this step belongs to (for the summary, the journal and errors).
    #[must_use]
    pub fn task(&self) -> &str {
        match self {
            Step::Run { task, .. }
            | Step::Local { task, .. }
            | Step::Put { task, .. }
            | Step::Get { task, .. }
            | Step::Host { task, .. }
            | Step::Here { task, .. }
            | Step::Fleet { task, .. }
            | Step::Confirm { task, .. } => task,
        }
    }

    /// Whether a failure of this step on a host is only a warning (`warn_only`).
    #[must_use]
    pub fn warn_only(&self) -> bool {
        matches!(
            self,
            Step::Run {
                warn_only: true,
                ..
            } | Step::Host {
                warn_only: true,
                ..
            } | Step::Local {
                warn_only: true,
                ..
            }
        )
    }

    /// The hosts a host-scoped step runs on; `None` for a step on this machine.
    #[must_use]
    pub fn hosts(&self) -> Option<&[String]> {
        match self {
            Step::Run { hosts, .. }
            | Step::Put { hosts, .. }
            | Step::Get { hosts, .. }
            | Step::Host { hosts, .. }
            | Step::Fleet { hosts, .. } => Some(hosts),
            Step::Local { .. } | Step::Here { .. } | Step::Confirm { .. } => None,
        }
    }
}

/// What every action may use while it runs.
pub struct RunCtx<'a> {
    pub project: &'a Project,
    pub env: &'a Env,
    pub project_dir: &'a Path,
    /// Opens hosts of this env, or of another env (`db_clone` reads its source's database).
    pub connector: &'a dyn Connector,
    pub rep: &'a dyn Reporter,
    /// `-y`: confirmations are answered yes.
    pub yes: bool,
    /// `-q`: no progress bars.
    pub quiet: bool,
    /// The activated hosts of the run (an LXC env's container address replaces its name).
    pub addresses: &'a [String],
    /// Hosts at a time (`--parallel`, else the env's `parallel`, else the default).
    pub parallel: usize,
    /// `-n`: the connector hands out recorders (see [`super::record`]), and effects on this
    /// machine are shown, not made. Actions run the same code either way; they look at this
    /// only where they act on this machine without a host handle (a local file, a build).
    pub dry_run: bool,
}

impl RunCtx<'_> {
    /// This machine as a host: the local transport, or under `-n` a recorder labelled
    /// `localhost`.
    #[must_use]
    pub fn local(&self) -> Box<dyn Transport> {
        let live = crate::transport::local::Local::new();
        if self.dry_run {
            Box::new(super::record::Recorder::new("localhost", live.login_user()))
        } else {
            Box::new(live)
        }
    }
}

/// A built-in's work on one host, written once for the real run and `-n`: under `-n` the
/// transport is a [`super::record::Recorder`], which shows each command and connects nowhere,
/// and whose reads come back unknown (see [`super::record::read`]).
pub trait HostAction: Send + Sync + fmt::Debug {
    /// Do the work on `host`; returns what changed, in a few words, for the step's line
    /// (`installed djdemo 1.1`), or an empty string for "ok".
    fn run(&self, host: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String>;
}

/// A built-in's work on this machine (it may open hosts through `cx.connector`, which under
/// `-n` hands out recorders).
pub trait LocalAction: Send + Sync + fmt::Debug {
    /// Whether it may reach the env's hosts (so an LXC env's container must be up first).
    fn reaches_hosts(&self) -> bool {
        true
    }
    /// Do the work.
    fn run(&self, cx: &RunCtx<'_>) -> Result<()>;
}

/// Work over several hosts as one routine: see [`Step::Fleet`].
pub trait FleetAction: Send + Sync + fmt::Debug {
    /// Do the work on `hosts` through the engine. `Err`: it stopped before any host changed
    /// (its checks on this machine failed). Otherwise each host's outcome: what changed, in a
    /// few words, or why that host failed.
    fn run(
        &self,
        eng: &super::engine::Engine<'_, '_>,
        hosts: &[String],
    ) -> Result<Vec<(String, Result<String>)>>;
}
