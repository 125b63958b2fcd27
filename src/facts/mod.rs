//! `facts`: what each host is (OS release, kernel, architecture, CPUs, memory, free disk, init)
//! and holds of the env's packages (dpkg's state, the release dfab installed, the deploy lock;
//! in release mode the instance's own, see [`instance`]), read with one call of the host
//! program per host and parsed here; a table, or JSON.

pub mod instance;
mod table;

use std::io::Write as _;
use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::exec::engine::Engine;
use crate::exec::record::{self, Reading};
use crate::exec::step::FleetAction;
use crate::transport::Transport;

pub use instance::InstancePackage;
pub use table::render;

/// One host's facts, as `dfab-host facts` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// The host as the env names it.
    pub host: String,
    /// `/etc/os-release`: `ID`, `VERSION_ID`, `PRETTY_NAME` (empty when the host has none).
    pub os: Os,
    /// `uname -r`.
    pub kernel: String,
    /// `uname -m` (`x86_64`).
    pub arch: String,
    /// dpkg's architecture (`amd64`); empty without dpkg.
    pub dpkg_arch: String,
    /// Online CPUs.
    pub cpus: u32,
    /// `/proc/meminfo`'s `MemTotal` and `MemAvailable`, in KiB.
    pub memory_kib: Memory,
    /// Free space (KiB) of `/` and of dfab's state directory (`/var/lib/dfab`, or the nearest
    /// directory above it that exists).
    pub disks: Vec<Disk>,
    /// `systemd` when systemd runs as PID 1, else PID 1's command name.
    pub init: String,
    /// The env's packages on this host.
    pub packages: Vec<Package>,
}

/// `/etc/os-release`'s fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Os {
    pub id: String,
    pub version_id: String,
    pub pretty_name: String,
}

/// Memory in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Memory {
    pub total: u64,
    pub available: u64,
}

/// One file system: the path asked about, its free and total KiB (`df -Pk`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Disk {
    pub path: String,
    pub free_kib: u64,
    pub size_kib: u64,
}

/// A package of the env on a host: its name, then what the host holds of it, flattened into
/// the same JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Package {
    pub name: String,
    #[serde(flatten)]
    pub held: Held,
}

/// What a host holds of a package, by the env's `install_mode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Held {
    /// dpkg mode: dpkg's state and the history and lock under `/var/lib/dfab/<package>`.
    Dpkg(DpkgPackage),
    /// Release mode: the instance (its `current` and lock), dpkg's state apart.
    Instance(InstancePackage),
}

impl Default for Held {
    fn default() -> Self {
        Held::Dpkg(DpkgPackage::default())
    }
}

/// A package installed through dpkg (`install_mode = 'dpkg'`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DpkgPackage {
    /// dpkg's version, empty when dpkg does not know the package.
    pub version: String,
    /// dpkg's `db:Status-Abbrev` without trailing blanks (`ii`), empty when unknown.
    pub status: String,
    /// The release dfab last installed (its history's last `ok` line), if any.
    pub release: Option<Release>,
    /// The deploy lock.
    pub lock: Lock,
}

/// A release dfab installed: version, when (UTC), by whom, how (`deploy`, `rollback`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Release {
    pub version: String,
    pub at: String,
    pub user: String,
    pub action: String,
}

/// The deploy lock of a package on a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Lock {
    #[default]
    Free,
    Held {
        who: String,
        what: String,
        since: String,
    },
}

