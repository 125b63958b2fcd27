//! `-n` connects nowhere: no ssh, no `lxc-info`, no `lxc_host`, for built-ins and user tasks
//! alike; and the plan-time checks of Fabric's task arguments.

use std::path::Path;

use crate::support::{project, Dfab, Outcome};

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

/// Runs dfab in `dir` with the tripwires first on PATH and checks it as `want` says (see
/// `Dfab::run_checked`), then that nothing reached for a host.
fn dry(dir: &Path, args: &[&str], want: impl FnOnce(Dfab) -> Dfab) -> Outcome {
    let bin = tripwires(dir);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = want(Dfab::new(dir).env("PATH", &path).args(args)).run_checked();
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
    dry(
        dir.path(),
        &["-n", "-v", "prod", "deb.build", "one:x", "auth"],
        |d| {
            d.stdout_has("deb.build: would build minimal 1.0-1 from debian with ")
                .stdout_has("[root@app1.dfab-test.invalid] run: echo x")
                .stdout_has("[deploy@app2.dfab-test.invalid:2222] run: echo x")
                .stderr_is("")
        },
    );
    // The LXC env: its container is not looked up, its template build is listed.
    dry(
        dir.path(),
        &["-n", "-v", "box", "lxc.template", "one:y"],
        |d| {
            d.stdout_has("[nobody@lxchost.dfab-test.invalid] lxc.template: debootstrap")
                .stdout_has("lxc: lxc-copy -n dfab-dry-tpl -N dfab-dry-box")
                .stdout_has("run: echo y")
                .stderr_is("")
        },
    );
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
        // A real failing run: the host is unreachable, so nothing runs.
        vec!["prod", "auth:hosts=root@127.0.0.1:1"],
    ] {
        let mut dfab = Dfab::new(dir.path()).args(&args);
        for s in secrets {
            dfab = dfab.stdout_lacks(s).stderr_lacks(s);
        }
        dfab = match args.as_slice() {
            // The task really was planned: its command is there, the token in it redacted.
            ["-n", ..] => dfab.stdout_has("Authorization: (redacted)").stderr_is(""),
            ["prod", "-l"] => dfab
                .stdout_has("    api_token = (redacted)\n")
                .stdout_has("    db_password = (redacted)\n"),
            ["-l"] => dfab,
            _ => dfab
                .status(1)
                .no_stdout()
                .stderr_has("error: [root@127.0.0.1:1] cannot connect over ssh"),
        };
        let out = dfab.run_checked();
        seen.push_str(&out.stdout);
        seen.push_str(&out.stderr);
    }
    // A failing local command carrying the secret: echoed, and in the error.
    let fail = project(&[(
        "environments.py",
        "environments = {'dev': {'db_password': 'pw-s3cr3t-value'}}\n\
         tasks = {'boom': {'doc': '', 'steps': [{'local': 'echo {db_password}; false {db_password}'}]}}\n",
    )]);
    let out = Dfab::new(fail.path())
        .args(["dev", "boom"])
        .status(1)
        .stdout_has("(redacted)")
        .stderr_has("] command failed (exit status 1): ")
        .stderr_has("false (redacted)")
        .run_checked();
    seen.push_str(&out.stdout);
    seen.push_str(&out.stderr);
    for s in secrets {
        assert!(!seen.contains(s), "secret {s} printed:\n{seen}");
    }
    assert!(seen.contains("(redacted)"));
}

/// The `run: echo x` lines of a plan.
fn echo_x_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.contains("run: echo x"))
        .collect()
}

// `one:x,hosts=h1;h2` planned the command on the env's hosts instead of h1 and h2.
#[test]
fn fabric_host_keywords_pick_the_exact_hosts() {
    let dir = dry_project();
    let quiet = |d: Dfab| d.stderr_is("");
    let out = dry(dir.path(), &["-n", "prod", "one:x,hosts=h1;h2"], quiet);
    assert_eq!(
        echo_x_lines(&out.stdout),
        ["[h1] run: echo x", "[h2] run: echo x"],
        "{}",
        out.stdout
    );
    dry(dir.path(), &["-n", "prod", "one:x,host=h9"], |d| {
        d.stdout_has("[h9] run: echo x")
            .stdout_lacks("invalid] run")
            .stderr_is("")
    });
    let out = dry(dir.path(), &["-n", "prod", "one:x,role=db"], quiet);
    assert_eq!(
        echo_x_lines(&out.stdout),
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
        quiet,
    );
    assert_eq!(
        echo_x_lines(&out.stdout),
        ["[deploy@app2.dfab-test.invalid:2222] run: echo x"],
        "{}",
        out.stdout
    );
    dry(dir.path(), &["-n", "prod", "one:x,role=wbe"], |d| {
        d.status(2).no_stdout().stderr_is(
            "error: task `one`: role `wbe` is not in the `roledefs` of environment `prod`\n\
             hint: did you mean `web`?\n",
        )
    });
}

