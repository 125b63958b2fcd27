//! LXC container lifecycle: ensure an environment's container runs with an address, remove it,
//! build the template it is cloned from, and reach it by attach.
//!
//! The lifecycle is planned as [`Step`]s from what exists, then carried out by a [`Backend`]:
//! liblxc in-process (`sys`, the default), or the `lxc-*` tools here or on `lxc_host` over ssh.
//! `--dry-run` prints the same steps as the commands one would run by hand.

pub mod attach;
pub mod backend;
pub mod env;
pub mod error;
pub mod key;
pub mod mirror;
pub mod name;
pub mod run;
pub mod spec;
pub mod step;
#[cfg(feature = "liblxc")]
pub mod sys;
pub mod template;
pub mod tool;
pub mod transport;

use std::time::{Duration, Instant};

pub use backend::{check_root, Backend};
pub use error::{LxcError, Result};
pub use spec::{CloneMode, LxcSpec, LxcTransport};
pub use step::{State, Step};

/// A running container and the address to reach it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub name: String,
    pub ipv4: String,
}

pub(crate) fn validate(spec: &LxcSpec) -> Result<()> {
    name::validate(&spec.name)?;
    name::validate(&spec.template)
}

/// The steps `ensure` takes from the container's state now (reads only).
fn steps(spec: &LxcSpec, backend: &dyn Backend) -> Result<Vec<Step>> {
    validate(spec)?;
    step::plan_ensure(
        spec,
        backend.state(&spec.name)?,
        || backend.configured_ipv4(&spec.name),
        || backend.state(&spec.template),
    )
}

/// The hand-run commands `ensure` would carry out now (for `--dry-run`): only reads state.
pub fn plan(spec: &LxcSpec, backend: &dyn Backend) -> Result<Vec<crate::transport::cmd::Cmd>> {
    let steps = steps(spec, backend)?;
    let lxcpath = backend.lxcpath();
    Ok(steps
        .iter()
        .map(|s| s.command(lxcpath.as_deref()))
        .collect())
}

/// Bring `spec`'s container to RUNNING with an IPv4 address: clone it from the template when
/// missing (or when `force_new`), start it when stopped, then wait up to `spec.timeout`.
/// `on_step` sees each step before it runs (for progress output).
pub fn ensure(
    spec: &LxcSpec,
    backend: &dyn Backend,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Running> {
    let steps = steps(spec, backend)?;
    // One deadline for RUNNING and the address together, from the first wait.
    let mut deadline = None;
    for step in &steps {
        on_step(step);
        match step {
            Step::WaitAddress {
                name,
                interface,
                timeout,
            } => {
                let deadline = *deadline.get_or_insert_with(|| Instant::now() + *timeout);
                let ipv4 = wait_ipv4(
                    backend,
                    name,
                    interface,
                    spec.ipv4.as_deref(),
                    deadline,
                    *timeout,
                )?;
                return Ok(Running {
                    name: name.clone(),
                    ipv4,
                });
            }
            Step::WaitRunning { name, timeout } => {
                let end = *deadline.get_or_insert_with(|| Instant::now() + *timeout);
                let left = end
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_secs(1));
                backend.apply(&Step::WaitRunning {
                    name: name.clone(),
                    timeout: left,
                })?;
            }
            _ => backend.apply(step)?,
        }
    }
    unreachable!("plan_ensure always ends with WaitAddress")
}

/// Poll until `interface` has an IPv4 address (`want`'s, when a static one was asked for).
fn wait_ipv4(
    backend: &dyn Backend,
    name: &str,
    interface: &str,
    want: Option<&str>,
    deadline: Instant,
    timeout: Duration,
) -> Result<String> {
    let want = want.map(|w| w.split('/').next().unwrap_or(w));
    loop {
        let ips = backend.ipv4(name, interface)?;
        let found = match want {
            Some(w) => ips.into_iter().find(|ip| ip == w),
            None => ips.into_iter().next(),
        };
        if let Some(ip) = found {
            return Ok(ip);
        }
        if Instant::now() >= deadline {
            return Err(LxcError::NoAddress {
                name: name.to_owned(),
                interface: interface.to_owned(),
                waited: timeout,
            });
        }
        std::thread::sleep(backend.poll_interval());
    }
}

/// Stop and destroy `spec`'s container; nothing to do when it does not exist. Returns the steps
/// taken.
pub fn remove(
    spec: &LxcSpec,
    backend: &dyn Backend,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Vec<Step>> {
    name::validate(&spec.name)?;
    let steps = step::plan_remove(spec, backend.state(&spec.name)?);
    for step in &steps {
        on_step(step);
        backend.apply(step)?;
    }
    Ok(steps)
}