/// Parse `dfab-host facts` output (tab-separated `key` lines) for `host`. A line dfab does not
/// know is skipped (a newer host program may say more); a malformed number is an error.
pub fn parse(host: &str, text: &str) -> Result<Facts> {
    let mut f = Facts {
        host: host.to_string(),
        ..Facts::default()
    };
    let bad = |line: &str| Error::Transport {
        host: host.to_string(),
        message: format!("`dfab-host facts` printed a line dfab cannot read: {line:?}"),
        hint: Some("the host program and dfab disagree; run dfab's own version".into()),
    };
    let num = |s: &str, line: &str| s.trim().parse::<u64>().map_err(|_| bad(line));
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let at = |i: usize| fields.get(i).copied().unwrap_or_default().to_string();
        match fields[0] {
            "os" => {
                f.os = Os {
                    id: at(1),
                    version_id: at(2),
                    pretty_name: at(3),
                }
            }
            "kernel" => f.kernel = at(1),
            "arch" => (f.arch, f.dpkg_arch) = (at(1), at(2)),
            "cpus" => f.cpus = u32::try_from(num(&at(1), line)?).map_err(|_| bad(line))?,
            "memory" => {
                f.memory_kib = Memory {
                    total: num(&at(1), line)?,
                    available: num(&at(2), line)?,
                }
            }
            "disk" => f.disks.push(Disk {
                path: at(1),
                free_kib: num(&at(2), line)?,
                size_kib: num(&at(3), line)?,
            }),
            "init" => f.init = at(1),
            "package" => f.packages.push(Package {
                name: at(1),
                held: Held::Dpkg(DpkgPackage {
                    version: at(2),
                    status: at(3).trim_end().to_string(),
                    ..DpkgPackage::default()
                }),
            }),
            "release" | "lock" | "instance" | "current" => {
                let p = f
                    .packages
                    .iter_mut()
                    .find(|p| p.name == at(1))
                    .ok_or_else(|| bad(line))?;
                let lock = || {
                    if at(2) == "held" {
                        Lock::Held {
                            who: at(3),
                            what: at(4),
                            since: at(5),
                        }
                    } else {
                        Lock::Free
                    }
                };
                match (fields[0], &mut p.held) {
                    ("release", Held::Dpkg(d)) => {
                        d.release = Some(Release {
                            version: at(2),
                            at: at(3),
                            user: at(4),
                            action: at(5),
                        });
                    }
                    ("lock", Held::Dpkg(d)) => d.lock = lock(),
                    ("lock", Held::Instance(i)) => i.instance.lock = lock(),
                    ("instance", Held::Dpkg(d)) => {
                        p.held = Held::Instance(InstancePackage {
                            install_mode: "release",
                            instance: instance::Instance {
                                name: at(2),
                                root: at(3),
                                ..instance::Instance::default()
                            },
                            dpkg: instance::Dpkg {
                                version: std::mem::take(&mut d.version),
                                status: std::mem::take(&mut d.status),
                            },
                        });
                    }
                    ("current", Held::Instance(i)) => {
                        let commit = at(3);
                        i.instance.current = Some(instance::Current {
                            version: instance::version_of(&at(2)),
                            release: at(2),
                            commit: (!commit.is_empty() && commit != "-").then_some(commit),
                            at: at(4),
                            user: at(5),
                            action: at(6),
                        });
                    }
                    _ => return Err(bad(line)),
                }
            }
            _ => {}
        }
    }
    Ok(f)
}

/// `facts` over the env's hosts: one host-program call each, then one table (or JSON) of all
/// the hosts that answered; a host that did not is a failure in the summary.
#[derive(Debug)]
pub struct Gather {
    /// The env's packages (as `releases` finds them).
    pub packages: Vec<String>,
    /// In release mode, the instance: its package, name and root (`releases_root`).
    pub instance: Option<(String, String, String)>,
    /// Print JSON instead of the table.
    pub json: bool,
}

impl Gather {
    /// The step's action: `packages` through dpkg, except the package of `rm` (release mode),
    /// read as that instance.
    #[must_use]
    pub fn new(
        packages: Vec<String>,
        rm: Option<&crate::settings::ReleaseMode>,
        json: bool,
    ) -> Arc<Self> {
        let instance = rm.map(|r| (r.package.clone(), r.instance.clone(), r.root.clone()));
        let packages = packages
            .into_iter()
            .filter(|p| instance.as_ref().is_none_or(|(i, _, _)| i != p))
            .collect();
        Arc::new(Gather {
            packages,
            instance,
            json,
        })
    }

    /// `dfab-host facts [--instance <package> <instance> <root>] <package>...`.
    fn args(&self) -> Vec<&str> {
        let mut args = vec!["facts"];
        if let Some((p, i, r)) = &self.instance {
            args.extend(["--instance", p.as_str(), i.as_str(), r.as_str()]);
        }
        args.extend(self.packages.iter().map(String::as_str));
        args
    }
}

