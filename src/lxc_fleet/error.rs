//! What stops a fleet task, as values: the members, logs, commands and who suspended the fleet
//! are fields; the text and the hint are made where it is printed.

use std::path::PathBuf;

/// A failure of `lxc.bake`, `fleet.*` or a fleet deploy.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The fleet is suspended: nothing may change its members or its balancer.
    #[error("the fleet of `{env}` is suspended by {by} since {since}{}: nothing changed", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Suspended {
        env: String,
        by: String,
        since: String,
        reason: Option<String>,
    },
    /// New members failed to come up; the old ones (if any) still serve and the balancer is as
    /// it was.
    #[error("{} of the new members failed, the balancer is unchanged:\n{}", .failed.len(), .failed.iter().map(|(m, why, log)| format!("  {m}: {why} (log: {})", log.display())).collect::<Vec<_>>().join("\n"))]
    MembersFailed {
        env: String,
        /// `(member, why, its log file as shown: from the project directory)`.
        failed: Vec<(String, String, PathBuf)>,
        /// `keep_failed`: the failed members were kept.
        kept: bool,
    },
    /// A bake step failed in the bake container.
    #[error("lxc.bake: `{command}` failed in {container} ({status})\n{tail}")]
    BakeFailed {
        container: String,
        command: String,
        status: String,
        /// The last lines of its output.
        tail: String,
    },
    /// A kept member did not come back healthy: the balancer still sends traffic to the live
    /// members, and the kept ones are stopped again.
    #[error("rollback: {member} did not come back: {why} (log: {}); the balancer is unchanged", .log.display())]
    RollbackFailed {
        env: String,
        member: String,
        why: String,
        /// Its log file as shown: from the project directory.
        log: PathBuf,
    },
    /// No bake to create members from.
    #[error("no bake of `{env}` to create the fleet from")]
    NoBake { env: String },
    /// The fleet has no members yet.
    #[error("the fleet of `{env}` has no members")]
    NoFleet { env: String },
    /// The fleet exists already.
    #[error("the fleet of `{env}` exists already ({members} members)")]
    Exists { env: String, members: usize },
    /// `rollback` with no older members kept.
    #[error("no earlier members of `{env}` are kept to switch back to")]
    NothingToRollBack { env: String },
    /// No static address left in `fleet['addresses']`.
    #[error("no free address left in the fleet's `addresses` ({used} in use)")]
    NoAddress { env: String, used: usize },
    /// The balancer's config failed `nginx -t`, or nginx failed to start or reload.
    #[error("the balancer of `{env}`: `{command}` failed:\n{tail}")]
    Balancer {
        env: String,
        command: String,
        tail: String,
    },
    /// The balancer's container lacks a program the balancer needs (nginx; curl for its probes).
    #[error("fleet['balancer']: the container {container} has no {}: the balancer runs nginx there and asks it with curl", .missing.join(" or "))]
    BalancerTools {
        env: String,
        container: String,
        missing: Vec<String>,
    },
    /// `lxc_host` could not be reached by ssh.
    #[error("the fleet of `{env}` is on lxc_host, which ssh could not reach: `{command}` failed:\n{tail}")]
    LxcHost {
        env: String,
        command: String,
        tail: String,
    },
    /// Another dfab run is changing the fleet.
    #[error("another dfab run is changing the fleet of `{env}` (it holds {}): nothing changed", .lock.display())]
    Busy { env: String, lock: PathBuf },
    /// The state file could not be read.
    #[error("the fleet state {} is unreadable: {reason}", .path.display())]
    BadState { path: PathBuf, reason: String },
}

impl crate::error::DomainError for FleetError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            FleetError::Suspended { env, .. } => {
                format!("`dfab {env} fleet.resume` lets dfab change it again")
            }
            FleetError::MembersFailed { kept: true, .. } => {
                "the failed members are kept (keep_failed) with no traffic: look inside with `lxc-attach -n <member>`; the next deploy (or fleet.destroy) removes them".into()
            }
            FleetError::MembersFailed { .. } => {
                "each failed member's log says what it ran and what it answered".into()
            }
            FleetError::BakeFailed { .. } => {
                "the bake container was removed; fix the command and bake again".into()
            }
            FleetError::RollbackFailed { env, .. } => format!(
                "a member's app must start on boot (user_data ran on its first boot only); `dfab {env} fleet.status` shows the fleet"
            ),
            FleetError::NoBake { env } => format!("run `dfab {env} deb.build lxc.bake` first"),
            FleetError::NoFleet { env } => format!("run `dfab {env} fleet.create` first"),
            FleetError::Exists { env, .. } => {
                format!("deploy to it (`dfab {env} deploy`), or `dfab {env} fleet.destroy` first")
            }
            FleetError::NothingToRollBack { .. } => {
                "bluegreen_keep old fleets are kept; a serial deploy keeps none".into()
            }
            FleetError::NoAddress { .. } => {
                "list more addresses in fleet['addresses'] (twice the size serves a bluegreen deploy)".into()
            }
            FleetError::Balancer { .. } => {
                "the running balancer keeps its last good config".into()
            }
            FleetError::BalancerTools { container, .. } => format!(
                "install them in it (`lxc-attach -n {container} -- apt-get install -y nginx-light curl`), or name a container (or an lxc_template) that has them"
            ),
            FleetError::LxcHost { .. } => {
                "check `lxc_host` and `lxc_host_ssh_options`: dfab logs in without a password (a key or an agent)".into()
            }
            FleetError::Busy { env, .. } => {
                format!("wait for it to end; `dfab {env} fleet.status` shows the fleet meanwhile")
            }
            FleetError::BadState { .. } => return None,
        })
    }
}

crate::domain_error!(FleetError);
