//! `facts`: each host's OS, kernel, architecture, CPUs, memory, free disk and init, and the
//! env's packages there (Ansible's `ansible all -m setup`, for dfab's hosts; in release mode the
//! instance's `current` and lock): a table, or JSON with `--json`.

use crate::error::Result;
use crate::invocation::TaskCall;

use super::{PlanCtx, Step};

/// One fleet step over the call's hosts (every host of the env by default).
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let job = super::deb_deploy::job(cx, false)?;
    // No packages known (no build, no `package_name`): the machine's facts alone.
    let (packages, _) = super::rollback::packages(cx, &job).unwrap_or_default();
    // Release mode: the package is the instance's (its `current` and lock), not dpkg's.
    let mode = crate::settings::InstallMode::from_env(cx.env)?;
    Ok(vec![Step::Fleet {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: crate::facts::Gather::new(packages, mode.release(), cx.json || call.flag("json")?),
    }])
}
