//! The table `facts` prints: one row per host, then one row per host and package installed
//! through dpkg, then one per host and release-mode instance.

use std::fmt::Write as _;

use super::{Facts, Held, Lock};

/// KiB as a short size: `512 KiB`, `3.8 GiB`.
fn size(kib: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // a size to one decimal
    let k = kib as f64;
    if kib >= 1 << 20 {
        format!("{:.1} GiB", k / f64::from(1u32 << 20))
    } else if kib >= 1 << 10 {
        format!("{:.1} MiB", k / 1024.0)
    } else {
        format!("{kib} KiB")
    }
}

/// Rows as aligned columns (two spaces between), the header first.
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            let _ = write!(line, "{c:w$}  ", w = widths[i]);
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// The hosts' facts as two tables: the machines, then the env's packages on each.
#[must_use]
pub fn render(facts: &[Facts]) -> String {
    let mut hosts = vec![[
        "host",
        "os",
        "kernel",
        "arch",
        "cpus",
        "memory free/total",
        "disk free",
        "init",
    ]
    .map(String::from)
    .to_vec()];
    for f in facts {
        let disks: Vec<String> = f
            .disks
            .iter()
            .map(|d| format!("{} {}", d.path, size(d.free_kib)))
            .collect();
        hosts.push(vec![
            f.host.clone(),
            f.os.pretty_name.clone(),
            f.kernel.clone(),
            if f.dpkg_arch.is_empty() {
                f.arch.clone()
            } else {
                format!("{} ({})", f.arch, f.dpkg_arch)
            },
            f.cpus.to_string(),
            format!(
                "{}/{}",
                size(f.memory_kib.available),
                size(f.memory_kib.total)
            ),
            disks.join(", "),
            f.init.clone(),
        ]);
    }
    let mut out = columns(&hosts);
    let mut pkgs = vec![["host", "package", "dpkg", "dfab release", "deploy lock"]
        .map(String::from)
        .to_vec()];
    let mut insts = vec![[
        "host",
        "package",
        "instance",
        "releases root",
        "current release",
        "instance lock",
        "dpkg (host-wide, not the instance)",
    ]
    .map(String::from)
    .to_vec()];
    for f in facts {
        for p in &f.packages {
            match &p.held {
                Held::Dpkg(d) => {
                    let release = d.release.as_ref().map_or_else(
                        || "none".to_string(),
                        |r| format!("{} ({} by {}, {})", r.version, r.action, r.user, r.at),
                    );
                    pkgs.push(vec![
                        f.host.clone(),
                        p.name.clone(),
                        dpkg(&d.version, &d.status),
                        release,
                        lock(&d.lock),
                    ]);
                }
                Held::Instance(i) => {
                    let current = i.instance.current.as_ref().map_or_else(
                        || "none".to_string(),
                        |c| {
                            let mut s = c.release.clone();
                            if let Some(k) = &c.commit {
                                s = format!("{s} (commit {k})");
                            }
                            if !c.action.is_empty() {
                                s = format!("{s} ({} by {}, {})", c.action, c.user, c.at);
                            }
                            s
                        },
                    );
                    insts.push(vec![
                        f.host.clone(),
                        p.name.clone(),
                        i.instance.name.clone(),
                        i.instance.root.clone(),
                        current,
                        lock(&i.instance.lock),
                        dpkg(&i.dpkg.version, &i.dpkg.status),
                    ]);
                }
            }
        }
    }
    if pkgs.len() > 1 {
        out.push('\n');
        out.push_str(&columns(&pkgs));
    }
    if insts.len() > 1 {
        out.push('\n');
        out.push_str(&columns(&insts));
    }
    out
}

/// dpkg's state as a cell: `ii 1.0-1`, or `not installed`.
fn dpkg(version: &str, status: &str) -> String {
    if version.is_empty() {
        "not installed".to_string()
    } else {
        format!("{status} {version}")
    }
}

/// A deploy lock as a cell.
fn lock(l: &Lock) -> String {
    match l {
        Lock::Free => "free".to_string(),
        Lock::Held { who, what, since } => format!("held by {who} since {since}: {what}"),
    }
}
