//! `Shipping`: where built packages are kept (`package_dir`) and how `deb.deploy` and `rollback`
//! install them (`debconf`, `deb_conffiles`, `keep_releases`, `allow_downgrade`).

use std::path::{Path, PathBuf};

use crate::deploy::debconf_db::KeyAt;
use crate::environments::Env;
use crate::error::Result;
use crate::releases::DEFAULT_KEEP;

/// The env's shipping settings, paths resolved against the project directory.
#[derive(Debug, Clone)]
pub struct Shipping {
    /// Where the .debs and the build record are (`package_dir`).
    pub package_dir: PathBuf,
    /// The `debconf` file, and where the env names it (for a missing file's error).
    pub debconf: Option<(PathBuf, KeyAt)>,
    /// The debconf answers as read from outside the project (`from_env`, `from_file`,
    /// `from_command`, or the `.age` file decrypted in memory): the database text.
    pub debconf_text: Option<crate::secret::Secret>,
    /// `deb_conffiles = 'new'`: install the package's conffiles over local changes.
    pub conffiles_new: bool,
    /// `keep_releases`: releases kept on each host.
    pub keep: usize,
    /// `allow_downgrade`: `deb.deploy` may install a lower version than a host has.
    pub allow_downgrade: bool,
}

/// Where the .debs and the build record go (`package_dir`, relative to `project`; dragonfab's
/// default: the project's parent directory, where dpkg-buildpackage leaves packages).
#[must_use]
pub fn package_dir(env: &Env, project: &Path) -> PathBuf {
    match env.str("package_dir") {
        Some(d) => project.join(d),
        None => project
            .canonicalize()
            .unwrap_or_else(|_| project.to_path_buf())
            .parent()
            .map_or_else(|| project.to_path_buf(), PathBuf::from),
    }
}

impl Shipping {
    /// Read the settings; an unknown `deb_conffiles` or a bad `keep_releases` names its key.
    pub fn from_env(env: &Env, project: &Path) -> Result<Shipping> {
        let conffiles_new = match env.str("deb_conffiles") {
            None | Some("old") => false,
            Some("new") => true,
            Some(other) => {
                return Err(env.key_error(
                    "deb_conffiles",
                    format!("unknown value `{other}`"),
                    Some(
                        "'old' (default: keep local changes) or 'new' (install the package's)"
                            .into(),
                    ),
                ))
            }
        };
        let keep = env.count("keep_releases", DEFAULT_KEEP, "releases")?;
        let debconf = env.str("debconf").map(|d| {
            let at = KeyAt {
                file: env.file.clone(),
                pos: env
                    .vars
                    .get("debconf")
                    .map(|v| v.pos)
                    .filter(|p| p.line > 0),
                key: format!("{}.debconf", env.name),
            };
            (project.join(d), at)
        });
        Ok(Shipping {
            package_dir: package_dir(env, project),
            debconf,
            debconf_text: env.external.get("debconf").cloned(),
            conffiles_new,
            keep,
            allow_downgrade: env.bool("allow_downgrade").unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::Shipping;
    use crate::releases::DEFAULT_KEEP;
    use crate::settings::testing::env;

    #[test]
    fn defaults_and_set_values() {
        let project = tempfile::tempdir().unwrap();
        let dir = project.path().join("app");
        fs_err::create_dir(&dir).unwrap();
        let s = Shipping::from_env(&env("'hosts': ['h'],"), &dir).unwrap();
        assert_eq!(s.package_dir, project.path().canonicalize().unwrap());
        assert!(s.debconf.is_none());
        assert!(!s.conffiles_new);
        assert_eq!(s.keep, DEFAULT_KEEP);
        let e = env("'package_dir': 'dist/',\n'debconf': 'answers.dat',\n'deb_conffiles': 'new',\n'keep_releases': 3,");
        let s = Shipping::from_env(&e, Path::new("/p")).unwrap();
        // Activation made both absolute against the project (the file's directory here), so
        // the current directory never decides which file is meant (issue 19, kind 7).
        let abs = |k: &str| Path::new(e.str(k).unwrap()).to_path_buf();
        assert!(abs("package_dir").is_absolute());
        assert!(abs("package_dir").ends_with("dist"));
        assert_eq!(s.package_dir, abs("package_dir"));
        let (file, at) = s.debconf.unwrap();
        assert!(abs("debconf").ends_with("answers.dat"));
        assert_eq!(file, abs("debconf"));
        assert_eq!(
            (at.pos.unwrap().line, at.key.as_str()),
            (4, "production.debconf")
        );
        assert!(s.conffiles_new);
        assert_eq!(s.keep, 3);
    }

    #[test]
    fn bad_values_name_their_key_and_line() {
        let p = Path::new("/p");
        let err = Shipping::from_env(&env("'hosts': ['h'],\n'deb_conffiles': 'mine',"), p)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("environments.py:4:"), "{err}");
        assert!(
            err.contains("key `production.deb_conffiles`: unknown value `mine`"),
            "{err}"
        );
    }
}
