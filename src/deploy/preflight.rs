//! Preflight, before any host changes: the build record against its files, the debconf answers
//! against the packages' templates, then every host reachable with working sudo; a gate step
//! refuses the run if any host failed its check.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::exec::step::{HostAction, LocalAction, RunCtx};
use crate::transport::Transport;

use super::debconf_db::{self, DebconfDb};
use super::record::{self, Shipment};
use super::{remote, templates, Job};

/// What the steps of one deploy share at run time. A host that fails a step is reported by the
/// executor's per-host summary and takes no further steps.
#[derive(Debug, Default)]
pub struct Shared {
    pub ships: OnceLock<Vec<Shipment>>,
    pub debconf: OnceLock<Option<DebconfDb>>,
    /// Hosts that passed their preflight.
    pub passed: Mutex<Vec<String>>,
    /// For each host that passed, the releases it holds already: `(path, sha256)`.
    pub there: Mutex<HashMap<String, Vec<(String, String)>>>,
}

impl Shared {
    /// The host paths of every release of the build (any host's).
    fn release_paths(&self) -> Vec<String> {
        self.ships
            .get()
            .map(|ships| {
                ships
                    .iter()
                    .map(|s| remote::release_path(&s.package, &s.file))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Checks on this machine: the build record, the files, the debconf answers.
#[derive(Debug)]
pub struct LocalChecks {
    pub job: Job,
    pub shared: std::sync::Arc<Shared>,
    /// Whether the packages' templates are checked (deploy), or only the file parsed (rollback).
    pub templates: bool,
}

impl LocalAction for LocalChecks {
    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        let db = match &self.job.debconf {
            Some(p) => Some(debconf_db::load(p, self.job.debconf_key.as_ref())?),
            None => None,
        };
        if self.templates {
            if cx.dry_run && record::peek(&self.job.package_dir).is_none() {
                // `-n` before the first build: the run ships what the build step makes.
                cx.rep.info(&format!(
                    "deb.deploy: would ship the packages the build makes (no build record yet \
                     at {})",
                    self.job
                        .package_dir
                        .join(crate::deb::manifest::FILE_NAME)
                        .display()
                ));
                let _ = self.shared.ships.set(Vec::new());
                let _ = self.shared.debconf.set(db);
                return Ok(());
            }
            let all = record::load(&self.job.package_dir)?;
            let ships = self.job.select.pick(all)?;
            let mut tpl = Vec::new();
            for s in &ships {
                crate::releases::check_package_name(&s.package)?;
                record::verify(s)?;
                tpl.extend(templates::from_deb(&s.path)?);
            }
            let checked = templates::check(db.as_ref(), &tpl)?;
            for q in &checked.unanswered {
                cx.rep.warn(&format!(
                    "debconf question `{q}` has neither an answer{} nor a default",
                    self.job
                        .debconf
                        .as_ref()
                        .map(|p| format!(" in {}", p.display()))
                        .unwrap_or_default()
                ));
            }
            for s in &ships {
                cx.rep.info(&format!(
                    "deb.deploy: {} {} ({}, sha256 {} verified)",
                    s.package,
                    s.version,
                    s.file,
                    &s.sha256[..16]
                ));
            }
            let _ = self.shared.ships.set(ships);
        }
        let _ = self.shared.debconf.set(db);
        Ok(())
    }
}

/// On each host: sudo without a password, and the tools the install needs.
#[derive(Debug)]
pub struct HostChecks {
    pub shared: std::sync::Arc<Shared>,
    pub task: &'static str,
}

impl HostAction for HostChecks {
    fn run(&self, t: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let cmd =
            remote::preflight(&self.shared.release_paths()).without_sudo_if_root(t.login_user());
        cx.rep.command(t.host(), "check", &cmd);
        let mut there = String::new();
        let problem = match crate::hostside::exec(t, &cmd, None) {
            Err(e) => Some(e.to_string()),
            Ok(_) if t.recording() => None,
            Ok(o) if o.status != 0 && o.stderr_str().contains("password is required") => {
                Some(format!(
                    "sudo wants a password for `{}`; dfab runs `sudo -n` and never prompts \
                     (allow it NOPASSWD in /etc/sudoers.d, or log in as root)",
                    t.login_user()
                ))
            }
            Ok(o) if o.status != 0 => Some(format!(
                "preflight command failed (exit status {}): {}",
                o.status,
                remote::tail(&o.stderr_str(), 3)
            )),
            Ok(o) => {
                let text = o.stdout_str();
                let missing: Vec<&str> = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("missing "))
                    .collect();
                if text.lines().next() != Some("0") {
                    Some(format!(
                        "sudo did not give root (id -u said {:?})",
                        text.lines().next()
                    ))
                } else if !missing.is_empty() {
                    Some(format!("missing on the host: {}", missing.join(", ")))
                } else {
                    there = text;
                    None
                }
            }
        };
        let host = t.host().to_string();
        if let Some(p) = problem {
            return Err(Error::Transport {
                host,
                message: format!("preflight: {p}"),
                hint: Some(format!(
                    "{} stops after the preflight, before any host is changed",
                    self.task
                )),
            });
        }
        self.shared
            .there
            .lock()
            .expect("lock")
            .insert(host.clone(), remote::parse_there(&there));
        self.shared.passed.lock().expect("lock").push(host);
        Ok(if t.recording() {
            "would check sudo and the install tools".into()
        } else {
            "preflight passed".into()
        })
    }
}

/// Refuse the run unless every host passed its preflight.
#[derive(Debug)]
pub struct Gate {
    pub shared: std::sync::Arc<Shared>,
    pub hosts: usize,
    pub task: &'static str,
}

impl LocalAction for Gate {
    fn run(&self, _cx: &RunCtx<'_>) -> Result<()> {
        let passed = self.shared.passed.lock().expect("lock").len();
        if passed >= self.hosts {
            return Ok(());
        }
        Err(Error::other(
            format!(
                "{}: refused, no host was changed: only {passed} of {} hosts passed the preflight",
                self.task, self.hosts
            ),
            Some("the summary above names each host's problem".into()),
        ))
    }
}
