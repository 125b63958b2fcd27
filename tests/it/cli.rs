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
    let mut dfab = Dfab::new(dir.path()).args(["-l"]).stderr_is("");
    for needle in [
        "    production ",
        "    staging ",
        "    lxc ",
        "(lxc: 'example-lxc')",
        "deb.build",
        "Say hello",
    ] {
        dfab = dfab.stdout_has(needle);
    }
    dfab.run_checked();
}

#[test]
fn env_list_shows_merged_defaults_and_redacts_secrets() {
    let dir = project(&[("dfab.toml", ENVS)]);
    Dfab::new(dir.path())
        .args(["production", "-l"])
        .stdout_is(format!(
            "Environment production (from {}):\n    \
             db_password = (redacted)    (from __all__)\n    \
             dba = 'dba'    (from __all__)\n    \
             debconf = 'debconf.dat'\n    \
             env_name = 'production'\n    \
             hosts = ['app1.example.com', 'app2.example.com']\n\
             Targets: hosts: app1.example.com, app2.example.com\n",
            dir.path().join("dfab.toml").display()
        ))
        .stdout_lacks("hunter2")
        .stderr_is("")
        .run_checked();
}

#[test]
fn unknown_env_suggests_and_runs_nothing() {
    let dir = project(&[("dfab.toml", ENVS)]);
    let file = dir.path().join("dfab.toml");
    Dfab::new(dir.path())
        .args(["stagign", "hello"])
        .status(2)
        .no_stdout()
        .stderr_is(format!(
            "error: unknown environment `stagign` in {}\nhint: did you mean `staging`?\n",
            file.display()
        ))
        .run_checked();
}

#[test]
fn unknown_task_suggests() {
    let dir = project(&[("dfab.toml", ENVS)]);
    Dfab::new(dir.path())
        .args(["production", "helo"])
        .status(2)
        .no_stdout()
        .stderr_is("error: unknown task `helo`\nhint: did you mean `hello`?\n")
        .run_checked();
}

// The whole command line is planned before anything runs: a built-in that cannot be planned
// (here a bad argument value) stops the run before the task in front of it.
#[test]
fn a_later_task_that_cannot_be_planned_runs_nothing_before_it() {
    let dir = project(&[("dfab.toml", ENVS)]);
    Dfab::new(dir.path())
        .args(["production", "hello:x", "deb.build:compression=bogus"])
        .status(2)
        .no_stdout()
        .stderr_is(
            "error: deb.build: unknown compression `bogus` (expected gzip, xz or zstd)\n\
             hint: for example deb.build:compression=xz or compression=zstd:19\n",
        )
        .run_checked();
}

#[test]
fn dry_run_prints_each_command_per_host_and_connects_nowhere() {
    let dir = project(&[("dfab.toml", ENVS)]);
    let want = format!(
        "[app1.example.com] run: cd /srv && echo hello world\n\
         [app2.example.com] run: cd /srv && echo hello world\n\
         [app1.example.com] sudo: systemctl restart app\n\
         [app2.example.com] sudo: systemctl restart app\n\
         [localhost] local: cd {} && echo built\n",
        dir.path().display()
    );
    Dfab::new(dir.path())
        .args(["-n", "production", "hello:world"])
        .stdout_is(want)
        .stderr_is("")
        .run_checked();
}

#[test]
fn undefined_variable_is_named_with_its_place() {
    let toml = "[environments.p]\nhosts = [\"h\"]\nremote_path = \"/srv/\"\n[tasks.t]\nsteps = [\n  { run = \"ls {remote_pth}\" },\n]\n";
    let dir = project(&[("dfab.toml", toml)]);
    let file = dir.path().join("dfab.toml");
    Dfab::new(dir.path())
        .args(["-n", "p", "t"])
        .status(2)
        .no_stdout()
        .stderr_is(format!(
            "error: {}:6:3: key `tasks.t`: undefined variable `remote_pth` (env `p`)\n\
             hint: did you mean `remote_path`? Or define `remote_pth` in the env, in `__all__`, or pass `t:remote_pth=...`\n",
            file.display()
        ))
        .run_checked();
}

#[test]
fn bad_key_type_names_file_line_and_key() {
    let toml = "[environments.p]\nhosts = \"app.example.com\"\n";
    let dir = project(&[("dfab.toml", toml)]);
    let file = dir.path().join("dfab.toml");
    Dfab::new(dir.path())
        .args(["p", "-l"])
        .status(2)
        .no_stdout()
        .stderr_is(format!(
            "error: {}:2:9: key `p.hosts`: expected a list of strings, got the string \"app.example.com\"\n\
             hint: for example hosts = [\"app1.example.com\"]\n",
            file.display()
        ))
        .run_checked();
}

#[test]
fn remote_path_must_end_in_slash() {
    let dir = project(&[(
        "dfab.toml",
        "[environments.p]\nremote_path = \"/srv/app\"\n",
    )]);
    Dfab::new(dir.path())
        .args(["p", "-l"])
        .status(2)
        .no_stdout()
        .stderr_is(format!(
            "error: {}:2:15: key `p.remote_path`: must end in `/`, got \"/srv/app\"\n\
             hint: write \"/srv/app/\"\n",
            dir.path().join("dfab.toml").display()
        ))
        .run_checked();
}

#[test]
fn no_environments_file_is_explained() {
    let dir = project(&[]);
    Dfab::new(dir.path())
        .args(["p", "t"])
        .status(2)
        .no_stdout()
        .stderr_is(format!(
            "error: no environments.py or dfab.toml in {} or any parent directory\n\
             hint: run dfab inside your project, or pass -f path/to/environments.py\n",
            dir.path().display()
        ))
        .run_checked();
}

#[test]
fn completions_and_man_page() {
    let dir = project(&[]);
    Dfab::new(dir.path())
        .args(["--completions", "bash"])
        .stdout_has("_dfab()")
        .stderr_is("")
        .run_checked();
    Dfab::new(dir.path())
        .args(["--man"])
        .stdout_has(".TH dfab")
        .stderr_is("")
        .run_checked();
}
