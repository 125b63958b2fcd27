//! `noop`: activates the environment (an LXC env's container is started) and does nothing else.

use crate::error::Result;
use crate::invocation::TaskCall;

use super::{PlanCtx, Step};

/// No steps: activation, which the registry asks for, is the whole point.
pub fn plan(_cx: &PlanCtx<'_>, _call: &TaskCall) -> Result<Vec<Step>> {
    Ok(Vec::new())
}
