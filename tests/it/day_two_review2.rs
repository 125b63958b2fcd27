//! What a second new-user review of the day-two operations (issues 20, 21) found wrong, each
//! pinned: debconf answers known from the host (not a local journal) and applied or said,
//! `-n` saying what it cannot know, the sha256 and commit quoted, and the CLI's smaller faults.

use std::path::Path;

use crate::support::{copy_tree, deploy_app_fixture, git, git_repo, project, Dfab, TestHost, KEY};

/// The fixture's debconf answers with this site name.
fn answers(site: &str) -> String {
    format!(
        "Name: deploy-app/site_name\nTemplate: deploy-app/site_name\nValue: {site}\n\
         Owners: deploy-app\nFlags: seen\n\n\
         Name: deploy-app/admin_password\nTemplate: deploy-app/admin_password\n\
         Value: pw-review2-1234\nOwners: deploy-app\nFlags: seen\n"
    )
}

/// A copy of fixtures/deploy-app as a git repository (one commit) whose env `staging` reaches
/// `h` as root with `debconf.dat` as its answers (`site` the site name).
fn app_on(h: &TestHost, site: &str) -> tempfile::TempDir {
    let toml = format!(
        "[environments.staging]\nhosts = [\"{ip}\"]\nuser = \"root\"\nkey_filename = \"{KEY}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
         package_name = \"deploy-app\"\npackage_dir = \"dist/\"\ndebconf = \"debconf.dat\"\n\
         deploy = [\"deb.build\", \"deb.deploy\"]\n",
        ip = h.ip
    );
    let dir = project(&[
        ("dfab.toml", &toml),
        ("debconf.dat", &answers(site)),
        (".gitignore", "dist/\n"),
    ]);
    copy_tree(&deploy_app_fixture(), dir.path());
    let p = dir.path();
    git_repo(p);
    dir
}

/// The site name the fixture's postinst wrote on `h` from the answers it got.
fn site_on(h: &TestHost) -> String {
    h.check("root", "grep site_name /var/lib/deploy-app/config")
        .trim()
        .to_string()
}

/// Write new answers (site name `site`) and commit them.
fn new_answers(p: &Path, site: &str) {
    fs_err::write(p.join("debconf.dat"), answers(site)).unwrap();
    git(p, &["commit", "-q", "-am", site]);
}

fn staging(p: &Path, args: &[&str]) -> crate::support::Outcome {
    let mut all = args.to_vec();
    all.insert(
        all.iter().position(|a| !a.starts_with('-')).unwrap_or(0),
        "staging",
    );
    Dfab::new(p).args(all).run().ok()
}

