//! One host's part of a deploy, as one routine whose phases hand their results on as values:
//! [`preflight`] (root through `sudo -n`, the install tools, the releases the host holds) gives
//! [`HostFacts`], which [`ship`] takes to upload what the host lacks (skipped when it holds the
//! same sha256) and install it with the debconf answers, verified with `dpkg-query`, recorded in
//! the history and pruned.

use std::path::Path;

use crate::error::Result;
use crate::exec::record;
use crate::exec::step::RunCtx;
use crate::releases::history::{self, Outcome, Record};
use crate::releases::state;
use crate::transport::transfer::Metered;
use crate::transport::{Exit, Io, Output, Transport};

use super::debconf_db::DebconfDb;
use super::error::{Error, Preflight};
pub use super::remote::Target;
use super::remote::{self, InstallOpts};
use super::{Job, Release};

/// What a host's preflight found: the releases it holds already, as `(path, sha256)`.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    pub there: Vec<(String, String)>,
}

/// On one host: root through `sudo -n` (never prompting), the tools the install needs, and the
/// sha256 of each release of `release` the host holds, in one command. `task` names who stops.
pub fn preflight(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    release: &Release,
    task: &'static str,
) -> Result<HostFacts> {
    let paths: Vec<String> = release
        .packages
        .iter()
        .map(|s| remote::release_path(&s.package, &s.file))
        .collect();
    let problem = match record::exec(t, cx.rep, "check", remote::preflight(&paths)) {
        Err(e) => Err(Preflight::Unreachable(e.to_string())),
        Ok(_) if t.recording() => Ok(HostFacts::default()),
        Ok(o) => checked(&o, t.login_user()),
    };
    problem.map_err(|problem| {
        Error::Preflight {
            host: t.host().to_string(),
            problem,
            task,
        }
        .into()
    })
}

/// What a preflight's output says: the host fit to install (and what it holds), or why not.
/// The lock's preflight (`dfab-host lock take --preflight`) prints the same lines.
pub fn checked(o: &Output, login_user: &str) -> std::result::Result<HostFacts, Preflight> {
    if o.stderr_str().contains("password is required") {
        return Err(Preflight::SudoNeedsPassword {
            user: login_user.to_string(),
        });
    }
    let text = o.stdout_str();
    let missing: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("missing "))
        .map(String::from)
        .collect();
    if !missing.is_empty() {
        Err(Preflight::Missing(missing))
    } else if text.lines().next() != Some("0") {
        if o.status != 0 {
            return Err(Preflight::Failed {
                exit: o.exit(),
                tail: remote::tail(&o.stderr_str(), 3),
            });
        }
        Err(Preflight::NotRoot {
            said: text.lines().next().map(String::from),
        })
    } else if o.status != 0 {
        Err(Preflight::Failed {
            exit: o.exit(),
            tail: remote::tail(&o.stderr_str(), 3),
        })
    } else {
        Ok(HostFacts {
            there: remote::parse_there(&text),
        })
    }
}

/// What one host's routine did: in a few words, and whether it changed the host (an install
/// that found the release installed already did not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub what: String,
    pub changed: bool,
}

