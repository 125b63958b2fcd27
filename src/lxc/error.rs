//! Errors of the LXC layer: each names the container and knows a hint for the user.

use std::path::PathBuf;
use std::time::Duration;

use crate::transport::Exit;

/// Everything that can go wrong while managing a container.
#[derive(Debug, thiserror::Error)]
pub enum LxcError {
    /// liblxc and the `lxc-*` tools need root here (dfab does not manage unprivileged containers).
    #[error("managing LXC containers needs root (running as uid {uid})")]
    NotRoot { uid: u32 },

    /// A name LXC would reject, or that would escape the LXC path.
    #[error("invalid container name {name:?}: {reason}")]
    BadName { name: String, reason: &'static str },

    /// The template to clone from is not defined.
    #[error("LXC template {template:?} does not exist (needed to create {name:?})")]
    MissingTemplate {
        name: String,
        template: String,
        /// The environment that wants it (`dfab ENV lxc.template` builds it), if known.
        env: Option<String>,
    },

    /// Cloning a running container copies a live file system.
    #[error("LXC template {template:?} is running; refusing to clone it into {name:?}")]
    TemplateRunning { name: String, template: String },

    /// The container did not reach RUNNING in time.
    #[error("LXC container {name:?} is not RUNNING after {} s", waited.as_secs_f32())]
    NotRunning { name: String, waited: Duration },

    /// The container did not reach RUNNING with an IPv4 address in time.
    #[error("LXC container {name:?} has no IPv4 address on {interface} after {} s", waited.as_secs_f32())]
    NoAddress {
        name: String,
        interface: String,
        waited: Duration,
    },

    /// A liblxc call returned failure.
    #[error("LXC {op} of {name:?} failed{}", detail(*errno, message.as_deref()))]
    Op {
        name: String,
        op: &'static str,
        errno: i32,
        message: Option<String>,
    },

    /// One of the hand-run tools (`lxc-copy`, …) failed, locally or on `lxc_host`.
    #[error("`{command}` failed ({exit}){}", stderr_tail(stderr))]
    Tool {
        command: String,
        exit: Exit,
        stderr: String,
    },

    /// Spawning a program (a tool, `ssh`, `debootstrap`) failed.
    #[error("could not run `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },

    /// Local file I/O (`fs_err` already names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),

    /// No Debian mirror configured in apt and none given.
    #[error("no Debian mirror found in {}", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoMirror { searched: Vec<PathBuf> },

    /// The template builder was asked for an existing container.
    #[error("LXC template {name:?} already exists")]
    TemplateExists { name: String },

    /// This build of dfab has no liblxc (feature `liblxc` off) and the operation needs it.
    #[error("this dfab was built without liblxc; {what} needs it")]
    NoLiblxc { what: &'static str },
}

fn detail(errno: i32, message: Option<&str>) -> String {
    match (message, errno) {
        (Some(m), 0) => format!(": {m}"),
        (Some(m), e) => format!(": {m} (error {e})"),
        (None, 0) => String::new(),
        (None, e) => format!(" (error {e})"),
    }
}

fn stderr_tail(stderr: &str) -> String {
    let tail = stderr.trim_end().lines().last().unwrap_or("");
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {tail}")
    }
}

impl LxcError {
    /// What the user can do about it, shown under the error.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::NotRoot { .. } => {
                "run dfab as root (for example with sudo) to manage local containers, \
                 or set `lxc_host` to manage them on another machine"
                    .to_owned()
            }
            Self::BadName { .. } => {
                "use letters, digits, `.`, `_` and `-` (not first), at most 64 characters"
                    .to_owned()
            }
            Self::MissingTemplate {
                template,
                env: Some(env),
                ..
            } => format!(
                "build it once with `dfab {env} lxc.template` (template name {template:?}), \
                 or set `lxc_template` to an existing container"
            ),
            Self::MissingTemplate {
                template,
                env: None,
                ..
            } => format!(
                "build it once with `dfab ENV lxc.template` for an environment whose \
                 `lxc_template` is {template:?}, or set `lxc_template` to an existing container"
            ),
            Self::TemplateRunning { template, .. } => {
                format!("stop it first: `lxc-stop -n {template}`")
            }
            Self::NotRunning { name, .. } => {
                format!("see why with `lxc-start -n {name} -F -l DEBUG -o /dev/stderr`")
            }
            Self::NoAddress { name, .. } => format!(
                "check that the container gets an address (DHCP from lxc-net, or \
                 `lxc_ipv4`), that `lxcbr0` is up (`/usr/libexec/lxc/lxc-net start`), \
                 or raise `lxc_timeout`; inspect with `lxc-info -n {name}` and \
                 `lxc-attach -n {name} -- ip addr`"
            ),
            Self::Op { name, op, .. } => match *op {
                "start" => format!("see why with `lxc-start -n {name} -F -l DEBUG -o /dev/stderr`"),
                _ => format!(
                    "run the equivalent `lxc-*` tool by hand for details (container {name})"
                ),
            },
            Self::NoMirror { .. } => {
                "set `lxc_mirror` in the environment or DFAB_MIRROR to a Debian mirror URL"
                    .to_owned()
            }
            Self::TemplateExists { name } => format!(
                "remove it first with `lxc-destroy -n {name}`, or pick another `lxc_template`"
            ),
            Self::NoLiblxc { .. } => {
                "rebuild with the default feature `liblxc`, or use `lxc_transport = 'ssh'`"
                    .to_owned()
            }
            Self::Tool { .. } | Self::Spawn { .. } | Self::Io(_) => return None,
        })
    }
}

