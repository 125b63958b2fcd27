//! What a host holds for a package, read in one command: the installed version, the kept .debs
//! and the history; and the choices made from it (what to prune, what rollback installs).

use crate::hostside;
use crate::transport::cmd::Cmd;

use super::history::{self, Entry};

/// One kept .deb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub version: String,
    pub file: String,
}

/// A package's state on one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostState {
    /// `(version, dpkg status abbreviation)` when dpkg knows the package.
    pub installed: Option<(String, String)>,
    pub kept: Vec<Kept>,
    pub history: Vec<Entry>,
}

impl HostState {
    /// The version installed and configured (`ii`), if any.
    #[must_use]
    pub fn configured(&self) -> Option<&str> {
        self.installed
            .as_ref()
            .filter(|(_, s)| s.starts_with("ii"))
            .map(|(v, _)| v.as_str())
    }

    /// The kept versions, for messages.
    #[must_use]
    pub fn kept_list(&self) -> String {
        if self.kept.is_empty() {
            return "none".into();
        }
        self.kept
            .iter()
            .map(|k| k.version.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// dpkg's status abbreviation (`${db:Status-Abbrev}`: `ii`, `iF`, `hi`, `rc`, …) in words,
/// for saying what a host had: `None` for plain `ii` (installed and configured), else e.g.
/// `half-configured, dpkg iF`.
#[must_use]
pub fn status_words(abbrev: &str) -> Option<String> {
    let abbrev = abbrev.trim();
    (abbrev != "ii").then(|| format!("{}, dpkg {abbrev}", state_words(abbrev)))
}

/// A version as dpkg holds it, for messages: `1.1-1`, or `1.1-1 (half-configured, dpkg iF)`
/// when it is not plainly installed.
#[must_use]
pub fn version_words(version: &str, status: &str) -> String {
    match status_words(status) {
        Some(w) => format!("{version} ({w})"),
        None => version.to_string(),
    }
}

/// `dfab-host installed`: the installed version and status only (`dpkg-query`), to verify an
/// install; [`parse_installed`] reads it.
#[must_use]
pub fn installed_cmd(package: &str) -> Cmd {
    hostside::call(["installed", package])
}

/// `dfab-host state`: everything [`parse`] needs (the installed state, the kept releases, the
/// history).
#[must_use]
pub fn read_cmd(package: &str) -> Cmd {
    hostside::call(["state", package]).sudo(None)
}

/// Parse the output of [`installed_cmd`]: `(version, status)`.
#[must_use]
pub fn parse_installed(line: &str) -> Option<(String, String)> {
    let (v, s) = line.trim_end_matches('\n').split_once('\t')?;
    (!v.is_empty()).then(|| (v.to_string(), s.to_string()))
}

/// Parse the output of [`read_cmd`].
#[must_use]
pub fn parse(out: &str) -> HostState {
    let mut st = HostState::default();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("installed\t") {
            st.installed = parse_installed(rest);
        } else if let Some(rest) = line.strip_prefix("kept\t") {
            if let Some((version, file)) = rest.split_once('\t') {
                st.kept.push(Kept {
                    version: version.to_string(),
                    file: file.to_string(),
                });
            }
        } else if let Some(rest) = line.strip_prefix("history\t") {
            st.history.extend(history::parse_line(rest));
        }
    }
    st
}

/// dpkg's state of a package for people: `1.2-1, half-configured (dpkg iF)`, or `not
/// installed` when dpkg knows no version of it. `installed` is `(version, status abbreviation)`
/// as `dpkg-query -f '${Version}\t${db:Status-Abbrev}'` gives it.
#[must_use]
pub fn dpkg_words(installed: Option<&(String, String)>) -> String {
    match installed {
        Some((v, s)) => format!("{v}, {} (dpkg {})", state_words(s.trim()), s.trim()),
        None => "not installed".into(),
    }
}

/// The words for dpkg's status abbreviation (`ii`, `iF`, `rc`, `iHR`): the package's state,
/// then what is wanted of it when that is not to have it installed, then whether it needs a
/// reinstall.
fn state_words(abbrev: &str) -> String {
    let mut c = abbrev.chars();
    let (want, state, error) = (c.next(), c.next(), c.next());
    let mut words = vec![match state {
        Some('n') => "not installed",
        Some('c') => "removed, its config files kept",
        Some('H') => "half-installed",
        Some('U') => "unpacked, not configured",
        Some('F') => "half-configured",
        Some('W') => "awaiting triggers",
        Some('t') => "triggers pending",
        Some('i') => "installed",
        _ => "in an unknown state",
    }];
    match want {
        Some('h') => words.push("on hold"),
        Some('r') if state != Some('c') => words.push("marked for removal"),
        Some('p') => words.push("marked for purge"),
        _ => {}
    }
    if error == Some('R') {
        words.push("reinstall required");
    }
    words.join(", ")
}

/// The kept files to delete so that `keep` remain. What stays, in order: `current`, then the
/// releases a rollback would go back to (the deploy stack, [`history::stack`], from the top
/// down), then the others by how recently they were installed (a failed or reverted release is
/// kept only when there is room).
#[must_use]
pub fn to_prune(st: &HostState, keep: usize, current: &str) -> Vec<String> {
    let stack = history::stack(&st.history);
    let rank = |k: &Kept| -> (u8, usize) {
        if k.version == current {
            return (3, 0);
        }
        if let Some(i) = stack.iter().rposition(|v| *v == k.version) {
            return (2, i);
        }
        let recency = st
            .history
            .iter()
            .rposition(|e| e.version == k.version)
            .map_or(0, |i| i + 1);
        (1, recency)
    };
    let mut ranked: Vec<&Kept> = st.kept.iter().collect();
    ranked.sort_by_key(|k| std::cmp::Reverse(rank(k)));
    ranked
        .into_iter()
        .skip(keep.max(1))
        .map(|k| k.file.clone())
        .collect()
}

/// What rollback goes back to without `version=`: the last release that was installed and
/// working before the one to undo, judged from dpkg's state and the history together.
///
/// The top of the deploy stack ([`history::stack`]) is the last release dfab installed and saw
/// working. When the host runs it (dpkg has it installed and configured, and no deploy failed
/// after it), rollback undoes it: the release below it. When the last attempt was a deploy that
/// failed (dpkg `iF 1.2`, or the failure left dpkg as it was), the failed release is the one to
/// undo, and the top is the target, though it may be installed still. When dpkg has something
/// else than the top (changed by hand, or broken in place), the top is the release to go back
/// to. A failed rollback is retried: the release below the top, as before.
#[must_use]
pub fn previous_release<'a>(st: &'a HostState) -> Option<Previous<'a>> {
    let stack = history::stack(&st.history);
    let (top, below) = stack.split_last()?;
    let last = st
        .history
        .iter()
        .rev()
        .find(|e| e.outcome == "ok" || e.outcome == "failed")?;
    let failed_deploy =
        (last.outcome == "failed" && last.action == "deploy").then_some(last.version.as_str());
    let runs_top = st.configured() == Some(*top);
    let below: Vec<&'a str> = below.iter().rev().copied().filter(|v| v != top).collect();
    Some(match failed_deploy {
        Some(f) if f != *top => Previous::Top {
            top,
            failed: Some(last.version.as_str()),
        },
        None if !runs_top && last.outcome == "ok" => Previous::Top { top, failed: None },
        _ => Previous::Below { top, below },
    })
}

