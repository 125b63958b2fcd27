//! Holding the deploy lock for a run: taken on every host first (a refusal names the holder and
//! changes nothing), refreshed every [`REFRESH`] by a thread with its own connections, released
//! at the end whatever happened.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::error::Result;
use crate::exec::step::RunCtx;
use crate::transport::Transport;

use super::lock;
use crate::exec::engine::Engine;

/// How often the holder touches the lock.
pub(crate) const REFRESH: Duration = Duration::from_secs(20);

/// The lock as this run holds it.
pub(crate) struct Held {
    pub package: String,
    pub token: String,
    pub hosts: Vec<String>,
    /// Taken by `lock:acquire` before the run: left in place at the end.
    pub manual: bool,
    /// What dpkg had installed of `packages` on each host when the lock was taken.
    pub installed: Installed,
    /// What each host's preflight found (the releases it holds), when it rode with the lock.
    pub facts: std::collections::HashMap<String, crate::deploy::ship::HostFacts>,
    /// Hosts where the token held the lock already (a killed deploy's, taken over).
    pub had: Vec<String>,
    /// Hosts whose lock the run's last step released in its own session ([`Fold`]): neither
    /// refreshed nor released again.
    pub released: Arc<Mutex<Vec<String>>>,
}

/// The lock's release folded into the deploy's last step on each host (`web_mode:live`, as
/// `dfab-host lock release-after`): one session less per host, when nothing of the run may
/// touch a host after that step (all hosts at once, and no revert on failure).
#[derive(Clone)]
pub(crate) struct Fold {
    pub package: String,
    pub token: String,
    /// Where the hosts released so are noted (the [`Held`]'s).
    pub released: Arc<Mutex<Vec<String>>>,
}

impl Fold {
    /// Note that `host`'s lock was released (or its release was tried) by the last step.
    pub(crate) fn note(&self, host: &str) {
        let mut r = self.released.lock().expect("released lock");
        if !r.iter().any(|h| h == host) {
            r.push(host.to_string());
        }
    }
}

/// dpkg's `(version, status)` of a package, `None` when dpkg does not know it.
pub(crate) type DpkgState = Option<(String, String)>;

/// Each host's packages with dpkg's `(version, status)` (`None`: not installed), as the lock
/// command reported them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Installed {
    pub hosts: std::collections::HashMap<String, Vec<(String, DpkgState)>>,
    /// Each host's `(package, sha256)` of the installed builds its history knows.
    pub built: std::collections::HashMap<String, Vec<(String, String)>>,
    /// Each host's `(package, sha256 of the answers)` its installed build was last configured
    /// with (`-`: none), where the host recorded them.
    pub answers: std::collections::HashMap<String, Vec<(String, String)>>,
}

impl Installed {
    /// The sha256 of the build of `package` installed on `host`, if its history knows it.
    pub(crate) fn built(&self, host: &str, package: &str) -> Option<&str> {
        of_package(self.built.get(host)?, package)
    }

    /// The sha256 of the answers the build of `package` installed on `host` was configured
    /// with (`-`: none), if the host recorded them.
    pub(crate) fn answers(&self, host: &str, package: &str) -> Option<&str> {
        of_package(self.answers.get(host)?, package)
    }

    /// Note what the lock command said of `host`'s packages.
    fn note(&mut self, host: &str, out: &str, report: &[String]) {
        self.hosts
            .insert(host.to_string(), lock::parse_installed(out, report));
        self.built.insert(host.to_string(), lock::parse_built(out));
        self.answers
            .insert(host.to_string(), lock::parse_answers(out));
    }

    /// dpkg's state of `package` on `host`, if the lock reported it: `Some(None)` is "not
    /// installed", `None` is "not reported" (ask the host).
    pub(crate) fn get(&self, host: &str, package: &str) -> Option<&DpkgState> {
        self.hosts
            .get(host)?
            .iter()
            .find(|(p, _)| p == package)
            .map(|(_, st)| st)
    }
}

/// Where a hand-taken lock's token is kept, beside the journal.
#[must_use]
pub fn token_file(journal: &std::path::Path) -> std::path::PathBuf {
    journal.with_extension("lock")
}

/// The deploy a run follows, as its journal tells.
#[derive(Default)]
pub(crate) struct Prior<'a> {
    /// The token a resume or revert takes the lock with: its deploy's (a killed deploy still
    /// holds the lock with it).
    pub token: Option<&'a str>,
    /// A fresh deploy after one that was killed part-way: `(env, its process)`, for a refusal.
    pub killed: Option<(&'a str, String)>,
}

