//! Release mode's fixes from a new user's review, against a real container: git safety on a
//! protected env and the history's commit, sha256 and dfab version; a failed deploy leaves the
//! live config alone and a rollback brings back its release's config; rolling back twice goes
//! back two deploys; `clean_releases -n` never says "nothing"; the maintainer scripts' work is
//! said; `setup_release`'s lines and errors name it.

use std::path::Path;

use crate::support::{
    copy_tree, deploy_app_fixture, git, git_repo, project, Dfab, Outcome, TestHost, KEY,
};

/// The env: protected, release mode, a two-line setup command that fails for a `broken` build.
fn toml(h: &TestHost) -> String {
    format!(
        "[environments.rprod]\nhosts = [\"{ip}\"]\nuser = \"root\"\nkey_filename = \"{KEY}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
         package_dir = \"dist/\"\ndebconf = \"debconf.dat\"\npackage_name = \"deploy-app\"\n\
         install_mode = \"release\"\nkeep_releases = 5\nprotected = true\nbranch = \"main\"\n\
         release_start_command = \"true\"\n\
         release_setup_commands = [\"set -e\\n! grep -q broken usr/share/deploy-app/VERSION\"]\n",
        ip = h.ip
    )
}

fn answers(site: &str) -> String {
    format!(
        "Name: deploy-app/site_name\nTemplate: deploy-app/site_name\nValue: {site}\n\
         Owners: deploy-app\nFlags: seen\n\n\
         Name: deploy-app/admin_password\nTemplate: deploy-app/admin_password\n\
         Value: fix21-pw-secret\nOwners: deploy-app\nFlags: seen\n"
    )
}

