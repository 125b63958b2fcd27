//! The fault suite (issue 19): one test per kind of fault a real deploy meets, on real
//! containers, sshd, postgres and nginx. Each test pins the right behaviour of a whole kind,
//! named by its number in the issue; the install tests run once per [`Strategy`].

mod database;
mod install;
mod media;
mod recovery;
mod secrets;
mod transport;
mod web;

use std::path::{Path, PathBuf};

use crate::support::{copy_tree, deploy_app_fixture, project, Dfab, Outcome, TestHost, KEY};

/// How a release reaches a host. A fault test that installs runs once for each of
/// [`Strategy::ALL`], so a strategy that lands (APT, release mode, container fleets) is held to
/// the same suite by adding it here and its settings to [`Strategy::toml`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// The .deb is put on each host over ssh and installed with `dpkg -i` (today's default).
    DpkgPush,
    /// Release mode (`install_mode = 'release'`, issue 21): the .deb unpacked per instance
    /// under `/srv/deploy-app/staging/`, `current` switched; the postinst's config taken over
    /// by a setup command.
    Release,
}

impl Strategy {
    /// Every strategy the suite holds to.
    pub(crate) const ALL: &'static [Strategy] = &[Strategy::DpkgPush, Strategy::Release];

    /// The lines this strategy adds to an env's `dfab.toml` table.
    pub(crate) fn toml(self) -> &'static str {
        match self {
            Strategy::DpkgPush => "",
            Strategy::Release => {
                "package_name = \"deploy-app\"\ninstall_mode = \"release\"\n\
                 release_setup_commands = [\"set -a; . \\\"$DFAB_CONFIG/debconf.env\\\"; \
                 printf 'site_name=%s\\\\n' \\\"$DEPLOY_APP_SITE_NAME\\\" > \\\"$DFAB_SHARED/config\\\"\"]\n"
            }
        }
    }

    /// What `h` serves of deploy-app: its VERSION file where this strategy installs it.
    pub(crate) fn served(self, h: &TestHost) -> String {
        let dir = match self {
            Strategy::DpkgPush => "",
            Strategy::Release => "/srv/deploy-app/staging/current",
        };
        h.check("root", &format!("cat {dir}/usr/share/deploy-app/VERSION"))
    }

    /// Say that `test` does not run for this strategy, and why.
    pub(crate) fn skip(self, test: &str, why: &str) {
        eprintln!("{test}: not run for {self:?}: {why}");
    }
}

/// A debconf secret of the fixture: it must never appear in any output, nor stay on a host.
pub(crate) const SECRET: &str = "s3cret-pw-XYZ";

const DEBCONF: &str = "Name: deploy-app/site_name\nTemplate: deploy-app/site_name\n\
Value: shop.example.com\nOwners: deploy-app\nFlags: seen\n\n\
Name: deploy-app/admin_password\nTemplate: deploy-app/admin_password\n\
Value: s3cret-pw-XYZ\nOwners: deploy-app\nFlags: seen\n";

/// A copy of fixtures/deploy-app with a dfab.toml env `staging` reaching `hosts` by `strategy`.
pub(crate) struct App {
    dir: tempfile::TempDir,
}

impl App {
    /// `extra`: more lines for the `[environments.staging]` table.
    pub(crate) fn new(strategy: Strategy, hosts: &[String], extra: &str) -> App {
        let list: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
        let toml = format!(
            "[environments.staging]\nhosts = [{}]\nuser = \"deploy\"\nkey_filename = \"{KEY}\"\n\
             known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
             package_dir = \"dist/\"\ndebconf = \"debconf.dat\"\n{}{extra}",
            list.join(", "),
            strategy.toml()
        );
        let dir = project(&[("dfab.toml", &toml), ("debconf.dat", DEBCONF)]);
        copy_tree(&deploy_app_fixture(), dir.path());
        App { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Build `version`, with its VERSION file saying so (and `salt` in a second file, so two
    /// builds of one version can differ in content).
    pub(crate) fn build(&self, version: &str, salt: &str) {
        fs_err::write(
            self.path().join("share/VERSION"),
            format!("{version}\n{salt}"),
        )
        .unwrap();
        self.dfab(&["staging", &format!("deb.build:version={version}")])
            .ok();
    }

    /// Run dfab in the project; fails the test if the debconf secret shows in any output.
    pub(crate) fn dfab(&self, args: &[&str]) -> Outcome {
        let out = Dfab::new(self.path()).args(args).run();
        assert!(
            !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
            "a debconf secret was printed:\n{}\n{}",
            out.stdout,
            out.stderr
        );
        out
    }

    /// The .deb that `build(version, …)` made.
    #[allow(dead_code)] // for the fault tests that handle the package file itself
    pub(crate) fn deb(&self, version: &str) -> PathBuf {
        self.path()
            .join(format!("dist/deploy-app_{version}_all.deb"))
    }
}

/// dfab started in `dir` in the background with no input or output, for a test that kills it
/// mid-run.
pub(crate) fn background(dir: &Path, args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_dfab"))
        .current_dir(dir)
        .env_remove("DFAB_ENVIRONMENTS")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// What dpkg says of deploy-app on `h`: "VERSION STATUS" (`ii`, `iF`, …), or "" (the oracle,
/// over plain ssh).
pub(crate) fn installed(h: &TestHost) -> String {
    String::from_utf8_lossy(
        &h.ssh(
            "root",
            "dpkg-query -W -f='${Version} ${db:Status-Abbrev}' deploy-app 2>/dev/null",
        )
        .stdout,
    )
    .trim()
    .to_string()
}

/// The host's release history, a row of tab-separated fields per line.
pub(crate) fn history(h: &TestHost) -> Vec<Vec<String>> {
    h.check("root", "cat /var/lib/dfab/deploy-app/history")
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}
