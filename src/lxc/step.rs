//! The steps of a container's lifecycle, planned from what is there, each with the `lxc-*`
//! command that does the same by hand (for `--dry-run`, logs and `lxc_host`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{LxcError, Result};
use super::spec::{CloneMode, LxcSpec};
use crate::transport::cmd::{quote, Cmd};

/// What is there now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not defined.
    Absent,
    /// Defined, not running (also STOPPING, FROZEN, … which `start` handles or reports).
    Stopped,
    /// Running.
    Running,
}

/// One action on one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Clone `template` into `name`.
    Clone {
        template: String,
        name: String,
        mode: CloneMode,
    },
    /// Replace the clone's static IPv4 address (and gateway) in its config.
    SetAddress {
        name: String,
        ipv4: String,
        gateway: Option<String>,
    },
    /// Start in the background with the configured init.
    Start { name: String },
    /// Wait for RUNNING.
    WaitRunning { name: String, timeout: Duration },
    /// Poll until `interface` has an IPv4 address.
    WaitAddress {
        name: String,
        interface: String,
        timeout: Duration,
    },
    /// Kill.
    Stop { name: String },
    /// Remove config and root file system.
    Destroy { name: String },
}

impl Step {
    /// The hand-run equivalent, with `-P lxcpath` when the path is not the default.
    #[must_use]
    pub fn command(&self, lxcpath: Option<&Path>) -> Cmd {
        let tool = |program: &str, name: &str, rest: &[&str]| tool(program, lxcpath, name, rest);
        match self {
            Self::Clone {
                template,
                name,
                mode,
            } => {
                let rest: &[&str] = match mode {
                    CloneMode::Snapshot => &["-N", name, "-s", "-B", "overlayfs"],
                    CloneMode::Copy => &["-N", name],
                };
                tool("lxc-copy", template, rest)
            }
            Self::SetAddress {
                name,
                ipv4,
                gateway,
            } => Cmd::shell(set_address_script(lxcpath, name, ipv4, gateway.as_deref())),
            Self::Start { name } => tool("lxc-start", name, &["-d"]),
            Self::WaitRunning { name, timeout } => {
                tool("lxc-wait", name, &["-s", "RUNNING", "-t", &secs(*timeout)])
            }
            Self::WaitAddress { name, .. } => tool("lxc-info", name, &["-iH"]),
            Self::Stop { name } => tool("lxc-stop", name, &["-k"]),
            Self::Destroy { name } => tool("lxc-destroy", name, &[]),
        }
    }
}

/// `program [-P lxcpath] -n name rest…`: the shape of every `lxc-*` tool command.
pub(crate) fn tool(program: &str, lxcpath: Option<&Path>, name: &str, rest: &[&str]) -> Cmd {
    let mut args = Vec::new();
    if let Some(path) = lxcpath {
        args.extend(["-P".to_owned(), path.display().to_string()]);
    }
    args.extend(["-n".to_owned(), name.to_owned()]);
    args.extend(rest.iter().map(|&s| s.to_owned()));
    Cmd::new(program, args)
}

impl fmt::Display for Step {
    /// A phrase for progress output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Clone {
                template,
                name,
                mode,
            } => {
                let how = match mode {
                    CloneMode::Snapshot => "snapshot",
                    CloneMode::Copy => "copy",
                };
                write!(f, "clone {template} into {name} ({how})")
            }
            Self::SetAddress { name, ipv4, .. } => write!(f, "give {name} the address {ipv4}"),
            Self::Start { name } => write!(f, "start {name}"),
            Self::WaitRunning { name, .. } => write!(f, "wait for {name} to run"),
            Self::WaitAddress {
                name,
                interface,
                timeout,
            } => {
                write!(
                    f,
                    "wait up to {}s for an IPv4 address on {name}:{interface}",
                    secs(*timeout)
                )
            }
            Self::Stop { name } => write!(f, "stop {name}"),
            Self::Destroy { name } => write!(f, "destroy {name}"),
        }
    }
}

fn secs(d: Duration) -> String {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).to_string()
}

