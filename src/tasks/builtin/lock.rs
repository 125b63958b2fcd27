//! `lock:status`, `lock:acquire,message=...`, `lock:release` and `lock:release,force=yes`: the
//! package's deploy lock on each host, by hand.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::exec::record::read;
use crate::exec::step::{HostAction, RunCtx};
use crate::invocation::TaskCall;
use crate::pipeline::{journal, lock};
use crate::transport::Transport;

use super::{PlanCtx, Step};

/// What to do with the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Status,
    Acquire,
    Release,
    Force,
}

/// Plan the lock operation on each host of the env.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let force = call.flag("force")?;
    let op =
        match (call.kwarg("action").unwrap_or("status"), force) {
            ("status", false) => Op::Status,
            ("acquire", false) => Op::Acquire,
            ("release", false) => Op::Release,
            ("release", true) => Op::Force,
            (a, true) if a != "release" => {
                return Err(Error::usage(
                    "lock: `force=yes` goes with lock:release",
                    None,
                ))
            }
            (other, _) => return Err(Error::usage(
                format!("lock: unknown action `{other}`"),
                Some(
                    "lock:status, lock:acquire,message=..., lock:release or lock:release,force=yes"
                        .into(),
                ),
            )),
        };
    if call.kwarg("message").is_some() && op != Op::Acquire {
        return Err(Error::usage(
            "lock: `message=` goes with lock:acquire",
            None,
        ));
    }
    let package = super::deploy::lock_package(cx)?;
    let token_file = crate::pipeline::held_token_file(&journal::path(cx.project_dir, &cx.env.name));
    let mut steps = Vec::new();
    let token = match op {
        Op::Acquire => {
            let t = match fs_err::read_to_string(&token_file) {
                Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
                _ => lock::new_token()?,
            };
            Some(t)
        }
        Op::Release => {
            let from_file = fs_err::read_to_string(&token_file)
                .ok()
                .filter(|t| !t.trim().is_empty());
            let from_journal = journal::load(&journal::path(cx.project_dir, &cx.env.name))
                .ok()
                .flatten()
                .and_then(|j| j.token);
            Some(from_file.map(|t| t.trim().to_string()).or(from_journal).ok_or_else(|| {
                Error::usage(
                    format!("lock:release: this project holds no deploy lock token for `{}`", cx.env.name),
                    Some(format!("only the holder releases the lock; `dfab {} lock:release,force=yes` breaks it after confirmation", cx.env.name)),
                )
            })?)
        }
        _ => None,
    };
    if op == Op::Force {
        steps.push(Step::Confirm {
            task: call.name.clone(),
            question: format!(
                "break the deploy lock of {package} on {}, whoever holds it?",
                cx.hosts.join(", ")
            ),
        });
    }
    let what = match call.kwarg("message") {
        Some(m) => format!("lock:acquire by hand: {m}"),
        None => "lock:acquire by hand".into(),
    };
    steps.push(Step::Host {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: Arc::new(LockOp {
            op,
            package,
            token,
            what,
            token_file,
        }),
        warn_only: false,
    });
    Ok(steps)
}

#[derive(Debug)]
struct LockOp {
    op: Op,
    package: String,
    token: Option<String>,
    what: String,
    token_file: std::path::PathBuf,
}

impl LockOp {
    fn cmd(&self) -> crate::transport::cmd::Cmd {
        let t = self.token.as_deref().unwrap_or_default();
        match self.op {
            Op::Status => lock::status(&self.package),
            Op::Acquire => lock::acquire(&self.package, &lock::who(), &self.what, t, &[]),
            Op::Release => lock::release(&self.package, t),
            Op::Force => lock::force_release(&self.package),
        }
    }
}

impl HostAction for LockOp {
    fn run(&self, t: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let host = t.host().to_string();
        let Some(o) = read(t, cx.rep, "sudo", self.cmd())?.known() else {
            return Ok(match self.op {
                Op::Status => format!("would show the deploy lock of {}", self.package),
                Op::Acquire => format!("would take the deploy lock of {}", self.package),
                Op::Release => format!("would release the deploy lock of {}", self.package),
                Op::Force => format!("would break the deploy lock of {}", self.package),
            });
        };
        let out = o.stdout_str();
        if o.status == lock::HELD {
            return Err(Error::LockHeld {
                host,
                package: self.package.clone(),
                holder: lock::holder(&out),
            });
        }
        let o = crate::transport::check(&host, &self.cmd(), o)?;
        Ok(match self.op {
            Op::Status if out.trim() == "free" => format!("{} is free", self.package),
            Op::Status => format!(
                "{} is held by {} ({} s since the last refresh)",
                self.package,
                lock::holder(&out),
                out.lines()
                    .find_map(|l| l.strip_prefix("age="))
                    .unwrap_or("?")
            ),
            Op::Acquire => {
                if let Some(t) = &self.token {
                    if let Some(d) = self.token_file.parent() {
                        fs_err::create_dir_all(d)?;
                    }
                    crate::fsutil::write_atomic(&self.token_file, t.as_bytes())?;
                }
                unprefixed(&o.stdout_str())
            }
            Op::Release | Op::Force => {
                let _ = fs_err::remove_file(&self.token_file);
                unprefixed(&o.stdout_str())
            }
        })
    }
}

/// The host program's `lock: …` line without its prefix (the step's line names the task).
fn unprefixed(out: &str) -> String {
    let t = out.trim();
    t.strip_prefix("lock: ").unwrap_or(t).to_string()
}
