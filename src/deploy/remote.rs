//! The commands `deb.deploy` and `rollback` run on a host, as values, and what their output says.

use crate::hostside;
use crate::releases::history;
use crate::releases::releases_dir;
use crate::releases::state::{self, HostState};
use crate::transport::cmd::Cmd;

/// Preflight on a host: root through `sudo -n` (never prompting), the tools the install needs
/// (a `missing <tool>` line each), and the sha256 of each of `releases` (paths on the host)
/// that is there already, as `there<TAB>sha256<TAB>path` lines, so the upload can skip it
/// without another command.
#[must_use]
pub fn preflight(releases: &[String]) -> Cmd {
    hostside::call(std::iter::once("preflight").chain(releases.iter().map(String::as_str)))
        .sudo(None)
}

/// The `(path, sha256)` pairs of [`preflight`]'s output.
#[must_use]
pub fn parse_there(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.strip_prefix("there\t"))
        .filter_map(|l| l.split_once('\t'))
        .map(|(sha, path)| (path.to_string(), sha.to_string()))
        .collect()
}

/// Make the package's directories and print the sha256 of the release already there, if any.
#[must_use]
pub fn upload_check(package: &str, file: &str) -> Cmd {
    hostside::call(["upload-check", package, file]).sudo(None)
}

/// Where a release lives on the host.
#[must_use]
pub fn release_path(package: &str, file: &str) -> String {
    format!("{}/{file}", releases_dir(package))
}

/// The release an install puts on a host (`dfab-host install`'s arguments).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub package: &'a str,
    pub file: &'a str,
    pub version: &'a str,
    pub sha256: &'a str,
    /// `deploy` or `rollback`, for the history.
    pub action: &'a str,
    /// The git commit the release was built from, for the history.
    pub commit: Option<&'a str>,
}

/// How to install. Three independent switches, as apt-get's options are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallOpts {
    /// `deb_conffiles = 'new'`: the package's conffiles replace local changes.
    pub conffiles_new: bool,
    /// A lower version than the host has is allowed (rollback, `allow_downgrade`); without it
    /// the install is refused ([`REFUSED`]) on both paths, `dpkg -i` and apt.
    pub downgrade: bool,
    /// The debconf database arrives on stdin.
    pub debconf: bool,
    /// The .deb arrives on stdin first, this many bytes (the host lacks it): the upload and the
    /// install are one session.
    pub upload: Option<u64>,
}

/// Exit status of `install --skip-same` when the version installed came from another build:
/// the same version, other contents (dpkg would call it installed).
pub const OTHER_BUILD: i32 = 65;

/// The line that names the installed build's sha256 when [`OTHER_BUILD`].
pub const OTHER_BUILD_MARK: &str = "dfab-other-build\t";

/// Exit status of `install --apt` when the APT source failed; nothing was installed.
pub const APT_SOURCE: i32 = 76;

/// The line that says how the APT source failed: `dfab-apt<TAB>kind<TAB>detail`.
pub const APT_MARK: &str = "dfab-apt\t";

/// How the env's APT source failed on a host (`install --apt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AptFault {
    /// `/etc/apt/sources.list.d/dfab-<env>.sources` is missing (`init` not run).
    NoSource(String),
    /// apt refused the repository's signature (`InRelease` changed, or signed by another key).
    Signature(String),
    /// The host could not fetch from `apt_url`.
    Unreachable(String),
    /// `apt-get update` failed otherwise.
    Update(String),
    /// The repository does not hold the version (never published, or pruned).
    Missing(String),
    /// The repository holds another build under the version: its sha256.
    OtherBuild(String),
}

/// The [`AptFault`] in an install's output, if any.
#[must_use]
pub fn apt_fault(out: &str) -> Option<AptFault> {
    let rest = out.lines().find_map(|l| l.strip_prefix(APT_MARK))?;
    let (kind, detail) = rest.split_once('\t').unwrap_or((rest, ""));
    let d = detail.trim().to_string();
    Some(match kind {
        "no-source" => AptFault::NoSource(d),
        "signature" => AptFault::Signature(d),
        "unreachable" => AptFault::Unreachable(d),
        "missing" => AptFault::Missing(d),
        "other-build" => AptFault::OtherBuild(d),
        _ => AptFault::Update(d),
    })
}

/// Exit status of the install when another deploy holds the package's lock.
pub const LOCKED: i32 = 75;

/// Exit status of the install when a rule apt keeps refuses it (whichever path would install):
/// the package is on hold, or the version is lower than the host's and downgrades are not
/// allowed. Nothing was done.
pub const REFUSED: i32 = 77;

