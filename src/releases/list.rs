//! `releases`: per host, each package's installed version, its kept releases and its history.

use crate::error::Result;
use crate::exec::record::read;
use crate::exec::step::{HostAction, RunCtx};
use crate::transport::cmd::Cmd;
use crate::transport::Transport;

use super::state;

/// Print the state of `packages` (every package dfab deployed there, when empty).
#[derive(Debug)]
pub struct List {
    pub packages: Vec<String>,
}

fn all_cmd() -> Cmd {
    Cmd::shell("ls /var/lib/dfab 2>/dev/null || true")
}

/// What dpkg says of a package, as the start of a `releases` line: `installed 1.1`,
/// `not installed`, or a version dpkg holds in another state.
fn installed(dpkg: Option<&(String, String)>) -> String {
    match dpkg {
        Some((v, s)) if s.starts_with("ii") => format!("installed {v}"),
        other => super::state::dpkg_words(other),
    }
}

impl HostAction for List {
    fn run(&self, t: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let host = t.host().to_string();
        let packages = if self.packages.is_empty() {
            let Some(o) = read(t, cx.rep, "read", all_cmd())?.known() else {
                return Ok("would list the releases of every package dfab deployed here".into());
            };
            o.stdout_str()
                .lines()
                .filter(|p| super::check_package_name(p).is_ok())
                .map(String::from)
                .collect()
        } else {
            self.packages.clone()
        };
        if packages.is_empty() {
            cx.rep
                .info(&format!("[{host}] no releases: dfab has not deployed here"));
        }
        for p in &packages {
            let cmd = state::read_cmd(p);
            let Some(o) = read(t, cx.rep, "read", cmd.clone())?.known() else {
                continue;
            };
            let o = crate::transport::check(&host, &cmd, o)?;
            let st = state::parse(&o.stdout_str());
            cx.rep.info(&format!(
                "[{host}] {p}: {}",
                installed(st.installed.as_ref())
            ));
            cx.rep
                .info(&format!("[{host}] {p}: kept releases: {}", st.kept_list()));
            // The same choice `rollback` makes, so the listing never names another.
            if let Ok(k) = state::rollback_target(&st, None) {
                cx.rep.info(&format!(
                    "[{host}] {p}: rollback goes back to {}",
                    k.version
                ));
            }
            for e in &st.history {
                let commit = e
                    .commit
                    .as_ref()
                    .map(|c| format!(" commit {}", short_commit(c)))
                    .unwrap_or_default();
                cx.rep.info(&format!(
                    "[{host}] {p}: history: {} {} {} {} by {} (dfab {}) sha256 {}{commit}",
                    e.time,
                    e.action,
                    e.version,
                    e.outcome,
                    e.user,
                    e.dfab,
                    e.sha256.get(..16).unwrap_or(&e.sha256)
                ));
            }
        }
        Ok(if t.recording() {
            format!("would show the releases of {}", packages.join(", "))
        } else {
            format!("{} package(s)", packages.len())
        })
    }
}

/// A commit as `releases` shows it: 12 hex digits, `-dirty` kept.
fn short_commit(c: &str) -> String {
    let (hash, dirty) = c.strip_suffix("-dirty").map_or((c, ""), |h| (h, "-dirty"));
    format!("{}{dirty}", hash.get(..12).unwrap_or(hash))
}

#[cfg(test)]
mod tests {
    use super::{installed, short_commit};

    #[test]
    fn a_commit_shows_short_with_its_dirt() {
        let c = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(short_commit(c), "0123456789ab");
        assert_eq!(short_commit(&format!("{c}-dirty")), "0123456789ab-dirty");
    }

    // A package dpkg did not know was listed as `djdemo: installed not installed`.
    #[test]
    fn each_dpkg_state_reads_as_one_phrase() {
        let st = |v: &str, s: &str| Some((v.to_string(), s.to_string()));
        assert_eq!(installed(None), "not installed");
        assert_eq!(installed(st("1.1", "ii ").as_ref()), "installed 1.1");
        assert_eq!(
            installed(st("1.0", "rc ").as_ref()),
            "1.0, removed, its config files kept (dpkg rc)"
        );
    }
}
