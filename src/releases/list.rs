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
            let installed = match &st.installed {
                Some((v, s)) if s.starts_with("ii") => v.clone(),
                Some((v, s)) => format!("{v} (dpkg status `{}`)", s.trim()),
                None => "not installed".into(),
            };
            cx.rep.info(&format!("[{host}] {p}: installed {installed}"));
            cx.rep
                .info(&format!("[{host}] {p}: kept releases: {}", st.kept_list()));
            for e in &st.history {
                cx.rep.info(&format!(
                    "[{host}] {p}: history: {} {} {} {} by {} (dfab {}) sha256 {}",
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
