//! What a new user's review of the day-two operations (issue 20) found wrong, each pinned: git
//! safety judges the build that ships, not the work tree at deploy time; inventory host names in
//! the host keywords; role keywords on an env without `roledefs`; warnings said once.

use std::process::Command;

use crate::support::{copy_tree, deploy_app_fixture, git, git_repo, project, Dfab};

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
    // `.dfab/` is not in the project's ignore file: dfab's own `.dfab/.gitignore` keeps it out.
    let dir = project(&[("dfab.toml", toml), (".gitignore", "dist/\n")]);
    copy_tree(&deploy_app_fixture(), dir.path());
    let p = dir.path();
    git_repo(p);
    let dry = |task: &str| Dfab::new(p).args(["-y", "-n", "live", task]);

    // Built dirty, then `git checkout -- .`: the build is still dirty, so refused.
    fs_err::write(p.join("share/VERSION"), "1.0 dirty\n").unwrap();
    Dfab::new(p)
        .args(["live", "deb.build"])
        .stderr_has("built from a work tree with uncommitted changes")
        .run_checked();
    git(p, &["checkout", "-q", "--", "."]);
    let c = git(p, &["rev-parse", "HEAD"])[..12].to_string();
    let status = Command::new("git")
        .arg("-C")
        .arg(p)
        .args(["status", "--porcelain", "--untracked-files=all"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&status.stdout),
        "",
        "the build left nothing for git to see"
    );
    assert_eq!(
        fs_err::read_to_string(p.join(".dfab/.gitignore")).unwrap(),
        "*\n"
    );
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
    let f = git(p, &["rev-parse", "HEAD"])[..12].to_string();
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