// `one:aa=typo` exited 0 and used the env's `a`.
#[test]
fn an_unknown_keyword_argument_is_refused_with_the_tasks_arguments() {
    let dir = dry_project();
    dry(dir.path(), &["-n", "prod", "one:aa=typo"], |d| {
        d.status(2).no_stdout().stderr_is(
            "error: task `one` has no argument `aa`\nhint: did you mean `a`? `one` takes: a\n",
        )
    });
    dry(
        dir.path(),
        &["-n", "prod", "deb.build:compresion=xz"],
        |d| {
            d.status(2).no_stdout().stderr_is(
                "error: task `deb.build` has no argument `compresion`\n\
             hint: did you mean `compression`? `deb.build` takes: version, compression\n",
            )
        },
    );
    // Escapes as Fabric 1 parses them: `\,` and `\=` are literal.
    dry(dir.path(), &["-n", "prod", r"one:a\,b\=c,hosts=h1"], |d| {
        d.stdout_has("[h1] run: echo a,b=c").stderr_is("")
    });
}

// Porting a fabfile's own `test`/`init`/`deploy` into tasks = {...} was refused as a built-in.
#[test]
fn a_project_task_replaces_the_builtin_which_stays_reachable_as_dfab_prefixed() {
    let dir = dry_project();
    Dfab::new(dir.path())
        .args(["prod", "noop"])
        .stdout_has("project-noop")
        .stderr_is("")
        .run_checked();
    Dfab::new(dir.path())
        .args(["-l"])
        .stdout_has("[project task, replaces the built-in]")
        .stderr_is("")
        .run_checked();
    // The built-in itself: activation only, so on the LXC-less env it does nothing at all.
    dry(dir.path(), &["-n", "prod", "dfab.noop"], |d| {
        d.stdout_lacks("project-noop").stderr_is("")
    });
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
    // One warning, at the line and column of the value as errors give them, and none for
    // `my_var`.
    dry(dir.path(), &["-n", "dev", "one"], |d| {
        d.stdout_has("[h1] run: echo ok\n").stderr_is(format!(
            "warning: {}:1:52: `debcof` is not a key dfab reads (did you mean `debconf`?); \
             unknown keys are only variables for tasks\n",
            dir.path().join("environments.py").display()
        ))
    });
}

// `helath_url` was warned about as `/tmp/x/environments.py: ...`, with no line to look at.
#[test]
fn a_misspelt_key_warning_gives_its_line_in_dfab_toml_and_all() {
    let dir = project(&[(
        "dfab.toml",
        "[environments.__all__]\nhelath_url = \"http://x\"\n\n\
         [environments.dev]\nhosts = [\"h1\"]\ndebcof = \"x.dat\"\n",
    )]);
    let file = dir.path().join("dfab.toml");
    dry(dir.path(), &["-n", "dev", "noop"], |d| {
        d.stderr_is(format!(
            "warning: {f}:2:14: `helath_url` is not a key dfab reads (did you mean \
             `health_url`?); unknown keys are only variables for tasks\n\
             warning: {f}:6:10: `debcof` is not a key dfab reads (did you mean `debconf`?); \
             unknown keys are only variables for tasks\n",
            f = file.display()
        ))
    });
}

// `web_mode:snippet=nginx` on an LXC env cloned and started the container to print text.
#[test]
fn printing_the_snippet_reaches_no_host_and_starts_no_container() {
    let dir = dry_project();
    // Not a dry run: the tripwires fail the test if any ssh or lxc-* tool is called.
    dry(dir.path(), &["box", "web_mode:snippet=nginx"], |d| {
        d.stdout_has("if (-f /srv/app/maintenance.on) {")
            .stderr_is("")
    });
    dry(dir.path(), &["box", "web_mode:maintanance"], |d| {
        d.status(2).no_stdout().stderr_is(
            "error: web_mode: unknown mode `maintanance` (maintenance, live, status or snippet); \
             did you mean `maintenance`?\n\
             hint: web_mode:maintenance[,message=...], web_mode:live, web_mode:status or \
             web_mode:snippet=nginx|apache\n",
        )
    });
}

