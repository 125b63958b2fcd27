//! The deploy journal, `.dfab/state/<env>.json` in the project: the build's sha256, every step
//! with the hosts that finished it, the hosts this deploy changed and what they had before. It
//! is rewritten atomically after each step, so `deploy:resume=yes` and `deploy:revert=yes` can
//! pick up where a failed deploy stopped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The packages a deploy ships, with one sha256 over all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Build {
    /// sha256 over the sorted `package version sha256` lines.
    pub sha256: String,
    /// `package version sha256` of each shipped .deb.
    pub packages: Vec<String>,
}

/// One step of the sequence and where it finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StepRec {
    /// Index of its task in the sequence.
    pub stage: usize,
    /// The task invocation, as written in the sequence.
    pub task: String,
    /// Its hosts; empty for a step on this machine.
    pub hosts: Vec<String>,
    /// Hosts (or `localhost`) that finished it.
    pub done: Vec<String>,
    /// Hosts that failed it, with the error.
    pub failed: BTreeMap<String, String>,
}

impl StepRec {
    /// Whether every host (or this machine) finished it.
    #[must_use]
    pub fn finished(&self) -> bool {
        if self.hosts.is_empty() {
            return self.done.iter().any(|h| h == LOCAL);
        }
        self.hosts.iter().all(|h| self.done.contains(h))
    }
}

/// How a step on this machine is named in `done`.
pub const LOCAL: &str = "localhost";

/// What the last successful deploy shipped, for the no-op check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Shipped {
    pub build: Build,
    pub debconf_sha256: Option<String>,
    /// `host package=version` lines.
    pub hosts: Vec<String>,
}

/// What dpkg had of a package on a host before a deploy: its version and status, which is not
/// always `ii` (`iF` after an earlier failed deploy, `hi` on hold).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BeforeRepr")]
pub struct Before {
    pub version: String,
    /// dpkg's status abbreviation, trimmed: `ii`, `iF`, `hi`, …
    pub status: String,
}

impl Before {
    /// The version, with dpkg's status in words when it is not plainly installed
    /// ([`crate::releases::state::version_words`]).
    #[must_use]
    pub fn words(&self) -> String {
        crate::releases::state::version_words(&self.version, &self.status)
    }

    /// Whether dpkg's `(version, status)` now is what it was.
    #[must_use]
    pub fn same_as(&self, now: &(String, String)) -> bool {
        self.version == now.0 && self.status == now.1.trim()
    }
}

/// A [`Before`] as journals hold it: older journals recorded only the version of an `ii`
/// package (a bare string), newer ones the version and the status.
#[derive(Deserialize)]
#[serde(untagged)]
enum BeforeRepr {
    Version(String),
    Full { version: String, status: String },
}

impl From<BeforeRepr> for Before {
    fn from(r: BeforeRepr) -> Before {
        match r {
            BeforeRepr::Version(version) => Before {
                version,
                status: "ii".into(),
            },
            BeforeRepr::Full { version, status } => Before { version, status },
        }
    }
}

/// The journal of one env.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Journal {
    pub env: String,
    /// `running`, `done`, `failed`, `interrupted`, `reverted`, `nothing to deploy`.
    pub status: String,
    /// Seconds since the epoch.
    pub started: u64,
    pub updated: u64,
    pub sequence: Vec<String>,
    pub build: Option<Build>,
    pub debconf_sha256: Option<String>,
    pub steps: Vec<StepRec>,
    /// The first unfinished step, when the deploy stopped.
    pub next: Option<usize>,
    /// Hosts this deploy changed (a release installed, a migration or a project task run).
    pub changed: Vec<String>,
    /// Hosts where this deploy installed packages.
    pub installed: Vec<String>,
    /// host -> package -> what dpkg had before this deploy (`None`: dpkg did not know it).
    pub previous: BTreeMap<String, BTreeMap<String, Option<Before>>>,
    /// host -> package -> the release the revert goes back to: rollback's choice
    /// ([`crate::releases::state::rollback_target`]), made once, at the first revert, so that
    /// a revert run again goes to the same release, not one further back.
    #[serde(default)]
    pub revert_to: BTreeMap<String, BTreeMap<String, String>>,
    /// Hosts this deploy put into maintenance.
    pub maintenance_on: Vec<String>,
    /// Hosts this deploy found in maintenance (set by someone else): it leaves them so.
    #[serde(default)]
    pub maintenance_found: Vec<String>,
    pub error: Option<String>,
    /// The lock token of the deploy (its owner releases with it).
    pub token: Option<String>,
    pub last_success: Option<Shipped>,
    /// The dfab process that last ran this deploy: a journal left `running` by a process that
    /// is gone (`kill -9`, a crash, a reboot) is resumable.
    pub process: Option<Process>,
}

impl Journal {
    /// The first step not finished on every host (where a resume starts).
    #[must_use]
    pub fn first_unfinished(&self) -> Option<usize> {
        self.steps.iter().position(|s| !s.finished())
    }

    /// Whether a deploy still runs this journal: `Some(true)` while its process lives,
    /// `Some(false)` when it ended without finishing the journal (killed), `None` when this
    /// machine cannot tell (it ran on another machine, or an older dfab recorded no process).
    #[must_use]
    pub fn still_running(&self) -> Option<bool> {
        if !matches!(self.status.as_str(), "running" | "reverting") {
            return Some(false);
        }
        self.process.as_ref()?.alive()
    }
}

