//! `releases`: one read per host and package, printed as installed version, kept releases and
//! history.

use std::sync::Arc;

use crate::error::Result;
use crate::invocation::TaskCall;
use crate::releases::list::List;

use super::{PlanCtx, Step};

/// Plan the listing: the project's packages (as `rollback` finds them), or every package dfab
/// deployed on the host.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    if let Some(inst) = super::release_mode::instance(cx)? {
        return Ok(super::release_mode::list(cx, call, inst));
    }
    let job = super::deb_deploy::job(cx, false)?;
    let (packages, note) = super::rollback::packages(cx, &job).unwrap_or_default();
    let mut steps = super::rollback::note_step(&call.name, note);
    steps.push(Step::Host {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: Arc::new(List { packages }),
        warn_only: false,
    });
    Ok(steps)
}
