//! aptly, as dfab drives it: a dedicated configuration and database under the repository
//! directory (`<apt_repo>/.aptly/`, so the user's `~/.aptly.conf` and `~/.aptly` are never
//! read or written), publishing into the repository directory itself through a filesystem
//! endpoint, so `<apt_repo>/dists/` and `<apt_repo>/pool/` are what a web server serves.

use std::path::{Path, PathBuf};

use crate::transport::cmd::Cmd;

/// The architectures every publish lists (an `all` package is in each one's index); a
/// package built for another architecture adds its own on the first publish.
pub const ARCHITECTURES: &[&str] = &["amd64", "arm64"];

/// The filesystem endpoint that is the repository directory.
const ENDPOINT: &str = "filesystem:dfab:.";

/// One env's repository in aptly's terms.
#[derive(Debug, Clone)]
pub struct Aptly {
    /// The repository directory (`apt_repo`): what a web server serves.
    pub dir: PathBuf,
    /// aptly's local repository, `dfab-<env>`; its snapshots are `dfab-<env>-<time>`.
    pub repo: String,
    /// `apt_dist`.
    pub dist: String,
    /// `apt_component`.
    pub component: String,
}

impl Aptly {
    /// aptly's own directory, `<dir>/.aptly` (the web server refuses dot files).
    #[must_use]
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join(".aptly")
    }

    /// The configuration file dfab writes there.
    #[must_use]
    pub fn config_path(&self) -> PathBuf {
        self.state_dir().join("aptly.conf")
    }

    /// The configuration: aptly's database and pool under [`Self::state_dir`], publishing
    /// into the repository directory (hard links to the pool).
    #[must_use]
    pub fn config_text(&self) -> String {
        let conf = serde_json::json!({
            "rootDir": self.state_dir(),
            "gpgProvider": "gpg",
            "gpgDisableSign": false,
            "gpgDisableVerify": false,
            "downloadSourcePackages": false,
            "skipContentsPublishing": true,
            "FileSystemPublishEndpoints": {
                "dfab": { "rootDir": self.dir, "linkMethod": "hardlink" }
            }
        });
        format!("{conf:#}\n")
    }

    /// `aptly -config=<ours> <args>`.
    #[must_use]
    pub fn cmd<S: Into<String>>(&self, args: impl IntoIterator<Item = S>) -> Cmd {
        Cmd::new(
            "aptly",
            [format!("-config={}", self.config_path().display())],
        )
        .args(args)
    }

    /// Whether the local repository exists.
    #[must_use]
    pub fn repo_show(&self) -> Cmd {
        self.cmd(["repo", "show", &self.repo])
    }

    /// Create the local repository.
    #[must_use]
    pub fn repo_create(&self) -> Cmd {
        self.cmd([
            "repo".to_string(),
            "create".into(),
            format!("-distribution={}", self.dist),
            format!("-component={}", self.component),
            self.repo.clone(),
        ])
    }

    /// The versions of `package` the repository holds, one a line.
    #[must_use]
    pub fn versions(&self, package: &str) -> Cmd {
        self.cmd([
            "repo",
            "search",
            "-format={{.Version}}",
            &self.repo,
            &format!("Name (= {package})"),
        ])
    }

    /// aptly's record of `package` `version` (its `SHA256:` line is the build's).
    #[must_use]
    pub fn show(&self, package: &str, version: &str) -> Cmd {
        self.cmd(["package", "show", &format!("{package} (= {version})")])
    }

    /// Add a .deb to the repository.
    #[must_use]
    pub fn add(&self, deb: &Path) -> Cmd {
        self.cmd([
            "repo".to_string(),
            "add".into(),
            self.repo.clone(),
            deb.display().to_string(),
        ])
    }

    /// Remove `package` `version` from the repository (its file goes at the next cleanup).
    #[must_use]
    pub fn remove(&self, package: &str, version: &str) -> Cmd {
        self.cmd([
            "repo".to_string(),
            "remove".into(),
            self.repo.clone(),
            format!("{package} (= {version})"),
        ])
    }

    /// A snapshot of the repository as it is.
    #[must_use]
    pub fn snapshot(&self, name: &str) -> Cmd {
        self.cmd(["snapshot", "create", name, "from", "repo", &self.repo])
    }

    /// The snapshots, one name a line.
    #[must_use]
    pub fn snapshots(&self) -> Cmd {
        self.cmd(["snapshot", "list", "-raw"])
    }

    /// Drop a snapshot.
    #[must_use]
    pub fn drop_snapshot(&self, name: &str) -> Cmd {
        self.cmd(["snapshot", "drop", name])
    }

    /// What is published, one `prefix distribution` a line.
    #[must_use]
    pub fn published(&self) -> Cmd {
        self.cmd(["publish", "list", "-raw"])
    }

    /// The published distribution's details (`main: <snapshot> [snapshot]`).
    #[must_use]
    pub fn publish_show(&self) -> Cmd {
        self.cmd(["publish", "show", &self.dist, ENDPOINT])
    }

    /// Whether `publish list -raw`'s output holds this distribution.
    #[must_use]
    pub fn is_published(&self, list: &str) -> bool {
        list.lines().any(|l| {
            let mut w = l.split_whitespace();
            w.next() == Some(ENDPOINT) && w.next() == Some(self.dist.as_str())
        })
    }

    /// The first publish of `snapshot`, signed by `fingerprint`, for `archs`.
    #[must_use]
    pub fn publish_first(&self, snapshot: &str, fingerprint: &str, archs: &[String]) -> Cmd {
        self.cmd([
            "publish".to_string(),
            "snapshot".into(),
            "-batch".into(),
            format!("-architectures={}", archs.join(",")),
            format!("-distribution={}", self.dist),
            format!("-component={}", self.component),
            "-origin=dfab".into(),
            format!("-label={}", self.repo),
            format!("-gpg-key={fingerprint}"),
            snapshot.into(),
            ENDPOINT.into(),
        ])
    }

    /// Switch the published distribution to `snapshot`, atomically, signed by `fingerprint`.
    #[must_use]
    pub fn publish_switch(&self, snapshot: &str, fingerprint: &str) -> Cmd {
        self.cmd([
            "publish".to_string(),
            "switch".into(),
            "-batch".into(),
            format!("-gpg-key={fingerprint}"),
            format!("-component={}", self.component),
            self.dist.clone(),
            ENDPOINT.into(),
            snapshot.into(),
        ])
    }

    /// Drop what no repository or snapshot references any more (pruned versions' files).
    #[must_use]
    pub fn cleanup(&self) -> Cmd {
        self.cmd(["db", "cleanup"])
    }
}