// A misspelt required key got "has no remote_path" with no line and no hint at the typo.
#[test]
fn a_missing_required_key_points_at_the_key_one_slip_from_it() {
    let envs =
        "environments = {\n    '__all__': {\n        'remote_pth': '/srv/app/',\n    },\n    \
                'prod': {'hosts': ['root@app1.dfab-test.invalid']},\n}\n";
    let dir = project(&[("environments.py", envs)]);
    dry(dir.path(), &["-n", "prod", "web_mode:maintenance"], |d| {
        d.status(2).no_stdout().stderr_is(format!(
            "error: {}:3:23: key `prod.remote_path`: environment `prod` has no `remote_path`\n\
             hint: `remote_pth` is set here: did you mean `remote_path`? (set it in the env or \
             `__all__`, e.g. 'remote_path': '/srv/app/')\n",
            dir.path().join("environments.py").display()
        ))
    });
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
        let out = dry(dir.path(), &["-y", "-n", "-v", "production", task], |d| {
            d.stdout_has(format!(
                "{task}: packages: djdemo, from `package_name` (env `production` sets no \
                 `deploy_packages` and there is no build record in {}/dist/)",
                dir.path().display()
            ))
            .stderr_is("")
        });
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(host) && l.contains("read: dfab-host state djdemo")),
            "{}",
            out.stdout
        );
    }
    // `deploy_packages` comes first, and says nothing.
    dry(dir.path(), &["-y", "-n", "-v", "both", "rollback"], |d| {
        d.stdout_has("read: dfab-host state djdemo-worker\n")
            .stdout_lacks("/var/lib/dfab/djdemo/")
            .stdout_lacks("dfab-host state djdemo\n")
            .stdout_lacks("from `package_name`")
            .stderr_is("")
    });
    // With none of the three, the refusal names all three.
    dry(dir.path(), &["-y", "-n", "bare", "rollback"], |d| {
        d.status(2).no_stdout().stderr_is(format!(
            "error: which packages? env `bare` sets no `deploy_packages` or `package_name` and \
             there is no build record in {}\n\
             hint: set 'package_name': 'myapp' (or 'deploy_packages': ['myapp', 'myapp-worker']) \
             in the env\n",
            dir.path().parent().unwrap().display()
        ))
    });
}

// `-n deb.deploy` with no build record said "would upload and install the packages the build
// makes" and exited 0, while the real run refuses: a dry run must not promise what the run will
// not do. With `deb.build` before it in the same plan, the record is the one the build makes.
#[test]
fn a_dry_deploy_without_a_build_refuses_as_the_run_does_unless_the_plan_builds() {
    let dir = dry_project();
    let out = dry(dir.path(), &["-n", "prod", "deb.deploy"], |d| {
        d.status(2)
            .stderr_has("error: no build record: ")
            .stderr_has("hint: build first")
    });
    assert!(!out.stdout.contains("would upload"), "{}", out.stdout);
    // The real run says the same, with the same exit code (nothing is reached: the record is
    // read before any host).
    let real = Dfab::new(dir.path()).args(["prod", "deb.deploy"]).run();
    assert_eq!(real.code, 2, "{}", real.stderr);
    assert!(
        real.stderr.contains("error: no build record: "),
        "{}",
        real.stderr
    );
    dry(
        dir.path(),
        &["-n", "prod", "deb.build", "deb.deploy"],
        |d| d.stdout_has("deb.deploy: would ship what deb.build makes (no build record yet in "),
    );
}