/// A shell script that replaces `lxc.net.0.{hwaddr,ipv4.*}` in the container's config. Without
/// a known LXC path it asks `lxc-config`, so it also works on `lxc_host`.
fn set_address_script(
    lxcpath: Option<&Path>,
    name: &str,
    ipv4: &str,
    gateway: Option<&str>,
) -> String {
    let config = match lxcpath {
        Some(path) => quote(
            &PathBuf::from(path)
                .join(name)
                .join("config")
                .display()
                .to_string(),
        ),
        None => format!("\"$(lxc-config lxc.lxcpath)\"/{}/config", quote(name)),
    };
    let mut keys = vec!["hwaddr", "ipv4.address"];
    let mut lines = vec![
        format!("lxc.net.0.hwaddr = {}", hwaddr_for(ipv4)),
        format!("lxc.net.0.ipv4.address = {ipv4}"),
    ];
    if let Some(gateway) = gateway {
        keys.push("ipv4.gateway");
        lines.push(format!("lxc.net.0.ipv4.gateway = {gateway}"));
    }
    let sed: Vec<String> = keys
        .iter()
        .map(|k| format!("/^lxc\\.net\\.0\\.{}/d", k.replace('.', "\\.")))
        .collect();
    let lines: Vec<String> = lines.iter().map(|l| quote(l)).collect();
    format!(
        "c={config}; sed -i {} \"$c\"; printf '%s\\n' {} >> \"$c\"",
        quote(&sed.join("; ")),
        lines.join(" ")
    )
}

/// The MAC address that goes with a static IPv4 address: LXC's prefix `00:16:3e` and the last
/// three bytes of the address. Without a fixed MAC each start gets a random one, and the host's
/// neighbour cache keeps the old MAC for a reused address until it times out (seconds of lost
/// packets after a restart); deriving it from the address keeps it stable for every container
/// that ever has that address.
#[must_use]
pub fn hwaddr_for(ipv4: &str) -> String {
    let addr = ipv4.split('/').next().unwrap_or(ipv4);
    let o = addr
        .parse::<std::net::Ipv4Addr>()
        .map_or([0; 4], |a| a.octets());
    format!("00:16:3e:{:02x}:{:02x}:{:02x}", o[1], o[2], o[3])
}

/// The steps that bring `spec`'s container to RUNNING with an address, from `container` (its
/// state now). `template` is asked only when a clone is needed; `configured` (the existing
/// container's `lxc.net.0.ipv4.address` and `lxc.net.0.ipv4.gateway`, `None` when unset) only
/// when the env pins `lxc_ipv4`: a container configured otherwise gets the env's address (stopped
/// first when running), so the env's address is never silently not the container's.
pub fn plan_ensure(
    spec: &LxcSpec,
    container: State,
    configured: impl FnOnce() -> Result<(Option<String>, Option<String>)>,
    template: impl FnOnce() -> Result<State>,
) -> Result<Vec<Step>> {
    let name = || spec.name.clone();
    let mut steps = Vec::new();
    let mut state = container;
    if spec.force_new && state != State::Absent {
        steps.extend(plan_remove(spec, state));
        state = State::Absent;
    }
    if let (Some(want), true) = (&spec.ipv4, state != State::Absent) {
        let (address, gateway) = configured()?;
        let gateway_differs = spec
            .ipv4_gateway
            .as_ref()
            .is_some_and(|g| gateway.as_deref() != Some(g.as_str()));
        if address.as_deref() != Some(want.as_str()) || gateway_differs {
            if state == State::Running {
                steps.push(Step::Stop { name: name() });
            }
            steps.push(Step::SetAddress {
                name: name(),
                ipv4: want.clone(),
                gateway: spec.ipv4_gateway.clone(),
            });
            state = State::Stopped;
        }
    }
    if state == State::Absent {
        match template()? {
            State::Absent => {
                return Err(LxcError::MissingTemplate {
                    name: name(),
                    template: spec.template.clone(),
                    env: spec.env.clone(),
                })
            }
            State::Running => {
                return Err(LxcError::TemplateRunning {
                    name: name(),
                    template: spec.template.clone(),
                })
            }
            State::Stopped => {}
        }
        steps.push(Step::Clone {
            template: spec.template.clone(),
            name: name(),
            mode: spec.clone,
        });
        if let Some(ipv4) = &spec.ipv4 {
            steps.push(Step::SetAddress {
                name: name(),
                ipv4: ipv4.clone(),
                gateway: spec.ipv4_gateway.clone(),
            });
        }
        state = State::Stopped;
    }
    if state == State::Stopped {
        steps.push(Step::Start { name: name() });
        steps.push(Step::WaitRunning {
            name: name(),
            timeout: spec.timeout,
        });
    }
    steps.push(Step::WaitAddress {
        name: name(),
        interface: spec.interface.clone(),
        timeout: spec.timeout,
    });
    Ok(steps)
}

