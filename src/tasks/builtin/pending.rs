//! Built-ins whose implementation has not landed: planning them fails with exit code 3.

use crate::error::{Error, Result};
use crate::invocation::TaskCall;

use super::{PlanCtx, Step};

/// Always `NotImplemented`, so nothing runs.
pub fn plan(_cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    Err(Error::NotImplemented {
        task: call.name.trim_start_matches("dfab.").to_string(),
    })
}