/// A process as the journal records it: enough to tell, later and on the same machine, whether
/// it still runs (a pid alone may have been reused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Process {
    pub pid: u32,
    /// When it started, in clock ticks after boot (field 22 of `/proc/<pid>/stat`).
    pub start: u64,
    /// `/proc/sys/kernel/random/boot_id` when it ran.
    pub boot: String,
    /// The machine's name, for messages.
    pub machine: String,
}

impl Process {
    /// This process; `None` where `/proc` does not tell.
    #[must_use]
    pub fn this() -> Option<Process> {
        let pid = std::process::id();
        Some(Process {
            pid,
            start: start_ticks(pid)?,
            boot: boot_id()?,
            machine: machine(),
        })
    }

    /// Whether it still runs: `None` when it ran on another machine.
    #[must_use]
    pub fn alive(&self) -> Option<bool> {
        if boot_id().as_deref() != Some(self.boot.as_str()) {
            // Another boot of this machine: gone. Another machine: cannot tell.
            return (machine() == self.machine).then_some(false);
        }
        Some(start_ticks(self.pid) == Some(self.start) && !zombie(self.pid))
    }
}

impl std::fmt::Display for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {}", self.pid, self.machine)
    }
}

/// A process that has ended but whose parent has not reaped it (state `Z`): a deploy killed
/// with `dfab serve` stays one until init reaps it, and has stopped all the same.
fn zombie(pid: u32) -> bool {
    fs_err::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().next().map(|state| state == "Z")
        })
        .unwrap_or(false)
}

/// Field 22 of `/proc/<pid>/stat` (after the command name, which may hold spaces).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn boot_id() -> Option<String> {
    fs_err::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

fn machine() -> String {
    fs_err::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "this machine".into(), |s| s.trim().to_string())
}

/// Where an env's journal lives.
#[must_use]
pub fn path(project_dir: &Path, env: &str) -> PathBuf {
    let safe: String = env
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    project_dir.join(".dfab/state").join(format!("{safe}.json"))
}

/// Read a journal, if there is one.
pub fn load(path: &Path) -> Result<Option<Journal>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = fs_err::read(path)?;
    serde_json::from_slice(&text).map(Some).map_err(|e| {
        super::Error::BadJournal {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
        .into()
    })
}

/// Write a journal atomically.
pub fn save(path: &Path, j: &Journal) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir)?;
    }
    // A journal is plain strings and numbers: serialising it cannot fail.
    let mut text = serde_json::to_vec_pretty(j).expect("a journal serialises");
    text.push(b'\n');
    crate::fsutil::write_atomic(path, &text)
}

/// Seconds since the epoch.
#[must_use]
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    // A deploy killed with `dfab serve` (its parent) stayed a zombie until init reaped it, and
    // `deploy:resume=yes` refused it as still running.
    #[test]
    fn an_ended_unreaped_process_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = start_ticks(pid).unwrap();
        let p = Process {
            pid,
            start,
            boot: boot_id().unwrap(),
            machine: machine(),
        };
        let t = std::time::Instant::now();
        while !zombie(pid) {
            assert!(t.elapsed().as_secs() < 5, "`true` did not end");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(p.alive(), Some(false));
        child.wait().unwrap();
        assert_eq!(p.alive(), Some(false));
        assert_eq!(Process::this().unwrap().alive(), Some(true));
    }

    #[test]
    fn a_journal_round_trips_and_knows_what_finished() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), "prod/x");
        assert!(p.ends_with(".dfab/state/prod_x.json"));
        let mut j = Journal {
            env: "prod".into(),
            ..Journal::default()
        };
        j.steps.push(StepRec {
            stage: 0,
            task: "migrate".into(),
            hosts: vec!["a".into(), "b".into()],
            done: vec!["a".into()],
            failed: BTreeMap::new(),
        });
        assert!(!j.steps[0].finished());
        save(&p, &j).unwrap();
        assert_eq!(load(&p).unwrap().unwrap(), j);
        j.steps[0].done.push("b".into());
        assert!(j.steps[0].finished());
    }

    #[test]
    fn an_older_journals_previous_versions_read_as_installed() {
        let old = r#"{"a": {"app": "1.0-1", "lib": null}}"#;
        let m: BTreeMap<String, BTreeMap<String, Option<Before>>> =
            serde_json::from_str(old).unwrap();
        let app = m["a"]["app"].as_ref().unwrap();
        assert_eq!((app.version.as_str(), app.status.as_str()), ("1.0-1", "ii"));
        assert_eq!(m["a"]["lib"], None);
        let now = Before {
            version: "1.1-1".into(),
            status: "iF".into(),
        };
        let text = serde_json::to_string(&now).unwrap();
        assert_eq!(serde_json::from_str::<Before>(&text).unwrap(), now);
        assert_eq!(now.words(), "1.1-1 (half-configured, dpkg iF)");
        assert!(now.same_as(&("1.1-1".into(), "iF ".into())));
    }

    #[test]
    fn a_running_journal_is_running_while_its_process_lives() {
        let mut j = Journal {
            status: "running".into(),
            process: Process::this(),
            ..Journal::default()
        };
        assert_eq!(j.still_running(), Some(true));
        // A child that has exited: its pid is gone (or reused, with another start time).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        j.process.as_mut().unwrap().pid = pid;
        assert_eq!(j.still_running(), Some(false));
        // Another machine: cannot tell.
        let p = j.process.as_mut().unwrap();
        p.boot = "another-boot".into();
        p.machine = "elsewhere".into();
        assert_eq!(j.still_running(), None);
        j.status = "failed".into();
        assert_eq!(j.still_running(), Some(false));
    }
}
