//! The commands `deb.deploy` and `rollback` run on a host, as values, and what their output says.

use crate::releases::history::{self, Outcome, Record};
use crate::releases::state::{self, HostState};
use crate::releases::{releases_dir, state_dir};
use crate::transport::cmd::{quote, Cmd};

use super::ship::Target;

/// Tools the install needs on the host.
const TOOLS: &[&str] = &[
    "apt-get",
    "dpkg-query",
    "dpkg-deb",
    "flock",
    "sha256sum",
    "mktemp",
];

/// Preflight on a host: root through `sudo -n` (never prompting), the tools present, and the
/// sha256 of each of `releases` (paths on the host) that is there already, as
/// `there<TAB>sha256<TAB>path` lines, so the upload can skip it without another command.
#[must_use]
pub fn preflight(releases: &[String]) -> Cmd {
    let mut s = format!(
        "id -u; for t in {}; do command -v \"$t\" >/dev/null || echo \"missing $t\"; done",
        TOOLS.join(" ")
    );
    if !releases.is_empty() {
        let q: Vec<String> = releases.iter().map(|r| quote(r)).collect();
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!(
                "; for f in {}; do if [ -f \"$f\" ]; then \
                 printf 'there\\t%s\\t%s\\n' \"$(sha256sum < \"$f\" | cut -d' ' -f1)\" \"$f\"; fi; done",
                q.join(" ")
            ),
        );
    }
    Cmd::shell(s).sudo(None)
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
    Cmd::shell(format!(
        "install -d -m 0755 {d} {r} && {{ sha256sum {f} 2>/dev/null || true; }}",
        d = quote(&state_dir(package)),
        r = quote(&releases_dir(package)),
        f = quote(&format!("{}/{file}", releases_dir(package))),
    ))
    .sudo(None)
}

/// Where a release lives on the host.
#[must_use]
pub fn release_path(package: &str, file: &str) -> String {
    format!("{}/{file}", releases_dir(package))
}

/// How to install. Three independent switches, as apt-get's options are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallOpts {
    /// `deb_conffiles = 'new'`: the package's conffiles replace local changes.
    pub conffiles_new: bool,
    /// Rollback: a lower version is expected.
    pub downgrade: bool,
    /// The debconf database arrives on stdin.
    pub debconf: bool,
}

/// apt options for a plan from the installed packages alone: no sources, no cache written.
const NO_SOURCES: &str = "-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=/dev/null \
     -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=";

/// Exit status of the install script when another deploy holds the package's lock.
pub const LOCKED: i32 = 75;

/// The line before the install: the state dpkg had (`version<TAB>status`, empty when none).
const BEFORE: &str = "dfab-before\t";
/// Printed instead of installing when the release is installed already (and `skip_same`).
const UNCHANGED: &str = "dfab-unchanged";
/// The line after the install: its exit status, then dpkg's state as in [`BEFORE`]. The kept
/// releases and the history (as `state::kept_shell` prints them) follow.
const AFTER: &str = "dfab-after\t";
/// Printed when the history line could not be appended.
const NO_HISTORY: &str = "dfab-history-failed";

/// Install the uploaded release `r` non-interactively, under the package's lock, in one
/// command: dpkg's state before, the install, dpkg's state after, the history line that fits
/// (`ok` only when the install exited 0 and dpkg has `r.version` installed and configured,
/// else `failed`), and, when more than `keep` releases are kept, the kept releases and the
/// history for pruning. With `skip_same`, a release already
/// installed and configured is not reinstalled: an `unchanged` line is written and nothing
/// else happens; without it, the same version is reinstalled (`--reinstall`). With `debconf`,
/// the database is read from stdin into a root-only temp directory that is removed on exit,
/// whatever happens. [`parse_install`] reads what it prints.
///
/// `apt-get install` of a local .deb re-reads the host's package lists and rewrites its caches
/// (about a second per host, six times `dpkg -i`). So apt first plans the install with no sources
/// at all (about 0.1 s): when that plan is exactly "install this package" (every dependency
/// already installed, nothing removed or upgraded), `dpkg -i` does the install with the same
/// options; otherwise `apt-get install` resolves Depends from the host's sources, as always.
#[must_use]
pub fn install(r: &Target<'_>, o: InstallOpts, skip_same: bool, keep: usize, user: &str) -> Cmd {
    let d = quote(&state_dir(r.package));
    let line = |outcome| {
        history::append_shell(
            &Record {
                package: r.package,
                version: r.version,
                sha256: r.sha256,
                outcome,
                action: r.action,
            },
            user,
        )
    };
    let query = state::query_shell(r.package);
    let mut s = format!(
        "set -e; d={d}; exec 9>\"$d/lock\"; \
         if ! flock -n 9; then echo \"dfab: another deploy of {p} holds $d/lock\" >&2; exit {LOCKED}; fi; \
         want={want}; now=$({query}); printf '{BEFORE}%s\\n' \"$now\"; ",
        p = quote(r.package),
        want = quote(&format!("{}\tii ", r.version)),
    );
    if skip_same {
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!(
                "if [ \"$now\" = \"$want\" ]; then {{ {} ; }} || echo {NO_HISTORY}; echo {UNCHANGED}; exit 0; fi; ",
                line(Outcome::Unchanged)
            ),
        );
    }
    s.push_str("r=; if [ \"$now\" = \"$want\" ]; then r=' --reinstall'; fi; rm -rf \"$d\"/debconf.*; umask 077; ");
    let mut env = "DEBIAN_FRONTEND=noninteractive".to_string();
    if o.debconf {
        // A root-only directory, removed whole: debconf also writes `<file>-old` beside it.
        s.push_str(
            "t=$(mktemp -d \"$d/debconf.XXXXXXXX\"); trap 'rm -rf \"$t\"' EXIT; cat > \"$t/db\"; ",
        );
        env.push_str(" DEBCONF_DB_OVERRIDE=\"File{$t/db}\"");
    }
    let conf = if o.conffiles_new {
        "force-confnew"
    } else {
        "force-confold"
    };
    let flags = format!(
        "{}$r",
        if o.downgrade {
            " --allow-downgrades"
        } else {
            ""
        },
    );
    let _ = std::fmt::Write::write_fmt(
        &mut s,
        format_args!(
            "umask 022; f={f}; \
             plan=$(apt-get -s -q {NO_SOURCES}{flags} install \"$f\" 2>&1) && \
             printf '%s\\n' \"$plan\" | grep -qE '^Inst {re} ' && \
             ! printf '%s\\n' \"$plan\" | grep -E '^(Inst|Remv|Purg|Conf) ' | grep -qvE '^(Inst|Conf) {re} ' && \
             fast=1 || fast=0; \
             set +e; \
             if [ $fast = 1 ]; then echo 'dfab: every dependency is installed: dpkg -i'; \
             {env} dpkg -i --force-confdef --{conf} \"$f\" </dev/null 2>&1; \
             else {env} apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--{conf}{flags} \"$f\" </dev/null 2>&1; fi; \
             rc=$?; after=$({query}); printf '{AFTER}%s\\t%s\\n' \"$rc\" \"$after\"; \
             if [ $rc = 0 ] && [ \"$after\" = \"$want\" ]; then {{ {ok} ; }} || echo {NO_HISTORY}; \
             else {{ {failed} ; }} || echo {NO_HISTORY}; fi; \
             {listing}; exit $rc",
            f = quote(&release_path(r.package, r.file)),
            re = ere_literal(r.package),
            ok = line(Outcome::Ok),
            failed = line(Outcome::Failed),
            listing = state::kept_shell(r.package, keep),
        ),
    );
    Cmd::shell(s).sudo(None)
}

