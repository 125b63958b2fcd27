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

/// What rollback installs: `want`, or the release below the top of the deploy stack
/// ([`history::stack`]) that is still kept, skipping pruned ones. The error names what is kept.
pub fn rollback_target<'a>(st: &'a HostState, want: Option<&str>) -> Result<&'a Kept, String> {
    if let Some(v) = want {
        return st.kept.iter().find(|k| k.version == v).ok_or_else(|| {
            format!(
                "release {v} is not kept on this host (kept: {})",
                st.kept_list()
            )
        });
    }
    let stack = history::stack(&st.history);
    let Some((top, below)) = stack.split_last() else {
        return Err(format!(
            "no earlier release to roll back to: dfab has installed nothing here \
             (installed: {}; kept: {})",
            st.configured().unwrap_or("none"),
            st.kept_list()
        ));
    };
    let earlier: Vec<&str> = below.iter().rev().copied().filter(|v| v != top).collect();
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