/// Take the lock on `hosts`, or refuse naming each holder (releasing what was taken). With
/// `preflight`, the deploy's preflight comes first in the same session: a host that cannot
/// install (no root, sudo wanting a password, a tool missing) refuses the whole deploy before
/// anything is changed.
#[allow(clippy::too_many_arguments)] // one lock's inputs, each used once
pub(crate) fn take(
    eng: &Engine<'_, '_>,
    package: &str,
    hosts: &[String],
    what: &str,
    journal: &std::path::Path,
    report: &[String],
    preflight: Option<&[String]>,
    prior: Prior<'_>,
) -> Result<Held> {
    let (token, manual) = match fs_err::read_to_string(token_file(journal)) {
        Ok(t) if !t.trim().is_empty() => (t.trim().to_string(), true),
        _ => match prior.token {
            Some(t) => (t.to_string(), false),
            None => (lock::new_token()?, false),
        },
    };
    // Whoever holds the token can release the lock: it is shown as a secret is.
    eng.cx.rep.secret(&token);
    let cmd = if let Some(there) = preflight {
        lock::acquire_checked(package, &lock::who(), what, &token, report, there)
    } else {
        lock::acquire(package, &lock::who(), what, &token, report)
    };
    let mut got = Vec::new();
    let mut refused = Vec::new();
    let mut unfit = Vec::new();
    let mut facts = std::collections::HashMap::new();
    let mut installed = Installed::default();
    let mut had = Vec::new();
    // The output is data (dpkg's report, the holder); the user sees the outcome.
    let rep = eng.cx.rep;
    let taken = eng.on_hosts(hosts, &|t: &mut dyn crate::transport::Transport,
                                      _h: &str| {
        let o = crate::exec::record::exec(t, rep, "sudo", cmd.clone())?;
        Ok((o, t.login_user().to_string()))
    });
    for (h, r) in taken {
        let (r, user) = match r {
            Ok((o, user)) => (Ok(o), user),
            Err(e) => (Err(e), String::new()),
        };
        match r {
            Ok(o) if preflight.is_some() && !eng.cx.dry_run && o.status != lock::HELD => {
                match crate::deploy::ship::checked(&o, &user) {
                    Ok(found) => {
                        facts.insert(h.clone(), found);
                        if already_held(&o) {
                            had.push(h.clone());
                        }
                        said_lock(eng, &h, &o, manual);
                        installed.note(&h, &o.stdout_str(), report);
                        got.push(h);
                    }
                    Err(problem) => unfit.push((h, problem)),
                }
            }
            Ok(o) if o.status == 0 => {
                said_lock(eng, &h, &o, manual);
                installed.note(&h, &o.stdout_str(), report);
                if already_held(&o) {
                    had.push(h.clone());
                }
                got.push(h);
            }
            Ok(o) if o.status == lock::HELD => {
                refused.push(format!("[{h}] held by {}", lock::holder(&o.stdout_str())));
            }
            Ok(o) => refused.push(format!(
                "[{h}] could not take the lock (exit status {}): {}",
                o.status,
                o.stderr_str().trim()
            )),
            Err(e) => refused.push(format!("[{h}] {e}")),
        }
    }
    let held = Held {
        package: package.to_string(),
        token,
        hosts: got,
        manual,
        installed,
        facts,
        had,
        released: Arc::default(),
    };
    if refused.is_empty() && unfit.is_empty() {
        return Ok(held);
    }
    held.release(eng, false);
    if let Some((host, problem)) = unfit.pop() {
        // The first host's problem is the error; every host's is in its line.
        for (h, p) in &unfit {
            eng.cx.rep.warn(&format!("[{h}] preflight: {p}"));
        }
        for r in &refused {
            eng.cx.rep.warn(r);
        }
        return Err(crate::deploy::Error::Preflight {
            host,
            problem,
            task: "deploy",
        }
        .into());
    }
    if let Some((env, process)) = prior.killed {
        for r in &refused {
            eng.cx.rep.warn(r);
        }
        return Err(super::Error::Abandoned {
            env: env.to_string(),
            package: package.to_string(),
            process,
        }
        .into());
    }
    Err(super::Error::LockTaken {
        env: eng.cx.env.name.clone(),
        package: package.to_string(),
        path: lock::lock_path(package),
        refused,
    }
    .into())
}

impl Held {
    /// The fold of the release into the last step, for a run that takes the lock itself (a
    /// hand-taken lock stays).
    pub(crate) fn fold(&self) -> Option<Fold> {
        (!self.manual).then(|| Fold {
            package: self.package.clone(),
            token: self.token.clone(),
            released: Arc::clone(&self.released),
        })
    }