/// Where [`previous_release`] points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous<'a> {
    /// The top of the stack: the host does not run it (working) now; `failed`: the deploy
    /// that failed after it.
    Top {
        top: &'a str,
        failed: Option<&'a str>,
    },
    /// The releases below the top, newest first (the first still kept is the target).
    Below { top: &'a str, below: Vec<&'a str> },
}

/// What rollback installs: `want`, or [`previous_release`] (below the top, the first release
/// still kept, skipping pruned ones). The error names what is kept.
pub fn rollback_target<'a>(st: &'a HostState, want: Option<&str>) -> Result<&'a Kept, String> {
    if let Some(v) = want {
        return st.kept.iter().find(|k| k.version == v).ok_or_else(|| {
            format!(
                "release {v} is not kept on this host (kept: {})",
                st.kept_list()
            )
        });
    }
    let Some(previous) = previous_release(st) else {
        return Err(format!(
            "no earlier release to roll back to: dfab has installed nothing here \
             (installed: {}; kept: {})",
            st.configured().unwrap_or("none"),
            st.kept_list()
        ));
    };
    let (top, earlier) = match previous {
        Previous::Top { top, failed } => {
            return st.kept.iter().find(|k| k.version == top).ok_or_else(|| {
                format!(
                    "the last release that worked here, {top}{}, is no longer kept \
                     (installed: {}; kept: {})",
                    failed.map_or_else(String::new, |f| format!(" (before the failed {f})")),
                    installed_words(st),
                    st.kept_list()
                )
            });
        }
        Previous::Below { top, below } => (top, below),
    };
    earlier
        .iter()
        .find_map(|v| st.kept.iter().find(|k| k.version == *v))
        .ok_or_else(|| {
            let why = if earlier.is_empty() {
                format!("{top} is the first release in this host's history")
            } else {
                format!(
                    "the releases before {top} ({}) are no longer kept",
                    earlier.join(", ")
                )
            };
            format!(
                "no earlier release to roll back to: {why} (installed: {}; kept: {})",
                st.configured().unwrap_or("none"),
                st.kept_list()
            )
        })
}

