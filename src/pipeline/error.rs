//! What stops the wrapped `deploy`, as values: the hosts, tasks, statuses and the cause are
//! fields (the cause kept as the error's source), the text and the hint made where it is printed.

use std::path::PathBuf;

use crate::transport::Exit;

/// A failure of the wrapped `deploy`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another deploy (or a hand-taken lock) holds the deploy lock on some hosts.
    #[error("deploy refused, nothing done: the deploy lock of {package} ({path}) is taken:\n{}", .refused.join("\n"))]
    LockTaken {
        env: String,
        package: String,
        path: String,
        /// `[host] held by …` lines.
        refused: Vec<String>,
    },
    /// `deploy:resume=yes` with a build other than the failed deploy's.
    #[error("the build changed since the failed deploy (sha256 {} then, {} now): resume refused", &.was[..16], &.now[..16])]
    BuildChanged {
        env: String,
        was: String,
        now: String,
        /// `install_mode = 'release'`: the way back is `rollback`, not the revert.
        release_mode: bool,
    },
    /// Resume found hosts on another build than the one it ships (the release dpkg has is not
    /// this deploy's build, or the host's history and kept release cannot tell that it is).
    #[error("resume refused, nothing done: these hosts do not run the build this resume ships:\n{}", .hosts.join("\n"))]
    OtherBuildInstalled {
        env: String,
        /// `[host] has …` lines.
        hosts: Vec<String>,
    },
    /// Resume or revert with no journal to read.
    #[error("no deploy journal {}: nothing to resume or revert", .path.display())]
    NoJournal { env: String, path: PathBuf },
    /// Resume after a deploy that did not stop part-way.
    #[error(
        "the last deploy of `{env}` did not stop part-way (status: {status}): nothing to resume"
    )]
    NothingToResume { env: String, status: String },
    /// Resume or revert while the deploy of the journal still runs.
    #[error(
        "a deploy of `{env}` is still running ({process}): it is neither resumed nor reverted"
    )]
    StillRunning { env: String, process: String },
    /// Resume of a journal marked running by a process this machine cannot see.
    #[error("the last deploy of `{env}` is marked running, by {process}; this machine cannot tell whether it still runs")]
    CannotTell { env: String, process: String },
    /// A new deploy refused by the lock of a deploy that was killed part-way.
    #[error("deploy refused, nothing done: the deploy lock of {package} is held by the last deploy of `{env}` ({process}), which is no longer running: it stopped part-way (killed?) with the hosts as its journal says")]
    Abandoned {
        env: String,
        package: String,
        process: String,
    },
    /// Resume with another sequence than the failed deploy's.
    #[error("the deploy sequence changed since the failed deploy (was `{}`, now `{}`): cannot resume", .was.join(", "), .now.join(", "))]
    SequenceChanged {
        env: String,
        was: Vec<String>,
        now: Vec<String>,
        /// `install_mode = 'release'`: the way back is `rollback`, not the revert.
        release_mode: bool,
    },
    /// The journal file is not one.
    #[error("{}: not a dfab deploy journal: {reason}", .path.display())]
    BadJournal { path: PathBuf, reason: String },
    /// `deploy:revert=yes` after a deploy that changed nothing.
    #[error("the last deploy of `{env}` installed nothing: nothing to revert")]
    NothingToRevert { env: String },
    /// Some hosts could not be reverted.
    #[error("the revert did not finish:\n{}", .problems.join("\n"))]
    RevertIncomplete { env: String, problems: Vec<String> },
    /// `maintenance = 'auto'`'s check answered neither 0 nor 1.
    #[error("[{host}] the migration check failed ({exit}, expected 0: none pending, or 1: pending): {stderr}")]
    MigrateCheck {
        host: String,
        exit: Exit,
        stderr: String,
    },
    /// A rolling batch's health check failed on some hosts (`[host] why` lines).
    #[error("the health check failed:\n{}", .hosts.join("\n"))]
    Health { hosts: Vec<String> },
    /// Ctrl-C, seen between steps: `finished` when the step in progress ran to its end first.
    #[error("interrupted (Ctrl-C){}", if *.finished { ": it finished on its hosts, and nothing after it ran" } else { " before it ran" })]
    Interrupted { finished: bool },
    /// A step failed on several hosts: each host's error (see [`crate::error::describe`]),
    /// `[host]` first.
    #[error("{}", .failures.iter().map(|(h, e)| if e.starts_with(&format!("[{h}]")) { e.clone() } else { format!("[{h}] {e}") }).collect::<Vec<_>>().join("\n"))]
    Hosts {
        failures: Vec<(String, String)>,
        /// Their hints, each once.
        hints: Vec<String>,
    },
    /// The deploy failed and `on_failure = 'revert'` put the previous release back.
    #[error("deploy failed in {task} and was reverted: {cause}")]
    Reverted {
        task: String,
        /// Where the failed release's .deb is kept on the hosts.
        releases: String,
        cause: String,
        /// The cause's own hint.
        cause_hint: Option<String>,
    },
    /// The deploy failed (or was interrupted) after changing hosts; it can be resumed or
    /// reverted.
    #[error("deploy {} {task}: {cause}\n{}{}", if *.interrupted { "stopped at" } else { "failed in" }, changed_words(changed, installed), .maintenance.as_ref().map(|m| format!(" The site stays in maintenance on {m}.")).unwrap_or_default())]
    Failed {
        task: String,
        /// Stopped by Ctrl-C, not by a fault: nothing to fix before going on.
        interrupted: bool,
        cause: String,
        /// The cause's own hint, said first.
        cause_hint: Option<String>,
        env: String,
        changed: Vec<String>,
        /// Hosts still in maintenance, joined.
        maintenance: Option<String>,
        /// The step a resume continues from.
        next: String,
        installed: Vec<String>,
        journal: PathBuf,
        /// `install_mode = 'release'`: the way back is `rollback`, not the revert.
        release_mode: bool,
    },
}

