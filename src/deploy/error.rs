//! What goes wrong in `deb.deploy` and `rollback`, as values: each carries its host, package,
//! version and exit status as fields; the text is made once, where it is printed.

use std::path::PathBuf;

use crate::transport::Exit;

use super::remote::{AptFault, Refusal};

/// A failure of `deb.deploy` or `rollback`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A host failed its preflight; no host has been changed.
    #[error("[{host}] preflight: {problem}")]
    Preflight {
        host: String,
        problem: Preflight,
        /// The task that stops (`deb.deploy`, `rollback`, `revert`).
        task: &'static str,
    },
    /// The install command ended before the package was installed, or failed. The first line
    /// says why on its own (a summary shows only it); apt/dpkg's last lines follow.
    #[error(
        "[{host}] installing {package} {version} failed ({exit}){}{}{}",
        cause_words(.cause.as_deref()),
        unchanged_words(.unchanged.as_ref()),
        tail_words(tail)
    )]
    Install {
        host: String,
        /// The env, for the hint's commands.
        env: String,
        package: String,
        version: String,
        exit: Exit,
        /// Why, in one line: the host program's own message (another deploy holds the lock, a
        /// bad upload), else apt/dpkg's last error line.
        cause: Option<String>,
        /// apt/dpkg's last lines (the host program's own lines left out).
        tail: String,
        /// dpkg's state of the package after is what it was before (`version status`, or
        /// `not installed`; empty: the install did not start): the failure changed nothing.
        /// `None`: it changed, or nobody knows.
        unchanged: Option<String>,
    },
    /// A rule apt keeps refused the install, on whichever path would have installed it.
    #[error(
        "[{host}] {}; nothing was installed",
        refused_words(package, version, refusal)
    )]
    Refused {
        host: String,
        package: String,
        version: String,
        refusal: Refusal,
        /// `deploy` or `rollback`, for the hint.
        action: String,
        /// The env, for the hint's commands.
        env: String,
    },
    /// A host failed after another package of the same host was installed: the host changed.
    #[error("{failed}\n[{host}] before that: {done}")]
    AfterChanges {
        host: String,
        /// What was done on the host before the failure.
        done: String,
        failed: Box<crate::error::Error>,
    },
    /// The version is installed already, from another build: dpkg compares versions, not
    /// contents, so installing this build would change nothing and call it done.
    #[error(
        "[{host}] {package} {version} is installed from another build (sha256 {}), not this one \
         ({}): same version, other contents; nothing was installed",
        &installed[..16.min(installed.len())],
        &sha256[..16.min(sha256.len())]
    )]
    OtherBuild {
        host: String,
        package: String,
        version: String,
        installed: String,
        sha256: String,
    },
    /// The install said it succeeded, but dpkg disagrees.
    #[error(
        "[{host}] after the install dpkg reports {package} as {state}, not {version} installed \
         and configured{}{}",
        unchanged_words(.unchanged.as_ref()),
        tail_words(tail)
    )]
    NotInstalled {
        host: String,
        /// The env, for the hint's commands.
        env: String,
        package: String,
        version: String,
        state: String,
        tail: String,
        /// As in [`Error::Install`].
        unchanged: Option<String>,
    },
    /// `deploy_strategy = 'apt'`: the env's APT source failed on the host, before anything
    /// was installed.
    #[error(
        "[{host}] {package} {version}: {}; nothing was installed",
        apt_words(fault)
    )]
    AptSource {
        host: String,
        /// The env, for the hint's commands.
        env: String,
        package: String,
        version: String,
        fault: AptFault,
    },
    /// No kept release to go back to (or not the one asked for).
    #[error("[{host}] rollback of {package}: {why}")]
    NoRollbackTarget {
        host: String,
        package: String,
        why: String,
    },
    /// `deb.deploy` ships the last build, and there is none.
    #[error("no build record: {} does not exist", path.display())]
    NoBuildRecord { path: PathBuf, env: String },
    /// A .deb differs from what its build wrote.
    #[error("{}: checksum mismatch: the build record says sha256 {want}, the file has {got}", path.display())]
    Checksum {
        path: PathBuf,
        env: String,
        want: String,
        got: String,
    },
    /// A .deb of the build record cannot be read.
    #[error("{}: listed in the build record but unreadable", path.display())]
    Unreadable {
        path: PathBuf,
        env: String,
        #[source]
        source: std::io::Error,
    },
    /// A .deb (or its `templates`) is not what dpkg-deb writes.
    #[error("{}: {what}", path.display())]
    BadDeb { path: PathBuf, what: String },
    /// `deploy_packages` names a package the build did not make.
    #[error("deploy_packages names `{name}`, which the last build did not make")]
    NotBuilt { name: String, built: Vec<String> },
}

