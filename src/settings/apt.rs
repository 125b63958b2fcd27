//! `AptRepo`: the env's APT repository (`apt_repo`, `apt_url`, `apt_dist`, `apt_component`,
//! `apt_signing_key`, `apt_keep_versions`) and the delivery half of `deploy_strategy` (push the
//! .deb from here, or have hosts pull it from that repository), read and checked once.

use std::path::{Path, PathBuf};

use crate::environments::Env;
use crate::error::Result;

/// `apt_keep_versions`' default: versions of each package the repository keeps.
pub const DEFAULT_KEEP_VERSIONS: usize = 5;

/// How a package reaches the hosts: one of the two dimensions of `deploy_strategy` (the other
/// is the order, `parallel` or `rolling`, read by the wrapped deploy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// dfab streams the .deb to each host (the default).
    Push,
    /// Each host fetches it from the env's APT repository (`deploy_strategy = 'apt'`).
    Apt,
}

/// The order dimension of `deploy_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Every host at once (bounded by `parallel`), the default.
    Parallel,
    /// `rolling_batch` hosts at a time.
    Rolling,
    /// A `fleet`'s new members beside the old ones, then one balancer switch.
    Bluegreen,
    /// A `fleet`'s members replaced `serial_batch` at a time.
    Serial,
}

/// `deploy_strategy`: comma-separated words, at most one of each dimension: `push` (default)
/// or `apt`, and `parallel` (default) or `rolling`. `'apt'`, `'rolling'` and `'apt,rolling'`
/// are the usual values. An unknown word, or two of one dimension, names the key.
pub fn strategy(env: &Env) -> Result<(Delivery, Order)> {
    let Some(text) = env.str("deploy_strategy") else {
        return Ok((Delivery::Push, Order::Parallel));
    };
    let hint = || {
        Some(
            "one word of each dimension at most, comma-separated: how the package reaches \
             the hosts, 'push' (default) or 'apt', and in what order, 'parallel' (default) or \
             'rolling' ('bluegreen' or 'serial' for a `fleet`); e.g. 'apt,rolling'"
                .to_string(),
        )
    };
    let (mut delivery, mut order) = (None, None);
    for word in text.split(',').map(str::trim) {
        let twice = match word {
            "push" => delivery.replace(Delivery::Push).is_some(),
            "apt" => delivery.replace(Delivery::Apt).is_some(),
            "parallel" => order.replace(Order::Parallel).is_some(),
            "rolling" => order.replace(Order::Rolling).is_some(),
            "bluegreen" => order.replace(Order::Bluegreen).is_some(),
            "serial" => order.replace(Order::Serial).is_some(),
            _ => {
                return Err(env.key_error(
                    "deploy_strategy",
                    format!("unknown word `{word}`"),
                    hint(),
                ))
            }
        };
        if twice {
            return Err(env.key_error(
                "deploy_strategy",
                format!("`{text}` names two values of one dimension"),
                hint(),
            ));
        }
    }
    if delivery == Some(Delivery::Apt) && matches!(order, Some(Order::Bluegreen | Order::Serial)) {
        return Err(env.key_error(
            "deploy_strategy",
            format!("`{text}`: a fleet's members are made from a bake, which installs the build itself; 'apt' does not apply"),
            Some("drop 'apt' for a `fleet` env: 'bluegreen' or 'serial' alone".into()),
        ));
    }
    Ok((
        delivery.unwrap_or(Delivery::Push),
        order.unwrap_or(Order::Parallel),
    ))
}

/// Where the repository lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoPlace {
    /// A directory on this machine (the one a web server serves).
    Local(PathBuf),
    /// `host:path`: a directory on a repository host reached over ssh.
    Remote { host: String, path: String },
}

/// How the repository is signed (`apt_signing_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKey {
    /// A key in the user's gpg keyring: a fingerprint, a long or short key id, or an email.
    Id(String),
    /// An armored or binary secret key file, imported into a throwaway `GNUPGHOME` for each
    /// use (the user's keyring is never touched).
    File(PathBuf),
}