fn dfab(p: &Path, args: &[&str]) -> Outcome {
    let out = Dfab::new(p).args(args).run();
    assert!(
        !out.stdout.contains("fix21-pw-secret") && !out.stderr.contains("fix21-pw-secret"),
        "a secret was printed:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    out
}

/// Build `version` with `body` as its VERSION file, committed first unless `dirty`.
fn build(p: &Path, version: &str, body: &str, dirty: bool) {
    fs_err::write(p.join("share/VERSION"), format!("{body}\n")).unwrap();
    if !dirty {
        git(p, &["commit", "-q", "--allow-empty", "-am", version]);
    }
    dfab(p, &["rprod", &format!("deb.build:version={version}")]).ok();
}

/// The release `current` points at.
fn current(h: &TestHost) -> String {
    let l = h.check("root", "readlink /srv/deploy-app/rprod/current || true");
    l.trim().trim_start_matches("releases/").to_string()
}

/// The site name in the live config (`shared/debconf.env`).
fn live_site(h: &TestHost) -> String {
    h.check(
        "root",
        "grep SITE_NAME /srv/deploy-app/rprod/shared/debconf.env",
    )
    .trim()
    .to_string()
}

#[test]
fn release_mode_fixes_git_safety_live_config_rollback_stack_and_what_is_said() {
    let h = TestHost::new();
    let dir = project(&[
        ("dfab.toml", &toml(&h)),
        ("debconf.dat", &answers("one.example.com")),
        (".gitignore", "dist/\n.dfab/\n"),
    ]);
    copy_tree(&deploy_app_fixture(), dir.path());
    let p = dir.path();
    git_repo(p);

    // 1. A dirty build from a dirty tree: the protected env's deb.deploy refuses, nothing there.
    build(p, "1.0-1", "1.0 dirty", true);
    Dfab::new(p)
        .args(["-y", "rprod", "deb.deploy"])
        .status(2)
        .stderr_has("deb.deploy: refused: `rprod` is protected")
        .stderr_has("deb.deploy:force=yes")
        .run_checked();
    assert_eq!(current(&h), "", "a refused deploy switched current");
    assert_eq!(
        h.check("root", "ls -A /srv/deploy-app/rprod 2>/dev/null || true"),
        ""
    );

    // Committed and built: deployed; the scripts' work is said; the history and `releases`
    // carry the commit, the sha256 and dfab's version.
    build(p, "1.0-1", "1.0", false);
    let commit = git(p, &["rev-parse", "HEAD"]);
    let out = dfab(p, &["-y", "rprod", "deb.deploy"]).ok();
    assert!(
        out.stdout.contains(
            "release mode: deploy-app's postinst will not run; release_setup_commands must do its"
        ) && out.stdout.contains("mkdir -p /var/lib/deploy-app"),
        "{}",
        out.stdout
    );
    let r1 = current(&h);
    assert!(r1.starts_with("1.0-1-"), "{r1}");
    let history = h.check("root", "cat /srv/deploy-app/rprod/.dfab/history");
    let switch: Vec<&str> = history
        .lines()
        .find(|l| l.contains("\tswitch\t"))
        .unwrap_or_else(|| panic!("no switch line: {history}"))
        .split('\t')
        .collect();
    assert_eq!(switch.len(), 8, "{history}");
    assert_eq!(
        (switch[2], switch[3], switch[6], switch[7]),
        (
            r1.as_str(),
            "ok",
            env!("CARGO_PKG_VERSION"),
            commit.as_str()
        ),
        "{history}"
    );
    assert!(
        switch[5].len() == 64 && switch[5].chars().all(|c| c.is_ascii_hexdigit()),
        "{history}"
    );
    let out = dfab(p, &["rprod", "releases"]).ok();
    assert!(
        out.stdout
            .contains(&format!("{r1} (current) commit {}", &commit[..12])),
        "{}",
        out.stdout
    );
    assert_eq!(live_site(&h), "DEPLOY_APP_SITE_NAME=one.example.com");

    // 2. New answers with a build that fails its setup: current and the live config stay; the
    // failed two-line command is shown on one line.
    fs_err::write(p.join("debconf.dat"), answers("two.example.com")).unwrap();
    build(p, "2.0-1", "broken", false);
    let out = dfab(p, &["-y", "rprod", "deb.deploy"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("setup failed in release 2.0-1-")
            && out.stderr.contains("set -e\\n! grep -q broken"),
        "{}",
        out.stderr
    );
    assert_eq!(current(&h), r1);
    assert_eq!(
        live_site(&h),
        "DEPLOY_APP_SITE_NAME=one.example.com",
        "a failed deploy changed the live config"
    );

    // Two more deploys, the second with the new answers live.
    build(p, "3.0-1", "3.0", false);
    dfab(p, &["-y", "rprod", "deb.deploy"]).ok();
    let r3 = current(&h);
    assert_eq!(live_site(&h), "DEPLOY_APP_SITE_NAME=two.example.com");
    fs_err::write(p.join("debconf.dat"), answers("four.example.com")).unwrap();
    build(p, "4.0-1", "4.0", false);
    dfab(p, &["-y", "rprod", "deb.deploy"]).ok();
    assert!(current(&h).starts_with("4.0-1-"));
    assert_eq!(live_site(&h), "DEPLOY_APP_SITE_NAME=four.example.com");

    // 3. Rolling back twice goes back two deploys (4 → 3 → 1), each with its config; the
    // "previous" mark follows; a third has nowhere to go.
    dfab(p, &["-y", "rprod", "rollback"]).ok();
    assert_eq!(current(&h), r3);
    assert_eq!(live_site(&h), "DEPLOY_APP_SITE_NAME=two.example.com");
    let out = dfab(p, &["rprod", "releases"]).ok();
    assert!(
        out.stdout.contains(&format!("{r1} (previous)")),
        "{}",
        out.stdout
    );
    dfab(p, &["-y", "rprod", "rollback"]).ok();
    assert_eq!(current(&h), r1, "the second rollback went forward");
    assert_eq!(live_site(&h), "DEPLOY_APP_SITE_NAME=one.example.com");
    let out = dfab(p, &["-y", "rprod", "rollback"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("no release to roll back to"),
        "{}",
        out.stderr
    );
    assert_eq!(current(&h), r1);

    // 5. clean_releases under -n cannot know what goes: it never says "nothing"; the real run
    // removes the failed release (a deploy's own clean took 2.0's: a new one fails here).
    build(p, "5.0-1", "broken", false);
    assert_eq!(dfab(p, &["-y", "rprod", "deb.deploy"]).code, 1);
    let out = dfab(p, &["-n", "rprod", "clean_releases"]).ok();
    assert!(
        out.stdout
            .contains("would remove failed releases and old ones beyond keep_releases")
            && !out.stdout.contains("nothing to remove"),
        "{}",
        out.stdout
    );
    let out = dfab(p, &["-y", "rprod", "clean_releases"]).ok();
    assert!(
        out.stdout.contains("removed 5.0-1-") && out.stdout.contains("(failed)"),
        "{}",
        out.stdout
    );

    // 6. setup_release: its lines say setup_release, the path once; a bad keep_days names it.
    Dfab::new(p)
        .args(["rprod", "setup_release:keep_days=abc"])
        .status(2)
        .stderr_has("setup_release: keep_days must be a whole number of days, got `abc`")
        .run_checked();
    build(p, "6.0-1", "6.0", false);
    let out = dfab(p, &["-y", "rprod", "setup_release"]).ok();
    assert!(
        out.stdout.contains("setup_release: deploy-app 6.0-1")
            && !out.stdout.contains("deb.deploy:"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout
            .matches("/srv/deploy-app/rprod/releases/")
            .count(),
        1,
        "{}",
        out.stdout
    );
    assert_eq!(current(&h), r1);
}
