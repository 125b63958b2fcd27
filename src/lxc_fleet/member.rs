//! One fleet member's life: cloned from a bake (an overlay snapshot), given its address,
//! started, its `user_data` run once on first boot, then asked `health_url` until it answers
//! 2xx (from where the members are reachable: this machine, or the balancer's container on
//! `lxc_host`); stopped, started again and destroyed. Everything it does goes to its own log
//! file on this machine (`.dfab/logs/<env>/<member>.log`, `FabulAWS`'s per-server log).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::lxc::attach::{Attach, Input};
use crate::lxc::backend::Tools;
use crate::lxc::{self, Backend, CloneMode, LxcSpec, Step};

use super::place::Place;
use super::settings::FleetSettings;
use super::state::Member;

/// Where the `user_data` script is put in a member, and the mark that it ran.
const USER_DATA: &str = "/var/lib/dfab/user-data";
const USER_DATA_DONE: &str = "/var/lib/dfab/user-data.done";

/// A member's log file, written line by line with the time since it was opened.
pub struct Log {
    file: Mutex<fs_err::File>,
    start: Instant,
    /// Its path, for messages.
    pub path: PathBuf,
}

impl Log {
    /// Open (append to) `path`, making its directory.
    pub fn open(path: &Path) -> crate::error::Result<Log> {
        if let Some(d) = path.parent() {
            fs_err::create_dir_all(d)?;
        }
        let file = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Log {
            file: Mutex::new(file),
            start: Instant::now(),
            path: path.to_path_buf(),
        })
    }

    /// Write one line (a failure to write the log is not a failure of the member).
    pub fn line(&self, text: &str) {
        let ms = self.start.elapsed().as_millis();
        if let Ok(mut f) = self.file.lock() {
            for l in text.lines() {
                let _ = writeln!(f, "[{ms:>6} ms] {l}");
            }
        }
    }
}

/// The container spec of member `name`: cloned from `bake` as an overlay snapshot.
#[must_use]
pub fn spec(fs: &FleetSettings, name: &str, bake: &str, address: Option<&str>) -> LxcSpec {
    let mut s = LxcSpec::new(name);
    s.env = Some(fs.env.clone());
    bake.clone_into(&mut s.template);
    s.clone = CloneMode::Snapshot;
    s.timeout = fs.timeout;
    s.ipv4 = address.map(str::to_owned);
    s.ipv4_gateway.clone_from(&fs.gateway);
    s.lxcpath.clone_from(&fs.lxcpath);
    s.host.clone_from(&fs.lxc_host);
    s.host_ssh_options.clone_from(&fs.lxc_host_ssh_options);
    s
}

/// Make member `name` from `bake` and wait for its health. The clone and start go through
/// `lxc_lock` (one member's at a time: the clones copy the bake's overlay, and 2 cores do not
/// copy faster in parallel); the slow parts (`user_data`, health) run in parallel with other
/// members', the health asked from `probe`. On failure: why, in a few words (the log has the
/// rest).
#[allow(clippy::too_many_arguments)] // one member's inputs, each used once
pub fn create(
    fs: &FleetSettings,
    probe: &Place,
    lxc_lock: &Mutex<()>,
    name: &str,
    bake: &str,
    version: &str,
    address: Option<String>,
    log: &Log,
) -> Result<Member, String> {
    log.line(&format!(
        "member {name}: from bake {bake} ({version}){}",
        address
            .as_deref()
            .map(|a| format!(", address {a}"))
            .unwrap_or_default()
    ));
    let spec = spec(fs, name, bake, address.as_deref());
    // The `lxc-*` tools, not liblxc: liblxc forks inside this process (a snapshot clone runs
    // rsync), and a fork while other threads hold locks can leave the child deadlocked. On
    // `lxc_host` they run there, by ssh.
    let backend = Tools::new(fs.runner(), fs.lxcpath.clone());
    let running = {
        let _one = lxc_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        lxc::ensure(&spec, &backend, &mut |s| {
            log.line(&format!("{s}: {}", s.command(fs.lxcpath.as_deref())));
        })
    }
    .map_err(|e| {
        let why = e.to_string();
        log.line(&format!("failed: {why}"));
        why
    })?;
    log.line(&format!("running at {}", running.ipv4));
    if let Some(script) = &fs.user_data {
        user_data(fs, &spec, script, log)?;
    }
    health(fs, probe, &running.ipv4, log)?;
    Ok(Member {
        name: name.to_owned(),
        bake: bake.to_owned(),
        version: version.to_owned(),
        ipv4: running.ipv4,
        address,
    })
}