/// The line that says which rule refused the install, and dpkg's version on the host:
/// `dfab-refused<TAB>held|downgrade<TAB>version`.
pub const REFUSED_MARK: &str = "dfab-refused\t";

/// A rule apt keeps that refused an install, with dpkg's version on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The package is on hold (`apt-mark hold`): `dpkg -i` ignores holds, apt refuses.
    Held { installed: String },
    /// A lower version than the installed one, and downgrades were not allowed.
    Downgrade { installed: String },
}

/// The [`Refusal`] in an install's output, if any.
#[must_use]
pub fn refusal(out: &str) -> Option<Refusal> {
    let rest = out.lines().find_map(|l| l.strip_prefix(REFUSED_MARK))?;
    let (rule, installed) = rest.split_once('\t').unwrap_or((rest, ""));
    let installed = installed.to_string();
    match rule {
        "held" => Some(Refusal::Held { installed }),
        "downgrade" => Some(Refusal::Downgrade { installed }),
        _ => None,
    }
}

/// The line before the install: the state dpkg had (`version<TAB>status`, empty when none).
const BEFORE: &str = "dfab-before\t";
/// Printed instead of installing when the release is installed already (and `skip_same`).
const UNCHANGED: &str = "dfab-unchanged";
/// The line after the install: its exit status, then dpkg's state as in [`BEFORE`]. The kept
/// releases and the history (as `dfab-host state <package> <keep>` prints them) follow.
const AFTER: &str = "dfab-after\t";
/// Printed when the history line could not be appended.
const NO_HISTORY: &str = "dfab-history-failed";
/// Printed instead of installing when the release is installed already (and `skip_same`) but
/// the host does not know it was configured with these answers: it reconfigures it with them
/// (`dpkg-reconfigure`), then prints [`AFTER`] as an install does.
const RECONFIGURE: &str = "dfab-reconfigure";

/// `dfab-host install`: install the uploaded release `r` non-interactively, under the
/// package's lock, in one command: dpkg's state before, the install, dpkg's state after, the
/// history line that fits (`ok` only when the install exited 0 and dpkg has `r.version`
/// installed and configured, else `failed`), and, when more than `keep` releases are kept, the
/// kept releases and the history for pruning. With `skip_same`, a release already installed and
/// configured is not reinstalled: an `unchanged` line is written and nothing else happens;
/// without it, the same version is reinstalled (`--reinstall`). With `debconf`, the database is
/// read from stdin into a root-only temp directory that is removed on exit, whatever happens.
/// [`parse_install`] reads what it prints.
///
/// `apt-get install` of a local .deb re-reads the host's package lists and rewrites its caches
/// (about a second per host, six times `dpkg -i`). So apt first plans the install with no sources
/// at all (about 0.1 s): when that plan is exactly "install this package" (every dependency
/// already installed, nothing removed or upgraded), `dpkg -i` does the install with the same
/// options; otherwise `apt-get install` resolves Depends from the host's sources, as always.
#[must_use]
pub fn install(r: &Target<'_>, o: InstallOpts, skip_same: bool, keep: usize, user: &str) -> Cmd {
    install_via(r, o, skip_same, keep, user, None)
}

/// [`install`], or with `apt` (the host's source `dfab-<env>`) from the env's APT repository:
/// no .deb travels from here; the host updates that source alone, checks that it holds the
/// version (and the build, unless the sha256 is `-`), and apt installs `package=version`
/// ([`APT_SOURCE`] and an [`APT_MARK`] line when the source fails).
#[must_use]
pub fn install_via(
    r: &Target<'_>,
    o: InstallOpts,
    skip_same: bool,
    keep: usize,
    user: &str,
    apt: Option<&str>,
) -> Cmd {
    let mut args = vec!["install".to_string()];
    if let Some(source) = apt {
        args.extend(["--apt".into(), source.into()]);
    }
    for (on, flag) in [
        (skip_same, "--skip-same"),
        (o.downgrade, "--downgrade"),
        (o.conffiles_new, "--conffiles-new"),
        (o.debconf, "--debconf"),
    ] {
        if on {
            args.push(flag.into());
        }
    }
    if let Some(n) = o.upload {
        args.extend(["--deb-size".into(), n.to_string()]);
    }
    if let Some(c) = r.commit {
        args.extend(["--commit".into(), history::field(c)]);
    }
    args.extend([
        "--keep".into(),
        keep.to_string(),
        "--user".into(),
        history::field(user),
        "--dfab".into(),
        env!("CARGO_PKG_VERSION").into(),
        r.package.into(),
        r.file.into(),
        history::field(r.version),
        history::field(r.sha256),
        history::field(r.action),
    ]);
    hostside::call(args).sudo(None)
}

