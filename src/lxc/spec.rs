//! What an environment asks of its container: the `lxc_*` keys, with their defaults.

use std::path::PathBuf;
use std::time::Duration;

/// Default template (`lxc_template`), built by `dfab <env> lxc.template`.
pub const DEFAULT_TEMPLATE: &str = "vanilla";
/// Default wait for RUNNING plus an IPv4 address (`lxc_timeout`). A bound, not a typical wait
/// (DHCP answers in about 3 s here), long enough for a DHCP client's exponential backoff
/// (1 + 2 + 4 + 8 + 16 s after lost packets) on a busy machine's first boot.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How a clone gets its root file system (`lxc_clone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CloneMode {
    /// `'snapshot'`: an overlay snapshot of the template (`lxc-copy -s -B overlayfs`):
    /// milliseconds; the template must then stay unchanged and cannot be destroyed while the
    /// clone exists.
    #[default]
    Snapshot,
    /// `'copy'`: a full copy of the root file system (`lxc-copy` without `-s`): seconds.
    Copy,
}

impl CloneMode {
    /// From the `lxc_clone` value.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "snapshot" => Some(Self::Snapshot),
            "copy" => Some(Self::Copy),
            _ => None,
        }
    }
}

/// How commands reach the container (`lxc_transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LxcTransport {
    /// `'ssh'`: like any host, at the container's IPv4 address.
    #[default]
    Ssh,
    /// `'attach'`: through liblxc attach (or `lxc-attach`), no sshd needed.
    Attach,
}

/// One environment's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LxcSpec {
    /// The container (`lxc_name`, usually the environment's name).
    pub name: String,
    /// The container to clone when `name` is missing (`lxc_template`).
    pub template: String,
    /// `lxc_clone`.
    pub clone: CloneMode,
    /// Wait for RUNNING and an address (`lxc_timeout`, seconds).
    pub timeout: Duration,
    /// Destroy and re-clone even when it exists (`force_new`).
    pub force_new: bool,
    /// A static address with prefix written into the clone's config (`lxc_ipv4`,
    /// `10.0.3.123/24`); `None` leaves addressing to the template (DHCP in dfab's template).
    pub ipv4: Option<String>,
    /// Gateway for `ipv4` (`lxc_ipv4_gateway`); `None` keeps the template's.
    pub ipv4_gateway: Option<String>,
    /// The interface whose address dfab waits for.
    pub interface: String,
    /// The LXC path (`lxc_path`); `None` is liblxc's default, usually `/var/lib/lxc`.
    pub lxcpath: Option<PathBuf>,
    /// Manage the container on this host over ssh (`lxc_host`); `None` is this machine.
    pub host: Option<String>,
    /// Extra `ssh` arguments for `lxc_host` (`lxc_host_ssh_options`).
    pub host_ssh_options: Vec<String>,
    /// `lxc_transport`.
    pub transport: LxcTransport,
    /// The environment whose container this is, for the commands hints name (`None` when the
    /// spec was not read from one).
    pub env: Option<String>,
}

impl LxcSpec {
    /// Where the `lxc-*` tools for this container run: here, or on `lxc_host`.
    #[must_use]
    pub fn runner(&self) -> super::tool::Runner {
        super::tool::Runner::for_host(self.host.as_deref(), &self.host_ssh_options)
    }

    /// The defaults for container `name`.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            template: DEFAULT_TEMPLATE.to_owned(),
            clone: CloneMode::default(),
            timeout: DEFAULT_TIMEOUT,
            force_new: false,
            ipv4: None,
            ipv4_gateway: None,
            interface: "eth0".to_owned(),
            lxcpath: None,
            host: None,
            host_ssh_options: Vec::new(),
            transport: LxcTransport::default(),
            env: None,
        }
    }
}
