//! `rollback` and `rollback:version=X`: preflight like `deb.deploy` (the debconf file parsed,
//! every host checked), then each host reinstalls a kept release.

use std::sync::Arc;

use crate::deploy::preflight::Shared;
use crate::error::{Error, Result};
use crate::invocation::TaskCall;
use crate::releases::rollback::Rollback;

use super::{PlanCtx, Step};

/// Plan a rollback of the env's packages.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let job = super::deb_deploy::job(cx, false)?;
    let packages = packages(cx, &job)?;
    let shared = Arc::new(Shared::default());
    let hosts = cx.hosts.clone();
    let mut steps =
        super::deb_deploy::preflight(&call.name, "rollback", &job, &shared, &hosts, false);
    steps.push(Step::Host {
        task: call.name.clone(),
        hosts,
        action: Arc::new(Rollback {
            job,
            packages,
            version: call.kwarg("version").map(String::from),
            shared,
        }),
        warn_only: false,
    });
    Ok(steps)
}

/// The packages of this project: `deploy_packages`, else those of the build record.
pub fn packages(cx: &PlanCtx<'_>, job: &crate::deploy::Job) -> Result<Vec<String>> {
    let names = job.select.names();
    if !names.is_empty() {
        return Ok(names);
    }
    if let Some(ships) = crate::deploy::record::peek(&job.package_dir) {
        let mut out: Vec<String> = Vec::new();
        for s in ships {
            if !out.contains(&s.package) {
                out.push(s.package);
            }
        }
        return Ok(out);
    }
    Err(Error::usage(
        format!(
            "which packages? env `{}` sets no `deploy_packages` and there is no build record in {}",
            cx.env.name,
            job.package_dir.display()
        ),
        Some("set 'deploy_packages': ['<package>'] in the env".into()),
    ))
}
