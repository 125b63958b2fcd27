//! Errors of the LXC layer: each names the container and knows a hint for the user.

use std::path::PathBuf;
use std::time::Duration;

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
    MissingTemplate { name: String, template: String },

    /// Cloning a running container copies a live file system.
    #[error("LXC template {template:?} is running; refusing to clone it into {name:?}")]
    TemplateRunning { name: String, template: String },

    /// A container that `ensure` or `remove` expected is not there.
    #[error("LXC container {name:?} does not exist")]
    Missing { name: String },

    /// The container did not reach RUNNING in time.
    #[error("LXC container {name:?} is not RUNNING after {waited:?}")]
    NotRunning { name: String, waited: Duration },

    /// The container did not reach RUNNING with an IPv4 address in time.
    #[error("LXC container {name:?} has no IPv4 address on {interface} after {waited:?}")]
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
    #[error("`{command}` failed with {status}{}", stderr_tail(stderr))]
    Tool {
        command: String,
        status: String,
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
            Self::MissingTemplate { template, .. } => format!(
                "build it once with `dfab <env> lxc.template` (template name {template:?}), \
                 or set `lxc_template` to an existing container"
            ),
            Self::TemplateRunning { template, .. } => {
                format!("stop it first: `lxc-stop -n {template}`")
            }
            Self::Missing { .. } => "create it with `dfab <env> lxc`".to_owned(),
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

/// Into dfab's top-level error: a bad name is bad input (exit 2), the rest failures (exit 1),
/// each with its hint.
impl From<LxcError> for crate::error::Error {
    fn from(e: LxcError) -> Self {
        let hint = e.hint();
        match e {
            LxcError::Io(io) => Self::Io(io),
            LxcError::BadName { .. } => Self::Usage {
                message: e.to_string(),
                hint,
            },
            LxcError::Tool {
                command,
                status,
                stderr,
            } => Self::CommandFailed {
                host: "localhost".to_owned(),
                status: status
                    .rsplit(' ')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1),
                cmd: command,
                stderr,
                hint,
            },
            other => Self::Other {
                message: other.to_string(),
                hint,
            },
        }
    }
}
