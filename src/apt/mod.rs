//! The env's APT repository: publishing builds into it with aptly (`deb.publish`), its signing
//! key (`apt.keygen`), and the source each host installs it from (`init` with
//! `deploy_strategy = 'apt'`). The install itself is `deb.deploy`'s (`deploy::remote`).

pub mod aptly;
mod error;
pub mod gpg;
pub mod keygen;
pub mod publish;
pub mod source;

pub use error::AptError;

/// The name of an env's APT source on its hosts, `dfab-<env>`: the sources file is
/// `/etc/apt/sources.list.d/dfab-<env>.sources`, the key `/etc/apt/keyrings/dfab-<env>.asc`,
/// the aptly repository `dfab-<env>`. Characters a file name should not hold become `-`.
#[must_use]
pub fn source_name(env: &str) -> String {
    let safe: String = env
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("dfab-{safe}")
}

/// Where `init` puts the env's public key on a host.
#[must_use]
pub fn host_key_path(env: &str) -> String {
    format!("/etc/apt/keyrings/{}.asc", source_name(env))
}

/// Where `init` puts the env's sources file on a host.
#[must_use]
pub fn host_sources_path(env: &str) -> String {
    format!("/etc/apt/sources.list.d/{}.sources", source_name(env))
}

#[cfg(test)]
mod tests {
    use super::{host_sources_path, source_name};

    #[test]
    fn the_source_name_is_a_safe_file_name() {
        assert_eq!(source_name("production"), "dfab-production");
        assert_eq!(source_name("eu west/1"), "dfab-eu-west-1");
        assert_eq!(
            host_sources_path("staging"),
            "/etc/apt/sources.list.d/dfab-staging.sources"
        );
    }
}
