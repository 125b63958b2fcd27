//! `lxc.template`: build the container that environments are cloned from (default `vanilla`).
//!
//! A debootstrap `minbase` of the chosen Debian release with what dfab needs on a host
//! (openssh-server, python3, python3-venv, debconf, sudo, iproute2, rsync) and a real init
//! (`systemd-sysv`), because the packages dfab deploys ship systemd units.
//!
//! Addressing: DHCP. `systemd-networkd` runs `DHCP=ipv4` on `eth0`, served by lxc-net's dnsmasq
//! on the bridge. The template's config has `lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx`, which LXC
//! turns into a random MAC per clone and keeps across restarts, so a clone keeps its lease.
//! `ensure` reads the address with liblxc `get_ips` (no guessing, no fixed sleep). An
//! environment can instead pin `lxc_ipv4` (LXC sets it before init; networkd keeps it thanks to
//! `KeepConfiguration=static`, DHCP may add a second address and dfab uses the pinned one).
//!
//! Per-clone identity: `/etc/machine-id` is left empty (systemd makes one at first boot) and the
//! ssh host keys are removed; `dfab-ssh-hostkeys.service` runs `ssh-keygen -A` before sshd, so
//! every clone gets its own keys.
//!
//! The debootstrapped tree is cached as a tarball under the cache directory, keyed by release,
//! packages and mirror: a second build unpacks it in seconds instead of about a minute.
//!
//! Every effect runs through a [`Runner`], so the same build works on `lxc_host` over ssh and
//! `--dry-run` can print it.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

mod files;

pub use files::config;
use files::{HOSTKEYS_UNIT, NETWORK, SSHD_CONF};

use super::error::{LxcError, Result};
use super::tool::Runner;
use crate::transport::cmd::{quote, Cmd};

/// Packages every dfab template has.
pub const BASE_PACKAGES: &[&str] = &[
    "systemd-sysv",
    "openssh-server",
    "python3",
    "python3-venv",
    "debconf",
    "sudo",
    "iproute2",
    "rsync",
    "ca-certificates",
    "libnss-myhostname",
];

/// What to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSpec {
    /// The container name (`lxc_template`).
    pub name: String,
    /// Debian release (`lxc_release`).
    pub release: String,
    /// Packages beyond [`BASE_PACKAGES`] (`lxc_packages`).
    pub packages: Vec<String>,
    /// Debian mirror URL (`lxc_mirror`); `None`: the one apt uses on the building machine.
    pub mirror: Option<String>,
    /// Bridge for `lxc.net.0.link` (`lxc_bridge`).
    pub bridge: String,
    /// LXC path; `None`: `lxc-config lxc.lxcpath` on the building machine.
    pub lxcpath: Option<PathBuf>,
    /// Where the debootstrapped tarball is cached; `None`: no cache.
    pub cache_dir: Option<PathBuf>,
    /// Public keys authorised for root (one line each): the invoking user's, see
    /// [`invoking_user_keys`], plus any given.
    pub authorized_keys: Vec<String>,
    /// Build on `lxc_host` (ssh) or here.
    pub runner: Runner,
}

impl TemplateSpec {
    /// Defaults: bookworm, `lxcbr0`, cache in `/var/cache/dfab`, the invoking user's key.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            release: "bookworm".to_owned(),
            packages: Vec::new(),
            mirror: None,
            bridge: "lxcbr0".to_owned(),
            lxcpath: None,
            cache_dir: Some(PathBuf::from("/var/cache/dfab")),
            authorized_keys: invoking_user_keys(),
            runner: Runner::Local,
        }
    }

    fn packages(&self) -> Vec<String> {
        let mut all: Vec<String> = BASE_PACKAGES.iter().map(|&p| p.to_owned()).collect();
        for p in &self.packages {
            if !all.contains(p) {
                all.push(p.clone());
            }
        }
        all
    }
}

/// The public key of the user who invoked dfab (`SUDO_USER`'s when run by sudo):
/// `~/.ssh/id_ed25519.pub`, else `~/.ssh/id_rsa.pub`; none when neither exists.
#[must_use]
pub fn invoking_user_keys() -> Vec<String> {
    let home = std::env::var("SUDO_USER")
        .ok()
        .filter(|u| u != "root")
        .and_then(|u| home_of(&u))
        .or_else(|| std::env::var_os("HOME").map(PathBuf::from));
    let Some(home) = home else { return Vec::new() };
    ["id_ed25519.pub", "id_rsa.pub"]
        .iter()
        .find_map(|f| fs_err::read_to_string(home.join(".ssh").join(f)).ok())
        .map(|k| vec![k.trim().to_owned()])
        .unwrap_or_default()
}