/// Upload (when the host lacks it: the .deb streams into the install's own session) and
/// install every package of `release` this host gets.
pub fn ship(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    release: &Release,
    job: &Job,
    facts: &HostFacts,
) -> Result<Change> {
    if release.planned {
        // `-n` before the first build: what the build makes is not known yet.
        let what = if job.apt.is_some() {
            "would install the build's packages from the APT repository"
        } else {
            "would ship the build's packages"
        };
        let unless = if job.force {
            ""
        } else {
            unless_there(job.debconf.is_some() || job.debconf_text.is_some())
        };
        return Ok(Change {
            what: format!("{what}{unless}"),
            changed: true,
        });
    }
    let mut changed = false;
    let host = t.host().to_string();
    let mut did = Vec::new();
    for s in release.for_host(job, &host) {
        let dest = remote::release_path(&s.package, &s.file);
        // Through APT the host fetches the release itself: nothing is sent from here.
        let there = job.apt.is_some()
            || facts
                .there
                .iter()
                .any(|(p, sha)| *p == dest && *sha == s.sha256);
        let target = Target {
            package: &s.package,
            file: &s.file,
            version: &s.version,
            sha256: &s.sha256,
            action: "deploy",
            commit: release.commit.as_deref(),
        };
        let opts = InstallOpts {
            conffiles_new: job.conffiles_new,
            downgrade: job.allow_downgrade,
            debconf: release.debconf.is_some(),
            upload: (!there).then_some(s.size),
        };
        let deb = (!there).then_some(s.path.as_path());
        let done = install_release(
            t,
            cx,
            release.debconf.as_ref(),
            job,
            &target,
            deb,
            opts,
            !job.force,
        )
        .map_err(|e| after_changes(&host, changed, &did, e))?;
        let sent = match (deb.is_some(), t.recording(), job.apt.is_some()) {
            (_, _, true) => " (from the APT repository)",
            (true, true, _) => " (would upload it)",
            (true, false, _) => " (uploaded)",
            (false, _, _) => "",
        };
        changed |= done != Done::Unchanged;
        did.push(match done {
            Done::Unchanged => format!(
                "{} {} is already installed: nothing to do (deb.deploy:force=yes reinstalls){}",
                s.package,
                s.version,
                if job.apt.is_some() { "" } else { sent }
            ),
            Done::Installed(what) if t.recording() && !job.force => {
                format!("{what}{sent}{}", unless_there(release.debconf.is_some()))
            }
            Done::Installed(what) => format!("{what}{sent}"),
        });
    }
    Ok(Change {
        what: did.join("; "),
        changed,
    })
}

/// Under `-n`, what an install does on a host that has this build already, which `-n` cannot
/// know (it asks no host): the run leaves it alone, or, with answers the host is not known to
/// have, reconfigures it with them.
#[must_use]
pub fn unless_there(answers: bool) -> &'static str {
    if answers {
        "; a host with this build: nothing, or a reconfigure"
    } else {
        "; a host with this build: nothing"
    }
}

/// A failure on a host where an earlier package of this run was installed: the host changed,
/// whatever the failure says of its own package.
pub(crate) fn after_changes(
    host: &str,
    changed: bool,
    did: &[String],
    e: crate::error::Error,
) -> crate::error::Error {
    if !changed {
        return e;
    }
    Error::AfterChanges {
        host: host.to_string(),
        done: did.join("; "),
        failed: Box::new(e),
    }
    .into()
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
        commit: r.commit,
    };
    let cmd = history::append(&line, &history::local_user());
    match record::exec(t, cx.rep, "sudo", cmd) {
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

/// What [`install_release`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// The release was installed already (`skip_same`): an `unchanged` history line only.
    Unchanged,
    /// Installed (or rolled back to) and verified: what, for the log.
    Installed(String),
}