/// What the install script said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallReport {
    /// dpkg's `(version, status)` before, if the script got that far.
    pub before: Option<(String, String)>,
    /// The release was installed already; nothing was done (`skip_same`).
    pub unchanged: bool,
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

/// A checked package name (`[a-z0-9][a-z0-9.+-]*`) as an extended regex matching itself, safe
/// inside single quotes.
fn ere_literal(package: &str) -> String {
    let mut out = String::with_capacity(package.len() + 4);
    for c in package.chars() {
        if matches!(c, '.' | '+') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The conffiles dpkg kept (`--force-confold`), from the install's output.
#[must_use]
pub fn kept_conffiles(output: &str) -> Vec<String> {
    let mut last: Option<&str> = None;
    let mut kept = Vec::new();
    for line in output.lines() {
        if let Some(rest) = line.trim().strip_prefix("Configuration file '") {
            last = rest.strip_suffix('\'');
        } else if line.contains("Keeping old config file as default") {
            if let Some(f) = last.take() {
                kept.push(f.to_string());
            }
        }
    }
    kept
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
        }
    }

    #[test]
    fn the_install_script_quotes_and_cleans_up() {
        let opts = InstallOpts {
            conffiles_new: false,
            downgrade: true,
            debconf: true,
        };
        let c = install(&target("app", "app_1.0_all.deb"), opts, true, 5, "ann");
        let s = c.to_shell();
        assert!(s.starts_with("sudo -n -H -- sh -c "), "{s}");
        assert!(s.contains("trap"), "{s}");
        assert!(s.contains("--force-confold"), "{s}");
        assert!(s.contains("--allow-downgrades"), "{s}");
        assert!(s.contains(UNCHANGED), "{s}");
        assert!(
            s.contains("/var/lib/dfab/app/releases/app_1.0_all.deb"),
            "{s}"
        );
        let s = install(&target("app", "app_1.0_all.deb"), opts, false, 5, "ann").to_shell();
        assert!(!s.contains(UNCHANGED), "{s}");
    }

    #[test]
    fn the_dpkg_fast_path_is_planned_by_apt_without_sources() {
        let opts = InstallOpts {
            conffiles_new: true,
            downgrade: false,
            debconf: false,
        };
        let s = install(
            &target("g++-app", "g++-app_1.0_all.deb"),
            opts,
            false,
            5,
            "ann",
        )
        .to_shell();
        assert!(s.contains("Dir::Etc::SourceList=/dev/null"), "{s}");
        assert!(s.contains("apt-get -s -q"), "{s}");
        assert!(s.contains("g\\+\\+-app "), "{s}");
        assert!(s.contains("dpkg -i --force-confdef --force-confnew"), "{s}");
        assert!(s.contains("--force-confnew$r"), "{s}");
        assert_eq!(ere_literal("a.b+c-d"), "a\\.b\\+c-d");
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
        let r = parse_install("dfab-before\t\nE: boom\ndfab-after\t1\t\ndfab-history-failed\n");
        assert_eq!(r.after, Some((1, None)));
        assert!(r.history_failed);
    }

    #[test]
    fn kept_conffiles_from_dpkg_output() {
        let out = "Setting up app ...\n\nConfiguration file '/etc/app.conf'\n ==> Modified (by you or by a script) since installation.\n ==> Package distributor has shipped an updated version.\n ==> Keeping old config file as default.\nConfiguration file '/etc/b'\n ==> Installing new config file as you requested.\n";
        assert_eq!(kept_conffiles(out), ["/etc/app.conf"]);
    }
}