/// `user`'s home directory from `/etc/passwd`.
fn home_of(user: &str) -> Option<PathBuf> {
    let passwd = fs_err::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 6 && f[0] == user).then(|| PathBuf::from(f[5]))
    })
}

/// One effect of the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run a command.
    Run(Cmd),
    /// Write a file (created with its parents) with this mode.
    Write {
        path: PathBuf,
        mode: u32,
        contents: String,
    },
}

impl Action {
    /// As the command the runner executes (a write is `sh` + `cat` fed on stdin).
    pub(crate) fn command(&self) -> Cmd {
        match self {
            Self::Run(cmd) => cmd.clone(),
            Self::Write {
                path,
                mode,
                contents,
            } => {
                let path = path.display().to_string();
                let script = format!(
                    "mkdir -p \"$(dirname \"$1\")\" && cat > \"$1\".tmp && chmod {mode:o} \"$1\".tmp && mv \"$1\".tmp \"$1\""
                );
                Cmd::new("sh", ["-c".to_owned(), script, "sh".to_owned(), path])
                    .stdin(contents.as_bytes())
            }
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Run(cmd) => write!(f, "{cmd}"),
            Self::Write {
                path,
                mode,
                contents,
            } => {
                write!(
                    f,
                    "write {} (mode {mode:o}, {} lines)",
                    quote(&path.display().to_string()),
                    contents.lines().count()
                )
            }
        }
    }
}

/// Where things go for one build.
struct Paths {
    dir: PathBuf,
    rootfs: PathBuf,
    tmp: PathBuf,
    cache: Option<PathBuf>,
}

fn paths(spec: &TemplateSpec, lxcpath: &Path, mirror: &str) -> Paths {
    let dir = lxcpath.join(&spec.name);
    let key = {
        let mut h = Sha256::new();
        h.update(format!(
            "{}\n{}\n{}\n",
            spec.release,
            spec.packages().join(","),
            mirror
        ));
        h.finalize()
            .iter()
            .take(6)
            .fold(String::new(), |mut hex, b| {
                use std::fmt::Write as _;
                let _ = write!(hex, "{b:02x}");
                hex
            })
    };
    Paths {
        rootfs: dir.join("rootfs"),
        tmp: dir.join("rootfs.tmp"),
        cache: spec
            .cache_dir
            .as_ref()
            .map(|c| c.join(format!("lxc-template-{}-{key}.tar", spec.release))),
        dir,
    }
}

/// The build's actions, given the LXC path, the mirror and whether the cached tarball exists.
#[must_use]
pub fn actions(spec: &TemplateSpec, lxcpath: &Path, mirror: &str, cached: bool) -> Vec<Action> {
    let p = paths(spec, lxcpath, mirror);
    let tmp = p.tmp.display().to_string();
    let mut out = vec![
        Action::Run(Cmd::new("rm", ["-rf", &tmp])),
        Action::Run(Cmd::new("mkdir", ["-p", &tmp])),
    ];
    if let (Some(cache), true) = (&p.cache, cached) {
        let cache = cache.display().to_string();
        out.push(Action::Run(Cmd::new("tar", ["-C", &tmp, "-xf", &cache])));
    } else {
        let include = format!("--include={}", spec.packages().join(","));
        out.push(Action::Run(Cmd::new(
            "debootstrap",
            ["--variant=minbase", &include, &spec.release, &tmp, mirror],
        )));
        out.push(Action::Run(Cmd::new("chroot", [&tmp, "apt-get", "clean"])));
        if let Some(cache) = &p.cache {
            let dir = cache
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let cache = quote(&cache.display().to_string());
            out.push(Action::Run(Cmd::shell(format!(
                "mkdir -p {} && tar -C {} -cf {cache}.part . && mv {cache}.part {cache}",
                quote(&dir),
                quote(&tmp),
            ))));
        }
    }
    let at = |rel: &str| p.tmp.join(rel);
    out.push(Action::Write {
        path: at("etc/systemd/network/eth0.network"),
        mode: 0o644,
        contents: NETWORK.to_owned(),
    });
    out.push(Action::Write {
        path: at("etc/systemd/system/dfab-ssh-hostkeys.service"),
        mode: 0o644,
        contents: HOSTKEYS_UNIT.to_owned(),
    });
    out.push(Action::Write {
        path: at("etc/ssh/sshd_config.d/dfab.conf"),
        mode: 0o644,
        contents: SSHD_CONF.to_owned(),
    });
    out.push(Action::Run(Cmd::new(
        "chroot",
        [
            &tmp,
            "systemctl",
            "enable",
            "--quiet",
            "systemd-networkd.service",
            "dfab-ssh-hostkeys.service",
        ],
    )));
    // Per-clone identity: no host keys, an empty machine-id, no /etc/hostname (systemd then keeps
    // the host name LXC sets from `lxc.uts.name`; libnss-myhostname resolves it for sudo).
    out.push(Action::Run(Cmd::shell(format!(
        "rm -f {t}/etc/ssh/ssh_host_*_key {t}/etc/ssh/ssh_host_*_key.pub && : > {t}/etc/machine-id && rm -f {t}/etc/hostname",
        t = quote(&tmp)
    ))));
    let mut keys = spec.authorized_keys.join("\n");
    keys.push('\n');
    out.push(Action::Run(Cmd::new(
        "install",
        ["-d", "-m", "0700", &at("root/.ssh").display().to_string()],
    )));
    out.push(Action::Write {
        path: at("root/.ssh/authorized_keys"),
        mode: 0o600,
        contents: keys,
    });
    out.push(Action::Run(Cmd::new(
        "mv",
        [&tmp, &p.rootfs.display().to_string()],
    )));
    // The config comes last: its existence is what makes the container defined.
    out.push(Action::Write {
        path: p.dir.join("config"),
        mode: 0o644,
        contents: config(&spec.name, &p.rootfs, &spec.bridge),
    });
    out
}