/// Install a release, verify it, record it and prune after success, in one remote command
/// (plus one to prune when releases beyond `keep_releases` are kept); says what it did. `deb`:
/// the host lacks the release, and the local file streams into the same command first (its
/// size in `opts.upload`), checked by sha256 on the host before use. With `skip_same`, a
/// release already installed is left alone.
#[allow(clippy::too_many_arguments)] // one install's inputs, each used once
pub fn install_release(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    debconf: Option<&DebconfDb>,
    job: &Job,
    r: &Target<'_>,
    deb: Option<&Path>,
    opts: InstallOpts,
    skip_same: bool,
) -> Result<Done> {
    let cmd = remote::install_via(
        r,
        opts,
        skip_same,
        job.keep,
        &history::local_user(),
        job.apt.as_deref(),
    )
    .without_sudo_if_root(t.login_user());
    let answers: &[u8] = match debconf.filter(|_| opts.debconf) {
        Some(db) => db.text.expose().as_bytes(),
        None => &[],
    };
    cx.rep.command(t.host(), "sudo", &cmd);
    let out = match deb {
        // The .deb first, then the answers, as one stream: the upload is the install's session.
        Some(path) if !t.recording() => {
            let file = fs_err::File::open(path)?;
            let size = file.metadata()?.len();
            let meter = cx
                .rep
                .transfer(t.host(), &format!("put {}", path.display()), size);
            // The meter ends when the file does (its rate is the upload's, not the install's).
            let sent = UntilEof {
                inner: Metered { inner: file, meter },
                ended: false,
            };
            let mut stream = std::io::Read::chain(sent, answers);
            let out = crate::hostside::exec_io(
                t,
                &cmd,
                Io {
                    stdin: Some(&mut stream),
                    stdout: None,
                },
                None,
            );
            stream.get_mut().0.end();
            out?
        }
        _ => crate::hostside::exec(t, &cmd.stdin(answers.to_vec()), None)?,
    };
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
    if out.status == remote::OTHER_BUILD {
        if let Some(built) = out
            .stdout_str()
            .lines()
            .find_map(|l| l.strip_prefix(remote::OTHER_BUILD_MARK))
        {
            return Err(Error::OtherBuild {
                host: t.host().to_string(),
                package: r.package.to_string(),
                version: r.version.to_string(),
                installed: built.trim().to_string(),
                sha256: r.sha256.to_string(),
            }
            .into());
        }
    }
    if out.status == remote::APT_SOURCE {
        if let Some(fault) = remote::apt_fault(&out.stdout_str()) {
            return Err(Error::AptSource {
                host: t.host().to_string(),
                env: cx.env.name.clone(),
                package: r.package.to_string(),
                version: r.version.to_string(),
                fault,
            }
            .into());
        }
    }
    if out.status == remote::REFUSED {
        if let Some(refusal) = remote::refusal(&out.stdout_str()) {
            return Err(Error::Refused {
                host: t.host().to_string(),
                package: r.package.to_string(),
                version: r.version.to_string(),
                refusal,
                action: r.action.to_string(),
                env: cx.env.name.clone(),
            }
            .into());
        }
    }
    let rep = remote::parse_install(&out.stdout_str());
    // dpkg's state as it was, when the install left it so: the host is unchanged.
    let unchanged = match (&rep.before, &rep.after) {
        (Some(before), Some((_, after))) if after.as_ref() == Some(before) => {
            Some(crate::releases::state::dpkg_words(Some(before)))
        }
        (None, Some((_, None))) => Some("not installed".to_string()),
        _ => None,
    };
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
    if rep.reconfigured {
        return reconfigured(t, cx, r, &rep, &out, &text);
    }
    // What apt and dpkg said, for the error's tail: the host program's own lines left out.
    let apt = remote::apt_output(&text);
    let install_failed = |exit: Exit, unchanged: Option<String>| Error::Install {
        host: t.host().to_string(),
        env: cx.env.name.clone(),
        package: r.package.to_string(),
        version: r.version.to_string(),
        exit,
        cause: remote::install_cause(&text),
        tail: remote::tail(&apt, 15),
        unchanged,
    };
    let Some((status, now)) = rep.after else {
        // The script stopped before the install ended (or never started it): before its
        // `dfab-before` line nothing was installed (a held lock, a bad upload); after it,
        // nobody knows.
        let unchanged = rep.before.is_none().then(String::new);
        let e = install_failed(out.exit(), unchanged);
        // A held lock means another deploy is installing: nothing of ours happened to record.
        if !(out.status == remote::LOCKED && rep.before.is_none()) {
            record(t, cx, r, Outcome::Failed);
        }
        return Err(e.into());
    };
    if status != 0 {
        return Err(install_failed(Exit::Code(status), unchanged).into());
    }
    if !now
        .as_ref()
        .is_some_and(|(v, st)| v == r.version && st.starts_with("ii"))
    {
        return Err(Error::NotInstalled {
            host: t.host().to_string(),
            env: cx.env.name.clone(),
            package: r.package.to_string(),
            version: r.version.to_string(),
            state: crate::releases::state::dpkg_words(now.as_ref()),
            tail: remote::tail(&apt, 15),
            unchanged,
        }
        .into());
    }
    // Said as the step's other lines are: `[host] deb.deploy: …`.
    let task = if r.action == "deploy" {
        "deb.deploy"
    } else {
        r.action
    };
    for f in remote::kept_conffiles(&text) {
        cx.rep.info(&format!(
            "[{}] {task}: kept the locally changed conffile {f}; the package's is {f}.dpkg-dist \
             (deb_conffiles = 'new' installs the package's)",
            t.host()
        ));
    }
    for f in remote::replaced_conffiles(&text) {
        cx.rep.info(&format!(
            "[{}] {task}: replaced the locally changed conffile {f} with the package's \
             (deb_conffiles = 'new'); the local one is {f}.dpkg-old",
            t.host()
        ));
    }
    let old = state::to_prune(&rep.state, job.keep, r.version);
    if !old.is_empty() {
        let o = record::exec(t, cx.rep, "sudo", state::prune_cmd(r.package, &old))?;
        if o.status != 0 {
            cx.rep.warn(&format!(
                "[{}] pruning old releases failed: {}",
                t.host(),
                o.stderr_str().trim()
            ));
        }
    }
    Ok(Done::Installed(installed_words(
        r,
        rep.before.as_ref().map(|(v, st)| (v.as_str(), st.as_str())),
    )))
}

