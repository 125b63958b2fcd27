//! environments.py and dfab.toml: one model, one set of expectations, both formats.

use std::path::{Path, PathBuf};

use crate::support::{project, Dfab};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// Run dfab on one of the two files (it must succeed with no warning but `-l`'s about the
/// fixture's plain `db_password` in a file git tracks), with its path blanked so outputs compare.
fn both(args: &[&str]) -> [String; 2] {
    ["formats/environments.py", "formats/dfab.toml"].map(|f| {
        let file = fixture(f);
        let out = Dfab::new(&fixture("formats"))
            .args(["-f".as_ref(), file.as_os_str()])
            .args(args)
            .run()
            .ok();
        let other: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !l.contains("`__all__.db_password` is a secret written in plain text"))
            .collect();
        assert!(other.is_empty(), "warnings: {}", out.stderr);
        out.stdout.replace(&file.display().to_string(), "FILE")
    })
}

#[test]
fn both_formats_list_the_same() {
    let [py, toml] = both(&["-l"]);
    assert_eq!(py, toml);
    assert!(py.contains("    hello "), "{py}");
}

#[test]
fn both_formats_resolve_to_the_same_settings() {
    let [py, toml] = both(&["production", "-l"]);
    assert_eq!(py, toml);
    for line in [
        "    dba = 'dba'    (from __all__)",
        "    db_password = (redacted)    (from __all__)",
        "    db_port = 5432    (from __all__)",
        "    hosts = ['app1.example.com', 'deploy@app2.example.com:2222']",
        "    wheel = True    (from __all__)",
    ] {
        assert!(py.lines().any(|l| l == line), "missing {line:?} in\n{py}");
    }
}

#[test]
fn both_formats_plan_the_same_commands() {
    let [py, toml] = both(&["-n", "production", "hello:world"]);
    assert_eq!(py, toml);
    let dir = fixture("formats");
    let want = format!(
        "[app1.example.com] run: cd /srv/app/ && echo hello world from production\n\
         [deploy@app2.example.com:2222] run: cd /srv/app/ && echo hello world from production\n\
         [app1.example.com] sudo: systemctl restart app\n\
         [deploy@app2.example.com:2222] sudo -u postgres: psql -p 5432 -c \"select 1\"\n\
         [localhost] local: cd {d} && echo built\n\
         [app1.example.com] put: put {d}/notes.txt /srv/app/\n\
         [deploy@app2.example.com:2222] put: put {d}/notes.txt /srv/app/\n\
         [app1.example.com] get: get /var/log/app.log {d}/logs/app1.example.com\n\
         [deploy@app2.example.com:2222] get: get /var/log/app.log {d}/logs/deploy@app2.example.com:2222\n\
         [app1.example.com] run: echo bye\n\
         [deploy@app2.example.com:2222] run: echo bye\n",
        d = dir.display()
    );
    assert_eq!(py, want);
}

#[test]
fn dragonfab_template_lists_and_merges() {
    // dragonfab's environments_template.py, verbatim, from the compat corpus.
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("environments.py-compat/ok/dragonfab_template.py");
    let dfab = || Dfab::new(file.parent().unwrap()).args(["-f".as_ref(), file.as_os_str()]);
    let out = dfab()
        .args(["-l"])
        .stdout_has("\nTasks:\n    deb.build ")
        .stderr_is("")
        .run_checked();
    let envs: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(
        envs,
        [
            "    production    Activate production environment (hosts: example.com).",
            "    staging       Activate staging environment.",
            "    lxc           Activate lxc environment (lxc: 'example-lxc').",
        ]
    );
    dfab()
        .args(["production", "-l"])
        .stdout_is(format!(
            "Environment production (from {}):\n    dba = 'dba'    (from __all__)\n    \
             debconf = 'debconf.dat'\n    env_name = 'production'\n    hosts = ['example.com']\n\
             Targets: hosts: example.com\n",
            file.display()
        ))
        .stderr_is("")
        .run_checked();
}

#[test]
fn non_literal_file_is_refused_at_its_position_unless_python() {
    let src = "import os\nenvironments = {'a': {'hosts': [os.environ['DFAB_IT_HOST']]}}\n";
    let dir = project(&[("environments.py", src)]);
    let file = dir.path().join("environments.py");
    Dfab::new(dir.path())
        .args(["a", "-l"])
        .status(2)
        .no_stdout()
        .stderr_is(format!(
            "error: {}:1:1: `import` statement is not a literal assignment\n\
             hint: dfab reads environments.py without running Python; write the value out \
             literally, or pass --python to evaluate the file with python3\n",
            file.display()
        ))
        .run_checked();
    // --python must say so.
    Dfab::new(dir.path())
        .env("DFAB_IT_HOST", "h1")
        .args(["--python", "a", "-l"])
        .stdout_is(format!(
            "Environment a (from {}):\n    env_name = 'a'\n    hosts = ['h1']\nTargets: hosts: h1\n",
            file.display()
        ))
        .stderr_is(format!(
            "warning: evaluated {} with python3 (--python)\n",
            file.display()
        ))
        .run_checked();
}

#[test]
fn a_value_error_points_into_environments_py() {
    let src = "environments = {\n    'p': {\n        'remote_path': '/srv/app',\n    },\n}\n";
    let dir = project(&[("environments.py", src)]);
    Dfab::new(dir.path())
        .args(["p", "-l"])
        .status(2)
        .no_stdout()
        .stderr_is(format!(
            "error: {}:3:24: key `p.remote_path`: must end in `/`, got '/srv/app'\nhint: write '/srv/app/'\n",
            dir.path().join("environments.py").display()
        ))
        .run_checked();
}