impl Error {
    /// What to do about it.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::LockTaken { env, .. } => Some(format!(
                "wait for that deploy to finish (`dfab {env} lock:status` shows the holder); if it \
                 is stale (its `refreshed` time stands still), `dfab {env} lock:release,force=yes` \
                 breaks it"
            )),
            Error::BuildChanged {
                env, release_mode, ..
            } => Some(format!(
                "`dfab {env} deploy:resume=yes,force=yes` continues with the new build; {}",
                way_back(env, *release_mode)
            )),
            Error::NoJournal { env, .. } | Error::NothingToResume { env, .. } => {
                Some(format!("run `dfab {env} deploy` for a new deploy"))
            }
            Error::OtherBuildInstalled { env, .. } => Some(format!(
                "`dfab {env} deploy:resume=yes,force=yes` reinstalls this build on them; `dfab \
                 {env} deploy:revert=yes` goes back"
            )),
            Error::StillRunning { env, .. } => Some(format!(
                "wait for it to end, or stop it (Ctrl-C in its terminal); `dfab {env} lock:status` \
                 shows when it last refreshed its lock"
            )),
            Error::CannotTell { env, .. } => Some(format!(
                "if it no longer runs there, `dfab {env} deploy:resume=yes,force=yes` resumes it \
                 (taking over its lock)"
            )),
            // In release mode the lock's key is the instance's root, an absolute path (see
            // `lock::lock_path`).
            Error::Abandoned { env, package, .. } => Some(format!(
                "`dfab {env} deploy:resume=yes` finishes it (taking over its lock), or {}",
                way_back(env, package.starts_with('/'))
            )),
            Error::SequenceChanged {
                env, release_mode, ..
            } => Some(format!("put it back, or {}", way_back(env, *release_mode))),
            Error::BadJournal { .. } => {
                Some("move it away; the next deploy starts a new one".into())
            }
            Error::RevertIncomplete { env, .. } => Some(format!(
                "`dfab {env} releases` shows each host's kept releases; `dfab {env} \
                 rollback:version=X` installs one"
            )),
            Error::MigrateCheck { .. } => {
                Some("fix `migrate_check_command`, or set maintenance = 'always'".into())
            }
            Error::Reverted {
                cause_hint,
                releases,
                ..
            } => Some(format!(
                "{}the failed release's .deb stays in {releases}/ on the hosts for debugging",
                first(cause_hint.as_deref())
            )),
            Error::Failed {
                env,
                next,
                installed,
                journal,
                cause_hint,
                interrupted,
                release_mode: true,
                ..
            } => Some(format!(
                "{}two ways on: {}`dfab {env} deploy:resume=yes` (continues from \
                 {next} on the hosts that did not finish), or `dfab {env} rollback` (switches \
                 `current` back on {}; `dfab {env} web_mode:live` takes maintenance off). The \
                 journal is {}",
                first(cause_hint.as_deref()),
                fix_first(*interrupted),
                if installed.is_empty() {
                    "no host".to_string()
                } else {
                    installed.join(", ")
                },
                journal.display()
            )),
            Error::Failed {
                env,
                next,
                installed,
                journal,
                cause_hint,
                ..
            } if installed.is_empty() => Some(format!(
                "{}`dfab {env} deploy:resume=yes` continues from {next} on the hosts that did \
                 not finish; no release was installed, so there is none to revert. The journal \
                 is {}",
                first(cause_hint.as_deref()),
                journal.display()
            )),
            Error::Failed {
                env,
                next,
                installed,
                journal,
                cause_hint,
                interrupted,
                ..
            } => Some(format!(
                "{}two ways on: {}`dfab {env} deploy:resume=yes` (continues from \
                 {next} on the hosts that did not finish), or `dfab {env} deploy:revert=yes` \
                 (reinstalls the previous release on {}, then goes live). The journal is {}; the \
                 failed release's .deb stays on the hosts for debugging",
                first(cause_hint.as_deref()),
                fix_first(*interrupted),
                installed.join(", "),
                journal.display()
            )),
            Error::Hosts { hints, .. } if !hints.is_empty() => Some(hints.join("; ")),
            Error::NothingToRevert { .. }
            | Error::Health { .. }
            | Error::Interrupted { .. }
            | Error::Hosts { .. } => None,
        }
    }
}