/// The end of an install that found this build installed but not known to have these answers,
/// and reconfigured it with them ([`remote::InstallReport::reconfigured`]): said as such, or
/// the reconfigure's failure with its last lines.
fn reconfigured(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    r: &Target<'_>,
    rep: &remote::InstallReport,
    out: &Output,
    text: &str,
) -> Result<Done> {
    if out.status == 0 && matches!(rep.after, Some((0, _))) {
        return Ok(Done::Installed(format!(
            "{} {} is already installed; its debconf answers differed from the env's (or were \
             not known): reconfigured it with them (no new release)",
            r.package, r.version
        )));
    }
    Err(crate::error::Error::CommandFailed {
        host: t.host().to_string(),
        cmd: format!("dpkg-reconfigure {}", r.package),
        exit: out.exit(),
        stderr: remote::tail(&remote::apt_output(text), 15),
        hint: Some(format!(
            "{} {} is installed; its config or postinst failed with the env's debconf answers: \
             fix them and run `dfab {} deb.reconfigure`",
            r.package, r.version, cx.env.name
        )),
    })
}

/// What an install did, by dpkg's state before: `upgraded p 1.0-1 → 1.1-1`, `downgraded …`,
/// `reinstalled p 1.1-1`, `installed p 1.1-1` (nothing installed before); a rollback says
/// `rolled back to p 1.0-1`.
fn installed_words(r: &Target<'_>, before: Option<(&str, &str)>) -> String {
    if r.action == "rollback" {
        return format!("rolled back to {} {}", r.package, r.version);
    }
    change_words(r.package, before, r.version)
}

/// What installing `version` of `package` did, by dpkg's `(version, status)` before it:
/// `upgraded p 1.0-1 → 1.1-1`, `upgraded p 1.0-1 (half-configured, dpkg iF) → 1.1-1`,
/// `downgraded …`, `reinstalled p 1.1-1`, or `installed p 1.1-1` (dpkg had none of it).
#[must_use]
pub fn change_words(package: &str, before: Option<(&str, &str)>, version: &str) -> String {
    use crate::deb::version::Version;
    use crate::releases::state::{status_words, version_words};
    let (p, v) = (package, version);
    // Installed before, in any state dpkg keeps files for (`ii`, `iF`, `hi`, …).
    let was = before.filter(|(_, st)| st.as_bytes().get(1).is_some_and(|s| *s != b'n'));
    let order = was.and_then(|(w, _)| Some(Version::parse(w).ok()?.cmp(&Version::parse(v).ok()?)));
    match (was, order) {
        (Some((w, st)), Some(std::cmp::Ordering::Less)) => {
            format!("upgraded {p} {} → {v}", version_words(w, st))
        }
        (Some((w, st)), Some(std::cmp::Ordering::Greater)) => {
            format!("downgraded {p} {} → {v}", version_words(w, st))
        }
        (Some((_, st)), Some(std::cmp::Ordering::Equal)) => match status_words(st) {
            Some(was) => format!("reinstalled {p} {v} (it was {was})"),
            None => format!("reinstalled {p} {v}"),
        },
        (Some((w, st)), None) => format!("installed {p} {v} (was {})", version_words(w, st)),
        (None, _) => format!("installed {p} {v}"),
    }
}

/// A metered reader that ends its meter at the end of its data.
struct UntilEof<R> {
    inner: Metered<R>,
    ended: bool,
}

impl<R> UntilEof<R> {
    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            self.inner.meter.done();
        }
    }
}

impl<R: std::io::Read> std::io::Read for UntilEof<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.end();
        }
        Ok(n)
    }
}
