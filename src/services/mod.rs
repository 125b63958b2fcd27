//! `services`: the services an env's packages run (systemd units, init scripts, supervisor
//! programs), found in the built packages' data trees or named by `services`, and the host
//! program's call that starts, stops, restarts or reports them.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::transport::cmd::Cmd;

/// What controls a service on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A systemd unit (`<name>.service`), or its init script where systemd does not run.
    Unit,
    /// A supervisor program (`[program:<name>]` in `/etc/supervisor/conf.d/*.conf`).
    Supervisor,
}

impl Kind {
    /// The word the host program takes.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Kind::Unit => "unit",
            Kind::Supervisor => "supervisor",
        }
    }
}

/// One service and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The unit without `.service`, or the supervisor program.
    pub name: String,
    pub kind: Kind,
    /// The package that ships it (none when `services` names it).
    pub package: Option<String>,
}

/// What `services` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Status,
    Restart,
    Stop,
    Start,
}

impl Action {
    /// All actions, in the order the docs list them.
    pub const ALL: [Action; 4] = [Action::Status, Action::Restart, Action::Stop, Action::Start];

    /// The action's word (`restart`).
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Action::Status => "status",
            Action::Restart => "restart",
            Action::Stop => "stop",
            Action::Start => "start",
        }
    }

    /// The action named `s`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.word() == s)
    }
}

/// A name the host program accepts: what systemd and supervisor allow, nothing a shell or an
/// option parser reads.
#[must_use]
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@._:-".contains(&b))
}

/// The services in one package's data tree (`paths` and the supervisor configs' text):
/// `lib/systemd/system/*.service` (and under `usr/`), `etc/init.d/*`, and the `[program:x]`
/// sections of `etc/supervisor/conf.d/*.conf`. Template units (`x@.service`) are left out:
/// they have no instance to control.
#[must_use]
pub fn in_tree(package: &str, entries: &[(String, Option<String>)]) -> Vec<Service> {
    let mut out: Vec<Service> = Vec::new();
    let mut add = |name: &str, kind: Kind| {
        if valid_name(name) && !out.iter().any(|s| s.name == name && s.kind == kind) {
            out.push(Service {
                name: name.to_string(),
                kind,
                package: Some(package.to_string()),
            });
        }
    };
    for (path, text) in entries {
        let p = path.trim_start_matches("./").trim_start_matches('/');
        let unit = p
            .strip_prefix("lib/systemd/system/")
            .or_else(|| p.strip_prefix("usr/lib/systemd/system/"))
            .and_then(|f| f.strip_suffix(".service"))
            .filter(|n| !n.contains('/') && !n.ends_with('@'));
        if let Some(n) = unit {
            add(n, Kind::Unit);
        } else if let Some(n) = p.strip_prefix("etc/init.d/").filter(|n| !n.contains('/')) {
            add(n, Kind::Unit);
        } else if p.starts_with("etc/supervisor/conf.d/") {
            for n in supervisor_programs(text.as_deref().unwrap_or_default()) {
                add(&n, Kind::Supervisor);
            }
        }
    }
    out
}

/// The `[program:x]` section names of a supervisor config.
#[must_use]
pub fn supervisor_programs(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("[program:")?
                .strip_suffix(']')
                .map(|n| n.trim().to_string())
        })
        .collect()
}

/// The data tree of a `.deb`, read with `dpkg-deb --fsys-tarfile`: each path, and the text of
/// the supervisor configs (the only contents [`in_tree`] needs).
pub fn deb_tree(deb: &Path) -> Result<Vec<(String, Option<String>)>> {
    let mut child = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn {
            host: "localhost".into(),
            program: "dpkg-deb".into(),
            source,
            hint: Some("install dpkg (`apt-get install dpkg`)".into()),
        })?;
    let mut out = Vec::new();
    let stdout = child.stdout.take().expect("piped");
    let unreadable = |e: std::io::Error| Error::File {
        action: "read the data tree of",
        path: deb.to_path_buf(),
        source: e,
        hint: Some("run `deb.build` again".into()),
    };
    let mut archive = tar::Archive::new(stdout);
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let path = entry.path().map_err(unreadable)?.display().to_string();
        let text = if path
            .trim_start_matches("./")
            .starts_with("etc/supervisor/conf.d/")
        {
            let mut s = String::new();
            entry.read_to_string(&mut s).map_err(unreadable)?;
            Some(s)
        } else {
            None
        };
        out.push((path, text));
    }
    let done = child.wait_with_output().map_err(unreadable)?;
    if !done.status.success() {
        return Err(Error::CommandFailed {
            host: "localhost".into(),
            cmd: format!("dpkg-deb --fsys-tarfile {}", deb.display()),
            exit: done.status.into(),
            stderr: String::from_utf8_lossy(&done.stderr).into_owned(),
            hint: Some("run `deb.build` again".into()),
        });
    }
    Ok(out)
}

/// `dfab-host service <action> <kind> <name>...`, as root.
#[must_use]
pub fn command(action: Action, kind: Kind, names: &[String]) -> Cmd {
    crate::hostside::call(
        ["service", action.word(), kind.word()]
            .into_iter()
            .chain(names.iter().map(String::as_str)),
    )
    .sudo(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(p: &str) -> (String, Option<String>) {
        (p.to_string(), None)
    }

    #[test]
    fn units_init_scripts_and_supervisor_programs_are_found_in_a_tree() {
        let tree = vec![
            e("./"),
            e("./lib/systemd/system/djdemo.service"),
            e("./usr/lib/systemd/system/djdemo-worker.service"),
            e("./lib/systemd/system/djdemo-task@.service"),
            e("./lib/systemd/system/djdemo.timer"),
            e("./etc/init.d/djdemo"),
            (
                "./etc/supervisor/conf.d/djdemo.conf".into(),
                Some("[program:celery]\ncommand=x\n[group:g]\n[program: beat ]\n".into()),
            ),
        ];
        let names: Vec<(String, Kind)> = in_tree("djdemo", &tree)
            .into_iter()
            .map(|s| (s.name, s.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("djdemo".into(), Kind::Unit),
                ("djdemo-worker".into(), Kind::Unit),
                ("celery".into(), Kind::Supervisor),
                ("beat".into(), Kind::Supervisor),
            ]
        );
    }

    #[test]
    fn names_that_a_shell_or_an_option_parser_would_read_are_refused() {
        assert!(valid_name("djdemo-worker@1.service"));
        for bad in ["", "-x", "a b", "a;b", "a/b", "$(x)"] {
            assert!(!valid_name(bad), "{bad}");
        }
        let cmd = command(Action::Restart, Kind::Unit, &["djdemo".into()]);
        assert_eq!(cmd.to_string(), "dfab-host service restart unit djdemo");
        assert!(cmd.sudo.is_some(), "as root");
    }
}
