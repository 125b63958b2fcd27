//! Shared by the LXC tests: host checks, unique containers with claimed addresses, ssh probes.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub(crate) use crate::support::{BASE, KEY};

/// Fail (never skip) when the host is not set up, or we are not root.
pub(crate) fn host() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the LXC tests need root; run them as root"
    );
    crate::support::require_host_setup();
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique container name and a static address (claimed like every test host's, see
/// `support::claim_ip`), both released on drop (the container, if any, is stopped and destroyed).
pub(crate) struct Claimed {
    pub(crate) name: String,
    pub(crate) ip: String,
    lock: std::path::PathBuf,
}

impl Claimed {
    pub(crate) fn new() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("dfab-lxct-{}-{n}", std::process::id());
        let (ip, lock) = crate::support::claim_ip(&name);
        Self { name, ip, lock }
    }
}

impl Drop for Claimed {
    fn drop(&mut self) {
        destroy(&self.name);
        let _ = fs_err::remove_file(&self.lock);
    }
}

/// Stop and destroy `name` if it exists (with the tools, independent of the code under test).
pub(crate) fn destroy(name: &str) {
    let defined = Command::new("lxc-info")
        .args(["-n", name, "-sH"])
        .output()
        .is_ok_and(|o| o.status.success());
    if defined {
        let _ = Command::new("lxc-stop")
            .args(["-n", name, "-k"])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("lxc-destroy")
            .args(["-n", name])
            .stderr(Stdio::null())
            .status();
    }
}

/// Whether `root@ip` accepts the test key within `within`.
pub(crate) fn ssh_ok(ip: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if ssh(ip, "true").status.success() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run `script` as root on `ip` with the test key.
pub(crate) fn ssh(ip: &str, script: &str) -> std::process::Output {
    crate::support::ssh_as("root", ip, script)
}

/// Exit code and stdout of `sh -c script` in `name`, by `lxc-attach`.
pub(crate) fn attach_sh(name: &str, script: &str) -> (i32, String) {
    let out = Command::new("lxc-attach")
        .args(["-n", name, "--clear-env", "--", "sh", "-c", script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// An sshd of our own on 127.0.0.1 (a free port), letting root in with the test key: stands in
/// for `lxc_host` (a machine reached over ssh that runs the `lxc-*` tools), since nested LXC is
/// not possible here. Killed on drop.
pub(crate) struct LoopbackSshd {
    pub(crate) port: u16,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl LoopbackSshd {
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let keygen = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(d.join("hostkey"))
            .status()
            .unwrap();
        assert!(keygen.success());
        fs_err::copy(format!("{KEY}.pub"), d.join("authorized_keys")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {0}/hostkey\nPidFile {0}/sshd.pid\n\
             AuthorizedKeysFile {0}/authorized_keys\nUsePAM no\nStrictModes no\n\
             PasswordAuthentication no\nPermitRootLogin prohibit-password\n",
            d.display()
        );
        fs_err::write(d.join("sshd_config"), config).unwrap();
        fs_err::create_dir_all("/run/sshd").unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd runs; run `bash scripts/setup-host` (openssh-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "loopback sshd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            port,
            child,
            _dir: dir,
        }
    }

    /// `lxc_host_ssh_options` that reach it with the test key.
    pub(crate) fn options(&self) -> Vec<String> {
        [
            "-p",
            &self.port.to_string(),
            "-i",
            KEY,
            "-o",
            "StrictHostKeyChecking=no",
        ]
        .into_iter()
        .chain(["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"])
        .map(str::to_owned)
        .collect()
    }
}

impl Drop for LoopbackSshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