/// What the install script said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallReport {
    /// dpkg's `(version, status)` before, if the script got that far.
    pub before: Option<(String, String)>,
    /// The release was installed already; nothing was done (`skip_same`).
    pub unchanged: bool,
    /// The release was installed already, but not known to have these answers: reconfigured
    /// with them instead (`skip_same` with answers); `after` says how that ended.
    pub reconfigured: bool,
    /// The install's exit status and dpkg's state after, if the script got that far.
    pub after: Option<(i32, Option<(String, String)>)>,
    /// The history line could not be appended.
    pub history_failed: bool,
    /// apt's and dpkg's output (and any other line of the script's).
    pub output: String,
    /// The package's state after the install.
    pub state: HostState,
}

/// Read the output of [`install`].
#[must_use]
pub fn parse_install(out: &str) -> InstallReport {
    let mut rep = InstallReport::default();
    let mut listing = String::new();
    for line in out.lines() {
        if rep.after.is_some() {
            if line == NO_HISTORY {
                rep.history_failed = true;
            } else {
                listing.push_str(line);
                listing.push('\n');
            }
        } else if let Some(rest) = line.strip_prefix(BEFORE) {
            rep.before = state::parse_installed(rest);
        } else if let Some(rest) = line.strip_prefix(AFTER) {
            let (rc, st) = rest.split_once('\t').unwrap_or((rest, ""));
            rep.after = Some((rc.parse().unwrap_or(-1), state::parse_installed(st)));
        } else if line == UNCHANGED {
            rep.unchanged = true;
        } else if line == RECONFIGURE {
            rep.reconfigured = true;
        } else if line == NO_HISTORY {
            rep.history_failed = true;
        } else {
            rep.output.push_str(line);
            rep.output.push('\n');
        }
    }
    rep.state = state::parse(&listing);
    rep.state.installed = rep.after.as_ref().and_then(|(_, st)| st.clone());
    rep
}

/// The locally changed conffiles dpkg replaced with the package's (`--force-confnew`; dpkg
/// keeps the local copy as `<file>.dpkg-old`), from the install's output.
#[must_use]
pub fn replaced_conffiles(output: &str) -> Vec<String> {
    conffiles_where(output, "Using new file as you requested")
}

/// The conffiles dpkg kept (`--force-confold`), from the install's output.
#[must_use]
pub fn kept_conffiles(output: &str) -> Vec<String> {
    conffiles_where(output, "Keeping old config file as default")
}

/// The files of dpkg's `Configuration file '…'` blocks that go on to say `said`.
fn conffiles_where(output: &str, said: &str) -> Vec<String> {
    let mut last: Option<&str> = None;
    let mut found = Vec::new();
    for line in output.lines() {
        if let Some(rest) = line.trim().strip_prefix("Configuration file '") {
            last = rest.strip_suffix('\'');
        } else if line.contains(said) {
            if let Some(f) = last.take() {
                found.push(f.to_string());
            }
        }
    }
    found
}

/// A line of the host program's own (`dfab-received<TAB>…`, `dfab-unchanged`, `dfab: …`,
/// `dfab-host: …`), not apt's or dpkg's.
fn host_program_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("dfab") else {
        return false;
    };
    if rest.starts_with(": ") || rest.starts_with("-host: ") {
        return true;
    }
    // A tag: `dfab-word`, alone or before a tab.
    rest.strip_prefix('-').is_some_and(|r| {
        let tag = r.split('\t').next().unwrap_or(r);
        !tag.is_empty() && tag.chars().all(|c| c.is_ascii_lowercase() || c == '-')
    })
}

