//! `deb.reconfigure` (`FabulAWS`'s `update_server_passwords`): the env's current debconf answers
//! applied to the version each host has installed, with no new release: the package's `config`
//! and `postinst` run again (`dpkg-reconfigure`) with the answers on stdin, kept in a root-only
//! temporary directory for the length of the call, and a `reconfigure` line in the history.

use crate::error::Result;
use crate::exec::step::{HostAction, RunCtx};
use crate::hostside;
use crate::releases::history;
use crate::transport::cmd::Cmd;
use crate::transport::Transport;

use super::debconf_db::DebconfDb;
use super::remote;

/// Exit status of `dfab-host reconfigure` when dpkg has no configured version of the package.
pub const NOT_INSTALLED: i32 = 3;

/// `dfab-host reconfigure`: the command, the answers to go on its stdin. `commit`: a build's
/// commit and that build's sha256 (of `package`'s .deb): the host's history line names it only
/// when the installed build is that one and its own history names no commit for it (a later
/// build, not installed, is not what was reconfigured).
#[must_use]
pub fn command(package: &str, user: &str, commit: Option<(&str, &str)>) -> Cmd {
    let mut args = vec![
        "reconfigure".to_string(),
        "--user".into(),
        history::field(user),
        "--dfab".into(),
        env!("CARGO_PKG_VERSION").into(),
    ];
    if let Some((c, build)) = commit {
        args.extend([
            "--commit".into(),
            history::field(c),
            "--build".into(),
            history::field(build),
        ]);
    }
    args.extend(["--".into(), package.into()]);
    hostside::call(args).sudo(None)
}

/// What one `dfab-host reconfigure` said: dpkg's version after it, or that the package is not
/// installed; `None` when its marker line is missing (the script stopped early).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// `(exit status of dpkg-reconfigure, version installed)`.
    Done(i32, String),
    NotInstalled,
}

/// Read the output of [`command`].
#[must_use]
pub fn parse(out: &str) -> Option<Said> {
    out.lines().find_map(|l| {
        if l == "dfab-not-installed" {
            return Some(Said::NotInstalled);
        }
        let rest = l.strip_prefix("dfab-after\t")?;
        let (rc, st) = rest.split_once('\t').unwrap_or((rest, ""));
        let version = st.split('\t').next().unwrap_or_default().to_string();
        Some(Said::Done(rc.parse().unwrap_or(-1), version))
    })
}

/// Reconfigure `packages` on each host with `answers`.
#[derive(Debug)]
pub struct Reconfigure {
    /// The env's packages (`deploy_packages`, else the build record's).
    pub packages: Vec<String>,
    /// The env's answers (a secret: it goes on stdin only).
    pub answers: DebconfDb,
    /// The build record's commit, for the history line where the installed build is the
    /// record's (the host's own history names it otherwise).
    pub commit: Option<String>,
    /// The build record's `(package, sha256)` of each package, which `commit` belongs to.
    pub built: Vec<(String, String)>,
    /// `deploy` calls it (the answers were the only change): said so in its words.
    pub by: &'static str,
}

impl HostAction for Reconfigure {
    fn run(&self, t: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let host = t.host().to_string();
        let mut did = Vec::new();
        for p in &self.packages {
            let build = self
                .built
                .iter()
                .find(|(q, _)| q == p)
                .map(|(_, sha)| sha.as_str());
            let commit = self.commit.as_deref().zip(build);
            let cmd = command(p, &history::local_user(), commit)
                .without_sudo_if_root(t.login_user())
                .stdin(self.answers.text.expose().as_bytes().to_vec());
            cx.rep.command(&host, "sudo", &cmd);
            let out = hostside::exec(t, &cmd, None)?;
            if t.recording() {
                did.push(format!(
                    "would reconfigure {p} with the answers of {}",
                    self.answers.file.display()
                ));
                continue;
            }
            let text = out.stdout_str();
            match parse(&text) {
                Some(Said::NotInstalled) if out.status == NOT_INSTALLED => {
                    did.push(format!("{p} is not installed: not reconfigured"));
                }
                Some(Said::Done(0, v)) if out.status == 0 => {
                    did.push(format!(
                        "reconfigured {p} {v} with the env's debconf answers"
                    ));
                }
                _ => {
                    let apt = remote::apt_output(&format!("{text}{}", out.stderr_str()));
                    return Err(crate::error::Error::CommandFailed {
                        host,
                        cmd: cmd.to_string(),
                        exit: out.exit(),
                        stderr: remote::tail(&apt, 15),
                        hint: Some(format!(
                            "{}: the package's config or postinst failed with the new answers; \
                             fix them and run `dfab {} deb.reconfigure` again",
                            self.by, cx.env.name
                        )),
                    });
                }
            }
        }
        Ok(did.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_and_its_report() {
        let c = command("app", "ann b", Some(("abc-dirty", "f00d")));
        assert_eq!(
            c.to_string(),
            format!(
                "dfab-host reconfigure --user ann_b --dfab {} --commit abc-dirty --build f00d \
                 -- app",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(
            parse("Setting up\ndfab-after\t0\t1.0\tii \n"),
            Some(Said::Done(0, "1.0".into()))
        );
        assert_eq!(parse("dfab-not-installed\n"), Some(Said::NotInstalled));
        assert_eq!(parse("E: boom\n"), None);
    }
}