impl FleetAction for Gather {
    fn run(&self, eng: &Engine<'_, '_>, hosts: &[String]) -> Result<Vec<(String, Result<String>)>> {
        let rep = eng.cx.rep;
        let cmd = crate::hostside::call(self.args()).sudo(None);
        let read = eng.on_hosts(hosts, &|t: &mut dyn Transport, h: &str| match record::read(
            t,
            rep,
            "sudo",
            cmd.clone(),
        )? {
            Reading::Unknown => Ok(None),
            Reading::Known(out) => {
                let shown = cmd.clone().without_sudo_if_root(t.login_user());
                let out = crate::transport::check(t.host(), &shown, out)?;
                parse(h, &out.stdout_str()).map(Some)
            }
        });
        let mut facts = Vec::new();
        let mut outcomes = Vec::new();
        for (h, r) in read {
            match r {
                Ok(Some(f)) => {
                    facts.push(f);
                    outcomes.push((h, Ok(String::new())));
                }
                Ok(None) => {
                    eng.said(&h, "facts", "would read the host's facts", None);
                    outcomes.push((h, Ok(String::new())));
                }
                Err(e) => outcomes.push((h, Err(e))),
            }
        }
        if self.json && !eng.cx.dry_run {
            // The one thing on stdout (`--json` keeps the console's own lines off it): every
            // host asked, those that failed left out (the error says which, on stderr).
            let text = serde_json::to_string_pretty(&facts).expect("plain data serializes");
            let _ = writeln!(std::io::stdout(), "{text}");
        } else if !facts.is_empty() {
            rep.info(render(&facts).trim_end());
        }
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "os\tdebian\t12\tDebian GNU/Linux 12 (bookworm)\nkernel\t6.1.0-18-amd64\n\
        arch\tx86_64\tamd64\ncpus\t2\nmemory\t4000000\t3000000\ndisk\t/\t100\t200\n\
        disk\t/var/lib/dfab\t90\t200\ninit\tsystemd\npackage\tdjdemo\t1.0\tii \n\
        release\tdjdemo\t1.0\t2026-12-07T05:00:00Z\tann\tdeploy\n\
        lock\tdjdemo\theld\tann@laptop\tdeploy 1.1\t2026-12-07T05:01:00Z\n\
        package\tother\t\t\nlock\tother\tfree\nnew-fact\tlater\n";

    #[test]
    fn the_host_program_s_lines_become_facts() {
        let f = parse("web1", SAMPLE).unwrap();
        assert_eq!(f.os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!((f.arch.as_str(), f.dpkg_arch.as_str()), ("x86_64", "amd64"));
        assert_eq!(f.cpus, 2);
        assert_eq!(f.memory_kib.available, 3_000_000);
        assert_eq!(f.disks[1].path, "/var/lib/dfab");
        let Held::Dpkg(d0) = &f.packages[0].held else {
            panic!("dpkg mode: {f:?}")
        };
        assert_eq!(d0.status, "ii");
        assert_eq!(d0.release.as_ref().unwrap().user, "ann");
        assert!(matches!(&d0.lock, Lock::Held { who, .. } if who == "ann@laptop"));
        let Held::Dpkg(d1) = &f.packages[1].held else {
            panic!("dpkg mode: {f:?}")
        };
        assert_eq!(d1.version, "");
        assert_eq!(d1.lock, Lock::Free);
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["packages"][1]["lock"]["state"], "free");
        assert_eq!(json["packages"][0]["lock"]["state"], "held");
        assert_eq!(
            json["packages"][0]["version"], "1.0",
            "dpkg mode's JSON is as it was"
        );
        assert_eq!(json["packages"][0]["release"]["action"], "deploy");
        let table = render(&[f]);
        assert!(table.contains("Debian GNU/Linux 12 (bookworm)"), "{table}");
        assert!(table.contains("held by ann@laptop"), "{table}");
    }

    // Release mode showed another env's dpkg install (its history and lock under
    // /var/lib/dfab) as the instance's release: the instance's lines now say what it is.
    #[test]
    fn a_release_mode_package_is_its_instance_with_dpkg_apart() {
        let text = "package\tapp\t1.4-1\tii \ninstance\tapp\tstaging\t/srv/app/staging\n\
            current\tapp\t1.0-1-20261207T050000Z\tabc123\t2026-12-07T05:00:00Z\troot\tswitch\n\
            lock\tapp\theld\tann@laptop\tdeploy 1.1\t2026-12-07T05:01:00Z\n";
        let f = parse("web1", text).unwrap();
        let Held::Instance(i) = &f.packages[0].held else {
            panic!("release mode: {f:?}")
        };
        let cur = i.instance.current.as_ref().unwrap();
        assert_eq!(
            (cur.version.as_str(), cur.commit.as_deref()),
            ("1.0-1", Some("abc123"))
        );
        assert!(matches!(&i.instance.lock, Lock::Held { who, .. } if who == "ann@laptop"));
        assert_eq!(i.dpkg.version, "1.4-1");
        let json = serde_json::to_value(&f).unwrap();
        let p = &json["packages"][0];
        assert_eq!(p["install_mode"], "release");
        assert_eq!(
            p["instance"]["current"]["release"],
            "1.0-1-20261207T050000Z"
        );
        assert_eq!(p["instance"]["lock"]["state"], "held");
        assert_eq!(p["dpkg"]["version"], "1.4-1");
        assert!(
            p.get("version").is_none() && p.get("release").is_none(),
            "{p}"
        );
        let table = render(&[f]);
        assert!(table.contains("/srv/app/staging"), "{table}");
        assert!(table.contains("1.0-1-20261207T050000Z"), "{table}");
        assert!(table.contains("not the instance"), "{table}");
        // A `release` line (dpkg mode's history) for an instance is the host program gone wrong.
        let text = "package\tapp\t\t\ninstance\tapp\ts\t/srv/a\nrelease\tapp\t1\tt\tu\tdeploy\n";
        assert!(parse("web1", text).is_err());
    }

    #[test]
    fn a_malformed_number_is_an_error_naming_the_line() {
        let e = parse("web1", "cpus\ttwo\n").unwrap_err();
        assert!(e.to_string().contains("cpus\\ttwo"), "{e}");
    }
}