/// The steps that remove `spec`'s container from `state` (none when it is absent).
#[must_use]
pub fn plan_remove(spec: &LxcSpec, state: State) -> Vec<Step> {
    let name = || spec.name.clone();
    match state {
        State::Absent => vec![],
        State::Stopped => vec![Step::Destroy { name: name() }],
        State::Running => vec![Step::Stop { name: name() }, Step::Destroy { name: name() }],
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::{plan_ensure, plan_remove, State, Step};
    use crate::lxc::error::LxcError;
    use crate::lxc::spec::{CloneMode, LxcSpec};

    fn lines(spec: &LxcSpec, container: State, template: State) -> Vec<String> {
        plan_ensure(spec, container, || Ok((None, None)), || Ok(template))
            .unwrap()
            .iter()
            .map(|s| s.command(spec.lxcpath.as_deref()).to_string())
            .collect()
    }

    #[test]
    fn missing_container_is_snapshot_cloned_started_and_awaited() {
        let spec = LxcSpec::new("app");
        assert_eq!(
            lines(&spec, State::Absent, State::Stopped),
            [
                "lxc-copy -n vanilla -N app -s -B overlayfs",
                "lxc-start -n app -d",
                "lxc-wait -n app -s RUNNING -t 60",
                "lxc-info -n app -iH",
            ]
        );
    }

    #[test]
    fn copy_mode_static_address_and_lxc_path() {
        let mut spec = LxcSpec::new("app");
        spec.clone = CloneMode::Copy;
        spec.ipv4 = Some("10.0.3.201/24".to_owned());
        spec.ipv4_gateway = Some("10.0.3.1".to_owned());
        spec.lxcpath = Some("/srv/lxc".into());
        spec.timeout = Duration::from_millis(2500);
        let got = lines(&spec, State::Absent, State::Stopped);
        assert_eq!(got[0], "lxc-copy -P /srv/lxc -n vanilla -N app");
        assert_eq!(
            &got[2..],
            [
                "lxc-start -P /srv/lxc -n app -d",
                "lxc-wait -P /srv/lxc -n app -s RUNNING -t 3",
                "lxc-info -P /srv/lxc -n app -iH"
            ]
        );
        let steps = plan_ensure(&spec, State::Absent, unread, || Ok(State::Stopped)).unwrap();
        let cmd = steps[1].command(spec.lxcpath.as_deref());
        assert_eq!(
            cmd.to_string(),
            concat!(
                r"c=/srv/lxc/app/config; ",
                r"sed -i '/^lxc\.net\.0\.hwaddr/d; /^lxc\.net\.0\.ipv4\.address/d; /^lxc\.net\.0\.ipv4\.gateway/d' ",
                r#""$c"; printf '%s\n' 'lxc.net.0.hwaddr = 00:16:3e:00:03:c9' 'lxc.net.0.ipv4.address = 10.0.3.201/24' "#,
                r#"'lxc.net.0.ipv4.gateway = 10.0.3.1' >> "$c""#,
            )
        );
    }

    #[test]
    fn set_address_script_edits_the_config_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("app/config");
        fs_err::create_dir_all(config.parent().unwrap()).unwrap();
        fs_err::write(&config, "lxc.uts.name = app\nlxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\nlxc.net.0.ipv4.address = 10.0.3.9/24\n").unwrap();
        let step = Step::SetAddress {
            name: "app".to_owned(),
            ipv4: "10.0.3.7/24".to_owned(),
            gateway: None,
        };
        crate::lxc::tool::Runner::Local
            .run(&step.command(Some(dir.path())))
            .unwrap();
        assert_eq!(
            fs_err::read_to_string(&config).unwrap(),
            "lxc.uts.name = app\nlxc.net.0.hwaddr = 00:16:3e:00:03:07\nlxc.net.0.ipv4.address = 10.0.3.7/24\n"
        );
    }

    #[test]
    fn set_address_without_lxc_path_asks_lxc_config() {
        let mut spec = LxcSpec::new("app");
        spec.ipv4 = Some("10.0.3.7/24".to_owned());
        let steps = plan_ensure(&spec, State::Absent, unread, || Ok(State::Stopped)).unwrap();
        let script = steps[1].command(None).to_string();
        assert!(
            script.starts_with("c=\"$(lxc-config lxc.lxcpath)\"/app/config; sed -i "),
            "{script}"
        );
    }

    #[test]
    fn stopped_is_started_running_is_only_awaited() {
        let spec = LxcSpec::new("app");
        let never = || panic!("template not needed");
        assert_eq!(
            plan_ensure(&spec, State::Stopped, unread, never)
                .unwrap()
                .len(),
            3
        );
        let steps = plan_ensure(&spec, State::Running, unread, never).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(
            steps[0].to_string(),
            "wait up to 60s for an IPv4 address on app:eth0"
        );
    }

    /// The configured address, where a test must not need it.
    fn unread() -> crate::lxc::error::Result<(Option<String>, Option<String>)> {
        panic!("the configured address is read only for an existing container with lxc_ipv4")
    }

    #[test]
    fn a_pinned_address_the_container_lacks_is_set_stopping_it_first_when_running() {
        let mut spec = LxcSpec::new("app");
        spec.ipv4 = Some("10.0.3.7/24".to_owned());
        let never = || panic!("template not needed");
        let was = |a: &str| {
            let a = a.to_owned();
            move || Ok((Some(a), None))
        };
        // Configured as the env says: started or only awaited, as before.
        let steps = plan_ensure(&spec, State::Running, was("10.0.3.7/24"), never).unwrap();
        assert_eq!(steps.len(), 1);
        // Another address: stop, set, start.
        let steps = plan_ensure(&spec, State::Running, was("10.0.3.9/24"), never).unwrap();
        let shown: Vec<String> = steps.iter().map(ToString::to_string).collect();
        assert_eq!(shown[0], "stop app");
        assert_eq!(shown[1], "give app the address 10.0.3.7/24");
        assert!(shown[2].starts_with("start app"), "{shown:?}");
        let steps = plan_ensure(&spec, State::Stopped, || Ok((None, None)), never).unwrap();
        assert_eq!(steps[0].to_string(), "give app the address 10.0.3.7/24");
        // A gateway the env pins counts too.
        spec.ipv4_gateway = Some("10.0.3.1".to_owned());
        let steps = plan_ensure(&spec, State::Stopped, was("10.0.3.7/24"), never).unwrap();
        assert_eq!(steps[0].to_string(), "give app the address 10.0.3.7/24");
    }

    #[test]
    fn force_new_stops_destroys_and_reclones() {
        let mut spec = LxcSpec::new("app");
        spec.force_new = true;
        let got = lines(&spec, State::Running, State::Stopped);
        assert_eq!(
            &got[..3],
            [
                "lxc-stop -n app -k",
                "lxc-destroy -n app",
                "lxc-copy -n vanilla -N app -s -B overlayfs"
            ]
        );
    }

    #[test]
    fn template_missing_or_running_is_refused() {
        let spec = LxcSpec {
            env: Some("staging".into()),
            ..LxcSpec::new("app")
        };
        let err = plan_ensure(&spec, State::Absent, unread, || Ok(State::Absent)).unwrap_err();
        assert!(matches!(err, LxcError::MissingTemplate { .. }), "{err:?}");
        assert!(err.hint().unwrap().contains("dfab staging lxc.template"));
        let err = plan_ensure(&spec, State::Absent, unread, || Ok(State::Running)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "LXC template \"vanilla\" is running; refusing to clone it into \"app\""
        );
    }

    #[test]
    fn remove_plans() {
        let spec = LxcSpec::new("app");
        assert!(plan_remove(&spec, State::Absent).is_empty());
        let got: Vec<_> = plan_remove(&spec, State::Running)
            .iter()
            .map(|s| s.command(Some(Path::new("/x"))).to_string())
            .collect();
        assert_eq!(
            got,
            ["lxc-stop -P /x -n app -k", "lxc-destroy -P /x -n app"]
        );
    }
}