/// `; dpkg's state is as before (X): the host is unchanged`, when it is (`X` empty: the
/// install did not start).
fn unchanged_words(unchanged: Option<&String>) -> String {
    match unchanged.map(String::as_str) {
        None => String::new(),
        Some("") => "; the install did not start: the host is unchanged".into(),
        Some(was) => format!("; dpkg's state is as before ({was}): the host is unchanged"),
    }
}

/// `: CAUSE` when there is one.
fn cause_words(cause: Option<&str>) -> String {
    cause.map(|c| format!(": {c}")).unwrap_or_default()
}

/// apt/dpkg's last lines on lines of their own, when there are any.
fn tail_words(tail: &str) -> String {
    if tail.trim().is_empty() {
        String::new()
    } else {
        format!("\nthe last lines of apt/dpkg:\n{tail}")
    }
}

/// The process holding dpkg's lock, as dpkg or apt names it: `pid 2486` in "dpkg frontend
/// lock was locked by another process with pid 2486", `process 2486 (apt-get)` in apt's "It is
/// held by process 2486 (apt-get)".
fn lock_holder(text: &str) -> Option<String> {
    text.lines().rev().find_map(|l| {
        if let Some((_, pid)) = l.split_once("locked by another process with pid ") {
            return Some(format!("pid {}", pid.trim().trim_end_matches('.')));
        }
        let (_, p) = l.split_once("It is held by process ")?;
        Some(format!("process {}", p.trim().trim_end_matches('.')))
    })
}

/// What went wrong with the APT source, in words.
fn apt_words(f: &AptFault) -> String {
    match f {
        AptFault::NoSource(d) => format!("the env's APT source is not installed ({d})"),
        AptFault::Signature(d) => {
            format!("apt refused the repository's signature (apt_signing_key): {d}")
        }
        AptFault::Unreachable(d) => format!("the host cannot reach the repository (apt_url): {d}"),
        AptFault::Update(d) => format!("apt-get update of the env's source failed: {d}"),
        AptFault::Missing(d) => format!(
            "the repository does not hold this version (deb.publish, apt_keep_versions): {d}"
        ),
        AptFault::OtherBuild(sha) => format!(
            "the repository holds another build under this version (sha256 {})",
            &sha[..16.min(sha.len())]
        ),
    }
}

/// Why a rule refused `package` `version`.
fn refused_words(package: &str, version: &str, r: &Refusal) -> String {
    match r {
        Refusal::Held { installed } => {
            format!(
            "{package} is on hold (apt-mark hold; installed: {}): apt refuses to change a held \
             package, and so does dfab (on the dpkg -i path too)",
            if installed.is_empty() { "none" } else { installed }
        )
        }
        Refusal::Downgrade { installed } => format!(
            "{package} {version} is lower than the installed {installed}: a downgrade, refused \
             (apt refuses one; so does dfab on the dpkg -i path)"
        ),
    }
}

/// Why a host failed its preflight.
#[derive(Debug, thiserror::Error)]
pub enum Preflight {
    #[error(
        "sudo wants a password for `{user}`; dfab runs `sudo -n` and never prompts (allow it \
         NOPASSWD in /etc/sudoers.d, or log in as root)"
    )]
    SudoNeedsPassword { user: String },
    #[error("sudo did not give root ({})", said.as_deref().map_or_else(|| "id -u printed nothing".to_owned(), |s| format!("id -u said `{s}`")))]
    NotRoot { said: Option<String> },
    #[error("missing on the host: {}", .0.join(", "))]
    Missing(Vec<String>),
    #[error("preflight command failed ({exit}): {tail}")]
    Failed { exit: Exit, tail: String },
    #[error("{0}")]
    Unreachable(String),
}

