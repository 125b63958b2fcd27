//! The host's Debian architecture, whether a package's `Architecture` field builds here, and
//! whether a relation's architecture restriction (`[amd64 !i386]`) concerns it.

use super::cmd::{Cmd, RunLocal as _};

/// The Debian name of the architecture dfab was compiled for, else `dpkg --print-architecture`.
#[must_use]
pub(crate) fn host() -> String {
    let known = match (std::env::consts::ARCH, cfg!(target_endian = "little")) {
        ("x86_64", _) => Some("amd64"),
        ("x86", _) => Some("i386"),
        ("aarch64", _) => Some("arm64"),
        ("arm", _) => Some("armhf"),
        ("powerpc64", true) => Some("ppc64el"),
        ("riscv64", _) => Some("riscv64"),
        ("s390x", _) => Some("s390x"),
        ("loongarch64", _) => Some("loong64"),
        _ => None,
    };
    if let Some(arch) = known {
        return arch.to_owned();
    }
    Cmd::of("dpkg")
        .arg("--print-architecture")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(
            || std::env::consts::ARCH.to_owned(),
            |s| s.trim().to_owned(),
        )
}

/// The architecture to build `field` (`all`, `any`, `linux-any`, `amd64 arm64`, ...) for on
/// `host`, or `None` when the package is not for this host.
#[must_use]
pub(crate) fn resolve(field: &str, host: &str) -> Option<String> {
    let words: Vec<&str> = field.split_whitespace().collect();
    if words.contains(&"all") {
        return Some("all".to_owned());
    }
    let matches = words.iter().any(|w| {
        *w == "any"
            || *w == host
            || *w == "linux-any"
            || *w == format!("linux-{host}")
            || *w == format!("any-{host}")
    });
    matches.then(|| host.to_owned())
}

/// The dpkg tuple (abi, libc, os, cpu) of the architectures dfab knows (from dpkg's
/// `tupletable`: `base-gnu-linux-<cpu>` for a plain cpu name).
fn tuple(arch: &str) -> Option<[&'static str; 4]> {
    Some(match arch {
        "amd64" => ["base", "gnu", "linux", "amd64"],
        "i386" => ["base", "gnu", "linux", "i386"],
        "arm64" => ["base", "gnu", "linux", "arm64"],
        "armhf" => ["eabihf", "gnu", "linux", "arm"],
        "armel" => ["eabi", "gnu", "linux", "arm"],
        "ppc64el" => ["base", "gnu", "linux", "ppc64el"],
        "riscv64" => ["base", "gnu", "linux", "riscv64"],
        "s390x" => ["base", "gnu", "linux", "s390x"],
        "loong64" => ["base", "gnu", "linux", "loong64"],
        "mips64el" => ["abi64", "gnu", "linux", "mips64el"],
        _ => return None,
    })
}

/// `Dpkg::Arch::debarch_is`: whether the architecture or wildcard `alias` includes `host`, whose
/// tuple is `host_tuple`.
fn arch_is(host: &str, host_tuple: [&str; 4], alias: &str) -> bool {
    if alias == host || alias == "any" {
        return true;
    }
    let parts: Vec<&str> = alias.splitn(4, '-').collect();
    if parts.contains(&"any") {
        let pad = 4 - parts.len();
        return (0..4)
            .all(|i| i < pad || parts[i - pad] == "any" || parts[i - pad] == host_tuple[i]);
    }
    // A plain name: dpkg's tuples are one per name, so only the host's own names match (dpkg
    // reads `linux-<name>...` as `<name>`).
    alias
        .strip_prefix("linux-")
        .is_some_and(|rest| rest.split('-').next() == Some(host))
}

/// `Dpkg::Arch::debarch_is_concerned`: whether a relation restricted to `arches` applies on
/// `host`; `None` when dfab does not know the host's tuple to match wildcards against.
#[must_use]
pub(crate) fn is_concerned(host: &str, arches: &[String]) -> Option<bool> {
    let host_tuple = tuple(host)?;
    let mut seen = false;
    for arch in arches {
        let arch = arch.to_ascii_lowercase();
        if let Some(not) = arch.strip_prefix('!') {
            if arch_is(host, host_tuple, not) {
                return Some(false);
            }
            // `!arch` includes every other architecture.
            seen = true;
        } else if arch_is(host, host_tuple, &arch) {
            return Some(true);
        }
    }
    Some(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert_eq!(resolve("all", "amd64").as_deref(), Some("all"));
        assert_eq!(resolve("any", "amd64").as_deref(), Some("amd64"));
        assert_eq!(resolve("arm64 amd64", "amd64").as_deref(), Some("amd64"));
        assert_eq!(resolve("arm64", "amd64"), None);
    }

    #[test]
    fn restrictions_as_dpkg_reads_them() {
        let on = |host: &str, list: &str| {
            let words: Vec<String> = list.split_whitespace().map(str::to_owned).collect();
            is_concerned(host, &words)
        };
        assert_eq!(on("amd64", "amd64"), Some(true));
        assert_eq!(on("amd64", "i386 arm64"), Some(false));
        assert_eq!(on("amd64", "!i386"), Some(true));
        assert_eq!(on("amd64", "!amd64"), Some(false));
        assert_eq!(on("amd64", "!i386 amd64"), Some(true));
        assert_eq!(on("amd64", "AMD64"), Some(true));
        assert_eq!(on("amd64", "linux-any"), Some(true));
        assert_eq!(on("amd64", "any-amd64"), Some(true));
        assert_eq!(on("amd64", "linux-amd64"), Some(true));
        assert_eq!(on("amd64", "any-i386"), Some(false));
        assert_eq!(on("amd64", "kfreebsd-any"), Some(false));
        assert_eq!(on("amd64", "x32"), Some(false));
        assert_eq!(on("armhf", "any-arm"), Some(true));
        assert_eq!(on("armhf", "eabihf-any-any-any"), Some(true));
        assert_eq!(on("armhf", "gnueabihf-any"), Some(false));
        assert_eq!(on("amd64", "musl-any-any"), Some(false));
        assert_eq!(on("amd64", "gnu-any-any"), Some(true));
        assert_eq!(on("amd64", "!any-amd64"), Some(false));
        assert_eq!(on("amd64", ""), Some(false));
        assert_eq!(on("sparc64", "amd64"), None);
    }
}