    /// Whether the run's last step released `host`'s lock already.
    fn released(&self, host: &str) -> bool {
        self.released
            .lock()
            .expect("released lock")
            .iter()
            .any(|h| h == host)
    }

    /// Release the lock on every host that has it (a hand-taken lock stays) and whose last
    /// step did not release it; with `keep_had`, not where the token held it already before
    /// this run (a killed deploy's lock, which a refused resume leaves as it found it).
    pub(crate) fn release(&self, eng: &Engine<'_, '_>, keep_had: bool) {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .filter(|h| !keep_had || !self.had.contains(h))
            .filter(|h| !self.released(h))
            .cloned()
            .collect();
        if self.manual || hosts.is_empty() {
            return;
        }
        let cmd = lock::release(&self.package, &self.token);
        for (h, r) in eng.cmd_on(&hosts, "sudo", &cmd) {
            match r {
                Ok(_) if eng.cx.dry_run => {
                    eng.said(&h, "deploy", "would release the deploy lock", None);
                }
                Ok(o) if o.status == 0 => eng.said(&h, "deploy", "released the deploy lock", None),
                Ok(o) => eng.cx.rep.warn(&format!(
                    "[{h}] the deploy lock was not released: {}{}",
                    o.stdout_str().trim(),
                    o.stderr_str().trim()
                )),
                Err(e) => eng
                    .cx
                    .rep
                    .warn(&format!("[{h}] the deploy lock was not released: {e}")),
            }
        }
    }

    /// Refresh the lock every [`REFRESH`] until `stop` is set, over connections of its own.
    pub(crate) fn refresher(&self, cx: &RunCtx<'_>, lxc: bool, stop: &(Mutex<bool>, Condvar)) {
        let cmd = lock::refresh(&self.package, &self.token);
        let mut conns: Vec<(String, Box<dyn Transport>)> = Vec::new();
        let (flag, signal) = stop;
        let mut stopped = flag.lock().expect("stop flag");
        loop {
            let (guard, _) = signal.wait_timeout(stopped, REFRESH).expect("stop flag");
            stopped = guard;
            if *stopped {
                return;
            }
            for h in &self.hosts {
                if self.released(h) {
                    continue;
                }
                let addr = if lxc {
                    cx.addresses.first().cloned().unwrap_or_else(|| h.clone())
                } else {
                    h.clone()
                };
                if !conns.iter().any(|(x, _)| *x == addr) {
                    match cx.connector.connect(&addr, h, cx.env) {
                        Ok(t) => conns.push((addr.clone(), t)),
                        Err(e) => {
                            cx.rep
                                .warn(&format!("[{h}] could not refresh the deploy lock: {e}"));
                            continue;
                        }
                    }
                }
                let t = &mut conns.iter_mut().find(|(x, _)| *x == addr).expect("above").1;
                let c = cmd.clone().without_sudo_if_root(t.login_user());
                match crate::hostside::exec(t.as_mut(), &c, None) {
                    Ok(o) if o.status == 0 => {}
                    Ok(o) => cx.rep.warn(&format!(
                        "[{h}] could not refresh the deploy lock: {}",
                        o.stderr_str().trim()
                    )),
                    Err(e) => cx
                        .rep
                        .warn(&format!("[{h}] could not refresh the deploy lock: {e}")),
                }
            }
        }
    }
}

/// Whether the lock command found the lock held by this token already.
fn already_held(o: &crate::transport::Output) -> bool {
    o.stdout_str().contains("lock: already held by this deploy")
}

/// The lock's line for `host`: what the host said (`lock acquired …`), or under `-n` what
/// would happen; `manual`: the token is a hand-taken lock's.
fn said_lock(eng: &Engine<'_, '_>, host: &str, o: &crate::transport::Output, manual: bool) {
    let out = o.stdout_str();
    let line = match out.lines().find_map(|l| l.strip_prefix("lock: ")) {
        None => "would take the deploy lock".to_string(),
        // `already held by this deploy`: the token is this project's, taken by `lock:acquire`.
        Some(l) if manual && l.starts_with("already held") => {
            "the deploy lock taken by hand (`lock:acquire`) covers this deploy".to_string()
        }
        Some(l) => format!("lock {l}"),
    };
    eng.said(host, "deploy", &line, None);
}

/// The value `package` has in a host's `(package, value)` list.
fn of_package<'a>(list: &'a [(String, String)], package: &str) -> Option<&'a str> {
    list.iter()
        .find(|(p, _)| p == package)
        .map(|(_, v)| v.as_str())
}
