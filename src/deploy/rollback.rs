//! One host's part of a `rollback`: reinstall a kept release (the last one installed and
//! working before the one to undo, see [`crate::releases::state::previous_release`], or
//! `version=X`) with the env's debconf answers and the downgrade allowed explicitly. The host's state is read once; the install
//! takes the kept file's sha256 on the host.

use crate::error::Result;
use crate::exec::record::read;
use crate::exec::step::RunCtx;
use crate::releases::state;
use crate::transport::Transport;

use super::error::Error;
use super::remote::InstallOpts;
use super::ship::{install_release, Change, Done, Target};
use super::{Job, Release};

/// Roll each of `packages` that `host` gets back to `version` (or the release before the
/// current one); what it did, in a few words.
pub fn roll_back(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    release: &Release,
    job: &Job,
    packages: &[String],
    version: Option<&str>,
) -> Result<Change> {
    let host = t.host().to_string();
    let mut did = Vec::new();
    let mut changed = false;
    let opts = InstallOpts {
        conffiles_new: job.conffiles_new,
        downgrade: true,
        debconf: release.debconf.is_some(),
        upload: None,
    };
    for p in packages.iter().filter(|p| job.select.wants_on(p, &host)) {
        let cmd = state::read_cmd(p);
        let (file, version) = match read(t, cx.rep, "read", cmd.clone())?.known() {
            // `-n`: the target is found in the host's history at run time.
            None => (
                "<kept-deb>".to_string(),
                version.unwrap_or("<previous-version>").to_string(),
            ),
            Some(o) => {
                let o = crate::transport::check(&host, &cmd, o)?;
                let mut st = state::parse(&o.stdout_str());
                if job.apt.is_some() {
                    // Through APT a release the host does not keep may be in the repository,
                    // which says so (or not) when the host asks it.
                    st.kept = with_history(&st);
                }
                let kept = state::rollback_target(&st, version).map_err(|why| {
                    Error::NoRollbackTarget {
                        host: host.clone(),
                        package: p.clone(),
                        why,
                    }
                })?;
                if st.configured() == Some(kept.version.as_str()) {
                    let after = match (version, state::previous_release(&st)) {
                        (
                            None,
                            Some(state::Previous::Top {
                                failed: Some(f), ..
                            }),
                        ) => format!(
                            " (the failed deploy of {f} left it installed and working; \
                             rollback:version=X goes further back)"
                        ),
                        _ => String::new(),
                    };
                    did.push(format!(
                        "{p} {} is already installed: nothing to do{after}",
                        kept.version
                    ));
                    continue;
                }
                (kept.file.clone(), kept.version.clone())
            }
        };
        let target = Target {
            package: p,
            file: &file,
            version: &version,
            sha256: "-",
            action: "rollback",
            commit: None,
        };
        if let Done::Installed(what) = install_release(
            t,
            cx,
            release.debconf.as_ref(),
            job,
            &target,
            None,
            opts,
            false,
        )? {
            changed = true;
            did.push(what);
        }
    }
    Ok(Change {
        what: did.join("; "),
        changed,
    })
}

/// The releases a host keeps, then those of its history that worked and it does not keep
/// (file `-`: fetched from the APT repository, under apt's own name), once each.
fn with_history(st: &state::HostState) -> Vec<state::Kept> {
    let mut kept = st.kept.clone();
    for e in st.history.iter().filter(|e| e.outcome == "ok") {
        if !kept.iter().any(|k| k.version == e.version) {
            kept.push(state::Kept {
                version: e.version.clone(),
                file: "-".into(),
            });
        }
    }
    kept
}
