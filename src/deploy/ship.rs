//! Upload each release to its hosts (skipped when the host holds the same sha256), then install
//! it with the debconf answers, verify it with `dpkg-query`, record it in the history and prune.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::exec::step::{HostAction, RunCtx};
use crate::releases::history::{self, Outcome, Record};
use crate::releases::state;
use crate::transport::cmd::Cmd;
use crate::transport::{Output, Transport};

use super::preflight::Shared;
use super::record::Shipment;
use super::remote::{self, InstallOpts};
use super::Job;

/// Run one command on the host, showing it first (with `-v`; a recorder only shows it).
pub fn exec(t: &mut dyn Transport, cx: &RunCtx<'_>, verb: &str, cmd: Cmd) -> Result<Output> {
    crate::exec::record::exec(t, cx.rep, verb, cmd)
}

fn shipments<'a>(shared: &'a Shared, job: &Job, host: &str) -> Result<Vec<&'a Shipment>> {
    let ships = shared
        .ships
        .get()
        .ok_or_else(|| Error::other("deb.deploy: the preflight did not run", None))?;
    Ok(ships
        .iter()
        .filter(|s| job.select.wants_on(&s.package, host))
        .collect())
}

/// Upload every release this host gets.
#[derive(Debug)]
pub struct Upload {
    pub job: Job,
    pub shared: Arc<Shared>,
}

impl HostAction for Upload {
    fn run(&self, t: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let host = t.host().to_string();
        let there = self.shared.there.lock().expect("lock").get(&host).cloned();
        let mut sent = Vec::new();
        let mut had = Vec::new();
        for s in shipments(&self.shared, &self.job, &host)? {
            if upload_one(t, cx, s, there.as_deref())? {
                sent.push(s.file.as_str());
            } else {
                had.push(s.file.as_str());
            }
        }
        let verb = if t.recording() {
            "would upload"
        } else {
            "uploaded"
        };
        Ok(match (sent.is_empty(), had.is_empty()) {
            (true, true) => "nothing to upload".into(),
            (false, true) => format!("{verb} {}", sent.join(", ")),
            (true, false) => format!("{} already there (same sha256)", had.join(", ")),
            (false, false) => format!(
                "{verb} {}; {} already there",
                sent.join(", "),
                had.join(", ")
            ),
        })
    }
}

/// Upload one release unless the host holds it with the same sha256: `there` is what the
/// preflight found on the host (asked again when there is no preflight's word on it).
fn upload_one(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    s: &Shipment,
    there: Option<&[(String, String)]>,
) -> Result<bool> {
    let dest = remote::release_path(&s.package, &s.file);
    let sha = if let Some(there) = there {
        there
            .iter()
            .find(|(p, _)| *p == dest)
            .map(|(_, sha)| sha.clone())
    } else {
        let check = remote::upload_check(&s.package, &s.file);
        let o = exec(t, cx, "check", check.clone())?;
        let o = crate::transport::check(t.host(), &check, o)?;
        o.stdout_str().split_whitespace().next().map(String::from)
    };
    if sha.as_deref() == Some(s.sha256.as_str()) {
        return Ok(false);
    }
    let dirs = [
        crate::releases::state_dir(&s.package),
        crate::releases::releases_dir(&s.package),
    ];
    t.put_making(&s.path, &dest, true, &dirs, cx.rep)?;
    Ok(true)
}

/// Install every release this host got.
#[derive(Debug)]
pub struct Install {
    pub job: Job,
    pub shared: Arc<Shared>,
}

impl HostAction for Install {
    fn run(&self, t: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let host = t.host().to_string();
        let mut did = Vec::new();
        for s in shipments(&self.shared, &self.job, &host)? {
            let target = Target {
                package: &s.package,
                file: &s.file,
                version: &s.version,
                sha256: &s.sha256,
                action: "deploy",
            };
            let opts = InstallOpts {
                conffiles_new: self.job.conffiles_new,
                downgrade: false,
                debconf: self.job.debconf.is_some(),
            };
            match install_release(
                t,
                cx,
                &self.shared,
                &self.job,
                &target,
                opts,
                !self.job.force,
            )? {
                Done::Unchanged => did.push(format!(
                    "{} {} is already installed: nothing to do (deb.deploy:force=yes reinstalls)",
                    s.package, s.version
                )),
                Done::Installed(what) => did.push(what),
            }
        }
        Ok(did.join("; "))
    }
}

/// The release an install puts on a host.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub package: &'a str,
    pub file: &'a str,
    pub version: &'a str,
    pub sha256: &'a str,
    /// `deploy` or `rollback`, for the history.
    pub action: &'a str,
}