impl Error {
    /// What to do about it.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Preflight { task, .. } => {
                format!("{task} stops after the preflight, before any host is changed")
            }
            Error::Install {
                host, cause, tail, ..
            } if lock_holder(&format!("{}\n{tail}", cause.as_deref().unwrap_or(""))).is_some() => {
                let who = lock_holder(&format!("{}\n{tail}", cause.as_deref().unwrap_or("")))
                    .unwrap_or_default();
                let pid = who.split_whitespace().nth(1).unwrap_or_default();
                format!(
                    "another program holds dpkg's lock on {host} ({who}: an unattended upgrade, \
                     or apt run by hand): wait for it to end (`ps -p {pid}` there), then run again"
                )
            }
            Error::Install { env, .. } | Error::NotInstalled { env, .. } => format!(
                "the host keeps its kept releases and its history; `dfab {env} releases` shows \
                 them"
            ),
            Error::Refused {
                refusal: Refusal::Held { .. },
                host,
                package,
                ..
            } => format!(
                "if the hold is no longer wanted, `apt-mark unhold {package}` on {host}, then run again"
            ),
            Error::Refused { action, .. } if action == "rollback" => {
                "a rollback allows downgrades; this should not happen: report it".into()
            }
            Error::Refused { env, .. } => format!(
                "`dfab {env} deb.deploy:allow_downgrade=yes` (or `allow_downgrade` turned on in \
                 the env) installs the lower version; `dfab {env} rollback` goes back to a kept release"
            ),
            Error::AfterChanges { failed, .. } => return failed.hint(),
            Error::OtherBuild { .. } => {
                "give the new build a new version (debian/changelog), or `deb.deploy:force=yes` \
                 reinstalls this build over it"
                    .into()
            }
            Error::NoRollbackTarget { .. } => {
                "`rollback:version=X` picks one of the kept releases".into()
            }
            Error::AptSource { env, fault, .. } => match fault {
                AptFault::NoSource(_) => format!(
                    "`dfab {env} init` installs the source and its key on each host"
                ),
                AptFault::Signature(_) => format!(
                    "the repository's InRelease does not verify against the key `init` put on \
                     the host (/etc/apt/keyrings/{}.asc): it was changed after it was signed, \
                     or signed with another key than apt_signing_key's; publish again with \
                     `dfab {env} deb.publish`, and after changing apt_signing_key run \
                     `dfab {env} init`",
                    crate::apt::source_name(env)
                ),
                AptFault::Unreachable(_) => format!(
                    "check that apt_url answers from the host (a web server serving apt_repo), \
                     e.g. `curl -I <apt_url>dists/<apt_dist>/InRelease` there; then \
                     `dfab {env} init` if apt_url changed"
                ),
                AptFault::Update(_) => "run `apt-get update` on the host to see why".into(),
                AptFault::Missing(_) => format!(
                    "`dfab {env} deb.publish` publishes the last build; the repository keeps \
                     apt_keep_versions versions of each package, so an older one has to be \
                     built and published again"
                ),
                AptFault::OtherBuild(_) => format!(
                    "`dfab {env} deb.publish` refuses another build under a published \
                     version; give the new build a new version (debian/changelog)"
                ),
            },
            Error::NoBuildRecord { env, .. } => {
                format!("build first: `dfab {env} deb.build` (deb.deploy ships what that build wrote)")
            }
            Error::Checksum { env, .. } => {
                format!("the file changed after it was built; rebuild with `dfab {env} deb.build`")
            }
            Error::Unreadable { env, .. } => format!("rebuild with `dfab {env} deb.build`"),
            Error::BadDeb { .. } => "rebuild the package (deb.build)".into(),
            Error::NotBuilt { name, built } => {
                return crate::suggestion::hint(
                    name,
                    built.iter().map(String::as_str),
                    "built packages",
                )
            }
        })
    }
}

impl crate::error::DomainError for Error {
    fn hint(&self) -> Option<String> {
        Error::hint(self)
    }

    /// Judged by dpkg's state (before and after) where the install ran; the checks before it
    /// change nothing.
    fn left_host_unchanged(&self) -> bool {
        match self {
            Error::Install { unchanged, .. } | Error::NotInstalled { unchanged, .. } => {
                unchanged.is_some()
            }
            Error::AfterChanges { .. } => false,
            Error::Preflight { .. }
            | Error::Refused { .. }
            | Error::OtherBuild { .. }
            | Error::NoRollbackTarget { .. }
            | Error::AptSource { .. }
            | Error::NoBuildRecord { .. }
            | Error::Checksum { .. }
            | Error::Unreadable { .. }
            | Error::BadDeb { .. }
            | Error::NotBuilt { .. } => true,
        }
    }

    /// The build record and its files are input, read before any host changes (README: exit
    /// codes): their problems are bad input, 2.
    fn code(&self) -> u8 {
        match self {
            Error::NoBuildRecord { .. }
            | Error::Checksum { .. }
            | Error::Unreadable { .. }
            | Error::NotBuilt { .. }
            | Error::BadDeb { .. } => 2,
            _ => 1,
        }
    }
}

crate::domain_error!(Error);

#[cfg(test)]
mod tests {
    use super::{Error, Preflight};

    // Review of issue 19: dpkg's state read `Some(("1.2-1", "iF "))`, and a shell's line
    // `Some("Welcome to web1")`: Rust's debug text.
    #[test]
    fn dpkg_s_state_and_a_wrong_id_read_as_words() {
        let e = Error::NotInstalled {
            host: "web1".into(),
            env: "staging".into(),
            package: "app".into(),
            version: "1.2-1".into(),
            state: crate::releases::state::dpkg_words(Some(&("1.2-1".into(), "iF ".into()))),
            tail: String::new(),
            unchanged: None,
        };
        let text = e.to_string();
        assert!(
            text.contains("dpkg reports app as 1.2-1, half-configured (dpkg iF), not 1.2-1"),
            "{text}"
        );
        assert!(!text.contains("Some("), "{text}");
        let said = |s: Option<&str>| {
            Preflight::NotRoot {
                said: s.map(String::from),
            }
            .to_string()
        };
        assert_eq!(
            said(Some("Welcome to web1")),
            "sudo did not give root (id -u said `Welcome to web1`)"
        );
        assert_eq!(said(None), "sudo did not give root (id -u printed nothing)");
    }
}