/// The way back a hint names: dpkg mode's `deploy:revert=yes`, or in release mode (where the
/// revert is refused) `rollback`.
fn way_back(env: &str, release_mode: bool) -> String {
    if release_mode {
        format!("`dfab {env} rollback` switches `current` back")
    } else {
        format!("`dfab {env} deploy:revert=yes` goes back")
    }
}

/// What a failed deploy changed: the hosts it installed a release on, and those where only
/// later steps ran (a migration, a project task), which may have changed them; no release
/// installed is said as such, never "changed" alone.
fn changed_words(changed: &[String], installed: &[String]) -> String {
    let others: Vec<&str> = changed
        .iter()
        .filter(|h| !installed.contains(h))
        .map(String::as_str)
        .collect();
    match (installed.is_empty(), others.is_empty()) {
        (false, true) => format!("these hosts were changed: {}.", installed.join(", ")),
        (false, false) => format!(
            "a release was installed on {}; steps that may change a host ran on {}.",
            installed.join(", "),
            others.join(", ")
        ),
        (true, _) => format!(
            "no host got a new release; steps that may change a host (a migration, a task) ran \
             on {}.",
            others.join(", ")
        ),
    }
}

/// The start of "two ways on" after a failure: a run stopped by a signal has no cause to fix.
fn fix_first(interrupted: bool) -> &'static str {
    if interrupted {
        ""
    } else {
        "fix the cause and "
    }
}

/// `HINT; then ` before the outer hint, when the cause has one of its own.
fn first(cause_hint: Option<&str>) -> String {
    cause_hint
        .map(|h| format!("{h}; then "))
        .unwrap_or_default()
}

impl crate::error::DomainError for Error {
    fn hint(&self) -> Option<String> {
        Error::hint(self)
    }
}

crate::domain_error!(Error);