/// Run `script` in the member once (first boot): put it in, run it unless its mark exists,
/// then set the mark. Its output goes to the log.
fn user_data(fs: &FleetSettings, spec: &LxcSpec, script: &Path, log: &Log) -> Result<(), String> {
    let body = fs_err::read(script).map_err(|e| {
        let why = format!("cannot read user_data: {e}");
        log.line(&why);
        why
    })?;
    let attach = Attach::with_tool(spec, fs.runner());
    let put = format!(
        "mkdir -p /var/lib/dfab && cat > {USER_DATA}.tmp && chmod 0755 {USER_DATA}.tmp && mv {USER_DATA}.tmp {USER_DATA}"
    );
    let run = format!(
        "if [ -e {USER_DATA_DONE} ]; then echo 'user_data ran already'; exit 0; fi; \
         {USER_DATA} && touch {USER_DATA_DONE}"
    );
    log.line(&format!("user_data: {}", script.display()));
    let t = Instant::now();
    let out = attach
        .run_argv(&["sh", "-c", &put], Input::Bytes(&body))
        .and_then(|o| {
            if o.status == 0 {
                attach.run_argv(&["sh", "-c", &run], Input::Null)
            } else {
                Ok(o)
            }
        })
        .map_err(|e| {
            let why = format!("user_data: {e}");
            log.line(&why);
            why
        })?;
    for l in out.stdout_str().lines().chain(out.stderr_str().lines()) {
        log.line(&format!("  | {l}"));
    }
    if out.status != 0 {
        let why = format!("user_data failed ({})", out.exit());
        log.line(&why);
        return Err(why);
    }
    log.line(&format!("user_data done in {} ms", t.elapsed().as_millis()));
    Ok(())
}

/// Ask `health_url`'s path at the member's address and the fleet's port, from `probe`, until it
/// answers 2xx, at most `health_timeout`.
pub fn health(fs: &FleetSettings, probe: &Place, ipv4: &str, log: &Log) -> Result<(), String> {
    let addr = format!("{ipv4}:{}", fs.port);
    let t = Instant::now();
    let end = t + fs.health_timeout;
    let mut last;
    loop {
        match probe.get(&addr, &fs.health_path, Duration::from_secs(2)) {
            Ok((code, _)) if (200..300).contains(&code) => {
                log.line(&format!(
                    "healthy: GET http://{addr}{} (from {}) answered {code} after {} ms",
                    fs.health_path,
                    probe.describe(),
                    t.elapsed().as_millis()
                ));
                return Ok(());
            }
            Ok((code, _)) => last = format!("answered {code}"),
            Err(e) => last = e,
        }
        if Instant::now() >= end {
            let why = format!(
                "not healthy after {} s: GET http://{addr}{} {last}",
                fs.health_timeout.as_secs(),
                fs.health_path
            );
            log.line(&why);
            return Err(why);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Stop a member (kept, for `rollback`).
pub fn stop(backend: &dyn Backend, name: &str) -> crate::error::Result<()> {
    if backend.state(name)? == lxc::State::Running {
        backend.apply(&Step::Stop {
            name: name.to_owned(),
        })?;
    }
    Ok(())
}

/// Stop and destroy a member; nothing to do when it is gone.
pub fn destroy(backend: &dyn Backend, name: &str) -> crate::error::Result<()> {
    let state = backend.state(name)?;
    if state == lxc::State::Running {
        backend.apply(&Step::Stop {
            name: name.to_owned(),
        })?;
    }
    if state != lxc::State::Absent {
        backend.apply(&Step::Destroy {
            name: name.to_owned(),
        })?;
    }
    Ok(())
}