/// The env's APT repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptRepo {
    /// The env's name: the repository is `dfab-<env>`, the hosts' source file
    /// `/etc/apt/sources.list.d/dfab-<env>.sources`.
    pub env: String,
    /// `apt_repo`.
    pub place: Option<RepoPlace>,
    /// `apt_url`: where the hosts fetch it from (`http://`, `https://` or `file:`).
    pub url: Option<String>,
    /// `apt_dist` (default: the env's name).
    pub dist: String,
    /// `apt_component` (default `main`).
    pub component: String,
    /// `apt_signing_key`.
    pub key: Option<SigningKey>,
    /// `apt_keep_versions` (default 5): versions of each package the repository keeps,
    /// counting the newest.
    pub keep: usize,
}

/// A distribution or component name: it becomes a path in the repository and a word of the
/// sources file.
fn check_word(env: &Env, key: &str, v: &str) -> Result<()> {
    let ok = !v.is_empty()
        && !v.starts_with('.')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(env.key_error(
            key,
            format!("`{v}` is not a distribution or component name"),
            Some("letters, digits, `.`, `_` and `-`, e.g. 'stable' or 'main'".into()),
        ))
    }
}

/// Whether `s` reads as a key id or fingerprint (hex, 8 to 40 digits, `0x` allowed) or an
/// email address, rather than a file.
fn looks_like_key_id(s: &str) -> bool {
    let hex = s.strip_prefix("0x").unwrap_or(s);
    let is_hex = (8..=40).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    let is_mail = s.contains('@') && !s.contains('/') && !s.contains(char::is_whitespace);
    is_hex || is_mail
}

