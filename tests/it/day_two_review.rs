//! What a new user's review of the day-two operations (issue 20) found wrong, each pinned: git
//! safety judges the build that ships, not the work tree at deploy time; inventory host names in
//! the host keywords; role keywords on an env without `roledefs`; warnings said once.

use std::path::Path;
use std::process::Command;

use crate::support::{copy_tree, deploy_app_fixture, project, Dfab};

/// `git` in `dir`, which must succeed.
fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=dfab test",
            "-c",
            "user.email=t@example.com",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The commit `HEAD` names in `dir`, shortened to 12 digits as messages show it.
fn head12(dir: &Path) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim()[..12].to_string()
}

// Git safety judged the work tree at deploy time: a .deb built dirty reached a protected env
// once the tree was cleaned, one built on `feature` once `main` was checked out again, and a
// clean build was refused because the tree was dirty afterwards. Now the build record is judged,
// and a `deploy` that builds first judges the build it makes. Planned under `-n` (refusals come
// before anything runs; no host is reached).
#[test]
fn git_safety_judges_the_build_that_ships_not_the_work_tree() {
    let toml = "[environments.live]\nhosts = [\"root@192.0.2.1\"]\nprotected = true\n\
                branch = \"main\"\npackage_dir = \"dist/\"\n\
                deploy = [\"deb.build\", \"deb.deploy\"]\n";
    let dir = project(&[("dfab.toml", toml), (".gitignore", "dist/\n.dfab/\n")]);
    copy_tree(&deploy_app_fixture(), dir.path());
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", "first"]);
    let dry = |task: &str| Dfab::new(p).args(["-y", "-n", "live", task]);

    // Built dirty, then `git checkout -- .`: the build is still dirty, so refused.
    fs_err::write(p.join("share/VERSION"), "1.0 dirty\n").unwrap();
    Dfab::new(p)
        .args(["live", "deb.build"])
        .stderr_has("built from a work tree with uncommitted changes")
        .run_checked();
    git(p, &["checkout", "-q", "--", "."]);
    let c = head12(p);
    dry("deb.deploy")
        .status(2)
        .stderr_has(format!(
            "the last build (commit {c}) was made from a work tree with uncommitted changes"
        ))
        .stderr_has("deb.deploy:force=yes")
        .run_checked();

    // Built clean, the tree dirty afterwards: the build ships.
    Dfab::new(p).args(["live", "deb.build"]).run_checked();
    fs_err::write(p.join("share/VERSION"), "1.0 dirty again\n").unwrap();
    dry("deb.deploy").run_checked();
    // But a `deploy` that builds first judges the build it makes: this dirty tree.
    dry("deploy")
        .status(2)
        .stderr_has(format!(
            "this run's build (commit {c}) is made from a work tree with uncommitted changes"
        ))
        .run_checked();
    git(p, &["checkout", "-q", "--", "."]);

    // Built on `feature`, `main` checked out again: not on `main`, said, and force=yes ships it.
    git(p, &["checkout", "-q", "-b", "feature"]);
    fs_err::write(p.join("share/VERSION"), "1.0 feature\n").unwrap();
    git(p, &["commit", "-q", "-am", "feature"]);
    let f = head12(p);
    Dfab::new(p).args(["live", "deb.build"]).run_checked();
    git(p, &["checkout", "-q", "main"]);
    dry("deb.deploy")
        .status(2)
        .stderr_has(format!(
            "the last build's commit {f} is not on branch `main` (it is on `feature`)"
        ))
        .run_checked();
    dry("deb.deploy:force=yes")
        .stdout_has("force=yes: deploying although the last build's commit")
        .run_checked();
    // A `deploy` building from `main`'s clean tree is fine whatever the record says.
    dry("deploy").run_checked();
    // Once `feature` is merged into `main`, its commit is an ancestor of `main`'s: fine.
    git(p, &["merge", "-q", "feature"]);
    dry("deb.deploy").run_checked();
}