/// What apt, dpkg and the maintainer scripts printed: the install's output without the host
/// program's own lines.
#[must_use]
pub fn apt_output(output: &str) -> String {
    let mut out = String::new();
    for l in output.lines().filter(|l| !host_program_line(l)) {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Why an install failed, in one line: the host program's last message of its own (another
/// deploy holds the lock, a bad upload), else apt/dpkg's last error line (`dpkg: error: …`,
/// `E: …`, a maintainer script's "returned error exit status 1").
#[must_use]
pub fn install_cause(output: &str) -> Option<String> {
    let own = output.lines().rev().find_map(|l| {
        let m = l
            .strip_prefix("dfab-host: ")
            .or_else(|| l.strip_prefix("dfab: "))?;
        (!m.starts_with("every dependency is installed")).then(|| m.trim().to_string())
    });
    if own.is_some() {
        return own;
    }
    apt_output(output).lines().rev().find_map(|l| {
        let t = l.trim();
        let errorish = t.starts_with("E: ")
            || t.starts_with("dpkg: ")
            || t.to_ascii_lowercase().contains("error");
        if !errorish || t.starts_with("Errors were encountered while processing") {
            return None;
        }
        let t = ["dpkg: error: ", "E: ", "dpkg: "]
            .iter()
            .find_map(|p| t.strip_prefix(p))
            .unwrap_or(t);
        Some(t.to_string())
    })
}

/// The last lines of some output, for an error.
#[must_use]
pub fn tail(output: &str, n: usize) -> String {
    let lines: Vec<&str> = output.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target<'a>(package: &'a str, file: &'a str) -> Target<'a> {
        Target {
            package,
            file,
            version: "1.0",
            sha256: "abc",
            action: "deploy",
            commit: None,
        }
    }

    #[test]
    fn the_install_is_one_call_with_its_switches_and_the_history_fields() {
        let opts = InstallOpts {
            conffiles_new: false,
            downgrade: true,
            debconf: true,
            upload: None,
        };
        let c = install(&target("app", "app_1.0_all.deb"), opts, true, 5, "ann b");
        assert_eq!(
            c.to_string(),
            format!(
                "dfab-host install --skip-same --downgrade --debconf --keep 5 --user ann_b \
                 --dfab {} app app_1.0_all.deb 1.0 abc deploy",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(c.sudo.is_some());
        let opts = InstallOpts {
            conffiles_new: true,
            downgrade: false,
            debconf: false,
            upload: None,
        };
        let s = install(
            &target("g++-app", "g++-app_1.0_all.deb"),
            opts,
            false,
            3,
            "ann",
        )
        .to_string();
        assert!(
            s.starts_with("dfab-host install --conffiles-new --keep 3 --user ann "),
            "{s}"
        );
    }

    #[test]
    fn the_install_report_splits_markers_output_and_state() {
        let out = "dfab-before\t0.9\tii \ndfab: every dependency is installed: dpkg -i\n\
                   Setting up app (1.0) ...\ndfab-after\t0\t1.0\tii \n\
                   kept\t0.9\tapp_0.9_all.deb\nkept\t1.0\tapp_1.0_all.deb\n\
                   history\t2026-01-01T00:00:00Z\t1.0\tabc\tann\t0.1.0\tok\tdeploy\n";
        let r = parse_install(out);
        assert_eq!(r.before, Some(("0.9".into(), "ii ".into())));
        assert_eq!(r.after, Some((0, Some(("1.0".into(), "ii ".into())))));
        assert!(!r.unchanged && !r.history_failed);
        assert_eq!(
            r.output,
            "dfab: every dependency is installed: dpkg -i\nSetting up app (1.0) ...\n"
        );
        assert_eq!(r.state.kept.len(), 2);
        assert_eq!(r.state.history.len(), 1);
        assert_eq!(r.state.configured(), Some("1.0"));
        let r = parse_install("dfab-before\t\ndfab-unchanged\n");
        assert!(r.unchanged && r.after.is_none() && r.before.is_none());
        let r = parse_install(
            "dfab-before\t1.0\tii \ndfab-reconfigure\nSetting up\ndfab-after\t0\t1.0\tii \n",
        );
        assert!(r.reconfigured && !r.unchanged);
        assert_eq!(r.after, Some((0, Some(("1.0".into(), "ii ".into())))));
        let r = parse_install("dfab-before\t\nE: boom\ndfab-after\t1\t\ndfab-history-failed\n");
        assert_eq!(r.after, Some((1, None)));
        assert!(r.history_failed);
    }

    #[test]
    fn a_refusal_names_its_rule_and_the_installed_version() {
        assert_eq!(
            refusal("dfab-before\t1.2\tii \ndfab-refused\tdowngrade\t1.2\n"),
            Some(Refusal::Downgrade {
                installed: "1.2".into()
            })
        );
        assert_eq!(
            refusal("dfab-refused\theld\t1.0\n"),
            Some(Refusal::Held {
                installed: "1.0".into()
            })
        );
        assert_eq!(refusal("dfab-before\t1.2\tii \n"), None);
    }

    #[test]
    fn kept_conffiles_from_dpkg_output() {
        let out = "Setting up app ...\n\nConfiguration file '/etc/app.conf'\n ==> Modified (by you or by a script) since installation.\n ==> Package distributor has shipped an updated version.\n ==> Keeping old config file as default.\nConfiguration file '/etc/b'\n ==> Installing new config file as you requested.\n";
        assert_eq!(kept_conffiles(out), ["/etc/app.conf"]);
        let out = "Configuration file '/etc/app.conf'\n ==> Modified (by you or by a script) since installation.\n ==> Package distributor has shipped an updated version.\n ==> Using new file as you requested.\n";
        assert_eq!(replaced_conffiles(out), ["/etc/app.conf"]);
        assert!(kept_conffiles(out).is_empty());
    }
}