impl AptRepo {
    /// Read the settings; a bad value names its key. Paths are taken relative to `project`.
    pub fn from_env(env: &Env, project: &Path) -> Result<AptRepo> {
        let place = match env.str("apt_repo") {
            None => None,
            Some(r) => Some(match r.split_once(':') {
                Some((host, path)) if !host.is_empty() && !host.contains('/') => {
                    if path.is_empty() {
                        return Err(env.key_error(
                            "apt_repo",
                            format!("`{r}` names a host but no directory on it"),
                            Some("'repo.example.com:/srv/apt'".into()),
                        ));
                    }
                    RepoPlace::Remote {
                        host: host.to_string(),
                        path: path.to_string(),
                    }
                }
                _ => RepoPlace::Local(project.join(r)),
            }),
        };
        let url = env.str("apt_url").map(str::to_string);
        if let Some(u) = &url {
            let ok = ["http://", "https://", "file:/"]
                .iter()
                .any(|p| u.starts_with(p))
                && !u.contains(char::is_whitespace);
            if !ok {
                return Err(env.key_error(
                    "apt_url",
                    format!("`{u}` is not an http://, https:// or file:/ URL"),
                    Some(
                        "the URL hosts fetch the repository from, e.g. 'http://10.0.3.1:8080/'"
                            .into(),
                    ),
                ));
            }
        }
        let dist = env.str("apt_dist").unwrap_or(&env.name).to_string();
        check_word(env, "apt_dist", &dist)?;
        let component = env.str("apt_component").unwrap_or("main").to_string();
        check_word(env, "apt_component", &component)?;
        let key = match env.str("apt_signing_key") {
            None => None,
            Some(k) if looks_like_key_id(k) && !project.join(k).exists() => {
                Some(SigningKey::Id(k.to_string()))
            }
            Some(k) if k.contains(char::is_whitespace) || k.starts_with('-') => {
                return Err(env.key_error(
                    "apt_signing_key",
                    format!("`{k}` is neither a key id nor a key file"),
                    Some(
                        "a fingerprint or key id of your gpg keyring, or a secret key file \
                         (`dfab <env> apt.keygen` makes one)"
                            .into(),
                    ),
                ))
            }
            Some(k) => Some(SigningKey::File(project.join(k))),
        };
        Ok(AptRepo {
            env: env.name.clone(),
            place,
            url,
            dist,
            component,
            key,
            keep: env.count("apt_keep_versions", DEFAULT_KEEP_VERSIONS, "versions")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{strategy, AptRepo, Delivery, Order, RepoPlace, SigningKey};
    use crate::settings::testing::env;

    #[test]
    fn the_strategy_is_two_dimensions_one_word_each() {
        let s = |v: &str| strategy(&env(&format!("'deploy_strategy': '{v}',")));
        assert_eq!(
            strategy(&env("'hosts': ['h'],")).unwrap(),
            (Delivery::Push, Order::Parallel)
        );
        assert_eq!(s("apt").unwrap(), (Delivery::Apt, Order::Parallel));
        assert_eq!(s("rolling").unwrap(), (Delivery::Push, Order::Rolling));
        assert_eq!(s("apt, rolling").unwrap(), (Delivery::Apt, Order::Rolling));
        assert_eq!(
            s("parallel,push").unwrap(),
            (Delivery::Push, Order::Parallel)
        );
        let err = s("apt,push").unwrap_err().to_string();
        assert!(err.contains("names two values of one dimension"), "{err}");
        let err = s("pull").unwrap_err().to_string();
        assert!(
            err.starts_with("environments.py:3:") && err.contains("unknown word `pull`"),
            "{err}"
        );
    }

    #[test]
    fn defaults_and_values() {
        let p = Path::new("/p");
        let r = AptRepo::from_env(&env("'hosts': ['h'],"), p).unwrap();
        assert_eq!(
            (
                r.place,
                r.dist.as_str(),
                r.component.as_str(),
                r.keep,
                r.key
            ),
            (None, "production", "main", 5, None)
        );
        let r = AptRepo::from_env(
            &env(
                "'apt_repo': 'repo.example.com:/srv/apt', 'apt_url': 'http://10.0.3.1:81/',\n\
                  'apt_dist': 'stable', 'apt_component': 'web', 'apt_keep_versions': 2,\n\
                  'apt_signing_key': '0xDEADBEEFCAFE1234',",
            ),
            p,
        )
        .unwrap();
        assert_eq!(
            r.place,
            Some(RepoPlace::Remote {
                host: "repo.example.com".into(),
                path: "/srv/apt".into()
            })
        );
        assert_eq!(r.key, Some(SigningKey::Id("0xDEADBEEFCAFE1234".into())));
        assert_eq!(
            (r.dist.as_str(), r.component.as_str(), r.keep),
            ("stable", "web", 2)
        );
        let r = AptRepo::from_env(
            &env("'apt_repo': 'apt/', 'apt_signing_key': 'keys/prod.key',"),
            p,
        )
        .unwrap();
        assert_eq!(r.place, Some(RepoPlace::Local("/p/apt/".into())));
        assert_eq!(r.key, Some(SigningKey::File("/p/keys/prod.key".into())));
    }

    #[test]
    fn bad_values_name_their_key_and_line() {
        let p = Path::new("/p");
        let err = |body: &str| AptRepo::from_env(&env(body), p).unwrap_err().to_string();
        let e = err("'hosts': ['h'],\n'apt_url': 'ftp://x/',");
        assert!(
            e.starts_with("environments.py:4:") && e.contains("`production.apt_url`"),
            "{e}"
        );
        let e = err("'apt_dist': '../etc',");
        assert!(e.contains("not a distribution or component name"), "{e}");
        let e = err("'apt_signing_key': 'my key',");
        assert!(e.contains("neither a key id nor a key file"), "{e}");
        let e = err("'apt_repo': 'host:',");
        assert!(e.contains("names a host but no directory"), "{e}");
    }
}
