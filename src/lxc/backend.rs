//! Who carries out the steps: liblxc in-process, or the `lxc-*` tools here or on `lxc_host`.

use std::path::PathBuf;
use std::time::Duration;

use super::error::{LxcError, Result};
use super::spec::LxcSpec;
use super::step::{State, Step};
use super::tool::Runner;
use crate::transport::cmd::Cmd;

/// The operations the lifecycle needs.
pub trait Backend {
    /// The container's state now.
    fn state(&self, name: &str) -> Result<State>;
    /// Carry out any step but [`Step::WaitAddress`], which the lifecycle polls with `ipv4`.
    fn apply(&self, step: &Step) -> Result<()>;
    /// The container's configured `lxc.net.0.ipv4.address` and `lxc.net.0.ipv4.gateway` (`None`
    /// when unset; several addresses one a line).
    fn configured_ipv4(&self, name: &str) -> Result<(Option<String>, Option<String>)>;
    /// The IPv4 addresses on `interface` now (empty while none).
    fn ipv4(&self, name: &str, interface: &str) -> Result<Vec<String>>;
    /// How long to sleep between two `ipv4` polls.
    fn poll_interval(&self) -> Duration;
    /// The LXC path to show in commands (`None`: the default).
    fn lxcpath(&self) -> Option<PathBuf>;
}

/// Refuse to manage local containers without root: liblxc would fail later with less clear
/// errors (or create unprivileged containers under `~/.local/share/lxc`).
pub fn check_root(euid: u32) -> Result<()> {
    if euid == 0 {
        Ok(())
    } else {
        Err(LxcError::NotRoot { uid: euid })
    }
}