/// The LXC layer's result.
pub type Result<T, E = LxcError> = std::result::Result<T, E>;

impl LxcError {
    /// Into dfab's top-level error for work on `host` (a container reached by attach): as
    /// [`From`] does, except that the failures without a variant of their own read as the
    /// host's, `[host] …`.
    #[must_use]
    pub fn at_host(self, host: &str) -> crate::error::Error {
        self.into_error(Some(host))
    }

    /// A bad name is bad input (exit 2); a failed tool keeps its exit and a failed spawn its
    /// cause; the rest fail while running (exit 1). Each keeps its hint.
    fn into_error(self, host: Option<&str>) -> crate::error::Error {
        use crate::error::Error;
        let hint = self.hint();
        let label = host.unwrap_or("localhost").to_owned();
        match self {
            // Through attach, the host's label matters more than the I/O error's type.
            LxcError::Io(io) if host.is_none() => Error::Io(io),
            LxcError::BadName { .. } => Error::Usage {
                message: self.to_string(),
                hint,
            },
            LxcError::Tool {
                command,
                exit,
                stderr,
            } => Error::CommandFailed {
                host: label,
                exit,
                cmd: command,
                stderr,
                hint,
            },
            LxcError::Spawn { program, source } => Error::Spawn {
                host: label,
                program,
                source,
                hint,
            },
            other => match host {
                Some(_) => Error::Transport {
                    host: label,
                    message: other.to_string(),
                    hint,
                },
                None => Error::Other {
                    message: other.to_string(),
                    hint,
                },
            },
        }
    }
}

/// Into dfab's top-level error, as work on this machine: a bad name is bad input (exit 2); a
/// failed tool keeps its exit and a failed spawn its cause; the rest fail while running (exit 1).
impl From<LxcError> for crate::error::Error {
    fn from(e: LxcError) -> Self {
        e.into_error(None)
    }
}

#[cfg(test)]
mod tests {
    use super::LxcError;
    use crate::error::{render, Error};
    use crate::transport::Exit;

    fn tool(exit: Exit) -> LxcError {
        LxcError::Tool {
            command: "lxc-copy -n base -N app".into(),
            exit,
            stderr: "lxc-copy: first\nlxc-copy: last\n".into(),
        }
    }

    #[test]
    fn a_failed_tool_keeps_its_exit_to_the_top() {
        assert_eq!(
            tool(Exit::Code(1)).to_string(),
            "`lxc-copy -n base -N app` failed (exit status 1): lxc-copy: last"
        );
        assert_eq!(
            tool(Exit::Signal(9)).to_string(),
            "`lxc-copy -n base -N app` failed (killed by signal 9 (SIGKILL)): lxc-copy: last"
        );
        let top = Error::from(tool(Exit::Signal(9)));
        assert!(
            matches!(&top, Error::CommandFailed { host, exit: Exit::Signal(9), .. } if host == "localhost"),
            "{top:?}"
        );
        assert_eq!(top.code(), 1);
        assert_eq!(
            render(&top),
            "error: [localhost] command failed (killed by signal 9 (SIGKILL)): \
             lxc-copy -n base -N app\n  | lxc-copy: first\n  | lxc-copy: last\n"
        );
        // Through attach, the container is the host.
        let top = tool(Exit::Code(3)).at_host("app");
        assert!(
            matches!(&top, Error::CommandFailed { host, exit: Exit::Code(3), .. } if host == "app"),
            "{top:?}"
        );
    }

    #[test]
    fn a_failed_spawn_keeps_its_cause_to_the_top() {
        let spawn = || LxcError::Spawn {
            program: "sh".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(
            std::error::Error::source(&spawn()).map(ToString::to_string),
            Some("entity not found".to_owned())
        );
        let top = Error::from(spawn());
        assert_eq!(
            render(&top),
            "error: [localhost] cannot start `sh`\n  caused by: entity not found\n"
        );
        assert!(matches!(spawn().at_host("app"), Error::Spawn { host, .. } if host == "app"));
    }

    #[test]
    fn the_rest_reads_as_the_host_s_through_attach_and_keeps_bad_input_as_usage() {
        let missing = || LxcError::MissingTemplate {
            name: "app".into(),
            template: "base".into(),
            env: Some("staging".into()),
        };
        let top = missing().at_host("app");
        assert_eq!(
            render(&top),
            "error: [app] LXC template \"base\" does not exist (needed to create \"app\")\n\
             hint: build it once with `dfab staging lxc.template` (template name \"base\"), or \
             set `lxc_template` to an existing container\n"
        );
        assert!(matches!(Error::from(missing()), Error::Other { .. }));
        let io = || LxcError::Io(std::io::ErrorKind::BrokenPipe.into());
        assert!(matches!(Error::from(io()), Error::Io(_)));
        assert_eq!(render(&io().at_host("app")), "error: [app] broken pipe\n");
        let bad = LxcError::BadName {
            name: "-x".into(),
            reason: "starts with `-`",
        };
        assert_eq!(Error::from(bad).code(), 2);
    }
}
