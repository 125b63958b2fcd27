//! The command line without hosts: listings, pinned error messages, dry-run.

use crate::support::{project, Dfab};

const ENVS: &str = r#"
[environments.__all__]
dba = "dba"
db_password = "hunter2"
[environments.production]
hosts = ["app1.example.com", "app2.example.com"]
debconf = "debconf.dat"
[environments.staging]
debconf = "debconf.dat"
[environments.lxc]
lxc = "example-lxc"
lxc_template = "vanilla"
[tasks.hello]
doc = "Say hello"
args = ["who"]
steps = [{ run = "echo hello {who}", cd = "/srv" }, { sudo = "systemctl restart app" }, { local = "echo built" }]
"#;

#[test]
fn list_shows_envs_and_tasks() {
    let dir = project(&[("dfab.toml", ENVS)]);
    let out = Dfab::new(dir.path()).args(["-l"]).run().ok();
    for needle in [
        "    production ",
        "    staging ",
        "    lxc ",
        "(lxc: 'example-lxc')",
        "deb.build",
        "Say hello",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?} in\n{}",
            out.stdout
        );
    }
}

#[test]
fn env_list_shows_merged_defaults_and_redacts_secrets() {
    let dir = project(&[("dfab.toml", ENVS)]);
    let out = Dfab::new(dir.path()).args(["production", "-l"]).run().ok();
    assert!(
        out.stdout.contains("dba = 'dba'    (from __all__)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("db_password = (redacted)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("hunter2"));
    assert!(out.stdout.contains("env_name = 'production'"));
}

#[test]
fn unknown_env_suggests_and_runs_nothing() {
    let dir = project(&[("dfab.toml", ENVS)]);
    let out = Dfab::new(dir.path()).args(["stagign", "hello"]).run();
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    let file = dir.path().join("dfab.toml");
    assert_eq!(
        out.stderr,
        format!(
            "error: unknown environment `stagign` in {}\nhint: did you mean `staging`?\n",
            file.display()
        )
    );
}

#[test]
fn unknown_task_suggests() {
    let dir = project(&[("dfab.toml", ENVS)]);
    let out = Dfab::new(dir.path()).args(["production", "helo"]).run();
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            2,
            "error: unknown task `helo`\nhint: did you mean `hello`?\n"
        )
    );
}

// The whole command line is planned before anything runs: a built-in that cannot be planned
// (here a bad argument value) stops the run before the task in front of it.
#[test]
fn a_later_task_that_cannot_be_planned_runs_nothing_before_it() {
    let dir = project(&[("dfab.toml", ENVS)]);
    let out = Dfab::new(dir.path())
        .args(["production", "hello:x", "deb.build:compression=bogus"])
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "ran something: {}", out.stdout);
    assert!(
        out.stderr.starts_with("error: deb.build: "),
        "{}",
        out.stderr
    );
}

#[test]
fn dry_run_prints_each_command_per_host_and_connects_nowhere() {
    let dir = project(&[("dfab.toml", ENVS)]);
    let out = Dfab::new(dir.path())
        .args(["-n", "production", "hello:world"])
        .run()
        .ok();
    let want = format!(
        "[app1.example.com] run: cd /srv && echo hello world\n\
         [app2.example.com] run: cd /srv && echo hello world\n\
         [app1.example.com] sudo: sudo -n -H -- sh -c 'systemctl restart app'\n\
         [app2.example.com] sudo: sudo -n -H -- sh -c 'systemctl restart app'\n\
         [localhost] local: cd {} && echo built\n",
        dir.path().display()
    );
    assert_eq!(out.stdout, want);
}

#[test]
fn undefined_variable_is_named_with_its_place() {
    let toml = "[environments.p]\nhosts = [\"h\"]\nremote_path = \"/srv/\"\n[tasks.t]\nsteps = [\n  { run = \"ls {remote_pth}\" },\n]\n";
    let dir = project(&[("dfab.toml", toml)]);
    let out = Dfab::new(dir.path()).args(["-n", "p", "t"]).run();
    assert_eq!(out.code, 2);
    let file = dir.path().join("dfab.toml");
    assert_eq!(
        out.stderr,
        format!(
            "error: {}:6:3: key `tasks.t`: undefined variable `remote_pth` (env `p`)\n\
             hint: did you mean `remote_path`? Or define `remote_pth` in the env, in `__all__`, or pass `t:remote_pth=...`\n",
            file.display()
        )
    );
}

#[test]
fn bad_key_type_names_file_line_and_key() {
    let toml = "[environments.p]\nhosts = \"app.example.com\"\n";
    let dir = project(&[("dfab.toml", toml)]);
    let out = Dfab::new(dir.path()).args(["p", "-l"]).run();
    assert_eq!(out.code, 2);
    let file = dir.path().join("dfab.toml");
    assert_eq!(
        out.stderr,
        format!(
            "error: {}:2:9: key `p.hosts`: expected a list of strings, got the string 'app.example.com'\n\
             hint: for example 'hosts': ['app1.example.com']\n",
            file.display()
        )
    );
}

#[test]
fn remote_path_must_end_in_slash() {
    let dir = project(&[(
        "dfab.toml",
        "[environments.p]\nremote_path = \"/srv/app\"\n",
    )]);
    let out = Dfab::new(dir.path()).args(["p", "-l"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains(":2:15: key `p.remote_path`: must end in `/`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: write '/srv/app/'"),
        "{}",
        out.stderr
    );
}

#[test]
fn no_environments_file_is_explained() {
    let dir = project(&[]);
    let out = Dfab::new(dir.path()).args(["p", "t"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no environments.py or dfab.toml in"),
        "{}",
        out.stderr
    );
}

#[test]
fn completions_and_man_page() {
    let dir = project(&[]);
    let out = Dfab::new(dir.path())
        .args(["--completions", "bash"])
        .run()
        .ok();
    assert!(
        out.stdout.contains("_dfab()"),
        "{}",
        &out.stdout[..200.min(out.stdout.len())]
    );
    let out = Dfab::new(dir.path()).args(["--man"]).run().ok();
    assert!(
        out.stdout.contains(".TH dfab"),
        "{}",
        &out.stdout[..200.min(out.stdout.len())]
    );
}
