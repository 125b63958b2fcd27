//! The host's Debian architecture, and whether a package's `Architecture` field builds here.

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
}
