//! `rollback`: on each host, reinstall a kept release (the one before the current in deploy
//! order, see [`super::history::stack`], or `version=X`) with the env's debconf answers and the
//! downgrade allowed explicitly.

use std::sync::Arc;

use crate::deploy::preflight::Shared;
use crate::deploy::remote::{self, InstallOpts};
use crate::deploy::ship::{self, exec, Target};
use crate::deploy::Job;
use crate::error::{Error, Result};
use crate::exec::record::read;
use crate::exec::step::{HostAction, RunCtx};
use crate::transport::cmd::{quote, Cmd};
use crate::transport::Transport;

use super::state;

/// Roll each of `packages` back on a host.
#[derive(Debug)]
pub struct Rollback {
    pub job: Job,
    pub packages: Vec<String>,
    pub version: Option<String>,
    pub shared: Arc<Shared>,
}

fn sha_cmd(package: &str, file: &str) -> Cmd {
    Cmd::shell(format!(
        "sha256sum {} | cut -d' ' -f1",
        quote(&remote::release_path(package, file))
    ))
    .sudo(None)
}

impl HostAction for Rollback {
    fn run(&self, t: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let host = t.host().to_string();
        let mut did = Vec::new();
        for p in self
            .packages
            .iter()
            .filter(|p| self.job.select.wants_on(p, &host))
        {
            let Some(o) = read(t, cx.rep, "read", state::read_cmd(p))?.known() else {
                // `-n`: the target is found in the host's history at run time.
                let want = self
                    .version
                    .as_deref()
                    .unwrap_or("the release before the current one");
                let file = format!("<the kept .deb of {want}>");
                exec(t, cx, "check", sha_cmd(p, &file))?;
                let target = Target {
                    package: p,
                    file: &file,
                    version: want,
                    sha256: "<sha256>",
                    action: "rollback",
                };
                let opts = InstallOpts {
                    conffiles_new: self.job.conffiles_new,
                    downgrade: true,
                    debconf: self.job.debconf.is_some(),
                };
                if let ship::Done::Installed(what) =
                    ship::install_release(t, cx, &self.shared, &self.job, &target, opts, false)?
                {
                    did.push(what);
                }
                continue;
            };
            let o = crate::transport::check(&host, &state::read_cmd(p), o)?;
            let st = state::parse(&o.stdout_str());
            let kept = state::rollback_target(&st, self.version.as_deref())
                .map_err(|why| Error::Transport {
                    host: host.clone(),
                    message: format!("rollback of {p}: {why}"),
                    hint: Some("`rollback:version=X` picks one of the kept releases".into()),
                })?
                .clone();
            if st.configured() == Some(kept.version.as_str()) {
                did.push(format!(
                    "{p} {} is already installed: nothing to do",
                    kept.version
                ));
                continue;
            }
            let o = exec(t, cx, "check", sha_cmd(p, &kept.file))?;
            let sha = o.stdout_str().trim().to_string();
            let target = Target {
                package: p,
                file: &kept.file,
                version: &kept.version,
                sha256: &sha,
                action: "rollback",
            };
            let opts = InstallOpts {
                conffiles_new: self.job.conffiles_new,
                downgrade: true,
                debconf: self.job.debconf.is_some(),
            };
            if let ship::Done::Installed(what) =
                ship::install_release(t, cx, &self.shared, &self.job, &target, opts, false)?
            {
                did.push(what);
            }
        }
        Ok(did.join("; "))
    }
}
