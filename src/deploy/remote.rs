//! The commands `deb.deploy` and `rollback` run on a host, as values, and what their output says.

use crate::releases::{releases_dir, state_dir};
use crate::transport::cmd::{quote, Cmd};

/// Tools the install needs on the host.
const TOOLS: &[&str] = &[
    "apt-get",
    "dpkg-query",
    "dpkg-deb",
    "flock",
    "sha256sum",
    "mktemp",
];

/// Preflight on a host: root through `sudo -n` (never prompting), and the tools present.
#[must_use]
pub fn preflight() -> Cmd {
    Cmd::shell(format!(
        "id -u; for t in {}; do command -v \"$t\" >/dev/null || echo \"missing $t\"; done",
        TOOLS.join(" ")
    ))
    .sudo(None)
}

/// Make the package's directories and print the sha256 of the release already there, if any.
#[must_use]
pub fn upload_check(package: &str, file: &str) -> Cmd {
    Cmd::shell(format!(
        "install -d -m 0755 {d} {r} && {{ sha256sum {f} 2>/dev/null || true; }}",
        d = quote(&state_dir(package)),
        r = quote(&releases_dir(package)),
        f = quote(&format!("{}/{file}", releases_dir(package))),
    ))
    .sudo(None)
}

/// Where a release lives on the host.
#[must_use]
pub fn release_path(package: &str, file: &str) -> String {
    format!("{}/{file}", releases_dir(package))
}

/// How to install. Four independent switches, as apt-get's options are.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallOpts {
    /// `deb_conffiles = 'new'`: the package's conffiles replace local changes.
    pub conffiles_new: bool,
    /// Reinstall an identical version (`force=yes`).
    pub reinstall: bool,
    /// Rollback: a lower version is expected.
    pub downgrade: bool,
    /// The debconf database arrives on stdin.
    pub debconf: bool,
}

/// apt options for a plan from the installed packages alone: no sources, no cache written.
const NO_SOURCES: &str = "-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=/dev/null \
     -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=";

/// Exit status of the install script when another deploy holds the package's lock.
pub const LOCKED: i32 = 75;

/// Install the uploaded release non-interactively, under the package's lock. With `debconf`,
/// the database is read from stdin into a root-only temp directory that is removed on exit,
/// whatever happens.
///
/// `apt-get install` of a local .deb re-reads the host's package lists and rewrites its caches
/// (about a second per host, six times `dpkg -i`). So apt first plans the install with no sources
/// at all (about 0.1 s): when that plan is exactly "install this package" (every dependency
/// already installed, nothing removed or upgraded), `dpkg -i` does the install with the same
/// options; otherwise `apt-get install` resolves Depends from the host's sources, as always.
#[must_use]
pub fn install(package: &str, file: &str, o: InstallOpts) -> Cmd {
    let d = quote(&state_dir(package));
    let mut s = format!(
        "set -e; d={d}; exec 9>\"$d/lock\"; \
         if ! flock -n 9; then echo \"dfab: another deploy of {p} holds $d/lock\" >&2; exit {LOCKED}; fi; \
         rm -rf \"$d\"/debconf.*; umask 077; ",
        p = quote(package)
    );
    let mut env = "DEBIAN_FRONTEND=noninteractive".to_string();
    if o.debconf {
        // A root-only directory, removed whole: debconf also writes `<file>-old` beside it.
        s.push_str(
            "t=$(mktemp -d \"$d/debconf.XXXXXXXX\"); trap 'rm -rf \"$t\"' EXIT; cat > \"$t/db\"; ",
        );
        env.push_str(" DEBCONF_DB_OVERRIDE=\"File{$t/db}\"");
    }
    let conf = if o.conffiles_new {
        "force-confnew"
    } else {
        "force-confold"
    };
    let flags = format!(
        "{}{}",
        if o.downgrade {
            " --allow-downgrades"
        } else {
            ""
        },
        if o.reinstall { " --reinstall" } else { "" }
    );
    let _ = std::fmt::Write::write_fmt(
        &mut s,
        format_args!(
            "umask 022; f={f}; \
             plan=$(apt-get -s -q {NO_SOURCES}{flags} install \"$f\" 2>&1) && \
             printf '%s\\n' \"$plan\" | grep -qE '^Inst {re} ' && \
             ! printf '%s\\n' \"$plan\" | grep -E '^(Inst|Remv|Purg|Conf) ' | grep -qvE '^(Inst|Conf) {re} ' && \
             fast=1 || fast=0; \
             if [ $fast = 1 ]; then echo 'dfab: every dependency is installed: dpkg -i'; \
             {env} dpkg -i --force-confdef --{conf} \"$f\" </dev/null 2>&1; \
             else {env} apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--{conf}{flags} \"$f\" </dev/null 2>&1; fi",
            f = quote(&release_path(package, file)),
            re = ere_literal(package),
        ),
    );
    Cmd::shell(s).sudo(None)
}

