//! Running one planned step on some of its hosts, through the run's connection pool, and
//! giving back each host's result (by its planned name) instead of stopping the run.

use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::report::{Reporter, Stream};
use crate::tasks::exec::{get_dest, run_on};
use crate::tasks::pool::Pool;
use crate::tasks::step::{RunCtx, Step};
use crate::transport::cmd::Cmd;
use crate::transport::local::Local;
use crate::transport::{Output, Transport};

use super::journal::LOCAL;

/// The pipeline's hands.
pub(crate) struct Engine<'a, 'c> {
    pub cx: &'a RunCtx<'c>,
    pool: Pool<'a>,
    lxc: bool,
}

impl<'a, 'c> Engine<'a, 'c> {
    pub(crate) fn new(cx: &'a RunCtx<'c>, lxc: bool) -> Self {
        Engine {
            cx,
            pool: Pool::new(cx.connector, cx.env, cx.parallel.max(1)),
            lxc,
        }
    }

    /// The address to connect to for a planned host (an LXC env's container).
    fn addr(&self, h: &str) -> String {
        if self.lxc {
            self.cx
                .addresses
                .first()
                .cloned()
                .unwrap_or_else(|| h.to_string())
        } else {
            h.to_string()
        }
    }

    /// Run `f` on each of `hosts` (planned names), at most `parallel` at a time.
    pub(crate) fn on_hosts(
        &self,
        hosts: &[String],
        f: &(dyn Fn(&mut dyn Transport, &str) -> Result<()> + Sync),
    ) -> Vec<(String, Result<()>)> {
        let addrs: Vec<String> = hosts.iter().map(|h| self.addr(h)).collect();
        let res = self.pool.run(&addrs, f);
        hosts
            .iter()
            .cloned()
            .zip(res.into_iter().map(|(_, r)| r))
            .collect()
    }

    /// Run one command on each of `hosts`, echoed as `verb`; each host's output whatever its
    /// exit status.
    pub(crate) fn cmd_on(
        &self,
        hosts: &[String],
        verb: &str,
        cmd: &Cmd,
    ) -> Vec<(String, Result<Output>)> {
        self.cmd_on_with(hosts, verb, cmd, true)
    }

    /// [`Engine::cmd_on`], echoing the output lines as they come only when `echo` (the command
    /// itself is always shown): for commands whose output is data for dfab, not for the user.
    pub(crate) fn cmd_on_with(
        &self,
        hosts: &[String],
        verb: &str,
        cmd: &Cmd,
        echo: bool,
    ) -> Vec<(String, Result<Output>)> {
        let outs: Mutex<Vec<(String, Output)>> = Mutex::new(Vec::new());
        let rep = self.cx.rep;
        let res = self.on_hosts(hosts, &|t: &mut dyn Transport, _h: &str| {
            let c = cmd.clone().without_sudo_if_root(t.login_user());
            rep.command(t.host(), verb, &c);
            let o = crate::hostside::exec(t, &c, echo.then_some(rep))?;
            outs.lock()
                .expect("outputs")
                .push((t.host().to_string(), o));
            Ok(())
        });
        let mut outs = outs.into_inner().expect("outputs");
        res.into_iter()
            .map(|(h, r)| {
                let a = self.addr(&h);
                let r = r.map(|()| {
                    outs.iter()
                        .position(|(x, _)| *x == a)
                        .map(|i| outs.remove(i).1)
                        .unwrap_or_default()
                });
                (h, r)
            })
            .collect()
    }

    /// Run a step on this machine with its messages and warnings held back (a check this run
    /// has made and reported already); its error, if any, is still returned.
    pub(crate) fn step_muted(&self, step: &Step) -> Vec<(String, Result<()>)> {
        let Step::Here { action, .. } = step else {
            return self.step(step, None);
        };
        let muted = Muted(self.cx.rep);
        let cx = RunCtx {
            rep: &muted,
            ..*self.cx
        };
        vec![(LOCAL.to_string(), action.run(&cx))]
    }

    /// Run a step on `only` of its hosts (all of them when `None`); a step on this machine
    /// answers as [`LOCAL`]. A failure under `warn_only` is a warning and counts as done.
    pub(crate) fn step(&self, step: &Step, only: Option<&[String]>) -> Vec<(String, Result<()>)> {
        let cx = self.cx;
        let Some(planned) = step.hosts() else {
            let r = match step {
                Step::Local { cmd, warn_only, .. } => {
                    Local::new().run(cmd, cx.rep, *warn_only).map(drop)
                }
                Step::Here { action, .. } => action.run(cx),
                _ => unreachable!("host-scoped steps have hosts"),
            };
            return vec![(LOCAL.to_string(), r)];
        };
        let hosts: Vec<String> = planned
            .iter()
            .filter(|h| only.is_none_or(|o| o.contains(h)))
            .cloned()
            .collect();
        if hosts.is_empty() {
            return Vec::new();
        }
        if let Step::Put { local, .. } = step {
            if !local.is_file() {
                let e = || {
                    Error::other(
                        format!("put: no such local file {}", local.display()),
                        Some("paths are relative to the project directory".into()),
                    )
                };
                return hosts.into_iter().map(|h| (h, Err(e()))).collect();
            }
        }
        if let Step::Get { local, .. } = step {
            // Make the destination now, as the executor does.
            let _ = get_dest(local, "x", false);
        }
        let many = planned.len() > 1;
        let warn_only = step.warn_only();
        self.on_hosts(&hosts, &|t: &mut dyn Transport, h: &str| {
            run_on(step, t, h, many, cx)
        })
        .into_iter()
        .map(|(h, r)| match r {
            Err(e) if warn_only => {
                cx.rep.warn(&format!("[{h}] {e} (warn_only)"));
                (h, Ok(()))
            }
            r => (h, r),
        })
        .collect()
    }
}

/// A reporter that drops messages and warnings and passes on the rest.
struct Muted<'a>(&'a dyn Reporter);

impl Reporter for Muted<'_> {
    fn command(&self, host: &str, verb: &str, cmd: &Cmd) {
        self.0.command(host, verb, cmd);
    }
    fn line(&self, host: &str, stream: Stream, line: &str) {
        self.0.line(host, stream, line);
    }
    fn info(&self, _: &str) {}
    fn warn(&self, _: &str) {}
}