// Inventory hosts went by `root@10.0.3.157`: `exclude_hosts=db1` was ignored without a word and
// ran on both hosts, and `host=web1` failed with "Could not resolve hostname web1". Now an
// inventory host's name is its one name (keywords, output, summary) and its address is where
// ssh goes; an unknown name to exclude is an error listing the env's hosts, with or without an
// inventory. A role named on an env without `roledefs` says so with a hint, and the ad-hoc
// command is named as typed. One container holds both inventory hosts.
#[test]
fn inventory_names_in_host_keywords_and_the_command_named_as_typed() {
    let h = crate::support::TestHost::new();
    let ini = format!(
        "[prod:children]\nweb\ndb\n\n[web]\nweb1 ansible_host={ip} ansible_user=root\n\n\
         [db]\ndb1 ansible_host={ip} ansible_user=root ansible_port=22\n",
        ip = h.ip
    );
    let common = format!(
        "key_filename = \"{}\"\nknown_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\n\
         timeout = 5\n",
        crate::support::KEY
    );
    let toml = format!(
        "[environments.prod]\ninventory = \"inventory.ini\"\n{common}\
         services = {{ dfab-review-svc = \"web\", dfab-review-svc2 = [\"web\", \"db\"] }}\n\n\
         [environments.plain]\nhosts = [\"root@{ip}\"]\nservices = [\"dfab-review-svc\"]\n{common}\n",
        ip = h.ip
    );
    let dir = project(&[("dfab.toml", &toml), ("inventory.ini", &ini)]);
    let p = dir.path();

    Dfab::new(p)
        .args(["prod:exclude_hosts=db1", "--", "echo", "hi"])
        .stdout_has("[web1] out: hi\n")
        .stdout_lacks("[db1]")
        .stdout_lacks(h.ip.as_str())
        .run_checked();
    Dfab::new(p)
        .args(["prod:host=web1", "--", "true"])
        .stdout_has("[web1] run: true\n")
        .stdout_lacks("[db1]")
        .run_checked();
    // Both: the summary names the command as typed.
    Dfab::new(p)
        .args(["prod", "--", "true"])
        .stdout_has("Summary:\n  [web1] ok (the command `true`)\n  [db1] ok (the command `true`)")
        .run_checked();
    // An unknown name to exclude: refused, the env's hosts in the hint, for both kinds of env.
    Dfab::new(p)
        .args(["prod:exclude_hosts=db2", "--", "true"])
        .status(2)
        .stderr_has(
            "error: the command `true`: `exclude_hosts=db2`: `db2` is not a host of environment \
             `prod`",
        )
        .stderr_has("hint: did you mean `db1`? the hosts of `prod`: web1, db1")
        .no_stdout()
        .run_checked();
    Dfab::new(p)
        .args(["plain:exclude_hosts=nope", "--", "true"])
        .status(2)
        .stderr_has("`nope` is not a host of environment `plain`")
        .stderr_has(format!("hint: the hosts of `plain`: root@{}", h.ip))
        .no_stdout()
        .run_checked();
    // A role on an env without `roledefs`: said, with what to do.
    Dfab::new(p)
        .args(["plain:roles=web", "--", "uname", "-a"])
        .status(2)
        .stderr_has(
            "error: the command `uname -a`: `roles=web`: environment `plain` has no `roledefs`, \
             so role `web` names no hosts",
        )
        .stderr_has(format!(
            "hint: drop `roles=` to run on every host of `plain` (root@{})",
            h.ip
        ))
        .no_stdout()
        .run_checked();

    // services on a host without systemd as PID 1: said once per run, not once per line of
    // output; an unknown service names the list once and points at the `services` key.
    h.check(
        "root",
        "printf '%s\\n' '#!/bin/sh' 'case $1 in status) exit 3;; esac' \
         > /etc/init.d/dfab-review-svc && chmod 755 /etc/init.d/dfab-review-svc \
         && cp /etc/init.d/dfab-review-svc /etc/init.d/dfab-review-svc2",
    );
    let out = Dfab::new(p)
        .args(["prod", "services:restart,hosts=web1;db1"])
        .run_checked();
    let all = format!("{}{}", out.stdout, out.stderr);
    for host in ["web1", "db1"] {
        assert_eq!(
            all.matches(&format!("[{host}] services: systemd is not PID 1"))
                .count(),
            1,
            "said once per host: {all}"
        );
    }
    let out = Dfab::new(p)
        .args(["plain", "services:restart,nope"])
        .status(2)
        .stderr_has("dfab.toml:11:")
        .stderr_has("`nope` is not a service of environment `plain`")
        .no_stdout()
        .run_checked();
    assert_eq!(
        out.stderr.matches("dfab-review-svc").count(),
        1,
        "the services listed once: {}",
        out.stderr
    );
}

// The README's own secrets example warned "`smtp_password` is not a key dfab reads (did you
// mean `db_password`?)", and a slip written in `__all__` and the env was said twice; an env
// missing its app settings got an error for `manage` with no line.
#[test]
fn near_miss_warnings_spare_outside_values_and_are_said_once() {
    let envs =
        "environments = {\n    '__all__': {'hosts': ['root@192.0.2.1'], 'db_pasword': 'a'},\n\
                \x20   'production': {\n        'db_pasword': 'b',\n\
                \x20       'smtp_password': {'from_env': 'DFAB_REVIEW_SMTP'},\n    },\n}\n";
    let dir = project(&[("environments.py", envs)]);
    let out = Dfab::new(dir.path())
        .env("DFAB_REVIEW_SMTP", "smtp-secret-123")
        .args(["-n", "production", "--", "true"])
        .stderr_lacks("`smtp_password` is not a key")
        .run_checked();
    assert_eq!(
        out.stderr
            .matches("`db_pasword` is not a key dfab reads")
            .count(),
        1,
        "{}",
        out.stderr
    );
    let dir = project(&[(
        "dfab.toml",
        "[environments.first]\nhosts = [\"root@192.0.2.1\"]\n\n\
         [environments.bare]\nhosts = [\"root@192.0.2.1\"]\n",
    )]);
    Dfab::new(dir.path())
        .args(["-n", "bare", "manage:check"])
        .status(2)
        .stderr_has(format!(
            "error: {}:4:15: key `bare.manage_command`: environment `bare` has no app settings",
            dir.path().join("dfab.toml").display()
        ))
        .no_stdout()
        .run_checked();
}