/// This process's effective uid.
#[must_use]
pub fn current_euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The backend for `spec`: the tools over ssh for `lxc_host`, else liblxc (or the local tools in
/// a build without it). Checks for root when local.
pub fn for_spec(spec: &LxcSpec) -> Result<Box<dyn Backend>> {
    if spec.host.is_some() {
        return Ok(Box::new(Tools::new(spec.runner(), spec.lxcpath.clone())));
    }
    check_root(current_euid())?;
    #[cfg(feature = "liblxc")]
    return Ok(Box::new(Liblxc {
        lxcpath: spec.lxcpath.clone(),
    }));
    #[cfg(not(feature = "liblxc"))]
    return Ok(Box::new(Tools::new(Runner::Local, spec.lxcpath.clone())));
}

/// liblxc, in this process.
#[cfg(feature = "liblxc")]
#[derive(Debug, Clone, Default)]
pub struct Liblxc {
    /// `None`: liblxc's default.
    pub lxcpath: Option<PathBuf>,
}

#[cfg(feature = "liblxc")]
impl Liblxc {
    fn open(&self, name: &str) -> Result<super::sys::Container> {
        super::sys::Container::new(name, self.lxcpath.as_deref())
    }
}

#[cfg(feature = "liblxc")]
impl Backend for Liblxc {
    fn state(&self, name: &str) -> Result<State> {
        let c = self.open(name)?;
        Ok(if !c.is_defined() {
            State::Absent
        } else if c.is_running() {
            State::Running
        } else {
            State::Stopped
        })
    }

    fn apply(&self, step: &Step) -> Result<()> {
        match step {
            Step::Clone {
                template,
                name,
                mode,
            } => {
                let t = self.open(template)?;
                t.clone_to(name, self.lxcpath.as_deref(), *mode).map(drop)
            }
            Step::SetAddress {
                name,
                ipv4,
                gateway,
            } => {
                let c = self.open(name)?;
                // ipv4.address is a list: clear the template's before adding ours.
                c.clear_config_item("lxc.net.0.ipv4.address")?;
                c.set_config_item("lxc.net.0.ipv4.address", ipv4)?;
                c.set_config_item("lxc.net.0.hwaddr", &super::step::hwaddr_for(ipv4))?;
                if let Some(gateway) = gateway {
                    c.set_config_item("lxc.net.0.ipv4.gateway", gateway)?;
                }
                c.save_config()
            }
            Step::Start { name } => self.open(name)?.start(),
            Step::WaitRunning { name, timeout } => {
                if self.open(name)?.wait("RUNNING", *timeout)? {
                    Ok(())
                } else {
                    Err(LxcError::NotRunning {
                        name: name.clone(),
                        waited: *timeout,
                    })
                }
            }
            Step::WaitAddress { .. } => unreachable!("the lifecycle polls addresses itself"),
            Step::Stop { name } => self.open(name)?.stop(),
            Step::Destroy { name } => self.open(name)?.destroy(),
        }
    }

    fn configured_ipv4(&self, name: &str) -> Result<(Option<String>, Option<String>)> {
        let c = self.open(name)?;
        let item = |k: &str| {
            c.config_item(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Ok((
            item("lxc.net.0.ipv4.address"),
            item("lxc.net.0.ipv4.gateway"),
        ))
    }

    fn ipv4(&self, name: &str, interface: &str) -> Result<Vec<String>> {
        self.open(name)?.get_ips(Some(interface), Some("inet"), 0)
    }

    fn poll_interval(&self) -> Duration {
        Duration::from_millis(10)
    }

    fn lxcpath(&self) -> Option<PathBuf> {
        self.lxcpath.clone()
    }
}

/// The `lxc-*` tools, run by a [`Runner`]: the path for `lxc_host`, and for builds without liblxc.
#[derive(Debug, Clone)]
pub struct Tools {
    runner: Runner,
    lxcpath: Option<PathBuf>,
}

impl Tools {
    /// Tools run by `runner` on containers under `lxcpath` (`None`: the tools' default).
    #[must_use]
    pub fn new(runner: Runner, lxcpath: Option<PathBuf>) -> Self {
        Self { runner, lxcpath }
    }

    fn info(&self, name: &str, flag: &str) -> Cmd {
        super::step::tool("lxc-info", self.lxcpath.as_deref(), name, &[flag])
    }
}

/// `lxc-info -sH` prints the state; an undefined container fails with "doesn't exist".
pub(crate) fn parse_state(output: &crate::transport::Output) -> State {
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.trim() {
        "RUNNING" => State::Running,
        _ if !output.exit().success() => State::Absent,
        _ => State::Stopped,
    }
}

/// `lxc-info -c KEY` prints `KEY = value` a line (`KEY =` when unset); the values one a line.
pub(crate) fn parse_config_item(stdout: &str, key: &str) -> Option<String> {
    let values: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix(key))
        .filter_map(|l| l.trim_start().strip_prefix('='))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    (!values.is_empty()).then(|| values.join("\n"))
}

/// `lxc-info -iH` prints one address a line, IPv4 and IPv6 of every interface but `lo`.
pub(crate) fn parse_ipv4(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.parse::<std::net::Ipv4Addr>().is_ok())
        .map(str::to_owned)
        .collect()
}

impl Backend for Tools {
    fn state(&self, name: &str) -> Result<State> {
        let cmd = self.info(name, "-sH");
        let output = self.runner.output(&cmd)?;
        // ssh's own failure (255) says nothing about the container: never read it as absent.
        if matches!(self.runner, Runner::Ssh { .. })
            && output.exit() == crate::transport::Exit::Code(255)
        {
            return Err(LxcError::Tool {
                command: self.runner.command(&cmd).to_string(),
                exit: output.exit(),
                stderr: output.stderr_str(),
            });
        }
        Ok(parse_state(&output))
    }

    fn apply(&self, step: &Step) -> Result<()> {
        self.runner
            .run(&step.command(self.lxcpath.as_deref()))
            .map(drop)
    }

    fn configured_ipv4(&self, name: &str) -> Result<(Option<String>, Option<String>)> {
        let item = |k: &str| -> Result<Option<String>> {
            let output = self.runner.output(&super::step::tool(
                "lxc-info",
                self.lxcpath.as_deref(),
                name,
                &["-c", k],
            ))?;
            Ok(parse_config_item(
                &String::from_utf8_lossy(&output.stdout),
                k,
            ))
        };
        Ok((
            item("lxc.net.0.ipv4.address")?,
            item("lxc.net.0.ipv4.gateway")?,
        ))
    }

    fn ipv4(&self, name: &str, _interface: &str) -> Result<Vec<String>> {
        // lxc-info cannot name the interface; dfab's containers have one (eth0).
        let output = self.runner.output(&self.info(name, "-iH"))?;
        Ok(parse_ipv4(&String::from_utf8_lossy(&output.stdout)))
    }

    fn poll_interval(&self) -> Duration {
        match self.runner {
            Runner::Local => Duration::from_millis(20),
            Runner::Ssh { .. } => Duration::from_millis(250),
        }
    }

    fn lxcpath(&self) -> Option<PathBuf> {
        self.lxcpath.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::{check_root, parse_config_item, parse_ipv4, parse_state, Tools};
    use crate::lxc::error::LxcError;
    use crate::lxc::step::State;
    use crate::lxc::tool::Runner;
    use crate::transport::{Exit, Output};

    fn output(code: i32, stdout: &str) -> Output {
        Output::new(Exit::Code(code), stdout.into(), vec![])
    }

    #[test]
    fn non_root_is_refused_with_a_hint() {
        check_root(0).unwrap();
        let err = check_root(1000).unwrap_err();
        assert!(matches!(err, LxcError::NotRoot { uid: 1000 }));
        assert_eq!(
            err.to_string(),
            "managing LXC containers needs root (running as uid 1000)"
        );
        assert!(err.hint().unwrap().contains("lxc_host"));
    }

    #[test]
    fn lxc_info_output_is_parsed() {
        assert_eq!(parse_state(&output(0, "RUNNING\n")), State::Running);
        assert_eq!(parse_state(&output(0, "STOPPED\n")), State::Stopped);
        assert_eq!(parse_state(&output(1, "")), State::Absent);
        assert_eq!(
            parse_ipv4("10.0.3.45\nfe80::1\n10.0.3.201\n"),
            ["10.0.3.45", "10.0.3.201"]
        );
        assert!(parse_ipv4("").is_empty());
    }

    #[test]
    fn lxc_host_queries_go_through_ssh() {
        let tools = Tools::new(Runner::for_host(Some("box"), &[]), None);
        let cmd = tools.runner.command(&tools.info("app", "-sH"));
        assert_eq!(
            cmd.to_string(),
            "ssh -o BatchMode=yes box -- 'lxc-info -n app -sH'"
        );
    }

    // An lxc_host whose ssh failed read as "every container absent": fleet.destroy would have
    // forgotten members that still ran there.
    #[test]
    fn an_ssh_failure_is_an_error_not_an_absent_container() {
        use crate::lxc::backend::Backend as _;
        let tools = Tools::new(
            Runner::for_host(Some("root@127.0.0.1"), &["-p".to_owned(), "1".to_owned()]),
            None,
        );
        let err = tools.state("app").unwrap_err();
        assert!(
            matches!(err, LxcError::Tool { ref command, .. } if command.starts_with("ssh ")),
            "{err:?}"
        );
    }

    #[test]
    fn config_items_from_lxc_info() {
        let k = "lxc.net.0.ipv4.address";
        assert_eq!(parse_config_item("lxc.net.0.ipv4.address =\n", k), None);
        assert_eq!(
            parse_config_item("lxc.net.0.ipv4.address = 10.0.3.190/24\n", k).as_deref(),
            Some("10.0.3.190/24")
        );
        assert_eq!(
            parse_config_item(
                "lxc.net.0.ipv4.address = 10.0.3.1/24\nlxc.net.0.ipv4.address = 10.0.3.2/24\n",
                k
            )
            .as_deref(),
            Some("10.0.3.1/24\n10.0.3.2/24")
        );
    }
}