/// A checked package name (`[a-z0-9][a-z0-9.+-]*`) as an extended regex matching itself, safe
/// inside single quotes.
fn ere_literal(package: &str) -> String {
    let mut out = String::with_capacity(package.len() + 4);
    for c in package.chars() {
        if matches!(c, '.' | '+') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The conffiles dpkg kept (`--force-confold`), from the install's output.
#[must_use]
pub fn kept_conffiles(output: &str) -> Vec<String> {
    let mut last: Option<&str> = None;
    let mut kept = Vec::new();
    for line in output.lines() {
        if let Some(rest) = line.trim().strip_prefix("Configuration file '") {
            last = rest.strip_suffix('\'');
        } else if line.contains("Keeping old config file as default") {
            if let Some(f) = last.take() {
                kept.push(f.to_string());
            }
        }
    }
    kept
}

/// The last lines of some output, for an error.
#[must_use]
pub fn tail(output: &str, n: usize) -> String {
    let lines: Vec<&str> = output.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_script_quotes_and_cleans_up() {
        let c = install(
            "app",
            "app_1.0_all.deb",
            InstallOpts {
                conffiles_new: false,
                reinstall: false,
                downgrade: true,
                debconf: true,
            },
        );
        let s = c.to_shell();
        assert!(s.starts_with("sudo -n -H -- sh -c "), "{s}");
        assert!(s.contains("trap"), "{s}");
        assert!(s.contains("--force-confold"), "{s}");
        assert!(s.contains("--allow-downgrades"), "{s}");
        assert!(
            s.contains("/var/lib/dfab/app/releases/app_1.0_all.deb"),
            "{s}"
        );
    }

    #[test]
    fn the_dpkg_fast_path_is_planned_by_apt_without_sources() {
        let c = install(
            "g++-app",
            "g++-app_1.0_all.deb",
            InstallOpts {
                conffiles_new: true,
                reinstall: true,
                downgrade: false,
                debconf: false,
            },
        );
        let s = c.to_shell();
        assert!(s.contains("Dir::Etc::SourceList=/dev/null"), "{s}");
        assert!(s.contains("apt-get -s -q"), "{s}");
        assert!(s.contains("g\\+\\+-app "), "{s}");
        assert!(s.contains("dpkg -i --force-confdef --force-confnew"), "{s}");
        assert!(s.contains("--force-confnew --reinstall"), "{s}");
        assert_eq!(ere_literal("a.b+c-d"), "a\\.b\\+c-d");
    }

    #[test]
    fn kept_conffiles_from_dpkg_output() {
        let out = "Setting up app ...\n\nConfiguration file '/etc/app.conf'\n ==> Modified (by you or by a script) since installation.\n ==> Package distributor has shipped an updated version.\n ==> Keeping old config file as default.\nConfiguration file '/etc/b'\n ==> Installing new config file as you requested.\n";
        assert_eq!(kept_conffiles(out), ["/etc/app.conf"]);
    }
}