/// Append a history line (when the install script did not get to write it); a failure to
/// write it is a warning.
fn record(t: &mut dyn Transport, cx: &RunCtx<'_>, r: &Target<'_>, outcome: Outcome) {
    let line = Record {
        package: r.package,
        version: r.version,
        sha256: r.sha256,
        outcome,
        action: r.action,
    };
    let cmd = history::append(&line, &history::local_user());
    match exec(t, cx, "sudo", cmd) {
        Ok(o) if o.status == 0 => {}
        Ok(o) => cx.rep.warn(&format!(
            "[{}] could not append to the history of {}: {}",
            t.host(),
            r.package,
            o.stderr_str().trim()
        )),
        Err(e) => cx.rep.warn(&format!(
            "[{}] could not append to the history: {e}",
            t.host()
        )),
    }
}

/// A failed install of `r`: recorded in the history, then the host's error.
fn failed_install(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    r: &Target<'_>,
    message: String,
) -> Error {
    record(t, cx, r, Outcome::Failed);
    failed(t, message)
}

/// A failure of one host, for the executor's summary.
fn failed(t: &dyn Transport, message: String) -> Error {
    Error::Transport {
        host: t.host().to_string(),
        message,
        hint: Some(
            "the host keeps its kept releases and its history; `dfab <env> releases` shows them"
                .into(),
        ),
    }
}

/// What [`install_release`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// The release was installed already (`skip_same`): an `unchanged` history line only.
    Unchanged,
    /// Installed (or rolled back to) and verified: what, for the log.
    Installed(String),
}

/// Install a release already on the host, verify it, record it and prune after success, in one
/// remote command (plus one to prune when releases beyond `keep_releases` are kept); says what
/// it did. With `skip_same`, a release already installed is left alone.
pub fn install_release(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    shared: &Shared,
    job: &Job,
    r: &Target<'_>,
    opts: InstallOpts,
    skip_same: bool,
) -> Result<Done> {
    let mut cmd = remote::install(r, opts, skip_same, job.keep, &history::local_user());
    if opts.debconf {
        let db = shared
            .debconf
            .get()
            .and_then(Option::as_ref)
            .ok_or_else(|| {
                Error::other(
                    "deb.deploy: the debconf file was not read by the preflight",
                    None,
                )
            })?;
        cmd = cmd.stdin(db.text.expose().as_bytes().to_vec());
    }
    let out = exec(t, cx, "sudo", cmd)?;
    if t.recording() {
        return Ok(Done::Installed(format!(
            "would {} {} {}",
            if r.action == "rollback" {
                "roll back to"
            } else {
                "install"
            },
            r.package,
            r.version
        )));
    }
    let rep = remote::parse_install(&out.stdout_str());
    if rep.history_failed {
        cx.rep.warn(&format!(
            "[{}] could not append to the history of {}",
            t.host(),
            r.package
        ));
    }
    if rep.unchanged && out.status == 0 {
        return Ok(Done::Unchanged);
    }
    let text = format!("{}{}", rep.output, out.stderr_str());
    let Some((status, now)) = rep.after else {
        // The script stopped before the install ended (or never started it).
        let message = format!(
            "installing {} {} failed (exit status {}); the last lines of apt/dpkg:\n{}",
            r.package,
            r.version,
            out.status,
            remote::tail(&text, 15)
        );
        // A held lock means another deploy is installing: nothing of ours happened to record.
        if out.status == remote::LOCKED && rep.before.is_none() {
            return Err(failed(t, message));
        }
        return Err(failed_install(t, cx, r, message));
    };
    if status != 0 {
        return Err(failed(
            t,
            format!(
                "installing {} {} failed (exit status {status}); the last lines of apt/dpkg:\n{}",
                r.package,
                r.version,
                remote::tail(&text, 15)
            ),
        ));
    }
    if !now
        .as_ref()
        .is_some_and(|(v, st)| v == r.version && st.starts_with("ii"))
    {
        return Err(failed(
            t,
            format!(
                "after the install dpkg reports {} as {:?}, not {} installed and configured; \
                 the last lines of apt/dpkg:\n{}",
                r.package,
                now,
                r.version,
                remote::tail(&text, 15)
            ),
        ));
    }
    for f in remote::kept_conffiles(&text) {
        cx.rep.info(&format!(
            "[{}] kept the locally changed conffile {f} (deb_conffiles = 'new' installs the package's)",
            t.host()
        ));
    }
    let old = state::to_prune(&rep.state, job.keep, r.version);
    if !old.is_empty() {
        let o = exec(t, cx, "sudo", state::prune_cmd(r.package, &old))?;
        if o.status != 0 {
            cx.rep.warn(&format!(
                "[{}] pruning old releases failed: {}",
                t.host(),
                o.stderr_str().trim()
            ));
        }
    }
    let verb = if r.action == "rollback" {
        "rolled back to"
    } else {
        "installed"
    };
    Ok(Done::Installed(format!(
        "{verb} {} {}",
        r.package, r.version
    )))
}