/// The `SHA256:` values of `aptly package show` output.
#[must_use]
pub fn sha256s(show: &str) -> Vec<String> {
    show.lines()
        .filter_map(|l| l.strip_prefix("SHA256: "))
        .map(|s| s.trim().to_string())
        .collect()
}

/// The snapshot `publish show` names for `component`.
#[must_use]
pub fn published_snapshot(show: &str, component: &str) -> Option<String> {
    show.lines().find_map(|l| {
        let rest = l.trim().strip_prefix(&format!("{component}: "))?;
        rest.split_whitespace().next().map(String::from)
    })
}

#[cfg(test)]
mod tests {
    use super::{published_snapshot, sha256s, Aptly};

    fn aptly() -> Aptly {
        Aptly {
            dir: "/srv/apt".into(),
            repo: "dfab-prod".into(),
            dist: "prod".into(),
            component: "main".into(),
        }
    }

    #[test]
    fn commands_use_the_repository_s_own_config_and_endpoint() {
        let a = aptly();
        assert_eq!(
            a.publish_switch("dfab-prod-1", "ABCD").to_string(),
            "aptly -config=/srv/apt/.aptly/aptly.conf publish switch -batch -gpg-key=ABCD \
             -component=main prod filesystem:dfab:. dfab-prod-1"
        );
        assert_eq!(
            a.show("app", "1.0").to_string(),
            "aptly -config=/srv/apt/.aptly/aptly.conf package show 'app (= 1.0)'"
        );
        let conf: serde_json::Value = serde_json::from_str(&a.config_text()).unwrap();
        assert_eq!(conf["rootDir"], "/srv/apt/.aptly");
        assert_eq!(
            conf["FileSystemPublishEndpoints"]["dfab"]["rootDir"],
            "/srv/apt"
        );
        assert!(a.is_published("filesystem:dfab:. prod\n"));
        assert!(!a.is_published("filesystem:dfab:. staging\n"));
    }

    #[test]
    fn aptly_s_output_is_read() {
        assert_eq!(
            sha256s("Package: a\nSHA256: abc\nSHA512: x\n\nSHA256: def\n"),
            ["abc", "def"]
        );
        let show = "Prefix: .\nDistribution: prod\nSources:\n  main: dfab-prod-2 [snapshot]\n";
        assert_eq!(
            published_snapshot(show, "main").as_deref(),
            Some("dfab-prod-2")
        );
    }
}