/// dpkg's state for a message: `1.2`, `1.2 (half-configured, dpkg iF)`, or `none`.
fn installed_words(st: &HostState) -> String {
    match &st.installed {
        Some((v, s)) => version_words(v, s),
        None => "none".into(),
    }
}

/// `dfab-host prune`: delete kept files (names from [`to_prune`]).
#[must_use]
pub fn prune_cmd(package: &str, files: &[String]) -> Cmd {
    hostside::call(
        ["prune", package]
            .into_iter()
            .chain(files.iter().map(String::as_str)),
    )
    .sudo(None)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dpkg_s_state_reads_as_words() {
        let st = |v: &str, s: &str| Some((v.to_string(), s.to_string()));
        let w = |v, s| super::dpkg_words(st(v, s).as_ref());
        assert_eq!(super::dpkg_words(None), "not installed");
        assert_eq!(w("1.2-1", "iF "), "1.2-1, half-configured (dpkg iF)");
        assert_eq!(w("1.1", "ii "), "1.1, installed (dpkg ii)");
        assert_eq!(
            w("1.0", "rc "),
            "1.0, removed, its config files kept (dpkg rc)"
        );
        assert_eq!(
            w("1.0", "iHR"),
            "1.0, half-installed, reinstall required (dpkg iHR)"
        );
        assert_eq!(w("1.0", "hi "), "1.0, installed, on hold (dpkg hi)");
    }

    use super::*;
    use std::fmt::Write as _;

    fn line(v: &str, outcome: &str) -> String {
        format!("history\t2026-01-01T00:00:00Z\t{v}\tsha\tme\t0.1.0\t{outcome}\tdeploy\n")
    }

    fn state() -> HostState {
        let mut out = String::from("installed\t3\tii \n");
        for v in ["1", "2", "3", "4"] {
            let _ = writeln!(out, "kept\t{v}\tapp_{v}_all.deb");
        }
        for (v, o) in [("1", "ok"), ("2", "ok"), ("4", "failed"), ("3", "ok")] {
            out.push_str(&line(v, o));
        }
        parse(&out)
    }

    #[test]
    fn parses_installed_kept_and_history() {
        let st = state();
        assert_eq!(st.configured(), Some("3"));
        assert_eq!(st.kept.len(), 4);
        assert_eq!(st.history.len(), 4);
        assert_eq!(parse("installed\t\n").installed, None);
    }

    /// The host program's `state` and `prune` against a state directory here: what `parse`
    /// reads is what is on disk, and a prune deletes exactly the files named.
    #[test]
    fn the_host_program_reads_the_state_and_prunes_what_it_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let st = parse(&String::from_utf8_lossy(
            &crate::hostside::run_here(&read_cmd("no-such-package-dfab"), dir.path()).stdout,
        ));
        assert_eq!(st, HostState::default());
        let releases = dir.path().join("no-such-package-dfab/releases");
        fs_err::create_dir_all(&releases).unwrap();
        fs_err::write(releases.join("a.deb"), "x").unwrap();
        fs_err::write(releases.join("b.deb"), "x").unwrap();
        fs_err::write(
            dir.path().join("no-such-package-dfab/history"),
            line("1", "ok").trim_start_matches("history\t"),
        )
        .unwrap();
        let o = crate::hostside::run_here(&read_cmd("no-such-package-dfab"), dir.path());
        let st = parse(&String::from_utf8_lossy(&o.stdout));
        // Not .debs dpkg-deb can read: their versions are empty, their names are there.
        let files: Vec<&str> = st.kept.iter().map(|k| k.file.as_str()).collect();
        assert_eq!(files, ["a.deb", "b.deb"]);
        assert_eq!(st.history.len(), 1);
        let prune = prune_cmd("no-such-package-dfab", &["a.deb".into()]);
        assert_eq!(
            prune.to_string(),
            "dfab-host prune no-such-package-dfab a.deb"
        );
        assert!(crate::hostside::run_here(&prune, dir.path())
            .status
            .success());
        assert!(!releases.join("a.deb").exists() && releases.join("b.deb").exists());
        // A name with a slash is refused (exit 2), and nothing goes.
        let bad = prune_cmd("no-such-package-dfab", &["../history".into()]);
        assert_eq!(
            crate::hostside::run_here(&bad, dir.path()).status.code(),
            Some(2)
        );
        assert!(dir.path().join("no-such-package-dfab/history").exists());
    }

    #[test]
    fn a_reverted_release_is_pruned_before_the_one_a_rollback_returns_to() {
        // Deploy 1.0, 1.1, 1.2; roll back to 1.1; deploy 1.3. With keep 3, 1.2 (reverted) goes,
        // 1.0 (below 1.1 on the stack) stays.
        let mut out = String::from("installed\t1.3\tii \n");
        for v in ["1.0", "1.1", "1.2", "1.3"] {
            let _ = writeln!(out, "kept\t{v}\tapp_{v}_all.deb");
        }
        for v in ["1.0", "1.1", "1.2"] {
            out.push_str(&line(v, "ok"));
        }
        out.push_str(&line("1.1", "ok").replace("\tdeploy\n", "\trollback\n"));
        out.push_str(&line("1.3", "ok"));
        let st = parse(&out);
        assert_eq!(to_prune(&st, 3, "1.3"), ["app_1.2_all.deb"]);
    }

    #[test]
    fn prune_keeps_the_current_then_the_rollback_targets_then_the_most_recent() {
        let st = state();
        // 4 failed: it goes before 2, the release a rollback would return to.
        assert_eq!(to_prune(&st, 2, "3"), ["app_1_all.deb", "app_4_all.deb"]);
        assert_eq!(to_prune(&st, 3, "3"), ["app_4_all.deb"]);
        assert!(to_prune(&st, 5, "3").is_empty());
        assert_eq!(to_prune(&st, 1, "1").len(), 3);
    }

    #[test]
    fn rollback_picks_the_last_good_other_release_or_names_what_is_kept() {
        let st = state();
        // 4 failed, so the one before 3 that succeeded is 2.
        assert_eq!(rollback_target(&st, None).unwrap().version, "2");
        assert_eq!(
            rollback_target(&st, Some("1")).unwrap().file,
            "app_1_all.deb"
        );
        assert_eq!(
            rollback_target(&st, Some("9")).unwrap_err(),
            "release 9 is not kept on this host (kept: 1, 2, 3, 4)"
        );
        let empty = parse("installed\t1\tii \nkept\t1\tapp_1.deb\n");
        assert_eq!(
            rollback_target(&empty, None).unwrap_err(),
            "no earlier release to roll back to: dfab has installed nothing here \
             (installed: 1; kept: 1)"
        );
    }

    /// A host with `installed`, the `kept` versions and the history `(action, version, outcome)`.
    fn host(installed: &str, kept: &[&str], hist: &[(&str, &str, &str)]) -> HostState {
        let mut out = format!("installed\t{installed}\tii \n");
        for v in kept {
            let _ = writeln!(out, "kept\t{v}\tapp_{v}_all.deb");
        }
        for (action, v, o) in hist {
            out.push_str(&line(v, o).replace("\tdeploy\n", &format!("\t{action}\n")));
        }
        parse(&out)
    }

    fn target(st: &HostState) -> Result<String, String> {
        rollback_target(st, None).map(|k| k.version.clone())
    }

    /// A host as [`host`] makes it, with dpkg's status for `installed`.
    fn with_status(mut st: HostState, status: &str) -> HostState {
        if let Some(i) = st.installed.as_mut() {
            i.1 = status.to_string();
        }
        st
    }

    /// Reported: 1.0 ok, 1.1 ok, 1.2 failed (dpkg `iF 1.2`): rollback installed 1.0, two
    /// releases back. The failed 1.2 is what to undo: back to 1.1.
    #[test]
    fn rollback_after_a_failed_deploy_goes_to_the_last_release_that_worked() {
        let hist = [
            ("deploy", "1.0", "ok"),
            ("deploy", "1.1", "ok"),
            ("deploy", "1.2", "failed"),
        ];
        let kept = ["1.0", "1.1", "1.2"];
        let st = with_status(host("1.2", &kept, &hist), "iF ");
        assert_eq!(target(&st).unwrap(), "1.1");
        // The failure left dpkg on 1.1 (another process held dpkg's lock): 1.1 is the target,
        // installed already.
        let st = host("1.1", &kept, &hist);
        assert_eq!(target(&st).unwrap(), "1.1");
        // 1.1 pruned: said, not 1.0 instead.
        let st = with_status(host("1.2", &["1.0", "1.2"], &hist), "iF ");
        assert_eq!(
            target(&st).unwrap_err(),
            "the last release that worked here, 1.1 (before the failed 1.2), is no longer kept \
             (installed: 1.2 (half-configured, dpkg iF); kept: 1.0, 1.2)"
        );
    }

    #[test]
    fn a_dpkg_status_is_said_in_words() {
        assert_eq!(status_words("ii "), None);
        assert_eq!(version_words("1.1-1", "ii "), "1.1-1");
        assert_eq!(
            version_words("1.1-1", "iF "),
            "1.1-1 (half-configured, dpkg iF)"
        );
        assert_eq!(status_words("hi").unwrap(), "installed, on hold, dpkg hi");
        assert_eq!(
            status_words("iHR").unwrap(),
            "half-installed, reinstall required, dpkg iHR"
        );
        assert_eq!(
            status_words("rc").unwrap(),
            "removed, its config files kept, dpkg rc"
        );
    }

    #[test]
    fn a_failed_reinstall_of_the_top_or_a_failed_rollback_goes_below_the_top() {
        let kept = ["1.0", "1.1"];
        let st = with_status(
            host(
                "1.1",
                &kept,
                &[
                    ("deploy", "1.0", "ok"),
                    ("deploy", "1.1", "ok"),
                    ("deploy", "1.1", "failed"),
                ],
            ),
            "iF ",
        );
        assert_eq!(target(&st).unwrap(), "1.0");
        let st = with_status(
            host(
                "1.0",
                &kept,
                &[
                    ("deploy", "1.0", "ok"),
                    ("deploy", "1.1", "ok"),
                    ("rollback", "1.0", "failed"),
                ],
            ),
            "iF ",
        );
        assert_eq!(target(&st).unwrap(), "1.0");
    }

    #[test]
    fn a_host_not_running_the_last_good_release_goes_back_to_it() {
        // 1.2 installed by hand after dfab's 1.1.
        let st = host(
            "1.2",
            &["1.0", "1.1"],
            &[("deploy", "1.0", "ok"), ("deploy", "1.1", "ok")],
        );
        assert_eq!(target(&st).unwrap(), "1.1");
    }

    /// Reported: after `deploy:revert=yes` put 1.1 back, `rollback` reinstalled the reverted 1.2.
    #[test]
    fn rollback_after_a_revert_goes_back_not_forward_to_the_reverted_release() {
        let st = host(
            "1.1",
            &["1.0", "1.1", "1.2"],
            &[
                ("deploy", "1.0", "ok"),
                ("deploy", "1.1", "ok"),
                ("deploy", "1.2", "ok"),
                ("rollback", "1.1", "ok"),
            ],
        );
        assert_eq!(target(&st).unwrap(), "1.0");
    }

    #[test]
    fn rollback_twice_walks_down_the_deploys_then_refuses() {
        let kept = ["1.0", "1.1", "1.2"];
        let mut hist = vec![
            ("deploy", "1.0", "ok"),
            ("deploy", "1.1", "ok"),
            ("deploy", "1.2", "ok"),
        ];
        assert_eq!(target(&host("1.2", &kept, &hist)).unwrap(), "1.1");
        hist.push(("rollback", "1.1", "ok"));
        assert_eq!(target(&host("1.1", &kept, &hist)).unwrap(), "1.0");
        hist.push(("rollback", "1.0", "ok"));
        assert_eq!(
            target(&host("1.0", &kept, &hist)).unwrap_err(),
            "no earlier release to roll back to: 1.0 is the first release in this host's \
             history (installed: 1.0; kept: 1.0, 1.1, 1.2)"
        );
    }

    #[test]
    fn a_deploy_after_a_rollback_rolls_back_to_the_rollback_target() {
        let st = host(
            "1.3",
            &["1.0", "1.1", "1.2", "1.3"],
            &[
                ("deploy", "1.0", "ok"),
                ("deploy", "1.1", "ok"),
                ("deploy", "1.2", "ok"),
                ("rollback", "1.1", "ok"),
                ("deploy", "1.3", "ok"),
            ],
        );
        assert_eq!(target(&st).unwrap(), "1.1");
    }

    #[test]
    fn a_pruned_release_is_skipped_and_none_left_kept_is_refused() {
        let hist = [
            ("deploy", "1.0", "ok"),
            ("deploy", "1.1", "ok"),
            ("deploy", "1.2", "ok"),
        ];
        assert_eq!(target(&host("1.2", &["1.0", "1.2"], &hist)).unwrap(), "1.0");
        assert_eq!(
            target(&host("1.2", &["1.2"], &hist)).unwrap_err(),
            "no earlier release to roll back to: the releases before 1.2 (1.1, 1.0) are no \
             longer kept (installed: 1.2; kept: 1.2)"
        );
    }
}