// With `'db_pasword': 'prod-s3cret'` in an env, `dfab production -l` warned "did you mean
// `db_password`?" and then listed the value in clear: a misspelt secret key is still a secret.
#[test]
fn a_misspelt_secret_key_is_redacted_in_every_output_mode() {
    let dir = project(&[(
        "environments.py",
        "environments = {'dev': {\n    'hosts': ['root@127.0.0.1:1'],\n    \
         'db_pasword': 'prod-s3cret-one',\n    'smtp_pasword': 'mail-s3cret-two',\n    \
         'broken': 'shown-in-clear',\n}}\n\
         tasks = {\n    'use': {'doc': '', 'steps': [{'run': 'echo {db_pasword} {smtp_pasword}'}]},\n    \
         'boom': {'doc': '', 'steps': [{'local': 'echo {db_pasword} {smtp_pasword}; false {db_pasword}'}]},\n}\n",
    )]);
    let secrets = ["prod-s3cret-one", "mail-s3cret-two"];
    let warning = "`db_pasword` is not a key dfab reads (did you mean `db_password`?)";
    let mut seen = String::new();
    for args in [
        vec!["dev", "-l"],
        vec!["-l"],
        vec!["-n", "dev", "use"],
        vec!["-n", "-v", "dev", "use"],
        vec!["-v", "dev", "use"],
        vec!["-v", "dev", "boom"],
    ] {
        let mut d = Dfab::new(dir.path()).args(&args);
        for s in secrets {
            d = d.stdout_lacks(s).stderr_lacks(s);
        }
        d = match args.as_slice() {
            ["dev", "-l"] => d
                .stdout_has("    db_pasword = (redacted)\n")
                .stdout_has("    smtp_pasword = (redacted)\n")
                .stdout_has("    broken = 'shown-in-clear'\n")
                .stderr_has(warning),
            ["-l"] => d.stderr_is(""),
            ["-n", ..] => d
                .stdout_has("run: echo (redacted) (redacted)")
                .stderr_has(warning),
            [_, _, "use"] => d
                .status(1)
                .stderr_has("error: [root@127.0.0.1:1] cannot connect over ssh"),
            _ => d
                .status(1)
                .stdout_has("(redacted) (redacted)")
                .stderr_has("false (redacted)"),
        };
        let out = d.run_checked();
        seen.push_str(&out.stdout);
        seen.push_str(&out.stderr);
    }
    for s in secrets {
        assert!(!seen.contains(s), "secret {s} printed:\n{seen}");
    }
}

// A reviewer's find: with an earlier build recorded (2.1-1, installed), `-n staging deb.build
// deb.deploy` said "deb.deploy: deploy-app 2.1-1 (… verified)" and "would install deploy-app
// 2.1-1", while the real run builds and installs the changelog's 2.2-1 (and an earlier record
// hid a downgrade). Under -n, what a plan's deb.build makes is what its deb.deploy ships.
#[test]
fn a_dry_build_and_deploy_names_the_build_it_would_make_not_the_recorded_one() {
    use crate::faults::{App, Strategy};
    let app = App::new(Strategy::DpkgPush, &["10.0.3.250".to_owned()], "");
    app.build("1.0-1", "a");
    let out = app.dfab(&["-n", "staging", "deb.build:version=1.1-1", "deb.deploy"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("deb.build: would build deploy-app 1.1-1 from debian"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "deb.deploy: would ship what deb.build makes (not the earlier build recorded"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("1.0-1"), "{}", out.stdout);
}

// A reviewer's find: with `roledefs`, `-H` was ignored by every built-in with default roles:
// `-H 10.0.3.195 staging deb.deploy` upgraded 10.0.3.196 and left the named host alone, and a
// dead host could not be left out. `-H` limits every step; a task whose role has no host in it
// is refused before anything runs, naming them; a task's own `host=` still names its host.
#[test]
fn h_limits_the_hosts_of_a_builtins_default_roles() {
    let dir = dry_project();
    let app1 = "root@app1.dfab-test.invalid";
    let app2 = "deploy@app2.dfab-test.invalid:2222";
    dry(
        dir.path(),
        &["-n", "-H", app1, "prod", "web_restart"],
        |d| d.stdout_is(format!("[{app1}] web_restart: would restart the app\n")),
    );
    dry(
        dir.path(),
        &["-n", "-H", app1, "prod", "database.dump"],
        |d| {
            d.status(2)
                .stderr_has(format!(
                    "error: task `database.dump` runs on the hosts of role `db` ({app2}), and -H \
                 {app1} names none of them\n"
                ))
                .stderr_has(format!("`database.dump:host={app2}`"))
                .no_stdout()
        },
    );
    dry(
        dir.path(),
        &[
            "-n",
            "-H",
            app1,
            "prod",
            &format!("web_restart:host={app2}"),
        ],
        |d| d.stdout_is(format!("[{app2}] web_restart: would restart the app\n")),
    );
}