/// An error as the cause inside another message: its rendered text without the leading
/// `error: ` (which the outer message has), trimmed.
#[must_use]
pub(crate) fn cause(e: &crate::error::Error) -> String {
    let text = crate::error::render(e);
    let text = text.trim_end();
    text.strip_prefix("error: ").unwrap_or(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::Error;
    use crate::transport::Exit;

    /// Every variant, built for env `staging`.
    fn all() -> Vec<Error> {
        let env = || "staging".to_string();
        let s = |t: &str| t.to_string();
        vec![
            Error::LockTaken {
                env: env(),
                package: s("app"),
                path: s("/var/lib/dfab/app/deploy.lock"),
                refused: vec![s("[web1] held by x")],
            },
            Error::BuildChanged {
                env: env(),
                was: "a".repeat(64),
                now: "b".repeat(64),
                release_mode: false,
            },
            Error::OtherBuildInstalled {
                env: env(),
                hosts: vec![s("[web1] has 1.0")],
            },
            Error::NoJournal {
                env: env(),
                path: ".dfab/state/staging.json".into(),
            },
            Error::NothingToResume {
                env: env(),
                status: s("ok"),
            },
            Error::StillRunning {
                env: env(),
                process: s("pid 1"),
            },
            Error::CannotTell {
                env: env(),
                process: s("pid 1 on other"),
            },
            Error::Abandoned {
                env: env(),
                package: s("app"),
                process: s("pid 1"),
            },
            Error::SequenceChanged {
                env: env(),
                was: vec![s("deb.deploy")],
                now: vec![s("test")],
                release_mode: false,
            },
            Error::BadJournal {
                path: "x.json".into(),
                reason: s("not JSON"),
            },
            Error::NothingToRevert { env: env() },
            Error::RevertIncomplete {
                env: env(),
                problems: vec![s("[web1] revert of app to 1.0: failed")],
            },
            Error::MigrateCheck {
                host: s("web1"),
                exit: Exit::Code(2),
                stderr: String::new(),
            },
            Error::Health {
                hosts: vec![s("[web1] 500")],
            },
            Error::Interrupted { finished: true },
            Error::Hosts {
                failures: vec![(s("web1"), s("failed"))],
                hints: vec![s("run again")],
            },
            Error::Reverted {
                task: s("deb.deploy"),
                releases: crate::releases::releases_dir("app"),
                cause: s("failed"),
                cause_hint: None,
            },
            Error::Failed {
                task: s("deb.deploy"),
                interrupted: false,
                cause: s("failed"),
                cause_hint: None,
                env: env(),
                changed: vec![s("web1")],
                maintenance: None,
                next: s("deb.deploy"),
                installed: vec![s("web1")],
                journal: ".dfab/state/staging.json".into(),
                release_mode: false,
            },
        ]
    }

    // Review of issue 19: hints printed `dfab <env> lock:status` (and `<package>`) where the
    // env and the package were known.
    #[test]
    fn no_hint_leaves_a_placeholder_where_the_value_is_known() {
        for e in all() {
            let text = crate::error::render(&crate::error::Error::from(e));
            for placeholder in ["<env>", "<package>", "<host>", "<name>"] {
                assert!(!text.contains(placeholder), "{placeholder} in:\n{text}");
            }
        }
        let hint = |e: Error| e.hint().unwrap();
        let lock = hint(all().swap_remove(0));
        assert!(lock.contains("`dfab staging lock:status`"), "{lock}");
        assert!(
            lock.contains("`dfab staging lock:release,force=yes`"),
            "{lock}"
        );
    }

    // Issue 21's gaps: in release mode the hints named `deploy:revert=yes`, which release mode
    // refuses; they name `rollback` there.
    #[test]
    fn release_mode_hints_name_rollback_not_the_revert() {
        for mut e in all() {
            match &mut e {
                Error::BuildChanged { release_mode, .. }
                | Error::SequenceChanged { release_mode, .. }
                | Error::Failed { release_mode, .. } => *release_mode = true,
                Error::Abandoned { package, .. } => *package = "/srv/app/staging".into(),
                _ => continue,
            }
            let hint = e.hint().unwrap();
            assert!(!hint.contains("revert"), "{hint}");
            assert!(hint.contains("`dfab staging rollback`"), "{hint}");
        }
    }

    // After `deb.deploy` found every host up to date, a failed migration read "these hosts
    // were changed: web1" and offered `deploy:revert=yes`, which would have gone back a
    // release that was never replaced.
    #[test]
    fn a_failure_with_no_release_installed_says_so_and_offers_no_revert() {
        let failed = |installed: Vec<String>| Error::Failed {
            task: "db_migrate".into(),
            interrupted: false,
            cause: "exit 1".into(),
            cause_hint: None,
            env: "staging".into(),
            changed: vec!["web1".into()],
            maintenance: None,
            next: "db_migrate".into(),
            installed,
            journal: ".dfab/state/staging.json".into(),
            release_mode: false,
        };
        let e = failed(Vec::new());
        let text = e.to_string();
        assert!(
            text.contains("no host got a new release; steps that may change a host (a migration, a task) ran on web1."),
            "{text}"
        );
        assert!(!text.contains("were changed"), "{text}");
        let hint = e.hint().unwrap();
        assert!(!hint.contains("revert=yes"), "{hint}");
        assert!(
            hint.contains("no release was installed, so there is none to revert"),
            "{hint}"
        );
        let text = failed(vec!["web1".into()]).to_string();
        assert!(text.contains("these hosts were changed: web1."), "{text}");
    }
}
