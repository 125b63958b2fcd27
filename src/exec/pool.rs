//! Running one step on many hosts: at most `parallel` at a time, and one connection per host
//! kept for the whole run (ssh's multiplexed master). Connection starts are paced per sshd met
//! (the host's own, or the jump host's), in `transport::master`, not across the whole run: sshd's
//! `MaxStartups` counts per daemon, and a run-wide cap made hosts past it start a whole login late.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::environments::Env;
use crate::error::Result;
use crate::report::Reporter;
use crate::transport::Transport;

use super::connect::Connector;

type Slot = Arc<Mutex<Option<Box<dyn Transport>>>>;

/// The run's open hosts.
pub(crate) struct Pool<'a> {
    connector: &'a dyn Connector,
    env: &'a Env,
    parallel: usize,
    /// An LXC env's container address: every planned host of the env is that one container.
    lxc_address: Option<String>,
    slots: Mutex<HashMap<String, Slot>>,
    /// Where a host's connection-time warnings go (a login shell that prints).
    rep: &'a dyn Reporter,
}

impl<'a> Pool<'a> {
    /// A pool for `env`'s hosts; `lxc_address` is an LXC env's container address.
    pub(crate) fn new(
        connector: &'a dyn Connector,
        env: &'a Env,
        parallel: usize,
        lxc_address: Option<String>,
        rep: &'a dyn Reporter,
    ) -> Self {
        Pool {
            connector,
            env,
            parallel,
            lxc_address,
            slots: Mutex::new(HashMap::new()),
            rep,
        }
    }

    /// Run `f` on each host (by its planned name, which labels it everywhere), `parallel` at
    /// a time; the results in the order of `hosts`.
    pub(crate) fn run<T: Send>(
        &self,
        hosts: &[String],
        f: &(dyn Fn(&mut dyn Transport, &str) -> Result<T> + Sync),
    ) -> Vec<(String, Result<T>)> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<T>>>> =
            Mutex::new((0..hosts.len()).map(|_| None).collect());
        let workers = self.parallel.min(hosts.len());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(host) = hosts.get(i) else { break };
                    let r = self.on(host, f);
                    results.lock().expect("results lock")[i] = Some(r);
                });
            }
        });
        let results = results.into_inner().expect("results lock");
        hosts
            .iter()
            .cloned()
            .zip(results.into_iter().map(|r| r.expect("every host ran")))
            .collect()
    }

    fn on<T>(
        &self,
        host: &str,
        f: &(dyn Fn(&mut dyn Transport, &str) -> Result<T> + Sync),
    ) -> Result<T> {
        let slot = self
            .slots
            .lock()
            .expect("slots lock")
            .entry(host.to_string())
            .or_default()
            .clone();
        let mut guard = slot.lock().expect("slot lock");
        let first = guard.is_none();
        if first {
            *guard = Some(self.connect(host)?);
        }
        let t = guard.as_mut().expect("connected above");
        let known = t.login_noise().is_some();
        let r = f(t.as_mut(), host);
        // The first command tells whether the login shell prints: said once per host.
        if !known {
            if let Some(cause) = t.login_noise() {
                self.rep.warn(&format!(
                    "[{host}] {cause}; dfab reads its commands' output past it"
                ));
            }
        }
        r
    }

    fn connect(&self, host: &str) -> Result<Box<dyn Transport>> {
        let addr = self.lxc_address.as_deref().unwrap_or(host);
        self.connector.connect(addr, host, self.env)
    }
}

impl Drop for Pool<'_> {
    /// Close every host at once: ending an ssh master waits for its `-O exit` (an `ssh`
    /// process), which one host after another made the run's end grow with the hosts.
    fn drop(&mut self) {
        let slots = std::mem::take(self.slots.get_mut().expect("slots lock"));
        let open: Vec<Box<dyn Transport>> = slots
            .into_values()
            .filter_map(|s| s.lock().ok()?.take())
            .collect();
        if open.len() < 2 {
            return;
        }
        std::thread::scope(|s| {
            for t in open {
                s.spawn(move || drop(t));
            }
        });
    }
}
