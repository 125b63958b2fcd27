//! What the template build writes: the container's LXC config and the files inside the root
//! file system that give DHCP addressing and per-clone ssh host keys.

use std::path::Path;

/// The container's config file: DHCP through `bridge`, a MAC per clone, the systemd init.
#[must_use]
pub fn config(name: &str, rootfs: &Path, bridge: &str) -> String {
    format!(
        "# dfab template (`dfab <env> lxc.template`): clone it, do not change it while clones exist.\n\
         lxc.include = /usr/share/lxc/config/common.conf\n\
         lxc.arch = linux64\n\
         lxc.uts.name = {name}\n\
         lxc.rootfs.path = dir:{}\n\
         lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed\n\
         lxc.apparmor.profile = generated\n\
         lxc.apparmor.allow_nesting = 1\n\
         lxc.net.0.type = veth\n\
         lxc.net.0.link = {bridge}\n\
         lxc.net.0.flags = up\n\
         lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n",
        rootfs.display()
    )
}

pub(super) const NETWORK: &str = "\
# dfab: DHCP from lxc-net on the bridge; keep an address LXC set from lxc_ipv4.
[Match]
Name=eth0

[Network]
DHCP=ipv4
KeepConfiguration=static
LinkLocalAddressing=no
IPv6AcceptRA=no
";

pub(super) const HOSTKEYS_UNIT: &str = "\
# dfab: each clone of the template makes its own ssh host keys before sshd starts.
[Unit]
Description=Generate ssh host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
RequiredBy=ssh.service
";

pub(super) const SSHD_CONF: &str =
    "PasswordAuthentication no\nPermitRootLogin prohibit-password\nUseDNS no\n";
