//! Values in environments.py as dragonfab projects write them: `''` and `None` mean unset, and
//! a bad value in one env never makes the file unusable for the others.

use crate::support::{project, Dfab};

const EMPTY_PORT: &str = "environments = {
    '__all__': {'db_port': '5433'},
    'production': {'hosts': ['app1'], 'db_port': ''},
    'staging': {'hosts': ['stage1']},
}
";

// A real project's `'db_port': ''` made every command exit 2 with "expected a port number
// (1-65535), got str ''", even `-l` and envs that do not mention db_port.
#[test]
fn empty_db_port_means_unset_and_leaves_the_file_usable() {
    let dir = project(&[("environments.py", EMPTY_PORT)]);
    let out = Dfab::new(dir.path())
        .args(["-f", "environments.py", "-l"])
        .run()
        .ok();
    assert_eq!(out.stderr, "", "no warnings for an empty value");
    // '' overrides __all__'s value and means "not set", as dragonfab's `env.update` + truthiness.
    let out = Dfab::new(dir.path())
        .args(["-f", "environments.py", "production", "-l"])
        .run()
        .ok();
    assert!(!out.stdout.contains("db_port"), "{}", out.stdout);
    let out = Dfab::new(dir.path())
        .args(["-f", "environments.py", "staging", "-l"])
        .run()
        .ok();
    assert!(
        out.stdout.contains("db_port = '5433'    (from __all__)"),
        "{}",
        out.stdout
    );
}

// `'db_port': None` read "expected a port number (1-65535), got None None".
#[test]
fn none_in_an_optional_key_means_unset() {
    let dir = project(&[(
        "environments.py",
        "environments = {'p': {'hosts': ['h'], 'db_port': None, 'wheel': None, 'user': None}}\n",
    )]);
    let out = Dfab::new(dir.path()).args(["p", "-l"]).run().ok();
    for key in ["db_port", "wheel", "user"] {
        assert!(!out.stdout.contains(key), "{key} shown: {}", out.stdout);
    }
}

const ONE_BAD: &str = "environments = {
    'production': {'hosts': ['app1'], 'db_port': 'fivefourthreetwo'},
    'staging': {'hosts': ['stage1']},
}
";

// A typed check on one env's key made the whole file unusable.
#[test]
fn bad_value_in_one_env_refuses_only_that_env() {
    let dir = project(&[("environments.py", ONE_BAD)]);
    let file = dir.path().join("environments.py");
    let out = Dfab::new(dir.path()).args(["-n", "staging", "noop"]).run();
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let out = Dfab::new(dir.path())
        .args(["-n", "production", "noop"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "error: {}:2:50: key `production.db_port`: expected a port number (1-65535), got the \
             string 'fivefourthreetwo'\nhint: for example 'db_port': 5432\n",
            file.display()
        )
    );
    assert_eq!(out.stdout, "", "nothing was acted on");
}

// `dfab -l` without an env listed nothing when one env had a bad key.
#[test]
fn list_without_env_warns_about_other_envs_problems() {
    let dir = project(&[("environments.py", ONE_BAD)]);
    let file = dir.path().join("environments.py");
    let out = Dfab::new(dir.path()).args(["-l"]).run().ok();
    assert_eq!(
        out.stderr,
        format!(
            "warning: environment `production`: {}:2:50: key `production.db_port`: expected a \
             port number (1-65535), got the string 'fivefourthreetwo' (for example 'db_port': \
             5432)\n",
            file.display()
        )
    );
    assert!(out.stdout.contains("    staging "), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "    production    Activate production environment (not usable: see the warning)."
        ),
        "{}",
        out.stdout
    );
}

// Messages named a value's type and then its repr ("got None None", "got str ''").
#[test]
fn type_errors_word_the_value() {
    let dir = project(&[(
        "environments.py",
        "environments = {'p': {'wheel': 'yes', 'hosts': 'h1'}, 'q': {'port': 70000}}\n",
    )]);
    let out = Dfab::new(dir.path()).args(["p", "-l"]).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("key `p.hosts`: expected a list of strings, got the string 'h1'"),
        "{}",
        out.stderr
    );
    let out = Dfab::new(dir.path()).args(["q", "-l"]).run();
    assert!(
        out.stderr
            .contains("key `q.port`: expected a port number (1-65535), got the int 70000"),
        "{}",
        out.stderr
    );
}