// New answers were silently not applied while the output said done: installed by
// `deb.build deb.deploy` (no journal of a `deploy`), changed answers, then `deploy` said
// "already installed: nothing to do" and "done", the host keeping the old site name; the next
// `deploy` said "nothing to deploy ... and its answers". `-n` said "would install" where the run
// did something else. The reconfigure history line named the newest build's commit, not the
// installed one's, and "nothing to deploy" quoted the journal's build key, not the .deb's sha256.
// Now the host records the answers each install and reconfigure applied, `deb.deploy` and
// `deploy` apply answers the host does not have (or did not record), and `-n` says what it
// cannot know.
#[test]
fn answers_are_known_from_the_host_and_applied() {
    let h = TestHost::new();
    let dir = app_on(&h, "one.example");
    let p = dir.path();
    staging(p, &["deb.build", "deb.deploy"]);
    assert_eq!(site_on(&h), "site_name=one.example");
    let installed_at = git(p, &["rev-parse", "HEAD"]);

    // deb.deploy of the installed build with other answers: applied, said so; -n says it
    // cannot know which it will be.
    new_answers(p, "two.example");
    let dry = staging(p, &["-n", "deb.deploy"]);
    assert!(
        dry.stdout.contains("would install deploy-app 1.0-1")
            && dry
                .stdout
                .contains("; a host with this build: nothing, or a reconfigure"),
        "{}",
        dry.stdout
    );
    let out = staging(p, &["deb.deploy"]);
    assert!(
        out.stdout
            .contains("deploy-app 1.0-1 is already installed; its debconf answers differed"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("nothing to do"), "{}", out.stdout);
    assert_eq!(site_on(&h), "site_name=two.example");
    // The same answers again: nothing to do.
    let out = staging(p, &["deb.deploy"]);
    assert!(
        out.stdout
            .contains("deploy-app 1.0-1 is already installed: nothing to do"),
        "{}",
        out.stdout
    );

    // `deploy` (no earlier deploy journal) with only the answers changed: reconfigured; -n says
    // the run decides by what the hosts say.
    new_answers(p, "three.example");
    let dry = staging(p, &["-n", "deploy"]);
    assert!(
        dry.stdout.contains("-n asks no host")
            && dry.stdout.contains(
                "a host with this build gets nothing, or only deb.reconfigure if its debconf answers differ"
            ),
        "{}",
        dry.stdout
    );
    let out = staging(p, &["deploy"]);
    assert!(
        out.stdout.contains("only the debconf answers changed")
            && out.stdout.contains("reconfigured deploy-app 1.0-1"),
        "{}",
        out.stdout
    );
    assert_eq!(site_on(&h), "site_name=three.example");

    // Nothing changed: nothing to deploy, quoting the .deb's own sha256.
    let deb = p.join("dist/deploy-app_1.0-1_all.deb");
    let sha = crate::support::sh(&["sha256sum", deb.to_str().unwrap()]);
    let sha = String::from_utf8_lossy(&sha.stdout)[..12].to_string();
    let out = staging(p, &["deploy"]);
    assert!(
        out.stdout.contains(&format!(
            "nothing to deploy: every host has this build (deploy-app sha256 {sha})"
        )),
        "{}",
        out.stdout
    );

    // A host that did not record its answers (installed by an older dfab, or by hand): they
    // cannot be known, so they are applied.
    h.check("root", "rm /var/lib/dfab/deploy-app/answers");
    let out = staging(p, &["deploy"]);
    assert!(
        out.stdout.contains("reconfigured deploy-app 1.0-1"),
        "{}",
        out.stdout
    );
    h.check("root", "test -f /var/lib/dfab/deploy-app/answers");
    let mode = h.check("root", "stat -c %a /var/lib/dfab/deploy-app/answers");
    assert_eq!(mode.trim(), "600");

    // A later build, not deployed, then deb.reconfigure: the history line names the installed
    // build's commit.
    fs_err::write(p.join("share/VERSION"), "1.0 later\n").unwrap();
    git(p, &["commit", "-q", "-am", "later"]);
    staging(p, &["deb.build"]);
    new_answers(p, "four.example");
    staging(p, &["deb.reconfigure"]);
    assert_eq!(site_on(&h), "site_name=four.example");
    let history = h.check("root", "cat /var/lib/dfab/deploy-app/history");
    let last: Vec<&str> = history.lines().last().unwrap().split('\t').collect();
    assert_eq!(
        (last[6], last.get(7).copied()),
        ("reconfigure", Some(installed_at.as_str())),
        "{history}"
    );
}

/// A project whose env `staging` has two hosts on loopback where nothing listens (each
/// connection refused at once).
fn unreachable_pair(extra: &str) -> tempfile::TempDir {
    project(&[(
        "dfab.toml",
        &format!(
            "[environments.staging]\nhosts = [\"root@127.0.0.1:1\", \"root@127.0.0.2:1\"]\n\
             package_name = \"x\"\n{extra}"
        ),
    )])
}

// `--json` swallowed all output of tasks with no JSON form, a reinstall and an ad-hoc command
// included (they ran, exit 0, nothing printed). Now refused before anything runs, naming them
// and the task that has one.
#[test]
fn json_on_a_task_without_a_json_form_is_refused_before_anything_runs() {
    let dir = unreachable_pair("");
    let p = dir.path();
    Dfab::new(p)
        .args(["-n", "--json", "staging", "releases"])
        .status(2)
        .stderr_has("error: --json: `releases` has no JSON form (only `facts` has); nothing was run")
        .stderr_has("hint: drop --json for the text output, or ask for JSON alone: `dfab --json staging facts`")
        .no_stdout()
        .run_checked();
    // Refused before connecting: no "cannot connect" from the unreachable hosts.
    Dfab::new(p)
        .args([
            "--json",
            "staging",
            "facts",
            "deb.deploy:force=yes",
            "--",
            "touch",
            "/tmp/x",
        ])
        .status(2)
        .stderr_has("`deb.deploy`, the command `touch /tmp/x` have no JSON form")
        .stderr_lacks("connect")
        .no_stdout()
        .run_checked();
}

// `facts --json` with several failing hosts printed `[]`, "2 of 2 hosts failed" and a hint
// pointing at a summary that `--json` had kept quiet. Now the summary with each host's error
// goes to stderr; stdout is the JSON alone.
#[test]
fn facts_json_shows_each_failing_host_s_error() {
    let dir = unreachable_pair("");
    let out = Dfab::new(dir.path())
        .args(["--json", "staging", "facts"])
        .status(1)
        .stdout_is("[]\n")
        .stderr_has("each host's outcome and error is in the summary above")
        .run_checked();
    for h in ["127.0.0.1", "127.0.0.2"] {
        assert!(
            out.stderr
                .contains(&format!("[root@{h}:1] FAILED in task facts:"))
                && out
                    .stderr
                    .contains(&format!("connect to host {h} port 1: Connection refused")),
            "{}",
            out.stderr
        );
    }
}

// `manage:dumpdata --indent=2` was an error ("task `manage` has no argument `dumpdata
// --indent`"): manage takes one command, the whole text. And `manage` on an env with
// `roledefs` but no `app` role ran on whichever host came first (the db host). Planned under
// `-n` (no host is reached).
#[test]
fn manage_takes_the_whole_text_and_needs_an_app_role_or_a_named_host() {
    let dir = project(&[(
        "dfab.toml",
        "[environments.staging]\nhosts = [\"root@127.0.0.1:1\"]\nmanage_command = \"echo\"\n\
         app_user = \"x\"\n\n[environments.prod]\n\
         roledefs = { db = [\"root@127.0.0.3:1\"], web = [\"root@127.0.0.4:1\"] }\n\
         manage_command = \"echo\"\napp_user = \"x\"\n",
    )]);
    let p = dir.path();
    Dfab::new(p)
        .args(["-n", "-v", "staging", "manage:dumpdata --indent=2,auth"])
        .stdout_has("sh -c 'echo dumpdata --indent=2,auth'")
        .stdout_has("[root@127.0.0.1:1] manage: would run manage dumpdata --indent=2,auth")
        .run_checked();
    Dfab::new(p)
        .args(["-n", "prod", "manage:check"])
        .status(2)
        .stderr_has(
            "task `manage` runs on the first host of role `app`, and environment `prod` has \
             roles `db`, `web` but no `app`",
        )
        .stderr_has("`dfab prod manage:<command>,roles=db`")
        .no_stdout()
        .run_checked();
    Dfab::new(p)
        .args(["-n", "prod", "manage:check --deploy,roles=web"])
        .stdout_has("[root@127.0.0.4:1] manage: would run manage check --deploy")
        .run_checked();
}

// `services:stop` and `deb.reconfigure` changed production without a question (no terminal, no
// -y): the app stopped, postinst ran again with new passwords, while the ad-hoc command was
// refused. Now they ask as it does, and without a terminal refuse before any host is reached;
// `services` (status) asks nothing. `-n` shows the question.
#[test]
fn services_changes_and_reconfigure_ask_on_a_protected_env() {
    let dir = project(&[
        (
            "dfab.toml",
            "[environments.production]\nhosts = [\"root@127.0.0.1:1\", \"root@127.0.0.2:1\"]\n\
             services = [\"dfab-review2\"]\ndebconf = \"debconf.dat\"\n\
             deploy_packages = [\"review2-app\"]\n\n[environments.live]\n\
             hosts = [\"root@127.0.0.1:1\"]\nprotected = true\nservices = [\"dfab-review2\"]\n",
        ),
        (
            "debconf.dat",
            "Name: review2-app/x\nTemplate: review2-app/x\nValue: y\nOwners: review2-app\n\
             Flags: seen\n",
        ),
    ]);
    let p = dir.path();
    for (task, what) in [
        ("services:stop", "stop dfab-review2"),
        ("services:restart", "restart dfab-review2"),
        ("services:start", "start dfab-review2"),
        (
            "deb.reconfigure",
            "reconfigure the installed packages with the env's debconf answers",
        ),
    ] {
        Dfab::new(p)
            .args(["production", task])
            .status(2)
            .stderr_has(format!("error: {what}"))
            .stderr_has(
                "on 2 hosts (root@127.0.0.1:1, root@127.0.0.2:1) of `production`, the \
                 production env? (refused: no terminal to ask on)\nhint: pass -y to confirm\n",
            )
            .stderr_lacks("connect")
            .no_stdout()
            .run_checked();
    }
    Dfab::new(p)
        .args(["live", "services:stop"])
        .status(2)
        .stderr_has(
            "error: stop dfab-review2 on root@127.0.0.1:1 of env `live` (marked `protected`)? \
             (refused: no terminal to ask on)",
        )
        .run_checked();
    // Status asks nothing: it reaches the hosts (and fails there).
    Dfab::new(p)
        .args(["production", "services"])
        .status(1)
        .stderr_lacks("no terminal to ask on")
        .stderr_has("error: 2 of 2 hosts failed")
        .stdout_has("Connection refused")
        .run_checked();
    Dfab::new(p)
        .args(["-n", "production", "services:restart"])
        .stdout_has(
            "would ask: restart dfab-review2 on 2 hosts (root@127.0.0.1:1, root@127.0.0.2:1) \
             of `production`, the production env?",
        )
        .run_checked();
}

// The git-safety refusal read "`production` is production (it is production)".
#[test]
fn the_production_refusal_names_the_env_once() {
    let toml = "[environments.production]\nhosts = [\"root@127.0.0.1:1\"]\n\
                package_dir = \"dist/\"\ndeploy = [\"deb.build\", \"deb.deploy\"]\n";
    let dir = project(&[("dfab.toml", toml), (".gitignore", "dist/\n")]);
    copy_tree(&deploy_app_fixture(), dir.path());
    let p = dir.path();
    git_repo(p);
    fs_err::write(p.join("share/VERSION"), "1.0 dirty\n").unwrap();
    Dfab::new(p)
        .args(["-n", "-y", "production", "deploy"])
        .status(2)
        .stderr_has("deploy: refused: `production` is the production env, and this run's build")
        .stderr_lacks("(it is production)")
        .run_checked();
}

// A snippet whose check failed on a host where nginx was not running: "nginx is not running:
// nothing to reload", then "... there was none before, and nginx reloaded". The last words now
// say what became of the reload.
#[test]
fn a_refused_snippet_says_nginx_was_not_reloaded_when_it_is_not_running() {
    let h = TestHost::new();
    let script =
        fs_err::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("host/dfab-host"))
            .unwrap();
    let mut put = std::process::Command::new("ssh")
        .args(["-i", KEY, "-o", "StrictHostKeyChecking=no", "-o"])
        .args(["UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"])
        .arg(format!("root@{}", h.ip))
        .arg("cat > /tmp/dfab-host")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(put.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
    drop(put.stdin.take());
    assert!(put.wait().unwrap().success());
    let o = h.ssh(
        "root",
        "test ! -s /run/nginx.pid && echo '# snippet' | DFAB_ROOT=/tmp/dfr sh /tmp/dfab-host web \
         snippet nginx /tmp/dfr/snip/dfab.conf /tmp/dfr/flag http://127.0.0.1:1/ staging",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "the snippet /tmp/dfr/snip/dfab.conf is not installed: there was none before, and \
             nginx is not running (nothing was reloaded)"
        ),
        "{err}"
    );
    assert!(!err.contains("nginx reloaded"), "{err}");
}

// `dfab staging noop` on an LXC env did not start its container, though `-l` says noop
// activates the env: a call with no step counted as one that reaches no host. Under `-n`
// (nothing is created) the activation shows as the `lxc-*` commands it would run.
#[test]
fn noop_activates_an_lxc_env() {
    let r = crate::support::Reserved::new();
    let envs = format!(
        "environments = {{\n    'lxc': {{\n        'lxc': '{name}',\n        'lxc_template': \
         '{base}',\n        'lxc_ipv4': '{ip}/24',\n        'key_filename': '{KEY}',\n    }},\n}}\n",
        name = r.name,
        base = crate::support::BASE,
        ip = r.ip
    );
    let dir = project(&[("environments.py", &envs)]);
    Dfab::new(dir.path())
        .args(["-n", "-v", "lxc", "noop"])
        .stdout_has(format!(
            "lxc-copy -n {} -N {} -s -B overlayfs",
            crate::support::BASE,
            r.name
        ))
        .run_checked();
    assert!(!r.exists());
}
