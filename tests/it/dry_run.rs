//! `-n` connects nowhere: no ssh, no `lxc-info`, no `lxc_host`, for built-ins and user tasks
//! alike; and the plan-time checks of Fabric's task arguments.

use std::path::Path;

use crate::support::{project, Dfab};

/// A directory of stand-ins for every program that would reach a host; each records its
/// call in `calls` and fails.
fn tripwires(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("tripwire-bin");
    fs_err::create_dir_all(&bin).unwrap();
    for prog in [
        "ssh",
        "scp",
        "rsync",
        "lxc-info",
        "lxc-ls",
        "lxc-attach",
        "lxc-copy",
        "lxc-start",
        "lxc-create",
        "lxc-destroy",
        "lxc-stop",
        "debootstrap",
    ] {
        let p = bin.join(prog);
        fs_err::write(
            &p,
            format!(
                "#!/bin/sh\necho \"{prog} $*\" >> '{}'\nexit 99\n",
                dir.join("calls").display()
            ),
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("755")
            .arg(&p)
            .status()
            .unwrap();
    }
    bin
}

const ENVS: &str = r#"
environments = {
    'prod': {
        'hosts': ['root@app1.dfab-test.invalid', 'deploy@app2.dfab-test.invalid:2222'],
        'roledefs': {'web': ['root@app1.dfab-test.invalid'], 'db': ['deploy@app2.dfab-test.invalid:2222']},
        'api_token': 'tok-9f8e7d6c5b4a',
        'db_password': 'pw-s3cr3t-value',
        'a': 'from-env',
    },
    'box': {
        'lxc': 'dfab-dry-box',
        'lxc_template': 'dfab-dry-tpl',
        'lxc_host': 'nobody@lxchost.dfab-test.invalid',
        'remote_path': '/srv/app/',
    },
}
tasks = {
    'one': {'doc': 'one', 'args': ['a'], 'steps': [{'run': 'echo {a}'}]},
    'auth': {'doc': 'uses the token', 'steps': [
        {'run': 'echo "Authorization: {api_token}" | wc -c'},
        {'sudo': 'psql -c "ALTER ROLE app PASSWORD %(db_password)s"'},
        {'local': 'printf %s {db_password} | sha256sum'},
    ]},
    'noop': {'doc': 'a project task replacing a built-in', 'steps': [{'local': 'echo project-noop'}]},
}
"#;

fn dry_project() -> tempfile::TempDir {
    let dir = project(&[("environments.py", ENVS)]);
    // A real debian/ tree for deb.build.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/minimal");
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(src.join("debian"))
        .arg(src.join("data"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    dir
}

fn dry(dir: &Path, args: &[&str]) -> crate::support::Outcome {
    let bin = tripwires(dir);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Dfab::new(dir).env("PATH", &path).args(args).run();
    let calls = dir.join("calls");
    assert!(
        !calls.exists(),
        "-n reached for a host: {}",
        fs_err::read_to_string(&calls).unwrap_or_default()
    );
    out
}

// Under -n an env with lxc_host still ran lxc-info over ssh, and built-ins were one opaque line.
#[test]
fn dry_run_lists_every_command_and_connects_nowhere() {
    let dir = dry_project();
    let out = dry(
        dir.path(),
        &["-n", "-v", "prod", "deb.build", "one:x", "auth"],
    )
    .ok();
    assert!(
        out.stdout
            .contains("deb.build: would build the packages of "),
        "{}",
        out.stdout
    );
    for h in [
        "root@app1.dfab-test.invalid",
        "deploy@app2.dfab-test.invalid:2222",
    ] {
        assert!(
            out.stdout.contains(&format!("[{h}] run: echo x")),
            "{}",
            out.stdout
        );
    }
    // The LXC env: its container is not looked up, its template build is listed.
    let out = dry(dir.path(), &["-n", "-v", "box", "lxc.template", "one:y"]).ok();
    assert!(
        out.stdout
            .contains("[nobody@lxchost.dfab-test.invalid] lxc.template: debootstrap"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("lxc: lxc-copy -n dfab-dry-tpl -N dfab-dry-box"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("run: echo y"), "{}", out.stdout);
}

// A secret used by a task was echoed in clear by `[host] run:` lines and by errors.
#[test]
fn secrets_are_redacted_in_every_output_mode() {
    let dir = dry_project();
    let secrets = ["tok-9f8e7d6c5b4a", "pw-s3cr3t-value"];
    let mut seen = String::new();
    for args in [
        vec!["-n", "prod", "auth"],
        vec!["-n", "-v", "prod", "auth"],
        vec!["prod", "-l"],
        vec!["-l"],
        // A real failing run: the local step runs, then the host is unreachable.
        vec!["prod", "auth:hosts=root@127.0.0.1:1"],
    ] {
        let out = Dfab::new(dir.path()).args(&args).run();
        if args[0] == "-n" {
            // The task really was planned: its command is there, the token in it redacted.
            assert_eq!(out.code, 0, "{}", out.stderr);
            assert!(
                out.stdout
                    .contains(r#"run: echo "Authorization: (redacted)" | wc -c"#)
                    || out
                        .stdout
                        .contains("run: echo 'Authorization: (redacted)' | wc -c")
                    || out.stdout.contains("Authorization: (redacted)"),
                "{}",
                out.stdout
            );
        }
        seen.push_str(&out.stdout);
        seen.push_str(&out.stderr);
    }
    // A failing local command carrying the secret: echoed, and in the error.
    let fail = project(&[(
        "environments.py",
        "environments = {'dev': {'db_password': 'pw-s3cr3t-value'}}\n\
         tasks = {'boom': {'doc': '', 'steps': [{'local': 'echo {db_password}; false {db_password}'}]}}\n",
    )]);
    let out = Dfab::new(fail.path()).args(["dev", "boom"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("command failed"), "{}", out.stderr);
    assert!(out.stdout.contains("(redacted)"), "{}", out.stdout);
    seen.push_str(&out.stdout);
    seen.push_str(&out.stderr);
    for s in secrets {
        assert!(!seen.contains(s), "secret {s} printed:\n{seen}");
    }
    assert!(seen.contains("(redacted)"));
}

// `one:x,hosts=h1;h2` planned the command on the env's hosts instead of h1 and h2.
#[test]
fn fabric_host_keywords_pick_the_exact_hosts() {
    let dir = dry_project();
    let out = dry(dir.path(), &["-n", "prod", "one:x,hosts=h1;h2"]).ok();
    let runs: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("run: echo x"))
        .collect();
    assert_eq!(
        runs,
        ["[h1] run: echo x", "[h2] run: echo x"],
        "{}",
        out.stdout
    );
    let out = dry(dir.path(), &["-n", "prod", "one:x,host=h9"]).ok();
    assert!(
        out.stdout.contains("[h9] run: echo x") && !out.stdout.contains("invalid] run"),
        "{}",
        out.stdout
    );
    let out = dry(dir.path(), &["-n", "prod", "one:x,role=db"]).ok();
    let runs: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("run: echo x"))
        .collect();
    assert_eq!(
        runs,
        ["[deploy@app2.dfab-test.invalid:2222] run: echo x"],
        "{}",
        out.stdout
    );
    let out = dry(
        dir.path(),
        &[
            "-n",
            "prod",
            "one:x,exclude_hosts=root@app1.dfab-test.invalid",
        ],
    )
    .ok();
    let runs: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("run: echo x"))
        .collect();
    assert_eq!(
        runs,
        ["[deploy@app2.dfab-test.invalid:2222] run: echo x"],
        "{}",
        out.stdout
    );
    let out = dry(dir.path(), &["-n", "prod", "one:x,role=wbe"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("role `wbe` is not in the `roledefs`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("`web`"), "{}", out.stderr);
}

// `one:aa=typo` exited 0 and used the env's `a`.
#[test]
fn an_unknown_keyword_argument_is_refused_with_the_tasks_arguments() {
    let dir = dry_project();
    let out = dry(dir.path(), &["-n", "prod", "one:aa=typo"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("error: task `one` has no argument `aa`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("did you mean `a`?"), "{}", out.stderr);
    let out = dry(dir.path(), &["-n", "prod", "deb.build:compresion=xz"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean `compression`?"),
        "{}",
        out.stderr
    );
    // Escapes as Fabric 1 parses them: `\,` and `\=` are literal.
    let out = dry(dir.path(), &["-n", "prod", r"one:a\,b\=c,hosts=h1"]).ok();
    assert!(
        out.stdout.contains("[h1] run: echo a,b=c"),
        "{}",
        out.stdout
    );
}

// Porting a fabfile's own `test`/`init`/`deploy` into tasks = {...} was refused as a built-in.
#[test]
fn a_project_task_replaces_the_builtin_which_stays_reachable_as_dfab_prefixed() {
    let dir = dry_project();
    let out = Dfab::new(dir.path()).args(["prod", "noop"]).run().ok();
    assert!(out.stdout.contains("project-noop"), "{}", out.stdout);
    let out = Dfab::new(dir.path()).args(["-l"]).run().ok();
    assert!(
        out.stdout.contains("[project task, replaces the built-in]"),
        "{}",
        out.stdout
    );
    // The built-in itself: activation only, so on the LXC-less env it does nothing at all.
    let out = dry(dir.path(), &["-n", "prod", "dfab.noop"]).ok();
    assert!(!out.stdout.contains("project-noop"), "{}", out.stdout);
}

// `'debcof': 'x.dat'` was silently a task variable, so deb.deploy would have run without the
// debconf answers the user meant to give.
#[test]
fn a_misspelt_key_is_named_with_the_key_it_is_one_slip_from() {
    let dir = project(&[(
        "environments.py",
        "environments = {'dev': {'hosts': ['h1'], 'debcof': 'x.dat', 'my_var': 'ok'}}\n\
         tasks = {'one': {'doc': '', 'steps': [{'run': 'echo {my_var}'}]}}\n",
    )]);
    let out = dry(dir.path(), &["-n", "dev", "one"]).ok();
    assert!(
        out.stderr
            .contains("`debcof` is not a key dfab reads (did you mean `debconf`?)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("my_var"), "{}", out.stderr);
}

// `web_mode:snippet=nginx` on an LXC env cloned and started the container to print text.
#[test]
fn printing_the_snippet_reaches_no_host_and_starts_no_container() {
    let dir = dry_project();
    // Not a dry run: the tripwires fail the test if any ssh or lxc-* tool is called.
    let out = dry(dir.path(), &["box", "web_mode:snippet=nginx"]).ok();
    assert!(
        out.stdout.contains("if (-f /srv/app/maintenance.on) {"),
        "{}",
        out.stdout
    );
    let out = dry(dir.path(), &["box", "web_mode:maintanance"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("did you mean `maintenance`?"),
        "{}",
        out.stderr
    );
}

// A misspelt required key got "has no remote_path" with no line and no hint at the typo.
#[test]
fn a_missing_required_key_points_at_the_key_one_slip_from_it() {
    let envs =
        "environments = {\n    '__all__': {\n        'remote_pth': '/srv/app/',\n    },\n    \
                'prod': {'hosts': ['root@app1.dfab-test.invalid']},\n}\n";
    let dir = project(&[("environments.py", envs)]);
    let out = dry(dir.path(), &["-n", "prod", "web_mode:maintenance"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("environments.py:3:")
            && out.stderr.contains("key `prod.remote_path`")
            && out
                .stderr
                .contains("`remote_pth` is set here: did you mean `remote_path`?"),
        "{}",
        out.stderr
    );
}

/// From a fresh checkout (no `dist/`, so no build record) `rollback` refused with "which
/// packages?" although the env sets `package_name`, which `releases` found on the hosts.
#[test]
fn rollback_without_a_build_record_falls_back_to_package_name_and_says_so() {
    let envs = r"
environments = {
    'production': {
        'hosts': ['root@app1.dfab-test.invalid'],
        'package_name': 'djdemo',
        'package_dir': 'dist/',
    },
    'both': {
        'hosts': ['root@app1.dfab-test.invalid'],
        'package_name': 'djdemo',
        'deploy_packages': ['djdemo-worker'],
    },
    'bare': {'hosts': ['root@app1.dfab-test.invalid']},
}
";
    let dir = project(&[("environments.py", envs)]);
    let host = "[root@app1.dfab-test.invalid]";
    for task in ["rollback", "releases"] {
        let out = dry(dir.path(), &["-y", "-n", "-v", "production", task]).ok();
        assert!(
            out.stdout.contains(&format!(
                "{task}: packages: djdemo, from `package_name` (env `production` sets no \
                 `deploy_packages` and there is no build record in {}/dist/)",
                dir.path().display()
            )),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(host) && l.contains("read: dfab-host state djdemo")),
            "{}",
            out.stdout
        );
    }
    // `deploy_packages` comes first, and says nothing.
    let out = dry(dir.path(), &["-y", "-n", "-v", "both", "rollback"]).ok();
    assert!(
        out.stdout.contains("read: dfab-host state djdemo-worker\n"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("/var/lib/dfab/djdemo/")
            && !out.stdout.contains("dfab-host state djdemo\n"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("from `package_name`"),
        "{}",
        out.stdout
    );
    // With none of the three, the refusal names all three.
    let out = dry(dir.path(), &["-y", "-n", "bare", "rollback"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains(
            "which packages? env `bare` sets no `deploy_packages` or `package_name` and there \
             is no build record in"
        ),
        "{}",
        out.stderr
    );
}