/// Run a query: stdout when it exits 0.
fn query(runner: &Runner, cmd: &Cmd) -> Result<Option<String>> {
    let out = runner.output(cmd)?;
    Ok(out
        .exit()
        .success()
        .then(|| out.stdout_str().trim().to_owned()))
}

/// The LXC path, mirror and cache state on the building machine (only reads).
fn resolve(spec: &TemplateSpec) -> Result<(PathBuf, String, bool)> {
    super::name::validate(&spec.name)?;
    let lxcpath = match &spec.lxcpath {
        Some(p) => p.clone(),
        None => query(&spec.runner, &Cmd::new("lxc-config", ["lxc.lxcpath"]))?
            .filter(|p| !p.is_empty())
            .map_or_else(|| PathBuf::from("/var/lib/lxc"), PathBuf::from),
    };
    if query(
        &spec.runner,
        &Cmd::new(
            "test",
            [
                "-e",
                &lxcpath
                    .join(&spec.name)
                    .join("config")
                    .display()
                    .to_string(),
            ],
        ),
    )?
    .is_some()
    {
        return Err(LxcError::TemplateExists {
            name: spec.name.clone(),
        });
    }
    let mirror = match (&spec.mirror, &spec.runner) {
        (Some(m), _) => m.clone(),
        (None, Runner::Local) => super::mirror::mirror(None, Path::new("/"))?,
        (None, Runner::Ssh { .. }) => {
            let sources = Cmd::shell("cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null; true");
            let text = query(&spec.runner, &sources)?.unwrap_or_default();
            super::mirror::first_debian_uri(&text).ok_or_else(|| LxcError::NoMirror {
                searched: vec![PathBuf::from("/etc/apt (on lxc_host)")],
            })?
        }
    };
    let cached = match paths(spec, &lxcpath, &mirror).cache {
        Some(cache) => query(
            &spec.runner,
            &Cmd::new("test", ["-f", &cache.display().to_string()]),
        )?
        .is_some(),
        None => false,
    };
    Ok((lxcpath, mirror, cached))
}

/// The build as it would run now (for `--dry-run`).
pub fn plan(spec: &TemplateSpec) -> Result<Vec<Action>> {
    let (lxcpath, mirror, cached) = resolve(spec)?;
    Ok(actions(spec, &lxcpath, &mirror, cached))
}

/// The build for `--dry-run`, reading nothing from another machine: on an `lxc_host` the LXC
/// path, the mirror and the cache are not asked for (defaults and placeholders stand in).
pub fn plan_offline(spec: &TemplateSpec) -> Result<Vec<Action>> {
    if spec.runner == Runner::Local {
        return plan(spec);
    }
    let lxcpath = spec
        .lxcpath
        .clone()
        .unwrap_or_else(|| PathBuf::from("/var/lib/lxc"));
    let mirror = spec
        .mirror
        .clone()
        .unwrap_or_else(|| "<the lxc_host's apt mirror>".to_owned());
    Ok(actions(spec, &lxcpath, &mirror, false))
}

