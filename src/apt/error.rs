//! What goes wrong in `deb.publish` and `apt.keygen`, as values naming the env key at fault.

use std::path::PathBuf;

/// A failure of the APT repository's tasks, found before the published repository changes.
#[derive(Debug, thiserror::Error)]
pub enum AptError {
    /// `apt_signing_key` names a key file that is not there.
    #[error("apt_signing_key: the key file {} does not exist", path.display())]
    NoKeyFile { path: PathBuf, env: String },
    /// `apt_signing_key` names a file that holds no secret key.
    #[error("apt_signing_key: {} holds no secret key (a public key cannot sign)", path.display())]
    NotSecret { path: PathBuf, env: String },
    /// `apt_signing_key` names a key id the keyring has no secret key for.
    #[error("apt_signing_key: your gpg keyring has no secret key `{id}`")]
    NoSecretKey { id: String, env: String },
    /// The repository was published with another key than `apt_signing_key`'s: the hosts trust
    /// that one, and would refuse every index signed with this one.
    #[error(
        "apt_signing_key: the repository {} is signed with key {published}, and apt_signing_key \
         is key {signer}: the hosts trust the first, so apt would refuse the repository",
        repo.display()
    )]
    WrongKey {
        repo: PathBuf,
        env: String,
        published: String,
        signer: String,
    },
    /// The repository holds another build under a version being published.
    #[error(
        "{package} {version} is in the repository already as another build (sha256 {}), not this \
         one ({}): apt would never fetch it (hosts would keep the old bytes); nothing was published",
        &published[..16.min(published.len())],
        &built[..16.min(built.len())]
    )]
    OtherBuild {
        package: String,
        version: String,
        published: String,
        built: String,
    },
    /// `apt.keygen` would overwrite a key.
    #[error("apt.keygen: {} exists already; nothing was written", path.display())]
    KeyExists { path: PathBuf, env: String },
}

impl crate::error::DomainError for AptError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            AptError::NoKeyFile { env, .. } | AptError::NotSecret { env, .. } => format!(
                "`dfab {env} apt.keygen` makes a signing key and says where its parts go; or \
                 set apt_signing_key to a key id of `gpg --list-secret-keys`"
            ),
            AptError::NoSecretKey { env, .. } => format!(
                "`gpg --list-secret-keys` lists the keys you can sign with; `dfab {env} \
                 apt.keygen` makes one"
            ),
            AptError::WrongKey { env, repo, .. } => format!(
                "set apt_signing_key back to the key that signed it; to change keys on purpose, \
                 remove {}/{}.asc, publish, then run `dfab {env} init` so the hosts trust the \
                 new key",
                repo.display(),
                super::source_name(env)
            ),
            AptError::OtherBuild { .. } => {
                "give the new build a new version (debian/changelog), then publish it".into()
            }
            AptError::KeyExists { .. } => {
                "keep using it, or move it away first to make a new one (the hosts trust the \
                 old key until `init` runs again)"
                    .into()
            }
        })
    }

    fn code(&self) -> u8 {
        match self {
            AptError::OtherBuild { .. } | AptError::KeyExists { .. } => 1,
            _ => 2,
        }
    }
}

crate::domain_error!(AptError);