/// Build the template. `on_action` sees each action before it runs. On failure the partial
/// tree is removed and the container stays undefined.
pub fn build(spec: &TemplateSpec, on_action: &mut dyn FnMut(&Action)) -> Result<()> {
    if spec.runner == Runner::Local {
        super::backend::check_root(super::backend::current_euid())?;
    }
    let (lxcpath, mirror, cached) = resolve(spec)?;
    let result = actions(spec, &lxcpath, &mirror, cached)
        .iter()
        .try_for_each(|action| {
            on_action(action);
            let out = spec.runner.output(&action.command())?;
            let exit = out.exit();
            if exit.success() {
                Ok(())
            } else {
                Err(LxcError::Tool {
                    command: action.to_string(),
                    exit,
                    stderr: out.stderr_str(),
                })
            }
        });
    if result.is_err() {
        let dir = lxcpath.join(&spec.name);
        let _ = spec
            .runner
            .output(&Cmd::new("rm", ["-rf", &dir.display().to_string()]));
    }
    result
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{actions, Action, TemplateSpec};
    use crate::lxc::tool::Runner;

    fn spec() -> TemplateSpec {
        let mut spec = TemplateSpec::new("vanilla");
        spec.authorized_keys = vec!["ssh-ed25519 AAAA me@here".to_owned()];
        spec.packages = vec!["nginx-light".to_owned(), "sudo".to_owned()];
        spec
    }

    fn lines(cached: bool) -> Vec<String> {
        actions(
            &spec(),
            Path::new("/var/lib/lxc"),
            "http://m.test/debian",
            cached,
        )
        .iter()
        .map(ToString::to_string)
        .collect()
    }

    #[test]
    fn fresh_build_debootstraps_and_fills_the_cache() {
        let got = lines(false);
        assert_eq!(got[0], "rm -rf /var/lib/lxc/vanilla/rootfs.tmp");
        assert_eq!(
            got[2],
            "debootstrap --variant=minbase --include=systemd-sysv,openssh-server,python3,python3-venv,\
             debconf,sudo,iproute2,rsync,ca-certificates,libnss-myhostname,nginx-light bookworm /var/lib/lxc/vanilla/rootfs.tmp \
             http://m.test/debian"
        );
        assert!(got[4].starts_with("mkdir -p /var/cache/dfab && tar -C /var/lib/lxc/vanilla/rootfs.tmp -cf /var/cache/dfab/lxc-template-bookworm-"), "{}", got[4]);
        assert_eq!(
            got.last().unwrap(),
            "write /var/lib/lxc/vanilla/config (mode 644, 12 lines)"
        );
        assert_eq!(
            got[got.len() - 2],
            "mv /var/lib/lxc/vanilla/rootfs.tmp /var/lib/lxc/vanilla/rootfs"
        );
    }

    #[test]
    fn cached_build_unpacks_instead() {
        let got = lines(true);
        assert!(got[2].starts_with(
            "tar -C /var/lib/lxc/vanilla/rootfs.tmp -xf /var/cache/dfab/lxc-template-bookworm-"
        ));
        assert!(!got.iter().any(|l| l.contains("debootstrap")));
    }

    #[test]
    fn keys_and_config_are_written() {
        let acts = actions(&spec(), Path::new("/x"), "http://m.test/debian", false);
        let write = |suffix: &str| {
            acts.iter()
                .find_map(|a| match a {
                    Action::Write { path, contents, .. } if path.ends_with(suffix) => {
                        Some(contents.clone())
                    }
                    _ => None,
                })
                .unwrap()
        };
        assert_eq!(
            write("root/.ssh/authorized_keys"),
            "ssh-ed25519 AAAA me@here\n"
        );
        let config = write("vanilla/config");
        assert!(
            config.contains("lxc.rootfs.path = dir:/x/vanilla/rootfs\n"),
            "{config}"
        );
        assert!(config.contains("lxc.net.0.link = lxcbr0\n"));
        assert!(config.contains("lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n"));
        assert!(write("eth0.network").contains("DHCP=ipv4"));
    }

    #[test]
    fn lxc_host_build_runs_through_ssh() {
        let mut spec = spec();
        spec.runner = Runner::for_host(Some("box"), &[]);
        let acts = actions(
            &spec,
            Path::new("/var/lib/lxc"),
            "http://m.test/debian",
            true,
        );
        let sshd = acts
            .iter()
            .find(|a| matches!(a, Action::Write { path, .. } if path.ends_with("dfab.conf")))
            .unwrap();
        let cmd = sshd.command();
        assert_eq!(
            spec.runner.command(&cmd).to_string(),
            "ssh -o BatchMode=yes box -- 'sh -c '\\''mkdir -p \"$(dirname \"$1\")\" && cat > \"$1\".tmp && chmod 644 \
             \"$1\".tmp && mv \"$1\".tmp \"$1\"'\\'' sh /var/lib/lxc/vanilla/rootfs.tmp/etc/ssh/sshd_config.d/dfab.conf'"
        );
        assert!(spec.runner.command(&cmd).stdin.is_some());
    }
}
